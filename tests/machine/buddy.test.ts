import { BuddyHeap } from '../../src/machine/buddy';
import { IO_HOLE_END_MFN, IO_HOLE_START_MFN, MAX_ORDER } from '../../src/machine/constants';

describe('BuddyHeap', () => {
  it('carves a range into maximal naturally aligned blocks', () => {
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 3, count: 13 }); // 3, 4-7, 8-15
    expect(h.free[0]).toEqual([3]);
    expect(h.free[2]).toEqual([4]);
    expect(h.free[3]).toEqual([8]);
    expect(h.freeCount).toBe(13);
  });

  it('hands out naturally aligned blocks of the smallest order that serves, as Xen splits them', () => {
    // Was [0, 2^16) lowest first; mfn 0 has no zone in Xen, so [2^16, 2^17), one order-16
    // block in zone 16. alloc_heap_pages (page_alloc.c:393-398 @ a046da3892) keeps the lower
    // halves 0x10000 o15, 0x18000 o14, 0x1c000 o13, 0x1e000 o12 and returns the top 0x1f000;
    // then list 12's head 0x1e000; then list 14's head 0x18000.
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 1 << 16, count: 1 << 16 });
    const a = h.alloc(12)!;
    const b = h.alloc(12)!;
    const c = h.alloc(14)!;
    expect([a, b, c]).toEqual([0x1f000, 0x1e000, 0x18000]);
    for (const [m, o] of [[a, 12], [b, 12], [c, 14]]) expect(m % 2 ** o).toBe(0);
    expect(h.freeCount).toBe((1 << 16) - 4096 * 2 - 16384);
  });

  it('is deterministic, and every block it hands out is aligned, disjoint, inside the ranges and counted', () => {
    // Any correct allocator, whatever its order: two fresh heaps fed the same ranges give the
    // same sequence, and each block must satisfy the rules below (figures by hand).
    const ranges = [{ mfn: 100, count: 50000 }, { mfn: 0x40000, count: 0x2345 }];
    const inside = (m: number, n: number): boolean => ranges.some((r) => m >= r.mfn && m + n <= r.mfn + r.count);
    const orders = [5, 0, 12, 3, 12, 7, 13, 0];
    const sizes = [32, 1, 4096, 8, 4096, 128, 8192, 1];
    // freeCount: 50000 + 0x2345 (9029) = 59029 at the start, then minus each size in turn.
    const counts = [58997, 58996, 54900, 54892, 50796, 50668, 42476, 42475];
    const seq = (): { got: number[]; free: number[]; start: number } => {
      const h = new BuddyHeap('t');
      for (const r of ranges) h.addRange(r);
      const start = h.freeCount;
      const got: number[] = [];
      const free: number[] = [];
      for (const o of orders) {
        got.push(h.alloc(o)!);
        free.push(h.freeCount);
      }
      return { got, free, start };
    };
    const a = seq();
    const b = seq();
    expect(a.got).toEqual(b.got);
    expect(a.start).toBe(59029);
    expect(a.free).toEqual(counts);
    const taken: [number, number][] = [];
    a.got.forEach((m, i) => {
      const n = sizes[i];
      expect(typeof m).toBe('number');
      expect(m % n).toBe(0); // naturally aligned
      expect(inside(m, n)).toBe(true); // within one range: [100, 50100) or [0x40000, 0x42345)
      for (const [s0, n0] of taken) expect(m + n <= s0 || s0 + n0 <= m).toBe(true); // disjoint
      taken.push([m, n]);
    });
  });

  it('merges freed buddies back into the original block', () => {
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 1 << 12, count: 1 << 12 }); // not at mfn 0, which has no zone
    const blocks = Array.from({ length: 16 }, () => h.alloc(8)!);
    expect(h.alloc(0)).toBeUndefined();
    blocks.reverse().forEach((m) => h.freeBlock(m, 8));
    expect(h.free[12]).toEqual([1 << 12]);
    expect(h.freeCount).toBe(1 << 12);
  });

  it('never builds a block across the IO hole', () => {
    const h = new BuddyHeap('t');
    h.addRange({ mfn: IO_HOLE_START_MFN - 4096, count: 4096 });
    h.addRange({ mfn: IO_HOLE_END_MFN, count: 4096 });
    for (let o = 13; o <= MAX_ORDER; o++) expect(h.free[o]).toEqual([]);
    const got = [h.alloc(12)!, h.alloc(12)!];
    for (const m of got) expect(m < IO_HOLE_START_MFN || m >= IO_HOLE_END_MFN).toBe(true);
    expect(h.alloc(12)).toBeUndefined();
  });

  // A double free is refused: tests/machine/page_alloc.test.ts covers it with the unaligned case.
});
