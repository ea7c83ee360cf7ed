import { PAGE_SIZE } from '../../src/machine/constants';
import { MiB } from '../../src/util/size';
import { cli, tempDir } from '../helpers/cli';

const domHeap = async (cwd: string): Promise<number> => JSON.parse((await cli(['inspect', 'machine', '--json'], { cwd })).out).domainHeap.freePages;
const p2m = async (cwd: string, domid = 0): Promise<{ table: { usedEntries: number; entries: number }; runs: { pfn: number; count: number; mfn: number | null; owner: string }[] }> =>
  (({ table, runs }) => ({ table, runs: runs.map((r: { pfns: { start: number; end: number }; mfns: { start: number } | null; owner: string }) => ({ pfn: r.pfns.start, count: r.pfns.end - r.pfns.start, mfn: r.mfns === null ? null : r.mfns.start, owner: r.owner })) }))(JSON.parse((await cli(['inspect', 'p2m', '--domid', String(domid), '--json'], { cwd })).out));

describe('balloon', () => {
  it('dom0 with 4 KiB linear pages: down and up keep every pfn mapped once, entries past tot_pages INVALID', async () => {
    const dir = tempDir('balloon4k');
    expect((await cli(['construct', '--mem', '256M', '--linear-page', '4K'], { cwd: dir })).code).toBe(0);
    const h = await domHeap(dir);
    const down = JSON.parse((await cli(['balloon', '--target', '100M', '--json'], { cwd: dir })).out);
    expect(down.releasedPages).toBe((156 * MiB) / PAGE_SIZE);
    expect(down.hptesRemoved).toBe(down.releasedPages);
    expect(await domHeap(dir)).toBe(h + down.releasedPages);
    const t = await p2m(dir);
    expect(t.table.usedEntries).toBe((100 * MiB) / PAGE_SIZE);
    expect(t.runs.filter((r) => r.mfn !== null).every((r) => r.pfn + r.count <= (100 * MiB) / PAGE_SIZE && r.owner === 'dom0')).toBe(true);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
    const up = JSON.parse((await cli(['balloon', '--target', '300M', '--json'], { cwd: dir })).out);
    expect(up.takenPages).toBe((200 * MiB) / PAGE_SIZE);
    expect(up.hptesInserted).toBe(up.takenPages);
    expect(await domHeap(dir)).toBe(h + down.releasedPages - up.takenPages);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
  });

  it('dom0 with 16 MiB pages: a cut large page is re-bolted with 4 KiB pages for what stays', async () => {
    const dir = tempDir('balloon16m');
    expect((await cli(['construct', '--mem', '256M'], { cwd: dir })).code).toBe(0);
    const down = JSON.parse((await cli(['balloon', '--target', '200M', '--json'], { cwd: dir })).out);
    // 200 MiB ends 8 MiB into a 16 MiB page: that page and the three above go; 2048 small pages replace half of it.
    expect(down.hptesRemoved).toBe(4);
    expect(down.hptesInserted).toBe((8 * MiB) / PAGE_SIZE);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
    const up = JSON.parse((await cli(['balloon', '--target', '230M', '--json'], { cwd: dir })).out);
    expect(up.takenPages).toBe((30 * MiB) / PAGE_SIZE);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
    const below = await cli(['balloon', '--target', '32M'], { cwd: dir });
    expect(below.code).toBe(1);
    expect(below.err).toMatch(/RMA stays/);
  });

  it("a domU grows into Xen's table up to --max-mem, and no further", async () => {
    const dir = tempDir('balloondomu');
    expect((await cli(['construct', '--mem', '512M', '--no-boot'], { cwd: dir })).code).toBe(0);
    expect((await cli(['create-domu', '--mem', '128M', '--max-mem', '256M'], { cwd: dir })).code).toBe(0);
    const h = await domHeap(dir);
    const up = JSON.parse((await cli(['balloon', '--domid', '1', '--target', '256M', '--json'], { cwd: dir })).out);
    expect(up.keeper).toBe('xen');
    expect(up.takenPages).toBe((128 * MiB) / PAGE_SIZE);
    expect((await p2m(dir, 1)).table.usedEntries).toBe((256 * MiB) / PAGE_SIZE);
    const over = await cli(['balloon', '--domid', '1', '--target', '257M'], { cwd: dir });
    expect(over.code).toBe(1);
    expect(over.err).toMatch(/Xen's p2m for dom1 holds 65536 entries, 256 MiB at most/);
    const down = JSON.parse((await cli(['balloon', '--domid', '1', '--target', '96M', '--json'], { cwd: dir })).out);
    expect(down.releasedPages).toBe((160 * MiB) / PAGE_SIZE);
    expect(await domHeap(dir)).toBe(h - up.takenPages + down.releasedPages);
    expect((await cli(['destroy-domu', '--domid', '1'], { cwd: dir })).code).toBe(0);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
  });
});
