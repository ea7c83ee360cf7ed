import { PAGE_SIZE } from '../machine/constants';
import { StateError } from '../util/errors';
import type { Domain } from '../xen/domain';
import { perSystem, type System } from '../xen/system';
import { decodeHtab, encodeHtab, HtabFormatError } from './codec';
import { HashTable } from './table';

/** The System.extra key a domain's hash table is saved under. */
export const htabKey = (domid: number): string => `htab.dom${domid}`;

/** The tables in use in this process, per System. */
const liveTables = perSystem<HashTable>();

/** Bytes of the hash table Xen gave a domain (d->arch.htab), or undefined when it has none. */
export function htabBytesOf(d: Domain): number | undefined {
  const h = d.arch.htab;
  return h ? 2 ** h.order * PAGE_SIZE : undefined;
}

/**
 * The hash table Xen keeps for `d`: the one already in use in this process,
 * else the one saved in the state, else a new empty table of d->arch.htab's
 * size. Changes stay in memory until persistHtabs().
 */
export function domainHtab(sys: System, d: Domain): HashTable {
  const tables = liveTables(sys);
  let t = tables.get(d.domid);
  if (t) return t;
  const saved = sys.extra.get(htabKey(d.domid));
  if (saved) {
    try {
      t = decodeHtab(saved);
    } catch (e) {
      if (e instanceof HtabFormatError) throw new StateError(`dom${d.domid}'s ${e.message}`, 'run `ppc-dombuild construct` again to rebuild it');
      throw e;
    }
  } else {
    const bytes = htabBytesOf(d);
    if (bytes === undefined) throw new Error(`dom${d.domid} has no hash table (d->arch.htab)`);
    t = new HashTable(bytes);
  }
  tables.set(d.domid, t);
  return t;
}

/** Is a table saved (or in use) for this domain? */
export function hasHtab(sys: System, domid: number): boolean {
  return liveTables(sys).has(domid) || sys.extra.has(htabKey(domid));
}

/** Put every table in use back into System.extra (sparse); encodeState does this before it encodes. */
export function persistHtabs(sys: System): void {
  for (const [domid, t] of liveTables(sys)) sys.extra.set(htabKey(domid), encodeHtab(t));
}

/** Replace a domain's table (tests corrupting a state, or a later stage resizing it). */
export function setDomainHtab(sys: System, domid: number, t: HashTable): void {
  liveTables(sys).set(domid, t);
}

/** Drop the in-memory tables (after persisting), so their storage can be collected. */
export function forgetHtabs(sys: System): void {
  liveTables(sys).clear();
}

/** A destroyed domain's table: gone from this process and from the state. */
export function dropHtab(sys: System, domid: number): void {
  liveTables(sys).delete(domid);
  sys.extra.delete(htabKey(domid));
}
