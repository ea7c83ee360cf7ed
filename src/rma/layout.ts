import { PAGE_SIZE } from '../machine/constants';
import { FitError, UsageError } from '../util/errors';
import { alignUp, formatSize, hex, MiB } from '../util/size';

/** Where the p2m table goes inside the RMA (docs/rma-layout.md). */
export type P2mPlacement = { kind: 'after-of' } | { kind: 'end' } | { kind: 'at'; address: number };

export const DEFAULT_OF_AT = 32 * MiB;
/** Room the 64-bit ABI keeps below the stack pointer (STACK_FRAME_OVERHEAD). */
export const STACK_FRAME_OVERHEAD = 112;

/** A region of the RMA in guest-physical bytes [start, end). */
export interface Region { name: string; start: number; end: number }

export interface RmaLayoutInput {
  rmaSize: number;
  ofAt: number;
  firmwareImage: number;
  devtreeSlot: number;
  kernelSize: number;
  initrdSize: number;
  placement: P2mPlacement;
  /** Entries the table holds (the domain's max pages). */
  entries: number;
  entrySize?: number;
}

/** Where a domU's special pages and images sit in its RMA (guest-physical, bytes). */
export interface DomuLayout {
  rmaSize: number;
  kernel: { start: number; end: number };
  devtree: { start: number; end: number };
  xenstore: { start: number; end: number };
  console: { start: number; end: number };
  sharedInfo: { start: number; end: number };
}

export interface RmaLayout {
  rmaSize: number;
  kernel: Region;
  initrd?: Region;
  firmware: Region;
  devtree: Region;
  p2m: Region;
  sharedInfo: Region;
  /** r1 at entry: just below the OF handler. */
  stackPointer: number;
  /** Entries the table could hold where it is placed (the platform limit). */
  capacityEntries: number;
}


export function placementName(p: P2mPlacement): string {
  return p.kind === 'at' ? hex(p.address) : p.kind;
}

/** The fixed regions (everything but the table), from the OF area and images. */
function fixedRegions(inp: RmaLayoutInput): { kernel: Region; initrd?: Region; firmware: Region; devtree: Region; sharedInfo: Region } {
  if (inp.ofAt % PAGE_SIZE !== 0) throw new UsageError(`the OF area's address ${hex(inp.ofAt)} is not page aligned`, ['page-aligned-address']);
  const kernel = { name: 'kernel', start: 0, end: alignUp(inp.kernelSize, PAGE_SIZE) };
  const initrd = inp.initrdSize > 0 ? { name: 'initrd', start: kernel.end, end: kernel.end + alignUp(inp.initrdSize, PAGE_SIZE) } : undefined;
  const firmware = { name: 'firmware', start: inp.ofAt, end: inp.ofAt + alignUp(inp.firmwareImage, PAGE_SIZE) };
  // Xen leaves a page for the handler's bss, then the device tree (domain_build.c).
  const dtStart = alignUp(firmware.end + PAGE_SIZE, PAGE_SIZE);
  const devtree = { name: 'device tree', start: dtStart, end: dtStart + alignUp(inp.devtreeSlot, PAGE_SIZE) };
  const sharedInfo = { name: 'shared_info', start: inp.rmaSize - PAGE_SIZE, end: inp.rmaSize };
  return { kernel, initrd, firmware, devtree, sharedInfo };
}

/** Where the table starts for a placement, before its size is known for `end`. */
export function p2mStartFor(inp: RmaLayoutInput, tableBytes: number): number {
  if (inp.placement.kind === 'at' && inp.placement.address % PAGE_SIZE !== 0) {
    throw new UsageError(`p2m address ${hex(inp.placement.address)} is not page aligned`, ['page-aligned-address']);
  }
  const f = fixedRegions(inp);
  switch (inp.placement.kind) {
    case 'after-of': return f.devtree.end;
    case 'end': return f.sharedInfo.start - tableBytes;
    case 'at': return inp.placement.address;
  }
}

/**
 * Lay out dom0's RMA: kernel and initrd from 0, the OF area (firmware, a page
 * of bss, the device tree slot), shared_info in the last page, and the p2m
 * table placed by strategy. Every region must be inside the RMA and no two
 * may overlap: the error names both.
 */
export function layoutRma(inp: RmaLayoutInput): RmaLayout {
  const entrySize = inp.entrySize ?? 4;
  const f = fixedRegions(inp);
  const tableBytes = alignUp(inp.entries * entrySize, PAGE_SIZE);
  const start = p2mStartFor(inp, tableBytes);
  const p2m = { name: 'p2m table', start, end: start + tableBytes };
  const regions = [f.kernel, f.initrd, f.firmware, f.devtree, p2m, f.sharedInfo].filter((r): r is Region => !!r);
  for (const r of regions) {
    if (r.start < 0 || r.end > inp.rmaSize) {
      throw new FitError(`${r.name} [${hex(r.start)}, ${hex(r.end)}) does not fit in the ${formatSize(inp.rmaSize)} RMA`, r.name === 'p2m table' ? ['smaller-max-mem', 'other-placement', 'larger-rma'] : ['larger-rma', 'higher-of-at']);
    }
  }
  // Kernel and initrd end below the OF area (docs/rma-layout.md).
  for (const r of [f.kernel, f.initrd]) {
    if (r && r.end > f.firmware.start) throw new FitError(`${r.name} [${hex(r.start)}, ${hex(r.end)}) does not end below the OF area at ${hex(f.firmware.start)}`, ['smaller-image', 'higher-of-at']);
  }
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const a = regions[i];
      const b = regions[j];
      if (a.start < b.end && b.start < a.end && a.end > a.start && b.end > b.start) {
        throw new FitError(`${a.name} [${hex(a.start)}, ${hex(a.end)}) overlaps ${b.name} [${hex(b.start)}, ${hex(b.end)})`, ['other-placement', 'higher-of-at']);
      }
    }
  }
  return {
    rmaSize: inp.rmaSize,
    ...f,
    p2m,
    stackPointer: f.firmware.start - STACK_FRAME_OVERHEAD,
    capacityEntries: capacityAt(inp, start, entrySize),
  };
}

/**
 * Entries a table starting at `start` can hold before the next fixed region
 * (for `end` placement: from the OF area's end, or the kernel's, up to shared_info).
 */
export function capacityAt(inp: RmaLayoutInput, start: number, entrySize = 4): number {
  const f = fixedRegions(inp);
  const fixed = [f.kernel, f.initrd, f.firmware, f.devtree, f.sharedInfo].filter((r): r is Region => !!r);
  let from = start;
  if (inp.placement.kind === 'end') {
    // Grows down from shared_info to the highest fixed region below it.
    from = Math.max(...fixed.filter((r) => r !== f.sharedInfo && r.end <= f.sharedInfo.start).map((r) => r.end));
  }
  const next = Math.min(...fixed.filter((r) => r.start >= from && r.end > r.start).map((r) => r.start), inp.rmaSize);
  return Math.max(0, Math.floor((next - from) / entrySize));
}

/** The platform's limit for a placement: entries it can hold, before the table's own size is known. */
export function placementCapacity(inp: Omit<RmaLayoutInput, 'entries'>, entrySize = 4): number {
  const full: RmaLayoutInput = { ...inp, entries: 0 };
  return capacityAt(full, p2mStartFor(full, 0), entrySize);
}
