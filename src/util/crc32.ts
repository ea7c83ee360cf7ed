import * as zlib from 'zlib';

/**
 * CRC-32 (IEEE 802.3, the one zlib and gzip use) over bytes, continuing from
 * `crc`. It detects corruption (a torn write, a flipped bit, a truncation);
 * it is not a defence against someone who edits the file on purpose.
 * zlib's own is used when this Node has it (20.15 and later); the table
 * below is the same function for older ones.
 */
type Crc32 = (bytes: Uint8Array, crc?: number) => number;

const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

let table: Uint32Array | undefined;

function tableCrc32(bytes: Uint8Array, crc = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const crc32: Crc32 = native ? (b, c = 0) => native(b, c) >>> 0 : tableCrc32;

/** The table-driven one, whatever this Node has (tests hold the two to the same values). */
export const crc32Table: Crc32 = tableCrc32;
