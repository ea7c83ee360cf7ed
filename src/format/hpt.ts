import type { Paint } from './paint';
import type { GuestRecord } from '../guest/record';
import { INVALID_MFN } from '../machine/constants';
import { DecodedHpte, flagText } from '../hpt/decode';
import type { EaWalk } from '../hpt/hash';
import type { HptStats } from '../hpt/table';
import { type Columns, DEFAULT_COLUMNS, fitText, renderFacts, renderTable } from './table';
import { formatSize, hex } from './units';
import { doc, span, word } from './contract';

/** What construct says about the guest's early boot. */
/** `bootMs`: how long the boot took, only when the timing option asks. */
export function formatGuestBoot(p: Paint, rec: GuestRecord, cols: Columns = DEFAULT_COLUMNS, bootMs?: number): string {
  const L = rec.linear;
  const how = [L.pages16M ? `${L.pages16M} x 16 MiB` : '', L.pages4K ? `${L.pages4K} x 4 KiB` : ''].filter(Boolean).join(' + ');
  let out = `${p.green('booted dom0\'s kernel')} (early MMU setup)\n`;
  out += renderFacts(p, [
    ['device tree', `read from the RMA at guest ${hex(rec.devtree.paddr)} (${rec.devtree.bytes} bytes)`],
    ['/xen/p2m', `<${hex(rec.devtree.p2mPaddr)} ${hex(rec.devtree.p2mBytes)}>: inside the ${formatSize(rec.devtree.rmaBytes)} RMA and reservation [${hex(rec.devtree.reservation.address)}, ${hex(rec.devtree.reservation.address + rec.devtree.reservation.size)})`],
    ['linear map', `${L.base} + paddr, ${formatSize(L.bytes)} bolted as ${how || 'nothing'}`],
    ['H_ENTER calls', `${L.inserts} (pfn -> mfn through the guest's own table)${bootMs !== undefined ? `, boot ${bootMs.toFixed(1)} ms` : ''}`],
    ['hash table', `ibm,pft-size <0 ${rec.devtree.pftSizeLog2}> = ${formatSize(2 ** rec.devtree.pftSizeLog2)}`],
  ], cols);
  if (L.fallbackExtents.length) out += `${p.yellow('note:')} ${L.fallbackExtents.length} extent(s) were not one aligned machine run and were mapped with 4 KiB pages (the fallback), first at pfn ${hex(L.fallbackExtents[0])}\n`;
  return fitText(out, cols);
}

/** What dom0's kernel read and did at boot (construct's `guest`, inspect hpt's `guest`). */
export function guestBootJson(rec: GuestRecord, bootMs?: number): object {
  const t = rec.devtree;
  const L = rec.linear;
  return {
    devtree: {
      paddrs: span(t.paddr, t.bytes),
      bytes: t.bytes,
      p2m: { paddrs: span(t.p2mPaddr, t.p2mBytes), bytes: t.p2mBytes },
      reservation: { paddrs: span(t.reservation.address, t.reservation.size), bytes: t.reservation.size },
      rmaBytes: t.rmaBytes,
      memBytes: t.memBytes,
      pftSizeLog2: t.pftSizeLog2,
    },
    linear: {
      base: L.base,
      pageShift: L.pageShift,
      fallback: L.fallback,
      bytes: L.bytes,
      hptes4K: L.pages4K,
      hptes16M: L.pages16M,
      fallbackExtentPfns: L.fallbackExtents,
      inserts: L.inserts,
      hidxPerPfn: L.hidxPerPfn,
    },
    ...(bootMs !== undefined ? { timing: { bootMs: Math.round(bootMs * 1000) / 1000 } } : {}),
  };
}

// ---- inspect hpt ----

export interface HptSummaryView {
  domid: number;
  maddr: number;
  /** Does the state hold a table (the guest booted), or is it the empty one Xen allocated? */
  booted: boolean;
  stats: HptStats;
  guest?: GuestRecord;
}

const pct = (n: number, of: number): string => (of ? `${((100 * n) / of).toFixed(n && (100 * n) / of < 0.1 ? 3 : 1)} %` : '-');

/** A bar of `width` cells for n of max: whole blocks, then one eighth-block for the remainder. */
export function bar(n: number, max: number, width: number): string {
  if (max <= 0 || n <= 0) return '';
  const eighths = Math.max(1, Math.round((n / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + (eighths % 8 ? ' ▏▎▍▌▋▊▉'[eighths % 8] : '');
}

export function formatHptSummary(p: Paint, v: HptSummaryView, cols: Columns = DEFAULT_COLUMNS): string {
  const s = v.stats;
  let out = `${p.bold(`dom${v.domid} hash table`)}${v.booted ? '' : p.yellow(' (empty: the guest was not booted)')}\n`;
  out += renderFacts(p, [
    ['size', `${formatSize(s.bytes)} (ibm,pft-size <0 ${Math.log2(s.bytes)}>) at machine ${hex(v.maddr)}`],
    ['PTEGs', `${s.ptegs} (mask ${hex(s.ptegs - 1)}), ${s.slots} slots of 16 bytes`],
    ['valid', `${s.valid} (${pct(s.valid, s.slots)} of the slots)`],
    ['bolted', String(s.bolted)],
    ['large (16 MiB)', String(s.large)],
    ['secondary group', String(s.secondary)],
    ['storage', `${formatSize(s.allocatedBytes)} in use (64 KiB regions of 512 PTEGs, committed on first write)`],
    ...(v.guest ? [['guest', guestLine(v.guest)] as [string, string]] : []),
  ], cols);
  const max = Math.max(...s.histogram);
  out += `\n${p.bold('occupancy')}: PTEGs holding n valid entries\n`;
  out += renderTable(p, ['n', 'PTEGs', 'share'], s.histogram.map((c, n) => [n, c, pct(c, s.ptegs)]), ['right', 'right', 'right'], cols);
  for (let n = 0; n < s.histogram.length; n++) {
    out += `  ${n} ${p.dim('│')}${p.cyan(bar(s.histogram[n], max, 40))} ${p.dim(String(s.histogram[n]))}\n`;
  }
  return fitText(out, cols);
}

function guestLine(g: GuestRecord): string {
  const L = g.linear;
  const sizes = [L.pages16M ? `${L.pages16M} x 16 MiB` : '', L.pages4K ? `${L.pages4K} x 4 KiB` : ''].filter(Boolean).join(' + ');
  return `linear map ${formatSize(L.bytes)} as ${sizes || 'nothing'}, ${L.inserts} H_ENTER`;
}

export function hptSummaryJson(v: HptSummaryView): object {
  const s = v.stats;
  return doc('inspect-hpt', {
    domid: v.domid,
    hpt: { bytes: s.bytes, maddrs: span(v.maddr, s.bytes), pftSizeLog2: Math.log2(s.bytes), ptegs: s.ptegs, slots: s.slots, allocatedBytes: s.allocatedBytes },
    booted: v.booted,
    valid: s.valid,
    bolted: s.bolted,
    large: s.large,
    secondary: s.secondary,
    histogram: s.histogram.map((ptegs, entries) => ({ entries, ptegs })),
    guest: v.guest ? guestBootJson(v.guest) : null,
  });
}

export interface PtegRow {
  slot: number;
  valid: boolean;
  hpte?: DecodedHpte;
  /** The linear-map pfn the EA stands for, when it is in the linear map. */
  pfn?: number;
  /** What the domain's p2m table gives for that pfn. */
  p2mMfn?: number;
  owner?: string;
  use?: string;
}

export function formatPteg(p: Paint, domid: number, n: number, rows: PtegRow[], cols: Columns = DEFAULT_COLUMNS): string {
  const used = rows.filter((r) => r.valid).length;
  let out = `${p.bold(`dom${domid} PTEG ${hex(n)}`)}: slots ${hex(n * 8)}..${hex(n * 8 + 7)}, ${used} of 8 valid\n`;
  out += renderTable(p, ['slot', 'EA', 'VSID', 'page', 'pfn', 'mfn', 'owner', 'flags'], rows.map((r) => {
    if (!r.valid || !r.hpte) return [hex(r.slot), p.dim('-'), '', '', '', '', '', p.dim('invalid')];
    const h = r.hpte;
    const mfnText = r.p2mMfn !== undefined && r.p2mMfn !== h.rpn ? `${hex(h.rpn)} ${p.red(`(p2m: ${r.p2mMfn === INVALID_MFN ? 'INVALID' : hex(r.p2mMfn)})`)}` : hex(h.rpn);
    return [
      hex(r.slot),
      h.consistent ? hex(h.ea) : `${hex(h.ea)} ${p.red('(AVPN/group disagree)')}`,
      hex(h.vsid),
      h.large ? '16M' : '4K',
      r.pfn === undefined ? p.dim('-') : hex(r.pfn),
      mfnText,
      `${r.owner} ${p.dim(r.use ?? '')}`,
      flagText(h),
    ];
  }), undefined, cols);
  return fitText(out, cols);
}

export function ptegJson(domid: number, n: number, rows: PtegRow[]): object {
  return doc('inspect-hpt', {
    domid,
    pteg: n,
    slots: rows.map((r) => {
      if (!r.valid || !r.hpte) return { slot: r.slot, valid: false };
      const h = r.hpte;
      return {
        slot: r.slot,
        valid: true,
        v: word((BigInt(h.vHi >>> 0) << 32n) | BigInt(h.vLo >>> 0)),
        r: word((BigInt(h.rHi >>> 0) << 32n) | BigInt(h.rLo >>> 0)),
        ea: word(h.ea),
        vsid: h.vsid,
        esid: h.esid,
        pageBytes: 2 ** h.shift,
        bolted: h.bolted,
        large: h.large,
        secondary: h.secondary,
        consistent: h.consistent,
        pfn: r.pfn ?? null,
        mfn: h.rpn,
        maddr: h.rpn * 4096,
        p2mMfn: r.p2mMfn === undefined || r.p2mMfn === INVALID_MFN ? null : r.p2mMfn,
        owner: r.owner ?? null,
        use: r.use ?? null,
        flags: flagText(h),
        rflags: h.flags,
      };
    }),
  });
}

export interface EaWalkView {
  domid: number;
  walk: EaWalk;
  pageBytes: number;
  paddr?: number;
  pfn?: number;
  slot?: number;
  group?: 'primary' | 'secondary';
  v?: bigint;
  r?: bigint;
  mfn?: number;
  owner?: { owner: string; use: string };
  /** The guest's p2m table for the EA's pfn (null: INVALID_MFN). */
  p2mMfn?: number | null;
  agrees?: boolean;
  /** The guest's recorded hidx byte for the page. */
  hidx?: number;
}

export function formatEaWalk(p: Paint, v: EaWalkView, cols: Columns = DEFAULT_COLUMNS): string {
  const w = v.walk;
  const shiftText = w.shift === 24 ? '24 (16 MiB page)' : '12 (4 KiB page)';
  const rows: [string, string][] = [
    ['ea', hex(w.ea)],
    ['ESID', `${hex(w.esid)} (ea >> 28)`],
    ['VSID', `${hex(w.vsid)} (ESID x 200730139 mod 2^36-1)`],
    ['va', `${hex(w.va)} (VSID << 28 | ea & 0x0FFFFFFF)`],
    ['page', `${formatSize(v.pageBytes)}, shift ${shiftText}, index ${hex(w.pageIndex)} in the segment`],
    ['hash', `${hex(w.hash)} (VSID ^ page index)`],
    ['primary group', `${hex(w.primary)} (hash & ${hex(w.mask)}), slots ${hex(w.primary * 8)}..${hex(w.primary * 8 + 7)}`],
    ['secondary group', `${hex(w.secondary)} (~hash & ${hex(w.mask)}), slots ${hex(w.secondary * 8)}..${hex(w.secondary * 8 + 7)}`],
    ['AVPN wanted', `${hex(w.avpn >> 7n)} (v word ${hex(w.avpn)} | flags)`],
  ];
  if (v.slot !== undefined) {
    rows.push(['slot found', `${hex(v.slot)} (${v.group} group, index ${v.slot % 8}${v.hidx !== undefined ? `; the guest recorded ${hidxText(v.hidx)}` : ''})`]);
    rows.push(['v / r', `${hex(v.v!)} / ${hex(v.r!)}`]);
    rows.push(['mfn', `${hex(v.mfn!)} (maddr ${hex(v.mfn! * 4096)}), ${v.owner!.owner} ${v.owner!.use}`]);
  } else {
    rows.push(['slot found', p.yellow('none: no valid HPTE for this page in either group (an access would take a page fault)')]);
  }
  if (v.pfn !== undefined) {
    rows.push(['linear map', `paddr ${hex(v.paddr!)}, pfn ${hex(v.pfn)}`]);
    rows.push(['p2m says', v.p2mMfn === null ? 'INVALID_MFN (no frame)' : `mfn ${hex(v.p2mMfn!)}${v.agrees === undefined ? '' : v.agrees ? p.green(' = the HPTE') : p.red(' != the HPTE')}`]);
  } else {
    rows.push(['linear map', p.dim('outside dom' + v.domid + "'s linear map (0xC000000000000000 + its memory)")]);
  }
  return `${p.bold(`dom${v.domid}: ${hex(w.ea)} through the hash table`)}\n` + renderFacts(p, rows, cols);
}

function hidxText(h: number): string {
  if (!(h & 0x80)) return 'nothing (not hashed)';
  return `slot ${h & 7} of the ${h & 8 ? 'secondary' : 'primary'} group`;
}

export function eaWalkJson(v: EaWalkView): object {
  const w = v.walk;
  return doc('inspect-hpt', {
    domid: v.domid,
    ea: word(w.ea),
    esid: w.esid,
    vsid: w.vsid,
    va: word(w.va),
    pageShift: w.shift,
    pageBytes: v.pageBytes,
    pageIndex: w.pageIndex,
    hash: w.hash,
    mask: w.mask,
    primaryGroup: w.primary,
    secondaryGroup: w.secondary,
    avpn: word(w.avpn >> 7n),
    found: v.slot === undefined ? null : { slot: v.slot, group: v.group!, v: word(v.v!), r: word(v.r!), mfn: v.mfn!, maddr: v.mfn! * 4096, owner: v.owner?.owner ?? null, use: v.owner?.use ?? null },
    linear: v.pfn === undefined ? null : { paddr: v.paddr!, pfn: v.pfn, p2mMfn: v.p2mMfn ?? null, agrees: v.agrees ?? null, hidx: v.hidx ?? null },
  });
}
