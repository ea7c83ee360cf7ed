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

  it('hands out the lowest naturally aligned block of the smallest order that serves', () => {
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 0, count: 1 << 16 });
    const a = h.alloc(12)!;
    const b = h.alloc(12)!;
    const c = h.alloc(14)!;
    expect([a, b, c]).toEqual([0, 4096, 16384]);
    for (const [m, o] of [[a, 12], [b, 12], [c, 14]]) expect(m % 2 ** o).toBe(0);
    expect(h.freeCount).toBe((1 << 16) - 4096 * 2 - 16384);
  });

  it('is deterministic', () => {
    const seq = (): number[] => {
      const h = new BuddyHeap('t');
      h.addRange({ mfn: 100, count: 50000 });
      return [5, 0, 12, 3, 12, 7].map((o) => h.alloc(o)!);
    };
    expect(seq()).toEqual(seq());
  });

  it('merges freed buddies back into the original block', () => {
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 0, count: 1 << 12 });
    const blocks = Array.from({ length: 16 }, () => h.alloc(8)!);
    expect(h.alloc(0)).toBeUndefined();
    blocks.reverse().forEach((m) => h.freeBlock(m, 8));
    expect(h.free[12]).toEqual([0]);
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

  it('refuses a double free', () => {
    const h = new BuddyHeap('t');
    h.addRange({ mfn: 0, count: 16 });
    const m = h.alloc(2)!;
    h.freeBlock(m, 2);
    expect(() => h.freeBlock(m, 2)).toThrow(/freed twice/);
  });
});
