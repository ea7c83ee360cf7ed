/**
 * The acceptance, end to end on a 4 GiB dom0 with 4 KiB linear pages
 * (the JS21 default machine).
 */
import * as fs from 'fs';
import * as path from 'path';
import { cli, tempDir, constructedDir } from '../helpers/cli';
import { fdtget } from '../devtree/helpers';
import { itWith } from '../helpers/cli';
import { contractErrors } from '../json/contract';

describe('interfaces around the table: 4G, 4K dom0', () => {
  const built = constructedDir('iface', ['--mem', '4G', '--linear-page', '4K']);
  let dir: string;
  beforeAll(() => (dir = built.ok()));

  it('bolts kernel text without HPTE_R_N and the page past it with N (hash_utils_64.c:164-166 @ el5-274)', async () => {
    const text = JSON.parse((await cli(['inspect', 'hpt', '--ea', '0xc000000000000000', '--json'], { cwd: dir })).out);
    expect(text.kernelText).toMatchObject({ paddrs: { start: 0, end: 0x400000 }, source: 'symbols', inText: true, rFlags: 0x190 });
    expect(BigInt(text.found.r) & 0x1ffn).toBe(0x190n);
    const past = JSON.parse((await cli(['inspect', 'hpt', '--ea', '0xc000000000400000', '--json'], { cwd: dir })).out);
    expect(past.kernelText).toMatchObject({ inText: false, rFlags: 0x194 });
    expect(BigInt(past.found.r) & 0x1ffn).toBe(0x194n);
  });

  it('refuses a user address for --ea with exit 2 and one line', async () => {
    const r = await cli(['inspect', 'hpt', '--ea', '0x1000'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/user address.*get_vsid/);
  });

  it('hcall H_ENTER of an IO frame: I|G is H_SUCCESS, W|I|G is H_PARAMETER (xlate.c:203-213)', async () => {
    // mfn 0x80010, in the IO hole; EA in the ioremap region's VSID space.
    const ok = await cli(['hcall', 'H_ENTER', '--ptex', '0x40', '--v', '0xd000000000000081', '--r', '0x80010028', '--json'], { cwd: dir });
    expect(ok.code).toBe(0);
    const doc = JSON.parse(ok.out);
    expect(doc.return).toEqual({ name: 'H_SUCCESS', value: 0 });
    expect(doc.saved).toBe(true);
    expect(contractErrors(doc)).toEqual([]);
    expect(doc.out).toMatchObject([{ register: 'r4', what: 'ptex' }]); // the first free slot of PTEG 0x40 / 8
    const read = JSON.parse((await cli(['hcall', 'H_READ', '--ptex', doc.out[0].value, '--json'], { cwd: dir })).out);
    expect(contractErrors(read)).toEqual([]);
    expect(read.out.map((o: { value: string }) => o.value)).toEqual(['0xd000000000000081', '0x80010028']);
    const bad = await cli(['hcall', 'H_ENTER', '--ptex', '0x48', '--v', '0xd000000000000081', '--r', '0x80010068'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/returned H_PARAMETER \(-4\)/);
    expect((await cli(['hcall', 'H_ENTER', '--ptex', 'x'], { cwd: dir })).code).toBe(2);
    expect((await cli(['hcall', 'H_BOGUS', '--ptex', '0'], { cwd: dir })).code).toBe(2);
    // Xen removes it again (and the state stays valid throughout).
    expect((await cli(['hcall', 'H_REMOVE', '--ptex', doc.out[0].value], { cwd: dir })).code).toBe(0);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
  });

  itWith('fdtget')('dom0.dtb has every /xen property ofd_fixup.c writes, and p2m', () => {
    const dtb = fs.readFileSync(path.join(dir, '.ppc-dombuild', 'dom0.dtb'));
    for (const p of ['reg', 'name', 'version', 'shared-info', 'reserved', 'privileged', 'initdomain', 'foreign-map', 'p2m']) expect(() => fdtget(dtb, 'x', '/xen', p)).not.toThrow();
    expect(fdtget(dtb, 's', '/xen', 'version')).toBe('Xen-3.0-unstable');
    expect(fdtget(dtb, 'x', '/xen', 'foreign-map')).toBe('0 16 0 800');
    expect(fdtget(dtb, 'x', '/xen/console', 'interrupts')).toBe('0 0');
  });

  it('xencomm --inline: exit 0 inside one machine run, 1 across a break naming the page', async () => {
    expect((await cli(['xencomm', '--inline', '--paddr', '0x100000', '--len', '16K'], { cwd: dir })).code).toBe(0);
    const inline = JSON.parse((await cli(['xencomm', '--inline', '--paddr', '0x100000', '--len', '16K', '--json'], { cwd: dir })).out);
    expect(contractErrors(inline)).toEqual([]);
    expect(inline).toMatchObject({ schema: 'ppc-dombuild/xencomm-inline/1', buffer: { paddrs: { start: 0x100000, end: 0x104000 }, bytes: 0x4000 }, pages: 4 });
    const r = await cli(['xencomm', '--inline', '--paddr', '0x3fff000', '--len', '8K'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/page 1 \(pfn 0x4000\)/);
  });

  it('balloon 3G then 4G: H_REMOVE, decrease_reservation, then populate_physmap and H_ENTER; validate exits 0', async () => {
    const down = JSON.parse((await cli(['balloon', '--target', '3G', '--json'], { cwd: dir })).out);
    expect(down.hypercalls.map((c: { hcall: string; op?: string }) => c.op ?? c.hcall)).toEqual(['H_REMOVE', 'XENMEM_decrease_reservation']);
    const dec = down.hypercalls[1];
    // 1 GiB of order-0 extents, named by machine frame; all done.
    expect(dec).toMatchObject({ extentOrder: 0, nrExtents: 262144, result: 262144 });
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
    const up = JSON.parse((await cli(['balloon', '--target', '4G', '--json'], { cwd: dir })).out);
    const ops = up.hypercalls.map((c: { hcall: string; op?: string }) => c.op ?? c.hcall);
    expect(ops[0]).toBe('XENMEM_populate_physmap');
    expect(ops[ops.length - 1]).toBe('H_ENTER');
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
  });
});
