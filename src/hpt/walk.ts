import { HPTE_V_AVPN_SHIFT, HPTE_V_LARGE, rpnOf, HPTE_V_SECONDARY, HPTE_V_VALID, HPTES_PER_GROUP, PageShift, SHIFT_16M } from './constants';
import { EaWalk, walkEa } from './hash';
import type { HashTable } from './table';

/** An effective address walked to its HPTE: the hash walk, the slot that holds the page, and its frame. */
export interface HpteLookup {
  walk: EaWalk;
  slot?: number;
  secondary?: boolean;
  /** The machine frame the entry maps this address's page to. */
  mfn?: number;
}

/** Walk `ea` (a page of 2^shift bytes) through the table: ESID, VSID, va, hash, both groups, the slot, the frame. */
export function lookupEa(t: HashTable, ea: bigint, shift: PageShift): HpteLookup {
  const w = walkEa(ea, shift, t.ptegs);
  const found = findHpte(t, w.primary, w.secondary, w.avpn, shift);
  if (!found) return { walk: w };
  const rpn = rpnOf(t.rHi(found.slot), t.rLo(found.slot));
  const mfn = shift === SHIFT_16M ? rpn + Math.floor((w.offset % 2 ** 24) / 4096) : rpn;
  return { walk: w, slot: found.slot, secondary: found.secondary, mfn };
}

/** The valid HPTE for a page: its AVPN (and LARGE bit) in either group, with H telling which. */
export function findHpte(t: HashTable, primary: number, secondary: number, want: bigint, shift: PageShift): { slot: number; secondary: boolean } | undefined {
  const wantHi = Number(want >> 32n);
  const wantLo = Number(want & 0xffffffffn);
  const cmpMask = ~((1 << HPTE_V_AVPN_SHIFT) - 1);
  for (const [group, h] of [[primary, 0], [secondary, HPTE_V_SECONDARY]] as const) {
    for (let i = 0; i < HPTES_PER_GROUP; i++) {
      const slot = group * HPTES_PER_GROUP + i;
      const vLo = t.vLo(slot);
      if ((vLo & HPTE_V_VALID) === 0 || (vLo & HPTE_V_SECONDARY) !== h) continue;
      if (((vLo & HPTE_V_LARGE) !== 0) !== (shift === SHIFT_16M)) continue;
      if (t.vHi(slot) === wantHi && (vLo & cmpMask) === (wantLo & cmpMask)) return { slot, secondary: h !== 0 };
    }
  }
  return undefined;
}
