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
  };
}

/** The guest kernel's record and its slot bytes (Linux's hidx per hashed page). */
export interface GuestKernelState {
  rec: GuestRecord;
  hidx: Uint8Array;
}
