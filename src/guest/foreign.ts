import { HPTE_V_SECONDARY, HPTE_V_VALID, SHIFT_4K } from '../hpt/constants';
import { avpnWords, hpteHash, primaryGroup, secondaryGroup } from '../hpt/hash';
import { splitEa, vsidOf } from '../hpt/vsid';
import { INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import { Advice, DombuildError, EXIT_FIT, FitError, UsageError } from '../util/errors';
import { hex } from '../util/size';
import type { Domain } from '../xen/domain';
import { H_AVPN, H_PRIVILEGE, H_PTEG_FULL, H_SUCCESS, hcallReturnName } from '../xen/hcalls/papr';
import { xenHcalls } from '../xen/hcalls/xen';
import { legacyPfn2mfn, legacyView } from '../xen/legacy/pfn2mfn';
import { p2mOf } from '../xen/shadow_p2m';
import type { ForeignMapping, System } from '../xen/system';

/** Where dom0's kernel puts foreign mappings: Linux's ioremap/vmalloc region, outside the linear map. */
export const FOREIGN_EA_BASE = 0xd000000000000000n;
/** r word flags for a mapping of another domain's RAM: R, C, M (coherent), PP 0 (as the linear map). */
export const FOREIGN_R_FLAGS = 0x190;

/** A hypercall Xen refused: the PAPR code and what was asked. Exit code 1. */
export class HcallRefused extends DombuildError {
  constructor(message: string, readonly code: number, advice?: Advice) {
    super(message, EXIT_FIT, advice);
  }
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
  const caller = domainOf(sys, callerId, 'the mapping domain');
  const target = domainOf(sys, domid, 'the mapped domain');
  if (caller === target) throw new UsageError(`dom${domid}'s frames are its own: a foreign mapping is of another domain's frame`);
  if (!caller.privileged) {
    throw new HcallRefused(`dom${callerId} may not map dom${domid}'s memory: Xen returned H_PRIVILEGE (only a privileged domain maps other domains' frames)`, H_PRIVILEGE);
  }
  const table = p2mOf(target);
  if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= table.entries) throw new UsageError(`pfn ${hex(pfn)} is outside dom${domid}'s p2m (${table.entries} entries)`);
  const mfn = table.get(pfn);
  if (mfn === INVALID_MFN) throw new FitError(`dom${domid}'s pfn ${hex(pfn)} has no frame (INVALID_MFN): nothing to map`, 'it was ballooned out, or lies past its memory');
  const hc = xenHcalls(sys);
  const t = caller.hpt;
  const list = sys.foreign;
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
    if (caller.translation === 'legacy') {
      const r = legacyPfn2mfn(legacyView(sys.machine, caller), mfn);
      hint = `dom${callerId} was built with the legacy translation: its pfn2mfn read ${hex(mfn)} as ${r.kind}${r.fatal ? ` (${r.fatal})` : r.mfn === INVALID_MFN ? ' (INVALID_MFN)' : ` -> mfn ${hex(r.mfn)}`}`;
    }
    throw new HcallRefused(`H_ENTER of dom${domid}'s pfn ${hex(pfn)} (mfn ${hex(mfn)}) at ea ${hex(ea)} returned ${hcallReturnName(rc)}`, rc, hint);
  }
  const mapping: ForeignMapping = { caller: callerId, domid, pfn, mfn, ea: hex(ea), slot: hc.ptex };
  list.push(mapping);
  return { mapping, refs: sys.machine.pageRefs.get(mfn) ?? 0, mappings: list.length };
}

/**
 * unmap-foreign: H_REMOVE the caller's most recent mapping of that frame
 * (with H_AVPN, as Linux's hpte_invalidate does); Xen drops the page
 * reference. A frame not mapped is refused.
 */
export function unmapForeign(sys: System, callerId: number, domid: number, pfn: number): MapResult {
  const caller = domainOf(sys, callerId, 'the mapping domain');
  const list = sys.foreign;
  let at = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    if (list[i].caller === callerId && list[i].domid === domid && list[i].pfn === pfn) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new FitError(`dom${callerId} has no foreign mapping of dom${domid}'s pfn ${hex(pfn)}`, ['list-domains']);
  const m = list[at];
  const hc = xenHcalls(sys);
  const t = caller.hpt;
  const w = pageWords(BigInt(m.ea), t.mask);
  const rc = hc.remove(caller, H_AVPN, m.slot, w.vHi, w.vLo & ~0x7f);
  if (rc !== H_SUCCESS) throw new HcallRefused(`H_REMOVE of slot ${hex(m.slot)} (dom${domid}'s pfn ${hex(pfn)} at ea ${m.ea}) returned ${hcallReturnName(rc)}`, rc);
  list.splice(at, 1);
  return { mapping: m, refs: sys.machine.pageRefs.get(m.mfn) ?? 0, mappings: list.length };
}
