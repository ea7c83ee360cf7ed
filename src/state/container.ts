import { createHash } from 'crypto';
import { StateError } from '../util/errors';

/**
 * The state file's envelope: magic, version, a JSON document, named binary
 * sections, and a SHA-256 over all of it, so a truncated, foreign or
 * tampered file is refused before anything in it is believed.
 *
 *   0   "PPCDOMB\0"
 *   8   u32 format version
 *   12  u32 JSON length
 *   16  JSON (UTF-8), padded to 8
 *   ..  sections back to back, each padded to 8 (offsets in the JSON's `sections`)
 *   end 32-byte SHA-256 of everything before it
 */
export const STATE_MAGIC = 'PPCDOMB\0';
export const STATE_VERSION = 2;
const DIGEST = 32;

export interface SectionRef { name: string; offset: number; length: number }

/**
 * Encode as a list of pieces to write back to back (section bytes are not
 * copied: a 32 MiB table goes from the RMA's chunks straight to the file).
 * A section may be given as several pieces.
 */
export function encodeContainer(doc: object, sections: Map<string, Uint8Array | Uint8Array[]>): Uint8Array[] {
  const refs: SectionRef[] = [];
  const pieces = new Map<string, Uint8Array[]>();
  // Offsets are relative to the first section, so the JSON can name them before its own length is known.
  let rel = 0;
  for (const [name, bytes] of sections) {
    const list = Array.isArray(bytes) ? bytes : [bytes];
    const length = list.reduce((n, b) => n + b.length, 0);
    pieces.set(name, list);
    refs.push({ name, offset: rel, length });
    rel += pad8(length);
  }
  const json = Buffer.from(JSON.stringify({ ...doc, sections: refs }), 'utf8');
  const head = Buffer.alloc(16 + pad8(json.length));
  head.write(STATE_MAGIC, 0, 'latin1');
  head.writeUInt32BE(STATE_VERSION, 8);
  head.writeUInt32BE(json.length, 12);
  json.copy(head, 16);
  const out: Uint8Array[] = [head];
  for (const list of pieces.values()) {
    out.push(...list);
    const length = list.reduce((n, b) => n + b.length, 0);
    if (pad8(length) > length) out.push(new Uint8Array(pad8(length) - length));
  }
  const hash = createHash('sha256');
  for (const p of out) hash.update(p);
  out.push(hash.digest());
  return out;
}

/** The pieces as one buffer (tests, small states). */
export function joinPieces(pieces: Uint8Array[]): Buffer {
  return Buffer.concat(pieces);
}

export function decodeContainer(buf: Uint8Array, where: string): { doc: Record<string, unknown>; sections: Map<string, Uint8Array> } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (what: string): never => {
    throw new StateError(`state ${where} is corrupt: ${what}`, ['rebuild-state']);
  };
  if (b.length < 16 + DIGEST) bad(`only ${b.length} bytes (truncated)`);
  if (b.toString('latin1', 0, 8) !== STATE_MAGIC) bad('not a ppc-dombuild state file (bad magic)');
  const version = b.readUInt32BE(8);
  if (version !== STATE_VERSION) {
    throw new StateError(`state ${where} has format version ${version}; this ppc-dombuild reads version ${STATE_VERSION}`, ['rebuild-state']);
  }
  const digest = createHash('sha256').update(b.subarray(0, b.length - DIGEST)).digest();
  if (!digest.equals(b.subarray(b.length - DIGEST))) bad('checksum mismatch (truncated or modified)');
  const jsonLen = b.readUInt32BE(12);
  const head = 16 + pad8(jsonLen);
  if (head > b.length - DIGEST) bad('header runs past the end');
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(b.toString('utf8', 16, 16 + jsonLen));
  } catch {
    return bad('metadata is not JSON');
  }
  const sections = new Map<string, Uint8Array>();
  const refs = doc.sections;
  if (!Array.isArray(refs)) bad('no section table');
  for (const r of refs as SectionRef[]) {
    const start = head + r.offset;
    if (typeof r.name !== 'string' || !Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0 || start + r.length > b.length - DIGEST) {
      bad(`section ${String(r.name)} is out of bounds`);
    }
    sections.set(r.name, new Uint8Array(b.buffer, b.byteOffset + start, r.length));
  }
  return { doc, sections };
}

function pad8(n: number): number {
  return (n + 7) & ~7;
}
