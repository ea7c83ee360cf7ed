import { PAGE_SIZE, IO_HOLE_START_MFN, IO_HOLE_END_MFN } from '../../src/machine/constants';
import { Machine } from '../../src/machine/machine';
import { ramRanges } from '../../src/machine/memmap';
import { parseProfile } from '../../src/machine/profile';
import { FrameTable } from '../../src/machine/frames';
import { EXTENT_PAGES } from '../../src/machine/constants';
import { GiB, MiB } from '../../src/util/size';
import { UsageError } from '../../src/util/errors';

const profile = (ram: string) => parseProfile({ name: 't', ram }, 'test');

describe('RAM around the IO hole', () => {
  it('puts RAM above 2 GiB at 4 GiB', () => {
    expect(ramRanges(16 * GiB)).toEqual([{ mfn: 0, count: (2 * GiB) / PAGE_SIZE }, { mfn: (4 * GiB) / PAGE_SIZE, count: (14 * GiB) / PAGE_SIZE }]);
    expect(ramRanges(2 * GiB)).toEqual([{ mfn: 0, count: (2 * GiB) / PAGE_SIZE }]);
  });
});

describe('Machine.boot', () => {
  it('accounts for every RAM frame: Xen low memory, Xen heap, domain heap', () => {
    for (const ram of ['2G', '16G', '64G']) {
      const m = Machine.boot(profile(ram));
      const xenHeap = m.xenHeapRanges.reduce((n, r) => n + r.count, 0);
      // Xen's area is 16 MiB + RAM/32 from 0, its low memory included (memory.c:140-146).
      expect(xenHeap).toBe((16 * MiB + m.profile.ram / 32 - m.profile.xenLowMemory) / PAGE_SIZE);
      expect(m.frames.countOwned('xen') + m.xenHeap.freeCount + m.domHeap.freeCount).toBe(m.ramPages);
      expect(m.ramPages).toBe(m.profile.ram / PAGE_SIZE);
    }
  });

  it('never hands out IO hole frames', () => {
    const m = Machine.boot(profile('8G'));
    for (const heap of [m.xenHeap, m.domHeap]) {
      heap.free.forEach((list, order) => {
        for (const mfn of list) expect(mfn + 2 ** order <= IO_HOLE_START_MFN || mfn >= IO_HOLE_END_MFN).toBe(true);
      });
    }
  });

  it('refuses profiles that cannot be', () => {
    expect(() => profile('100M')).toThrow(UsageError);
    expect(() => profile('16G+1')).toThrow(UsageError);
    expect(() => parseProfile({ name: 't', ram: '1000000K' }, 'x')).toThrow(/16 MiB extents/);
    expect(() => parseProfile([], 'x')).toThrow(/JSON object/);
  });
});

describe('FrameTable', () => {
  it('tracks owners as runs, merges neighbours and splits on release', () => {
    const t = new FrameTable();
    t.assign(0, 10, 'xen', 'xen');
    t.assign(100, 10, 0, 'extent');
    t.assign(110, 10, 0, 'extent');
    expect(t.all()).toHaveLength(2);
    expect(t.ownerOf(115)).toBe(0);
    expect(t.ownerOf(50)).toBeUndefined();
    t.release(105, 5);
    expect(t.ownerOf(107)).toBeUndefined();
    expect(t.ownerOf(104)).toBe(0);
    expect(t.ownerOf(110)).toBe(0);
    expect(() => t.assign(101, 2, 1, 'x')).toThrow(/already owned/);
    expect(() => t.release(105, 1)).toThrow(/not owned/);
    expect(t.countOwned(0)).toBe(15);
  });

  it('merges a run given just below one of the same owner and use (the heap hands extents out downward)', () => {
    const t = new FrameTable();
    t.assign(120, 10, 0, 'extent');
    t.assign(110, 10, 0, 'extent');
    t.assign(100, 10, 0, 'rma');
    expect(t.all()).toEqual([{ mfn: 100, count: 10, owner: 0, use: 'rma' }, { mfn: 110, count: 20, owner: 0, use: 'extent' }]);
  });

  it('knows which 16 MiB extents one domain owns whole, and forgets it on every change', () => {
    const X = EXTENT_PAGES;
    const t = new FrameTable();
    t.assign(0, X, 'xen', 'xen');
    t.assign(X, X / 2, 0, 'rma'); // extent 1: two runs of dom0 with different uses
    t.assign(X + X / 2, X / 2, 0, 'extent');
    t.assign(2 * X, X - 1, 0, 'extent'); // extent 2: one frame short
    t.assign(3 * X, X / 2, 0, 'extent'); // extent 3: dom0 and dom1
    t.assign(3 * X + X / 2, X / 2, 1, 'extent');
    t.assign(4 * X, 2 * X, 1, 'extent'); // extents 4, 5: dom1's
    expect(t.extentOwnersIfCurrent).toHaveLength(0); // not built before it is asked for
    expect([...t.extentOwners()]).toEqual([-1, 0, -1, -1, 1, 1]);
    expect([...t.extentOwnersIfCurrent]).toEqual([-1, 0, -1, -1, 1, 1]);
    // Any change drops the map; the next build sees it.
    t.release(5 * X + 7, 1);
    expect(t.extentOwnersIfCurrent).toHaveLength(0);
    expect([...t.extentOwners()]).toEqual([-1, 0, -1, -1, 1, -1]);
    t.assign(2 * X + X - 1, 1, 0, 'extent');
    expect(t.extentOwnersIfCurrent).toHaveLength(0);
    expect([...t.extentOwners()]).toEqual([-1, 0, 0, -1, 1, -1]);
    t.release(X, X / 2);
    t.assign(X, X / 2, 1, 'balloon');
    expect([...t.extentOwners()]).toEqual([-1, -1, 0, -1, 1, -1]);
  });

  it('leaves an owner an Int32Array cannot hold as itself out of the extent map', () => {
    const t = FrameTable.fromRuns([
      { mfn: 0, count: EXTENT_PAGES, owner: 2 ** 32, use: 'x' }, // would read back as 0
      { mfn: EXTENT_PAGES, count: EXTENT_PAGES, owner: -1, use: 'x' },
      { mfn: 2 * EXTENT_PAGES, count: EXTENT_PAGES, owner: 0.5, use: 'x' },
      { mfn: 3 * EXTENT_PAGES, count: EXTENT_PAGES, owner: 3, use: 'x' },
    ]);
    expect([...t.extentOwners()]).toEqual([-1, -1, -1, 3]);
  });
});

