import { EXTENT_SIZE, IO_HOLE_END, IO_HOLE_START, MAX_ORDER, PAGE_SIZE } from '../machine/constants';
import type { Machine } from '../machine/machine';
import { dom0PagesForHpt, hptBytesForMiB } from '../hpt/size';
import type { FrameRange } from '../machine/memmap';
import { alignDown, alignUp, exactSize } from '../util/size';

/*
 * How large a dom0 can be when Xen builds its p2m table inside its RMA, and
 * which rule stops it. Every rule is named, given its figure, and the one with
 * the smallest resulting dom0 binds. docs/limits.md tells the arithmetic with
 * its sources; the citations below are `file:line @ commit` in Xen's history.
 */

/** The largest block Xen's buddy allocator hands out: 2^MAX_ORDER pages = 4 GiB. */
export const MAX_BLOCK_BYTES = 2 ** MAX_ORDER * PAGE_SIZE;
/** p2m entries of 4 bytes name mfns 0 .. 2^32 - 2: 0xFFFFFFFF is INVALID_MFN. */
const U32_NAMEABLE_FRAMES = 2 ** 32 - 1;

/** The raw capacity figures of one layout (docs/limits.md). */
export interface LimitFigures {
  rmaSize: number;
  p2mStart: number;
  entrySize: number;
  /** Entries if the table took everything from p2mStart to the RMA's end. */
  wholeRestEntries: number;
  wholeRestBytes: number;
  /** Entries up to shared_info (its page is kept). */
  capacityEntries: number;
  /** The pfn span those entries index: capacityEntries x 4 KiB. */
  capacityBytes: number;
  /** capacityBytes floored to whole 16 MiB extents: the largest dom0 of a map with no hole. */
  maxDomainBytes: number;
}

export function limitFigures(rmaSize: number, p2mStart: number, entrySize = 4, end = rmaSize - PAGE_SIZE): LimitFigures {
  const wholeRestEntries = Math.max(0, Math.floor((rmaSize - p2mStart) / entrySize));
  const capacityEntries = Math.max(0, Math.floor((end - p2mStart) / entrySize));
  const capacityBytes = capacityEntries * PAGE_SIZE;
  return {
    rmaSize,
    p2mStart,
    entrySize,
    wholeRestEntries,
    wholeRestBytes: wholeRestEntries * PAGE_SIZE,
    capacityEntries,
    capacityBytes,
    maxDomainBytes: alignDown(capacityBytes, EXTENT_SIZE),
  };
}

/** A hole in dom0's pseudo-physical map, in bytes [start, end): pfns there are never RAM. */
export interface MapHole { start: number; end: number }

/**
 * The IO hole of Xen/PowerPC's 970 platforms: [2 GiB, 4 GiB)
 * (xen/arch/powerpc/platform.c:25-37 @ 1aa3c54a31^). dom0's map keeps it:
 * "if dom0 > 2G, shift ram past IO hole" (xen/arch/powerpc/ofd_fixup_memory.c:94-112 @ 1aa3c54a31^).
 */
export const PLATFORM_IO_HOLE: MapHole = { start: IO_HOLE_START, end: IO_HOLE_END };

/**
 * Whether dom0's map has the IO hole, from the firmware tree's RAM: a tree
 * with RAM in [2 GiB, 4 GiB) (QEMU pseries) has a flat map and keeps it;
 * otherwise the platform's hole is kept. A tree with RAM only below 2 GiB
 * counts as holed: its dom0 cannot pass 2 GiB anyway.
 */
export function dom0MapHole(firmwareRam: readonly { address: bigint | number; size: bigint | number }[]): MapHole | null {
  const flat = firmwareRam.some((r) => {
    const a = Number(r.address);
    const e = a + Number(r.size);
    return a < PLATFORM_IO_HOLE.end && e > PLATFORM_IO_HOLE.start;
  });
  return flat ? null : { ...PLATFORM_IO_HOLE };
}

/** RAM a pfn span [0, span) holds when the map has `hole`: the hole's pfns hold INVALID_MFN. */
export function ramInSpan(spanBytes: number, hole: MapHole | null): number {
  if (!hole || spanBytes <= hole.start) return spanBytes;
  return hole.start + Math.max(0, spanBytes - hole.end);
}

/**
 * The largest dom0 (whole 16 MiB extents) whose hash table, as Xen sizes it
 * (dom0HptBytes in src/hpt/size.ts), fits in one block of `blockBytes`.
 */
export function largestDom0ForHptBlock(blockBytes: number): number {
  return alignDown(dom0PagesForHpt(blockBytes) * PAGE_SIZE, EXTENT_SIZE);
}

/** What the machine gives dom0, as Xen has booted on it. */
export interface MachineFacts {
  ramBytes: number;
  /** The domain heap's free frames before dom0 is built (after Xen's low memory and the Xen heap). */
  domainHeapFree: FrameRange[];
  /** The Xen heap's size (hash tables come from it). */
  xenHeapBytes: number;
  /** The largest block the Xen heap can give. */
  largestXenHeapBlockBytes: number;
}

/** A booted machine's facts. */
export function machineFacts(m: Machine): MachineFacts {
  const free: FrameRange[] = [];
  m.domHeap.free.forEach((list, order) => list.forEach((mfn) => free.push({ mfn, count: 2 ** order })));
  free.sort((a, b) => a.mfn - b.mfn);
  const o = m.xenHeap.largestFreeOrder();
  return {
    ramBytes: m.profile.ram,
    domainHeapFree: free,
    xenHeapBytes: m.xenHeapRanges.reduce((n, r) => n + r.count, 0) * PAGE_SIZE,
    largestXenHeapBlockBytes: o < 0 ? 0 : 2 ** o * PAGE_SIZE,
  };
}

export interface Dom0LimitsInput {
  rmaSize: number;
  /** The table's first byte, guest-physical (an offset in the RMA). */
  p2mStart: number;
  /** Where the table must end; default the last page of the RMA (shared_info). */
  sharedInfoStart?: number;
  /** 4 (u32 mfns) or 8. */
  entrySize?: number;
  /** dom0's map's hole, or null for a flat map. */
  hole: MapHole | null;
  /** The machine; without it only the rules that do not depend on one are applied. */
  machine?: MachineFacts;
  /** dom0's hash table in MiB, set (Xen's dom0_shadow=) instead of dom0/64. */
  hptOverrideMiB?: number;
}

export type ConstraintName = 'rma-allocatable' | 'p2m-span' | 'entry-width' | 'hpt-block' | 'machine-ram';

/** What would lift a constraint: a larger RMA, a smaller one, more RAM, 8-byte entries, or nothing in reach. */
export type Remedy = 'larger-rma' | 'smaller-rma' | 'more-ram' | 'wider-entries' | 'none';

export interface Constraint {
  name: ConstraintName;
  /** The largest dom0 (whole extents) it allows; 0 when no dom0 can be built; null when it sets no size. */
  limitBytes: number | null;
  binds: boolean;
  detail: string;
  /** What lifts it. */
  remedy: Remedy;
}

export interface Dom0Limits {
  rmaSize: number;
  p2mStart: number;
  sharedInfoStart: number;
  entrySize: number;
  hole: MapHole | null;
  capacityEntries: number;
  /** The pfn span the flat table indexes: capacityEntries x 4 KiB. */
  spanBytes: number;
  /** RAM in that span: less the hole where the span passes it. */
  spanRamBytes: number;
  /** spanRamBytes in whole extents: what the flat table allows. */
  flatTableMaxBytes: number;
  /** A table that skipped the hole would index RAM only: the span in whole extents. */
  skipHoleMaxBytes: number;
  /** False when Xen cannot build this layout at all (the RMA cannot be allocated). */
  buildable: boolean;
  /** The largest dom0 every constraint allows, whole extents; null when not buildable. */
  maxDom0Bytes: number | null;
  constraints: Constraint[];
  binding: ConstraintName;
}

const sz = exactSize;

/** Aligned blocks of `size` bytes wholly inside free frame ranges. */
function alignedBlocks(free: FrameRange[], size: number): number {
  const pages = size / PAGE_SIZE;
  let n = 0;
  for (const r of free) {
    const first = alignUp(r.mfn, pages);
    const end = alignDown(r.mfn + r.count, pages);
    if (end > first) n += (end - first) / pages;
  }
  return n;
}

/** Like alignedBlocks, counting only blocks that end at or below frame `limitMfn`. */
function alignedBlocksBelow(free: FrameRange[], size: number, limitMfn: number): number {
  return alignedBlocks(free.filter((r) => r.mfn < limitMfn).map((r) => ({ mfn: r.mfn, count: Math.min(r.count, limitMfn - r.mfn) })), size);
}

/**
 * Every constraint on dom0's size for one layout and machine, and the one that
 * binds (the smallest resulting dom0; on a tie, the first listed). Pure: the
 * same input gives the same answer, and construct can call it before it
 * changes anything.
 */
export function dom0Limits(input: Dom0LimitsInput): Dom0Limits {
  const { rmaSize, p2mStart, hole, machine } = input;
  const entrySize = input.entrySize ?? 4;
  const sharedInfoStart = input.sharedInfoStart ?? rmaSize - PAGE_SIZE;
  const capacityEntries = Math.max(0, Math.floor((sharedInfoStart - p2mStart) / entrySize));
  const spanBytes = capacityEntries * PAGE_SIZE;
  const spanRamBytes = ramInSpan(spanBytes, hole);
  const flatTableMaxBytes = alignDown(spanRamBytes, EXTENT_SIZE);
  const skipHoleMaxBytes = alignDown(spanBytes, EXTENT_SIZE);
  const constraints: Constraint[] = [];

  // rma-allocatable: the RMA is one naturally aligned domain-heap block
  // (allocate_rma: alloc_domheap_pages(d, order, 0), xen/arch/powerpc/mm.c:375 @ 1aa3c54a31^),
  // and the heap gives nothing above MAX_ORDER (xen/common/page_alloc.c:354-355 @ a046da3892;
  // MAX_ORDER 20, xen/include/xen/mm.h:85 @ a046da3892).
  let rmaOk = true;
  if (rmaSize > MAX_BLOCK_BYTES) {
    rmaOk = false;
    constraints.push({ name: 'rma-allocatable', limitBytes: 0, binds: false, remedy: 'smaller-rma', detail: `a ${sz(rmaSize)} RMA is not allocatable (MAX_ORDER 20): heap blocks are at most 4 GiB` });
  } else if (machine && alignedBlocks(machine.domainHeapFree, rmaSize) === 0) {
    rmaOk = false;
    const largest = largestAlignedBlock(machine.domainHeapFree);
    constraints.push({ name: 'rma-allocatable', limitBytes: 0, binds: false, remedy: 'more-ram', detail: `the domain heap has no free aligned ${sz(rmaSize)} block for the RMA (the largest is ${sz(largest)})` });
  } else {
    constraints.push({ name: 'rma-allocatable', limitBytes: null, binds: false, remedy: 'none', detail: machine ? `an aligned ${sz(rmaSize)} block is free in the domain heap` : `${sz(rmaSize)} is within MAX_ORDER 20 (4 GiB)` });
  }

  // p2m-span: the flat table indexes pfns [0, capacity); with a hole, RAM is the span less the hole.
  constraints.push({
    name: 'p2m-span',
    limitBytes: flatTableMaxBytes,
    binds: false,
    remedy: 'larger-rma',
    detail: `${capacityEntries} entries x 4 KiB = ${sz(spanBytes)} of pfns`
      + (hole && spanBytes > hole.start ? `, ${sz(spanRamBytes)} of RAM less the hole [${sz(hole.start)}, ${sz(hole.end)})` : ', all RAM (no hole in the span)'),
  });

  // entry-width: a u32 entry names mfns up to 2^32 - 2 (INVALID_MFN = 0xFFFFFFFF), 16 TiB of
  // machine memory; 8-byte entries lift it.
  if (entrySize >= 8) {
    constraints.push({ name: 'entry-width', limitBytes: null, binds: false, remedy: 'none', detail: `${entrySize}-byte entries name every machine frame` });
  } else {
    const abstract = alignDown(U32_NAMEABLE_FRAMES * PAGE_SIZE, EXTENT_SIZE);
    let limit = abstract;
    let detail = 'u32 mfns name 2^32 - 1 frames (0xFFFFFFFF is INVALID_MFN): 16 TiB of machine memory';
    const heapEnd = machine ? machine.domainHeapFree.reduce((end, r) => Math.max(end, r.mfn + r.count), 0) : 0;
    if (machine && heapEnd > U32_NAMEABLE_FRAMES) {
      limit = Math.min(abstract, alignedBlocksBelow(machine.domainHeapFree, EXTENT_SIZE, U32_NAMEABLE_FRAMES) * EXTENT_SIZE);
      detail = `u32 mfns name frames below 0xFFFFFFFF (16 TiB) only: ${sz(limit)} of the domain heap's extents lie there`;
    }
    constraints.push({ name: 'entry-width', limitBytes: limit, binds: false, remedy: 'wider-entries', detail });
  }

  // hpt-block: dom0's hash table is one Xen-heap block (htab_alloc: alloc_xenheap_pages(order),
  // xen/arch/powerpc/shadow.c:38-52 @ 1aa3c54a31^): at most 2^MAX_ORDER pages, and at most the
  // Xen heap's largest block (the heap is 16 MiB + RAM/32, xen/arch/powerpc/memory.c:140-144 @ 1aa3c54a31^).
  {
    const block = machine ? Math.min(MAX_BLOCK_BYTES, machine.largestXenHeapBlockBytes) : MAX_BLOCK_BYTES;
    const byOrder = block === MAX_BLOCK_BYTES;
    const fixed = input.hptOverrideMiB ? hptBytesForMiB(input.hptOverrideMiB) : undefined;
    const limit = fixed === undefined ? largestDom0ForHptBlock(block) : fixed <= block ? null : 0;
    if (fixed !== undefined) constraints.push({
      name: 'hpt-block',
      limitBytes: limit,
      binds: false,
      remedy: byOrder ? 'none' : 'more-ram',
      detail: `the hash table is set to ${sz(fixed)}, one Xen-heap block: ${limit === null ? 'it fits' : 'it does not fit'} in the largest, ${sz(block)}`,
    });
    else constraints.push({
      name: 'hpt-block',
      limitBytes: limit,
      binds: false,
      remedy: byOrder ? 'none' : 'more-ram',
      detail: byOrder
        ? 'the hash table (dom0/64 in whole MiB, up to a power of two) is one Xen-heap block: at most 4 GiB (MAX_ORDER 20)'
        : `the hash table (dom0/64 in whole MiB, up to a power of two) is one Xen-heap block: the ${sz(machine!.xenHeapBytes)} Xen heap's largest is ${sz(block)}`,
    });
  }

  // machine-ram: the RMA and the 16 MiB extents come from the domain heap's free aligned blocks.
  if (machine) {
    const extents = alignedBlocks(machine.domainHeapFree, EXTENT_SIZE);
    const limit = extents * EXTENT_SIZE;
    constraints.push({ name: 'machine-ram', limitBytes: limit, binds: false, remedy: 'more-ram', detail: `${sz(machine.ramBytes)} of RAM: ${extents} whole 16 MiB extents free after Xen and its ${sz(machine.xenHeapBytes)} heap (the RMA's included)` });
  } else {
    constraints.push({ name: 'machine-ram', limitBytes: null, binds: false, remedy: 'more-ram', detail: 'no machine given' });
  }

  let binding = constraints[0];
  let least = Infinity;
  for (const c of constraints) {
    if (c.limitBytes !== null && c.limitBytes < least) {
      least = c.limitBytes;
      binding = c;
    }
  }
  binding.binds = true;
  return {
    rmaSize,
    p2mStart,
    sharedInfoStart,
    entrySize,
    hole,
    capacityEntries,
    spanBytes,
    spanRamBytes,
    flatTableMaxBytes,
    skipHoleMaxBytes,
    buildable: rmaOk,
    maxDom0Bytes: rmaOk ? least : null,
    constraints,
    binding: binding.name,
  };
}

function largestAlignedBlock(free: FrameRange[]): number {
  let best = 0;
  for (let o = MAX_ORDER; o >= 0 && best === 0; o--) if (alignedBlocks(free, 2 ** o * PAGE_SIZE) > 0) best = 2 ** o * PAGE_SIZE;
  return best;
}

/**
 * The constraints a dom0 of `memBytes` breaks, the first a growing dom0 breaks
 * first (the smallest limit: the binding one); ties keep the listed order.
 */
export function brokenConstraints(l: Dom0Limits, memBytes: number): Constraint[] {
  return l.constraints.filter((c) => c.limitBytes !== null && memBytes > c.limitBytes).sort((a, b) => a.limitBytes! - b.limitBytes!);
}

/**
 * The smallest RMA size (of `sizes`, ascending) whose layout holds a dom0 of
 * memBytes under every constraint; `inputFor` gives a size's input, or
 * undefined where that layout has no room for a table.
 */
export function minimumRma(memBytes: number, sizes: readonly number[], inputFor: (rmaSize: number) => Dom0LimitsInput | undefined): number | undefined {
  for (const size of sizes) {
    const inp = inputFor(size);
    if (!inp) continue;
    const l = dom0Limits(inp);
    // construct makes dom0 at least its RMA.
    if (l.maxDom0Bytes !== null && l.maxDom0Bytes >= Math.max(memBytes, size)) return size;
  }
  return undefined;
}
