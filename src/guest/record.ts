import type { Domain } from '../xen/domain';
import type { GuestRecord } from '../xen/guest_state';

export type { GuestRecord } from '../xen/guest_state';

/**
 * Keep what the kernel did in early boot with its domain, for the state,
 * inspect and validate. `hidx` is the slot bytes the kernel's bolting left;
 * a kernel that keeps no slot record has them kept empty (decided here, once).
 */
export function saveGuestRecord(d: Domain, rec: GuestRecord, hidx: Uint8Array): void {
  d.guest = { rec, hidx: keepsSlotRecord(rec) ? hidx : new Uint8Array(0) };
}

/** The hidx byte for a pfn in the linear map (0: not hashed). */
export function hidxOf(rec: GuestRecord, hidx: Uint8Array, pfn: number): number {
  const i = rec.linear.hidxPerPfn ? pfn : Math.floor(pfn / 4096);
  return hidx[i] ?? 0;
}

/** Does the kernel keep a slot record for its bolted pages? 2.6.18 does not; 2.6.22's linear_map_hash_slots does (older states kept one). */
export function keepsSlotRecord(rec: GuestRecord): boolean {
  return rec.linear.kernelVersion !== '2.6.18';
}

/** Kernel text as the record holds it; a state from before it was kept bolted everything as text (0x190). */
export function linearTextOf(rec: GuestRecord): { start: number; end: number } {
  return rec.linear.text ?? { start: 0, end: Number.MAX_SAFE_INTEGER };
}
