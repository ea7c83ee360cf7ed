import { HashTable, REGION_SLOT_SHIFT, REGION_SLOTS, type HptStats } from './table';
import { HPTE_BYTES, HPTES_PER_GROUP, HPTE_V_VALID } from './constants';

/**
 * The hash table as it is saved: only valid slots, in ascending slot order,
 * each record coded against the last record at the same position in its
 * PTEG (slot & 7). A linear map puts the pages of one segment at the same
 * positions of neighbouring groups, so a record is mostly "the next slot,
 * the same v, r one page on": 3 bytes instead of 20. Any table can be
 * saved; an entry that does not follow the pattern costs up to 19 bytes.
 *
 *   0   "HPT2"
 *   4   u32 log2(table bytes)
 *   8   u32 N, valid slots
 *   12  u32 0
 *   16  N records, each:
 *       u8 tag
 *         bits 0-1  slot: 0 u8 gap, 1 u16 gap (slot = previous slot + 1 + gap), 2 u32 slot
 *         bit 2     v hi follows (u32), else the prediction's
 *         bit 3     v lo follows (u32), else the prediction's
 *         bit 4     r hi follows (u32), else the prediction's
 *         bits 5-6  r lo: 0 u32 follows; 1 i8, 2 i16: the prediction's low 12 bits and its
 *                   RPN bits (r lo >>> 12) plus this delta
 *         bit 7     0
 *       then the slot, v hi, v lo, r hi, r lo fields the tag names, in that order
 * All big-endian. The prediction for position p starts as all zero and is
 * each record's words after it is read; the first slot's gap counts from -1.
 */
const MAGIC = 0x48505432; // "HPT2"
const HEADER = 16;
/** The longest record: tag, u32 slot, four u32 words. */
const RECORD_MAX = 1 + 4 + 16;

export class HptFormatError extends Error {}

/** The section's bytes for a table (tests and small tables: the save streams them, see hptSection). */
export function encodeHpt(t: HashTable): Uint8Array {
  const pieces: Uint8Array[] = [];
  for (const p of hptSection(t).pieces()) pieces.push(p.slice());
  return Buffer.concat(pieces);
}

/** Bytes of one piece the save writes: records are put into it and it is handed out again and again. */
const PIECE_BYTES = 4 * 2 ** 20;

/**
 * The section for table `t`, produced as it is written: `pieces()` walks
 * the used regions once, coding records into one 4 MiB buffer and handing
 * it out each time it is nearly full (the writer must consume a piece
 * before asking for the next), and `stats()` is what the decoded table's
 * stats() would say, ready once the pieces are consumed. `estimate` is about how long
 * the section will be (3 bytes a record), for sizing decisions. A
 * 4 KiB-bolted 30 GiB table is 8 Mi records: never held whole.
 */
export function hptSection(t: HashTable): { estimate: number; pieces: () => Generator<Uint8Array>; stats: () => HptStats } {
  const n = t.valid;
  let stats: HptStats | undefined;
  function* pieces(): Generator<Uint8Array> {
    const buf = new Uint8Array(PIECE_BYTES);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, MAGIC);
    dv.setUint32(4, t.log2Bytes);
    dv.setUint32(8, n);
    dv.setUint32(12, 0);
    let at = HEADER;
    // counts[0..8]: the PTEG histogram; [9] bolted, [10] large, [11] secondary, [12] regions with an
    // entry, [13] records written, [14] the last slot written (-1: none yet).
    const counts = new Float64Array(HPTES_PER_GROUP + 7);
    counts[14] = -1;
    // Per position in a PTEG: the last record's v hi, v lo, r hi, r lo (int32).
    const predict = new Int32Array(HPTES_PER_GROUP * 4);
    for (let r = 0; r < t.regions; r++) {
      const b = t.regionWords(r);
      if (b === undefined) continue;
      // Room for a whole region's records at their longest, else the piece goes first.
      if (at + REGION_SLOTS * RECORD_MAX > buf.length) {
        yield buf.subarray(0, at);
        at = 0;
      }
      at = encodeRegion(b, t.regionBase(r), r << REGION_SLOT_SHIFT, buf, at, predict, counts);
    }
    if (counts[13] !== n) throw new Error(`hash table changed while it was encoded (${counts[13]} of ${n} entries)`);
    if (at > 0) yield buf.subarray(0, at);
    const ptegs = t.ptegs;
    const histogram = Array.from(counts.subarray(0, HPTES_PER_GROUP + 1));
    histogram[0] = ptegs - histogram.slice(1).reduce((x, c) => x + c, 0);
    stats = { bytes: t.bytes, ptegs, slots: t.slots, valid: n, bolted: counts[9], large: counts[10], secondary: counts[11], histogram, allocatedBytes: counts[12] * REGION_SLOTS * HPTE_BYTES };
  }
  return {
    estimate: HEADER + 3 * n,
    pieces,
    stats: () => {
      if (stats === undefined) throw new Error('hash table section stats asked for before its pieces were written');
      return stats;
    },
  };
}

/**
 * One region's valid slots as records into out from byte `at`; returns the
 * byte after the last. `predict` and counts[13..14] carry over from region
 * to region; the other counts are added to (see hptSection).
 */
function encodeRegion(b: Int32Array, base: number, firstSlot: number, out: Uint8Array, at: number, predict: Int32Array, counts: Float64Array): number {
  let prev = counts[14];
  let records = 0;
  let bolted = 0;
  let large = 0;
  let secondary = 0;
  // Literal constants: 1 = HPTE_V_VALID, 0x10 = BOLTED, 4 = LARGE, 2 = SECONDARY, 8 = HPTES_PER_GROUP;
  // the tag bits as the format above.
  for (let g = 0; g < REGION_SLOTS; g += 8) {
    let inGroup = 0;
    for (let s = 0, i = base + (g << 2); s < 8; s++, i += 4) {
      const vLo = b[i + 1];
      if ((vLo & 1) === 0) continue;
      inGroup++;
      bolted += (vLo >>> 4) & 1;
      large += (vLo >>> 2) & 1;
      secondary += (vLo >>> 1) & 1;
      const slot = firstSlot + g + s;
      const p = s << 2;
      const gap = slot - prev - 1;
      const vHi = b[i];
      const rHi = b[i + 2];
      const rLo = b[i + 3];
      const was = predict[p + 3];
      const delta = (rLo >>> 12) - (was >>> 12);
      prev = slot;
      records++;
      // The linear map's record: the next slot or near it, v and r hi as predicted, r one page or so on.
      if (gap < 256 && vHi === predict[p] && vLo === predict[p + 1] && rHi === predict[p + 2] && ((rLo ^ was) & 0xfff) === 0 && delta >= -128 && delta <= 127) {
        out[at] = 0x20;
        out[at + 1] = gap;
        out[at + 2] = delta & 255;
        at += 3;
        predict[p + 3] = rLo;
        continue;
      }
      const tagAt = at++;
      let tag: number;
      if (gap < 256) {
        out[at++] = gap;
        tag = 0;
      } else if (gap < 65536) {
        out[at++] = gap >>> 8;
        out[at++] = gap & 255;
        tag = 1;
      } else {
        at = put32(out, at, slot);
        tag = 2;
      }
      if (vHi !== predict[p]) {
        tag |= 4;
        at = put32(out, at, vHi);
        predict[p] = vHi;
      }
      if (vLo !== predict[p + 1]) {
        tag |= 8;
        at = put32(out, at, vLo);
        predict[p + 1] = vLo;
      }
      if (rHi !== predict[p + 2]) {
        tag |= 16;
        at = put32(out, at, rHi);
        predict[p + 2] = rHi;
      }
      if (((rLo ^ was) & 0xfff) === 0 && delta >= -128 && delta <= 127) {
        tag |= 32;
        out[at++] = delta & 255;
      } else if (((rLo ^ was) & 0xfff) === 0 && delta >= -32768 && delta <= 32767) {
        tag |= 64;
        out[at++] = (delta >> 8) & 255;
        out[at++] = delta & 255;
      } else {
        at = put32(out, at, rLo);
      }
      predict[p + 3] = rLo;
      out[tagAt] = tag;
    }
    counts[inGroup]++;
  }
  counts[9] += bolted;
  counts[10] += large;
  counts[11] += secondary;
  if (records > 0) counts[12]++;
  counts[13] += records;
  counts[14] = prev;
  return at;
}

function put32(out: Uint8Array, at: number, w: number): number {
  out[at] = w >>> 24;
  out[at + 1] = (w >>> 16) & 255;
  out[at + 2] = (w >>> 8) & 255;
  out[at + 3] = w & 255;
  return at + 4;
}

/**
 * The table a section holds, every record checked first (the format above):
 * anything that is not a whole, well-formed section for its header is an
 * HptFormatError.
 */
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
  const predict = new Float64Array(HPTES_PER_GROUP * 4);
  const end = bytes.length;
  let at = HEADER;
  let prev = -1;
  const need = (k: number, count: number): void => {
    if (at + count > end) bad(`record ${k} runs past the end (${end} bytes for ${n} entries)`);
  };
  for (let k = 0; k < n; k++) {
    need(k, 1);
    const tag = bytes[at++];
    if (tag & 0x80 || (tag & 3) === 3 || (tag & 0x60) === 0x60) bad(`record ${k} has a bad tag 0x${tag.toString(16)}`);
    let slot: number;
    if ((tag & 3) === 0) {
      need(k, 1);
      slot = prev + 1 + bytes[at++];
    } else if ((tag & 3) === 1) {
      need(k, 2);
      slot = prev + 1 + dv.getUint16(at);
      at += 2;
    } else {
      need(k, 4);
      slot = dv.getUint32(at);
      at += 4;
    }
    if (slot <= prev || slot >= t.slots) bad(`slot ${slot} is out of order or outside the table`);
    prev = slot;
    const p = (slot & 7) * 4;
    for (let w = 0; w < 3; w++) {
      if (tag & (4 << w)) {
        need(k, 4);
        predict[p + w] = dv.getUint32(at);
        at += 4;
      }
    }
    const was = predict[p + 3];
    const code = (tag >>> 5) & 3;
    if (code === 0) {
      need(k, 4);
      predict[p + 3] = dv.getUint32(at);
      at += 4;
    } else {
      need(k, code);
      const delta = code === 1 ? dv.getInt8(at) : dv.getInt16(at);
      at += code;
      const rpn = Math.floor(was / 4096) + delta;
      if (rpn < 0 || rpn >= 2 ** 20) bad(`slot ${slot}'s r word runs outside 32 bits`);
      predict[p + 3] = rpn * 4096 + (was % 4096);
    }
    if ((predict[p + 1] & HPTE_V_VALID) === 0) bad(`slot ${slot} is saved but not valid`);
    t.write(slot, predict[p] | 0, predict[p + 1] | 0, predict[p + 2] | 0, predict[p + 3] | 0);
  }
  if (at !== end) bad(`${end - at} bytes after its ${n} entries`);
  return t;
}
