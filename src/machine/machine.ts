import { FitError, UsageError } from '../util/errors';
import { formatSize } from '../util/size';
import { BuddyHeap } from './buddy';
import { PAGE_SIZE, XENHEAP_DEFAULT_MB } from './constants';
import { FrameTable } from './frames';
import { FrameRange, isIoHoleMfn, ramRanges } from './memmap';
import type { MachineProfile } from './profile';

/**
 * The simulated PPC970 machine after Xen has booted on it: RAM around the IO
 * hole, Xen's low memory, the Xen heap (16 MiB + RAM/32, where hash tables and
 * shadow p2m tables come from) and the domain heap (everything else), plus who
 * owns each frame and the page references foreign mappings hold.
 */
export class Machine {
  constructor(
    readonly profile: MachineProfile,
    readonly ram: FrameRange[],
    readonly xenHeapRanges: FrameRange[],
    readonly xenHeap: BuddyHeap,
    readonly domHeap: BuddyHeap,
    readonly frames: FrameTable,
    /** Extra page references (foreign mappings), mfn -> count. */
    readonly pageRefs: Map<number, number> = new Map(),
  ) {}

  /** Boot Xen on a fresh machine. */
  static boot(profile: MachineProfile): Machine {
    const ram = ramRanges(profile.ram);
    const frames = new FrameTable();
    const xenLowPages = profile.xenLowMemory / PAGE_SIZE;
    frames.assign(0, xenLowPages, 'xen', 'xen');
    // Xen's area ends at xenheap_megabytes (16) MiB + RAM/32, counted from 0 with
    // Xen's image inside it (xen/arch/powerpc/memory.c:140-146 @ 1aa3c54a31^): the
    // Xen heap is what follows Xen's low memory up to there. On a machine whose area
    // would pass 2 GiB, Xen panics ("xenheap spans LMB", memory.c:81-83); the model
    // carries the heap on past the hole instead (docs/heap.md).
    const xenAreaPages = XENHEAP_DEFAULT_MB * 256 + profile.ram / 32 / PAGE_SIZE;
    const xenHeapPages = xenAreaPages - xenLowPages;
    if (xenHeapPages <= 0) throw new UsageError(`machine profile ${profile.name}: Xen's low memory (${formatSize(profile.xenLowMemory)}) fills its whole area of 16 MiB + RAM/32`, ['profile-ram']);
    const xenHeapRanges = takeRanges(ram, xenLowPages, xenHeapPages);
    const xenHeap = new BuddyHeap('xen heap', 'xen zone');
    xenHeapRanges.forEach((r) => xenHeap.addRange(r));
    const heapEnd = xenHeapRanges[xenHeapRanges.length - 1];
    const domStart = heapEnd.mfn + heapEnd.count;
    const domHeap = new BuddyHeap('domain heap');
    for (const r of ram) {
      const start = Math.max(r.mfn, domStart);
      if (start < r.mfn + r.count) domHeap.addRange({ mfn: start, count: r.mfn + r.count - start });
    }
    return new Machine(profile, ram, xenHeapRanges, xenHeap, domHeap, frames);
  }

  get ramPages(): number {
    return this.ram.reduce((n, r) => n + r.count, 0);
  }

  inXenHeap(mfn: number): boolean {
    return this.xenHeapRanges.some((r) => mfn >= r.mfn && mfn < r.mfn + r.count);
  }

  isRam(mfn: number): boolean {
    return this.ram.some((r) => mfn >= r.mfn && mfn < r.mfn + r.count);
  }

  isIo(mfn: number): boolean {
    return isIoHoleMfn(mfn);
  }

  /** Allocate 2^order frames from the domain heap for a domain; FitError when the heap cannot. */
  allocDomainBlock(order: number, owner: number, use: string, what: string): number {
    const mfn = this.domHeap.alloc(order);
    if (mfn === undefined) throw new FitError(`${what}: the domain heap has no free aligned block of ${formatSize(2 ** order * PAGE_SIZE)}; ${this.largestFreeText(this.domHeap)}`, ['more-ram']);
    this.frames.assign(mfn, 2 ** order, owner, use);
    return mfn;
  }

  freeDomainBlock(mfn: number, order: number): void {
    this.frames.release(mfn, 2 ** order);
    this.domHeap.freeBlock(mfn, order);
  }

  /** Allocate 2^order frames from the Xen heap (hash tables, shadow p2m tables). */
  allocXenBlock(order: number, use: string, what: string): number {
    const mfn = this.xenHeap.alloc(order);
    if (mfn === undefined) throw new FitError(`${what}: the Xen heap has no free aligned block of ${formatSize(2 ** order * PAGE_SIZE)}; ${this.largestFreeText(this.xenHeap)}`, 'the Xen heap is 16 MiB + RAM/32');
    this.frames.assign(mfn, 2 ** order, 'xen', use);
    return mfn;
  }

  freeXenBlock(mfn: number, order: number): void {
    this.frames.release(mfn, 2 ** order);
    this.xenHeap.freeBlock(mfn, order);
  }

  largestFreeText(heap: BuddyHeap): string {
    const o = heap.largestFreeOrder();
    return o < 0 ? 'it is empty' : `the largest aligned block free is ${formatSize(2 ** o * PAGE_SIZE)}`;
  }
}

/** The first `pages` RAM frames at or after `from`, as ranges (split by the hole). */
function takeRanges(ram: FrameRange[], from: number, pages: number): FrameRange[] {
  const out: FrameRange[] = [];
  for (const r of ram) {
    if (pages === 0) break;
    const start = Math.max(r.mfn, from);
    const end = r.mfn + r.count;
    if (start >= end) continue;
    const n = Math.min(pages, end - start);
    out.push({ mfn: start, count: n });
    pages -= n;
  }
  if (pages > 0) throw new FitError('the machine has too little RAM for the Xen heap');
  return out;
}
