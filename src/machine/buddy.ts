import { MAX_ORDER } from './constants';
import type { FrameRange } from './memmap';

/**
 * A binary buddy allocator over machine frames, as Xen's page_alloc.c keeps
 * its heaps: free lists per order 0..MAX_ORDER, every block naturally aligned
 * to its size. Allocation is deterministic: the smallest order that can serve
 * the request, and within it the lowest address. Ranges given to it never
 * span the IO hole, and a block can only merge with a free buddy, so no block
 * ever crosses the hole.
 */
export class BuddyHeap {
  /** free[order] = sorted start mfns of free blocks of that order. */
  readonly free: number[][];
  private freePages = 0;

  constructor(readonly name: string) {
    this.free = Array.from({ length: MAX_ORDER + 1 }, () => []);
  }

  static fromFreeLists(name: string, lists: number[][]): BuddyHeap {
    const heap = new BuddyHeap(name);
    lists.forEach((list, order) => {
      for (const mfn of list) heap.insert(order, mfn);
    });
    return heap;
  }

  /** Hand a range of frames to the heap, carved into maximal aligned blocks. */
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

  /** Largest order with a free block, or -1 when the heap is empty. */
  largestFreeOrder(): number {
    for (let o = MAX_ORDER; o >= 0; o--) if (this.free[o].length) return o;
    return -1;
  }

  /** Allocate one naturally aligned block of 2^order frames; undefined when none. */
  alloc(order: number): number | undefined {
    if (order < 0 || order > MAX_ORDER) return undefined;
    let o = order;
    while (o <= MAX_ORDER && this.free[o].length === 0) o++;
    if (o > MAX_ORDER) return undefined;
    const mfn = this.free[o].shift()!;
    this.freePages -= 2 ** o;
    // Split down, giving the upper halves back: the caller gets the lowest block.
    while (o > order) {
      o--;
      this.insert(o, mfn + 2 ** o);
    }
    return mfn;
  }

  /** Return a block, merging with its buddy while the buddy is free. */
  freeBlock(mfn: number, order: number): void {
    if (mfn % 2 ** order !== 0) throw new Error(`${this.name}: freeing unaligned block ${mfn} order ${order}`);
    if (this.overlapsFree(mfn, order)) throw new Error(`${this.name}: block ${mfn} order ${order} freed twice`);
    while (order < MAX_ORDER) {
      const buddy = mfn ^ (2 ** order);
      const list = this.free[order];
      const at = lowerBound(list, buddy);
      if (list[at] !== buddy) break;
      list.splice(at, 1);
      this.freePages -= 2 ** order;
      mfn = Math.min(mfn, buddy);
      order++;
    }
    this.insert(order, mfn);
  }

  /** Does any free block share a frame with [mfn, mfn + 2^order)? */
  overlapsFree(mfn: number, order: number): boolean {
    const end = mfn + 2 ** order;
    for (let o = 0; o <= MAX_ORDER; o++) {
      const list = this.free[o];
      // A free block of order o overlaps if it starts in [mfn - 2^o + 1, end).
      const at = lowerBound(list, mfn - 2 ** o + 1);
      if (at < list.length && list[at] < end) return true;
    }
    return false;
  }

  /** Free page count per order, for `inspect machine`. */
  histogram(): number[] {
    return this.free.map((l) => l.length);
  }

  private insert(order: number, mfn: number): void {
    const list = this.free[order];
    const at = lowerBound(list, mfn);
    if (list[at] === mfn) throw new Error(`${this.name}: block ${mfn} order ${order} freed twice`);
    list.splice(at, 0, mfn);
    this.freePages += 2 ** order;
  }
}

function lowerBound(list: number[], v: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
