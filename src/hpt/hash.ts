import { HPTE_V_AVPN_SHIFT, HPTE_V_LARGE, PageShift, SHIFT_16M, SID_SHIFT } from './constants';
import { splitEa, vsidOf } from './vsid';

const TWO32 = 2 ** 32;

/**
 * hash = ((va >> 28) & 0x7FFFFFFFFF) ^ ((va & 0x0FFFFFFF) >> shift), with
 * va = (VSID << 28) | offset. The first term is the VSID itself (36 bits);
 * the second is the page's index in its segment (16 bits for 4 KiB pages,
 * 4 for 16 MiB), so only the VSID's low 16 bits change.
 */
export function hpteHash(vsid: number, offset: number, shift: PageShift): number {
  const idx = Math.floor(offset / 2 ** shift);
  const low = vsid % 65536;
  return vsid - low + (low ^ idx);
}

/** hash & mask (mask = PTEG count - 1 < 2^31). */
export function primaryGroup(hash: number, mask: number): number {
  return (hash % TWO32) & mask;
}

/** ~hash & mask. */
export function secondaryGroup(hash: number, mask: number): number {
  return ((hash % TWO32) & mask) ^ mask;
}

/**
 * The v word's AVPN for a page: (va >> 23) << 7, as (hi, lo) halves; a
 * large page's lowest AVPN bit (va bit 23, inside the 16 MiB page) is clear.
 * Flags are not included.
 */
export function avpnWords(vsid: number, offset: number, shift: PageShift): { hi: number; lo: number } {
  let low5 = Math.floor(offset / 2 ** 23) & 0x1f;
  if (shift === SHIFT_16M) low5 &= ~1;
  return { hi: Math.floor(vsid / 2 ** 20), lo: ((vsid % 2 ** 20) * 4096 + low5 * 2 ** HPTE_V_AVPN_SHIFT) >>> 0 };
}

/**
 * The hash inverted: which page of its segment an HPTE stands for, from its
 * primary group and its v word. The AVPN keeps the page index's top 5 bits
 * (4 KiB pages) or all 4 (16 MiB); a 4 KiB page's low 11 bits come from the
 * group, which is (VSID ^ index) & mask.
 */
export function hptePageIndex(primary: number, vLo: number, vsid: number): number {
  const low5 = (vLo >>> 7) & 0x1f;
  if (vLo & HPTE_V_LARGE) return low5 >>> 1;
  return (low5 << 11) | ((primary ^ (vsid % TWO32)) & 0x7ff);
}

/** Does that page index hash to the primary group (and a 16 MiB page's in-page AVPN bit stay clear)? */
export function hpteConsistent(primary: number, vLo: number, vsid: number, pageIndex: number, mask: number): boolean {
  if (vLo & HPTE_V_LARGE && (vLo >>> 7) & 1) return false;
  return (((vsid % TWO32) ^ pageIndex) & mask) === primary;
}

/** The VSID an HPTE's v word names: AVPN >> 5 = v >> 12. */
export function vsidOfV(vHi: number, vLo: number): number {
  return vHi * 2 ** 20 + (vLo >>> 12);
}

/** Everything an effective address goes through on its way to a PTEG. */
export interface EaWalk {
  ea: bigint;
  esid: number;
  offset: number;
  vsid: number;
  va: bigint;
  shift: PageShift;
  /** Page index inside the segment: offset >> shift. */
  pageIndex: number;
  hash: number;
  mask: number;
  primary: number;
  secondary: number;
  /** The v word an HPTE for this page carries, flags aside (LARGE included for 16 MiB). */
  avpn: bigint;
}

export function walkEa(ea: bigint, shift: PageShift, ptegCount: number): EaWalk {
  const { esid, offset } = splitEa(ea);
  const vsid = vsidOf(esid);
  const hash = hpteHash(vsid, offset, shift);
  const mask = ptegCount - 1;
  const a = avpnWords(vsid, offset, shift);
  return {
    ea,
    esid,
    offset,
    vsid,
    va: (BigInt(vsid) << BigInt(SID_SHIFT)) | BigInt(offset),
    shift,
    pageIndex: Math.floor(offset / 2 ** shift),
    hash,
    mask,
    primary: primaryGroup(hash, mask),
    secondary: secondaryGroup(hash, mask),
    avpn: (BigInt(a.hi) << 32n) | BigInt((a.lo | (shift === SHIFT_16M ? HPTE_V_LARGE : 0)) >>> 0),
  };
}
