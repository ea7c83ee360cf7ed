import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { GiB, MiB } from '../../src/util/size';
import { cli, itWith, tempDir } from '../helpers/cli';

const FW = path.resolve(__dirname, '../../fixtures/firmware');
const fixtures = fs.readdirSync(FW).filter((f) => f.endsWith('.dtb')).sort();

/** DTS text with the top-level nodes and root properties the dom0 fix-up rewrites taken out. */
function untouched(dts: string): string {
  const out: string[] = [];
  let skipping = false;
  for (const line of dts.split('\n')) {
    if (skipping) {
      if (line === '\t};') skipping = false;
      continue;
    }
    if (/^\t(memory(@[0-9a-f]+)?|cpus|chosen|xen) \{$/.test(line)) {
      skipping = true;
      continue;
    }
    if (/^\/memreserve\//.test(line) || /^\tibm,partition-(name|no) = /.test(line)) continue;
    out.push(line);
  }
  return out.filter((l) => l.trim() !== '').join('\n');
}

const dtc = (file: string): string => execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', file], { encoding: 'latin1' });
const fdtget = (file: string, node: string, prop: string): number[] =>
  execFileSync('fdtget', ['-t', 'x', file, node, prop], { encoding: 'utf8' }).trim().split(/\s+/).map((c) => parseInt(c, 16));
const u64s = (cells: number[]): number[] => cells.reduce<number[]>((acc, c, i) => (i % 2 ? [...acc.slice(0, -1), acc[acc.length - 1] * 2 ** 32 + c] : [...acc, c]), []);

describe('construct --firmware-dtb', () => {
  it.each(fixtures)('%s: dom0 is built from the firmware tree', async (f) => {
    const dir = tempDir('fw');
    const r = await cli(['construct', '--firmware-dtb', path.join(FW, f), '--mem', '512M', '--json'], { cwd: dir });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.machine.source).toBe(path.join(FW, f));
    const dts = (await cli(['inspect', 'devtree'], { cwd: dir })).out;
    expect(dts).toMatch(/ibm,partition-name = "dom0";/);
    expect(dts).toMatch(/memory@0 \{/);
    expect(dts).toMatch(/p2m = </);
  });

  itWith('dtc')('keeps everything the fix-up does not change, as dtc reads it', async () => {
    for (const f of fixtures) {
      const dir = tempDir('fwrt');
      expect((await cli(['construct', '--firmware-dtb', path.join(FW, f), '--mem', '512M'], { cwd: dir })).code).toBe(0);
      const ours = dtc(path.join(dir, '.ppc-dombuild', 'dom0.dtb'));
      expect(untouched(ours)).toBe(untouched(dtc(path.join(FW, f))));
      // And `inspect devtree` prints what dtc prints for the same blob, so the two can be diffed.
      expect((await cli(['inspect', 'devtree'], { cwd: dir })).bytes.toString('latin1')).toBe(ours);
    }
  });

  itWith('fdtget')('a QEMU pseries tree with 8 GiB: fdtget reads /xen/p2m, ibm,pft-size and memory reg', async () => {
    const dir = tempDir('qemu8');
    const r = await cli(['construct', '--firmware-dtb', path.join(FW, 'qemu-pseries-8g.dtb'), '--mem', '4G', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.machine.ramBytes).toBe(8 * GiB);
    const dtb = path.join(dir, '.ppc-dombuild', 'dom0.dtb');
    expect(u64s(fdtget(dtb, '/xen', 'p2m'))).toEqual([j.dom0.p2m.paddrs.start, j.dom0.p2m.bytes]);
    const cpu = execFileSync('fdtget', ['-l', dtb, '/cpus'], { encoding: 'utf8' }).trim().split('\n');
    expect(cpu).toHaveLength(1);
    expect(fdtget(dtb, `/cpus/${cpu[0]}`, 'ibm,pft-size')).toEqual([0, Math.log2(j.dom0.hpt.bytes)]);
    expect(u64s(fdtget(dtb, '/memory@0', 'reg'))).toEqual([0, 64 * MiB]);
    expect(u64s(fdtget(dtb, '/memory@4000000', 'reg'))).toEqual([64 * MiB, 4 * GiB - 64 * MiB]);
    const v = await cli(['validate'], { cwd: dir });
    expect(v.err).toBe('');
    expect(v.code).toBe(0);
  });

  it('--ram overrides the tree\'s memory; a broken blob exits 2 with its offset', async () => {
    const dir = tempDir('fwbad');
    const big = JSON.parse((await cli(['construct', '--firmware-dtb', path.join(FW, 'maple.dtb'), '--ram', '8G', '--mem', '4G', '--json'], { cwd: dir })).out);
    expect(big.machine.ramBytes).toBe(8 * GiB);
    const blob = fs.readFileSync(path.join(FW, 'maple.dtb'));
    blob.writeUInt32BE(0x10000, 12); // off_mem_rsvmap far outside the blob
    fs.writeFileSync(path.join(dir, 'bad.dtb'), blob);
    const bad = await cli(['construct', '--firmware-dtb', 'bad.dtb'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/bad\.dtb: .*0x[0-9a-f]+/);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
    fs.writeFileSync(path.join(dir, 'empty.dtb'), '');
    expect((await cli(['construct', '--firmware-dtb', 'empty.dtb'], { cwd: dir })).code).toBe(2);
    expect((await cli(['construct', '--firmware-dtb', 'nothere.dtb'], { cwd: dir })).code).toBe(2);
  });
});
