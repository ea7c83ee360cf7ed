import type { Machine } from '../machine/machine';
import type { Domain } from './domain';

/**
 * INITIAL_NR_GRANT_FRAMES on PowerPC (xen/include/asm-powerpc/grant_table.h:26
 * @ a046da3892 and @ 1aa3c54a31^): the shared frames grant_table_create gives
 * every domain. PowerPC never grows the table (mm.c:436-440 @ 1aa3c54a31^:
 * max_nr_grant_frames = INITIAL_NR_GRANT_FRAMES), so it stays at 4.
 */
export const NR_GRANT_FRAMES = 4;

/** The frame table's use for domain `domid`'s grant-table frames (owner 'xen'). */
export function grantUse(domid: number): string {
  return `grant dom${domid}`;
}

export { grantDomainOfUse } from '../machine/frames';

/**
 * grant_table_create's shared frames (xen/common/grant_table.c:1311-1319 @
 * a046da3892): INITIAL_NR_GRANT_FRAMES pages, one alloc_xenheap_page each
 * (order 0 from the Xen heap, :1313), then shared with the guest
 * (gnttab_create_shared_page -> share_xen_page_with_guest, asm-powerpc
 * grant_table.h:42-47). Here they stay Xen's in the frame table, with the
 * use `grant domN`. The active and maptrack pages (:1289, :1299) are Xen's
 * private pages and are not simulated.
 */
export function allocGrantFrames(m: Machine, d: Domain): number[] {
  const got: number[] = [];
  try {
    for (let i = 0; i < NR_GRANT_FRAMES; i++) got.push(m.allocXenBlock(0, grantUse(d.domid), `dom${d.domid} grant table`));
  } catch (e) {
    for (const mfn of got) m.freeXenBlock(mfn, 0);
    throw e;
  }
  d.grantFrames = got;
  return got;
}

/** grant_table_destroy: free_xenheap_page of each shared frame (xen/common/grant_table.c:1441-1442 @ a046da3892). */
export function freeGrantFrames(m: Machine, d: Domain): void {
  for (const mfn of d.grantFrames) m.freeXenBlock(mfn, 0);
  d.grantFrames = [];
}
