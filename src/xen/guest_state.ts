/**
 * What the simulated guest kernel keeps for itself, held next to its
 * struct domain so the state can save it. Xen never reads it; the guest
 * code (src/guest) fills it. It is declared here, below the guest, so that
 * struct domain can hold it without Xen importing the guest.
 */
export interface GuestRecord {
  version: 1;
  domid: number;
  /** What the device tree told it. */
  devtree: { paddr: number; bytes: number; p2mPaddr: number; p2mBytes: number; reservation: { address: number; size: number }; rmaBytes: number; memBytes: number; pftSizeLog2: number };
  linear: {
    /** The effective address of paddr 0, hex. */
    base: string;
    /** Asked page size: 4 KiB or 16 MiB. */
    pageShift: 12 | 24;
    fallback: boolean;
    bytes: number;
    pages4K: number;
    pages16M: number;
    /** First pfn of each 16 MiB extent mapped with 4 KiB pages instead (the fallback). */
    fallbackExtents: number[];
    inserts: number;
    /** hidx bytes per pfn, or per 16 MiB extent when every extent is one 16 MiB page. */
    hidxPerPfn: boolean;
    /**
     * Kernel text [_stext, __init_end) as guest-physical offsets, and where it
     * was read (the image's symbol table, or the whole image when it has none):
     * bolted pages outside it carry HPTE_R_N. Absent in states from before it was kept.
     */
    text?: { start: number; end: number; source: 'symbols' | 'image' };
    /**
     * The kernel whose bolting this follows: 2.6.18 keeps no slot record for
     * bolted entries (its hidx bytes are empty); 2.6.22 does
     * (linear_map_hash_slots). Absent in older states: 2.6.22 (they kept one).
     */
    kernelVersion?: '2.6.18' | '2.6.22';
  };
}

/** The guest kernel's record and its slot bytes (Linux's hidx per hashed page). */
export interface GuestKernelState {
  rec: GuestRecord;
  hidx: Uint8Array;
}
