/**
 * dom0's memory as Xen lays it out (issue: "dom0's memory as Xen lays it out, and
 * every limit that binds, named"). Figures are worked out by hand from the C, with the
 * line each rule comes from (xen-project/xen at 1aa3c54a31^ for xen/arch/powerpc,
 * a046da3892 for xen/common).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PAGE_SIZE } from '../../src/machine/constants';
import { decodeState, encodeState } from '../../src/state/snapshot';
import { GiB, MiB } from '../../src/util/size';
import { cli, itWith, tempDir } from '../helpers/cli';

const stateOf = (dir: string): string => path.join(dir, '.ppc-dombuild', 'state.bin');

/** `fdtget -t x` of a node's reg, as numbers: two-cell (address, size) pairs. */
function regOf(dtb: string, node: string): number[] {
  const words = execFileSync('fdtget', ['-t', 'x', dtb, node, 'reg'], { encoding: 'utf8' }).trim().split(/\s+/).map((w) => parseInt(w, 16));
  const out: number[] = [];
  for (let i = 0; i < words.length; i += 2) out.push(words[i] * 2 ** 32 + words[i + 1]);
  return out;
}

describe('a 6 GiB dom0 on js21: RAM shifted past the IO hole', () => {
  const dir = tempDir('map6g');
  beforeAll(async () => {
    const r = await cli(['construct', '--mem', '6G'], { cwd: dir });
    expect(r.code).toBe(0);
  });

  itWith('fdtget')('fdtget: memory nodes add up to 6 GiB, none inside [2 GiB, 4 GiB), one at 4 GiB', () => {
    const dtb = path.join(dir, '.ppc-dombuild', 'dom0.dtb');
    const nodes = execFileSync('fdtget', ['-l', dtb, '/'], { encoding: 'utf8' }).split('\n').filter((n) => n.startsWith('memory'));
    // ofd_fixup_memory.c:79-84 (the RMA node), :94-112 (up to platform_iohole_base(), then
    // the rest from its end; platform.c:25-32: the hole is [2 GiB, 4 GiB)).
    expect(nodes).toEqual(['memory@0', 'memory@4000000', 'memory@100000000']);
    const regs = nodes.map((n) => regOf(dtb, `/${n}`));
    expect(regs).toEqual([[0, 64 * MiB], [64 * MiB, 2 * GiB - 64 * MiB], [4 * GiB, 4 * GiB]]);
    expect(regs.reduce((n, [, size]) => n + size, 0)).toBe(6 * GiB);
    for (const [a, size] of regs) expect(a + size <= 2 * GiB || a >= 4 * GiB).toBe(true);
  });

  it('inspect p2m --pfn in the hole says so; validate exits 0', async () => {
    const r = await cli(['inspect', 'p2m', '--pfn', '0xc0000'], { cwd: dir });
    expect(r.out).toMatch(/pfn 0xc0000 .*-> INVALID_MFN, io IO hole \(not RAM\)/);
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
  });

  it('the table indexes the whole span: 16 GiB of RAM + the 2 GiB hole = 18 GiB of pfns', async () => {
    const doc = JSON.parse((await cli(['inspect', 'p2m', '--json'], { cwd: dir })).out);
    expect(doc.table.entries).toBe((18 * GiB) / PAGE_SIZE);
    expect(doc.table.usedEntries).toBe((6 * GiB) / PAGE_SIZE);
    const hole = doc.runs.find((r: { pfns: { start: number } }) => r.pfns.start === 0x80000);
    expect(hole).toMatchObject({ pfns: { start: 0x80000, end: 0x100000 }, pages: 0x80000, mfns: null, owner: 'io' });
  });

  it('a state forged to put RAM in the hole is caught by ram-outside-mmio', async () => {
    const sys = decodeState(fs.readFileSync(stateOf(dir)), 'test');
    const d = sys.dom0();
    // Move the first extent past 2 GiB (pfn 0x100000's frames) down onto pfns 0x80000.. of the hole.
    const t = d.p2m();
    for (let i = 0; i < 4096; i++) t.set(0x80000 + i, t.get(0x100000 + i));
    const bad = tempDir('map6g-bad');
    fs.mkdirSync(path.join(bad, '.ppc-dombuild'));
    fs.writeFileSync(stateOf(bad), Buffer.concat(encodeState(sys)));
    const r = await cli(['validate', '--json'], { cwd: bad });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out);
    expect(doc.invariants.find((i: { name: string }) => i.name === 'ram-outside-mmio')).toMatchObject({ status: 'broken' });
    expect(JSON.stringify(doc)).toMatch(/pfns 0x80000\.\.0x80fff lie in/);
  });
});

describe("the heap as page_alloc.c keeps it: js21's RMA comes from its top zone", () => {
  it('the 64 MiB RMA is the top of [16 GiB, 18 GiB), zone 22 (fls(0x47c000) - 1)', async () => {
    // page_alloc.c:320 (zone = fls(mfn) - 1), :365 (highest zone first), :393-398 (the upper
    // half kept on a split): RAM ends at 18 GiB (RAM [4 GiB, 18 GiB) past the hole), so the
    // order-14 block is [18 GiB - 64 MiB, 18 GiB).
    const dir = tempDir('rmazone');
    const doc = JSON.parse((await cli(['construct', '--mem', '1G', '--no-boot', '--json'], { cwd: dir })).out);
    expect(doc.dom0.rma.maddrs.start).toBe(18 * GiB - 64 * MiB);
  });
});

describe("dom0's hash table as domain_build.c sizes it", () => {
  const pft = async (mem: string, extra: string[] = []): Promise<number> => {
    const dir = tempDir('pft');
    const doc = JSON.parse((await cli(['construct', '--mem', mem, '--no-boot', '--json', ...extra], { cwd: dir })).out);
    return doc.dom0.hpt.pftSizeLog2;
  };
  it('just above a power of two: 4112 MiB -> 64 MiB (2^26), 4160 MiB -> 128 MiB (2^27)', async () => {
    // domain_build.c:141: (tot_pages >> 6) >> 8 MiB, truncated; shadow.c:97-100: pages up to a power of two.
    // 4112 MiB = 1052672 pages: >> 6 = 16448, >> 8 = 64 MiB = 16384 pages, a power of two: 2^26 bytes.
    expect(await pft('4112M')).toBe(26);
    // 4160 MiB = 1064960 pages: >> 6 = 16640, >> 8 = 65 MiB = 16640 pages -> 32768 pages: 2^27 bytes.
    expect(await pft('4160M')).toBe(27);
  });
  it('--htab-mb sets it (Xen\'s dom0_shadow=), still rounded up to a power of two', async () => {
    // 48 MiB = 12288 pages -> 16384 pages = 64 MiB (shadow.c:97-100).
    expect(await pft('1G', ['--htab-mb', '48'])).toBe(26);
  });
});

describe('every limit that binds, named; construct agrees with limits', () => {
  it('--ram 64G, table at 32 MiB: the largest dom0 construct takes and the first it refuses are what limits says', async () => {
    const dir = tempDir('limits64');
    const lim = JSON.parse((await cli(['limits', '--ram', '64G', '--p2m-at', '32M', '--of-at', '16M', '--json'], { cwd: dir })).out);
    // (64 MiB - 4 KiB - 32 MiB) / 4 = 8,387,584 entries = 32 GiB - 4 MiB of pfns; less the 2 GiB hole,
    // 30 GiB - 4 MiB of RAM: 1,919 whole extents = 30,704 MiB (docs/limits.md).
    expect(lim.limits.maxDom0Bytes).toBe(30_704 * MiB);
    expect(lim.limits.binding).toBe('p2m-span');
    const args = ['construct', '--ram', '64G', '--p2m-placement', '32M', '--of-at', '16M', '--no-boot'];
    expect((await cli([...args, '--mem', '30704M'], { cwd: dir })).code).toBe(0);
    const over = await cli([...args, '--mem', '30720M'], { cwd: dir });
    expect(over.code).toBe(1);
    expect(over.err).toMatch(/does not fit: it breaks p2m-span/);
    expect(over.err).not.toMatch(/more RAM/);
    expect(over.err.trim().split('\n')).toHaveLength(1);
  });

  it('--rma 16G on a 1 TiB machine is refused, naming MAX_ORDER, not RAM', async () => {
    const dir = tempDir('rma16g');
    const r = await cli(['construct', '--ram', '1T', '--rma', '16G', '--mem', '32G'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/16 GiB RMA is not allocatable \(MAX_ORDER 20\)/);
    expect(r.err).not.toMatch(/more RAM/);
    expect(fs.existsSync(stateOf(dir))).toBe(false);
  });
});

describe('a firmware without the hole keeps its own map', () => {
  it('QEMU pseries (one memory@0 of 8 GiB): flat, and construct says why', async () => {
    const dir = tempDir('pseries');
    const fw = path.resolve(__dirname, '../../fixtures/firmware/qemu-pseries-8g.dtb');
    const r = await cli(['construct', '--firmware-dtb', fw, '--mem', '3G', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.notes.join(' ')).toMatch(/flat: the firmware tree's own RAM runs through \[2 GiB, 4 GiB\)/);
    // 8 GiB of RAM at [0, 8 GiB) and no hole: the table indexes 8 GiB of pfns.
    expect(doc.dom0.p2m.entries).toBe((8 * GiB) / PAGE_SIZE);
    const p = JSON.parse((await cli(['inspect', 'p2m', '--pfn', '0x80000', '--json'], { cwd: dir })).out).translation;
    expect(p.owner).toBe('dom0');
    expect((await cli(['validate'], { cwd: dir })).code).toBe(0);
  });
});

describe('legacy, told honestly', () => {
  it('a legacy dom0 over 2 GiB says upstream capped it; --legacy-cap builds what upstream built', async () => {
    const dir = tempDir('legacycap');
    const un = JSON.parse((await cli(['construct', '--translation', 'legacy', '--mem', '3G', '--json'], { cwd: dir })).out);
    expect(un.notes.join(' ')).toMatch(/upstream capped this dom0 at 2 GiB/);
    expect(un.dom0.memBytes).toBe(3 * GiB);
    const cap = JSON.parse((await cli(['construct', '--translation', 'legacy', '--legacy-cap', '--mem', '3G', '--json'], { cwd: dir })).out);
    // domain_build.c:114-119: dom0_nrpages = platform_iohole_base() >> PAGE_SHIFT: 2 GiB.
    expect(cap.dom0.memBytes).toBe(2 * GiB);
    expect(cap.notes.join(' ')).toMatch(/Limiting DOM0 memory size to 2048 MiB to avoid IO hole/);
    const refused = await cli(['construct', '--legacy-cap', '--mem', '3G'], { cwd: dir });
    expect(refused.code).toBe(2);
  });
});
