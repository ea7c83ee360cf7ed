import { HashTable, REGION_SLOT_SHIFT, REGION_SLOTS, type HptStats } from './table';
import { HPTE_BYTES, HPTES_PER_GROUP, HPTE_V_BOLTED, HPTE_V_LARGE, HPTE_V_SECONDARY, HPTE_V_VALID } from './constants';

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

/**
 * What HashTable.stats() says of the table these bytes decode to, counted
 * from the sorted slot list and the v words without building the table:
 * the state keeps it beside the section, so `inspect hpt` reads neither.
 */
export function hptSectionStats(bytes: Uint8Array): HptStats {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER || dv.getUint32(0) !== MAGIC) throw new HptFormatError('hash table section: bad header');
  const tableBytes = 2 ** dv.getUint32(4);
  const n = dv.getUint32(8);
  const slots = tableBytes / HPTE_BYTES;
  const ptegs = slots / HPTES_PER_GROUP;
  const histogram = new Array<number>(HPTES_PER_GROUP + 1).fill(0);
  let bolted = 0;
  let large = 0;
  let secondary = 0;
  let regions = 0;
  let lastRegion = -1;
  let group = -1;
  let inGroup = 0;
  for (let k = 0; k < n; k++) {
    const slot = dv.getUint32(HEADER + k * 4);
    const vLo = dv.getUint32(HEADER + n * 4 + k * 16 + 4);
    if (vLo & HPTE_V_BOLTED) bolted++;
    if (vLo & HPTE_V_LARGE) large++;
    if (vLo & HPTE_V_SECONDARY) secondary++;
    const region = slot >>> REGION_SLOT_SHIFT;
    if (region !== lastRegion) {
      regions++;
      lastRegion = region;
    }
    const g = Math.floor(slot / HPTES_PER_GROUP);
    if (g !== group) {
      if (group >= 0) histogram[inGroup]++;
      group = g;
      inGroup = 0;
    }
    inGroup++;
  }
  if (group >= 0) histogram[inGroup]++;
  histogram[0] = ptegs - histogram.slice(1).reduce((a, b) => a + b, 0);
  return { bytes: tableBytes, ptegs, slots, valid: n, bolted, large, secondary, histogram, allocatedBytes: regions * REGION_SLOTS * HPTE_BYTES };
}
