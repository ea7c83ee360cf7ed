import { CheckError } from '../util/errors';
import { MAX_ORDER } from './constants';
import type { FrameRange } from './memmap';

/*
 * Xen's binary buddy heap, as xen/common/page_alloc.c @ a046da3892 keeps it
 * (docs/heap.md). Line numbers below are in that file at that commit.
 */

/**
 * NR_ZONES = BITS_PER_LONG - PAGE_SHIFT = 64 - 12 (page_alloc.c:314-318 @ a046da3892;
 * asm-powerpc defines no PADDR_BITS).
 */
export const NR_ZONES = 64 - 12;
/** MEMZONE_XEN (page_alloc.c:313 @ a046da3892): the Xen heap's one zone. */
export const MEMZONE_XEN = 0;

/**
 * How a heap files its blocks:
 *  - 'address bits': the domain heap, zone = fls(mfn) - 1 (pfn_dom_zone_type,
 *    page_alloc.c:320 @ a046da3892), allocations search zones NR_ZONES-1 down
 *    to MEMZONE_XEN + 1 (__alloc_domheap_pages, page_alloc.c:767,796 @ a046da3892);
 *  - 'xen zone': the Xen heap, every block in MEMZONE_XEN
 *    (init_xenheap_pages / alloc_xenheap_pages, page_alloc.c:629,641 @ a046da3892).
 */
export type HeapZones = 'address bits' | 'xen zone';

/** fls(): 1-based index of the highest set bit, 0 for 0 (mfns pass 2^32, so no Math.clz32 alone). */
function fls(n: number): number {
  return n === 0 ? 0 : Math.floor(Math.log2(n)) + 1;
}

/** pfn_dom_zone_type (page_alloc.c:320 @ a046da3892): fls(mfn) - 1. */
export function domZoneOf(mfn: number): number {
  return fls(mfn) - 1;
}

/**
 * A binary buddy allocator over machine frames with Xen's list discipline:
 * per zone, one list per order 0..MAX_ORDER, each kept in Xen's list order
 * (a JS Set keeps insertion order: add is list_add_tail, the first value is
 * the list head). Blocks never merge across the IO hole, because a block
 * only merges with a free buddy and hole frames are never free.
 */
export class BuddyHeap {
  /** lists[zone][order]: block heads in Xen's list order (head first). */
  private readonly lists: (Set<number>[] | undefined)[] = [];
  /** Free block heads -> order: PFN_ORDER of a free page plus its alloc bit. */
  private readonly heads = new Map<number, number>();
  /**
   * inside[L]: (window index mfn / 2^L) -> free pages of blocks of order < L
   * within that aligned 2^L window, so an overlap check is O(MAX_ORDER).
   */
  private readonly inside: Map<number, number>[] = Array.from({ length: MAX_ORDER + 1 }, () => new Map());
  private freePages = 0;

  constructor(readonly name: string, readonly zones: HeapZones = 'address bits') {}

  /**
   * Rebuild from saved lists (see `free`): each order's list is split back
   * into its zones keeping the saved order, so the heap is exactly as saved.
   */
  static fromFreeLists(name: string, lists: number[][], zones: HeapZones = 'address bits'): BuddyHeap {
    const heap = new BuddyHeap(name, zones);
    lists.forEach((list, order) => {
      for (const mfn of list) {
        heap.checkFreeable(mfn, order);
        heap.link(heap.zoneOf(mfn, order), order, mfn);
      }
    });
    return heap;
  }

  /**
   * init_heap_pages (page_alloc.c:468-506 @ a046da3892) and end_boot_allocator
   * (page_alloc.c:529-549): the range's frames freed one by one upward, each
   * free_heap_pages merging only downward (page i+1 is still allocated,
   * page_alloc.c:544-546). That is the same as freeing the range's maximal
   * aligned blocks upward, each as one block: merges inside a block stay
   * inside it until its last frame, and the block then goes on the tail of
   * its final list exactly when its last frame would have.
   */
  addRange(range: FrameRange): void {
    let mfn = range.mfn;
    const end = range.mfn + range.count;
    while (mfn < end) {
      let order = MAX_ORDER;
      while (order > 0 && (mfn % 2 ** order !== 0 || mfn + 2 ** order > end)) order--;
      this.freeBlock(mfn, order);
      mfn += 2 ** order;
    }
  }

  get freeCount(): number {
    return this.freePages;
  }

  /**
   * The free lists as data, per order: the zones from the highest down (the
   * order alloc_heap_pages looks at them), each zone's list head first.
   */
  get free(): number[][] {
    const out: number[][] = Array.from({ length: MAX_ORDER + 1 }, () => []);
    for (let z = this.lists.length - 1; z >= 0; z--) {
      const byOrder = this.lists[z];
      if (!byOrder) continue;
      byOrder.forEach((set, order) => {
        for (const mfn of set) out[order].push(mfn);
      });
    }
    return out;
  }

  /** Largest order with a free block, or -1 when the heap is empty. */
  largestFreeOrder(): number {
    for (let o = MAX_ORDER; o >= 0; o--) if (this.lists.some((z) => z && z[o].size > 0)) return o;
    return -1;
  }

  /**
   * alloc_heap_pages (page_alloc.c:341-407 @ a046da3892): zones from zone_hi
   * down to zone_lo (:365); in the first zone with one, the smallest order
   * >= the request that has a block (:371-374); the head of that list
   * (:389-390). Splitting puts the lower half on the tail of the next list
   * down and keeps splitting the upper half (:393-398), so the caller gets
   * the highest 2^order frames of the block. Undefined when nothing fits.
   */
  alloc(order: number): number | undefined {
    if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER) return undefined; // :354
    const [lo, hi] = this.zones === 'xen zone' ? [MEMZONE_XEN, MEMZONE_XEN] : [MEMZONE_XEN + 1, NR_ZONES - 1];
    for (let zone = Math.min(hi, this.lists.length - 1); zone >= lo; zone--) {
      const byOrder = this.lists[zone];
      if (!byOrder) continue;
      // avail[zone] >= request (:368) holds whenever a list of order >= the request is non-empty.
      for (let j = order; j <= MAX_ORDER; j++) {
        const list = byOrder[j];
        if (list.size === 0) continue;
        let mfn = list.values().next().value as number;
        this.unlink(zone, j, mfn);
        while (j !== order) {
          j--;
          this.link(zone, j, mfn);
          mfn += 2 ** j;
        }
        return mfn;
      }
    }
    return undefined;
  }

  /**
   * free_heap_pages (page_alloc.c:410-459 @ a046da3892): merge with the
   * buddy while it is a free block of the same order (:427-453), then put
   * the merged block on the tail of its list (:455-456).
   */
  freeBlock(mfn: number, order: number): void {
    this.checkFreeable(mfn, order);
    const zone = this.zoneOf(mfn, order);
    while (order < MAX_ORDER) {
      const mask = 2 ** order;
      const buddy = Math.floor(mfn / mask) % 2 === 1 ? mfn - mask : mfn + mask;
      if (this.heads.get(buddy) !== order) break;
      this.unlink(this.zoneOf(buddy, order), order, buddy);
      mfn = Math.min(mfn, buddy);
      order++;
    }
    this.link(zone, order, mfn);
  }

  /** Does any free block share a frame with [mfn, mfn + 2^order)? */
  overlapsFree(mfn: number, order: number): boolean {
    if (mfn % 2 ** order !== 0) {
      // Check the maximal aligned pieces of an unaligned window one by one.
      const end = mfn + 2 ** order;
      for (let at = mfn; at < end;) {
        let o = order;
        while (o > 0 && (at % 2 ** o !== 0 || at + 2 ** o > end)) o--;
        if (this.overlapsFree(at, o)) return true;
        at += 2 ** o;
      }
      return false;
    }
    // A block as large or larger holds the window: its head is the window aligned down.
    for (let o = order; o <= MAX_ORDER; o++) {
      const start = mfn - (mfn % 2 ** o);
      if (this.heads.get(start) === o) return true;
    }
    // Smaller blocks inside the window.
    return order > 0 && (this.inside[order].get(mfn / 2 ** order) ?? 0) > 0;
  }

  /** Free block count per order, for `inspect machine`. */
  histogram(): number[] {
    const out = new Array<number>(MAX_ORDER + 1).fill(0);
    for (const byOrder of this.lists) if (byOrder) byOrder.forEach((set, o) => (out[o] += set.size));
    return out;
  }

  /** The zone a block is filed under. */
  private zoneOf(mfn: number, order: number): number {
    if (this.zones === 'xen zone') return MEMZONE_XEN;
    // pfn_dom_zone_type(0) is -1: Xen has no domain heap zone for mfn 0.
    if (mfn === 0) throw new CheckError(`${this.name}: mfn 0 has no zone (fls(0) - 1 = -1), so it cannot be on the domain heap`);
    const zone = domZoneOf(mfn);
    if (zone >= NR_ZONES) throw new CheckError(`${this.name}: mfn ${mfn} is past the last zone (${NR_ZONES - 1})`);
    // A naturally aligned block at a nonzero mfn never crosses 2^(zone+1); say so if one would.
    if (domZoneOf(mfn + 2 ** order - 1) !== zone) throw new CheckError(`${this.name}: block ${mfn} order ${order} spans two zones`);
    return zone;
  }

  private checkFreeable(mfn: number, order: number): void {
    if (!Number.isSafeInteger(mfn) || mfn < 0 || !Number.isInteger(order) || order < 0 || order > MAX_ORDER) throw new CheckError(`${this.name}: no block ${mfn} of order ${order}`);
    if (mfn % 2 ** order !== 0) throw new CheckError(`${this.name}: freeing unaligned block ${mfn} order ${order}`);
    if (this.overlapsFree(mfn, order)) throw new CheckError(`${this.name}: block ${mfn} order ${order} freed twice`);
  }

  /** list_add_tail onto lists[zone][order]. */
  private link(zone: number, order: number, mfn: number): void {
    let byOrder = this.lists[zone];
    if (!byOrder) {
      while (this.lists.length <= zone) this.lists.push(undefined);
      byOrder = this.lists[zone] = Array.from({ length: MAX_ORDER + 1 }, () => new Set<number>());
    }
    byOrder[order].add(mfn);
    this.heads.set(mfn, order);
    this.count(mfn, order, 2 ** order);
    this.freePages += 2 ** order;
  }

  /** list_del from lists[zone][order]. */
  private unlink(zone: number, order: number, mfn: number): void {
    this.lists[zone]![order].delete(mfn);
    this.heads.delete(mfn);
    this.count(mfn, order, -(2 ** order));
    this.freePages -= 2 ** order;
  }

  private count(mfn: number, order: number, pages: number): void {
    for (let level = order + 1; level <= MAX_ORDER; level++) {
      const at = Math.floor(mfn / 2 ** level);
      const map = this.inside[level];
      const n = (map.get(at) ?? 0) + pages;
      if (n === 0) map.delete(at);
      else map.set(at, n);
    }
  }
}
