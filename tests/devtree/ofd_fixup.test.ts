import { toDts } from '../../src/devtree/dts';
import { readFdt } from '../../src/devtree/fdt_ro';
import { writeFdt } from '../../src/devtree/fdt_wr';
import { Dom0TreeParams, bootCpuNode, fixupDom0Tree, machineRamFromTree } from '../../src/devtree/ofd_fixup';
import { DeviceTree, DeviceTreeError, FdtNode, cloneTree, dec, emptyTree, enc, findNode, getProp } from '../../src/devtree/tree';
import { dtcDecompile, fdtget, fixtureBlobs, installedDtcStyle, itWith } from './helpers';

const MiB = 1 << 20;
const fixtures = fixtureBlobs();
const firmware = (name: string): DeviceTree => readFdt(fixtures.find((f) => f.name === name)!.blob);

/** A dom0 of 1 GiB with a 64 MiB RMA, laid out as docs/rma-layout.md says. */
const params: Dom0TreeParams = {
  memory: [{ start: 0, size: 64 * MiB }, { start: 64 * MiB, size: 960 * MiB }],
  pftSizeLog2: 24,
  bootargs: 'root=/dev/sda1 console=hvc0',
  initrd: { start: 0x800000, end: 0xa00000 },
  xen: {
    domid: 0,
    version: 'Xen-3.0-unstable',
    sharedInfo: { address: 64 * MiB - 4096, size: 4096 },
    p2m: { address: 32 * MiB + 0x2000, size: 262144 * 4 },
    privileged: true,
    initdomain: true,
  },
  reservations: [
    { address: 64 * MiB - 4096, size: 4096 }, // shared_info
    { address: 32 * MiB, size: 0x1000 }, // firmware
    { address: 32 * MiB + 0x1000, size: 0x1000 }, // device tree
    { address: 32 * MiB + 0x2000, size: 262144 * 4 }, // p2m table
  ],
};

/** The firmware tree without everything the fix-up is allowed to touch. */
function untouched(tree: DeviceTree): FdtNode {
  const t = cloneTree(tree);
  const root = t.root;
  root.props = root.props.filter((p) => !p.name.startsWith('ibm,partition-'));
  root.children = root.children.filter((c) => c.name !== 'chosen' && c.name !== 'xen' && !c.name.startsWith('memory'));
  const cpus = root.children.find((c) => c.name === 'cpus');
  if (cpus) {
    cpus.children = cpus.children.filter((c) => !c.props.some((p) => p.name === 'device_type' && dec.str(p.value) === 'cpu'));
  }
  return root;
}

const hexCells = (...cells: number[]): string => cells.map((c) => c.toString(16)).join(' ');

describe('fixupDom0Tree', () => {
  it.each(fixtures.map((f) => [f.name] as const))('fixes up %s for dom0', (name) => {
    const fw = firmware(name);
    const before = writeFdt(fw);
    const dom0 = fixupDom0Tree(fw, params);
    expect(Buffer.from(writeFdt(fw)).equals(Buffer.from(before))).toBe(true); // input untouched

    // Memory: the RMA and the rest, nothing else.
    const mems = dom0.root.children.filter((c) => c.name.startsWith('memory'));
    expect(mems.map((m) => m.name)).toEqual(['memory@0', 'memory@4000000']);
    expect(machineRamFromTree(dom0)).toEqual([
      { address: 0n, size: BigInt(64 * MiB) },
      { address: BigInt(64 * MiB), size: BigInt(960 * MiB) },
    ]);
    for (const m of mems) expect(dec.str(getProp(m, 'device_type')!.value)).toBe('memory');

    // One cpu, the boot cpu, with the hash table size; its other properties as they were.
    const boot = bootCpuNode(fw)!;
    const cpus = findNode(dom0.root, '/cpus')!;
    const cpuNodes = cpus.children.filter((c) => getProp(c, 'device_type') && dec.str(getProp(c, 'device_type')!.value) === 'cpu');
    expect(cpuNodes.map((c) => c.name)).toEqual([boot.name]);
    expect([...getProp(cpuNodes[0]!, 'ibm,pft-size')!.value]).toEqual([...enc.u32(0, 24)]);
    expect(cpuNodes[0]!.props.filter((p) => p.name !== 'ibm,pft-size')).toEqual(boot.props.filter((p) => p.name !== 'ibm,pft-size'));

    // /chosen, the partition, /xen.
    const chosen = findNode(dom0.root, '/chosen')!;
    expect(dec.str(getProp(chosen, 'bootargs')!.value)).toBe(params.bootargs);
    expect(dec.u64(getProp(chosen, 'linux,initrd-start')!.value)).toBe(0x800000n);
    expect(dec.u64(getProp(chosen, 'linux,initrd-end')!.value)).toBe(0xa00000n);
    const mine = new Set(['bootargs', 'linux,initrd-start', 'linux,initrd-end']);
    const others = (n: FdtNode | undefined) => (n ? n.props.filter((p) => !mine.has(p.name)) : []);
    expect(others(chosen)).toEqual(others(findNode(fw.root, '/chosen')));
    expect(dec.str(getProp(dom0.root, 'ibm,partition-name')!.value)).toBe('dom0');
    expect(dec.u32(getProp(dom0.root, 'ibm,partition-no')!.value)).toBe(0);
    const xen = findNode(dom0.root, '/xen')!;
    // ofd_xen_props' order (xen/arch/powerpc/ofd_fixup.c:323-352 @ 1aa3c54a31^), then the proposal's p2m.
    expect(xen.props.map((p) => p.name)).toEqual(['reg', 'name', 'version', 'shared-info', 'reserved', 'privileged', 'initdomain', 'p2m']);
    expect(getProp(xen, 'reg')!.value.length).toBe(4); // s32 dom_id (:319-323)
    expect(dec.u32(getProp(xen, 'reg')!.value)).toBe(0);
    expect([...getProp(xen, 'name')!.value]).toEqual([0x78, 0x65, 0x6e, 0]); // &path[1], sizeof("/xen") - 1 bytes (:324)
    expect(getProp(xen, 'reserved')!.value).toEqual(getProp(xen, 'shared-info')!.value); // the same val[] (:332-337)
    const console = findNode(dom0.root, '/xen/console')!;
    expect([...getProp(console, 'interrupts')!.value]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]); // sizeof (val[0]), a u64 0 (:356-357)
    expect(dec.str(getProp(xen, 'version')!.value)).toBe('Xen-3.0-unstable');
    expect([dec.u64(getProp(xen, 'shared-info')!.value, 0), dec.u64(getProp(xen, 'shared-info')!.value, 1)]).toEqual([BigInt(64 * MiB - 4096), 4096n]);
    expect([dec.u64(getProp(xen, 'p2m')!.value, 0), dec.u64(getProp(xen, 'p2m')!.value, 1)]).toEqual([BigInt(32 * MiB + 0x2000), 1048576n]);
    expect(getProp(xen, 'privileged')!.value.length).toBe(0);

    // The reservation block: the given regions, sorted.
    expect(dom0.reservations).toEqual([
      { address: BigInt(32 * MiB), size: 0x1000n },
      { address: BigInt(32 * MiB + 0x1000), size: 0x1000n },
      { address: BigInt(32 * MiB + 0x2000), size: 1048576n },
      { address: BigInt(64 * MiB - 4096), size: 4096n },
    ]);

    // Everything else passes through unchanged, byte for byte.
    expect(untouched(dom0)).toEqual(untouched(fw));

    // And the blob is one the strict reader takes back.
    expect(readFdt(writeFdt(dom0))).toEqual(dom0);
  });

  it('leaves out memory@<rma> when dom0 is only its RMA, and the flags when not set', () => {
    const dom0 = fixupDom0Tree(firmware('maple'), {
      ...params,
      memory: [params.memory[0]],
      initrd: undefined,
      partitionName: 'dom0-test',
      xen: { ...params.xen, domid: 3, privileged: false, initdomain: false },
    });
    expect(dom0.root.children.filter((c) => c.name.startsWith('memory')).map((m) => m.name)).toEqual(['memory@0']);
    const xen = findNode(dom0.root, '/xen')!;
    expect(getProp(xen, 'privileged')).toBeUndefined();
    expect(getProp(xen, 'initdomain')).toBeUndefined();
    expect(dec.u32(getProp(xen, 'reg')!.value)).toBe(3);
    expect(dec.u32(getProp(dom0.root, 'ibm,partition-no')!.value)).toBe(3);
    expect(dec.str(getProp(dom0.root, 'ibm,partition-name')!.value)).toBe('dom0-test');
    expect(getProp(findNode(dom0.root, '/chosen')!, 'linux,initrd-start')).toBeUndefined();
  });

  it('keeps the boot cpu named by boot_cpuid_phys', () => {
    const fw = firmware('js21');
    fw.bootCpuidPhys = 3;
    const dom0 = fixupDom0Tree(fw, params);
    expect(findNode(dom0.root, '/cpus')!.children.map((c) => c.name)).toEqual(['PowerPC,970MP@3']);
    expect(dom0.bootCpuidPhys).toBe(3);
  });

  it('creates /chosen and replaces an old /xen', () => {
    const fw = firmware('maple');
    fw.root.children = fw.root.children.filter((c) => c.name !== 'chosen');
    fw.root.children.push({ name: 'xen', props: [{ name: 'stale', value: enc.empty() }], children: [] });
    const dom0 = fixupDom0Tree(fw, params);
    expect(dec.str(getProp(findNode(dom0.root, '/chosen')!, 'bootargs')!.value)).toBe(params.bootargs);
    const xens = dom0.root.children.filter((c) => c.name === 'xen');
    expect(xens).toHaveLength(1);
    expect(getProp(xens[0]!, 'stale')).toBeUndefined();
  });

  it('refuses what cannot be built', () => {
    expect(() => fixupDom0Tree(emptyTree(), params)).toThrow(DeviceTreeError);
    expect(() => fixupDom0Tree(firmware('maple'), { ...params, memory: [{ start: 64 * MiB, size: 32 * MiB }] })).toThrow(/must be the RMA/);
    expect(() => fixupDom0Tree(firmware('maple'), { ...params, memory: [{ start: 0, size: 64 * MiB }, { start: 32 * MiB, size: 32 * MiB }] })).toThrow(/not above the one before/);
    expect(() =>
      fixupDom0Tree(firmware('maple'), { ...params, reservations: [{ address: 0x1000, size: 0x2000 }, { address: 0x2000, size: 0x1000 }] }),
    ).toThrow(/\[0x1000, 0x3000\) and \[0x2000, 0x3000\) overlap/);
    expect(() => fixupDom0Tree(firmware('maple'), { ...params, reservations: [{ address: 0x1000, size: 0 }] })).toThrow(/size 0/);
    const narrow = firmware('maple');
    narrow.root.props = narrow.root.props.map((p) => (p.name === '#size-cells' ? { name: p.name, value: enc.u32(1) } : p));
    expect(() => fixupDom0Tree(narrow, { ...params, memory: [params.memory[0], { start: 4 * 1024 * MiB, size: 4 * 1024 * MiB }] })).toThrow(DeviceTreeError);
  });

  it('honours one-cell roots when writing memory reg', () => {
    const fw = firmware('maple');
    fw.root.props = fw.root.props.map((p) => (p.name.endsWith('-cells') ? { name: p.name, value: enc.u32(1) } : p));
    const dom0 = fixupDom0Tree(fw, params);
    expect([...getProp(findNode(dom0.root, '/memory@4000000')!, 'reg')!.value]).toEqual([...enc.u32(64 * MiB, 960 * MiB)]);
    expect(machineRamFromTree(dom0)[1]).toEqual({ address: BigInt(64 * MiB), size: BigInt(960 * MiB) });
  });

  itWith('fdtget')('writes values fdtget reads back (QEMU pseries, 8 GiB)', () => {
    const blob = writeFdt(fixupDom0Tree(firmware('qemu-pseries-8g'), params));
    expect(fdtget(blob, 'x', '/xen', 'p2m')).toBe(hexCells(0, 32 * MiB + 0x2000, 0, 1048576));
    expect(fdtget(blob, 'x', '/xen', 'shared-info')).toBe(hexCells(0, 64 * MiB - 4096, 0, 4096));
    expect(fdtget(blob, 's', '/xen', 'version')).toBe('Xen-3.0-unstable');
    expect(fdtget(blob, 'x', '/cpus/PowerPC,UNKNOWN@0', 'ibm,pft-size')).toBe(hexCells(0, 24));
    expect(fdtget(blob, 'x', '/memory@0', 'reg')).toBe(hexCells(0, 0, 0, 64 * MiB));
    expect(fdtget(blob, 'x', '/memory@4000000', 'reg')).toBe(hexCells(0, 64 * MiB, 0, 960 * MiB));
    expect(fdtget(blob, 's', '/chosen', 'bootargs')).toBe(params.bootargs);
    expect(fdtget(blob, 's', '/', 'ibm,partition-name')).toBe('dom0');
  });

  itWith('dtc')('prints as dtc prints the fixed-up blob, and the rest as dtc printed the firmware', () => {
    const style = installedDtcStyle();
    for (const f of fixtures) {
      const fw = readFdt(f.blob);
      const dom0 = fixupDom0Tree(fw, params);
      expect(toDts(dom0, { dtcVersion: style })).toBe(dtcDecompile(writeFdt(dom0), `${f.name}-dom0.dtb`));
      const rest = (t: DeviceTree): DeviceTree => ({ ...emptyTree(), root: untouched(t) });
      expect(dtcDecompile(writeFdt(rest(dom0)), 'rest-dom0.dtb')).toBe(dtcDecompile(writeFdt(rest(fw)), 'rest-fw.dtb'));
    }
  });
});

describe('/xen power-control and foreign-map (ofd_fixup.c:345-352 @ 1aa3c54a31^)', () => {
  it('writes power-control when Xen has no RTAS, and foreign-map as <u64 order, u64 count>', () => {
    const fw = emptyTree();
    fw.root.children.push({ name: 'cpus', props: [], children: [{ name: 'cpu@0', props: [{ name: 'device_type', value: enc.str('cpu') }, { name: 'reg', value: enc.u32(0) }], children: [] }] });
    const t = fixupDom0Tree(fw, { ...params, xen: { ...params.xen, powerControl: true, foreignMap: { order: 22, count: 2048 } } });
    const xen = findNode(t.root, '/xen')!;
    expect(getProp(xen, 'power-control')!.value.length).toBe(0);
    // cpu_foreign_map_order() = 34 - PAGE_SHIFT = 22 (grant_table.h:73-77), foreign_mfn_count = 2048 (domain.c:91).
    expect([...getProp(xen, 'foreign-map')!.value]).toEqual([0, 0, 0, 0, 0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0x08, 0]);
  });
});
