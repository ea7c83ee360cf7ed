import { HashTable } from './table';
import { HPTE_V_VALID } from './constants';

/**
 * The hash table as it is saved: only valid slots, so a 512 MiB table with
 * 8 Mi entries saves 160 MiB and one with 2048 saves 40 KiB.
 *
 *   0   "HPT1"
 *   4   u32 log2(table bytes)
 *   8   u32 N, valid slots
 *   12  u32 0
 *   16  N x u32 slot index, ascending
 *   ..  N x 4 x u32: v hi, v lo, r hi, r lo
 * All big-endian.
 */
const MAGIC = 0x48505431; // "HPT1"
const HEADER = 16;

export class HptFormatError extends Error {}

export function encodeHpt(t: HashTable): Uint8Array {
  const n = t.countValid();
  const out = new Uint8Array(HEADER + n * 20);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC);
  dv.setUint32(4, t.log2Bytes);
  dv.setUint32(8, n);
  let at = HEADER;
  let words = HEADER + n * 4;
  t.forEachValid((slot, vHi, vLo, rHi, rLo) => {
    dv.setUint32(at, slot);
    at += 4;
    dv.setUint32(words, vHi);
    dv.setUint32(words + 4, vLo);
    dv.setUint32(words + 8, rHi);
    dv.setUint32(words + 12, rLo);
    words += 16;
  });
  return out;
}

export function decodeHpt(bytes: Uint8Array): HashTable {
  const bad = (what: string): never => {
    throw new HptFormatError(`hash table section: ${what}`);
  };
  if (bytes.length < HEADER) bad(`${bytes.length} bytes, shorter than its header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0) !== MAGIC) bad('bad magic');
  const log2 = dv.getUint32(4);
  if (log2 < 18 || log2 > 36) bad(`size 2^${log2} is not a hash table size`);
  const t = new HashTable(2 ** log2);
  const n = dv.getUint32(8);
  if (bytes.length !== HEADER + n * 20) bad(`${bytes.length} bytes for ${n} entries`);
  let prev = -1;
  let words = HEADER + n * 4;
  for (let k = 0; k < n; k++, words += 16) {
    const slot = dv.getUint32(HEADER + k * 4);
    if (slot <= prev || slot >= t.slots) bad(`slot ${slot} is out of order or outside the table`);
    prev = slot;
    const vLo = dv.getUint32(words + 4);
    if ((vLo & HPTE_V_VALID) === 0) bad(`slot ${slot} is saved but not valid`);
    t.write(slot, dv.getUint32(words), vLo, dv.getUint32(words + 8), dv.getUint32(words + 12));
  }
  return t;
}
