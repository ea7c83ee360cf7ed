import { INVALID_MFN } from '../machine/constants';
import type { P2mTable } from '../p2m/table';
import { GuestP2m } from './p2m';
import { HPTE_V_AVPN_SHIFT } from '../hpt/constants';
import type { Domain } from '../xen/domain';
import { HptHcalls } from '../xen/hcalls/hpt';
import { H_AVPN, H_PTEG_FULL, H_SUCCESS } from '../xen/hcalls/papr';

/** hpte_insert's failures, as Linux returns them: -1 PTEG full, -2 any other hcall error. */
export const HPTE_INSERT_FULL = -1;
export const HPTE_INSERT_ERROR = -2;
/** Ours: the guest's own table has no frame for the pfn. */
export const HPTE_INSERT_NO_FRAME = -3;

/**
 * Linux's software record of where a page's HPTE went (the _PAGE_HASHPTE,
 * _PAGE_SECONDARY and _PAGE_GROUP_IX bits of a Linux PTE), one byte per page:
 * bit 7 hashed, bit 3 secondary group, bits 0..2 slot in the group.
 */
export const HIDX_HASHED = 0x80;
export const HIDX_SECONDARY = 0x8;
export const HIDX_SLOT = 0x7;

/**
 * dom0's MMU code under the proposal: `ppc_md.hpte_insert` is overridden to
 * translate pfn -> mfn through the guest's own table (in its RMA) and hand
 * Xen the machine frame in the RPN of H_ENTER.
 */
export class GuestMmu {
  /** The hcall return of the last failed insert. */
  lastHcall = H_SUCCESS;
  /** PTEG index mask from ibm,pft-size. */
  readonly mask: number;
  /** pfn -> mfn, read out of the guest's table in its RMA. */
  readonly p2m: GuestP2m;

  constructor(readonly d: Domain, readonly hc: HptHcalls, table: P2mTable, readonly pftSizeLog2: number) {
    this.mask = 2 ** (pftSizeLog2 - 7) - 1;
    this.p2m = new GuestP2m(table);
  }

  /**
   * hpte_insert(hpte_group, va, pa, rflags, vflags, psize) with the va's
   * AVPN already in v (vHi, vLo carry AVPN and vflags). Returns Linux's slot
   * encoding, (slot & 7) | secondary << 3, or a negative HPTE_INSERT_* code.
   */
  hpteInsert(hpteGroup: number, vHi: number, vLo: number, pfn: number, rflags: number): number {
    // p2m.get(pfn), its read-ahead window spelled out: this runs a million times a boot.
    const p2m = this.p2m;
    const mfn = pfn >= p2m.winStart && pfn < p2m.winEnd ? p2m.win[pfn - p2m.winStart] >>> 0 : p2m.get(pfn);
    if (mfn === INVALID_MFN) return HPTE_INSERT_NO_FRAME;
    // 64-bit words go as int32 halves: mfns are u32, so r's high half is mfn >>> 20.
    const rc = this.hc.enter(this.d, 0, hpteGroup, vHi, vLo | 1 /* VALID */, mfn >>> 20, (mfn << 12) | rflags);
    if (rc !== H_SUCCESS) return this.hcallFailed(rc);
    // (slot & 7) | (secondary ? 8 : 0), as HIDX_SLOT / HIDX_SECONDARY.
    return (this.hc.ptex & 7) | ((vLo & 2) << 2);
  }

  /** An H_ENTER that failed: its code kept (lastHcall), hpte_insert's answer returned. */
  hcallFailed(rc: number): number {
    this.lastHcall = rc;
    return rc === H_PTEG_FULL ? HPTE_INSERT_FULL : HPTE_INSERT_ERROR;
  }

  /**
   * hpte_invalidate: H_REMOVE with H_AVPN, so only the entry for this page
   * goes. `slot` is the absolute slot (group * 8 + (hidx & 7)). Returns the
   * hcall's code.
   */
  hpteInvalidate(slot: number, vHi: number, vLo: number): number {
    return this.hc.remove(this.d, H_AVPN, slot, vHi, (vLo & ~((1 << HPTE_V_AVPN_SHIFT) - 1)) >>> 0);
  }
}
