import { EXTENT_PAGES, INVALID_MFN } from '../machine/constants';
import type { Machine } from '../machine/machine';
import { freeFrameRun } from './mm';
import type { Domain } from './domain';
import { p2mOf } from './shadow_p2m';

/**
 * Xen's XENMEM reservation operations (xen/common/memory.c @ a046da3892),
 * as small handlers over the machine: each takes the struct
 * xen_memory_reservation's extent_order, nr_extents and extent list (in and
 * out), and returns how many extents it did (nr_done, memory.c:89, 147,
 * 219), stopping at the first it cannot do.
 *
 * The proposal's dom0 is not translated (not shadow): the numbers it hands
 * are machine frames, since its pfn2mfn is the identity, and Xen returns
 * machine frames. Xen never writes dom0's own table; dom0 does. A shadow
 * domain's numbers are gpfns, translated through (and written into) the p2m
 * Xen keeps for it.
 */
export const XENMEM_decrease_reservation = 1;
export const XENMEM_populate_physmap = 6; // xen/include/public/memory.h:35-37

export interface Reservation {
  extentOrder: number;
  nrExtents: number;
  /** extent_start: frame numbers in, and machine frames out (populate, untranslated). */
  extents: number[];
}

const NAMES: Record<number, string> = {
  [XENMEM_decrease_reservation]: 'XENMEM_decrease_reservation',
  [XENMEM_populate_physmap]: 'XENMEM_populate_physmap',
};
export const memoryOpName = (cmd: number): string => NAMES[cmd] ?? `XENMEM ${cmd}`;

/** memory_op(cmd, &reservation) for domain d: the extents done. */
export function memoryOp(m: Machine, d: Domain, cmd: number, a: Reservation): number {
  if (cmd === XENMEM_decrease_reservation) return decreaseReservation(m, d, a);
  if (cmd === XENMEM_populate_physmap) return populatePhysmap(m, d, a);
  throw new Error(`memory_op ${cmd} is not modelled`);
}

/** Allocate one extent for d (__alloc_domheap_pages): its first mfn, or undefined. */
function allocExtent(m: Machine, d: Domain, order: number): number | undefined {
  const mfn = m.domHeap.alloc(order);
  if (mfn === undefined) return undefined;
  m.frames.assign(mfn, 2 ** order, d.domid, 'balloon');
  d.totPages += 2 ** order;
  return mfn;
}

/**
 * populate_physmap (memory.c:92-148): for each gpfn in the list allocate an
 * extent; a translated domain gets guest_physmap_add_page per page
 * (:130-134); one that is not (the proposal's dom0) has the machine frame
 * written back into its list (:135-143) and enters it in its own table.
 */
function populatePhysmap(m: Machine, d: Domain, a: Reservation): number {
  const n = 2 ** a.extentOrder;
  let i = 0;
  for (; i < a.nrExtents; i++) {
    const gpfn = a.extents[i];
    const mfn = allocExtent(m, d, a.extentOrder);
    if (mfn === undefined) break;
    if (d.shadow) {
      const t = p2mOf(d);
      for (let j = 0; j < n; j++) t.set(gpfn + j, mfn + j); // guest_physmap_add_page
    } else a.extents[i] = mfn;
  }
  return i;
}

/**
 * decrease_reservation (memory.c:194-220): guest_remove_page for each page
 * of each extent (:213-215). gmfn_to_mfn is the identity for a domain that
 * is not translated (the proposal's dom0 hands machine frames); through
 * Xen's p2m for a shadow one, whose entry guest_physmap_remove_page clears
 * (:187). A frame the domain does not own fails get_page (:164-168): stop.
 */
function decreaseReservation(m: Machine, d: Domain, a: Reservation): number {
  const n = 2 ** a.extentOrder;
  const t = d.shadow ? p2mOf(d) : undefined;
  const freed: { mfn: number; count: number }[] = [];
  const taken = new FrameSet();
  let i = 0;
  outer: for (; i < a.nrExtents; i++) {
    for (let j = 0; j < n; j++) {
      const gmfn = a.extents[i] + j;
      const mfn = t ? t.get(gmfn) : gmfn;
      if (mfn === INVALID_MFN || m.frames.ownerOf(mfn) !== d.domid || taken.has(mfn)) break outer;
      taken.add(mfn);
      if (t) t.set(gmfn, INVALID_MFN);
      const last = freed[freed.length - 1];
      if (last && last.mfn + last.count === mfn) last.count++;
      else freed.push({ mfn, count: 1 });
    }
  }
  // The pages go back to the heap (put_page, :189), as whole runs.
  for (const f of freed) {
    freeFrameRun(m, f.mfn, f.count);
    d.totPages -= f.count;
  }
  return i;
}

/**
 * A set of frame numbers, one bitmap per 16 MiB extent touched: O(1) a page,
 * an eighth of a byte a page, and no cap on its size (a JS Set stops at 2^24
 * entries, the frames of a 64 GiB balloon).
 */
class FrameSet {
  private readonly words = new Map<number, Uint32Array>();

  has(mfn: number): boolean {
    const w = this.words.get(Math.floor(mfn / EXTENT_PAGES));
    return w !== undefined && (w[(mfn % EXTENT_PAGES) >>> 5] & (1 << (mfn & 31))) !== 0;
  }

  add(mfn: number): void {
    const e = Math.floor(mfn / EXTENT_PAGES);
    let w = this.words.get(e);
    if (w === undefined) this.words.set(e, (w = new Uint32Array(EXTENT_PAGES / 32)));
    w[(mfn % EXTENT_PAGES) >>> 5] |= 1 << (mfn & 31);
  }
}
