import { HpteDecoder } from '../hpt/decode';
import { rpnOf, HPTE_V_BOLTED, HPTE_V_LARGE } from '../hpt/constants';
import { EXTENT_ORDER, EXTENT_PAGES, INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import type { P2mRun, P2mTable } from '../p2m/table';
import { CheckError, FitError, UsageError } from '../util/errors';
import { formatSize, hex } from '../util/size';
import type { Domain } from '../xen/domain';
import { H_AVPN, H_PARAMETER, H_SUCCESS, hcallReturnName } from '../xen/hcalls/papr';
import { xenHcalls } from '../xen/hcalls/xen';
import { memoryOp, memoryOpName, XENMEM_decrease_reservation, XENMEM_populate_physmap } from '../xen/memory_op';
import { p2mOf } from '../xen/shadow_p2m';
import { pfnSpan, ramPagesBelow, ramRuns } from '../xen/physmap';
import type { System } from '../xen/system';
import { HcallRefused } from './foreign';
import { boltLinearMap } from './linear_map';
import { GuestMmu } from './mmu';
import { GuestRecord, linearTextOf, saveGuestRecord } from './record';

export interface BalloonReport {
  domid: number;
  /** Who keeps the table the balloon updates. */
  keeper: 'guest' | 'xen';
  fromPages: number;
  toPages: number;
  /** Frames handed back to the domain heap / taken from it. */
  released: number;
  taken: number;
  /** HPTEs removed before the frames went (H_REMOVE), and inserted (re-bolted survivors, new memory). */
  hptesRemoved: number;
  hptesInserted: number;
  capacityEntries: number;
  domHeapFreeBefore: number;
  domHeapFreeAfter: number;
  /** Every hypercall made, in order (HPTE calls of one kind in a row are one batch). */
  hypercalls: BalloonHypercall[];
}

/**
 * One hypercall (or a batch of HPTE calls) the balloon made: memory_op with
 * its reservation (extents as runs of consecutive numbers, before and
 * after), or H_REMOVE / H_ENTER with how many and what they returned.
 */
export type BalloonHypercall =
  | { hcall: 'memory_op'; cmd: number; op: string; domid: number; extentOrder: number; nrExtents: number; extentsIn: ExtentRun[]; extentsOut: ExtentRun[]; nrDone: number }
  | { hcall: 'H_REMOVE' | 'H_ENTER'; domid: number; calls: number; returned: Record<string, number> };

export interface ExtentRun { first: number; count: number }

/** A list of frame numbers as runs of consecutive ones. */
function runsOf(list: readonly number[]): ExtentRun[] {
  const out: ExtentRun[] = [];
  for (let i = 0; i < list.length; i++) {
    const last = out[out.length - 1];
    if (last && last.first + last.count === list[i]) last.count++;
    else out.push({ first: list[i], count: 1 });
  }
  return out;
}

/** memory_op(cmd, reservation) as the guest makes it, recorded. */
function callMemoryOp(sys: System, d: Domain, rep: BalloonReport, cmd: number, extentOrder: number, extents: number[]): number {
  const before = runsOf(extents);
  const done = memoryOp(sys.machine, d, cmd, { extentOrder, nrExtents: extents.length, extents });
  rep.hypercalls.push({ hcall: 'memory_op', cmd, op: memoryOpName(cmd), domid: d.domid, extentOrder, nrExtents: extents.length, extentsIn: before, extentsOut: runsOf(extents), nrDone: done });
  return done;
}


/**
 * The balloon driver. Shrinking releases the domain's highest pfns: first
 * every HPTE that maps one of their frames goes (H_REMOVE; a 16 MiB linear
 * page cut by the new size is re-bolted with 4 KiB pages for what stays),
 * then their entries become INVALID_MFN (in the guest's own table for a
 * non-shadow domain, in Xen's through guest_physmap_remove_page for a
 * shadow one), then the frames go back to the domain heap. Growing takes
 * frames from the heap (aligned blocks as large as the pfns allow), writes
 * their entries and, when the guest booted, bolts them into its linear map.
 * The domain's pages stay pfns [0, tot_pages): entries past are INVALID_MFN.
 */
export function balloon(sys: System, domid: number, targetBytes: number): BalloonReport {
  const d = sys.domains.get(domid);
  if (!d) throw new UsageError(`no domain ${domid} in this state`, `domains: ${[...sys.domains.keys()].join(', ')}`);
  if (d.translation === 'legacy') throw new FitError(`dom${domid} was built with the legacy translation: it cannot balloon (Xen keeps its table and has no guest_physmap_remove_page for it)`, ['proposal-translation']);
  const m = sys.machine;
  const table = p2mOf(d);
  // The table's entries, in pages of RAM: the IO hole's pfns hold none.
  const cap = ramPagesBelow(d.ioHole, table.entries);
  const target = Math.ceil(targetBytes / PAGE_SIZE);
  const where = d.shadow ? `Xen's p2m for dom${domid}` : `dom${domid}'s p2m table (guest ${hex(d.p2mPaddr)} in its RMA)`;
  if (target > cap) {
    throw new FitError(`dom${domid} cannot grow to ${formatSize(target * PAGE_SIZE)}: ${where} holds ${cap} entries, ${formatSize(cap * PAGE_SIZE)} at most`, d.shadow ? 'create the domU with a larger maximum' : 'the table covers dom0\'s maximum as constructed: rebuild with a larger one, up to the placement\'s limit');
  }
  if (target < d.rmaPages) throw new FitError(`dom${domid} cannot shrink to ${formatSize(target * PAGE_SIZE)}: its ${formatSize(d.rmaBytes)} RMA stays (it holds the kernel, the firmware and its table)`, `a target of at least ${formatSize(d.rmaBytes)}`);
  const report: BalloonReport = {
    domid, keeper: d.shadow ? 'xen' : 'guest', fromPages: d.totPages, toPages: target, released: 0, taken: 0, hptesRemoved: 0, hptesInserted: 0,
    capacityEntries: cap, domHeapFreeBefore: m.domHeap.freeCount, domHeapFreeAfter: m.domHeap.freeCount, hypercalls: [],
  };
  if (target < d.totPages) shrink(sys, d, table, target, report);
  else if (target > d.totPages) grow(sys, d, table, target, report);
  report.domHeapFreeAfter = m.domHeap.freeCount;
  return report;
}

/** Binary search: does [mfn, mfn + n) meet any of the sorted runs? */
function meets(runs: { mfn: number; count: number }[], mfn: number, n: number): boolean {
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (runs[mid].mfn + runs[mid].count <= mfn) lo = mid + 1;
    else hi = mid;
  }
  return lo < runs.length && runs[lo].mfn < mfn + n;
}

function shrink(sys: System, d: Domain, table: P2mTable, target: number, rep: BalloonReport): void {
  const m = sys.machine;
  const freed = ramRuns(d.ioHole, target, d.totPages);
  const released: P2mRun[] = freed.flatMap((x) => table.runs(x.pfn, x.pfn + x.count));
  const bad = released.find((r) => r.mfn === INVALID_MFN);
  if (bad) throw new CheckError(`dom${d.domid}'s pfns ${hex(bad.pfn)}.. are RAM (below tot_pages) but hold INVALID_MFN: the state is inconsistent`, ['run-validate']);
  const byMfn = released.map((r) => ({ mfn: r.mfn, count: r.count })).sort((a, b) => a.mfn - b.mfn);
  // A frame another domain maps keeps its page reference: Xen will not take it back.
  for (const [mfn, n] of m.pageRefs) {
    if (n > 0 && meets(byMfn, mfn, 1)) {
      const r = released.find((x) => mfn >= x.mfn && mfn < x.mfn + x.count)!;
      throw new FitError(`dom${d.domid}'s pfn ${hex(r.pfn + (mfn - r.mfn))} (mfn ${hex(mfn)}) is mapped by another domain (${n} page reference${n === 1 ? '' : 's'}): the balloon cannot release it`, ['unmap-foreign-first', 'larger-balloon-target']);
    }
  }

  // 1. HPTEs first: every valid entry of the domain's table that maps a released frame.
  const survivors: { start: number; end: number }[] = [];
  if (d.hptInUse) {
    const t = d.hpt;
    const dec = new HpteDecoder(t);
    const hits: number[] = [];
    t.forEachValid((slot, _vHi, vLo, rHi, rLo) => {
      const rpn = rpnOf(rHi, rLo);
      if (meets(byMfn, rpn, (vLo & HPTE_V_LARGE) !== 0 ? EXTENT_PAGES : 1)) hits.push(slot);
    });
    const hc = xenHcalls(sys);
    if (hits.length) rep.hypercalls.push({ hcall: 'H_REMOVE', domid: d.domid, calls: hits.length, returned: { H_SUCCESS: hits.length } });
    for (const slot of hits) {
      const h = dec.decode(slot);
      const rc = hc.remove(d, H_AVPN, slot, h.vHi, h.vLo & ~0x7f);
      if (rc !== H_SUCCESS) throw new HcallRefused(`H_REMOVE of dom${d.domid}'s slot ${hex(slot)} returned ${hcallReturnName(rc)}`, rc);
      rep.hptesRemoved++;
      // A 16 MiB linear page cut by the new size: what stays below it needs 4 KiB pages.
      if (h.large && h.bolted && h.linearPaddr >= 0) {
        const first = h.linearPaddr / PAGE_SIZE;
        const keptEnd = pfnSpan(d.ioHole, target);
        if (first < keptEnd) survivors.push({ start: first, end: Math.min(first + EXTENT_PAGES, keptEnd) });
      }
    }
  }

  // 2. XENMEM_decrease_reservation, order-0 extents (as Linux's balloon driver): a domain
  // that is not translated names machine frames (its gmfn_to_mfn is the identity), a
  // shadow one its pfns, which Xen's guest_physmap_remove_page clears in its own p2m.
  const list: number[] = [];
  if (d.shadow) for (const x of freed) for (let pfn = x.pfn; pfn < x.pfn + x.count; pfn++) list.push(pfn);
  else for (const r of released) for (let i = 0; i < r.count; i++) list.push(r.mfn + i);
  const before = d.totPages;
  const done = callMemoryOp(sys, d, rep, XENMEM_decrease_reservation, 0, list);
  if (done !== list.length) throw new HcallRefused(`XENMEM_decrease_reservation for dom${d.domid} did ${done} of ${list.length} extents: Xen refused frame ${hex(list[done])}`, H_PARAMETER);
  rep.released += before - d.totPages;

  // 3. The guest's own table: INVALID_MFN for what it gave back (Xen never writes it).
  if (!d.shadow) for (const x of freed) table.invalidate(x.pfn, x.count);
  d.totPages = target;
  // Extents wholly released leave the extent list (it stays in pfn order).
  const keep = Math.max(0, Math.ceil((target - d.rmaPages) / EXTENT_PAGES));
  d.extents.splice(keep);

  // 4. The guest's record: released pfns have no HPTE now; survivors get 4 KiB pages.
  const g = d.guest;
  if (g) {
    const hidx = perPfn(g.rec, g.hidx, Math.max(pfnSpan(d.ioHole, target), hidxPfns(g.rec, g.hidx)));
    hidx.fill(0, pfnSpan(d.ioHole, target));
    if (survivors.length) bolt(sys, d, rep, table, g.rec, hidx, survivors, 12);
    recount(g.rec, d, hidx, rep, sys);
  }
}

function grow(sys: System, d: Domain, table: P2mTable, target: number, rep: BalloonReport): void {
  const m = sys.machine;
  const need = target - d.totPages;
  if (need > m.domHeap.freeCount) throw new FitError(`dom${d.domid} cannot grow by ${formatSize(need * PAGE_SIZE)}: the domain heap has ${formatSize(m.domHeap.freeCount * PAGE_SIZE)} free`, ['smaller-balloon-target', 'balloon-other-down']);
  const added = ramRuns(d.ioHole, d.totPages, target);
  // XENMEM_populate_physmap: 16 MiB extents (order 12) where the pfns are aligned for them,
  // order 0 for the rest and for whatever the heap could not give in 16 MiB blocks.
  const big: number[] = [];
  const small: number[] = [];
  for (const x of added) {
    const end = x.pfn + x.count;
    for (let pfn = x.pfn; pfn < end;) {
      if (pfn % EXTENT_PAGES === 0 && pfn + EXTENT_PAGES <= end) {
        big.push(pfn);
        pfn += EXTENT_PAGES;
      } else small.push(pfn++);
    }
  }
  const enter = (gpfns: number[], mfns: number[], n: number, pages: number): void => {
    // Not translated: Xen wrote each extent's machine frame back into the list; the guest enters them in its own table.
    if (!d.shadow) for (let i = 0; i < n; i++) table.fillRun(gpfns[i], mfns[i], pages);
    rep.taken += n * pages;
  };
  if (big.length) {
    const list = big.slice();
    const done = callMemoryOp(sys, d, rep, XENMEM_populate_physmap, EXTENT_ORDER, list);
    enter(big, list, done, EXTENT_PAGES);
    for (let i = done; i < big.length; i++) for (let j = 0; j < EXTENT_PAGES; j++) small.push(big[i] + j);
  }
  if (small.length) {
    small.sort((a, b) => a - b);
    const list = small.slice();
    const done = callMemoryOp(sys, d, rep, XENMEM_populate_physmap, 0, list);
    enter(small, list, done, 1);
    if (done !== small.length) throw new Error('the domain heap ran out during a balloon it had room for');
  }
  if (d.totPages !== target) throw new Error(`dom${d.domid} has ${d.totPages} pages after populate_physmap, not ${target}`);
  const g = d.guest;
  if (g) {
    const hidx = perPfn(g.rec, g.hidx, Math.max(pfnSpan(d.ioHole, target), hidxPfns(g.rec, g.hidx)));
    bolt(sys, d, rep, table, g.rec, hidx, added.map((x) => ({ start: x.pfn, end: x.pfn + x.count })), g.rec.linear.pageShift);
    recount(g.rec, d, hidx, rep, sys);
  }
}

/** Pfns the record's hidx covers. */
function hidxPfns(rec: GuestRecord, hidx: Uint8Array): number {
  return rec.linear.hidxPerPfn ? hidx.length : hidx.length * EXTENT_PAGES;
}

/** The record's hidx as one byte per pfn (a record of 16 MiB pages keeps one per extent). */
function perPfn(rec: GuestRecord, hidx: Uint8Array, pfns: number): Uint8Array {
  const out = new Uint8Array(pfns);
  if (rec.linear.hidxPerPfn) out.set(hidx.subarray(0, Math.min(hidx.length, pfns)));
  else for (let e = 0; e < hidx.length; e++) out.fill(hidx[e], e * EXTENT_PAGES, Math.min(pfns, (e + 1) * EXTENT_PAGES));
  rec.linear.hidxPerPfn = true;
  return out;
}

/** Bolt pfn ranges into the linear map through the guest's hpte_insert; the H_ENTERs go in the report as one batch. */
function bolt(sys: System, d: Domain, rep: BalloonReport, table: P2mTable, rec: GuestRecord, hidx: Uint8Array, ranges: { start: number; end: number }[], pageShift: 12 | 24): void {
  const mmu = new GuestMmu(d, xenHcalls(sys), table, rec.devtree.pftSizeLog2);
  let inserts = 0;
  for (const r of ranges) {
    if (r.end <= r.start) continue;
    const res = boltLinearMap(mmu, [{ start: r.start * PAGE_SIZE, size: (r.end - r.start) * PAGE_SIZE }], { pageShift, fallback: true, text: linearTextOf(rec) });
    for (let pfn = r.start; pfn < r.end; pfn++) hidx[pfn] = res.hidxPerPfn ? res.hidx[pfn] : res.hidx[Math.floor(pfn / EXTENT_PAGES)];
    inserts += res.inserts;
  }
  if (inserts) rep.hypercalls.push({ hcall: 'H_ENTER', domid: d.domid, calls: inserts, returned: { H_SUCCESS: inserts } });
  rep.hptesInserted += inserts;
}

/** Bring the record's linear-map figures up to date from the hidx bytes and the table, and save it. */
function recount(rec: GuestRecord, d: Domain, hidx: Uint8Array, rep: BalloonReport, sys: System): void {
  let pages4K = 0;
  let pages16M = 0;
  if (d.hptInUse) {
    d.hpt.forEachValid((_s, _vHi, vLo) => {
      if ((vLo & HPTE_V_BOLTED) === 0) return; // bolted only: the linear map
      if ((vLo & HPTE_V_LARGE) !== 0) pages16M++;
      else pages4K++;
    });
  }
  rec.linear.pages4K = pages4K;
  rec.linear.pages16M = pages16M;
  rec.linear.inserts += rep.hptesInserted;
  rec.linear.bytes = d.totPages * PAGE_SIZE;
  // The new size's bytes only, copied: after a shrink `hidx` still spans the old size.
  saveGuestRecord(d, rec, hidx.slice(0, Math.max(pfnSpan(d.ioHole, d.totPages), 1)));
}
