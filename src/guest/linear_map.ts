import { EXTENT_PAGES, INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import {
  HPTE_V_BOLTED,
  HPTE_V_LARGE,
  HPTE_V_VALID,
  KERNEL_ESID,
  linearRFlags,
  SHIFT_16M,
} from '../hpt/constants';
import { avpnWords, hpteHash, primaryGroup } from '../hpt/hash';
import { linearEa, vsidOf } from '../hpt/vsid';
import { hex } from '../util/size';
import { H_SUCCESS, hcallReturnName } from '../xen/hcalls/papr';
import { GuestBootError } from './errors';
import { GuestMmu, HIDX_HASHED, HPTE_INSERT_FULL, HPTE_INSERT_NO_FRAME } from './mmu';

/** Progress of long work: `done` of `total` units (here: pfns mapped). */
export type ProgressFn = (done: number, total: number) => void;

export interface LinearMapOptions {
  /** 12: 4 KiB pages; 24: 16 MiB pages (PPC970 Linux's default for its linear map). */
  pageShift: 12 | 24;
  /** With 16 MiB pages: map an extent that is not one aligned machine run with 4 KiB pages instead of refusing. */
  fallback: boolean;
  /** Kernel text, [_stext, __init_end) as guest-physical offsets: pages outside it get HPTE_R_N. */
  text: { start: number; end: number };
  progress?: ProgressFn;
}

export interface LinearMapResult {
  pages4K: number;
  pages16M: number;
  fallbackExtents: number[];
  inserts: number;
  hidx: Uint8Array;
  hidxPerPfn: boolean;
}

/** A piece of the linear map and the page size it is bolted with. */
interface Piece { pfn: number; count: number; large: boolean }

const SEGMENT_PAGES = 65536; // 256 MiB of 4 KiB pages
const TWO20 = 2 ** 20;
const TWO32 = 2 ** 32;
const PROGRESS_16M = 64;

/**
 * htab_initialize's linear mapping: every memory range the device tree gives
 * is bolted at 0xC000000000000000 + paddr, with 16 MiB pages where asked and
 * possible, else 4 KiB pages. Every insert goes through the overridden
 * hpte_insert (pfn -> mfn in the guest's table, then H_ENTER) into the
 * primary group, and the slot it got is recorded as Linux records it.
 */
export function boltLinearMap(mmu: GuestMmu, memory: { start: number; size: number }[], opt: LinearMapOptions): LinearMapResult {
  const { pieces, fallbackExtents } = planPieces(mmu, memory, opt);
  const endPfn = Math.max(0, ...memory.map((m) => (m.start + m.size) / PAGE_SIZE));
  const totalPfns = pieces.reduce((n, p) => n + p.count, 0);
  const hidxPerPfn = pieces.some((p) => !p.large);
  const hidx = new Uint8Array(hidxPerPfn ? endPfn : Math.ceil(endPfn / EXTENT_PAGES));
  let pages4K = 0;
  let pages16M = 0;
  let done = 0;
  for (const p of pieces) {
    if (p.large) {
      boltLarge(mmu, p.pfn, hidx, hidxPerPfn, opt.text);
      pages16M++;
      if (opt.progress && pages16M % PROGRESS_16M === 0) opt.progress(done + p.count, totalPfns);
    } else {
      bolt4K(mmu, p.pfn, p.pfn + p.count, hidx, opt.text, opt.progress, done, totalPfns);
      pages4K += p.count;
    }
    done += p.count;
  }
  opt.progress?.(totalPfns, totalPfns);
  return { pages4K, pages16M, fallbackExtents, inserts: pages4K + pages16M, hidx, hidxPerPfn };
}

/** Split the memory ranges into 16 MiB pages (aligned, one machine run) and 4 KiB runs. */
function planPieces(mmu: GuestMmu, memory: { start: number; size: number }[], opt: LinearMapOptions): { pieces: Piece[]; fallbackExtents: number[] } {
  const out: Piece[] = [];
  const fallbackExtents: number[] = [];
  const push = (pfn: number, count: number, large: boolean): void => {
    if (count <= 0) return;
    const last = out[out.length - 1];
    if (last && !large && !last.large && last.pfn + last.count === pfn) last.count += count;
    else out.push({ pfn, count, large });
  };
  for (const m of memory) {
    const first = Math.ceil(m.start / PAGE_SIZE);
    const end = Math.floor((m.start + m.size) / PAGE_SIZE);
    if (opt.pageShift !== SHIFT_16M) {
      push(first, end - first, false);
      continue;
    }
    let pfn = first;
    const head = Math.min(end, Math.ceil(first / EXTENT_PAGES) * EXTENT_PAGES);
    push(pfn, head - pfn, false);
    for (pfn = head; pfn + EXTENT_PAGES <= end; pfn += EXTENT_PAGES) {
      const broken = firstBreak(mmu, pfn);
      if (broken === undefined) push(pfn, EXTENT_PAGES, true);
      else if (opt.fallback) {
        push(pfn, EXTENT_PAGES, false);
        fallbackExtents.push(pfn);
      } else throw refuseLarge(mmu, pfn, broken);
    }
    push(pfn, end - pfn, false);
  }
  return { pieces: out, fallbackExtents };
}

/** The first pfn of [pfn, pfn + 4096) that keeps it from being one 16 MiB page, or undefined. */
function firstBreak(mmu: GuestMmu, pfn: number): number | undefined {
  const first = mmu.p2m.get(pfn);
  if (first === INVALID_MFN || first % EXTENT_PAGES !== 0) return pfn;
  const at = mmu.p2m.firstBreak(pfn, EXTENT_PAGES);
  return at < 0 ? undefined : at;
}

function refuseLarge(mmu: GuestMmu, extent: number, pfn: number): GuestBootError {
  const mfn = mmu.p2m.get(pfn);
  const first = mmu.p2m.get(extent);
  const what = mfn === INVALID_MFN
    ? `pfn ${hex(pfn)} has no frame (INVALID_MFN)`
    : pfn === extent
      ? `pfn ${hex(pfn)} maps to mfn ${hex(mfn)}, which is not 16 MiB aligned`
      : `pfn ${hex(pfn)} maps to mfn ${hex(mfn)}, not ${hex(first + (pfn - extent))}`;
  return new GuestBootError(
    `cannot bolt ea ${hex(linearEa(extent * PAGE_SIZE))} (pfns ${hex(extent)}..${hex(extent + EXTENT_PAGES - 1)}) with a 16 MiB page: ${what}; a 16 MiB page needs its 4096 entries to be one contiguous, 16 MiB aligned machine run`,
    ['linear-fallback'],
  );
}

function insertFailed(mmu: GuestMmu, pfn: number, ret: number, large: boolean, group: number): GuestBootError {
  const ea = hex(linearEa(pfn * PAGE_SIZE));
  const size = large ? '16 MiB' : '4 KiB';
  if (ret === HPTE_INSERT_NO_FRAME) return new GuestBootError(`cannot bolt ea ${ea}: pfn ${hex(pfn)} has no frame in the p2m table (INVALID_MFN)`);
  if (ret === HPTE_INSERT_FULL) return new GuestBootError(`cannot bolt ea ${ea} (pfn ${hex(pfn)}, ${size} page): H_ENTER found primary PTEG ${hex(group)} full, and bolted entries go in the primary group only`, ['larger-hpt']);
  return new GuestBootError(`cannot bolt ea ${ea} (pfn ${hex(pfn)} -> mfn ${hex(mmu.p2m.get(pfn))}, ${size} page): H_ENTER returned ${hcallReturnName(mmu.lastHcall)}`);
}

function boltLarge(mmu: GuestMmu, pfn: number, hidx: Uint8Array, perPfn: boolean, text: { start: number; end: number }): void {
  const esid = KERNEL_ESID + Math.floor(pfn / SEGMENT_PAGES);
  const offset = (pfn % SEGMENT_PAGES) * PAGE_SIZE;
  const vsid = vsidOf(esid);
  const group = primaryGroup(hpteHash(vsid, offset, SHIFT_16M), mmu.mask);
  const avpn = avpnWords(vsid, offset, SHIFT_16M);
  const ret = mmu.hpteInsert(group * 8, avpn.hi, (avpn.lo | HPTE_V_BOLTED | HPTE_V_LARGE | HPTE_V_VALID) >>> 0, pfn, linearRFlags(text, pfn * PAGE_SIZE));
  if (ret < 0) throw insertFailed(mmu, pfn, ret, true, group);
  if (perPfn) hidx.fill(HIDX_HASHED | ret, pfn, pfn + EXTENT_PAGES);
  else hidx[pfn / EXTENT_PAGES] = HIDX_HASHED | ret;
}

/**
 * The order the 4 KiB pages go in. Linux bolts them in pfn order; the table
 * comes out the same in any order that keeps, for every PTEG, the order of
 * the entries that land in it: each takes its group's first free slot, and
 * whether H_ENTER takes it depends on nothing else. A segment's pages hash
 * to groups hash ^ idx (masked), so an aligned chunk of 512 pages fills one
 * aligned run of 512 groups, 64 KiB of table, its region. The pages go in
 * region by region, a region's chunks in pfn order: each region is written
 * while it is in the cache, where pfn order comes back to it only a window's
 * worth of segments later, long after it left. A PTEG mask that is not
 * 2^m - 1 with 2^9 <= 2^m <= 2^28 (a device tree naming an odd size) gets
 * pfn order: one region.
 */
const CHUNK_PAGES = 512;
const CHUNK_SHIFT = 9;
/** Progress is reported every so many regions. */
const PROGRESS_REGIONS = 16;

/** The regions one segment's groups fall in for PTEG mask `mask` (1: pfn order). */
function regionsFor(mask: number): number {
  const plain = Number.isInteger(mask) && mask >= CHUNK_PAGES - 1 && mask <= 2 ** 28 - 1 && (mask & (mask + 1)) === 0;
  return plain ? (Math.min(mask, SEGMENT_PAGES - 1) + 1) >>> CHUNK_SHIFT : 1;
}

/** A segment's part of the pages being bolted, with its VSID's words. */
interface Segment { seg: number; from: number; to: number; vHi: number; vLoSeg: number; hash: number }

/** The first insert, in pfn order, known to fail: inserts stop short of it. */
interface Stop { pfn: number; ret: number; hcall: number; group: number }

/**
 * The 4 KiB pages of [from, to): one VSID per 256 MiB segment; segments
 * whose groups meet (those hashing to the same 65536 groups, a window of
 * the table) go in together, region by region. A failed insert stops the
 * boot at the first pfn that fails in pfn order, as Linux's loop does (pages
 * after it may have gone in too, into a table the failed boot leaves to no one).
 */
function bolt4K(mmu: GuestMmu, from: number, to: number, hidx: Uint8Array, text: { start: number; end: number }, progress: ProgressFn | undefined, done0: number, total: number): void {
  // Text pfns [textFrom, textTo) of [from, to): a page is text when its first byte is (text bounds are page aligned in a linked kernel).
  let textFrom = Math.max(from, Math.ceil(text.start / PAGE_SIZE));
  let textTo = Math.min(to, Math.ceil(text.end / PAGE_SIZE));
  if (!(textFrom < textTo)) textFrom = textTo = from;
  const regions = regionsFor(mmu.mask);
  // Segments by window, windows in the order of their first segment (pfn order: a window each).
  const windows = new Map<number, Segment[]>();
  for (let pfn = from; pfn < to; ) {
    const seg = Math.floor(pfn / SEGMENT_PAGES);
    const end = Math.min(to, (seg + 1) * SEGMENT_PAGES);
    const vsid = vsidOf(KERNEL_ESID + seg);
    const s: Segment = { seg, from: pfn, to: end, vHi: Math.floor(vsid / TWO20), vLoSeg: ((vsid % TWO20) * 4096) | 0, hash: (vsid % TWO32) | 0 };
    const key = regions > 1 ? (s.hash & mmu.mask) >>> 16 : -1 - seg;
    const w = windows.get(key);
    if (w) w.push(s);
    else windows.set(key, [s]);
    pfn = end;
  }
  const hcallBefore = mmu.lastHcall;
  const stop: Stop = { pfn: to, ret: 0, hcall: H_SUCCESS, group: 0 };
  let win = new Int32Array(0);
  let done = 0;
  for (const segs of windows.values()) {
    if (segs[0].from >= stop.pfn) break;
    // The window's p2m entries read ahead: segment k's at k * SEGMENT_PAGES + its page index.
    if (win.length < segs.length * SEGMENT_PAGES) win = new Int32Array(segs.length * SEGMENT_PAGES);
    segs.forEach((s, k) => mmu.p2m.readInto(s.from, s.to, win, k * SEGMENT_PAGES + (s.from - s.seg * SEGMENT_PAGES)));
    for (let r = 0; r < regions; r++) {
      for (let k = 0; k < segs.length; k++) {
        const s = segs[k];
        const base = s.seg * SEGMENT_PAGES;
        // The segment's chunks in region r: chunk j's region is (j ^ the hash's region bits) modulo the regions.
        for (let j = (r ^ (s.hash >>> CHUNK_SHIFT)) & (regions - 1); j < SEGMENT_PAGES / CHUNK_PAGES; j += regions) {
          const cFrom = Math.max(s.from, base + j * CHUNK_PAGES);
          const cTo = Math.min(s.to, stop.pfn, base + (j + 1) * CHUNK_PAGES);
          if (cFrom >= cTo) continue;
          boltChunk4K(mmu, cFrom, cTo, s.vHi, s.vLoSeg, s.hash, hidx, textFrom, textTo, win, base - k * SEGMENT_PAGES, stop);
          done += cTo - cFrom;
        }
      }
      if (progress && ((r + 1) % PROGRESS_REGIONS === 0 || r === regions - 1) && done < to - from) progress(done0 + done, total);
    }
  }
  if (stop.pfn < to) {
    mmu.lastHcall = stop.ret === HPTE_INSERT_NO_FRAME ? hcallBefore : stop.hcall;
    throw insertFailed(mmu, stop.pfn, stop.ret, false, stop.group);
  }
}

/**
 * The hot path, one chunk of one segment: per page the hash, the AVPN and
 * hpte_insert spelled out (pfn -> mfn from the read-ahead entries, win[pfn -
 * winBase], then H_ENTER), all on 32-bit halves (words travel as int32: the
 * same bits). A failure is left in `stop`.
 */
function boltChunk4K(mmu: GuestMmu, from: number, to: number, vHi: number, vLoSeg: number, hash: number, hidx: Uint8Array, textFrom: number, textTo: number, win: Int32Array, winBase: number, stop: Stop): void {
  const hc = mmu.hc;
  const d = mmu.d;
  // Everything the loop reads made int32 here, once: the JIT then keeps the
  // loop in machine words instead of checking a tagged number at every use
  // (pfns are below 2^31; `& mask` takes the mask as int32 anyway).
  const first = from | 0;
  const end = to | 0;
  const w0 = winBase | 0;
  const mask = mmu.mask | 0;
  const tFrom = textFrom | 0;
  const tTo = textTo | 0;
  const vh = vHi | 0;
  const vSeg = vLoSeg | 0;
  const h = hash | 0;
  // Literal constants: 0xffff = SEGMENT_PAGES - 1, 0x11 = BOLTED | VALID, 0x190 / 0x194 = LINEAR_R_FLAGS (text) / with HPTE_R_N,
  // 0x80 = HIDX_HASHED, 0xffffffff = INVALID_MFN.
  for (let pfn = first; pfn < end; pfn++) {
    const idx = pfn & 0xffff;
    const group = (h ^ idx) & mask;
    const vLo = vSeg | ((idx >>> 11) << 7) | 0x11;
    const mfn = win[pfn - w0] >>> 0;
    if (mfn === 0xffffffff) return stopAt(stop, pfn, HPTE_INSERT_NO_FRAME, H_SUCCESS, group);
    // 64-bit words go as int32 halves: mfns are u32, so r's high half is mfn >>> 20.
    const rc = hc.enter(d, 0, group * 8, vh, vLo, mfn >>> 20, (mfn << 12) | (pfn >= tFrom && pfn < tTo ? 0x190 : 0x194));
    if (rc !== H_SUCCESS) return stopAt(stop, pfn, mmu.hcallFailed(rc), rc, group);
    // The primary group: the slot is Linux's whole encoding.
    hidx[pfn] = 0x80 | (hc.ptex & 7);
  }
}

function stopAt(stop: Stop, pfn: number, ret: number, hcall: number, group: number): void {
  stop.pfn = pfn;
  stop.ret = ret;
  stop.hcall = hcall;
  stop.group = group;
}
