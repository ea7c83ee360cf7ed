import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { INVALID_MFN, PAGE_SIZE } from '../../src/machine/constants';
import { GiB, MiB } from '../../src/util/size';
import { cli, itWith, tempDir } from '../helpers/cli';

describe('construct --mem 4G, then inspect (the quick start)', () => {
  let dir: string;
  let construct: { code: number; out: string; err: string };
  beforeAll(async () => {
    dir = tempDir('qs');
    construct = await cli(['construct', '--mem', '4G'], { cwd: dir });
  });
  const st = (): string => path.join(dir, '.ppc-dombuild');

  it('builds and saves the state with its exports', () => {
    expect(construct.code).toBe(0);
    expect(construct.err).toBe('');
    expect(construct.out).toMatch(/built dom0 on js21/);
    for (const f of ['state.bin', 'dom0.dtb', 'dom0-p2m.bin']) expect(fs.existsSync(path.join(st(), f))).toBe(true);
  });

  it('inspect p2m shows where the table lives and the runs', async () => {
    const r = await cli(['inspect', 'p2m'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/guest-physical/);
    expect(r.out).toMatch(/INVALID_MFN/);
    expect(r.out).toMatch(/rma/);
  });

  it('inspect p2m --json: the table covers the platform limit, 4 GiB of it used, all dom0', async () => {
    const doc = JSON.parse((await cli(['inspect', 'p2m', '--json'], { cwd: dir })).out);
    expect(doc.table.usedEntries).toBe((4 * GiB) / PAGE_SIZE);
    // js21's 16 GiB of RAM, laid from 4 GiB past the 2 GiB hole: the table indexes 18 GiB of pfns.
    expect(doc.table.entries).toBe((18 * GiB) / PAGE_SIZE);
    let pages = 0;
    for (const run of doc.runs) {
      if (run.mfns === null) continue;
      expect(run.owner).toBe('dom0');
      pages += run.pages;
    }
    expect(pages).toBe((4 * GiB) / PAGE_SIZE);
  });

  it('the exported table equals inspect p2m --raw, and every used entry is a dom0 frame, none twice', async () => {
    const raw = (await cli(['inspect', 'p2m', '--raw'], { cwd: dir })).bytes;
    const exported = fs.readFileSync(path.join(st(), 'dom0-p2m.bin'));
    expect(raw.equals(exported)).toBe(true);
    const owners = JSON.parse((await cli(['inspect', 'machine', '--json'], { cwd: dir })).out)
      .owners.map((o: { mfns: { start: number; end: number }; owner: string }) => ({ firstMfn: o.mfns.start, frames: o.mfns.end - o.mfns.start, owner: o.owner })) as { firstMfn: number; frames: number; owner: string }[];
    const dom0Runs = owners.filter((o) => o.owner === 'dom0');
    // The last dom0 run starting at or below mfn must contain it.
    const starts = dom0Runs.map((o) => o.firstMfn);
    const isDom0 = (mfn: number): boolean => {
      let lo = 0;
      let hi = starts.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (starts[mid] <= mfn) lo = mid + 1;
        else hi = mid;
      }
      const o = dom0Runs[lo - 1];
      return !!o && mfn < o.firstMfn + o.frames;
    };
    const seen = new Set<number>();
    const problems: string[] = [];
    for (let i = 0; i < raw.length; i += 4) {
      const mfn = raw.readUInt32BE(i);
      if (mfn === INVALID_MFN) continue;
      if (seen.has(mfn)) problems.push(`mfn ${mfn.toString(16)} twice`);
      seen.add(mfn);
      if (!isDom0(mfn)) problems.push(`pfn ${i / 4} -> mfn ${mfn.toString(16)} is not dom0's`);
    }
    expect(problems).toEqual([]);
    expect(seen.size).toBe((4 * GiB) / PAGE_SIZE);
  });

  it('inspect p2m --pfn and --range', async () => {
    const rma = JSON.parse((await cli(['inspect', 'p2m', '--pfn', '0', '--json'], { cwd: dir })).out).translation;
    expect(rma.owner).toBe('dom0');
    expect(rma.use).toBe('rma');
    // A 4 GiB dom0's map: RAM [0, 2 GiB) and [4 GiB, 6 GiB); pfn 0x80000 (2 GiB) is the IO hole,
    // pfn 0x100000 (4 GiB) RAM again, pfn 0x180000 (6 GiB) past it.
    const hole = JSON.parse((await cli(['inspect', 'p2m', '--pfn', '0x80000', '--json'], { cwd: dir })).out).translation;
    expect(hole).toMatchObject({ mfn: null, owner: 'io', use: 'IO hole (not RAM)' });
    expect(JSON.parse((await cli(['inspect', 'p2m', '--pfn', '0x100000', '--json'], { cwd: dir })).out).translation).toMatchObject({ owner: 'dom0', use: 'extent' });
    const last = JSON.parse((await cli(['inspect', 'p2m', '--pfn', '0x180000', '--json'], { cwd: dir })).out).translation;
    expect(last).toMatchObject({ mfn: null, use: 'invalid' });
    const r = JSON.parse((await cli(['inspect', 'p2m', '--range', '0x3ffe-0x4001', '--json'], { cwd: dir })).out);
    expect(r.runs.reduce((n: number, x: { pages: number }) => n + x.pages, 0)).toBe(4);
    expect(r.runs[0].use).toBe('rma');
    expect(r.runs[r.runs.length - 1].use).toBe('extent');
    const raw = (await cli(['inspect', 'p2m', '--raw', '--range', '1-2'], { cwd: dir })).bytes;
    expect(raw.readUInt32BE(0)).toBe(rma.mfn + 1);
    expect(raw.length).toBe(8);
    const bad = await cli(['inspect', 'p2m', '--pfn', 'zz'], { cwd: dir });
    expect(bad.code).toBe(2);
    // The table ends at 18 GiB of pfns (16 GiB of RAM and the hole): pfn 18 Gi/4 Ki is past it.
    expect((await cli(['inspect', 'p2m', '--pfn', String(18 * 262144)], { cwd: dir })).code).toBe(2);
  });

  it('inspect rma: table, bar and SVG', async () => {
    const r = await cli(['inspect', 'rma', '--svg', 'rma.svg'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/p2m table/);
    expect(r.out).toMatch(/\[K+\.+F?D?P+\.*S\]/);
    const svg = fs.readFileSync(path.join(dir, 'rma.svg'), 'utf8');
    expect(svg).toMatch(/^<\?xml/);
    expect(svg).toMatch(/p2m table/);
    const j = JSON.parse((await cli(['inspect', 'rma', '--json'], { cwd: dir })).out);
    expect(j.regions.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['kernel', 'firmware', 'device tree', 'p2m table', 'shared_info']));
  });

  it('inspect devtree: DTS with /xen/p2m, --path and --dtb', async () => {
    const r = await cli(['inspect', 'devtree'], { cwd: dir });
    expect(r.out).toMatch(/^\/dts-v1\/;/);
    expect(r.out).toMatch(/p2m = </);
    const x = await cli(['inspect', 'devtree', '--path', '/xen', '--dtb', 'out.dtb'], { cwd: dir });
    expect(x.out).toMatch(/xen \{/);
    expect(x.out).not.toMatch(/cpus/);
    expect(fs.readFileSync(path.join(dir, 'out.dtb')).equals(fs.readFileSync(path.join(st(), 'dom0.dtb')))).toBe(true);
    expect((await cli(['inspect', 'devtree', '--path', '/nope'], { cwd: dir })).code).toBe(2);
  });

  it('inspect machine: RAM, owners, free blocks per order', async () => {
    const r = await cli(['inspect', 'machine'], { cwd: dir });
    expect(r.out).toMatch(/free blocks per order/);
    const j = JSON.parse((await cli(['inspect', 'machine', '--json'], { cwd: dir })).out);
    expect(j.ram).toHaveLength(2);
    expect(j.owners.some((o: { use: string }) => o.use === 'hpt dom0')).toBe(true);
  });

  itWith('dtc', 'fdtget')('dtc decodes the exported blob; fdtget reads /xen/p2m pointing at the table, in the RMA, reserved', async () => {
    const dtb = path.join(st(), 'dom0.dtb');
    const dts = execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', dtb], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(dts).toMatch(/p2m = </);
    const cells = execFileSync('fdtget', ['-t', 'x', dtb, '/xen', 'p2m'], { encoding: 'utf8' }).trim().split(/\s+/).map((c) => parseInt(c, 16));
    const paddr = cells[0] * 2 ** 32 + cells[1];
    const size = cells[2] * 2 ** 32 + cells[3];
    const info = JSON.parse((await cli(['inspect', 'p2m', '--json'], { cwd: dir })).out).table;
    expect(paddr).toBe(info.paddrs.start);
    expect(size).toBe(info.bytes);
    expect(paddr + size).toBeLessThanOrEqual(64 * MiB);
    const reserves = [...dts.matchAll(/\/memreserve\/\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+);/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(reserves.some(([a, s]) => a <= paddr && paddr + size <= a + s)).toBe(true);
  });
});

describe('the 32 GiB limit, end to end', () => {
  it('limits --rma 64M --p2m-at 32M shows 32 GiB, 32 GiB - 4 MiB, and with the hole 30 GiB - 16 MiB', async () => {
    const r = await cli(['limits', '--rma', '64M', '--p2m-at', '32M', '--wide'], { cwd: '/' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/= 32 GiB\b/);
    expect(r.out).toMatch(/32 GiB - 4 MiB/);
    expect(r.out).toMatch(/30 GiB - 16 MiB/);
    expect(r.out).toMatch(/skipped the hole .* 32 GiB - 16 MiB/);
    const j = JSON.parse((await cli(['limits', '--rma', '64M', '--p2m-at', '32M', '--json'], { cwd: '/' })).out);
    expect(j.figures.wholeRestBytes).toBe(32 * GiB);
    expect(j.figures.capacityBytes).toBe(32 * GiB - 4 * MiB);
    expect(j.limits.flatTableMaxBytes).toBe(30 * GiB - 16 * MiB);
    expect(j.limits.skipHoleMaxBytes).toBe(32 * GiB - 16 * MiB);
    expect(j.byRmaSize).toHaveLength(6);
    expect(r.out).toMatch(/u32 mfns name 2\^32 - 1 frames .*16 TiB/);
    expect((await cli(['limits', '--entry-size', '8', '--wide'], { cwd: '/' })).out).toMatch(/8-byte entries name every machine frame/);
  });

  it('limits --mem: exit 1 naming the figure, and the minimum RMA', async () => {
    const bad = await cli(['limits', '--machine', 'big64', '--p2m-at', '32M', '--mem', '32G'], { cwd: '/' });
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/does not fit.*p2m-span/);
    expect(bad.out).toMatch(/minimum RMA for 32 GiB: 128 MiB/);
    expect(bad.err).toMatch(/p2m-span, at most 30 GiB - 16 MiB.*minimum RMA for 32 GiB: 128 MiB/);
    const ok = await cli(['limits', '--machine', 'big64', '--p2m-at', '32M', '--mem', '30704M', '--json'], { cwd: '/' });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).check.fits).toBe(true);
    const half = JSON.parse((await cli(['limits', '--p2m-at', '32M', '--entry-size', '8', '--json'], { cwd: '/' })).out);
    expect(half.figures.maxDomainBytes).toBe(16 * GiB - 16 * MiB);
    expect(half.limits.flatTableMaxBytes).toBe(14 * GiB - 16 * MiB);
  });

  it('a construct at the computed limit succeeds and one extent more fails with exit 1', async () => {
    const dir = tempDir('limit');
    const args = ['construct', '--machine', 'big64', '--p2m-placement', '32M', '--of-at', '16M', '--json'];
    // The table from 32 MiB to shared_info: (64 MiB - 4 KiB - 32 MiB) / 4 = 8,387,584 entries,
    // a pfn span of 32 GiB - 4 MiB; the map keeps the 2 GiB IO hole, so RAM is 30 GiB - 4 MiB,
    // 1,919 whole extents = 30,704 MiB. One extent more (30,720 MiB) breaks p2m-span.
    const ok = await cli([...args, '--mem', '30704M'], { cwd: dir });
    expect(ok.code).toBe(0);
    const j = JSON.parse(ok.out);
    expect(j.dom0.memBytes).toBe(30 * GiB - 16 * MiB);
    expect(j.dom0.p2m.usedEntries).toBe((30 * GiB - 16 * MiB) / PAGE_SIZE);
    expect(j.dom0.p2m.entries).toBe((32 * GiB - 16 * MiB) / PAGE_SIZE); // the hole's 512 Ki pfns are in the table
    expect(j.dom0.p2m.paddrs.start).toBe(32 * MiB);
    const over = await cli([...args, '--mem', '30720M'], { cwd: dir });
    expect(over.code).toBe(1);
    expect(over.err).toBe(
      'ppc-dombuild: dom0 of 30 GiB does not fit: it breaks p2m-span, at most 30 GiB - 16 MiB (8387584 entries x 4 KiB = 32 GiB - 4 MiB of pfns, 30 GiB - 4 MiB of RAM less the hole [2 GiB, 4 GiB)) (a smaller --mem; another --p2m-placement; a larger --rma)\n',
    );
    expect(over.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('bad input', () => {
  const dir = tempDir('bad');
  it.each([
    [['construct', '--mem', '4X'], 2, /--mem: '4X' is not a size/],
    [['construct', '--mem', '0'], 2, /--mem: '0' is zero/],
    [['construct', '--rma', '96M'], 2, /RMA size 96 MiB is not one the PPC970 supports/],
    [['construct', '--mem', '32G'], 1, /larger than the machine's RAM|does not fit/],
    [['construct', '--mem', '1G', '--p2m-placement', '32M'], 1, /firmware .* overlaps p2m table|p2m table .* overlaps firmware/],
    [['construct', '--mem', '1G', '--p2m-placement', '0x2000800'], 2, /not page aligned/],
    [['construct', '--machine', 'big64', '--rma', '16G'], 1, /16 GiB RMA is not allocatable \(MAX_ORDER 20\)/],
    [['construct', '--machine', 'nosuch'], 2, /unknown machine 'nosuch'.*js21/],
    [['construct', '--kernel', 'missing.img'], 2, /cannot read it/],
    [['construct', '--bogus'], 2, /unknown option/],
    [['inspect', 'p2m'], 3, /no built state.*construct/],
    [['limits', '--entry-size', '6'], 2, /not 4 or 8/],
    [['frobnicate'], 2, /unknown command/],
  ])('%j exits %d with one line', async (args, code, msg) => {
    const r = await cli(args as string[], { cwd: dir });
    expect(r.code).toBe(code);
    expect(r.err).toMatch(msg as RegExp);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('output conventions', () => {
  it('--trace prints the 12 steps on stderr', async () => {
    const dir = tempDir('trace');
    const r = await cli(['construct', '--mem', '512M', '--trace', '--initrd-size', '2M'], { cwd: dir });
    expect(r.code).toBe(0);
    for (let s = 1; s <= 12; s++) expect(r.err).toMatch(new RegExp(`construct_dom0 +${s}\\]`));
    expect(r.err).toMatch(/arch\.p2m=0x[0-9a-f]+/);
  });

  it('colour only on a TTY and never with NO_COLOR', async () => {
    const dir = tempDir('colour');
    const ESC = '\u001b[';
    expect((await cli(['construct', '--mem', '512M'], { cwd: dir, tty: true })).out).toContain(ESC);
    expect((await cli(['construct', '--mem', '512M'], { cwd: dir, tty: true, env: { NO_COLOR: '1' } })).out).not.toContain(ESC);
    expect((await cli(['construct', '--mem', '512M'], { cwd: dir })).out).not.toContain(ESC);
  });

  it('--json on every command gives one JSON document', async () => {
    const dir = tempDir('json');
    const runs = [['construct', '--mem', '512M', '--json'], ['inspect', 'p2m', '--json'], ['inspect', 'rma', '--json'], ['inspect', 'devtree', '--json'], ['inspect', 'machine', '--json'], ['limits', '--json']];
    const docs: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const args of runs) {
      const r = await cli(args, { cwd: dir });
      expect(r.code).toBe(0);
      expect(r.out.trim()).toMatch(/^\{[\s\S]*\}$/); // one object, nothing before or after it
      docs.push(JSON.parse(r.out));
    }
    const [c, p2m, rma, dt, mach, lim] = docs;
    // Each document carries the figures of the default machine (js21, 16 GiB) and --mem 512M, by hand:
    // 512 MiB = 131072 pages; (512 - 64) / 16 = 28 extents beyond the 64 MiB RMA (RMLS 3);
    // hash table (131072 >> 6) >> 8 = 8 MiB, a power of two: ibm,pft-size 23;
    // the table after the OF area: 32 MiB + 68 KiB device tree + 64 KiB slot = 32 MiB + 132 KiB = 0x2021000,
    // holding floor((64 MiB - 4 KiB - 0x2021000) / 4) = 8353792 entries up to shared_info.
    expect(c.dom0).toMatchObject({ memBytes: 512 * MiB, memPages: 131072, extents: 28 });
    expect(c.dom0.rma).toMatchObject({ bytes: 64 * MiB, rmls: 3, rmor: c.dom0.rma.maddrs.start / (64 * MiB) });
    expect(c.dom0.rma.mfns.start * PAGE_SIZE).toBe(c.dom0.rma.maddrs.start);
    expect(c.dom0.hpt).toMatchObject({ bytes: 8 * MiB, pftSizeLog2: 23 });
    expect(c.dom0.p2m).toMatchObject({ paddrs: { start: 0x2021000 }, capacityEntries: 8353792, usedEntries: 131072 });
    expect(c.dom0.p2m.bytes).toBe(c.dom0.p2m.entries * 4);
    expect(c.dom0.p2m.invalidEntries).toBe(c.dom0.p2m.entries - 131072);
    // inspect p2m: the same table; pfn 0 is the RMA's first frame (step 6: p2m[i] = rma_mfn + i).
    expect(p2m).toMatchObject({ domid: 0, table: { paddrs: { start: 0x2021000 }, usedEntries: 131072, keeper: 'guest' } });
    expect(p2m.runs[0]).toMatchObject({ pfns: { start: 0, end: 16384 }, pages: 16384, mfns: { start: c.dom0.rma.mfns.start }, use: 'rma' });
    // inspect rma: 64 MiB, stack 112 bytes below r5 = 32 MiB, regions covering [0, 64 MiB) once.
    expect(rma).toMatchObject({ domid: 0, rma: { bytes: 64 * MiB }, stackPointer: 32 * MiB - 112, capacityEntries: 8353792 });
    expect(rma.regions[0].paddrs.start).toBe(0);
    expect(rma.regions[rma.regions.length - 1].paddrs.end).toBe(64 * MiB);
    // inspect devtree: FDT 17/16; the whole table (entries x 4 bytes from 0x2021000) and shared_info's
    // page 0x3fff000 are in the reservation block.
    expect(dt).toMatchObject({ version: 17, lastCompVersion: 16 });
    const rsv = dt.reservations.map((r: { paddrs: { start: number }; bytes: number }) => [r.paddrs.start, r.bytes]);
    expect(rsv).toContainEqual([0x2021000, c.dom0.p2m.bytes]);
    expect(rsv).toContainEqual([64 * MiB - 4096, 4096]);
    // inspect machine: 16 GiB of RAM around the IO hole: [0, 2 GiB) and [4 GiB, 4 GiB + 14 GiB).
    expect(mach.ram.map((r: { maddrs: { start: number }; bytes: number }) => [r.maddrs.start, r.bytes])).toEqual([[0, 2 * GiB], [4 * GiB, 14 * GiB]]);
    // limits: the same 64 MiB layout; 8353792 entries x 4 KiB = 34217132032 bytes of pfn span.
    expect(lim.figures).toMatchObject({ rmaBytes: 64 * MiB, p2mPaddr: 0x2021000, entryBytes: 4, capacityEntries: 8353792, capacityBytes: 34217132032 });
  });

  it('a kernel and initrd from files, with the entry point from the ELF header', async () => {
    const dir = tempDir('img');
    const elf = Buffer.alloc(8192);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1]);
    elf.writeUInt16BE(2, 16);
    elf.writeUInt16BE(21, 18);
    elf.writeBigUInt64BE(0xc000000000000100n, 24);
    fs.writeFileSync(path.join(dir, 'vmlinux'), elf);
    fs.writeFileSync(path.join(dir, 'initrd'), Buffer.alloc(3 * 4096 + 5, 1));
    const r = JSON.parse((await cli(['construct', '--kernel', 'vmlinux', '--initrd', 'initrd', '--json'], { cwd: dir })).out);
    expect(r.dom0.vcpu0.pc).toBe('0x100');
    expect(r.dom0.vcpu0.r3).toBe('0x2000'); // initrd right after the 8 KiB kernel
    expect(r.dom0.vcpu0.r4).toBe('0x' + (3 * 4096 + 5).toString(16));
    const dts = (await cli(['inspect', 'devtree', '--path', '/chosen'], { cwd: dir })).out;
    expect(dts).toMatch(/linux,initrd-start/);
  });
});
