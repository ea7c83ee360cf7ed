import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { BuddyHeap, domZoneOf, NR_ZONES } from '../../src/machine/buddy';
import { MAX_ORDER, PAGE_SIZE } from '../../src/machine/constants';
import { Machine } from '../../src/machine/machine';
import type { FrameRange } from '../../src/machine/memmap';
import { parseProfile } from '../../src/machine/profile';
import { GiB, MiB } from '../../src/util/size';

/*
 * Vectors worked out by hand from xen/common/page_alloc.c @ a046da3892
 * (line numbers are that file's). The rules they follow:
 *   zone = fls(mfn) - 1                                    (:320)
 *   alloc: zones from zone_hi down (:365), the smallest order with a block
 *          (:371-374), the list head (:389); a split puts the LOWER half on
 *          the tail of the list one order down and goes on with the upper
 *          half (:393-398), so the caller gets the top of the block
 *   free:  merge while the buddy is a free block of the same order
 *          (:427-453), then list_add_tail (:456)
 *   boot:  end_boot_allocator frees page by page upward (:541-549), each
 *          merge only downward since page i+1 is held (:544-546)
 */

/**
 * A second, page-by-page model of the C, written straight from the lines:
 * an allocation bitmap, PFN_ORDER per page, and arrays as lists. Slow, for
 * small ranges only.
 */
class PageByPage {
  readonly allocated: Uint8Array;
  readonly pfnOrder: Int32Array;
  /** heap[zone][order], head first. */
  readonly heap: number[][][] = Array.from({ length: NR_ZONES }, () => Array.from({ length: MAX_ORDER + 1 }, () => []));

  constructor(readonly maxPage: number) {
    // init_boot_allocator: all allocated, with padding past max_page (:189-195).
    this.allocated = new Uint8Array(maxPage + 64).fill(1);
    this.pfnOrder = new Int32Array(maxPage + 64);
  }

  /** init_boot_pages (:200-212): map_free only. */
  initBootPages(r: FrameRange): void {
    for (let i = r.mfn; i < r.mfn + r.count; i++) this.allocated[i] = 0;
  }

  /** end_boot_allocator (:529-549), one node. */
  endBootAllocator(firstValidMfn: number): void {
    let curr: boolean;
    let next = !this.allocated[firstValidMfn];
    if (next) this.allocated[firstValidMfn] = 1;
    for (let i = firstValidMfn; i < this.maxPage; i++) {
      curr = next;
      next = !this.allocated[i + 1];
      if (next) this.allocated[i + 1] = 1;
      if (curr) this.freeHeapPages(fls(i) - 1, i, 0); // init_heap_pages(zone, pg, 1), :497-499
    }
  }

  /** init_heap_pages (:468-506) for one zone, one node. */
  initHeapPages(zone: number, r: FrameRange): void {
    for (let i = 0; i < r.count; i++) this.freeHeapPages(zone, r.mfn + i, 0);
  }

  /** free_heap_pages (:410-459). */
  freeHeapPages(zone: number, pg: number, order: number): void {
    for (let i = 0; i < 2 ** order; i++) this.allocated[pg + i] = 0; // map_free
    while (order < MAX_ORDER) {
      const mask = 2 ** order;
      if (Math.floor(pg / mask) % 2) {
        if (this.allocated[pg - mask] || this.pfnOrder[pg - mask] !== order) break;
        this.listDel(pg - mask);
        pg -= mask;
      } else {
        if (this.allocated[pg + mask] || this.pfnOrder[pg + mask] !== order) break;
        this.listDel(pg + mask);
      }
      order++;
    }
    this.pfnOrder[pg] = order;
    this.heap[zone][order].push(pg);
  }

  /** alloc_heap_pages (:341-407), one node. */
  allocHeapPages(zoneLo: number, zoneHi: number, order: number): number | undefined {
    for (let zone = zoneHi; zone >= zoneLo; zone--) {
      for (let j = order; j <= MAX_ORDER; j++) {
        const list = this.heap[zone][j];
        if (!list.length) continue;
        let pg = list.shift()!;
        while (j !== order) {
          this.pfnOrder[pg] = --j;
          this.heap[zone][j].push(pg);
          pg += 2 ** j;
        }
        for (let i = 0; i < 2 ** order; i++) this.allocated[pg + i] = 1; // map_alloc
        return pg;
      }
    }
    return undefined;
  }

  private listDel(pg: number): void {
    for (const byOrder of this.heap) {
      for (const list of byOrder) {
        const at = list.indexOf(pg);
        if (at >= 0) {
          list.splice(at, 1);
          return;
        }
      }
    }
    throw new Error(`page ${pg} on no list`);
  }

  /** The same shape as BuddyHeap.free: per order, zones from the highest down, head first. */
  lists(): number[][] {
    const out: number[][] = Array.from({ length: MAX_ORDER + 1 }, () => []);
    for (let z = NR_ZONES - 1; z >= 0; z--) this.heap[z].forEach((l, o) => out[o].push(...l));
    return out;
  }
}

function fls(n: number): number {
  let b = 0;
  while (n >= 2 ** b) b++;
  return b;
}

describe('zones (pfn_dom_zone_type, page_alloc.c:320 @ a046da3892)', () => {
  it('zone = fls(mfn) - 1: the position of the highest set bit', () => {
    expect([1, 2, 3, 4, 0x22000, 0x3ffff, 0x40000, 0x100000, 0x47c000].map(domZoneOf)).toEqual([0, 1, 1, 2, 17, 17, 18, 20, 22]);
    expect(NR_ZONES).toBe(52);
  });

  it('mfn 0 has no domain heap zone (fls(0) - 1 = -1)', () => {
    expect(() => new BuddyHeap('t').addRange({ mfn: 0, count: 1 })).toThrow(/mfn 0 has no zone/);
    expect(() => new BuddyHeap('t', 'xen zone').addRange({ mfn: 0, count: 1 })).not.toThrow();
  });
});

describe('alloc_heap_pages (page_alloc.c:341-407 @ a046da3892)', () => {
  it('splits from the top: the lower halves go back on the lists, the caller gets the highest frames', () => {
    // [8, 16) is one order-3 block in zone 3. alloc(0): 8 leaves as order 2
    // (tail of list 2), 12 as order 1, 14 as order 0; 15 is returned (:393-398).
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 8, count: 8 });
    expect(h.alloc(0)).toBe(15);
    expect(h.free[2]).toEqual([8]);
    expect(h.free[1]).toEqual([12]);
    expect(h.free[0]).toEqual([14]);
    // Then 14 (list 0), 13 (12 split: 12 back on list 0), 12, and 11 (8 split: 8 on 1, 10 on 0).
    expect([h.alloc(0), h.alloc(0), h.alloc(0), h.alloc(0)]).toEqual([14, 13, 12, 11]);
    expect(h.free[1]).toEqual([8]);
    expect(h.free[0]).toEqual([10]);
  });

  it('takes the highest zone with a large enough block before a smaller order in a lower zone', () => {
    // Zone 4 holds [16, 32) as one order-4 block, zone 5 holds [32, 64) as order 5.
    // alloc(4) looks at zone 5 first (:365): it splits 32..63 and returns 48, though
    // zone 4 has an exact fit.
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 16, count: 48 });
    expect(h.alloc(4)).toBe(48);
    expect(h.alloc(4)).toBe(32);
    expect(h.alloc(4)).toBe(16);
    expect(h.alloc(0)).toBeUndefined();
  });

  it('the Xen heap is one zone: smallest order first, then the list head', () => {
    const h = new BuddyHeap('x', 'xen zone');
    h.addRange({ mfn: 0x1000, count: 0x21000 }); // js21's Xen heap
    // Lists after the boot-time frees (ascending): 12 [0x1000], 13 [0x2000, 0x20000],
    // 14 [0x4000], 15 [0x8000], 16 [0x10000].
    expect(h.free[13]).toEqual([0x2000, 0x20000]);
    expect(h.alloc(12)).toBe(0x1000);
    expect(h.alloc(12)).toBe(0x3000); // list 13's head 0x2000 split: 0x2000 back on list 12
    expect(h.alloc(13)).toBe(0x20000);
  });
});

describe('free_heap_pages (page_alloc.c:410-459 @ a046da3892)', () => {
  it('merges with free buddies and puts the result on the tail of its list', () => {
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 16, count: 16 });
    // From the top down: 28, then 24 (list 2's head), 20 (16 split), 16.
    const got = [h.alloc(2), h.alloc(2), h.alloc(2), h.alloc(2)];
    expect(got).toEqual([28, 24, 20, 16]);
    // 20's buddy 16 is allocated: 20 goes on list 2; then 28 on its tail.
    h.freeBlock(20, 2);
    h.freeBlock(28, 2);
    expect(h.free[2]).toEqual([20, 28]);
    // The list is a queue: the first freed is the next handed out.
    expect(h.alloc(2)).toBe(20);
    h.freeBlock(20, 2);
    expect(h.free[2]).toEqual([28, 20]);
    // 16 merges with its successor 20 (:440-447) into order 3; 24's buddy 16..23 is
    // then order 3, so 24 + 28 -> order 3 at 24 -> with 16 -> order 4 at 16.
    h.freeBlock(16, 2);
    expect(h.free[2]).toEqual([28]);
    expect(h.free[3]).toEqual([16]);
    h.freeBlock(24, 2);
    expect(h.free[4]).toEqual([16]);
    expect(h.freeCount).toBe(16);
  });

  it('refuses a double free and an unaligned block', () => {
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 16, count: 16 });
    const m = h.alloc(2)!;
    h.freeBlock(m, 2);
    expect(() => h.freeBlock(m, 2)).toThrow(/freed twice/);
    expect(() => h.freeBlock(17, 0)).toThrow(/freed twice/);
    expect(() => h.freeBlock(18, 2)).toThrow(/unaligned/);
  });
});

describe('end_boot_allocator (page_alloc.c:529-549 @ a046da3892)', () => {
  it('leaves every list in ascending address order, zone by zone', () => {
    // [3, 40): page-by-page upward gives 3 (zone 1), 4..7 (zone 2), 8..15 (zone 3),
    // 16..31 (zone 4), 32..39 (zone 5): each list gets its block when its last page is freed.
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 3, count: 37 });
    expect(h.free[0]).toEqual([3]);
    expect(h.free[2]).toEqual([4]);
    expect(h.free[3]).toEqual([32, 8]); // zone 5 is listed before zone 3
    expect(h.free[4]).toEqual([16]);
    expect(h.freeCount).toBe(37);
  });

  const cases: FrameRange[][] = [
    [{ mfn: 1, count: 100 }],
    [{ mfn: 3, count: 13 }],
    [{ mfn: 37, count: 1000 }],
    [{ mfn: 5, count: 60 }, { mfn: 128, count: 300 }, { mfn: 1024, count: 2048 }],
    [{ mfn: 0x1000, count: 0x3000 }, { mfn: 0x5001, count: 0x2fff }],
  ];

  it.each(cases.map((c) => [c.map((r) => `[${r.mfn}, ${r.mfn + r.count})`).join(' '), c] as const))('the fast derivation agrees with page by page for %s', (_name, ranges) => {
    const fast = new BuddyHeap('t');
    ranges.forEach((r) => fast.addRange(r));
    const maxPage = Math.max(...ranges.map((r) => r.mfn + r.count));
    const slow = new PageByPage(maxPage);
    ranges.forEach((r) => slow.initBootPages(r));
    slow.endBootAllocator(ranges[0].mfn);
    expect(fast.free).toEqual(slow.lists());
  });

  it('agrees with page by page through any run of allocations and frees', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 1500 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 6 }), fc.nat()), { maxLength: 60 }),
        (start, count, ops) => {
          const fast = new BuddyHeap('t');
          fast.addRange({ mfn: start, count });
          const slow = new PageByPage(start + count);
          slow.initBootPages({ mfn: start, count });
          slow.endBootAllocator(start);
          const held: [number, number][] = [];
          for (const [isAlloc, order, pick] of ops) {
            if (isAlloc || held.length === 0) {
              const a = fast.alloc(order);
              expect(a).toBe(slow.allocHeapPages(1, NR_ZONES - 1, order));
              if (a !== undefined) held.push([a, order]);
            } else {
              const [mfn, o] = held.splice(pick % held.length, 1)[0];
              fast.freeBlock(mfn, o);
              slow.freeHeapPages(fls(mfn) - 1, mfn, o);
            }
            expect(fast.free).toEqual(slow.lists());
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a range given after others (init_heap_pages) agrees with page by page too', () => {
    const fast = new BuddyHeap('x', 'xen zone');
    const slow = new PageByPage(200);
    for (const r of [{ mfn: 64, count: 64 }, { mfn: 5, count: 30 }, { mfn: 35, count: 29 }, { mfn: 130, count: 7 }]) {
      fast.addRange(r);
      slow.initHeapPages(0, r);
    }
    expect(fast.free).toEqual(slow.lists());
  });
});

describe('saved free lists', () => {
  it('fromFreeLists restores list order, so later allocations match', () => {
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 16, count: 1000 });
    const held = [h.alloc(3)!, h.alloc(0)!, h.alloc(5)!, h.alloc(2)!];
    h.freeBlock(held[1], 0);
    h.freeBlock(held[3], 2);
    const saved = JSON.parse(JSON.stringify(h.free)) as number[][];
    const back = BuddyHeap.fromFreeLists('t', saved);
    expect(back.free).toEqual(h.free);
    expect(back.freeCount).toBe(h.freeCount);
    const seq = (x: BuddyHeap) => [2, 0, 0, 4, 1, 3].map((o) => x.alloc(o));
    expect(seq(back)).toEqual(seq(h));
  });

  it('refuses lists that overlap', () => {
    expect(() => BuddyHeap.fromFreeLists('t', [[17], [16]])).toThrow(/freed twice/);
  });
});

describe('js21 (16 GiB: RAM [0, 2 GiB) and [4 GiB, 18 GiB))', () => {
  /*
   * Xen low memory [0, 16 MiB) = mfns [0, 0x1000); Xen heap 16 MiB + 16 GiB/32
   * = 528 MiB = mfns [0x1000, 0x22000). Domain heap: [0x22000, 0x80000) and
   * [0x100000, 0x480000). Boot-time frees (:541-549) leave, per zone:
   *   zone 17: 0x22000 o13, 0x24000 o14, 0x28000 o15, 0x30000 o16
   *   zone 18: 0x40000 o18             zone 20: 0x100000 o20
   *   zone 21: 0x200000 o20, 0x300000 o20 (that order)
   *   zone 22: 0x400000 o19 ([16 GiB, 18 GiB))
   * RMA (order 14): zone 22 first (:365); its smallest order >= 14 is 19; the
   * split keeps 0x400000 o18, 0x440000 o17, 0x460000 o16, 0x470000 o15,
   * 0x478000 o14 and returns 0x47c000 (:393-398): [18 GiB - 64 MiB, 18 GiB).
   * First extent (order 12): zone 22's list 14 head 0x478000 splits to 0x478000
   * o13, 0x47a000 o12, returns 0x47b000; then 0x47a000 (list 12's head), 0x479000
   * (0x478000 o13 split), 0x478000, 0x477000 (0x470000 o15 split) ... each 16 MiB
   * below the last. Zone 22 holds 2 GiB - 64 MiB = 124 extents, 0x47b000 down to
   * 0x400000; the 125th comes from zone 21's list 20 head 0x200000, split from
   * the top: 0x2ff000 (12 GiB - 16 MiB).
   */
  const js21 = parseProfile(JSON.parse(fs.readFileSync(path.join(__dirname, '../../fixtures/machines/js21.json'), 'utf8')), 'js21');

  it('boot-time lists as derived', () => {
    const m = Machine.boot(js21);
    const f = m.domHeap.free;
    expect(f[13]).toEqual([0x22000]);
    expect(f[16]).toEqual([0x30000]);
    expect(f[18]).toEqual([0x40000]);
    expect(f[19]).toEqual([0x400000]);
    expect(f[20]).toEqual([0x200000, 0x300000, 0x100000]); // zone 21's list, then zone 20's
  });

  it('the RMA lands at 18 GiB - 64 MiB, the first extents below it, 16 MiB apart, going down', () => {
    const m = Machine.boot(js21);
    const rma = m.domHeap.alloc(14)!;
    expect(rma * PAGE_SIZE).toBe(18 * GiB - 64 * MiB);
    const ext = Array.from({ length: 125 }, () => m.domHeap.alloc(12)!);
    expect(ext.slice(0, 5)).toEqual([0x47b000, 0x47a000, 0x479000, 0x478000, 0x477000]);
    ext.slice(0, 124).forEach((e, i) => expect(e).toBe(0x47b000 - i * 0x1000));
    expect(ext[123]).toBe(0x400000);
    expect(ext[124] * PAGE_SIZE).toBe(12 * GiB - 16 * MiB);
  });
});

describe('a large machine', () => {
  // How fast it boots is the bench's business (npm run bench), not a unit test's.
  it('a 64 GiB machine boots with every frame free or Xen\'s', () => {
    const p = parseProfile({ name: 'big', ram: '64G' }, 'test');
    const m = Machine.boot(p);
    expect(m.domHeap.freeCount + m.xenHeap.freeCount + m.frames.countOwned('xen')).toBe(m.ramPages);
  });
});
