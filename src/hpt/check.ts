import { EXTENT_PAGES, INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import type { Machine } from '../machine/machine';
import { hex } from '../util/size';
import { grantDomainOfUse } from '../machine/frames';
import {
  HPTE_R_G,
  HPTE_R_I,
  rpnOf,
  HPTE_V_BOLTED,
  HPTE_V_LARGE,
  HPTE_V_SECONDARY,
  HPTE_R_FLAGS_MASK,
  KERNEL_ESID,
  LINEAR_R_FLAGS,
  linearRFlags,
  SEGMENT_BYTES,
} from './constants';
import { hpteConsistent, hptePageIndex, vsidOfV } from './hash';
import { esidOfVsid, joinEa } from './vsid';
import type { HashTable } from './table';

/** A broken invariant's findings: how many, and the first few in words. */
export class Findings {
  count = 0;
  readonly samples: string[] = [];
  constructor(private readonly keep = 8) {}
  add(text: string): void {
    this.count++;
    if (this.samples.length < this.keep) this.samples.push(text);
  }
}

export interface HptCheckInput {
  table: HashTable;
  domid: number;
  machine: Machine;
  /** May it map other domains' grant-table frames (d->is_privileged)? dom0 when not said. */
  privileged?: boolean;
  /** The domain's own table (the guest's view), for the RPN check of linear-map entries. */
  p2m: { get(pfn: number): number };
  /** The domain's RAM as pfn runs, ascending: its linear map covers these (an IO hole between them is not mapped). */
  ram: { pfn: number; count: number }[];
  /**
   * The guest, when it booted: its record of where each linear page went
   * (hidx bytes; none under 2.6.18, which keeps no record for bolted
   * entries), and its kernel text, for the r flags of bolted pages.
   */
  guest?: { hidxOf?(pfn: number): number; text?: { start: number; end: number } };
}

export interface HptCheckResult {
  checked: number;
  /** AVPN and slot position disagree, or a bolted entry's EA is outside the linear map. */
  avpn: Findings;
  /** RPN is not what the p2m table gives for the EA's pfn, or not a frame the domain may map. */
  rpn: Findings;
  /** Every pfn has exactly one bolted HPTE. */
  linear: Findings;
  /** The guest's slot record points at the HPTE. */
  hidx: Findings;
  /** A bolted linear page's r flags are mode_rw, with HPTE_R_N outside kernel text. */
  rFlags: Findings;
  /** Bolted linear entries whose r flags were checked. */
  rFlagsChecked: number;
  /** Foreign frames mapped, mfn -> HPTEs. */
  foreign: Map<number, number>;
}

const TWO32 = 2 ** 32;

/** Is Xen's frame `mfn` a grant-table frame domain `domid` may map: its own, or any for a privileged domain (as H_ENTER's classify)? */
function grantMappable(m: Machine, mfn: number, domid: number, privileged: boolean): boolean {
  const run = m.frames.lookup(mfn);
  const of = run ? grantDomainOfUse(run.use) : undefined;
  return of !== undefined && (of === domid || privileged);
}

/**
 * One pass over a table's valid HPTEs (no per-entry objects: 8 Mi entries
 * stay a tight loop). Each entry's EA is rebuilt from its AVPN and slot
 * position (the VSID inverted once per VSID), then checked against the
 * position's hash, the linear map, and the p2m table.
 */
export function checkHpt(inp: HptCheckInput): HptCheckResult {
  const { table: t, machine: m, p2m, ram, domid } = inp;
  const last = ram[ram.length - 1];
  const spanPfns = last ? last.pfn + last.count : 0;
  const isRamPfn = (pfn: number): boolean => ram.some((r) => pfn >= r.pfn && pfn < r.pfn + r.count);
  const mask = t.mask;
  const res: HptCheckResult = { checked: 0, avpn: new Findings(), rpn: new Findings(), linear: new Findings(), hidx: new Findings(), rFlags: new Findings(), rFlagsChecked: 0, foreign: new Map() };
  const counts = new Uint8Array(spanPfns);
  const esids = new Map<number, number>();
  const linearBytes = spanPfns * PAGE_SIZE;
  t.forEachValid((slot, vHi, vLo, rHi, rLo) => {
    res.checked++;
    const vsid = vsidOfV(vHi, vLo);
    let esid = esids.get(vsid);
    if (esid === undefined) {
      esid = esidOfVsid(vsid);
      esids.set(vsid, esid);
    }
    const group = Math.floor(slot / 8);
    const secondary = (vLo & HPTE_V_SECONDARY) !== 0;
    const large = (vLo & HPTE_V_LARGE) !== 0;
    const bolted = (vLo & HPTE_V_BOLTED) !== 0;
    const primary = secondary ? group ^ mask : group;
    const idx = hptePageIndex(primary, vLo, vsid);
    const ok = hpteConsistent(primary, vLo, vsid, idx, mask);
    const offset = idx * (large ? 2 ** 24 : PAGE_SIZE);
    const paddr = esid >= KERNEL_ESID ? (esid - KERNEL_ESID) * SEGMENT_BYTES + offset : -1;
    const inLinear = paddr >= 0 && paddr < linearBytes && isRamPfn(Math.floor(paddr / PAGE_SIZE));
    const where = (): string => `slot ${hex(slot)} (ea ${hex(joinEa(esid!, offset))}, VSID ${hex(vsid)})`;
    if (!ok) res.avpn.add(`${where()}: its AVPN says page index ${hex(idx)}, which hashes to PTEG ${hex((((vsid % TWO32) ^ idx) & mask) >>> 0)}, not this ${secondary ? 'secondary' : 'primary'} group ${hex(group)}`);
    else if (bolted && !inLinear) res.avpn.add(`${where()}: a bolted entry outside dom${domid}'s linear map [0xc000000000000000, +${hex(linearBytes)})`);

    const rpn = rpnOf(rHi, rLo);
    if (ok && inLinear) {
      const pfn = Math.floor(paddr / PAGE_SIZE);
      const want = p2m.get(pfn);
      if (want === INVALID_MFN) res.rpn.add(`${where()}: maps pfn ${hex(pfn)}, which has no frame in the p2m table, to mfn ${hex(rpn)}`);
      else if (rpn !== want) res.rpn.add(`${where()}: RPN is mfn ${hex(rpn)} but the p2m table gives pfn ${hex(pfn)} -> mfn ${hex(want)}`);
      else if (large) {
        for (let i = 1; i < EXTENT_PAGES; i++) {
          if (p2m.get(pfn + i) !== want + i) {
            res.rpn.add(`${where()}: a 16 MiB page at mfn ${hex(rpn)}, but the p2m table gives pfn ${hex(pfn + i)} -> mfn ${hex(p2m.get(pfn + i))}, not ${hex(want + i)}`);
            break;
          }
        }
      }
      if (bolted) {
        const n = large ? EXTENT_PAGES : 1;
        for (let i = 0; i < n && pfn + i < spanPfns; i++) if (counts[pfn + i] < 255) counts[pfn + i]++;
        const text = inp.guest?.text;
        if (text) {
          res.rFlagsChecked++;
          const want = linearRFlags(text, paddr);
          const got = rLo & HPTE_R_FLAGS_MASK;
          if (got !== want) res.rFlags.add(`${where()}: r flags ${hex(got)}, but a bolted page ${want === LINEAR_R_FLAGS ? 'inside' : 'outside'} kernel text [${hex(text.start)}, ${hex(text.end)}) gets ${hex(want)}`);
        }
        if (inp.guest?.hidxOf) {
          const want = 0x80 | (secondary ? 8 : 0) | (slot & 7);
          const got = inp.guest.hidxOf(pfn);
          if (got !== want) res.hidx.add(`pfn ${hex(pfn)}: its HPTE is in slot ${slot & 7} of the ${secondary ? 'secondary' : 'primary'} group ${hex(group)}, but the guest recorded ${got & 0x80 ? `slot ${got & 7} of the ${got & 8 ? 'secondary' : 'primary'} group` : 'no HPTE'}`);
        }
      }
    } else if (ok) {
      // Outside the linear map: a frame Xen would let this domain map.
      const owner = m.frames.ownerOf(rpn);
      if (owner === domid) return;
      if (typeof owner === 'number') res.foreign.set(rpn, (res.foreign.get(rpn) ?? 0) + 1);
      else if (owner === 'xen' && !large && grantMappable(m, rpn, domid, inp.privileged ?? domid === 0)) {
        // A grant-table frame: H_ENTER forced I=G=0 (papr/xlate.c:214-219 @ 1aa3c54a31^).
        if ((rLo & (HPTE_R_I | HPTE_R_G)) !== 0) res.rpn.add(`${where()}: maps grant-table frame ${hex(rpn)} with I or G set`);
      } else if (owner === undefined && m.isIo(rpn)) {
        if ((rLo & HPTE_R_I) === 0 || (rLo & HPTE_R_G) === 0) res.rpn.add(`${where()}: maps IO frame ${hex(rpn)} without I and G`);
      } else res.rpn.add(`${where()}: maps mfn ${hex(rpn)}, ${owner === 'xen' ? "Xen's" : m.isRam(rpn) ? 'a free frame' : 'beyond RAM'}`);
    }
  });
  if (inp.guest) {
    for (const r of ram) {
      const stop = r.pfn + r.count;
      for (let pfn = r.pfn; pfn < stop; pfn++) {
        const c = counts[pfn];
        if (c === 1) continue;
        let end = pfn + 1;
        while (end < stop && counts[end] === c) end++;
        res.linear.add(`pfns ${hex(pfn)}..${hex(end - 1)} have ${c === 0 ? 'no' : c === 255 ? '255 or more' : c} bolted HPTEs${c === 0 ? '' : ' each'}`);
        pfn = end - 1;
      }
    }
  }
  return res;
}
