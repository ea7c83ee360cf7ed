import { INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import { CHUNK_SIZE, GuestMemory } from '../machine/guest_memory';
import type { Machine } from '../machine/machine';
import { P2mTable } from '../p2m/table';
import { alignUp } from '../util/size';
import type { Domain, Translation, XenP2m } from './domain';
import type { System } from './system';

/**
 * A P2mTable over one contiguous buffer (a multiple of the 1 MiB chunk, as
 * P2mTable reads whole chunks as words), whose first entries x 4 bytes are
 * what the state saves: writes through the table are what gets saved.
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

/**
 * guest_physmap_max_mem_pages: a Xen-kept p2m of `entries` entries, all
 * INVALID_MFN, in a Xen-heap block owned by Xen ('p2m domN'). Throws
 * FitError (from the heap) when the Xen heap cannot hold it.
 */
export function allocXenP2m(m: Machine, domid: number, entries: number): XenP2m {
  const order = xenP2mOrder(entries);
  const mfn = m.allocXenBlock(order, `p2m dom${domid}`, `dom${domid}'s Xen p2m (${entries} entries)`);
  const { table, bytes } = tableOver(entries);
  table.invalidate(0, entries);
  return { mfn, order, entries, table, bytes };
}

/** Give a domain the p2m Xen keeps for it (d->arch.p2m is then the table's machine address). */
export function installXenP2m(d: Domain, p2m: XenP2m, translation: Translation): P2mTable {
  d.xenP2m = p2m;
  d.translation = translation;
  d.arch.p2m = p2m.mfn * PAGE_SIZE;
  return p2m.table;
}

/** A Xen p2m read back from a state: its block, and its entries' bytes (copied into a table's buffer). */
export function restoreXenP2m(meta: { mfn: number; order: number; entries: number }, saved: Uint8Array): XenP2m {
  if (saved.length !== meta.entries * 4) throw new Error(`the Xen p2m is ${saved.length} bytes, not ${meta.entries * 4}`);
  const { table, bytes } = tableOver(meta.entries, saved);
  return { ...meta, table, bytes };
}

/**
 * The p2m accessor: the table that translates this domain's pfns. A
 * non-shadow domain's is its own, in its RMA; a shadow (or legacy) domain's
 * is the one Xen keeps.
 */
export function p2mOf(d: Domain): P2mTable {
  if (!d.shadow) return d.p2m();
  if (!d.xenP2m) throw new Error(`dom${d.domid} is a shadow domain without a Xen p2m`);
  return d.xenP2m.table;
}

/** Where a domain's table lives, in words and numbers. */
export interface TableLocation {
  keeper: 'guest' | 'xen';
  /** Guest-physical address (a guest-kept table), else null. */
  paddr: number | null;
  maddr: number;
  entries: number;
  bytes: number;
}

export function tableLocation(d: Domain): TableLocation {
  if (!d.shadow) return { keeper: 'guest', paddr: d.p2mPaddr, maddr: d.arch.p2m, entries: d.p2mEntries, bytes: d.p2mEntries * 4 };
  const entries = d.xenP2m?.entries ?? 0;
  return { keeper: 'xen', paddr: null, maddr: d.xenP2m ? d.xenP2m.mfn * PAGE_SIZE : d.arch.p2m, entries, bytes: entries * 4 };
}

/** Xen's pfn2mfn for a shadow domain: its table, INVALID_MFN past it. */
export function shadowPfn2mfn(d: Domain): (pfn: number) => number {
  const t = p2mOf(d);
  return (pfn: number) => (pfn >= 0 && pfn < t.entries ? t.get(pfn) : INVALID_MFN);
}

/** Free a domain's Xen p2m (destroy). */
export function freeXenP2m(m: Machine, d: Domain): void {
  if (d.xenP2m) m.freeXenBlock(d.xenP2m.mfn, d.xenP2m.order);
  d.xenP2m = undefined;
}

/**
 * Check, when a state is loaded, that every shadow domain has its Xen p2m
 * and that its block is Xen's; returns the first problem, else undefined.
 */
export function checkXenP2ms(sys: System): string | undefined {
  for (const d of sys.domains.values()) {
    if (!d.shadow) continue;
    const x = d.xenP2m;
    if (!x) return `dom${d.domid} is a shadow domain but the state has no Xen p2m for it`;
    const run = sys.machine.frames.lookup(x.mfn);
    if (!run || run.owner !== 'xen' || run.use !== `p2m dom${d.domid}`) return `dom${d.domid}'s Xen p2m at mfn 0x${x.mfn.toString(16)} is not a Xen frame kept for it`;
  }
  return undefined;
}
