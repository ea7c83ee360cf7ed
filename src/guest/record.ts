import type { Domain } from '../xen/domain';
import type { GuestRecord } from '../xen/guest_state';

export type { GuestRecord } from '../xen/guest_state';

/** Keep what the kernel did in early boot with its domain, for the state, inspect and validate. */
export function saveGuestRecord(d: Domain, rec: GuestRecord, hidx: Uint8Array): void {
  d.guest = { rec, hidx };
}

/** The hidx byte for a pfn in the linear map (0: not hashed). */
export function hidxOf(rec: GuestRecord, hidx: Uint8Array, pfn: number): number {
  const i = rec.linear.hidxPerPfn ? pfn : Math.floor(pfn / 4096);
  return hidx[i] ?? 0;
}
