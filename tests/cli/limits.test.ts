import * as path from 'path';
import { GiB, MiB } from '../../src/util/size';
import { cli } from '../helpers/cli';

const limits = async (args: string[]) => cli(['limits', ...args], { cwd: '/' });
const doc = async (args: string[]) => JSON.parse((await limits([...args, '--json'])).out);
const QEMU_8G = path.resolve(__dirname, '..', '..', 'fixtures', 'firmware', 'qemu-pseries-8g.dtb');

describe('limits: every constraint, and the one that binds', () => {
  it('names each constraint with its figure; 16G and 256G rows are not allocatable', async () => {
    const r = await limits(['--p2m-at', '32M', '--of-at', '16M', '--wide']);
    expect(r.code).toBe(0);
    for (const n of ['p2m-span', 'entry-width', 'rma-allocatable', 'hpt-block', 'machine-ram']) expect(r.out).toContain(n);
    expect(r.out.match(/not allocatable \(MAX_ORDER 20\)/g)).toHaveLength(2);
    const j = await doc(['--p2m-at', '32M', '--of-at', '16M']);
    const rows = j.byRmaSize as { rmaBytes: number; maxDom0Bytes: number | null; binding: string }[];
    for (const big of [16 * GiB, 256 * GiB]) {
      const row = rows.find((x) => x.rmaBytes === big)!;
      expect(row.maxDom0Bytes).toBeNull();
      expect(row.binding).toBe('rma-allocatable');
    }
    expect(j.limits.constraints.map((c: { name: string }) => c.name).sort()).toEqual(['entry-width', 'hpt-block', 'machine-ram', 'p2m-span', 'rma-allocatable']);
    expect(j.limits.constraints.filter((c: { binds: boolean }) => c.binds)).toHaveLength(1);
  });

  it('js21 (16 GiB): RAM binds at 991 extents = 15,856 MiB; --ram 64G: the span, 30 GiB - 16 MiB', async () => {
    const js21 = await doc(['--p2m-at', '32M', '--of-at', '16M']);
    expect(js21.machine.name).toBe('js21');
    expect(js21.limits.binding).toBe('machine-ram');
    expect(js21.limits.maxDom0Bytes).toBe(15_856 * MiB); // (2048 - 528 + 14336) MiB / 16
    const big = await doc(['--ram', '64G', '--p2m-at', '32M', '--of-at', '16M']);
    expect(big.limits.binding).toBe('p2m-span');
    expect(big.limits.maxDom0Bytes).toBe(30 * GiB - 16 * MiB);
  });

  it('a 1 TiB machine with a 1 GiB RMA: the hash table block binds at 256 GiB + 48 MiB; 64 MiB: the span', async () => {
    const j = await doc(['--ram', '1T', '--rma', '1G', '--p2m-at', '32M', '--of-at', '16M']);
    expect(j.limits.binding).toBe('hpt-block');
    expect(j.limits.maxDom0Bytes).toBe(256 * GiB + 48 * MiB);
    expect((await doc(['--ram', '1T', '--p2m-at', '32M', '--of-at', '16M'])).limits.binding).toBe('p2m-span');
  });

  it('a firmware tree without the IO hole keeps the map flat: 32 GiB - 16 MiB from the span', async () => {
    const j = await doc(['--firmware-dtb', QEMU_8G, '--ram', '64G', '--p2m-at', '32M', '--of-at', '16M']);
    expect(j.hole).toBeNull();
    expect(j.limits.flatTableMaxBytes).toBe(32 * GiB - 16 * MiB);
  });

  it('--mem 32768M prints its line on stderr (RAM binds: no RMA alone helps, more RAM with a 128 MiB RMA does)', async () => {
    const r = await limits(['--mem', '32768M']);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/dom0 of 32 GiB does not fit: it breaks machine-ram, at most 15 GiB \+ 496 MiB/);
    expect(lines[0]).toMatch(/no RMA size helps.*more RAM would/);
    const j = await limits(['--mem', '32768M', '--json']);
    expect(j.code).toBe(1);
    expect(j.err).toMatch(/does not fit/);
    expect(JSON.parse(j.out).check.broken.name).toBe('machine-ram');
  });

  it('never suggests more RAM where it cannot help', async () => {
    const r = await limits(['--ram', '1T', '--rma', '1G', '--mem', '300G']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/breaks hpt-block, at most 256 GiB \+ 48 MiB/);
    expect(r.err).toMatch(/no RMA, RAM or entry size helps/);
    expect(r.err).not.toMatch(/more RAM would/);
    const rma = await limits(['--rma', '16G', '--mem', '4G']);
    expect(rma.code).toBe(1);
    expect(rma.err).toMatch(/not allocatable \(MAX_ORDER 20\).*minimum RMA for 4 GiB: 64 MiB/);
  });
});
