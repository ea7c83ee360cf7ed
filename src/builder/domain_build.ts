import { allocGrantFrames } from '../xen/grant_table';
import { DeviceTree } from '../devtree/tree';
import { fixupDom0Tree } from '../devtree/ofd_fixup';
import { writeFdt } from '../devtree/fdt_wr';
import { EXTENT_SIZE, INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import { rmlsOf, rmorOf } from '../machine/cpu';
import type { Machine } from '../machine/machine';
import { dom0HptBytes } from '../hpt/size';
import { P2mTable } from '../p2m/table';
import { layoutRma, P2mPlacement, placementCapacity, placementName, RmaLayout, RmaLayoutInput } from '../rma/layout';
import { FitError, type Remedy } from '../util/errors';
import { brokenConstraints, type Constraint, dom0Limits, type Dom0Limits, dom0MapHole, machineFacts } from '../p2m/limits';
import { machineRamFromTree } from '../devtree/ofd_fixup';
import { dom0MemoryRanges, pfnSpan, PLATFORM_PFN_HOLE, type PfnHole } from '../xen/physmap';
import { alignDown, alignUp, exactSize, formatSize, hex, MiB } from '../util/size';
import { Domain } from '../xen/domain';
import type { Dom0Report, System } from '../xen/system';
import type { Tracer } from './report';
import { BootImage, kernelEntry } from './images';
import { allocateExtents, allocateRma, guestPhysmapAddPage } from '../xen/mm';
import { MSR_SF } from '../machine/cpu';

/** CONFIG_MIN_DOM0_PAGES: dom0 gets at least 192 MiB. */
export const MIN_DOM0_BYTES = 192 * MiB;
/**
 * /xen's version, "Xen-%d.%d%s" of xen_major_version(), xen_minor_version(),
 * xen_extra_version() (ofd_fixup.c:326-327 @ 1aa3c54a31^): the PowerPC tree
 * of the proposal's time was xen-unstable 3.0, XEN_VERSION 3,
 * XEN_SUBVERSION 0, XEN_EXTRAVERSION -unstable (xen/Makefile:3-5 @
 * a046da3892, as at the 3.0.4 and 3.1.0 branch points).
 */
export const XEN_VERSION = 'Xen-3.0-unstable';
/** foreign-map = <cpu_foreign_map_order(), d->arch.foreign_mfn_count>: 34 - PAGE_SHIFT (grant_table.h:73-77) and 2048 (domain.c:91) @ 1aa3c54a31^. */
export const FOREIGN_MAP = { order: 22, count: 2048 };

/** Does the firmware tree give Xen an RTAS? Without one Xen tells dom0 it does power control (ofd_fixup.c:345-347). */
export function firmwareHasRtas(tree: DeviceTree): boolean {
  return tree.root.children.some((c) => c.name === 'rtas' || c.name.startsWith('rtas@'));
}

export interface Dom0Options {
  /** Boot size; default RAM/16, at least 192 MiB. */
  mem?: number;
  /** What the table covers; default the platform limit. */
  maxMem?: number;
  rmaSize: number;
  placement: P2mPlacement;
  ofAt: number;
  kernel: BootImage;
  initrd?: BootImage;
  bootargs: string;
  firmwareTree: DeviceTree;
  /** The hash table in MiB instead of dom0/64 (Xen's dom0_shadow=), before shadow_set_allocation rounds it. */
  hptMiB?: number;
  /** Legacy only: cap dom0 below the IO hole, as upstream's domain_build.c did. */
  legacyCap?: boolean;
}

/**
 * Every limit on a dom0 built with these options on this machine (before
 * anything is allocated), and the table's capacity where it is placed.
 * Throws the layout's own error when the placement leaves no room at all.
 */
export function dom0LimitsFor(machine: Machine, opt: Pick<Dom0Options, 'rmaSize' | 'ofAt' | 'kernel' | 'initrd' | 'placement' | 'firmwareTree' | 'hptMiB'>): { capacity: number; limits: Dom0Limits } {
  const hole = dom0PfnHole(opt.firmwareTree);
  const layoutBase = rmaLayoutInput(machine, opt, opt.placement);
  const capacity = placementCapacity(layoutBase);
  if (capacity === 0) layoutRma({ ...layoutBase, entries: 1 }); // names the overlap
  const sharedInfoStart = opt.rmaSize - PAGE_SIZE;
  const limits = dom0Limits({
    rmaSize: opt.rmaSize,
    p2mStart: sharedInfoStart - capacity * 4,
    sharedInfoStart,
    hole: hole ? { start: hole.start * PAGE_SIZE, end: hole.end * PAGE_SIZE } : null,
    machine: machineFacts(machine),
    hptOverrideMiB: opt.hptMiB,
  });
  return { capacity, limits };
}

/** dom0's map has the IO hole unless the firmware's own RAM runs through it (QEMU pseries). */
export function dom0PfnHole(firmwareTree: DeviceTree): PfnHole | undefined {
  return dom0MapHole(machineRamFromTree(firmwareTree)) ? PLATFORM_PFN_HOLE : undefined;
}

/** INVALID_MFN in every entry that is not one of the first `pages` pages of RAM. */
export function invalidateNonRam(table: P2mTable, hole: PfnHole | undefined, pages: number): void {
  const end = pfnSpan(hole, pages);
  if (hole && end > hole.end) table.invalidate(hole.start, hole.end - hole.start);
  table.invalidate(end, table.entries - end);
}

/** What the command layer should offer for a broken constraint. */
export function remediesFor(c: Constraint, hptSet = false): Remedy[] {
  if (c.name === 'hpt-block' && hptSet) return ['smaller-hpt'];
  switch (c.remedy) {
    case 'larger-rma': return ['smaller-dom0', 'other-placement', 'larger-rma'];
    case 'smaller-rma': return ['smaller-rma'];
    case 'more-ram': return ['smaller-dom0', 'more-ram'];
    case 'wider-entries': return ['smaller-dom0'];
    case 'none': return c.name === 'hpt-block' ? ['smaller-dom0', 'smaller-hpt'] : ['smaller-dom0'];
  }
}

/**
 * construct_dom0 as the proposal wants it (docs/construct_dom0.md): Xen builds dom0's
 * p2m in dom0's own RMA, fills it as it allocates, and tells the guest where
 * it is through the device tree. Any refusal happens before the machine is
 * changed, or on a machine the caller throws away.
 */
export function constructDom0(sys: System, opt: Dom0Options, trace: Tracer = () => {}): { dom0: Domain; report: Dom0Report } {
  const machine = sys.machine;
  const notes: string[] = [];
  const ramBytes = machine.profile.ram;
  rmlsOf(opt.rmaSize); // refuses sizes the PPC970 cannot do

  // 1. Size.
  let mem = opt.mem ?? Math.max(Math.floor(ramBytes / 16), MIN_DOM0_BYTES);
  mem = alignUp(Math.max(mem, opt.rmaSize), EXTENT_SIZE);
  trace({ step: 1, title: 'size dom0', facts: [['memory', formatSize(mem)], ['pages', String(mem / PAGE_SIZE)], ['source', opt.mem === undefined ? 'default (RAM/16, at least 192 MiB)' : 'asked']] });

  // dom0's map keeps the IO hole when the firmware has one (ofd_fixup_memory.c:94-113 @ 1aa3c54a31^).
  const hole = dom0PfnHole(opt.firmwareTree);
  notes.push(hole
    ? `dom0's map keeps the IO hole [2 GiB, 4 GiB) of the firmware's: RAM up to 2 GiB, the rest from 4 GiB (ofd_fixup_memory.c)`
    : "dom0's map is flat: the firmware tree's own RAM runs through [2 GiB, 4 GiB), so there is no hole to keep");
  const layoutBase = rmaLayoutInput(machine, opt, opt.placement);
  // Every limit on dom0's size, checked before anything changes: the figures `limits` shows.
  const { capacity, limits } = dom0LimitsFor(machine, opt);
  if (!limits.buildable) {
    const c = limits.constraints.find((x) => x.name === 'rma-allocatable')!;
    throw new FitError(`a ${formatSize(opt.rmaSize)} RMA cannot be built: ${c.detail}`, remediesFor(c));
  }
  // What the table covers: the span's RAM (the hole taken out) and the machine's RAM, whole extents.
  const spanLimit = limits.flatTableMaxBytes;
  const ramLimit = alignDown(ramBytes, EXTENT_SIZE);
  let maxBytes: number;
  let maxMemSource: Dom0Report['maxMemSource'];
  if (opt.maxMem !== undefined) {
    maxBytes = alignUp(opt.maxMem, EXTENT_SIZE);
    maxMemSource = 'option';
    if (maxBytes > spanLimit) {
      throw new FitError(`a table covering ${formatSize(maxBytes)} of RAM needs ${pfnSpan(hole, maxBytes / PAGE_SIZE)} p2m entries${hole && maxBytes > hole.start * PAGE_SIZE ? ' (the IO hole\'s pfns included)' : ''} but the table at ${placementName(opt.placement)} holds at most ${capacity} (${formatSize(spanLimit)} of RAM in whole extents)`, ['smaller-max-mem', 'other-placement', 'larger-rma']);
    }
  } else if (spanLimit < ramLimit) {
    maxBytes = spanLimit;
    maxMemSource = 'placement capacity';
    notes.push(`the table covers ${formatSize(spanLimit)} of RAM, not the machine's ${formatSize(ramBytes)}: that is all a table at ${placementName(opt.placement)} in a ${formatSize(opt.rmaSize)} RMA can index${hole ? ', the IO hole\'s pfns included' : ''}`);
  } else {
    maxBytes = ramLimit;
    maxMemSource = 'machine RAM';
  }
  const broken = brokenConstraints(limits, mem)[0];
  if (broken) {
    const figure = broken.limitBytes === 0 ? `no dom0 fits it (${broken.detail})` : `at most ${exactSize(broken.limitBytes!)} (${broken.detail})`;
    throw new FitError(`dom0 of ${formatSize(mem)} does not fit: it breaks ${broken.name}, ${figure}`, remediesFor(broken, opt.hptMiB !== undefined));
  }
  if (mem > maxBytes) throw new FitError(`dom0 of ${formatSize(mem)} does not fit: its table is asked to cover only ${formatSize(maxBytes)}`, ['larger-max-mem']);
  const maxPages = maxBytes / PAGE_SIZE;
  // The table indexes every pfn up to the last RAM page's, the hole's included.
  const entries = pfnSpan(hole, maxPages);

  // 5 (checked early). Lay out the RMA so a bad placement changes nothing.
  const layout: RmaLayout = layoutRma({ ...layoutBase, entries });

  // 2-4. Create domain 0: privileged, non-shadow; no Xen p2m; allocate the RMA.
  const rma = allocateRma(machine, 0, opt.rmaSize);
  const dom0 = new Domain(0, true, false, maxPages, { mfn: rma.mfn, order: rma.order }, rma.memory);
  dom0.layout = layout;
  dom0.ioHole = hole;
  trace({ step: 2, title: 'create domain 0', facts: [['privileged', 'yes'], ['shadow', 'no (keeps its own p2m)']] });
  trace({ step: 3, title: 'no Xen p2m for dom0', facts: [['guest_physmap_max_mem_pages', 'not called'], ['d->arch.p2m', 'set in step 7']] });
  const changed = guestPhysmapAddPage(dom0, 0, rma.mfn);
  trace({ step: 4, title: 'allocate the RMA', facts: [['size', formatSize(opt.rmaSize)], ['machine', hex(rma.mfn * PAGE_SIZE)], ['first mfn', hex(rma.mfn)], ['HID4 RMLS', String(rmlsOf(opt.rmaSize))], ['HID4 RMOR', hex(rmorOf(rma.mfn * PAGE_SIZE))], ['guest_physmap_add_page', changed ? 'updated Xen p2m' : 'no-op (non-shadow)']] });

  sys.domains.set(0, dom0);
  dom0.p2mPaddr = layout.p2m.start;
  dom0.p2mEntries = entries;
  const table = new P2mTable(dom0.memory, dom0.p2mPaddr, entries);
  trace({ step: 5, title: 'lay out the RMA', facts: [['placement', placementName(opt.placement)], ['p2m table', `[${hex(layout.p2m.start)}, ${hex(layout.p2m.end)})`], ['entries', String(entries)], ['map', hole ? `RAM up to ${formatSize(hole.start * PAGE_SIZE)}, then from ${formatSize(hole.end * PAGE_SIZE)} (IO hole kept)` : 'flat (the firmware has no IO hole)'], ['covers', formatSize(maxBytes) + (maxMemSource === 'placement capacity' ? ' (capped by the placement)' : ` (${maxMemSource})`)], ['OF area', `[${hex(layout.firmware.start)}, ${hex(layout.devtree.end)})`], ['shared_info', hex(layout.sharedInfo.start)]] });

  // 6. The RMA's own entries. Entries past the boot size are set INVALID_MFN after
  // step 9, so the ones the extents fill are written once, not twice.
  table.fillRun(0, rma.mfn, dom0.rmaPages);
  dom0.totPages = dom0.rmaPages;
  trace({ step: 6, title: 'fill the RMA entries', facts: [['pfns', `0..${hex(dom0.rmaPages - 1)}`], ['mfns', `${hex(rma.mfn)}..${hex(rma.mfn + dom0.rmaPages - 1)}`], ['unused entries', `${entries - dom0.rmaPages} x ${hex(INVALID_MFN)}`]] });

  // 7-8.
  dom0.arch.p2m = rma.mfn * PAGE_SIZE + layout.p2m.start;
  trace({ step: 7, title: 'd->arch.p2m = the table\'s machine address', facts: [['arch.p2m', hex(dom0.arch.p2m)]] });
  trace({ step: 8, title: 'keep the table\'s guest-physical address for the device tree', facts: [['paddr', hex(dom0.p2mPaddr)], ['bytes', formatSize(table.bytes)]] });

  // 9. allocate_extents, writing the table directly.
  const extents = allocateExtents(machine, dom0, mem / PAGE_SIZE, (pfn, mfn, count) => table.fillRun(pfn, mfn, count));
  // Everything not RAM holds INVALID_MFN: the hole's pfns (MMIO is not translated: docs/memory.md) and past the boot size.
  invalidateNonRam(table, hole, dom0.totPages);
  trace({ step: 9, title: 'allocate_extents', facts: [['extents', String(extents)], ['memory', formatSize(dom0.totPages * PAGE_SIZE)], ['first extent', extents ? hex(dom0.extents[0] * PAGE_SIZE) : 'none'], ['guest_physmap_add_page', 'not called: entries written straight into the table']] });

  // 10. Hash table from the Xen heap.
  const hptBytes = allocateHpt(machine, dom0, opt.hptMiB);
  trace({ step: 10, title: 'hash table from the Xen heap', facts: [['size', formatSize(hptBytes)], ['PTEGs', String(hptBytes / 128)], ['machine', hex(dom0.arch.hpt!.mfn * PAGE_SIZE)], ['ibm,pft-size', `<0 ${Math.log2(hptBytes)}>`]] });
  // grant_table_create's shared frames (xen/common/grant_table.c:1311-1319 @ a046da3892). Xen makes
  // them in domain_create, before any of this; taken after the hash table here so the table lands
  // where it always did (both come from the Xen heap).
  allocGrantFrames(machine, dom0);

  // 11. The device tree, written into the RMA's device tree slot.
  const initrdRegion = layout.initrd;
  const tree = fixupDom0Tree(opt.firmwareTree, {
    memory: dom0MemoryRanges(hole, dom0.rmaPages, dom0.totPages),
    pftSizeLog2: Math.log2(hptBytes),
    bootargs: opt.bootargs,
    initrd: initrdRegion && opt.initrd ? { start: initrdRegion.start, end: initrdRegion.start + opt.initrd.size } : undefined,
    xen: {
      domid: 0,
      version: XEN_VERSION,
      sharedInfo: { address: layout.sharedInfo.start, size: PAGE_SIZE },
      p2m: { address: dom0.p2mPaddr, size: table.bytes },
      privileged: true,
      initdomain: true,
      powerControl: !firmwareHasRtas(opt.firmwareTree),
      foreignMap: FOREIGN_MAP,
    },
    reservations: [
      { address: layout.p2m.start, size: layout.p2m.end - layout.p2m.start },
      { address: layout.firmware.start, size: layout.firmware.end - layout.firmware.start },
      { address: layout.devtree.start, size: layout.devtree.end - layout.devtree.start },
      { address: layout.sharedInfo.start, size: PAGE_SIZE },
    ],
  });
  const blob = writeDevtree(dom0, layout, tree);
  trace({ step: 11, title: 'device tree (FDT v17) into the RMA', facts: [['at', hex(layout.devtree.start)], ['bytes', String(blob.length)], ['/xen/p2m', `<${hex(dom0.p2mPaddr)} ${hex(table.bytes)}>`], ['reservations', '4 (p2m table, firmware, device tree, shared_info)']] });

  // 12. Images and vcpu0.
  loadImages(dom0, layout, opt);
  const g = dom0.vcpu0.gprs;
  trace({ step: 12, title: 'load images, set vcpu0', facts: [['kernel', `${hex(layout.kernel.start)}, ${formatSize(opt.kernel.size)} (${opt.kernel.source})`], ['initrd', opt.initrd ? `${hex(layout.initrd!.start)}, ${formatSize(opt.initrd.size)}` : 'none'], ['pc', hex(dom0.vcpu0.pc)], ['msr', hex(dom0.vcpu0.msr)], ['r1', hex(g[1])], ['r5 (OF entry)', hex(g[5])]] });

  return {
    dom0,
    report: { memBytes: mem, maxPages, platformLimitBytes: spanLimit, maxMemSource, hptBytes, devtreeBytes: blob.length, extentsAllocated: extents, notes },
  };
}

/**
 * Step 10: the hash table from the Xen heap, sized from tot_pages once the
 * extents are in (domain_build.c:133-148 @ 1aa3c54a31^, see dom0HptBytes); returns its size.
 */
export function allocateHpt(machine: Machine, d: Domain, overrideMiB?: number): number {
  const bytes = dom0HptBytes(d.totPages, overrideMiB);
  const order = Math.log2(bytes / PAGE_SIZE);
  const mfn = machine.allocXenBlock(order, `hpt dom${d.domid}`, `dom${d.domid} hash table`);
  d.arch.hpt = { mfn, order };
  return bytes;
}

/** Step 11's last part: the blob into the RMA's device tree slot, which it must fit. */
export function writeDevtree(d: Domain, layout: RmaLayout, tree: DeviceTree): Uint8Array {
  const blob = writeFdt(tree);
  const slot = layout.devtree.end - layout.devtree.start;
  if (blob.length > slot) throw new FitError(`dom${d.domid}'s device tree is ${formatSize(blob.length)} but its slot is ${formatSize(slot)}`, ['larger-devtree-slot']);
  d.memory.write(layout.devtree.start, blob);
  return blob;
}

/** Step 12: kernel at 0, initrd after it, vcpu0 as Xen leaves it (r1 stack, r3/r4 initrd, r5 OF entry, 64-bit MSR). */
export function loadImages(d: Domain, layout: RmaLayout, opt: Pick<Dom0Options, 'kernel' | 'initrd' | 'bootargs'>): void {
  d.memory.write(layout.kernel.start, opt.kernel.bytes);
  d.images = { kernel: { source: opt.kernel.source, bytes: opt.kernel.size } };
  if (opt.initrd && layout.initrd) {
    d.memory.write(layout.initrd.start, opt.initrd.bytes);
    d.images.initrd = { source: opt.initrd.source, bytes: opt.initrd.size };
  }
  d.bootargs = opt.bootargs;
  const g = d.vcpu0.gprs;
  g[1] = BigInt(layout.stackPointer);
  g[3] = BigInt(layout.initrd?.start ?? 0);
  g[4] = BigInt(opt.initrd?.size ?? 0);
  g[5] = BigInt(layout.firmware.start);
  d.vcpu0.pc = kernelEntry(opt.kernel.bytes);
  d.vcpu0.msr = MSR_SF;
}

/** What the RMA layout needs from the machine and the options (everything but the table's entries). */
export function rmaLayoutInput(machine: Machine, opt: Pick<Dom0Options, 'rmaSize' | 'ofAt' | 'kernel' | 'initrd'>, placement: P2mPlacement): Omit<RmaLayoutInput, 'entries'> {
  return {
    rmaSize: opt.rmaSize,
    ofAt: opt.ofAt,
    firmwareImage: machine.profile.firmwareImage,
    devtreeSlot: machine.profile.devtreeSlot,
    kernelSize: opt.kernel.size,
    initrdSize: opt.initrd?.size ?? 0,
    placement,
  };
}
