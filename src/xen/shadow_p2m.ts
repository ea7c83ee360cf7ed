import { INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import { CHUNK_SIZE, GuestMemory } from '../machine/guest_memory';
import type { Machine } from '../machine/machine';
import { P2mTable } from '../p2m/table';
import { alignUp } from '../util/size';
import type { Domain } from './domain';
import { registerShadowP2m } from './hcalls/xen';
import { perSystem, type System } from './system';

/**
 * How Xen reads the frame numbers a domain hands it:
 *  - `proposal`: a non-shadow (privileged) domain keeps its own table in its
 *    RMA and hands Xen machine frames; Xen checks them as they are.
 *  - `shadow`: Xen keeps the domain's table (a domU); the guest hands pfns.
 *  - `legacy`: dom0 built the pre-proposal way: Xen keeps its table too, and
 *    its pfn2mfn guesses in the historical order (IO hole, foreign bit...).
 */
export type Translation = 'proposal' | 'shadow' | 'legacy';

/** Where a domU's special pages and images sit in its RMA (guest-physical, bytes). */
export interface DomuLayout {
  rmaSize: number;
  kernel: { start: number; end: number };
  devtree: { start: number; end: number };
  xenstore: { start: number; end: number };
  console: { start: number; end: number };
  sharedInfo: { start: number; end: number };
}

/** What Xen keeps about a domain beyond struct domain: saved as System.extra `xen.dom<N>`. */
export interface DomainExtra {
  version: 1;
  domid: number;
  translation: Translation;
  /** Xen's own p2m for the domain (shadow and legacy): a Xen-heap block of big-endian u32 entries. */
  xenP2m?: { mfn: number; order: number; entries: number };
  /** A domU's RMA layout. */
  domu?: DomuLayout;
  /** Event channels the domU's device tree names for its console and xenstore. */
  evtchn?: { console: number; store: number };
  /** The memory the domain was created with, and what its balloon has changed since. */
  bootPages?: number;
}

export const extraKey = (domid: number): string => `xen.dom${domid}`;
export const xenP2mKey = (domid: number): string => `xen.dom${domid}.p2m`;

/** Tables in use in this process, backed by one contiguous buffer each (shared with System.extra). */
const liveMap = perSystem<P2mTable>();

export function readExtra(sys: System, domid: number): DomainExtra | undefined {
  const raw = sys.extra.get(extraKey(domid));
  if (!raw) return undefined;
  return JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')) as DomainExtra;
}

export function writeExtra(sys: System, e: DomainExtra): void {
  sys.extra.set(extraKey(e.domid), Buffer.from(JSON.stringify(e), 'utf8'));
}

/** How Xen translates for this domain: states without a record are the proposal's dom0. */
export function translationOf(sys: System, d: Domain): Translation {
  return readExtra(sys, d.domid)?.translation ?? (d.shadow ? 'shadow' : 'proposal');
}

/**
 * A P2mTable over one contiguous buffer (a multiple of the 1 MiB chunk, as
 * P2mTable reads whole chunks as words), whose first entries x 4 bytes are
 * what System.extra saves: writes through the table are what gets saved.
 */
function tableOver(entries: number, initial?: Uint8Array): { table: P2mTable; bytes: Uint8Array } {
  const bytes = entries * 4;
  const backing = new Uint8Array(Math.max(CHUNK_SIZE, alignUp(bytes, CHUNK_SIZE)));
  if (initial) backing.set(initial.subarray(0, bytes));
  const mem = new GuestMemory(bytes);
  for (let c = 0; c < mem.chunks.length; c++) mem.chunks[c] = backing.subarray(c * CHUNK_SIZE, (c + 1) * CHUNK_SIZE);
  return { table: new P2mTable(mem, 0, entries), bytes: backing.subarray(0, bytes) };
}

/** Pages (as a buddy order) a table of `entries` u32 entries takes in the Xen heap. */
export function xenP2mOrder(entries: number): number {
  const pages = Math.max(1, Math.ceil((entries * 4) / PAGE_SIZE));
  return Math.ceil(Math.log2(pages));
}

/** A Xen p2m allocated but not yet attached to a System (construct builds the machine first). */
export interface XenP2mAlloc { mfn: number; order: number; entries: number; table: P2mTable; bytes: Uint8Array }

/**
 * guest_physmap_max_mem_pages: a Xen-kept p2m of `entries` entries, all
 * INVALID_MFN, in a Xen-heap block owned by Xen ('p2m domN'). Throws
 * FitError (from the heap) when the Xen heap cannot hold it.
 */
export function allocXenP2m(m: Machine, domid: number, entries: number): XenP2mAlloc {
  const order = xenP2mOrder(entries);
  const mfn = m.allocXenBlock(order, `p2m dom${domid}`, `dom${domid}'s Xen p2m (${entries} entries)`);
  const { table, bytes } = tableOver(entries);
  table.invalidate(0, entries);
  return { mfn, order, entries, table, bytes };
}

/** Attach an allocated Xen p2m to its domain in a System (saved as System.extra). */
export function installXenP2m(sys: System, d: Domain, a: XenP2mAlloc, translation: Translation): P2mTable {
  sys.extra.set(xenP2mKey(d.domid), a.bytes);
  liveMap(sys).set(d.domid, a.table);
  const prev = readExtra(sys, d.domid);
  writeExtra(sys, { ...(prev ?? { version: 1, domid: d.domid }), version: 1, domid: d.domid, translation, xenP2m: { mfn: a.mfn, order: a.order, entries: a.entries } });
  d.arch.p2m = a.mfn * PAGE_SIZE;
  return a.table;
}

export function createXenP2m(sys: System, d: Domain, entries: number, translation: Translation): P2mTable {
  return installXenP2m(sys, d, allocXenP2m(sys.machine, d.domid, entries), translation);
}

/** Xen's p2m for a domain, or undefined when Xen keeps none (the proposal's dom0). */
export function xenP2mOf(sys: System, d: Domain): P2mTable | undefined {
  const m = liveMap(sys);
  const t = m.get(d.domid);
  if (t) return t;
  const meta = readExtra(sys, d.domid)?.xenP2m;
  if (!meta) return undefined;
  const saved = sys.extra.get(xenP2mKey(d.domid));
  if (!saved || saved.length !== meta.entries * 4) {
    throw new Error(`dom${d.domid}'s Xen p2m is ${saved ? `${saved.length} bytes, not ${meta.entries * 4}` : 'missing'}`);
  }
  const { table, bytes } = tableOver(meta.entries, saved);
  sys.extra.set(xenP2mKey(d.domid), bytes);
  m.set(d.domid, table);
  return table;
}

/**
 * The p2m accessor: the table that translates this domain's pfns. A
 * non-shadow domain's is its own, in its RMA; a shadow (or legacy) domain's
 * is the one Xen keeps.
 */
export function p2mOf(sys: System, d: Domain): P2mTable {
  if (!d.shadow) return d.p2m();
  const t = xenP2mOf(sys, d);
  if (!t) throw new Error(`dom${d.domid} is a shadow domain without a Xen p2m`);
  return t;
}

/** Where a domain's table lives, in words and numbers. */
export interface TableLocation {
  keeper: 'guest' | 'xen';
  /** Guest-physical address (a guest-kept table), else null. */
  gpa: number | null;
  maddr: number;
  entries: number;
  bytes: number;
}

export function tableLocation(sys: System, d: Domain): TableLocation {
  if (!d.shadow) return { keeper: 'guest', gpa: d.p2mGpa, maddr: d.arch.p2m, entries: d.p2mEntries, bytes: d.p2mEntries * 4 };
  const meta = readExtra(sys, d.domid)?.xenP2m;
  const entries = meta?.entries ?? 0;
  return { keeper: 'xen', gpa: null, maddr: meta ? meta.mfn * PAGE_SIZE : d.arch.p2m, entries, bytes: entries * 4 };
}

/** Xen's pfn2mfn for a shadow domain: its table, INVALID_MFN past it. */
export function shadowPfn2mfn(sys: System, d: Domain): (pfn: number) => number {
  const t = p2mOf(sys, d);
  return (pfn: number) => (pfn >= 0 && pfn < t.entries ? t.get(pfn) : INVALID_MFN);
}

/** Free a domain's Xen p2m (destroy) and forget it. */
export function freeXenP2m(sys: System, domid: number): void {
  const meta = readExtra(sys, domid)?.xenP2m;
  if (meta) sys.machine.freeXenBlock(meta.mfn, meta.order);
  liveMap(sys).delete(domid);
  sys.extra.delete(xenP2mKey(domid));
}

/**
 * Check, when a state is loaded, that every shadow domain has its Xen p2m
 * and that its block is Xen's; returns the first problem, else undefined.
 */
export function checkXenP2ms(sys: System): string | undefined {
  for (const d of sys.domains.values()) {
    if (!d.shadow) continue;
    const e = readExtra(sys, d.domid);
    if (!e?.xenP2m) return `dom${d.domid} is a shadow domain but the state has no Xen p2m for it`;
    const saved = sys.extra.get(xenP2mKey(d.domid));
    if (!saved || saved.length !== e.xenP2m.entries * 4) return `dom${d.domid}'s Xen p2m is ${saved ? `${saved.length} bytes, not ${e.xenP2m.entries * 4}` : 'missing'}`;
    const run = sys.machine.frames.lookup(e.xenP2m.mfn);
    if (!run || run.owner !== 'xen' || run.use !== `p2m dom${d.domid}`) return `dom${d.domid}'s Xen p2m at mfn 0x${e.xenP2m.mfn.toString(16)} is not a Xen frame kept for it`;
  }
  return undefined;
}

/**
 * Give H_ENTER (helper hcalls) Xen's translation for every shadow domain in
 * this System: a domU's pfns through its table, a legacy dom0's through the
 * historical pfn2mfn (passed in, to keep this module free of the legacy one).
 */
export function registerXenP2ms(sys: System, legacy?: (sys: System, d: Domain) => (pfn: number) => number): void {
  for (const d of sys.domains.values()) {
    if (!d.shadow) continue;
    const tr = translationOf(sys, d);
    registerShadowP2m(sys, d.domid, tr === 'legacy' && legacy ? legacy(sys, d) : shadowPfn2mfn(sys, d));
  }
}
