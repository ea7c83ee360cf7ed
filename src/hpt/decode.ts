import {
  HPTE_R_C,
  HPTE_R_G,
  HPTE_R_I,
  HPTE_R_M,
  HPTE_R_N,
  HPTE_R_PP,
  HPTE_R_R,
  rpnOf,
  HPTE_R_W,
  HPTE_V_BOLTED,
  HPTE_V_LARGE,
  HPTE_V_SECONDARY,
  HPTE_V_VALID,
  HPTES_PER_GROUP,
  PageShift,
  SHIFT_16M,
  SHIFT_4K,
} from './constants';
import { hpteConsistent, hptePageIndex, vsidOfV } from './hash';
import type { HashTable } from './table';
import { esidOfVsid, joinEa, linearPaddr } from './vsid';


/** One HPTE taken apart, with the effective address its position and AVPN stand for. */
export interface DecodedHpte {
  slot: number;
  /** The PTEG it sits in and its index there. */
  group: number;
  index: number;
  valid: boolean;
  bolted: boolean;
  large: boolean;
  secondary: boolean;
  vHi: number;
  vLo: number;
  rHi: number;
  rLo: number;
  vsid: number;
  esid: number;
  shift: PageShift;
  /** The primary group of the page: the PTEG itself, or its complement for a secondary entry. */
  primary: number;
  /** The page's index in its segment, from the AVPN's low bits and the group. */
  pageIndex: number;
  offset: number;
  ea: bigint;
  /** Do the AVPN bits that overlap the group's hash bits agree with the slot's position? */
  consistent: boolean;
  /** guest-physical address the EA stands for in the linear map, or -1 outside it. */
  linearPaddr: number;
  /** The RPN: the (first) machine frame. */
  rpn: number;
  flags: { r: boolean; c: boolean; w: boolean; i: boolean; m: boolean; g: boolean; n: boolean; pp: number };
}

/**
 * Turns HPTEs back into the addresses they translate. An HPTE does not hold
 * its EA: the AVPN gives the VSID and the page index's top bits, the PTEG's
 * position gives the hash, and hash ^ VSID gives the rest of the page index
 * (the table has at least 2048 PTEGs, enough for the 11 bits a 4 KiB page
 * needs). The ESID comes from inverting the VSID scramble, cached per VSID.
 */
export class HpteDecoder {
  private readonly esids = new Map<number, number>();

  constructor(readonly table: HashTable) {}

  esidOf(vsid: number): number {
    let e = this.esids.get(vsid);
    if (e === undefined) {
      e = esidOfVsid(vsid);
      this.esids.set(vsid, e);
    }
    return e;
  }

  decode(slot: number): DecodedHpte {
    const t = this.table;
    return this.decodeWords(slot, t.vHi(slot), t.vLo(slot), t.rHi(slot), t.rLo(slot));
  }

  decodeWords(slot: number, vHi: number, vLo: number, rHi: number, rLo: number): DecodedHpte {
    const mask = this.table.mask;
    const group = Math.floor(slot / HPTES_PER_GROUP);
    const secondary = (vLo & HPTE_V_SECONDARY) !== 0;
    const large = (vLo & HPTE_V_LARGE) !== 0;
    const primary = secondary ? group ^ mask : group;
    const vsid = vsidOfV(vHi, vLo);
    const shift: PageShift = large ? SHIFT_16M : SHIFT_4K;
    const pageIndex = hptePageIndex(primary, vLo, vsid);
    const consistent = hpteConsistent(primary, vLo, vsid, pageIndex, mask);
    const offset = pageIndex * 2 ** shift;
    const esid = this.esidOf(vsid);
    return {
      slot,
      group,
      index: slot % HPTES_PER_GROUP,
      valid: (vLo & HPTE_V_VALID) !== 0,
      bolted: (vLo & HPTE_V_BOLTED) !== 0,
      large,
      secondary,
      vHi,
      vLo,
      rHi,
      rLo,
      vsid,
      esid,
      shift,
      primary,
      pageIndex,
      offset,
      ea: joinEa(esid, offset),
      consistent,
      linearPaddr: linearPaddr(esid, offset),
      rpn: rpnOf(rHi, rLo),
      flags: {
        r: (rLo & HPTE_R_R) !== 0,
        c: (rLo & HPTE_R_C) !== 0,
        w: (rLo & HPTE_R_W) !== 0,
        i: (rLo & HPTE_R_I) !== 0,
        m: (rLo & HPTE_R_M) !== 0,
        g: (rLo & HPTE_R_G) !== 0,
        n: (rLo & HPTE_R_N) !== 0,
        pp: rLo & HPTE_R_PP,
      },
    };
  }
}

/** "V B L H" style flags of the v word and "R C M" / WIMG of the r word. */
export function flagText(h: Pick<DecodedHpte, 'valid' | 'bolted' | 'large' | 'secondary' | 'flags'>): string {
  const v = [h.valid ? 'V' : '', h.bolted ? 'B' : '', h.large ? 'L' : '', h.secondary ? 'H' : ''].filter(Boolean).join('');
  const f = h.flags;
  const wimg = `${f.w ? 'W' : '-'}${f.i ? 'I' : '-'}${f.m ? 'M' : '-'}${f.g ? 'G' : '-'}`;
  return `${v} ${f.r ? 'R' : '-'}${f.c ? 'C' : '-'} ${wimg}${f.n ? ' N' : ''} pp=${f.pp}`;
}
