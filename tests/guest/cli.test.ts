import * as path from 'path';
import { run } from '../../src/cli';
import type { Io } from '../../src/commands/io';
import { cli, tempDir, constructedDir } from '../helpers/cli';

describe('construct --mem 4G, then inspect hpt', () => {
  const made = constructedDir('hpt', ['--mem', '4G']);
  let dir: string;
  let built: { code: number; out: string; err: string };
  beforeAll(() => {
    dir = made.dir;
    built = made.result;
  });

  it("boots dom0's kernel after Xen's part: the linear map in 256 16 MiB pages", () => {
    expect(built.code).toBe(0);
    expect(built.err).toBe('');
    expect(built.out).toMatch(/booted dom0's kernel/);
    expect(built.out).toMatch(/4 GiB bolted as 256 x 16 MiB/);
  });

  it("--ea 0xC000000000000000 walks the worked example (docs/hash-table.md) for this table size to the mfn the table gives pfn 0", async () => {
    const r = await cli(['inspect', 'hpt', '--ea', '0xC000000000000000'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/VSID\s+│ 0x408f92c94/);
    expect(r.out).toMatch(/hash\s+│ 0x408f92c94/);
    // A 4 GiB dom0 gets a 64 MiB table: 512 Ki PTEGs, mask 0x7ffff.
    expect(r.out).toMatch(/primary group\s+│ 0x12c94 \(hash & 0x7ffff\)/);
    expect(r.out).toMatch(/secondary group\s+│ 0x6d36b/);
    const walk = JSON.parse((await cli(['inspect', 'hpt', '--ea', '0xC000000000000000', '--json'], { cwd: dir })).out);
    const pfn0 = JSON.parse((await cli(['inspect', 'p2m', '--pfn', '0', '--json'], { cwd: dir })).out).translation;
    expect(walk.vsid).toBe(0x408f92c94);
    expect(walk.primaryGroup).toBe(0x12c94);
    expect(walk.secondaryGroup).toBe(0x6d36b);
    expect(walk.found.mfn).toBe(pfn0.mfn);
    expect(walk.linear).toMatchObject({ pfn: 0, p2mMfn: pfn0.mfn, agrees: true });
    expect(r.out).toContain(`mfn             │ 0x${pfn0.mfn.toString(16)}`);
  });

  it('the summary: size, PTEGs, counts, the occupancy histogram as a table and a chart', async () => {
    const r = await cli(['inspect', 'hpt'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/64 MiB \(ibm,pft-size <0 26>\)/);
    expect(r.out).toMatch(/PTEGs\s+│ 524288/);
    expect(r.out).toMatch(/valid\s+│ 256 /);
    expect(r.out).toMatch(/large \(16 MiB\)\s+│ 256/);
    expect(r.out).toMatch(/ 1 │\s+256 │/);
    expect(r.out).toMatch(/ 0 │█+ 524032/);
    const doc = JSON.parse((await cli(['inspect', 'hpt', '--json'], { cwd: dir })).out);
    expect(doc).toMatchObject({ hpt: { bytes: 64 * 2 ** 20, ptegs: 524288 }, valid: 256, bolted: 256, large: 256, secondary: 0 });
    expect(doc.histogram[0]).toEqual({ entries: 0, ptegs: 524032 });
    expect(doc.histogram[1]).toEqual({ entries: 1, ptegs: 256 });
  });

  it('--pteg decodes the 8 slots: EA, VSID, pfn, mfn, owner, flags', async () => {
    const r = await cli(['inspect', 'hpt', '--pteg', '0x12c94', '--wide'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/0x964a0 │ 0xc000000000000000 │ 0x408f92c94 │ 16M  │ 0x0 │ 0x[0-9a-f]+ │ dom0 rma │ VBL RC --M- pp=0/);
    const doc = JSON.parse((await cli(['inspect', 'hpt', '--pteg', '76948', '--json'], { cwd: dir })).out);
    expect(doc.slots).toHaveLength(8);
    expect(doc.slots[0]).toMatchObject({ slot: 0x964a0, valid: true, ea: '0xc000000000000000', pfn: 0, owner: 'dom0', bolted: true, large: true });
    expect(doc.slots[1]).toEqual({ slot: 0x964a1, valid: false });
  });

  it('refuses a PTEG past the table and an address that is not a number (exit 2)', async () => {
    expect((await cli(['inspect', 'hpt', '--pteg', '524288'], { cwd: dir })).code).toBe(2);
    expect((await cli(['inspect', 'hpt', '--ea', 'kernel'], { cwd: dir })).code).toBe(2);
    expect((await cli(['inspect', 'hpt', '--ea', '0x10000000000000000'], { cwd: dir })).code).toBe(2);
  });
});

describe('construct options for the guest', () => {
  it('--no-boot stops after Xen: an empty hash table, and validate skips the HPTE invariants', async () => {
    const dir = tempDir('noboot');
    const c = await cli(['construct', '--mem', '256M', '--no-boot'], { cwd: dir });
    expect(c.code).toBe(0);
    expect(c.out).not.toMatch(/booted dom0's kernel/);
    const h = await cli(['inspect', 'hpt'], { cwd: dir });
    expect(h.out).toMatch(/empty: the guest was not booted/);
    expect(h.out).toMatch(/valid\s+│ 0 /);
    const v = await cli(['validate', '--json'], { cwd: dir });
    expect(v.code).toBe(0);
    const doc = JSON.parse(v.out);
    expect(doc.invariants.find((i: { name: string }) => i.name === 'linear-map').status).toBe('skipped');
  });

  it('usage errors: a page size the PPC970 lacks, linear map options with --no-boot', async () => {
    const dir = tempDir('usage');
    const a = await cli(['construct', '--mem', '256M', '--linear-page', '64K'], { cwd: dir });
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/4 KiB and 16 MiB pages only/);
    expect((await cli(['construct', '--mem', '256M', '--no-boot', '--linear-page', '4K'], { cwd: dir })).code).toBe(2);
  });

  it('a progress bar on stderr when it is a terminal, nothing when piped', async () => {
    const dir = tempDir('progress');
    const err: string[] = [];
    const io: Io = { out: () => {}, outBytes: () => {}, err: (t) => err.push(t), stdoutTTY: false, stderrTTY: true, env: { NO_COLOR: '1' }, cwd: dir };
    expect(await run(['construct', '--mem', '512M', '--linear-page', '4K', '--state', path.join(dir, 's')], io)).toBe(0);
    const text = err.join('');
    expect(text).toMatch(/\rbolting the linear map [█░]+ +\d+% \d+\/131072/);
    expect(text.endsWith('\r\x1b[K')).toBe(true); // cleared when done
    const piped = await cli(['construct', '--mem', '512M', '--linear-page', '4K'], { cwd: dir });
    expect(piped.code).toBe(0);
    expect(piped.err).toBe('');
  });
});
