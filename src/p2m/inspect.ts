import { INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import type { Machine } from '../machine/machine';
import type { P2mRun, P2mTable } from './table';

/**
 * What this module reads of a domain (struct domain has these): which
 * domain, whether Xen keeps its table, where the guest's own table is.
 */
export interface TableOwner {
  domid: number;
  shadow: boolean;
  p2mPaddr: number;
  p2mEntries: number;
  arch: { p2m: number };
  layout?: { capacityEntries: number };
  /** The IO hole in the domain's pfns, when its map keeps one. */
  ioHole?: { start: number; end: number };
  p2m(): P2mTable;
}

/** What an invalid entry at `pfn` is: a pfn of the IO hole (MMIO, never RAM), or a page with no frame. */
export function invalidUse(d: Pick<TableOwner, 'ioHole'>, pfn: number): { owner: string; use: string } {
  const h = d.ioHole;
  return h && pfn >= h.start && pfn < h.end ? { owner: 'io', use: 'IO hole (not RAM)' } : { owner: '-', use: 'invalid' };
}

/** Where a domain's table lives and how full it is. */
export interface P2mInfo {
  domid: number;
  paddr: number;
  maddr: number;
  bytes: number;
  entries: number;
  capacityEntries: number;
  usedEntries: number;
  invalidEntries: number;
  coversBytes: number;
}

/**
 * `runs`, when they cover the whole table, save a second pass over it.
 * `table` is the domain's table as the p2m accessor gives it (p2mOf in
 * src/xen/shadow_p2m.ts: Xen's for a shadow domain); default the guest's own.
 */
export function p2mInfo(d: TableOwner, runs?: P2mRun[], table: P2mTable = d.p2m()): P2mInfo {
  const entries = table.entries;
  const whole = runs && runs.length > 0 && runs[0].pfn === 0 && runs[runs.length - 1].pfn + runs[runs.length - 1].count === entries;
  const used = whole ? runs!.reduce((n, r) => (r.mfn === INVALID_MFN ? n : n + r.count), 0) : table.countValid();
  return {
    domid: d.domid,
    paddr: d.shadow ? table.base : d.p2mPaddr,
    maddr: d.arch.p2m,
    bytes: entries * 4,
    entries,
    capacityEntries: d.shadow ? entries : d.layout?.capacityEntries ?? entries,
    usedEntries: used,
    invalidEntries: entries - used,
    coversBytes: entries * PAGE_SIZE,
  };
}

/** Who a machine frame belongs to, in words. */
export function frameOwner(m: Machine, mfn: number): { owner: string; use: string } {
  if (mfn === INVALID_MFN) return { owner: '-', use: 'invalid' };
  const run = m.frames.lookup(mfn);
  if (run) return { owner: run.owner === 'xen' ? 'xen' : `dom${run.owner}`, use: run.use };
  if (m.isIo(mfn)) return { owner: 'io', use: 'IO hole' };
  if (!m.isRam(mfn)) return { owner: 'none', use: 'beyond RAM' };
  if (m.inXenHeap(mfn)) return { owner: 'xen', use: 'xen heap (free)' };
  return { owner: 'free', use: 'domain heap' };
}

export interface OwnedRun extends P2mRun { owner: string; use: string }

/** The table over [from, to) as runs, split where the owning allocation changes. */
export function ownedRuns(m: Machine, d: TableOwner, from = 0, to = d.p2mEntries, table: P2mTable = d.p2m()): OwnedRun[] {
  const out: OwnedRun[] = [];
  const h = d.ioHole;
  // Cut at the hole's edges so its invalid entries are told apart from the others.
  const cuts = [from, ...(h ? [h.start, h.end] : []), to].filter((c) => c >= from && c <= to).sort((a, b) => a - b);
  const pieces = cuts.slice(1).flatMap((c, i) => (c > cuts[i] ? table.runs(cuts[i], c) : []));
  for (const r of pieces) {
    if (r.mfn === INVALID_MFN) {
      out.push({ ...r, ...invalidUse(d, r.pfn) });
      continue;
    }
    let done = 0;
    while (done < r.count) {
      const mfn = r.mfn + done;
      const own = m.frames.lookup(mfn);
      const n = own ? Math.min(r.count - done, own.mfn + own.count - mfn) : 1;
      const prev = out[out.length - 1];
      const o = frameOwner(m, mfn);
      if (!own && prev && prev.owner === o.owner && prev.use === o.use && prev.mfn + prev.count === mfn && prev.pfn + prev.count === r.pfn + done) {
        prev.count += n;
      } else {
        out.push({ pfn: r.pfn + done, mfn, count: n, ...o });
      }
      done += n;
    }
  }
  return out;
}
