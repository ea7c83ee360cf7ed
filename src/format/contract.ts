/**
 * The JSON contract's shared shapes (docs/json.md): every document names its
 * schema, ranges are {start, end} with end exclusive, 64-bit words are 0x strings.
 */

/** The `schema` value (and the schema's $id) of a command's document. */
export const SCHEMA_VERSION = 1;
export const schemaId = (name: string): string => `ppc-dombuild/${name}/${SCHEMA_VERSION}`;

/** A document for `name`: the schema key first, then the body. */
export function doc(name: string, body: object): object {
  return { schema: schemaId(name), ...body };
}

export interface Range { start: number; end: number }

/** [start, end), end exclusive. */
export const range = (start: number, end: number): Range => ({ start, end });
/** `count` units from `start`. */
export const span = (start: number, count: number): Range => ({ start, end: start + count });

/** A 64-bit word (HPTE v/r, a register, an effective address) as a 0x string. */
export const word = (v: number | bigint): string => '0x' + (typeof v === 'bigint' ? v : BigInt(v)).toString(16);

/** A heap's free memory. */
export const heapFree = (pages: number, pageSize: number): { freeBytes: number; freePages: number } => ({ freeBytes: pages * pageSize, freePages: pages });
