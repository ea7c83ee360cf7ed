import { HOST_LE } from '../util/bytes';
import { HashTable, REGION_SLOT_SHIFT, REGION_SLOTS, type HptStats } from './table';
import { HPTE_BYTES, HPTES_PER_GROUP, HPTE_V_BOLTED, HPTE_V_LARGE, HPTE_V_SECONDARY, HPTE_V_VALID } from './constants';

/**
 * The hash table as it is saved: only valid slots, so a 512 MiB table with
 * 8 Mi entries saves 160 MiB and one with 2048 saves 40 KiB.
 *
 *   0   "HPT2"
 *   4   u32 log2(table bytes)
 *   8   u32 N, valid slots
 *   12  u32 0
 *   16  N x { u32 slot index, u32 v hi, u32 v lo, u32 r hi, u32 r lo }, slots ascending
 * All big-endian. One record per slot, so the section is written in one pass
 * over the table, a buffer at a time, and its CRC taken as it goes.
 */
const MAGIC = 0x48505432; // "HPT2"
const HEADER = 16;
const RECORD = 20;

export class HptFormatError extends Error {}

/** The section's bytes for a table (tests and small tables: the save streams them, see hptSection). */
export function encodeHpt(t: HashTable): Uint8Array {
  const s = hptSection(t);
  const out = new Uint8Array(s.length);
  let at = 0;
  for (const b of s.pieces()) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** The first `words` words of buf, stored in the host's order, as big-endian bytes (swapped in place). */
function bigEndian(buf: Uint8Array, words: number): Uint8Array {
  const piece = buf.subarray(0, words * 4);
  if (HOST_LE) Buffer.from(piece.buffer, piece.byteOffset, piece.length).swap32();
  return piece;
}

/** Bytes of one piece the save writes: records are copied into it and it is handed out again and again. */
const PIECE_BYTES = 4 * 2 ** 20 - ((4 * 2 ** 20) % RECORD);

/**
 * The section for table `t`, produced as it is written: `length` is known
 * at once (the table keeps its count of valid slots), `pieces()` walks the
 * used regions once, filling one 4 MiB buffer with records and handing it
 * out each time it is full (the writer must consume a piece before asking
 * for the next), and `stats()` is hptSectionStats of the bytes, ready once
 * the pieces are consumed. A 4 KiB-bolted 32 GiB table is 8 Mi records:
 * never held whole.
 */
export function hptSection(t: HashTable): { length: number; pieces: () => Generator<Uint8Array>; stats: () => HptStats } {
  const n = t.valid;
  let stats: HptStats | undefined;
  function* pieces(): Generator<Uint8Array> {
    // At least a region's worth of records (the loop's unit), at most a piece.
    const buf = new Uint8Array(Math.min(PIECE_BYTES, HEADER + Math.max(n, REGION_SLOTS) * RECORD));
    // Words stored in the host's order, then the piece turned big-endian at once before it goes.
    const w = new Int32Array(buf.buffer);
    const cap = buf.length / 4;
    let at = HEADER / 4;
    w[0] = MAGIC;
    w[1] = t.log2Bytes;
    w[2] = n;
    w[3] = 0;
    // counts[0..8]: the PTEG histogram; [9] bolted, [10] large, [11] secondary, [12] regions with an entry.
    const counts = new Float64Array(HPTES_PER_GROUP + 4 + 1);
    let written = 0;
    for (let r = 0; r < t.regions; r++) {
      const b = t.regionWords(r);
      if (b === undefined) continue;
      // Room for a whole region's records, else the piece goes first.
      if (at + REGION_SLOTS * 5 > cap) {
        yield bigEndian(buf, at);
        at = 0;
      }
      const end = encodeRegion(b, t.regionBase(r), r << REGION_SLOT_SHIFT, w, at, counts);
      written += (end - at) / 5;
      at = end;
    }
    if (written !== n) throw new Error(`hash table changed while it was encoded (${written} of ${n} entries)`);
    if (at > 0) yield bigEndian(buf, at);
    const ptegs = t.ptegs;
    const histogram = Array.from(counts.subarray(0, HPTES_PER_GROUP + 1));
    histogram[0] = ptegs - histogram.slice(1).reduce((x, c) => x + c, 0);
    stats = { bytes: t.bytes, ptegs, slots: t.slots, valid: n, bolted: counts[9], large: counts[10], secondary: counts[11], histogram, allocatedBytes: counts[12] * REGION_SLOTS * HPTE_BYTES };
  }
  return {
    length: HEADER + n * RECORD,
    pieces,
    stats: () => {
      if (stats === undefined) throw new Error('hash table section stats asked for before its pieces were written');
      return stats;
    },
  };
}

/**
 * One region's valid slots as records into w from word `at` (host order);
 * returns the word after the last. Counts go into `counts` (see hptSection).
 */
function encodeRegion(b: Int32Array, base: number, firstSlot: number, w: Int32Array, at: number, counts: Float64Array): number {
  const start = at;
  let bolted = 0;
  let large = 0;
  let secondary = 0;
  // Literal constants: 1 = HPTE_V_VALID, 0x10 = BOLTED, 4 = LARGE, 2 = SECONDARY, 8 = HPTES_PER_GROUP, 5 = RECORD / 4.
  for (let g = 0; g < REGION_SLOTS; g += 8) {
    let inGroup = 0;
    for (let s = g, i = base + (g << 2); s < g + 8; s++, i += 4) {
      const vLo = b[i + 1];
      if ((vLo & 1) === 0) continue;
      inGroup++;
      bolted += (vLo >>> 4) & 1;
      large += (vLo >>> 2) & 1;
      secondary += (vLo >>> 1) & 1;
      w[at] = firstSlot + s;
      w[at + 1] = b[i];
      w[at + 2] = vLo;
      w[at + 3] = b[i + 2];
      w[at + 4] = b[i + 3];
      at += 5;
    }
    counts[inGroup]++;
  }
  counts[9] += bolted;
  counts[10] += large;
  counts[11] += secondary;
  if (at !== start) counts[12]++;
  return at;
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
  if (bytes.length !== HEADER + n * RECORD) bad(`${bytes.length} bytes for ${n} entries`);
  let prev = -1;
  for (let k = 0, at = HEADER; k < n; k++, at += RECORD) {
    const slot = dv.getUint32(at);
    if (slot <= prev || slot >= t.slots) bad(`slot ${slot} is out of order or outside the table`);
    prev = slot;
    const vLo = dv.getUint32(at + 8);
    if ((vLo & HPTE_V_VALID) === 0) bad(`slot ${slot} is saved but not valid`);
    t.write(slot, dv.getUint32(at + 4), vLo, dv.getUint32(at + 12), dv.getUint32(at + 16));
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
  if (bytes.length !== HEADER + n * RECORD) throw new HptFormatError(`hash table section: ${bytes.length} bytes for ${n} entries`);
  for (let k = 0; k < n; k++) {
    const slot = dv.getUint32(HEADER + k * RECORD);
    const vLo = dv.getUint32(HEADER + k * RECORD + 8);
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
