import { HPTE_V_SECONDARY, HPTE_V_VALID, SHIFT_4K } from '../hpt/constants';
import { avpnWords, hpteHash, primaryGroup, secondaryGroup } from '../hpt/hash';
import { domainHtab } from '../hpt/store';
import { splitEa, vsidOf } from '../hpt/vsid';
import { INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import { DombuildError, EXIT_FIT, FitError, UsageError } from '../util/errors';
import { hex } from '../util/size';
import type { Domain } from '../xen/domain';
import { H_AVPN, H_PRIVILEGE, H_PTEG_FULL, H_SUCCESS, hcallReturnName } from '../xen/hcalls/papr';
import { xenHcalls } from '../xen/hcalls/xen';
import { legacyPfn2mfn, legacyTranslator, legacyView } from '../xen/legacy/pfn2mfn';
import { p2mOf, registerXenP2ms, translationOf } from '../xen/shadow_p2m';
import type { System } from '../xen/system';

/** Where dom0's kernel puts foreign mappings: Linux's ioremap/vmalloc region, outside the linear map. */
export const FOREIGN_EA_BASE = 0xd000000000000000n;
/** r word flags for a mapping of another domain's RAM: R, C, M (coherent), PP 0 (as the linear map). */
export const FOREIGN_R_FLAGS = 0x190;

/** A hypercall Xen refused: the PAPR code and what was asked. Exit code 1. */
export class HcallRefused extends DombuildError {
  constructor(message: string, readonly code: number, hint?: string) {
    super(message, EXIT_FIT, hint);
  }
}

/** One live foreign mapping, as dom0's kernel keeps track of it. */
export interface ForeignMapping {
  /** The mapping domain. */
  caller: number;
  /** Whose frame, and its pfn there. */
  domid: number;
  pfn: number;
  mfn: number;
  /** Effective address in the caller's ioremap region, hex. */
  ea: string;
  /** The HPTE slot H_ENTER returned. */
  slot: number;
}

export const FOREIGN_KEY = 'guest.foreign';

export function loadForeign(sys: System): ForeignMapping[] {
  const raw = sys.extra.get(FOREIGN_KEY);
  return raw ? (JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')) as ForeignMapping[]) : [];
}

export function saveForeign(sys: System, list: ForeignMapping[]): void {
  if (list.length) sys.extra.set(FOREIGN_KEY, Buffer.from(JSON.stringify(list), 'utf8'));
  else sys.extra.delete(FOREIGN_KEY);
}

/** Xen's hcall handlers over this System, with Xen's tables for shadow (and legacy) domains plugged in. */
export function hcallsFor(sys: System): ReturnType<typeof xenHcalls> {
  registerXenP2ms(sys, (s, d) => legacyTranslator(legacyView(s.machine, d)));
  return xenHcalls(sys);
}

function domainOf(sys: System, domid: number, what: string): Domain {
  const d = sys.domains.get(domid);
  if (!d) throw new UsageError(`${what}: no domain ${domid} in this state`, `domains: ${[...sys.domains.keys()].join(', ')}`);
  return d;
}

/** The HPTE words for a 4 KiB page at `ea`: v (AVPN and VALID) and its primary / secondary groups. */
function pageWords(ea: bigint, mask: number): { vHi: number; vLo: number; primary: number; secondary: number } {
  const { esid, offset } = splitEa(ea);
  const vsid = vsidOf(esid);
  const hash = hpteHash(vsid, offset, SHIFT_4K);
  const a = avpnWords(vsid, offset, SHIFT_4K);
  return { vHi: a.hi, vLo: (a.lo | HPTE_V_VALID) >>> 0, primary: primaryGroup(hash, mask), secondary: secondaryGroup(hash, mask) };
}

export interface MapResult { mapping: ForeignMapping; refs: number; mappings: number }

/**
 * map-foreign: the caller's kernel asks Xen for the frame behind another
 * domain's pfn (a privileged operation: anyone else gets H_PRIVILEGE), then
 * maps it at a fresh address of its ioremap region with H_ENTER, handing Xen
 * the machine frame. Xen checks the frame is another domain's and takes a
 * page reference, held until H_REMOVE.
 */
export function mapForeign(sys: System, callerId: number, domid: number, pfn: number): MapResult {
  const caller = domainOf(sys, callerId, '--from');
  const target = domainOf(sys, domid, '--domid');
  if (caller === target) throw new UsageError(`dom${domid}'s frames are its own: a foreign mapping is of another domain's frame`);
  if (!caller.privileged) {
    throw new HcallRefused(`dom${callerId} may not map dom${domid}'s memory: Xen returned H_PRIVILEGE (only a privileged domain maps other domains' frames)`, H_PRIVILEGE);
  }
  const table = p2mOf(sys, target);
  if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= table.entries) throw new UsageError(`pfn ${hex(pfn)} is outside dom${domid}'s p2m (${table.entries} entries)`);
  const mfn = table.get(pfn);
  if (mfn === INVALID_MFN) throw new FitError(`dom${domid}'s pfn ${hex(pfn)} has no frame (INVALID_MFN): nothing to map`, 'ballooned out, or past its memory');
  const hc = hcallsFor(sys);
  const t = domainHtab(sys, caller);
  const list = loadForeign(sys);
  const used = new Set(list.filter((x) => x.caller === callerId).map((x) => x.ea));
  let idx = 0;
  while (used.has(hex(FOREIGN_EA_BASE + BigInt(idx * PAGE_SIZE)))) idx++;
  const ea = FOREIGN_EA_BASE + BigInt(idx * PAGE_SIZE);
  const w = pageWords(ea, t.mask);
  const rHi = Math.floor(mfn / 2 ** 20);
  const rLo = ((mfn << 12) | FOREIGN_R_FLAGS) >>> 0;
  let rc = hc.enter(caller, 0, w.primary * 8, w.vHi, w.vLo, rHi, rLo);
  if (rc === H_PTEG_FULL) rc = hc.enter(caller, 0, w.secondary * 8, w.vHi, (w.vLo | HPTE_V_SECONDARY) >>> 0, rHi, rLo);
  if (rc !== H_SUCCESS) {
    let hint: string | undefined;
    if (translationOf(sys, caller) === 'legacy') {
      const r = legacyPfn2mfn(legacyView(sys.machine, caller), mfn);
      hint = `dom${callerId} was built with --translation legacy: its pfn2mfn read ${hex(mfn)} as ${r.kind}${r.fatal ? ` (${r.fatal})` : r.mfn === INVALID_MFN ? ' (INVALID_MFN)' : ` -> mfn ${hex(r.mfn)}`}; see \`ppc-dombuild audit\``;
    }
    throw new HcallRefused(`H_ENTER of dom${domid}'s pfn ${hex(pfn)} (mfn ${hex(mfn)}) at ea ${hex(ea)} returned ${hcallReturnName(rc)}`, rc, hint);
  }
  const mapping: ForeignMapping = { caller: callerId, domid, pfn, mfn, ea: hex(ea), slot: hc.ptex };
  list.push(mapping);
  saveForeign(sys, list);
  return { mapping, refs: sys.machine.pageRefs.get(mfn) ?? 0, mappings: list.length };
}

/**
 * unmap-foreign: H_REMOVE the caller's most recent mapping of that frame
 * (with H_AVPN, as Linux's hpte_invalidate does); Xen drops the page
 * reference. A frame not mapped is refused.
 */
export function unmapForeign(sys: System, callerId: number, domid: number, pfn: number): MapResult {
  const caller = domainOf(sys, callerId, '--from');
  const list = loadForeign(sys);
  let at = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    if (list[i].caller === callerId && list[i].domid === domid && list[i].pfn === pfn) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new FitError(`dom${callerId} has no foreign mapping of dom${domid}'s pfn ${hex(pfn)}`, 'see `ppc-dombuild list` and map-foreign');
  const m = list[at];
  const hc = hcallsFor(sys);
  const t = domainHtab(sys, caller);
  const w = pageWords(BigInt(m.ea), t.mask);
  const rc = hc.remove(caller, H_AVPN, m.slot, w.vHi, w.vLo & ~0x7f);
  if (rc !== H_SUCCESS) throw new HcallRefused(`H_REMOVE of slot ${hex(m.slot)} (dom${domid}'s pfn ${hex(pfn)} at ea ${m.ea}) returned ${hcallReturnName(rc)}`, rc);
  list.splice(at, 1);
  saveForeign(sys, list);
  return { mapping: m, refs: sys.machine.pageRefs.get(m.mfn) ?? 0, mappings: list.length };
}
