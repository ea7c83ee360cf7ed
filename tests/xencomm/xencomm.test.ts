import { PAGE_SIZE } from '../../src/machine/constants';
import { XENCOMM_MAGIC } from '../../src/guest/xencomm';
import { cli, tempDir } from '../helpers/cli';

interface Run { pfn: number; count: number; mfn: number | null }

describe('xencomm: the descriptor dom0 hands Xen', () => {
  let dir: string;
  let runs: Run[];
  beforeAll(async () => {
    dir = tempDir('xencomm');
    expect((await cli(['construct', '--mem', '1G', '--no-boot'], { cwd: dir })).code).toBe(0);
    runs = JSON.parse((await cli(['inspect', 'p2m', '--json'], { cwd: dir })).out).runs.map((r: { pfns: { start: number; end: number }; mfns: { start: number } | null }) => ({ pfn: r.pfns.start, count: r.pfns.end - r.pfns.start, mfn: r.mfns === null ? null : r.mfns.start }));
  });
  const mfnOf = (pfn: number): number => {
    const r = runs.find((x) => pfn >= x.pfn && pfn < x.pfn + x.count)!;
    return r.mfn! + (pfn - r.pfn);
  };

  it('one machine address per page, from dom0\'s own table; the RMA -> extent break is marked', async () => {
    const r = await cli(['xencomm', '--paddr', '0x3ffe800', '--len', '12K', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const x = JSON.parse(r.out);
    expect(x.magic).toBe(XENCOMM_MAGIC);
    // 0x3ffe800 + 12 KiB: half of pfn 0x3ffe, all of 0x3fff and 0x4000, half of 0x4001.
    expect(x.nrAddrs).toBe(4);
    expect(x.addresses).toEqual([
      mfnOf(0x3ffe) * PAGE_SIZE + 0x800,
      mfnOf(0x3fff) * PAGE_SIZE,
      mfnOf(0x4000) * PAGE_SIZE,
      mfnOf(0x4001) * PAGE_SIZE,
    ]);
    expect(x.entries.map((e: { bytes: number }) => e.bytes)).toEqual([0x800, PAGE_SIZE, PAGE_SIZE, 0x800]);
    expect(x.breaks).toHaveLength(1);
    expect(x.breaks[0]).toMatchObject({ index: 2, kind: 'RMA -> extent', fromPfn: 0x3fff, toPfn: 0x4000 });
    expect(x.descriptorBytes).toBe(8 + 4 * 8);
    expect(x.fitsOnePage).toBe(true);
  });

  it('marks an extent -> extent break where two extents are not machine neighbours', async () => {
    // The first pfn where the table's machine run breaks, past the RMA.
    const run = runs.find((r, i) => i > 0 && r.pfn > 0x4000 && r.mfn !== null && runs[i - 1].mfn !== null && r.pfn % 4096 === 0)!;
    expect(run).toBeDefined();
    const x = JSON.parse((await cli(['xencomm', '--paddr', '0x' + ((run.pfn - 1) * PAGE_SIZE).toString(16), '--len', '8K', '--json'], { cwd: dir })).out);
    expect(x.breaks).toEqual([expect.objectContaining({ index: 1, kind: 'extent -> extent', toPfn: run.pfn })]);
  });

  it('a buffer inside one machine run has no break; the human output shows the runs', async () => {
    const r = await cli(['xencomm', '--paddr', '0x100000', '--len', '64K'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/one machine run/);
    expect(r.out).toMatch(/RMA/);
    const b = await cli(['xencomm', '--paddr', '0x3fff000', '--len', '8K'], { cwd: dir });
    expect(b.out).toMatch(/break before address\[1\]: RMA -> extent/);
  });

  it('refuses a buffer outside dom0 (exit 2) and a ballooned-out page (exit 1)', async () => {
    expect((await cli(['xencomm', '--paddr', '64G', '--len', '4K'], { cwd: dir })).code).toBe(2);
    expect((await cli(['xencomm', '--paddr', '0', '--len', '0'], { cwd: dir })).code).toBe(2);
    const out = await cli(['xencomm', '--paddr', '1G', '--len', '4K'], { cwd: dir });
    expect(out.code).toBe(1);
    expect(out.err).toMatch(/INVALID_MFN/);
    expect(out.err.trim().split('\n')).toHaveLength(1);
  });
});
