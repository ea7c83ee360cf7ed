import { EXTENT_PAGES, INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import type { P2mTable } from '../p2m/table';
import { FitError, UsageError } from '../util/errors';
import { hex } from '../util/size';
import type { Domain } from '../xen/domain';
import { inHole, ramPagesBelow, ramRuns } from '../xen/physmap';

/** struct xencomm_desc { u32 magic; u32 nr_addrs; u64 address[]; } (Linux xencomm.h). */
export const XENCOMM_MAGIC = 0x58434f4d;
const DESC_HEADER = 8;
/** Addresses one descriptor page holds: (4096 - 8) / 8. */
export const XENCOMM_ADDRS_PER_PAGE = (PAGE_SIZE - DESC_HEADER) / 8;

export type Region = 'RMA' | 'extent';

export interface XencommEntry {
  index: number;
  /** Guest-physical address of this piece (the buffer's, page by page). */
  paddr: number;
  pfn: number;
  mfn: number;
  /** What goes in address[index]: a machine address. */
  maddr: number;
  bytes: number;
  region: Region;
  /** For an extent: its index in pfn order (0 = the first after the RMA). */
  extent: number | null;
}

export interface XencommBreak {
  /** address[index - 1] and address[index] are not consecutive machine memory. */
  index: number;
  kind: 'RMA -> extent' | 'extent -> extent' | 'other';
  fromPfn: number;
  toPfn: number;
  fromMaddrEnd: number;
  toMaddr: number;
}

export interface XencommDescriptor {
  domid: number;
  paddr: number;
  len: number;
  magic: number;
  nrAddrs: number;
  /** Bytes of the descriptor (header and addresses). */
  descriptorBytes: number;
  /** Linux's xencomm_create builds one descriptor page: this many addresses at most. */
  fitsOnePage: boolean;
  entries: XencommEntry[];
  breaks: XencommBreak[];
  /** The descriptor's bytes as Xen reads them (big-endian). */
  bytes: Uint8Array;
}

/**
 * The xencomm descriptor dom0's kernel hands Xen for a hypercall argument
 * buffer at guest-physical [paddr, paddr + len): one address per piece (the
 * first from paddr's offset, then whole pages), each translated to a machine
 * address through dom0's own p2m table in its RMA, as the proposal asks of
 * the xencomm code of privileged domains. Where two neighbours are not one
 * machine run, Xen's copy crosses a discontinuity: the RMA into an extent,
 * or one extent into the next.
 */
export function xencommDescriptor(d: Domain, table: P2mTable, paddr: number, len: number): XencommDescriptor {
  if (len <= 0) throw new UsageError('a xencomm buffer must be more than 0 bytes long');
  const end = paddr + len;
  const limit = table.entries * PAGE_SIZE;
  if (paddr < 0 || end > limit) throw new UsageError(`buffer [${hex(paddr)}, ${hex(end)}) is outside dom${d.domid}'s memory (its table covers [0x0, ${hex(limit)}))`);
  const entries: XencommEntry[] = [];
  for (let at = paddr, i = 0; at < end; i++) {
    const pfn = Math.floor(at / PAGE_SIZE);
    const off = at % PAGE_SIZE;
    const bytes = Math.min(PAGE_SIZE - off, end - at);
    const mfn = table.get(pfn);
    if (inHole(d.ioHole, pfn)) throw new FitError(`pfn ${hex(pfn)} (paddr ${hex(pfn * PAGE_SIZE)}) of the buffer lies in the IO hole of dom${d.domid}'s map [${hex(d.ioHole!.start * PAGE_SIZE)}, ${hex(d.ioHole!.end * PAGE_SIZE)}): MMIO, not RAM, so no xencomm buffer can be there`, ['populated-buffer']);
    if (mfn === INVALID_MFN) throw new FitError(`pfn ${hex(pfn)} (paddr ${hex(pfn * PAGE_SIZE)}) of the buffer has no frame in dom${d.domid}'s table (INVALID_MFN): it was ballooned out, or never populated`, ['populated-buffer']);
    const inRma = pfn < d.rmaPages;
    // Extents are numbered in RAM order: the hole's pfns are not counted.
    entries.push({ index: i, paddr: at, pfn, mfn, maddr: mfn * PAGE_SIZE + off, bytes, region: inRma ? 'RMA' : 'extent', extent: inRma ? null : Math.floor((ramPagesBelow(d.ioHole, pfn) - d.rmaPages) / EXTENT_PAGES) });
    at += bytes;
  }
  const breaks: XencommBreak[] = [];
  for (let i = 1; i < entries.length; i++) {
    const a = entries[i - 1];
    const b = entries[i];
    if (b.mfn === a.mfn + 1) continue;
    const kind = a.region === 'RMA' && b.region === 'extent' ? 'RMA -> extent' : a.region === 'extent' && b.region === 'extent' && a.extent !== b.extent ? 'extent -> extent' : 'other';
    breaks.push({ index: i, kind, fromPfn: a.pfn, toPfn: b.pfn, fromMaddrEnd: a.maddr + a.bytes, toMaddr: b.maddr });
  }
  const descriptorBytes = DESC_HEADER + entries.length * 8;
  const bytes = new Uint8Array(descriptorBytes);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, XENCOMM_MAGIC);
  dv.setUint32(4, entries.length);
  entries.forEach((e, i) => dv.setBigUint64(DESC_HEADER + i * 8, BigInt(e.maddr)));
  return { domid: d.domid, paddr, len, magic: XENCOMM_MAGIC, nrAddrs: entries.length, descriptorBytes, fitsOnePage: entries.length <= XENCOMM_ADDRS_PER_PAGE, entries, breaks, bytes };
}

/** The entries as machine runs (consecutive addresses merged), for display. */
export function xencommRuns(x: XencommDescriptor): { first: number; count: number; pfn: number; maddr: number; bytes: number; region: string }[] {
  const out: { first: number; count: number; pfn: number; maddr: number; bytes: number; region: string }[] = [];
  const cut = new Set(x.breaks.map((b) => b.index));
  for (const e of x.entries) {
    const last = out[out.length - 1];
    if (last && !cut.has(e.index)) {
      last.count++;
      last.bytes += e.bytes;
    } else out.push({ first: e.index, count: 1, pfn: e.pfn, maddr: e.maddr, bytes: e.bytes, region: e.region === 'RMA' ? 'RMA' : `extent ${e.extent}` });
  }
  return out;
}

/** XENCOMM_INLINE_FLAG, bit 63 of a handle (xen/include/public/arch-powerpc.h:72 @ 1aa3c54a31^). */
export const XENCOMM_INLINE_FLAG = 1n << 63n;

export interface XencommInline {
  domid: number;
  paddr: number;
  len: number;
  /** The handle dom0 passes: XENCOMM_INLINE_FLAG | the machine address of the buffer's first byte. */
  handle: bigint;
  pages: number;
  /**
   * The first page Xen reads from the wrong frame, when the buffer is not one
   * machine run: Xen takes maddr + k pages for page k, dom0's table says otherwise.
   */
  wrong?: { page: number; paddr: number; pfn: number; xenMfn: number; mfn: number };
}

/**
 * An inline xencomm handle for [paddr, paddr + len): one address, no
 * descriptor. Xen's xencomm_inline_from_guest walks it page by page from
 * that one address (xen/common/xencomm.c:216-236 @ 1aa3c54a31^), each page
 * through paddr_to_maddr (:49; xen/arch/powerpc/usercopy.c:28-49), which is
 * gmfn_to_mfn, the identity for a domain that is not translated. So under
 * the proposal, where dom0's addresses are machine addresses, page k is read
 * at maddr + k * 4 KiB: right only while the buffer is one machine run.
 */
export function xencommInline(d: Domain, table: P2mTable, paddr: number, len: number): XencommInline {
  const x = xencommDescriptor(d, table, paddr, len);
  const first = x.entries[0];
  const handle = XENCOMM_INLINE_FLAG | BigInt(first.maddr);
  const out: XencommInline = { domid: d.domid, paddr, len, handle, pages: x.entries.length };
  for (let k = 1; k < x.entries.length; k++) {
    const e = x.entries[k];
    const xenMfn = first.mfn + (e.pfn - first.pfn);
    if (e.mfn !== xenMfn) {
      out.wrong = { page: k, paddr: e.pfn * PAGE_SIZE, pfn: e.pfn, xenMfn, mfn: e.mfn };
      break;
    }
  }
  return out;
}

/** One row of the inline audit: buffers of `len` bytes starting `offset` bytes into a page. */
export interface InlineAuditRow { len: number; offset: number; pages: number; starts: number; wrong: number }

/**
 * For each buffer size and in-page offset: of every start page in dom0's
 * RAM (the buffer inside RAM), how many give an inline handle that Xen
 * reads wrong (the buffer crosses a machine break of dom0's table).
 */
export function inlineAudit(d: Domain, table: P2mTable, lens: readonly number[], offsets: readonly number[]): InlineAuditRow[] {
  // Machine breaks: after pfn b, the next pfn's frame is not the next frame. RAM runs apart (the hole is not crossed).
  const ram = ramRuns(d.ioHole, 0, d.totPages);
  // A break between `at` and `at + 1`, with the RAM run [runPfn, runEnd) it lies in.
  const breaks: { at: number; runPfn: number; runEnd: number }[] = [];
  for (const r of ram) {
    const end = r.pfn + r.count;
    const pr = table.runs(r.pfn, end);
    for (let i = 1; i < pr.length; i++) if (pr[i].mfn !== pr[i - 1].mfn + pr[i - 1].count) breaks.push({ at: pr[i].pfn - 1, runPfn: r.pfn, runEnd: end });
  }
  const rows: InlineAuditRow[] = [];
  for (const len of lens) for (const offset of offsets) {
    const pages = Math.ceil((offset + len) / PAGE_SIZE);
    let starts = 0;
    for (const r of ram) starts += Math.max(0, r.count - pages + 1);
    // Start pfns s with the buffer [s, s + pages) inside its run and a break b in [s, s + pages - 2].
    let wrong = 0;
    let covered = -1; // last start counted (breaks are sorted)
    for (const b of breaks) {
      const lo = Math.max(b.runPfn, b.at - pages + 2, covered + 1);
      const hi = Math.min(b.at, b.runEnd - pages);
      if (hi >= lo) {
        wrong += hi - lo + 1;
        covered = hi;
      }
    }
    rows.push({ len, offset, pages, starts, wrong });
  }
  return rows;
}
