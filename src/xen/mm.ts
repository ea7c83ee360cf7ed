import { EXTENT_ORDER, EXTENT_PAGES, MAX_ORDER, PAGE_SIZE } from '../machine/constants';
import { GuestMemory } from '../machine/guest_memory';
import type { Machine } from '../machine/machine';
import { FitError } from '../util/errors';
import { formatSize } from '../util/size';
import type { Domain } from './domain';
import { ramPfn } from './physmap';

/**
 * guest_physmap_add_page: under the proposal a no-op for non-shadow domains,
 * whose kernel keeps the translation; shadow domains still update Xen's p2m.
 * Returns whether Xen's table changed.
 */
export function guestPhysmapAddPage(d: Domain, pfn: number, mfn: number, xenP2m?: (pfn: number, mfn: number) => void): boolean {
  if (!d.shadow) return false;
  if (!xenP2m) throw new Error(`dom${d.domid} is a shadow domain without a Xen p2m`);
  xenP2m(pfn, mfn);
  return true;
}

/** Allocate the RMA: one block naturally aligned to its own size. */
export function allocateRma(machine: Machine, domid: number, rmaBytes: number): { mfn: number; order: number; memory: GuestMemory } {
  const order = Math.round(Math.log2(rmaBytes / PAGE_SIZE));
  const mfn = machine.domHeap.alloc(order);
  if (mfn === undefined) {
    throw new FitError(`cannot allocate a ${formatSize(rmaBytes)} RMA for dom${domid}: the domain heap has no free ${formatSize(rmaBytes)}-aligned block; ${machine.largestFreeText(machine.domHeap)}`, ['smaller-rma', 'more-ram']);
  }
  machine.frames.assign(mfn, 2 ** order, domid, 'rma');
  return { mfn, order, memory: new GuestMemory(rmaBytes) };
}

/**
 * allocate_extents, as the proposal changes it: take 16 MiB extents until the
 * domain has `pages`, writing each extent's 4096 entries straight into the
 * table through `record` (d->arch.p2m) instead of guest_physmap_add_page.
 * Each extent's pfns are the next RAM pfns of the domain's map: past the IO
 * hole once RAM reaches it (an extent never straddles it: both are 16 MiB
 * aligned).
 * Checks the heap first so a request that cannot be met changes nothing.
 */
export function allocateExtents(machine: Machine, d: Domain, pages: number, record: (pfn: number, mfn: number, count: number) => void): number {
  const need = Math.max(0, Math.ceil((pages - d.totPages) / EXTENT_PAGES));
  const free = countFreeExtents(machine);
  if (need > free) {
    throw new FitError(`dom${d.domid} needs ${need} more 16 MiB extents (${formatSize(need * EXTENT_PAGES * PAGE_SIZE)}) but the domain heap can supply only ${free} (${formatSize(free * EXTENT_PAGES * PAGE_SIZE)})`, ['smaller-dom0', 'more-ram']);
  }
  for (let i = 0; i < need; i++) {
    const mfn = machine.domHeap.alloc(EXTENT_ORDER)!;
    machine.frames.assign(mfn, EXTENT_PAGES, d.domid, 'extent');
    record(ramPfn(d.ioHole, d.totPages), mfn, EXTENT_PAGES);
    d.extents.push(mfn);
    d.totPages += EXTENT_PAGES;
  }
  return need;
}

/** How many order-12 blocks the domain heap could hand out now. */
export function countFreeExtents(machine: Machine): number {
  let n = 0;
  machine.domHeap.free.forEach((list, order) => {
    if (order >= EXTENT_ORDER) n += list.length * 2 ** (order - EXTENT_ORDER);
  });
  return n;
}

/** Return [mfn, mfn + count) to the domain heap as maximal aligned blocks. */
export function freeFrameRun(m: Machine, mfn: number, count: number): void {
  const end = mfn + count;
  while (mfn < end) {
    let order = MAX_ORDER;
    while (order > 0 && (mfn % 2 ** order !== 0 || mfn + 2 ** order > end)) order--;
    m.freeDomainBlock(mfn, order);
    mfn += 2 ** order;
  }
}
