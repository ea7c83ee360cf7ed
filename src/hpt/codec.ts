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
  return encodeHptWithStats(t).bytes;
}

/** A u32 as big-endian bytes in a native-order (little-endian) word: what the section's words are stored as. */
const BIG_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 0;

/**
 * encodeHpt and hptSectionStats of its bytes in one pass over the table's
 * storage (the save path: a 4 KiB-bolted 32 GiB table has 8 Mi entries):
 * the same bytes, the same counts.
 */
export function encodeHptWithStats(t: HashTable): { bytes: Uint8Array; stats: HptStats } {
  const n = t.countValid();
  const out = new Uint8Array(HEADER + n * 20);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC);
  dv.setUint32(4, t.log2Bytes);
  dv.setUint32(8, n);
  // Words written through an Int32Array, byte-swapped by hand on a little-endian host.
  const w = new Int32Array(out.buffer);
  const swap = !BIG_ENDIAN_HOST;
  let at = HEADER / 4;
  let words = (HEADER + n * 4) / 4;
  const histogram = new Array<number>(HPTES_PER_GROUP + 1).fill(0);
  let bolted = 0;
  let large = 0;
  let secondary = 0;
  let regions = 0;
  // Literal constants in the loop: 1 = HPTE_V_VALID, 0x10 = BOLTED, 4 = LARGE, 2 = SECONDARY, 8 = HPTES_PER_GROUP.
  for (let r = 0; r < t.regions; r++) {
    const b = t.regionWords(r);
    if (b === undefined) continue;
    const base = t.regionBase(r);
    const firstSlot = r << REGION_SLOT_SHIFT;
    const atBefore = at;
    for (let g = 0; g < REGION_SLOTS; g += 8) {
      let inGroup = 0;
      for (let s = g, i = base + (g << 2); s < g + 8; s++, i += 4) {
        const vLo = b[i + 1];
        if ((vLo & 1) === 0) continue;
        inGroup++;
        bolted += (vLo >>> 4) & 1;
        large += (vLo >>> 2) & 1;
        secondary += (vLo >>> 1) & 1;
        const slot = firstSlot + s;
        const vHi = b[i];
        const rHi = b[i + 2];
        const rLo = b[i + 3];
        if (swap) {
          w[at] = (slot << 24) | ((slot & 0xff00) << 8) | ((slot >>> 8) & 0xff00) | (slot >>> 24);
          w[words] = (vHi << 24) | ((vHi & 0xff00) << 8) | ((vHi >>> 8) & 0xff00) | (vHi >>> 24);
          w[words + 1] = (vLo << 24) | ((vLo & 0xff00) << 8) | ((vLo >>> 8) & 0xff00) | (vLo >>> 24);
          w[words + 2] = (rHi << 24) | ((rHi & 0xff00) << 8) | ((rHi >>> 8) & 0xff00) | (rHi >>> 24);
          w[words + 3] = (rLo << 24) | ((rLo & 0xff00) << 8) | ((rLo >>> 8) & 0xff00) | (rLo >>> 24);
        } else {
          w[at] = slot;
          w[words] = vHi;
          w[words + 1] = vLo;
          w[words + 2] = rHi;
          w[words + 3] = rLo;
        }
        at++;
        words += 4;
      }
      histogram[inGroup]++;
    }
    if (at !== atBefore) regions++;
  }
  if (at !== (HEADER + n * 4) / 4) throw new Error(`hash table changed while it was encoded (${at - HEADER / 4} of ${n} entries)`);
  const ptegs = t.ptegs;
  histogram[0] = ptegs - histogram.slice(1).reduce((a, c) => a + c, 0);
  const stats: HptStats = { bytes: t.bytes, ptegs, slots: t.slots, valid: n, bolted, large, secondary, histogram, allocatedBytes: regions * REGION_SLOTS * HPTE_BYTES };
  return { bytes: out, stats };
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
