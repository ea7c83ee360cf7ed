import { IO_HOLE_END, IO_HOLE_START, PAGE_SIZE } from '../machine/constants';

/**
 * dom0's pseudo-physical map, as xen/arch/powerpc/ofd_fixup_memory.c
 * (ofd_memory_extent_nodes, lines 86-113 @ 1aa3c54a31^) lays it out: "if
 * dom0 > 2G, shift ram past IO hole". RAM fills pfns upward from 0 (the RMA
 * first), up to platform_iohole_base() (2 GiB, platform.c:25-32), and the
 * rest of it continues at the hole's end (4 GiB). Upstream wrote that last
 * node under `#if 0` (lines 104-112) because its p2m could not translate
 * above the hole; the proposal's table can, so it is written here.
 *
 * A map without a hole (the firmware's own RAM runs through 2-4 GiB, as on
 * QEMU pseries) is flat: pfn = page index.
 */
export interface PfnHole {
  /** First pfn of the hole (platform_iohole_base() >> PAGE_SHIFT). */
  start: number;
  /** First pfn past it. */
  end: number;
}

/** The platform's IO hole in dom0's pfns, [2 GiB, 4 GiB). */
export const PLATFORM_PFN_HOLE: PfnHole = { start: IO_HOLE_START / PAGE_SIZE, end: IO_HOLE_END / PAGE_SIZE };

/** A run of pfns [pfn, pfn + count). */
export interface PfnRun { pfn: number; count: number }

/** The pfn of the k-th page of RAM (k from 0): pages fill pfns upward, stepping over the hole. */
export function ramPfn(hole: PfnHole | undefined, k: number): number {
  return hole && k >= hole.start ? k + (hole.end - hole.start) : k;
}

/** How many pages of RAM lie below `pfn`. */
export function ramPagesBelow(hole: PfnHole | undefined, pfn: number): number {
  if (!hole || pfn <= hole.start) return pfn;
  return hole.start + Math.max(0, pfn - hole.end);
}

/** One past the last pfn that `pages` pages of RAM reach: what a table must index. */
export function pfnSpan(hole: PfnHole | undefined, pages: number): number {
  return pages === 0 ? 0 : ramPfn(hole, pages - 1) + 1;
}

/** Is this pfn inside the hole (MMIO, never RAM)? */
export function inHole(hole: PfnHole | undefined, pfn: number): boolean {
  return !!hole && pfn >= hole.start && pfn < hole.end;
}

/** The pfn runs that RAM pages [from, to) occupy (at most two: below and above the hole). */
export function ramRuns(hole: PfnHole | undefined, from: number, to: number): PfnRun[] {
  if (to <= from) return [];
  const a = ramPfn(hole, from);
  const lastPfn = ramPfn(hole, to - 1);
  if (!hole || a >= hole.end || lastPfn < hole.start) return [{ pfn: a, count: lastPfn + 1 - a }];
  return [{ pfn: a, count: hole.start - a }, { pfn: hole.end, count: lastPfn + 1 - hole.end }];
}

/** Guest-physical RAM ranges (bytes) for a dom0 of `pages` pages: the memory nodes of its tree, the RMA apart. */
export function dom0MemoryRanges(hole: PfnHole | undefined, rmaPages: number, pages: number): { start: number; size: number }[] {
  const out = [{ start: 0, size: Math.min(rmaPages, pages) * PAGE_SIZE }];
  for (const r of ramRuns(hole, rmaPages, pages)) out.push({ start: r.pfn * PAGE_SIZE, size: r.count * PAGE_SIZE });
  return out.filter((r) => r.size > 0);
}
