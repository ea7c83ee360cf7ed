import * as fs from 'fs';
import * as path from 'path';
import { EXTENT_PAGES, INVALID_MFN } from '../../src/machine/constants';
import { decodeState } from '../../src/state/snapshot';
import { GiB } from '../../src/util/size';
import { FOREIGN_MAP_PFN, FOREIGN_MFN_SLOTS, legacyPfn2mfn, legacyReadRun, LegacyView, legacyView, NR_GRANT_FRAMES } from '../../src/xen/legacy/pfn2mfn';
import { p2mOf } from '../../src/xen/shadow_p2m';
import { cli, tempDir } from '../helpers/cli';

/** A made-up dom0 for the unit tests: RMA at 0x4000 (16384 pages), two extents. */
function view(over: Partial<LegacyView> = {}): LegacyView {
  const owners: [number, number, number | 'xen'][] = [
    [0x4000, 0x8000, 0], // RMA
    [0x10000, 0x11000, 0], // extent 0
    [0x20000, 0x21000, 0], // extent 1
    [0x30000, 0x31000, 1], // a domU
    [0x0, 0x1000, 'xen'],
  ];
  const ownerOf = (mfn: number): number | 'xen' | undefined => owners.find(([a, b]) => mfn >= a && mfn < b)?.[2];
  return {
    domid: 0,
    privileged: true,
    rmaMfn: 0x4000,
    rmaPages: 0x4000,
    extents: [0x10000, 0x20000],
    maxPage: 0x380000, // 14 GiB of machine frames (12 GiB RAM around the hole)
    grantMfns: [0x2000, 0x2001, 0x2002, 0x2003],
    ownerOf,
    ownerRunEnd: (mfn) => {
      const o = owners.find(([a, b]) => mfn >= a && mfn < b);
      if (o) return o[1];
      return Math.min(...owners.map(([a]) => a).filter((a) => a > mfn), Number.MAX_SAFE_INTEGER);
    },
    ...over,
  };
}

describe("legacy pfn2mfn: the historical order of checks", () => {
  it('the foreign bit (pfn bit 22, 16 GiB) comes first: a slot, empty, and past the 1024 slots Xen stops', () => {
    const v = view();
    expect(legacyPfn2mfn(v, FOREIGN_MAP_PFN)).toMatchObject({ kind: 'foreign-slot', mfn: INVALID_MFN });
    expect(legacyPfn2mfn(v, FOREIGN_MAP_PFN).fatal).toBeUndefined();
    expect(legacyPfn2mfn(v, FOREIGN_MAP_PFN + FOREIGN_MFN_SLOTS).fatal).toMatch(/BUG_ON/);
    expect(legacyPfn2mfn(view({ foreignSlots: [0x30005] }), FOREIGN_MAP_PFN)).toMatchObject({ kind: 'foreign-slot', mfn: 0x30005 });
    // bit 23 alone is not the foreign bit
    expect(legacyPfn2mfn(v, 2 * FOREIGN_MAP_PFN).kind).not.toBe('foreign-slot');
  });

  it('then the grant-table frames just above the end of RAM', () => {
    const v = view();
    expect(legacyPfn2mfn(v, v.maxPage)).toMatchObject({ kind: 'grant', mfn: 0x2000 });
    expect(legacyPfn2mfn(v, v.maxPage + NR_GRANT_FRAMES - 1)).toMatchObject({ kind: 'grant', mfn: 0x2003 });
    expect(legacyPfn2mfn(v, v.maxPage + NR_GRANT_FRAMES).kind).toBe('invalid');
    // With 16 GiB of RAM (js21) RAM ends at 18 GiB: the grant frames' pfns have bit 22 set and the foreign test takes them first.
    expect(legacyPfn2mfn(view({ maxPage: 0x480000 }), 0x480000).kind).toBe('foreign-slot');
  });

  it('then the IO hole for a privileged domain only', () => {
    expect(legacyPfn2mfn(view(), 0x80000)).toMatchObject({ kind: 'io', mfn: 0x80000 });
    expect(legacyPfn2mfn(view(), 0xfffff)).toMatchObject({ kind: 'io', mfn: 0xfffff });
    expect(legacyPfn2mfn(view({ privileged: false }), 0x80000).kind).toBe('invalid');
  });

  it('then the RMA, then the extent list in pfn order', () => {
    const v = view();
    expect(legacyPfn2mfn(v, 0)).toMatchObject({ kind: 'rma', mfn: 0x4000 });
    expect(legacyPfn2mfn(v, 0x3fff)).toMatchObject({ kind: 'rma', mfn: 0x7fff });
    expect(legacyPfn2mfn(v, 0x4000)).toMatchObject({ kind: 'extent', mfn: 0x10000 });
    expect(legacyPfn2mfn(v, 0x5000)).toMatchObject({ kind: 'extent', mfn: 0x20000 });
    expect(legacyPfn2mfn(v, 0x5fff)).toMatchObject({ kind: 'extent', mfn: 0x20fff });
  });

  it('and last the raw-mfn hack: another domain\'s frame; free or own frames make Xen panic', () => {
    const v = view();
    expect(legacyPfn2mfn(v, 0x30001)).toMatchObject({ kind: 'raw-mfn', mfn: 0x30001 });
    expect(legacyPfn2mfn(v, 0x30001).fatal).toBeUndefined();
    expect(legacyPfn2mfn(v, 0x10000).fatal).toMatch(/owned by this domain/);
    expect(legacyPfn2mfn(v, 0x40000).fatal).toMatch(/not owned by any domain/);
    expect(legacyPfn2mfn(view({ privileged: false }), 0x30001).kind).toBe('invalid');
  });

  it('reads in runs: one answer per stretch, cut exactly where a check would answer differently', () => {
    const v = view();
    expect(legacyReadRun(v, 0, 1 << 30)).toMatchObject({ kind: 'rma', count: 0x4000 });
    expect(legacyReadRun(v, 0x4000, 1 << 30)).toMatchObject({ kind: 'extent', count: EXTENT_PAGES });
    expect(legacyReadRun(v, 0x7ff00, 1 << 30)).toMatchObject({ kind: 'raw-mfn', count: 0x100 });
    expect(legacyReadRun(v, 0x80000, 1 << 30)).toMatchObject({ kind: 'io', count: 0x80000 });
    expect(legacyReadRun(v, 0x37ff00, 1 << 30)).toMatchObject({ kind: 'raw-mfn', count: 0x100 });
    expect(legacyReadRun(v, 0x380000, 1 << 30)).toMatchObject({ kind: 'grant', count: NR_GRANT_FRAMES });
    expect(legacyReadRun(v, 0x30000, 1 << 30)).toMatchObject({ kind: 'raw-mfn', count: 0x1000 });
    expect(legacyReadRun(v, FOREIGN_MAP_PFN, 1 << 30)).toMatchObject({ kind: 'foreign-slot', count: FOREIGN_MFN_SLOTS });
    // Every number of a long stretch reads as its run says.
    let n = 0;
    while (n < 0x500000) {
      const r = legacyReadRun(v, n, 0x500000 - n);
      for (const k of [n, n + Math.floor(r.count / 2), n + r.count - 1]) {
        const one = legacyPfn2mfn(v, k);
        expect(one.kind).toBe(r.kind);
        expect(one.mfn).toBe(r.mfn === INVALID_MFN ? INVALID_MFN : r.mfn + (k - n));
      }
      n += r.count;
    }
  });
});

describe('construct --translation legacy', () => {
  /** A fresh directory holding a legacy 4 GiB dom0, so no test depends on another's state. */
  const legacyDom0 = async (): Promise<{ dir: string; out: string }> => {
    const dir = tempDir('legacy');
    const r = await cli(['construct', '--translation', 'legacy', '--mem', '4G', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    return { dir, out: r.out };
  };

  it('builds dom0 the pre-proposal way: Xen keeps its table, no /xen/p2m, no table in the RMA', async () => {
    const { dir, out } = await legacyDom0();
    expect(JSON.parse(out).notes.join(' ')).toMatch(/legacy translation/);
    const list = JSON.parse((await cli(['list', '--json'], { cwd: dir })).out);
    expect(list.domains[0]).toMatchObject({ domid: 0, privileged: true, translation: 'legacy' });
    expect(list.domains[0].table.keeper).toBe('xen');
    const p2m = JSON.parse((await cli(['inspect', 'p2m', '--json'], { cwd: dir })).out);
    expect(p2m.table.keeper).toBe('xen');
    expect(p2m.table.usedEntries).toBe((4 * GiB) / 4096);
    const xen = JSON.parse((await cli(['inspect', 'devtree', '--path', '/xen', '--json'], { cwd: dir })).out);
    expect(xen.root.props.p2m).toBeUndefined();
    expect(xen.root.props.privileged).toBe(true);
  });

  it("Xen's legacy pfn2mfn agrees with its table below 2 GiB and reads dom0's pfns at 2 GiB as IO", async () => {
    const { dir } = await legacyDom0();
    const sys = decodeState(fs.readFileSync(path.join(dir, '.ppc-dombuild', 'state.bin')), 'x');
    const d = sys.dom0();
    const t = p2mOf(d);
    const v = legacyView(sys.machine, d);
    // From dom0's allocation, by the legacy rules: a 64 MiB RMA (0x4000 pages) then 16 MiB extents
    // (0x1000 pages) in pfn order: pfn < 0x4000 -> rma_mfn + pfn, else
    // extents[(pfn - 0x4000) >> 12] + ((pfn - 0x4000) & 0xfff). 4 GiB = 0x100000 pages, so
    // (0x100000 - 0x4000) / 0x1000 = 252 extents; pfn 0x7ffff is the last page of extent 123.
    expect(d.rmaPages).toBe(0x4000);
    expect(d.extents).toHaveLength(252);
    const want = (pfn: number): number => (pfn < 0x4000 ? d.rma.mfn + pfn : d.extents[(pfn - 0x4000) >> 12] + ((pfn - 0x4000) & 0xfff));
    expect(want(0x7ffff)).toBe(d.extents[123] + 0xfff);
    for (const pfn of [0, 0x3fff, 0x4000, 0x4001, 0x5000, 0x7ffff]) {
      expect(legacyPfn2mfn(v, pfn).mfn).toBe(want(pfn));
      expect(t.get(pfn)).toBe(want(pfn));
    }
    // pfn 0x80000 (2 GiB) is dom0's RAM (extent 124 in Xen's table) but the IO test comes first:
    // it reads as the machine frame 0x80000 in the hole.
    const io = legacyPfn2mfn(v, 0x80000);
    expect(io.kind).toBe('io');
    expect(io.mfn).toBe(0x80000);
    expect(t.get(0x80000)).toBe(want(0x80000));
    expect(io.mfn).not.toBe(t.get(0x80000));
  });

  it('a legacy dom0 cannot balloon, and xencomm has no table to use (one line each)', async () => {
    const { dir } = await legacyDom0();
    const b = await cli(['balloon', '--target', '2G'], { cwd: dir });
    expect(b.code).toBe(1);
    expect(b.err.trim().split('\n')).toHaveLength(1);
    expect(b.err).toMatch(/legacy/);
    expect((await cli(['xencomm', '--paddr', '0', '--len', '4K'], { cwd: dir })).code).toBe(2);
  });

  it('refuses an unknown scheme and the linear-map options', async () => {
    const dir = tempDir('legacy-refuse');
    const r = await cli(['construct', '--translation', 'guess', '--mem', '1G'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/proposal or legacy/);
    expect((await cli(['construct', '--translation', 'legacy', '--linear-page', '4K', '--mem', '1G'], { cwd: dir })).code).toBe(2);
  });

  it('the default is the proposal', async () => {
    const d2 = tempDir('legacy-default');
    expect((await cli(['construct', '--mem', '512M', '--no-boot'], { cwd: d2 })).code).toBe(0);
    expect(JSON.parse((await cli(['list', '--json'], { cwd: d2 })).out).domains[0].translation).toBe('proposal');
  });
});
