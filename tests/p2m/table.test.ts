import { INVALID_MFN } from '../../src/machine/constants';
import { CHUNK_SIZE, GuestMemory } from '../../src/machine/guest_memory';
import { P2mTable } from '../../src/p2m/table';
import { MiB } from '../../src/util/size';

describe('P2mTable in the RMA bytes', () => {
  it('stores big-endian u32 mfns exactly where the guest reads them', () => {
    const mem = new GuestMemory(64 * MiB);
    const t = new P2mTable(mem, 33 * MiB, 16);
    t.fillRun(0, 0x12345678, 2);
    expect(Array.from(mem.read(33 * MiB, 8))).toEqual([0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x79]);
    expect(t.get(1)).toBe(0x12345679);
    expect(t.get(99)).toBe(INVALID_MFN);
  });

  it('fills runs that straddle 1 MiB chunk boundaries', () => {
    const mem = new GuestMemory(64 * MiB);
    const base = CHUNK_SIZE - 8; // two entries in the first chunk, the rest in the next
    const t = new P2mTable(mem, base, 4096);
    t.fillRun(0, 0x100000, 4096);
    for (const pfn of [0, 1, 2, 3, 4095]) expect(t.get(pfn)).toBe(0x100000 + pfn);
    expect(mem.readU32(CHUNK_SIZE)).toBe(0x100002);
  });

  it('fills runs that start mid-way through a 256-frame group', () => {
    const mem = new GuestMemory(4 * MiB);
    const t = new P2mTable(mem, 4096, 1000);
    t.fillRun(3, 0x1234f0, 600);
    const raw = Buffer.from(t.raw());
    for (let i = 0; i < 600; i++) expect(raw.readUInt32BE((3 + i) * 4)).toBe(0x1234f0 + i);
    expect(raw.readUInt32BE(0)).toBe(0);
    expect(raw.readUInt32BE(603 * 4)).toBe(0);
  });

  it('coalesces runs and marks invalid ones', () => {
    const mem = new GuestMemory(64 * MiB);
    const t = new P2mTable(mem, 0, 20);
    t.invalidate(0, 20);
    t.fillRun(0, 100, 4);
    t.fillRun(4, 104, 2);
    t.fillRun(6, 500, 2);
    t.set(19, 7);
    expect(t.runs()).toEqual([
      { pfn: 0, mfn: 100, count: 6 },
      { pfn: 6, mfn: 500, count: 2 },
      { pfn: 8, mfn: INVALID_MFN, count: 11 },
      { pfn: 19, mfn: 7, count: 1 },
    ]);
    expect(t.runs(5, 9)).toEqual([{ pfn: 5, mfn: 105, count: 1 }, { pfn: 6, mfn: 500, count: 2 }, { pfn: 8, mfn: INVALID_MFN, count: 1 }]);
    expect(t.countValid()).toBe(9);
    expect(t.raw().length).toBe(80);
  });

  it('refuses entries outside the table', () => {
    const t = new P2mTable(new GuestMemory(MiB), 0, 4);
    expect(() => t.fillRun(2, 1, 3)).toThrow(RangeError);
    expect(() => new P2mTable(new GuestMemory(MiB), MiB - 4, 2)).toThrow(RangeError);
  });
});
