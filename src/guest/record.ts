import type { System } from '../xen/system';

/** What dom0's kernel did in early boot, saved with the state for inspect and validate. */
export interface GuestRecord {
  version: 1;
  domid: number;
  /** What the device tree told it. */
  devtree: { gpa: number; bytes: number; p2mGpa: number; p2mBytes: number; reservation: { address: number; size: number }; rmaBytes: number; memBytes: number; pftSizeLog2: number };
  linear: {
    /** The effective address of paddr 0, hex. */
    base: string;
    /** Asked page size: 4 KiB or 16 MiB. */
    pageShift: 12 | 24;
    fallback: boolean;
    bytes: number;
    pages4K: number;
    pages16M: number;
    /** First pfn of each 16 MiB extent mapped with 4 KiB pages instead (by --linear-fallback). */
    fallbackExtents: number[];
    inserts: number;
    /** hidx bytes per pfn, or per 16 MiB extent when every extent is one 16 MiB page. */
    hidxPerPfn: boolean;
  };
  /** How long the boot took: reported by construct, never saved (the state stays a function of its inputs). */
  timing?: { insertMs: number; bootMs: number };
}

export const guestKey = (domid: number): string => `guest.dom${domid}`;
export const hidxKey = (domid: number): string => `guest.dom${domid}.hidx`;

export function saveGuestRecord(sys: System, rec: GuestRecord, hidx: Uint8Array): void {
  const { timing: _timing, ...saved } = rec;
  sys.extra.set(guestKey(rec.domid), Buffer.from(JSON.stringify(saved), 'utf8'));
  sys.extra.set(hidxKey(rec.domid), hidx);
}

/** The record of a booted guest, or undefined (built with --no-boot, or a state from before). */
export function loadGuestRecord(sys: System, domid: number): { rec: GuestRecord; hidx: Uint8Array } | undefined {
  const raw = sys.extra.get(guestKey(domid));
  if (!raw) return undefined;
  const rec = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')) as GuestRecord;
  return { rec, hidx: sys.extra.get(hidxKey(domid)) ?? new Uint8Array(0) };
}

/** The hidx byte for a pfn in the linear map (0: not hashed). */
export function hidxOf(rec: GuestRecord, hidx: Uint8Array, pfn: number): number {
  const i = rec.linear.hidxPerPfn ? pfn : Math.floor(pfn / 4096);
  return hidx[i] ?? 0;
}
