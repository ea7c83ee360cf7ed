import { allocGrantFrames } from '../xen/grant_table';
import { fixupDom0Tree } from '../devtree/ofd_fixup';
import { findNode, removeProp } from '../devtree/tree';
import { EXTENT_SIZE, PAGE_SIZE } from '../machine/constants';
import { rmlsOf, rmorOf } from '../machine/cpu';
import { layoutRma, RmaLayout } from '../rma/layout';
import { FitError } from '../util/errors';
import { alignUp, formatSize, hex, MiB } from '../util/size';
import { PLATFORM_PFN_HOLE } from '../xen/physmap';
import { Domain } from '../xen/domain';
import { allocateHpt, Dom0Options, loadImages, MIN_DOM0_BYTES, rmaLayoutInput, writeDevtree, XEN_VERSION, FOREIGN_MAP, firmwareHasRtas } from './domain_build';
import type { Tracer } from './report';
import { allocateExtents, allocateRma, guestPhysmapAddPage } from '../xen/mm';
import { allocXenP2m, installXenP2m } from '../xen/shadow_p2m';
import type { Dom0Report, System } from '../xen/system';



/**
 * construct_dom0 the pre-proposal way (Xen/PowerPC early 2007): dom0 is
 * privileged but Xen keeps its p2m (guest_physmap_max_mem_pages gives it a
 * Xen-heap table, the RMA and every extent go in through
 * guest_physmap_add_page), the guest passes pfns in H_ENTER and Xen's legacy
 * pfn2mfn translates them (src/xen/legacy/pfn2mfn.ts). The device tree has
 * no /xen/p2m and the RMA holds no table. Without a balloon the table covers
 * the boot size. Otherwise the same steps as constructDom0.
 */
export function constructDom0Legacy(sys: System, opt: Dom0Options, trace: Tracer = () => {}): { dom0: Domain; report: Dom0Report } {
  const machine = sys.machine;
  const ramBytes = machine.profile.ram;
  rmlsOf(opt.rmaSize);
  let mem = opt.mem ?? Math.max(Math.floor(ramBytes / 16), MIN_DOM0_BYTES);
  mem = alignUp(Math.max(mem, opt.rmaSize), EXTENT_SIZE);
  if (mem > Math.floor(ramBytes / EXTENT_SIZE) * EXTENT_SIZE) throw new FitError(`dom0 of ${formatSize(mem)} is larger than the machine's RAM (${formatSize(ramBytes)})`, ['smaller-dom0', 'more-ram']);
  const notes: string[] = [];
  // Upstream capped dom0 below the IO hole: "XXX Dom0 currently can't extend past
  // the IO hole" (xen/arch/powerpc/domain_build.c:114-119 @ 1aa3c54a31^).
  const holeBase = PLATFORM_PFN_HOLE.start * PAGE_SIZE;
  if (mem > holeBase) {
    if (opt.legacyCap) {
      notes.push(`Limiting DOM0 memory size to ${holeBase / MiB} MiB to avoid IO hole (what upstream's domain_build.c did with the ${formatSize(mem)} asked)`);
      mem = holeBase;
    } else {
      notes.push(`upstream capped this dom0 at ${formatSize(holeBase)} (domain_build.c: "Limiting DOM0 memory size ... to avoid IO hole"); built uncapped, its pfns from ${formatSize(holeBase)} up meet the legacy pfn2mfn's IO test (see audit), and its tree describes RAM only up to the hole, as ofd_fixup_memory.c's #if 0 left it`);
    }
  }
  const maxPages = mem / PAGE_SIZE;
  trace({ step: 1, title: 'size dom0 (legacy)', facts: [['memory', formatSize(mem)], ['pages', String(maxPages)], ['cap', opt.legacyCap ? 'upstream\'s, at the IO hole' : 'none']] });

  const layout: RmaLayout = layoutRma({ ...rmaLayoutInput(machine, opt, { kind: 'after-of' }), entries: 0 });

  const xenP2m = allocXenP2m(machine, 0, maxPages);
  let rma;
  try {
    rma = allocateRma(machine, 0, opt.rmaSize);
  } catch (e) {
    machine.freeXenBlock(xenP2m.mfn, xenP2m.order);
    throw e;
  }
  // Privileged, and Xen keeps its table: `shadow` in this tool's sense.
  const dom0 = new Domain(0, true, true, maxPages, { mfn: rma.mfn, order: rma.order }, rma.memory);
  dom0.layout = layout;
  installXenP2m(dom0, xenP2m, 'legacy');
  sys.domains.set(0, dom0);
  trace({ step: 2, title: 'create domain 0', facts: [['privileged', 'yes'], ['p2m', 'kept by Xen (legacy)']] });
  trace({ step: 3, title: 'guest_physmap_max_mem_pages', facts: [['entries', String(maxPages)], ['Xen heap', hex(xenP2m.mfn * PAGE_SIZE)], ['bytes', formatSize(maxPages * 4)]] });

  const set = (pfn: number, mfn: number): void => xenP2m.table.set(pfn, mfn);
  for (let i = 0, n = dom0.rmaPages; i < n; i++) guestPhysmapAddPage(dom0, i, rma.mfn + i, set);
  dom0.totPages = dom0.rmaPages;
  trace({ step: 4, title: 'allocate the RMA', facts: [['size', formatSize(opt.rmaSize)], ['machine', hex(rma.mfn * PAGE_SIZE)], ['HID4 RMOR', hex(rmorOf(rma.mfn * PAGE_SIZE))], ['guest_physmap_add_page', 'updated Xen p2m']] });

  // guest_physmap_add_page for each of an extent's pages, written as the run it is.
  const extents = allocateExtents(machine, dom0, mem / PAGE_SIZE, (pfn, mfn, count) => xenP2m.table.fillRun(pfn, mfn, count));
  trace({ step: 9, title: 'allocate_extents', facts: [['extents', String(extents)], ['memory', formatSize(dom0.totPages * PAGE_SIZE)], ['guest_physmap_add_page', 'updated Xen p2m']] });

  const hptBytes = allocateHpt(machine, dom0, opt.hptMiB);
  trace({ step: 10, title: 'hash table from the Xen heap', facts: [['size', formatSize(hptBytes)], ['ibm,pft-size', `<0 ${Math.log2(hptBytes)}>`]] });
  // The grant table's shared frames (grant_table.c:1311-1319 @ a046da3892), after the hash table as in constructDom0.
  allocGrantFrames(machine, dom0);

  const tree = fixupDom0Tree(opt.firmwareTree, {
    // ofd_memory_extent_nodes (ofd_fixup_memory.c:86-113 @ 1aa3c54a31^): past 2 GiB, a node up to
    // the hole and (the #if 0) nothing above it.
    memory: [{ start: 0, size: opt.rmaSize }, ...(mem > opt.rmaSize ? [{ start: opt.rmaSize, size: Math.min(mem, holeBase) - opt.rmaSize }] : [])],
    pftSizeLog2: Math.log2(hptBytes),
    bootargs: opt.bootargs,
    initrd: layout.initrd && opt.initrd ? { start: layout.initrd.start, end: layout.initrd.start + opt.initrd.size } : undefined,
    xen: { domid: 0, version: XEN_VERSION, sharedInfo: { address: layout.sharedInfo.start, size: PAGE_SIZE }, p2m: { address: 0, size: 0 }, privileged: true, initdomain: true, powerControl: !firmwareHasRtas(opt.firmwareTree), foreignMap: FOREIGN_MAP },
    reservations: [
      { address: layout.firmware.start, size: layout.firmware.end - layout.firmware.start },
      { address: layout.devtree.start, size: layout.devtree.end - layout.devtree.start },
      { address: layout.sharedInfo.start, size: PAGE_SIZE },
    ],
  });
  // Before the proposal there is no /xen/p2m: the guest never sees a table.
  removeProp(findNode(tree.root, '/xen')!, 'p2m');
  const blob = writeDevtree(dom0, layout, tree);
  trace({ step: 11, title: 'device tree (FDT v17) into the RMA', facts: [['at', hex(layout.devtree.start)], ['bytes', String(blob.length)], ['/xen/p2m', 'none (legacy)']] });

  loadImages(dom0, layout, opt);
  trace({ step: 12, title: 'load images, set vcpu0', facts: [['pc', hex(dom0.vcpu0.pc)]] });

  const report: Dom0Report = {
    memBytes: mem,
    maxPages,
    platformLimitBytes: Math.floor(ramBytes / EXTENT_SIZE) * EXTENT_SIZE,
    maxMemSource: 'option',
    hptBytes,
    devtreeBytes: blob.length,
    extentsAllocated: extents,
    notes: [...notes, `legacy translation: Xen keeps dom0's p2m (${maxPages} entries, ${formatSize(maxPages * 4)} in the Xen heap at ${hex(xenP2m.mfn * PAGE_SIZE)}); dom0 hands Xen pfns and Xen's pfn2mfn guesses`],
  };
  return { dom0, report };
}

