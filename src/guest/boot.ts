import { KERNEL_BASE } from '../hpt/constants';
import { P2mTable } from '../p2m/table';
import type { Domain } from '../xen/domain';
import { xenHcalls } from '../xen/hcalls/xen';
import type { System } from '../xen/system';
import { readGuestDevtree } from './devtree';
import { boltLinearMap, ProgressFn } from './linear_map';
import { GuestMmu } from './mmu';
import { kernelText } from './kernel_image';
import { GuestRecord, saveGuestRecord } from './record';

export interface GuestBootOptions {
  /** Page size for the linear map: 12 (4 KiB) or 24 (16 MiB, the default). */
  linearPageShift: 12 | 24;
  /** Map extents that cannot be 16 MiB pages with 4 KiB pages instead of refusing. */
  linearFallback: boolean;
  /** Called as the linear map goes in (pfns done, pfns in all). */
  progress?: ProgressFn;
  /**
   * Whose bolting to follow: 2.6.18 (the default) keeps no record of the
   * slots its bolted entries got (only hash_page stores slots, in the Linux
   * PTE); 2.6.22 added linear_map_hash_slots, one byte per linear page.
   */
  kernelVersion?: '2.6.18' | '2.6.22';
}

/** The largest kernel image whose symbols the guest looks for (its bytes are in the RMA from 0). */
const MAX_IMAGE_SCAN = 64 * 1024 * 1024;

/**
 * dom0's kernel, early boot (simulated Linux 2.6.17/18 with the proposal's
 * changes): in real mode it reads its device tree out of its RMA, finds its
 * own p2m table through /xen/p2m and from then on translates pfn -> mfn
 * itself; then it bolts its linear mapping into the hash table through
 * H_ENTER, handing Xen machine frames. The tables and what the kernel did
 * are kept with the domain for saving. The caller times it, if it wants.
 */
export function bootDom0Guest(sys: System, d: Domain, opt: GuestBootOptions): GuestRecord {
  const facts = readGuestDevtree(d);
  const p2m = new P2mTable(d.memory, facts.p2m.paddr, facts.p2m.entries);
  const mmu = new GuestMmu(d, xenHcalls(sys), p2m, facts.pftSizeLog2);
  // The kernel knows where its text is (its link-time symbols): read them from its image at 0.
  const kbytes = Math.min(d.images.kernel.bytes, d.rmaBytes, MAX_IMAGE_SCAN);
  const text = kernelText(d.memory.read(0, kbytes), d.images.kernel.bytes);
  const version = opt.kernelVersion ?? '2.6.18';
  const lin = boltLinearMap(mmu, facts.memory, { pageShift: opt.linearPageShift, fallback: opt.linearFallback, text, progress: opt.progress });
  const rec: GuestRecord = {
    version: 1,
    domid: d.domid,
    devtree: {
      paddr: facts.blob.paddr,
      bytes: facts.blob.bytes,
      p2mPaddr: facts.p2m.paddr,
      p2mBytes: facts.p2m.bytes,
      reservation: facts.reservation,
      rmaBytes: facts.rmaBytes,
      memBytes: facts.memBytes,
      pftSizeLog2: facts.pftSizeLog2,
    },
    linear: {
      base: '0x' + KERNEL_BASE.toString(16),
      pageShift: opt.linearPageShift,
      fallback: opt.linearFallback,
      bytes: facts.memBytes,
      pages4K: lin.pages4K,
      pages16M: lin.pages16M,
      fallbackExtents: lin.fallbackExtents,
      inserts: lin.inserts,
      hidxPerPfn: lin.hidxPerPfn,
      text,
      kernelVersion: version,
    },
  };
  saveGuestRecord(d, rec, lin.hidx);
  return rec;
}

