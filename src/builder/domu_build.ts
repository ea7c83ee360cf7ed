import { allocGrantFrames, freeGrantFrames } from '../xen/grant_table';
import { writeFdt } from '../devtree/fdt_wr';
import { bootCpuNode } from '../devtree/ofd_fixup';
import { addChild, cloneNode, DeviceTree, emptyTree, enc, getProp, newNode } from '../devtree/tree';
import { domuHptBytes } from '../hpt/size';
import { EXTENT_SIZE, INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import { rmlsOf } from '../machine/cpu';
import type { Machine } from '../machine/machine';
import { CheckError, FitError, UsageError } from '../util/errors';
import { alignUp, formatSize, hex, MiB } from '../util/size';
import { Domain } from '../xen/domain';
import { XEN_VERSION } from './domain_build';
import { BootImage, kernelEntry, syntheticKernel } from './images';
import { allocateExtents, allocateRma, guestPhysmapAddPage } from '../xen/mm';
import type { DomuLayout } from '../rma/layout';
import { allocXenP2m, freeXenP2m, installXenP2m, p2mOf } from '../xen/shadow_p2m';
import { freeFrameRun } from '../xen/mm';
import type { System } from '../xen/system';
import { readBe32 } from '../util/bytes';
import { fdtTotalSize } from '../devtree/fdt_header';
import { MSR_SF } from '../machine/cpu';

export const DEFAULT_DOMU_RMA = 64 * MiB;
export const DEFAULT_DOMU_KERNEL = 4 * MiB;
/** Event channels the domU's device tree gives its console and xenstore (deterministic). */
export const DOMU_CONSOLE_EVTCHN = 1;
export const DOMU_STORE_EVTCHN = 2;

export interface DomuOptions {
  mem: number;
  /** What Xen's table covers (a balloon can grow the domU up to it); default `mem`. */
  maxMem?: number;
  rmaSize?: number;
  kernel?: BootImage;
  bootargs?: string;
}

export interface DomuReport {
  domid: number;
  memBytes: number;
  maxPages: number;
  rmaBytes: number;
  rmaMaddr: number;
  extents: number;
  xenP2m: { maddr: number; entries: number; bytes: number; heapBytes: number };
  hptBytes: number;
  layout: DomuLayout;
  devtreeBytes: number;
}

/** The lowest unused domain id above 0. */
export function nextDomid(sys: System): number {
  let id = 1;
  while (sys.domains.has(id)) id++;
  return id;
}

/**
 * Create a shadow domain (a domU) the way Xen/PowerPC's tools did
 * (xc_dom_powerpc.c, mk_flatdevtree.c), with Xen keeping its p2m:
 * guest_physmap_max_mem_pages gives it a table in the Xen heap, the RMA and
 * the 16 MiB extents are recorded there through guest_physmap_add_page, the
 * last three pages of the RMA are shared_info, console and xenstore, and its
 * device tree goes into the RMA after the kernel. Nothing is left allocated
 * when it fails.
 */
export function createDomU(sys: System, opt: DomuOptions): { d: Domain; report: DomuReport } {
  const m = sys.machine;
  if (!sys.domains.has(0)) throw new UsageError('there is no dom0 to create a domU beside', ['construct-first']);
  const rmaSize = opt.rmaSize ?? DEFAULT_DOMU_RMA;
  rmlsOf(rmaSize);
  const mem = alignUp(Math.max(opt.mem, rmaSize), EXTENT_SIZE);
  const maxBytes = alignUp(Math.max(opt.maxMem ?? mem, mem), EXTENT_SIZE);
  if (opt.maxMem !== undefined && opt.maxMem < opt.mem) throw new UsageError(`the domU's maximum ${formatSize(opt.maxMem)} is below its boot size ${formatSize(opt.mem)}`, ['larger-max-mem']);
  if (mem > m.ramPages * PAGE_SIZE) throw new FitError(`a domU of ${formatSize(mem)} is larger than the machine's RAM (${formatSize(m.profile.ram)})`, ['smaller-domu']);
  const maxPages = maxBytes / PAGE_SIZE;
  const domid = nextDomid(sys);
  const kernel = opt.kernel ?? syntheticKernel(DEFAULT_DOMU_KERNEL);
  const bootargs = opt.bootargs ?? 'console=hvc0 root=/dev/xvda1';

  // The layout first, so a kernel too large for the RMA changes nothing.
  const layout = domuLayout(rmaSize, kernel.size, 0);

  const undo: (() => void)[] = [];
  try {
    const rma = allocateRma(m, domid, rmaSize);
    undo.push(() => m.freeDomainBlock(rma.mfn, rma.order));
    const d = new Domain(domid, false, true, maxPages, { mfn: rma.mfn, order: rma.order }, rma.memory);
    const table = installXenP2m(d, allocXenP2m(m, domid, maxPages), 'shadow');
    undo.push(() => freeXenP2m(m, d));
    const xenSet = (pfn: number, mfn: number): void => table.set(pfn, mfn);
    for (let i = 0, n = d.rmaPages; i < n; i++) guestPhysmapAddPage(d, i, rma.mfn + i, xenSet);
    d.totPages = d.rmaPages;
    const extents = allocateExtents(m, d, mem / PAGE_SIZE, (pfn, mfn, count) => {
      for (let i = 0; i < count; i++) guestPhysmapAddPage(d, pfn + i, mfn + i, xenSet);
    });
    undo.push(() => {
      for (const e of d.extents) m.freeDomainBlock(e, 12);
    });
    // xend sizes it from maxmem (memory_static_max), not the boot size: see domuHptBytes.
    const hptBytes = domuHptBytes(maxBytes);
    const hptOrder = Math.log2(hptBytes / PAGE_SIZE);
    const hptMfn = m.allocXenBlock(hptOrder, `hpt dom${domid}`, `dom${domid} hash table`);
    undo.push(() => m.freeXenBlock(hptMfn, hptOrder));
    d.arch.hpt = { mfn: hptMfn, order: hptOrder };
    // The grant table's shared frames (grant_table.c:1311-1319 @ a046da3892), after the hash table.
    allocGrantFrames(m, d);
    undo.push(() => freeGrantFrames(m, d));

    const tree = domuTree(sys.firmwareTree, { domid, rmaSize, memSize: mem, pftSizeLog2: Math.log2(hptBytes), bootargs, layout });
    const blob = writeFdt(tree);
    const placed = domuLayout(rmaSize, kernel.size, blob.length);
    d.memory.write(placed.kernel.start, kernel.bytes);
    d.memory.write(placed.devtree.start, blob);
    d.images = { kernel: { source: kernel.source, bytes: kernel.size } };
    d.bootargs = bootargs;
    d.vcpu0.pc = kernelEntry(kernel.bytes);
    d.vcpu0.msr = MSR_SF;
    d.vcpu0.gprs[3] = BigInt(placed.devtree.start);
    d.vcpu0.gprs[4] = BigInt(placed.kernel.start);
    d.vcpu0.gprs[5] = 0n;

    d.domu = { layout: placed, evtchn: { console: DOMU_CONSOLE_EVTCHN, store: DOMU_STORE_EVTCHN }, bootPages: d.totPages };
    sys.domains.set(domid, d);
    const xm = d.xenP2m!;
    return {
      d,
      report: {
        domid,
        memBytes: d.totPages * PAGE_SIZE,
        maxPages,
        rmaBytes: rmaSize,
        rmaMaddr: rma.mfn * PAGE_SIZE,
        extents,
        xenP2m: { maddr: xm.mfn * PAGE_SIZE, entries: xm.entries, bytes: xm.entries * 4, heapBytes: 2 ** xm.order * PAGE_SIZE },
        hptBytes,
        layout: placed,
        devtreeBytes: blob.length,
      },
    };
  } catch (e) {
    for (const u of undo.reverse()) u();
    throw e;
  }
}

/**
 * A domU's RMA: kernel at 0, its device tree in the next pages (a segment
 * xc_dom_alloc_segment hands out), and the special pages taken from the end:
 * shared_info is the last page, console the one below, xenstore below that.
 */
export function domuLayout(rmaSize: number, kernelSize: number, devtreeBytes: number): DomuLayout {
  const sharedInfo = { start: rmaSize - PAGE_SIZE, end: rmaSize };
  const console = { start: rmaSize - 2 * PAGE_SIZE, end: rmaSize - PAGE_SIZE };
  const xenstore = { start: rmaSize - 3 * PAGE_SIZE, end: rmaSize - 2 * PAGE_SIZE };
  const kernel = { start: 0, end: alignUp(kernelSize, PAGE_SIZE) };
  const devtree = { start: kernel.end, end: kernel.end + alignUp(Math.max(devtreeBytes, 1), PAGE_SIZE) };
  if (devtree.end > xenstore.start) {
    throw new FitError(`the domU kernel [${hex(kernel.start)}, ${hex(kernel.end)}) and device tree [${hex(devtree.start)}, ${hex(devtree.end)}) overlap xenstore [${hex(xenstore.start)}, ${hex(xenstore.end)}) at the top of the ${formatSize(rmaSize)} RMA`, ['smaller-image', 'larger-rma']);
  }
  return { rmaSize, kernel, devtree, xenstore, console, sharedInfo };
}

export interface DomuTreeParams {
  domid: number;
  rmaSize: number;
  memSize: number;
  pftSizeLog2: number;
  bootargs: string;
  layout: DomuLayout;
}

/**
 * The domU's flattened device tree, as libxc's make_devtree built it: the
 * special pages reserved, /chosen pointing the console at /xen/console, a
 * /xen node with reg <domid 0>, shared-info and the console and store pages
 * with their event channels, the RMA and the rest as memory, and one cpu
 * copied from the machine's boot cpu (without its ibm, and linux, props)
 * with the hash table's ibm,pft-size. No /xen/p2m: Xen keeps this table.
 */
export function domuTree(firmware: DeviceTree, p: DomuTreeParams): DeviceTree {
  const t = emptyTree();
  const L = p.layout;
  t.reservations = [L.xenstore, L.console, L.sharedInfo].map((r) => ({ address: BigInt(r.start), size: BigInt(r.end - r.start) }));
  const root = t.root;
  const fwModel = getProp(firmware.root, 'model');
  const fwCompat = getProp(firmware.root, 'compatible');
  root.props.push(
    { name: 'device_type', value: enc.str('chrp-but-not-really') },
    { name: '#size-cells', value: enc.u32(2) },
    { name: '#address-cells', value: enc.u32(2) },
    { name: 'model', value: fwModel ? fwModel.value : enc.str('Momentum,Maple-D') },
    { name: 'compatible', value: fwCompat ? fwCompat.value : enc.str('Momentum,Maple') },
    { name: 'ibm,partition-name', value: enc.str(`dom${p.domid}`) },
    { name: 'ibm,partition-no', value: enc.u32(p.domid) },
  );
  addChild(root, newNode('chosen', [
    { name: 'linux,stdout-path', value: enc.str('/xen/console') },
    { name: 'bootargs', value: enc.str(p.bootargs) },
  ]));
  addChild(root, newNode('xen', [
    { name: 'compatible', value: enc.str('xen') },
    { name: 'reg', value: enc.u64(p.domid, 0) },
    { name: 'version', value: enc.str(XEN_VERSION) },
    { name: 'shared-info', value: enc.u64(L.sharedInfo.start, PAGE_SIZE) },
    // So the console and store reg below read as (u64 address, u64 size).
    { name: '#address-cells', value: enc.u32(2) },
    { name: '#size-cells', value: enc.u32(2) },
  ], [
    newNode('console', [{ name: 'reg', value: enc.u64(L.console.start, PAGE_SIZE) }, { name: 'interrupts', value: enc.u32(DOMU_CONSOLE_EVTCHN, 0) }]),
    newNode('store', [{ name: 'reg', value: enc.u64(L.xenstore.start, PAGE_SIZE) }, { name: 'interrupts', value: enc.u32(DOMU_STORE_EVTCHN, 0) }]),
  ]));
  addChild(root, newNode('memory@0', [{ name: 'device_type', value: enc.str('memory') }, { name: 'reg', value: enc.u64(0, p.rmaSize) }]));
  if (p.memSize > p.rmaSize) {
    addChild(root, newNode(`memory@${p.rmaSize.toString(16)}`, [{ name: 'device_type', value: enc.str('memory') }, { name: 'reg', value: enc.u64(p.rmaSize, p.memSize - p.rmaSize) }]));
  }
  const cpus = addChild(root, newNode('cpus', [
    { name: 'smp-enabled', value: enc.empty() },
    { name: '#size-cells', value: enc.u32(0) },
    { name: '#address-cells', value: enc.u32(1) },
  ]));
  const boot = bootCpuNode(firmware);
  const cpu = boot ? cloneNode(boot) : newNode('PowerPC,970@0', [{ name: 'device_type', value: enc.str('cpu') }, { name: 'reg', value: enc.u32(0) }]);
  cpu.children = [];
  cpu.props = cpu.props.filter((q) => !q.name.startsWith('ibm') && !q.name.startsWith('linux,'));
  cpu.props.push({ name: 'ibm,pft-size', value: enc.u32(0, p.pftSizeLog2) });
  addChild(cpus, cpu);
  const id = getProp(cpu, 'reg');
  t.bootCpuidPhys = id && id.value.length >= 4 ? readBe32(id.value, 0) : 0;
  return t;
}

/** A domU's device tree blob as it sits in its RMA. */
export function domuBlob(sys: System, d: Domain): Uint8Array {
  const L = d.domu?.layout;
  if (!L) throw new UsageError(`dom${d.domid} is not a domU`);
  const head = d.memory.read(L.devtree.start, 8);
  const total = fdtTotalSize(head);
  return d.memory.read(L.devtree.start, Math.min(Math.max(total, 8), L.devtree.end - L.devtree.start));
}

/** Foreign mappings (page references) held on a domain's frames: mfn -> count. */
export function liveForeignRefs(m: Machine, domid: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [mfn, n] of m.pageRefs) if (n > 0 && m.frames.ownerOf(mfn) === domid) out.push([mfn, n]);
  return out.sort((a, b) => a[0] - b[0]);
}


export interface DestroyReport { domid: number; framesFreed: number; xenFramesFreed: number; domHeapFree: number; xenHeapFree: number }

/**
 * Destroy a domU: refused while another domain holds foreign mappings of its
 * frames (Xen holds the page references until H_REMOVE); else every frame its
 * p2m maps goes back to the domain heap, and its Xen p2m and hash table back
 * to the Xen heap.
 */
export function destroyDomU(sys: System, domid: number): DestroyReport {
  const m = sys.machine;
  const d = sys.domains.get(domid);
  if (!d) throw new UsageError(`no domain ${domid} in this state`, `domains: ${[...sys.domains.keys()].join(', ')}`);
  if (domid === 0 || !d.shadow || !d.domu) throw new CheckError(`dom${domid} is not a domU: only domUs made by create-domu can be destroyed`);
  const refs = liveForeignRefs(m, domid);
  if (refs.length) {
    const total = refs.reduce((n, [, c]) => n + c, 0);
    throw new CheckError(`dom${domid} has ${total} live foreign mapping${total === 1 ? '' : 's'} of its frames (first mfn ${hex(refs[0][0])}): destroy refused until they are unmapped`, ['unmap-foreign-first']);
  }
  const domBefore = m.domHeap.freeCount;
  const xenBefore = m.xenHeap.freeCount;
  const table = p2mOf(d);
  for (const r of table.runs()) {
    if (r.mfn === INVALID_MFN) continue;
    // Runs follow the table; cut them where ownership changes (they are all the domain's).
    let at = r.mfn;
    const end = r.mfn + r.count;
    while (at < end) {
      const own = m.frames.lookup(at);
      if (!own || own.owner !== domid) throw new CheckError(`dom${domid}'s p2m maps mfn ${hex(at)}, which it does not own: the state is inconsistent`, ['run-validate']);
      const n = Math.min(end, own.mfn + own.count) - at;
      freeFrameRun(m, at, n);
      at += n;
    }
  }
  // Anything else still owned (nothing, if the table is right).
  for (const run of [...m.frames.all()].filter((x) => x.owner === domid)) freeFrameRun(m, run.mfn, run.count);
  if (d.arch.hpt) m.freeXenBlock(d.arch.hpt.mfn, d.arch.hpt.order);
  freeXenP2m(m, d);
  freeGrantFrames(m, d);
  d.dropHpt();
  sys.domains.delete(domid);
  return { domid, framesFreed: m.domHeap.freeCount - domBefore, xenFramesFreed: m.xenHeap.freeCount - xenBefore, domHeapFree: m.domHeap.freeCount, xenHeapFree: m.xenHeap.freeCount };
}
