import { GuestP2m } from '../../src/guest/p2m';
import { CHUNK_SIZE, GuestMemory } from '../../src/machine/guest_memory';
import { INVALID_MFN } from '../../src/machine/constants';
import { P2mTable } from '../../src/p2m/table';

describe("the guest's reads of its own table", () => {
  it('reads big-endian entries out of the RMA bytes, across 1 MiB chunks, ahead or one at a time', () => {
    const mem = new GuestMemory(8 * CHUNK_SIZE);
    const base = CHUNK_SIZE - 64; // the table straddles a chunk boundary
    const table = new P2mTable(mem, base, 200000);
    for (let pfn = 0; pfn < table.entries; pfn++) table.set(pfn, (0x80000000 + pfn * 3) >>> 0);
    const g = new GuestP2m(table);
    expect(g.get(0)).toBe(0x80000000);
    expect(g.get(17)).toBe(0x80000000 + 51);
    g.prefetch(5, 70000);
    let wrong = 0;
    for (let pfn = 0; pfn < table.entries; pfn += 7) if (g.get(pfn) !== table.get(pfn)) wrong++;
    expect(wrong).toBe(0);
    expect(g.get(-1)).toBe(INVALID_MFN);
    expect(g.get(table.entries)).toBe(INVALID_MFN);
    // Raw bytes as stored: big-endian.
    expect([...mem.read(base, 4)]).toEqual([0x80, 0, 0, 0]);
  });

  it('finds where a run breaks', () => {
    const mem = new GuestMemory(4 * CHUNK_SIZE);
    const table = new P2mTable(mem, 4096, 3 * 4096);
    table.fillRun(0, 0x10000, 3 * 4096);
    const g = new GuestP2m(table);
    expect(g.firstBreak(0, 4096)).toBe(-1);
    table.set(4096 + 100, 7);
    expect(new GuestP2m(table).firstBreak(4096, 4096)).toBe(4096 + 100);
    table.invalidate(8192, 1);
    expect(new GuestP2m(table).firstBreak(8192, 4096)).toBe(8192);
  });
});
