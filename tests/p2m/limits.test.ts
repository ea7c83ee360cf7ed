import { MAX_ORDER, PAGE_SIZE } from '../../src/machine/constants';
import { Machine } from '../../src/machine/machine';
import type { MachineProfile } from '../../src/machine/profile';
import { brokenConstraints, dom0Limits, dom0MapHole, largestDom0ForHptBlock, limitFigures, machineFacts, minimumRma, PLATFORM_IO_HOLE } from '../../src/p2m/limits';
import { dom0HptBytes } from '../../src/hpt/size';
import { GiB, MiB, TiB } from '../../src/util/size';

const profile = (ram: number): MachineProfile => ({ name: 't', description: 't', cpu: 'PPC970MP', ram, xenLowMemory: 16 * MiB, firmwareImage: 64 * 1024, devtreeSlot: 64 * 1024 });
const facts = (ram: number) => machineFacts(Machine.boot(profile(ram)));
const byName = (l: ReturnType<typeof dom0Limits>, n: string) => l.constraints.find((c) => c.name === n)!;

describe('the raw table figures', () => {
  it('64 MiB RMA, table at 32 MiB: 8 Mi entries to the end, 8,387,584 up to shared_info', () => {
    const f = limitFigures(64 * MiB, 32 * MiB);
    expect(f.wholeRestEntries).toBe(8 * 1024 * 1024); // 32 MiB / 4 B
    expect(f.wholeRestBytes).toBe(32 * GiB);
    // (64 MiB - 4 KiB - 32 MiB) / 4 = (33,554,432 - 4,096) / 4 = 8,387,584 entries
    expect(f.capacityEntries).toBe(8_387_584);
    expect(f.capacityBytes).toBe(32 * GiB - 4 * MiB); // 8,387,584 x 4 KiB = 32 GiB - 1024 x 4 KiB
  });
});

describe('dom0Limits: the 64 MiB / 32 MiB layout', () => {
  it('with the IO hole: span 32 GiB - 4 MiB, RAM 30 GiB - 4 MiB, max dom0 30 GiB - 16 MiB = 30,704 MiB (not 31,440)', () => {
    const l = dom0Limits({ rmaSize: 64 * MiB, p2mStart: 32 * MiB, hole: PLATFORM_IO_HOLE });
    expect(l.capacityEntries).toBe(8_387_584);
    expect(l.spanBytes).toBe(32 * GiB - 4 * MiB);
    // The span passes 4 GiB, so the 2 GiB hole holds no RAM: 32 GiB - 4 MiB - 2 GiB.
    expect(l.spanRamBytes).toBe(30 * GiB - 4 * MiB);
    // In MiB the RAM is 30 x 1024 - 4 = 30,716; 30,716 / 16 = 1,919.75; 1,919 x 16 = 30,704 MiB = 30 GiB - 16 MiB.
    expect(l.flatTableMaxBytes).toBe(30 * GiB - 16 * MiB);
    expect(l.flatTableMaxBytes / MiB).toBe(30_704);
    expect(byName(l, 'p2m-span').limitBytes).toBe(30 * GiB - 16 * MiB);
    // A table that skipped the hole: the span in whole extents, 32,764 MiB -> 32,752 MiB.
    expect(l.skipHoleMaxBytes).toBe(32 * GiB - 16 * MiB);
    expect(l.skipHoleMaxBytes / MiB).toBe(32_752);
    // No machine: the span binds (the hash table's 4 GiB block allows 256 GiB + 48 MiB).
    expect(l.binding).toBe('p2m-span');
    expect(l.maxDom0Bytes).toBe(30 * GiB - 16 * MiB);
  });

  it('on a flat map (QEMU pseries): max dom0 32 GiB - 16 MiB = 32,752 MiB', () => {
    const l = dom0Limits({ rmaSize: 64 * MiB, p2mStart: 32 * MiB, hole: null });
    expect(l.spanRamBytes).toBe(32 * GiB - 4 * MiB);
    expect(l.flatTableMaxBytes).toBe(32 * GiB - 16 * MiB);
  });

  it('8-byte entries halve the span and lift the entry width', () => {
    const l = dom0Limits({ rmaSize: 64 * MiB, p2mStart: 32 * MiB, hole: PLATFORM_IO_HOLE, entrySize: 8 });
    // (32 MiB - 4 KiB) / 8 = 4,193,792 entries = 16 GiB - 2 MiB; less the hole 14 GiB - 2 MiB; whole extents 14 GiB - 16 MiB.
    expect(l.capacityEntries).toBe(4_193_792);
    expect(l.flatTableMaxBytes).toBe(14 * GiB - 16 * MiB);
    expect(byName(l, 'entry-width').limitBytes).toBeNull();
    const l4 = dom0Limits({ rmaSize: 64 * MiB, p2mStart: 32 * MiB, hole: PLATFORM_IO_HOLE });
    // (2^32 - 1) frames x 4 KiB = 16 TiB - 4 KiB; whole extents: 16 TiB - 16 MiB.
    expect(byName(l4, 'entry-width').limitBytes).toBe(16 * TiB - 16 * MiB);
  });
});

describe('the hash table block', () => {
  it('Xen sizes dom0 tables as (tot_pages >> 14) MiB, at least 1, rounded up to a power of two', () => {
    expect(dom0HptBytes((64 * MiB) / PAGE_SIZE) / PAGE_SIZE).toBe(256); // 1 MiB
    expect(dom0HptBytes((4 * GiB) / PAGE_SIZE) / PAGE_SIZE).toBe(2 ** 14); // 64 MiB
    expect(dom0HptBytes((4 * GiB + 64 * MiB) / PAGE_SIZE) / PAGE_SIZE).toBe(2 ** 15); // 65 MiB -> 128 MiB
  });

  it('inverse: a 4 GiB block holds the table of a dom0 of at most 4097 x 64 MiB - 16 MiB = 256 GiB + 48 MiB', () => {
    const b = 2 ** MAX_ORDER * PAGE_SIZE;
    expect(largestDom0ForHptBlock(b)).toBe(256 * GiB + 48 * MiB);
    // 256 MiB block: M = 2^16 / 256 = 256; 257 x 64 MiB - 16 MiB = 16,432 MiB = 16 GiB + 48 MiB.
    expect(largestDom0ForHptBlock(256 * MiB)).toBe(16 * GiB + 48 * MiB);
    expect(largestDom0ForHptBlock(512 * 1024)).toBe(0);
    // Checked against the forward rule: the limit fits, one extent more does not.
    for (const block of [MiB, 16 * MiB, 256 * MiB, b]) {
      const max = largestDom0ForHptBlock(block);
      expect(dom0HptBytes(max / PAGE_SIZE)).toBeLessThanOrEqual(block);
      expect(dom0HptBytes((max + 16 * MiB) / PAGE_SIZE)).toBeGreaterThan(block);
    }
  });
});

describe('on a machine', () => {
  it('js21 (16 GiB): RAM binds; 64 GiB: the span binds', () => {
    // js21: Xen's area ends at 16 MiB + 16 GiB/32 = 528 MiB (memory.c:140-146), its heap
    // [16 MiB, 528 MiB); the domain heap [528 MiB, 2 GiB) + [4 GiB, 18 GiB) =
    // (2048 - 528)/16 + 14336/16 = 95 + 896 = 991 extents = 15,856 MiB.
    const js21 = dom0Limits({ rmaSize: 64 * MiB, p2mStart: 32 * MiB, hole: PLATFORM_IO_HOLE, machine: facts(16 * GiB) });
    expect(js21.binding).toBe('machine-ram');
    expect(js21.maxDom0Bytes).toBe(15_856 * MiB);
    // The Xen heap's largest block: 256 MiB at [256 MiB, 512 MiB) -> 16 GiB + 48 MiB.
    expect(byName(js21, 'hpt-block').limitBytes).toBe(16 * GiB + 48 * MiB);
    const big = dom0Limits({ rmaSize: 64 * MiB, p2mStart: 32 * MiB, hole: PLATFORM_IO_HOLE, machine: facts(64 * GiB) });
    expect(big.binding).toBe('p2m-span');
    expect(big.maxDom0Bytes).toBe(30 * GiB - 16 * MiB);
  });

  it('1 TiB with a 1 GiB RMA: the hash table block (MAX_ORDER) binds; with 64 MiB, the span', () => {
    const m = facts(1 * TiB);
    const l = dom0Limits({ rmaSize: 1 * GiB, p2mStart: 32 * MiB, hole: PLATFORM_IO_HOLE, machine: m });
    // Span: (1 GiB - 4 KiB - 32 MiB) / 4 x 4 KiB = 992 GiB - 4 MiB; RAM 990 GiB - 4 MiB.
    expect(l.spanBytes).toBe(992 * GiB - 4 * MiB);
    expect(l.binding).toBe('hpt-block');
    expect(l.maxDom0Bytes).toBe(256 * GiB + 48 * MiB);
    const small = dom0Limits({ rmaSize: 64 * MiB, p2mStart: 32 * MiB, hole: PLATFORM_IO_HOLE, machine: m });
    expect(small.binding).toBe('p2m-span');
  });

  it('16 GiB and 256 GiB RMAs are not allocatable (MAX_ORDER 20)', () => {
    for (const rma of [16 * GiB, 256 * GiB]) {
      const l = dom0Limits({ rmaSize: rma, p2mStart: 32 * MiB, hole: PLATFORM_IO_HOLE, machine: facts(1 * TiB) });
      expect(l.buildable).toBe(false);
      expect(l.maxDom0Bytes).toBeNull();
      expect(l.binding).toBe('rma-allocatable');
      expect(byName(l, 'rma-allocatable').detail).toMatch(/not allocatable \(MAX_ORDER 20\)/);
    }
  });

  it('names the first broken constraint (the smallest limit) and the minimum RMA', () => {
    const m = facts(64 * GiB);
    const inputFor = (rma: number) => ({ rmaSize: rma, p2mStart: 32 * MiB, hole: PLATFORM_IO_HOLE, machine: m });
    const l = dom0Limits(inputFor(64 * MiB));
    expect(brokenConstraints(l, 30 * GiB - 16 * MiB)).toHaveLength(0);
    expect(brokenConstraints(l, 30 * GiB).map((c) => c.name)).toEqual(['p2m-span']);
    expect(brokenConstraints(l, 63 * GiB).map((c) => c.name)).toEqual(['p2m-span', 'machine-ram']);
    const sizes = [64 * MiB, 128 * MiB, 256 * MiB, GiB, 16 * GiB, 256 * GiB];
    expect(minimumRma(40 * GiB, sizes, inputFor)).toBe(128 * MiB);
    expect(minimumRma(63 * GiB, sizes, inputFor)).toBeUndefined(); // RAM: no RMA helps
  });

  it('dom0MapHole: a tree with RAM across 2 GiB is flat', () => {
    expect(dom0MapHole([{ address: 0n, size: 8n * BigInt(GiB) }])).toBeNull();
    expect(dom0MapHole([{ address: 0n, size: 2n * BigInt(GiB) }, { address: 4n * BigInt(GiB), size: 14n * BigInt(GiB) }])).toEqual(PLATFORM_IO_HOLE);
  });
});
