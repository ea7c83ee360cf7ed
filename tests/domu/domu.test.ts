import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { INVALID_MFN, PAGE_SIZE } from '../../src/machine/constants';
import { joinPieces } from '../../src/state/container';
import { decodeState, encodeState } from '../../src/state/snapshot';
import { StateError } from '../../src/util/errors';
import { MiB } from '../../src/util/size';
import { pfn2mfn } from '../../src/xen/pfn2mfn';
import { shadowPfn2mfn } from '../../src/xen/shadow_p2m';
import { cli, heaps, itWith, tempDir } from '../helpers/cli';

describe('create-domu: a shadow domain beside dom0', () => {
  let dir: string;
  let created: { code: number; out: string; err: string };
  let before: { dom: number; xen: number };
  beforeAll(async () => {
    dir = tempDir('domu');
    expect((await cli(['construct', '--mem', '1G', '--no-boot'], { cwd: dir })).code).toBe(0);
    before = await heaps(dir);
    created = await cli(['create-domu', '--mem', '256M', '--max-mem', '512M', '--json'], { cwd: dir });
  });
  const stateFile = (): string => path.join(dir, '.ppc-dombuild', 'state.bin');

  it('gets domid 1, its RMA from the domain heap, and a Xen p2m in the Xen heap owned by Xen', async () => {
    expect(created.code).toBe(0);
    const doc = JSON.parse(created.out).domain;
    expect(doc.domid).toBe(1);
    expect(doc.memBytes).toBe(256 * MiB);
    expect(doc.rma.maddrs.start % (64 * MiB)).toBe(0);
    expect(doc.xenP2m.entries).toBe((512 * MiB) / PAGE_SIZE);
    const owners = JSON.parse((await cli(['inspect', 'machine', '--json'], { cwd: dir })).out)
      .owners.map((o: { maddrs: { start: number }; owner: string; use: string }) => ({ ...o, maddr: o.maddrs.start })) as { maddr: number; owner: string; use: string }[];
    const p2m = owners.find((o) => o.use === 'p2m dom1')!;
    expect(p2m.owner).toBe('xen');
    expect(p2m.maddr).toBe(doc.xenP2m.maddrs.start);
    expect(owners.find((o) => o.use === 'rma' && o.owner === 'dom1')!.maddr).toBe(doc.rma.maddrs.start);
  });

  it('list shows both domains with their memory, RMA, table location and mode', async () => {
    const doc = JSON.parse((await cli(['list', '--json'], { cwd: dir })).out);
    const [d0, d1] = doc.domains;
    expect(d0).toMatchObject({ domid: 0, privileged: true, shadow: false, translation: 'proposal', memBytes: 1024 * MiB });
    expect(d0.table.keeper).toBe('guest');
    expect(d1).toMatchObject({ domid: 1, privileged: false, shadow: true, translation: 'shadow', memBytes: 256 * MiB, maxBytes: 512 * MiB });
    expect(d1.table.keeper).toBe('xen');
    expect(d1.table.paddrs).toBeNull();
    const human = await cli(['list', '--wide'], { cwd: dir });
    expect(human.out).toMatch(/dom1/);
    expect(human.out).toMatch(/shadow: Xen p2m/);
  });

  it("inspect p2m --domid 1 reads Xen's table: every used entry is dom1's, the rest INVALID_MFN", async () => {
    const doc = JSON.parse((await cli(['inspect', 'p2m', '--domid', '1', '--json'], { cwd: dir })).out);
    expect(doc.table.keeper).toBe('xen');
    expect(doc.table.usedEntries).toBe((256 * MiB) / PAGE_SIZE);
    expect(doc.table.entries).toBe((512 * MiB) / PAGE_SIZE);
    // 256 MiB = 0x10000 pages used, of 512 MiB = 0x20000 entries: pfns [0, 0x10000) are dom1's
    // frames (the first 0x4000 its 64 MiB RMA), pfns [0x10000, 0x20000) INVALID_MFN.
    const runs = (doc.runs as { pfns: { start: number; end: number }; mfns: { start: number } | null; owner: string; use: string }[]).map((r) => ({ ...r, pfn: r.pfns.start, count: r.pfns.end - r.pfns.start, mfn: r.mfns === null ? null : r.mfns.start }));
    let next = 0;
    for (const r of runs) {
      expect(r.pfn).toBe(next); // the runs cover the table once, in pfn order
      next += r.count;
      if (r.pfn < 0x10000) {
        expect(r.pfn + r.count).toBeLessThanOrEqual(0x10000);
        expect(r.mfn).not.toBeNull();
        expect(r.owner).toBe('dom1');
        expect(r.use).toBe(r.pfn < 0x4000 ? 'rma' : 'extent');
      } else {
        expect(r.mfn).toBeNull();
        expect(r.use).toBe('invalid');
      }
    }
    expect(next).toBe(0x20000);
    expect(runs.filter((r) => r.mfn === null).reduce((n, r) => n + r.count, 0)).toBe(0x10000);
    expect(runs[0]).toMatchObject({ pfn: 0, mfn: JSON.parse(created.out).domain.rma.mfns.start, use: 'rma' });
    const one = JSON.parse((await cli(['inspect', 'p2m', '--domid', '1', '--pfn', '0', '--json'], { cwd: dir })).out).translation;
    expect(one.use).toBe('rma');
    expect(one.entryPaddr).toBeNull();
    const raw = (await cli(['inspect', 'p2m', '--domid', '1', '--raw'], { cwd: dir })).bytes;
    expect(raw.length).toBe(((512 * MiB) / PAGE_SIZE) * 4);
    expect(raw.readUInt32BE(0)).toBe(one.mfn);
    expect(raw.readUInt32BE(raw.length - 4)).toBe(INVALID_MFN);
  });

  it("Xen's pfn2mfn translates the domU's pfns through that table", async () => {
    const sys = decodeState(fs.readFileSync(stateFile()), 'x');
    const d1 = sys.domains.get(1)!;
    const xen = shadowPfn2mfn(d1);
    // Expected frames from the domU's allocation, not from the table: its 64 MiB RMA (0x4000
    // pages) at rmaMaddr, then (256 - 64) / 16 = 12 extents of 0x1000 pages in pfn order:
    //   pfn < 0x4000: rma_mfn + pfn;  else extents[(pfn - 0x4000) >> 12] + ((pfn - 0x4000) & 0xfff);
    //   pfn >= 0x10000 (256 MiB / 4 KiB): INVALID_MFN.
    const rmaMfn = JSON.parse(created.out).domain.rma.mfns.start;
    expect(d1.rma.mfn).toBe(rmaMfn);
    expect(d1.extents).toHaveLength(12);
    // The extents are dom1's frames in Xen's frame-ownership record (a separate record from any p2m):
    // each 0x1000-aligned and inside a run `inspect machine` gives to dom1 as an extent.
    const owners = JSON.parse((await cli(['inspect', 'machine', '--json'], { cwd: dir })).out)
      .owners.map((o: { mfns: { start: number; end: number }; owner: string; use: string }) => ({ ...o, firstMfn: o.mfns.start, frames: o.mfns.end - o.mfns.start })) as { firstMfn: number; frames: number; owner: string; use: string }[];
    for (const e of d1.extents) {
      expect(e % 0x1000).toBe(0);
      expect(owners.some((o) => o.owner === 'dom1' && o.use === 'extent' && e >= o.firstMfn && e + 0x1000 <= o.firstMfn + o.frames)).toBe(true);
    }
    expect(new Set(d1.extents).size).toBe(12);
    const want = (pfn: number): number => (pfn < 0x4000 ? rmaMfn + pfn : pfn < 0x10000 ? d1.extents[(pfn - 0x4000) >> 12] + ((pfn - 0x4000) & 0xfff) : INVALID_MFN);
    expect(want(0x3fff)).toBe(rmaMfn + 0x3fff);
    expect(want(0x4000)).toBe(d1.extents[0]);
    expect(want(0x5001)).toBe(d1.extents[1] + 1);
    expect(want(0xffff)).toBe(d1.extents[11] + 0xfff);
    for (const pfn of [0, 1, 0x3fff, 0x4000, 0x4fff, 0x5000, 0x5001, 0xabcd, 0xffff, 0x10000, 0x1ffff]) expect(pfn2mfn(d1, pfn, xen)).toBe(want(pfn));
    expect(pfn2mfn(d1, 0x10000, xen)).toBe(INVALID_MFN);
    // dom0 is non-shadow: its argument is already a machine frame.
    expect(pfn2mfn(sys.dom0(), 0x1234, xen)).toBe(0x1234);
  });

  it('re-encodes to a fixed point keeping dom1\'s extents and Xen p2m, and a state missing the Xen p2m is refused', () => {
    const buf = fs.readFileSync(stateFile());
    const sys = decodeState(buf, 'x');
    // A state saved by appending to a copy of the previous one holds old bytes it no longer uses:
    // written whole, it is a fixed point (decode and encode give the same bytes again).
    const whole = joinPieces(encodeState(sys));
    const again = decodeState(whole, 'y');
    expect(joinPieces(encodeState(again)).equals(whole)).toBe(true);
    // And it still means what the file means: dom1's frames and its Xen p2m, read back from it.
    const meaning = (s: typeof sys) => {
      const d1 = s.domains.get(1)!;
      const x = d1.xenP2m!;
      return { extents: [...d1.extents], xenP2m: { mfn: x.mfn, order: x.order, entries: x.entries }, bytes: Buffer.from(x.bytes) };
    };
    const [was, is] = [meaning(sys), meaning(again)];
    expect(was.extents).toHaveLength(12);
    expect(was.bytes.length).toBe(was.xenP2m.entries * 4);
    expect({ extents: is.extents, xenP2m: is.xenP2m }).toEqual({ extents: was.extents, xenP2m: was.xenP2m });
    expect(is.bytes.equals(was.bytes)).toBe(true);
    expect(sys.domains.get(1)!.translation).toBe('shadow');
    sys.domains.get(1)!.xenP2m = undefined;
    const broken = joinPieces(encodeState(sys));
    expect(() => decodeState(broken, 'x')).toThrow(StateError);
    expect(() => decodeState(broken, 'x')).toThrow(/shadow domain but the state has no Xen p2m|Xen p2m is missing/);
  });

  it('has its own device tree: special pages at the top of its RMA, reserved, no /xen/p2m', async () => {
    const doc = JSON.parse((await cli(['inspect', 'devtree', '--domid', '1', '--json'], { cwd: dir })).out);
    const top = 64 * MiB;
    expect(doc.reservations.map((r: { paddrs: { start: number } }) => r.paddrs.start)).toEqual([top - 3 * PAGE_SIZE, top - 2 * PAGE_SIZE, top - PAGE_SIZE]);
    const xen = doc.root.children.find((c: { name: string }) => c.name === 'xen');
    expect(xen.props.p2m).toBeUndefined();
    expect(xen.props['shared-info'].cells.map(Number)).toEqual([0, top - PAGE_SIZE, 0, PAGE_SIZE]);
    const consoleNode = xen.children.find((c: { name: string }) => c.name === 'console');
    expect(consoleNode.props.reg.cells.map(Number)).toEqual([0, top - 2 * PAGE_SIZE, 0, PAGE_SIZE]);
    expect(xen.children.find((c: { name: string }) => c.name === 'store').props.reg.cells.map(Number)).toEqual([0, top - 3 * PAGE_SIZE, 0, PAGE_SIZE]);
  });

  itWith('dtc')('dtc decodes the domU tree', async () => {
    const file = path.join(dir, 'dom1.dtb');
    expect((await cli(['inspect', 'devtree', '--domid', '1', '--dtb', file], { cwd: dir })).code).toBe(0);
    const dts = execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
    expect(dts).toMatch(/ibm,partition-name = "dom1"/);
    expect(dts).toMatch(/linux,stdout-path = "\/xen\/console"/);
  });

  it('destroy-domu gives every frame back: both heaps as they were', async () => {
    const r = await cli(['destroy-domu', '--domid', '1', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).freed.domainHeapPages).toBe((256 * MiB) / PAGE_SIZE);
    expect(await heaps(dir)).toEqual(before);
    const doc = JSON.parse((await cli(['list', '--json'], { cwd: dir })).out);
    expect(doc.domains.map((d: { domid: number }) => d.domid)).toEqual([0]);
    const sys = decodeState(fs.readFileSync(stateFile()), 'x');
    expect(sys.domains.has(1)).toBe(false);
    expect(sys.machine.frames.all().filter((r) => r.owner === 1 || r.use.endsWith('dom1'))).toEqual([]);
  });

  it('refusals: dom0, an unknown domain, a domU too large, a bad --rma', async () => {
    const r0 = await cli(['destroy-domu', '--domid', '0'], { cwd: dir });
    expect(r0.code).toBe(1);
    expect(r0.err.trim().split('\n')).toHaveLength(1);
    expect((await cli(['destroy-domu', '--domid', '9'], { cwd: dir })).code).toBe(2);
    const big = await cli(['create-domu', '--mem', '64G'], { cwd: dir });
    expect(big.code).toBe(1);
    expect(big.err).toMatch(/larger than the machine's RAM/);
    expect((await cli(['create-domu', '--mem', '128M', '--rma', '32M'], { cwd: dir })).code).toBe(2);
    const heapFull = await cli(['create-domu', '--mem', '15G'], { cwd: dir });
    expect(heapFull.code).toBe(1);
    expect(heapFull.err.trim().split('\n')).toHaveLength(1);
    expect(await heaps(dir)).toEqual(before); // nothing left behind by the refusals
  });
});

describe('create-domu without a state', () => {
  it('exits 3 naming construct', async () => {
    const r = await cli(['create-domu', '--mem', '128M'], { cwd: tempDir('nodomu') });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/construct/);
  });
});
