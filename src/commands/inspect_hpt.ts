import { INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import { frameOwner } from '../p2m/inspect';
import { SHIFT_16M, SHIFT_4K, HPTES_PER_GROUP, KERNEL_BASE, PageShift } from '../hpt/constants';
import { HpteDecoder } from '../hpt/decode';
import { lookupEa } from '../hpt/walk';
import type { HashTable } from '../hpt/table';
import { hidxOf, GuestRecord } from '../guest/record';
import { UsageError } from '../util/errors';
import { quote } from '../util/quote';
import type { Domain } from '../xen/domain';
import type { System } from '../xen/system';
import { eaKernelText, eaKernelTextJson, formatEaKernelText } from '../format/kernel_text';
import { eaWalkJson, formatEaWalk, formatHptSummary, formatPteg, hptSummaryJson, ptegJson, EaWalkView, PtegRow, HptSummaryView } from '../format/hpt';
import { json } from '../format/table';
import { domainOf, parseBigNumber } from './args';
import { columns, paint, type Io } from './io';
import { hptSvg, ptegCounts, type HeatmapView } from '../format/svg/hpt';
import { writeOutput, wrote } from './outfile';
import { loadState, stateDir } from './state_store';

export interface HptFlags { state?: string; json?: boolean; domid?: string; pteg?: string; ea?: string; svg?: string }

/** What the heatmap draws: every PTEG's valid entries. */
export function heatmapView(d: Domain, t: HashTable): HeatmapView {
  // One pass: the histogram is the counts', PTEGs that hold none are the rest.
  const counts = ptegCounts(t);
  const histogram = new Array<number>(HPTES_PER_GROUP + 1).fill(0);
  for (const n of counts.values()) histogram[n]++;
  histogram[0] = t.ptegs - counts.size;
  return { domid: d.domid, maddr: d.arch.hpt!.mfn * PAGE_SIZE, bytes: t.bytes, ptegs: t.ptegs, counts, histogram };
}


function domainWithHpt(sys: System, f: HptFlags): Domain {
  const d = domainOf(sys, f.domid);
  if (!d.arch.hpt) throw new UsageError(`dom${d.domid} has no hash table`);
  return d;
}

/** `inspect hpt`: the hash table Xen keeps for a domain, as the guest left it. */
export function runInspectHpt(io: Io, f: HptFlags): number {
  if (f.pteg !== undefined && f.ea !== undefined) throw new UsageError('--pteg and --ea both given', 'give one of them');
  if (f.svg !== undefined && (f.pteg !== undefined || f.ea !== undefined)) throw new UsageError('--svg with --pteg or --ea', 'the heatmap is of the whole table: drop --pteg / --ea');
  const sys = loadState(stateDir(io, f.state));
  const d = domainWithHpt(sys, f);
  const booted = d.hptInUse;
  const guest = d.guest;
  const p = paint(io);
  if (f.pteg === undefined && f.ea === undefined) {
    // The summary comes from the counts saved beside the table: none of its bytes are read (the heatmap reads them).
    const view: HptSummaryView = { domid: d.domid, maddr: d.arch.hpt!.mfn * PAGE_SIZE, booted, stats: d.hptStats(), guest: guest?.rec };
    if (f.svg) writeOutput(io, f.svg, hptSvg(heatmapView(d, d.hpt)));
    io.out(f.json ? json(hptSummaryJson(view)) : formatHptSummary(p, view, columns(io)) + wrote(f.svg));
    return 0;
  }
  if (f.ea !== undefined) {
    // Below KERNELBASE a VSID is get_vsid(context, ea), a user context's (include/asm-powerpc/mmu.h:427-431 @ el5-274), not the kernel's.
    const ea = parseBigNumber(f.ea, '--ea', (1n << 64n) - 1n);
    if (ea < KERNEL_BASE) throw new UsageError(`--ea ${quote(f.ea)} is a user address (below 0xc000000000000000): its VSID is get_vsid(context, ea) of a process, and this dom0 runs none`, 'give a kernel address, 0xc000000000000000 and up');
  }
  const t = d.hpt;
  if (f.pteg !== undefined) {
    const n = Number(parseBigNumber(f.pteg, '--pteg', BigInt(Number.MAX_SAFE_INTEGER)));
    if (n >= t.ptegs) throw new UsageError(`--pteg ${quote(f.pteg)} is outside the table: it has ${t.ptegs} PTEGs (0..0x${(t.ptegs - 1).toString(16)})`);
    const rows = ptegRows(sys, d, t, n);
    io.out(f.json ? json(ptegJson(d.domid, n, rows)) : formatPteg(p, d.domid, n, rows, columns(io)));
    return 0;
  }
  const ea = parseBigNumber(f.ea!, '--ea', (1n << 64n) - 1n);
  const view = walk(sys, d, t, ea, guest?.rec, guest?.hidx);
  const text = guest ? eaKernelText(guest.rec, view.paddr) : undefined;
  io.out(f.json ? json({ ...eaWalkJson(view), kernelText: text ? eaKernelTextJson(text) : null }) : formatEaWalk(p, view, columns(io)) + (text ? formatEaKernelText(text) : ''));
  return 0;
}

/** The 8 slots of PTEG n, decoded. */
export function ptegRows(sys: System, d: Domain, t: HashTable, n: number): PtegRow[] {
  const dec = new HpteDecoder(t);
  const table = d.p2m();
  const rows: PtegRow[] = [];
  for (let i = 0; i < HPTES_PER_GROUP; i++) {
    const slot = n * HPTES_PER_GROUP + i;
    if (!t.isValid(slot)) {
      rows.push({ slot, valid: false });
      continue;
    }
    const h = dec.decode(slot);
    const inLinear = h.linearPaddr >= 0 && h.linearPaddr < d.p2mEntries * PAGE_SIZE;
    const pfn = inLinear ? Math.floor(h.linearPaddr / PAGE_SIZE) : undefined;
    const own = frameOwner(sys.machine, h.rpn);
    rows.push({ slot, valid: true, hpte: h, pfn, p2mMfn: pfn === undefined ? undefined : table.get(pfn), owner: own.owner, use: own.use });
  }
  return rows;
}

/** An effective address walked to its HPTE (src/hpt/walk.ts), with what the domain's table and the guest say of it. */
export function walk(sys: System, d: Domain, t: HashTable, ea: bigint, rec?: GuestRecord, hidx?: Uint8Array): EaWalkView {
  const inLinear = ea >= KERNEL_BASE && ea - KERNEL_BASE < BigInt(d.p2mEntries) * BigInt(PAGE_SIZE);
  const paddr = inLinear ? Number(ea - KERNEL_BASE) : undefined;
  const pfn = paddr === undefined ? undefined : Math.floor(paddr / PAGE_SIZE);
  // The page size the guest mapped this address with, else 4 KiB.
  let shift: PageShift = SHIFT_4K;
  if (rec && pfn !== undefined && pfn < rec.linear.bytes / PAGE_SIZE) {
    const extent = pfn - (pfn % 4096);
    shift = rec.linear.pageShift === SHIFT_16M && !rec.linear.fallbackExtents.includes(extent) ? SHIFT_16M : SHIFT_4K;
  }
  const { walk: w, slot, secondary, mfn } = lookupEa(t, ea, shift);
  const found = slot === undefined ? undefined : { slot, secondary: !!secondary };
  const owner = mfn === undefined ? undefined : frameOwner(sys.machine, mfn);
  const p2mMfn = pfn === undefined ? undefined : d.p2m().get(pfn);
  const recorded = rec && hidx && pfn !== undefined && pfn < rec.linear.bytes / PAGE_SIZE ? hidxOf(rec, hidx, pfn) : undefined;
  return {
    domid: d.domid,
    walk: w,
    pageBytes: 2 ** shift,
    paddr,
    pfn,
    slot: found?.slot,
    group: found ? (found.secondary ? 'secondary' : 'primary') : undefined,
    v: found ? t.v(found.slot) : undefined,
    r: found ? t.r(found.slot) : undefined,
    mfn,
    owner,
    p2mMfn: p2mMfn === INVALID_MFN ? null : p2mMfn,
    agrees: found && p2mMfn !== undefined ? mfn === p2mMfn : undefined,
    hidx: recorded,
  };
}

