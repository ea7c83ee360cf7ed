import { decodeHpt } from '../../src/hpt/codec';
import * as fs from 'fs';
import * as path from 'path';
import { PAGE_SIZE } from '../../src/machine/constants';
import { decodeState } from '../../src/state/snapshot';
import { MiB } from '../../src/util/size';
import { cli, heaps, tempDir } from '../helpers/cli';

const oneLine = (err: string): void => expect(err.trim().split('\n')).toHaveLength(1);

/**
 * The acceptance sequence: map-foreign / unmap-foreign / balloon down /
 * balloon up / destroy, each refusal one line and exit 1, and at the end
 * validate passes and nothing leaked.
 */
describe('foreign mappings, balloon and destroy: nothing leaks', () => {
  let dir: string;
  let start: { dom: number; xen: number };
  beforeAll(async () => {
    dir = tempDir('foreign');
    expect((await cli(['construct', '--mem', '1G'], { cwd: dir })).code).toBe(0);
    start = await heaps(dir);
    expect((await cli(['create-domu', '--mem', '256M'], { cwd: dir })).code).toBe(0);
  });

  it('map-foreign: dom0 maps a domU frame by its machine address, Xen holds a page reference', async () => {
    const r = await cli(['map-foreign', '--domid', '1', '--pfn', '0x4010', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const m = JSON.parse(r.out);
    const want = JSON.parse((await cli(['inspect', 'p2m', '--domid', '1', '--pfn', '0x4010', '--json'], { cwd: dir })).out).translation;
    expect(m).toMatchObject({ caller: 0, domid: 1, pfn: 0x4010, mfn: want.mfn, pageRefs: 1 });
    expect(m.ea).toBe('0xd000000000000000');
    const mach = JSON.parse((await cli(['inspect', 'machine', '--json'], { cwd: dir })).out);
    expect(mach.pageRefs).toEqual([{ mfn: want.mfn, refs: 1 }]);
    // The frame expected, from the domU's allocation: its RMA is 64 MiB = 0x4000 pages, so pfn
    // 0x4010 is page 0x10 of its first extent: mfn = extents[0] + 0x10.
    const sys = decodeState(fs.readFileSync(path.join(dir, '.ppc-dombuild', 'state.bin')), 'x');
    const d1 = sys.domains.get(1)!;
    expect(d1.rmaPages).toBe(0x4000);
    const mfn = d1.extents[0] + 0x10;
    expect(m.mfn).toBe(mfn);
    // The HPTE holds the machine frame. Where it must sit, by hand (Linux 2.6.18 rules):
    //   ea 0xd000000000000000: ESID = ea >> 28 = 0xd00000000, offset 0;
    //   VSID = 0xd00000000 * 200730139 mod (2^36 - 1) = 0xf09b89af5;
    //   va = VSID << 28; hash = (va >> 28) & 0x7fffffffff ^ (0 >> 12) = 0xf09b89af5;
    //   dom0's table is 16 MiB (construct: (262144 >> 6) >> 8 = 16 MiB) = 131072 PTEGs, mask 0x1ffff;
    //   primary group = 0xf09b89af5 & 0x1ffff = 0x9af5, first slot 0x9af5 * 8 = 0x4d7a8 (the table is
    //   empty there: dom0's linear map is bolted at 0xc000... whose groups are elsewhere);
    //   AVPN = (va >> 23) << 7 = VSID << 12 = 0xf09b89af5000.
    expect(m.slot).toBe(0x4d7a8);
    // The saved table section, decoded (its layout is checked byte by byte in tests/hpt/codec.test.ts).
    const sec = Buffer.from(sys.dom0().hptForSave().saved!.load());
    expect(sec.toString('latin1', 0, 4)).toBe('HPT2');
    expect(sec.readUInt32BE(4)).toBe(24); // 16 MiB
    const saved = decodeHpt(sec);
    const v = saved.v(0x4d7a8);
    const rw = saved.r(0x4d7a8);
    expect(v >> 7n).toBe(0xf09b89af5000n >> 7n); // AVPN
    expect(v & 0x1n).toBe(1n); // VALID
    expect(v & 0x6n).toBe(0n); // not LARGE, primary group
    expect(rw >> 12n).toBe(BigInt(mfn)); // RPN = the machine frame, not the pfn 0x4010
    const list = JSON.parse((await cli(['list', '--json'], { cwd: dir })).out);
    expect(list.domains[1].foreignRefs).toBe(1);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
  });

  it('a non-privileged caller is refused with H_PRIVILEGE: exit 1, one line', async () => {
    const r = await cli(['map-foreign', '--domid', '0', '--pfn', '0x10', '--from', '1'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/H_PRIVILEGE/);
    oneLine(r.err);
  });

  it('destroy-domu is refused while the mapping is live: exit 1, one line', async () => {
    const r = await cli(['destroy-domu', '--domid', '1'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/live foreign mapping/);
    oneLine(r.err);
  });

  it('a domU balloon cannot release a frame dom0 maps', async () => {
    // 0x4010 is in the domU's first extent: shrink to just the RMA + 16 MiB would release it.
    const r = await cli(['balloon', '--domid', '1', '--target', '64M'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/mapped by another domain/);
    oneLine(r.err);
  });

  it('unmap-foreign: H_REMOVE, the reference goes', async () => {
    const r = await cli(['unmap-foreign', '--domid', '1', '--pfn', '0x4010', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ pageRefs: 0, liveMappings: 0 });
    expect(JSON.parse((await cli(['inspect', 'machine', '--json'], { cwd: dir })).out).pageRefs).toEqual([]);
    const again = await cli(['unmap-foreign', '--domid', '1', '--pfn', '0x4010'], { cwd: dir });
    expect(again.code).toBe(1);
    oneLine(again.err);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
  });

  it('balloon down then up: validate passes, the heap gets back exactly what was released', async () => {
    const h0 = await heaps(dir);
    const down = await cli(['balloon', '--target', '744M', '--json'], { cwd: dir });
    expect(down.code).toBe(0);
    const d = JSON.parse(down.out);
    expect(d.releasedPages).toBe((280 * MiB) / PAGE_SIZE);
    expect(d.hptesRemoved).toBeGreaterThan(0);
    expect((await heaps(dir)).dom).toBe(h0.dom + d.releasedPages);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
    const up = await cli(['balloon', '--target', '1G', '--json'], { cwd: dir });
    expect(up.code).toBe(0);
    const u = JSON.parse(up.out);
    expect(u.takenPages).toBe((280 * MiB) / PAGE_SIZE);
    expect(await heaps(dir)).toEqual(h0);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
  });

  it('dom0 cannot grow past its table: exit 1 naming the figure', async () => {
    const r = await cli(['balloon', '--target', '17G'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/holds 4194304 entries, 16 GiB at most/);
    oneLine(r.err);
  });

  it('destroy after the sequence: validate passes and both heaps are as after construct', async () => {
    expect((await cli(['destroy-domu', '--domid', '1'], { cwd: dir })).code).toBe(0);
    const v = await cli(['validate', '--json'], { cwd: dir });
    expect(v.code).toBe(0);
    expect(await heaps(dir)).toEqual(start);
  });
});
