/** The firmware fixtures: what RAM and cpus they describe, and that each .dtb is its .dts compiled. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readFdt } from '../../src/devtree/fdt_ro';
import { bootCpuNode, machineRamFromTree } from '../../src/devtree/ofd_fixup';
import { FIXTURES, fixtureBlobs, itWith, tmpFile } from './helpers';

const GiB = 1n << 30n;

/** docs/machine.md: R bytes of RAM sit at [0, min(R, 2 GiB)) and [4 GiB, 4 GiB + R - 2 GiB). */
function ramLayout(r: bigint): { address: bigint; size: bigint }[] {
  const low = r < 2n * GiB ? r : 2n * GiB;
  return r > 2n * GiB ? [{ address: 0n, size: low }, { address: 4n * GiB, size: r - 2n * GiB }] : [{ address: 0n, size: low }];
}

const expected: Record<string, { ram: { address: bigint; size: bigint }[]; cpus: number; bootCpu: string }> = {
  js21: { ram: ramLayout(16n * GiB), cpus: 4, bootCpu: 'PowerPC,970MP@0' },
  big64: { ram: ramLayout(64n * GiB), cpus: 4, bootCpu: 'PowerPC,970MP@0' },
  maple: { ram: ramLayout(2n * GiB), cpus: 2, bootCpu: 'PowerPC,970FX@0' },
  // QEMU's pseries machine has no I/O hole in its guest-physical map: one block from 0.
  'qemu-pseries-8g': { ram: [{ address: 0n, size: 8n * GiB }], cpus: 2, bootCpu: 'PowerPC,UNKNOWN@0' },
  'qemu-pseries-2g': { ram: [{ address: 0n, size: 2n * GiB }], cpus: 1, bootCpu: 'PowerPC,UNKNOWN@0' },
};

describe('firmware fixtures', () => {
  const fixtures = fixtureBlobs();

  it('ship every expected board', () => {
    expect(fixtures.map((f) => f.name).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s describes its RAM and cpus', (name, f) => {
    const tree = readFdt(f.blob);
    const want = expected[name]!;
    expect(machineRamFromTree(tree)).toEqual(want.ram);
    const cpus = tree.root.children.find((c) => c.name === 'cpus')!;
    expect(cpus.children.filter((c) => c.name.startsWith('PowerPC,'))).toHaveLength(want.cpus);
    expect(bootCpuNode(tree)?.name).toBe(want.bootCpu);
  });

  it('include a machine with more than 32 GiB of RAM', () => {
    const big = readFdt(fixtures.find((f) => f.name === 'big64')!.blob);
    const total = machineRamFromTree(big).reduce((n, r) => n + r.size, 0n);
    expect(total).toBe(64n * GiB);
    expect(total > 32n * GiB).toBe(true);
  });

  it('picks the boot cpu from boot_cpuid_phys', () => {
    const tree = readFdt(fixtures.find((f) => f.name === 'js21')!.blob);
    tree.bootCpuidPhys = 2;
    expect(bootCpuNode(tree)?.name).toBe('PowerPC,970MP@2');
    tree.bootCpuidPhys = 99; // no such cpu: the first one
    expect(bootCpuNode(tree)?.name).toBe('PowerPC,970MP@0');
  });

  it('are small', () => {
    for (const f of fixtures) expect(f.blob.length).toBeLessThan(64 * 1024);
  });

  itWith('dtc')('are the committed .dts sources compiled by dtc', () => {
    for (const name of ['js21', 'maple', 'big64']) {
      const out = tmpFile(`${name}.compiled.dtb`, new Uint8Array(0));
      const r = spawnSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', out, path.join(FIXTURES, `${name}.dts`)], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(fs.readFileSync(out).equals(fs.readFileSync(path.join(FIXTURES, `${name}.dtb`)))).toBe(true);
    }
  });
});
