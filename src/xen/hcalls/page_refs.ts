import type { Machine } from '../../machine/machine';

/**
 * Page references for foreign mappings (get_page / put_page on another
 * domain's frame): Machine.pageRefs, mfn -> count, saved with the state.
 * A frame with references must not be freed or given away.
 */
export function getPageRef(m: Machine, mfn: number): number {
  const n = (m.pageRefs.get(mfn) ?? 0) + 1;
  m.pageRefs.set(mfn, n);
  return n;
}

/** Drop one reference; returns what is left. Dropping one that was never taken is a bug. */
export function putPageRef(m: Machine, mfn: number): number {
  const n = m.pageRefs.get(mfn);
  if (!n) throw new Error(`put_page on mfn ${mfn.toString(16)} without a reference`);
  if (n === 1) m.pageRefs.delete(mfn);
  else m.pageRefs.set(mfn, n - 1);
  return n - 1;
}

export function pageRefCount(m: Machine, mfn: number): number {
  return m.pageRefs.get(mfn) ?? 0;
}
