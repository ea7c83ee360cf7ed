/**
 * dom0's device tree from the firmware's, as Xen/PowerPC's ofd_fixup.c did
 * it: dom0 sees its own memory (the RMA at 0 and the rest after it), one
 * cpu with the hash table size Xen gave it, its boot arguments, who it is
 * (ibm,partition-*), and the /xen node that tells it about Xen (with the
 * proposal's `p2m`). Everything else passes through byte for byte.
 */
import { enc, dec } from './codec';
import {
  DeviceTree,
  DeviceTreeError,
  FdtNode,
  baseName,
  cloneTree,
  findChild,
  getProp,
  newNode,
  removeProp,
  setProp,
} from './model';
import { RegEntry, encodeReg, readReg } from './reg';
import { hex } from '../util/size';

export interface Dom0TreeParams {
  /**
   * dom0's RAM, guest-physical, one memory node each: the RMA at 0 first
   * (/memory@0), then the rest (/memory@<rma>, and /memory@100000000 past
   * the IO hole when the map keeps one).
   */
  memory: { start: number; size: number }[];
  /** The boot cpu's ibm,pft-size = <0 log2(hash table bytes)>. */
  pftSizeLog2: number;
  bootargs: string;
  /** /chosen linux,initrd-start / linux,initrd-end (u64 each); stale ones are removed when absent. */
  initrd?: { start: number; end: number };
  xen: {
    domid: number;
    version: string;
    sharedInfo: { address: number; size: number };
    p2m: { address: number; size: number };
    privileged: boolean;
    initdomain: boolean;
    /** `power-control`: Xen has no RTAS of its own and depends on dom0 for power control. */
    powerControl?: boolean;
    /** `foreign-map` = <u64 order, u64 count>: where granted pages go in the linear map (cpu_foreign_map_order, d->arch.foreign_mfn_count). */
    foreignMap?: { order: number; count: number };
  };
  /** The memory reservation block: table, firmware, device tree, shared_info (sorted here; must not overlap). */
  reservations: { address: number; size: number }[];
  /** Root ibm,partition-name; default "dom0". */
  partitionName?: string;
}

function propIsString(node: FdtNode, name: string, want: string): boolean {
  const prop = getProp(node, name);
  return prop !== undefined && dec.str(prop.value) === want;
}

/** A memory node: device_type "memory", or named memory / memory@... . */
export function isMemoryNode(node: FdtNode): boolean {
  return propIsString(node, 'device_type', 'memory') || baseName(node.name) === 'memory';
}

/** RAM as the tree describes it: every memory node under the root, in the root's cells, sorted. */
export function machineRamFromTree(tree: DeviceTree): RegEntry[] {
  const ram: RegEntry[] = [];
  for (const node of tree.root.children) {
    if (!isMemoryNode(node)) continue;
    for (const r of readReg(tree.root, node)) if (r.size > 0n) ram.push(r);
  }
  return ram.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

function cpuNodes(tree: DeviceTree): FdtNode[] {
  const cpus = findChild(tree.root, 'cpus');
  return cpus ? cpus.children.filter((c) => propIsString(c, 'device_type', 'cpu')) : [];
}

function cpuId(node: FdtNode): number | undefined {
  const reg = getProp(node, 'reg');
  return reg && reg.value.length >= 4 ? dec.u32(reg.value) : undefined;
}

/** The cpu whose reg is the header's boot_cpuid_phys, else the first cpu under /cpus. */
export function bootCpuNode(tree: DeviceTree): FdtNode | undefined {
  const cpus = cpuNodes(tree);
  return cpus.find((c) => cpuId(c) === tree.bootCpuidPhys) ?? cpus[0];
}


function checkUint(value: number, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} ${value} is not an integer in [0, ${max}]`);
  }
}

/** Sorted and checked: each region non-empty and clear of the others. */
function reservationBlock(regions: { address: number; size: number }[]): { address: bigint; size: bigint }[] {
  const sorted = regions
    .map((r) => {
      checkUint(r.address, 'reservation address');
      checkUint(r.size, 'reservation size');
      if (r.size === 0) throw new RangeError(`reservation at ${hex(r.address)} has size 0`);
      return { address: BigInt(r.address), size: BigInt(r.size) };
    })
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (a.address + a.size > b.address) {
      throw new RangeError(
        `reservations [${hex(a.address)}, ${hex(a.address + a.size)}) and [${hex(b.address)}, ${hex(b.address + b.size)}) overlap`,
      );
    }
  }
  return sorted;
}

/** reg for a root-level node, or a clear error when the root's cells cannot hold it. */
function rootReg(root: FdtNode, address: number, size: number, what: string): Uint8Array {
  try {
    return encodeReg(root, [{ address, size }]);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new DeviceTreeError(`${what} [${hex(address)}, +${hex(size)}) does not fit the root's #address-cells/#size-cells: ${e.message}`);
    }
    throw e;
  }
}

function memoryNode(root: FdtNode, address: number, size: number): FdtNode {
  return newNode(`memory@${address.toString(16)}`, [
    { name: 'device_type', value: enc.str('memory') },
    { name: 'reg', value: rootReg(root, address, size, 'memory') },
  ]);
}

/** Replace every memory node with dom0's, where the first one stood (ofd_memory_props, ofd_fixup_memory.c:115-120 @ 1aa3c54a31^). */
function fixMemory(root: FdtNode, p: Dom0TreeParams): void {
  const fresh = p.memory.map((r) => memoryNode(root, r.start, r.size));
  const first = root.children.findIndex(isMemoryNode);
  const kept = root.children.filter((c) => !isMemoryNode(c));
  const at = first < 0 ? kept.length : first;
  root.children = [...kept.slice(0, at), ...fresh, ...kept.slice(at)];
}

/** Keep only the boot cpu (Xen/PowerPC ran dom0 on one vcpu) and give it the hash table size. */
function fixCpus(tree: DeviceTree, p: Dom0TreeParams): void {
  const boot = bootCpuNode(tree);
  if (!boot) throw new DeviceTreeError('firmware tree has no cpu node (device_type "cpu") under /cpus');
  const cpus = findChild(tree.root, 'cpus')!;
  cpus.children = cpus.children.filter((c) => c === boot || !propIsString(c, 'device_type', 'cpu'));
  setProp(boot, 'ibm,pft-size', enc.u32(0, p.pftSizeLog2));
  const id = cpuId(boot);
  if (id !== undefined) tree.bootCpuidPhys = id;
}

function fixChosen(root: FdtNode, p: Dom0TreeParams): void {
  let chosen = root.children.find((c) => c.name === 'chosen');
  if (!chosen) {
    chosen = newNode('chosen');
    root.children.push(chosen);
  }
  setProp(chosen, 'bootargs', enc.str(p.bootargs));
  if (p.initrd) {
    setProp(chosen, 'linux,initrd-start', enc.u64(p.initrd.start));
    setProp(chosen, 'linux,initrd-end', enc.u64(p.initrd.end));
  } else {
    removeProp(chosen, 'linux,initrd-start');
    removeProp(chosen, 'linux,initrd-end');
  }
}

/**
 * /xen as ofd_xen_props writes it (xen/arch/powerpc/ofd_fixup.c:308-361 @
 * 1aa3c54a31^), in its order: `reg` = the domid as one s32 (:321-323; dtc
 * warns that 4 bytes do not match the root's cells: Xen wrote it so),
 * `name` "xen" (:324), `version` "Xen-%d.%d%s" (:326-329), `shared-info`
 * and `reserved` = <u64 address, u64 PAGE_SIZE> (:331-337), `privileged`,
 * `initdomain` (:339-343), `power-control` when Xen has no RTAS (:345-347),
 * `foreign-map` = <u64 order, u64 count> (:349-352), and a `console` child
 * with `interrupts` = one u64 0 (:354-358). Then the proposal's `p2m`.
 */
function xenNode(p: Dom0TreeParams): FdtNode {
  const x = p.xen;
  const node = newNode('xen', [
    { name: 'reg', value: enc.u32(x.domid) },
    { name: 'name', value: enc.str('xen') },
    { name: 'version', value: enc.str(x.version) },
    { name: 'shared-info', value: enc.u64(x.sharedInfo.address, x.sharedInfo.size) },
    { name: 'reserved', value: enc.u64(x.sharedInfo.address, x.sharedInfo.size) },
  ]);
  if (x.privileged) node.props.push({ name: 'privileged', value: enc.empty() });
  if (x.initdomain) node.props.push({ name: 'initdomain', value: enc.empty() });
  if (x.powerControl) node.props.push({ name: 'power-control', value: enc.empty() });
  if (x.foreignMap) node.props.push({ name: 'foreign-map', value: enc.u64(x.foreignMap.order, x.foreignMap.count) });
  // The proposal: where dom0's own pfn->mfn table is (guest-physical) and its size in bytes.
  node.props.push({ name: 'p2m', value: enc.u64(x.p2m.address, x.p2m.size) });
  node.children.push(newNode('console', [{ name: 'interrupts', value: enc.u64(0) }]));
  return node;
}

function checkParams(p: Dom0TreeParams): void {
  if (p.memory.length === 0 || p.memory[0].start !== 0 || p.memory[0].size === 0) throw new RangeError('the first memory range must be the RMA, at 0 and not empty');
  p.memory.forEach((r, i) => {
    checkUint(r.start, 'memory start');
    checkUint(r.size, 'memory size');
    if (r.size === 0) throw new RangeError(`memory range at ${hex(r.start)} is empty`);
    const prev = p.memory[i - 1];
    if (prev && r.start < prev.start + prev.size) throw new RangeError(`memory range at ${hex(r.start)} is not above the one before it, [${hex(prev.start)}, ${hex(prev.start + prev.size)})`);
  });
  checkUint(p.pftSizeLog2, 'pftSizeLog2', 63);
  checkUint(p.xen.domid, 'domid', 0xffff_ffff);
  if (p.initrd) {
    checkUint(p.initrd.start, 'initrd start');
    checkUint(p.initrd.end, 'initrd end');
    if (p.initrd.end < p.initrd.start) throw new RangeError(`initrd end ${hex(p.initrd.end)} is before its start ${hex(p.initrd.start)}`);
  }
}

/** dom0's tree; `firmware` is not changed (value bytes are shared, never written). */
export function fixupDom0Tree(firmware: DeviceTree, p: Dom0TreeParams): DeviceTree {
  checkParams(p);
  const tree = cloneTree(firmware);
  tree.version = 17;
  tree.lastCompVersion = 16;
  const root = tree.root;

  fixMemory(root, p);
  fixCpus(tree, p);
  fixChosen(root, p);
  setProp(root, 'ibm,partition-name', enc.str(p.partitionName ?? 'dom0'));
  setProp(root, 'ibm,partition-no', enc.u32(p.xen.domid));
  root.children = root.children.filter((c) => c.name !== 'xen');
  root.children.push(xenNode(p));
  tree.reservations = reservationBlock(p.reservations);
  return tree;
}
