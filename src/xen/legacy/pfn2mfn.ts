import { EXTENT_PAGES, INVALID_MFN, IO_HOLE_END_MFN, IO_HOLE_START_MFN } from '../../machine/constants';
import type { Owner } from '../../machine/frames';
import type { Machine } from '../../machine/machine';
import type { Domain } from '../domain';
import { grantDomainOfUse, NR_GRANT_FRAMES } from '../grant_table';

/**
 * Xen/PowerPC's pfn2mfn before the proposal (xen/arch/powerpc/mm.c, early
 * 2007), for a domain whose table Xen keeps. The checks, in their order:
 *
 *  1. the foreign bit: pfn & (1 << cpu_foreign_map_order()), order 22 on the
 *     970 (16 GiB): the pfn is a slot, pfn - 2^22, in the domain's table of
 *     1024 foreign mfns (a slot past it is BUG_ON: Xen stops);
 *  2. grant-table frames just above the end of RAM: [max_page, max_page +
 *     nr_grant_frames) (INITIAL_NR_GRANT_FRAMES = 4 on PowerPC);
 *  3. for a privileged domain, the IO hole [2 GiB, 4 GiB): the pfn is taken
 *     as the MMIO frame of the same number;
 *  4. the RMA: pfn < rma pages -> rma base + pfn;
 *  5. the extent list, walked in pfn order from the end of the RMA;
 *  6. the hack "that allows dom0 to map all memory": a privileged domain's
 *     pfn that is a valid machine frame is taken as another domain's raw mfn
 *     (Xen panics if the frame is free or the caller's own).
 *
 * Written from those facts; the code is this project's own.
 */
export const FOREIGN_MAP_ORDER = 22;
export const FOREIGN_MAP_PFN = 2 ** FOREIGN_MAP_ORDER;
/** d->arch.foreign_mfn_count */
export const FOREIGN_MFN_SLOTS = 1024;
/** INITIAL_NR_GRANT_FRAMES on PowerPC (src/xen/grant_table.ts) */
export { NR_GRANT_FRAMES };

export type LegacyKind =
  /** step 1: read through the foreign-map slot table */
  | 'foreign-slot'
  /** step 2 */
  | 'grant'
  /** step 3 */
  | 'io'
  /** step 4 */
  | 'rma'
  /** step 5 */
  | 'extent'
  /** step 6: another domain's raw mfn */
  | 'raw-mfn'
  /** nothing matched: INVALID_MFN (H_PARAMETER) */
  | 'invalid';

/** What legacy Xen knows about one domain, enough to translate for it. */
export interface LegacyView {
  domid: number;
  privileged: boolean;
  rmaMfn: number;
  rmaPages: number;
  /** First mfn of each 16 MiB extent, in pfn order (d->arch.extent_list). */
  extents: readonly number[];
  /** max_page: the first frame number past RAM. */
  maxPage: number;
  /** Each grant-table frame's mfn, gnttab_shared_mfn(d, t, i) (t->shared[i]); undefined when it has none. */
  grantMfns?: readonly number[];
  /** The foreign-map slots (INVALID_MFN when unused); default all unused. */
  foreignSlots?: readonly number[];
  /** Who owns a machine frame (for the raw-mfn hack). */
  ownerOf(mfn: number): Owner | undefined;
  /** The first frame >= mfn where ownership may change. */
  ownerRunEnd(mfn: number): number;
}

/** One reading, valid for `count` consecutive numbers from `n` (mfn advancing with n unless INVALID_MFN). */
export interface LegacyRead {
  n: number;
  count: number;
  kind: LegacyKind;
  /** The frame Xen maps for `n`, or INVALID_MFN. */
  mfn: number;
  /** Xen would stop here (BUG_ON / panic) instead of returning; why. */
  fatal?: string;
}

/** The view of domain d. */
export function legacyView(m: Machine, d: Domain): LegacyView {
  const last = m.ram[m.ram.length - 1];
  return {
    domid: d.domid,
    privileged: d.privileged,
    rmaMfn: d.rma.mfn,
    rmaPages: d.rmaPages,
    extents: d.extents,
    maxPage: last.mfn + last.count,
    // None rather than an empty list: the grant pfns then read as one INVALID_MFN run.
    grantMfns: d.grantFrames.length ? d.grantFrames : undefined,
    // A grant-table frame is its domain's: share_xen_page_with_guest's page_set_owner(page, d)
    // (xen/arch/powerpc/mm.c:87-118, :104 @ 1aa3c54a31^); the tool's frame table keeps it Xen's.
    ownerOf: (mfn) => {
      const r = m.frames.lookup(mfn);
      const g = r && r.owner === 'xen' ? grantDomainOfUse(r.use) : undefined;
      return g ?? m.frames.ownerOf(mfn);
    },
    ownerRunEnd: (mfn) => {
      const r = m.frames.lookup(mfn);
      return r ? r.mfn + r.count : m.frames.nextOwnedStart(mfn);
    },
  };
}

const isIo = (n: number): boolean => n >= IO_HOLE_START_MFN && n < IO_HOLE_END_MFN;

/**
 * The reading of `n` and how far it holds: the run ends before `limit`
 * numbers, and at the first number where any of the six checks could answer
 * differently. Costs one step per boundary, not per number.
 */
export function legacyReadRun(v: LegacyView, n: number, limit = 1): LegacyRead {
  const cut: number[] = [n + Math.max(1, limit)];
  const read = (kind: LegacyKind, mfn: number, fatal?: string): LegacyRead => ({ n, count: Math.min(...cut) - n, kind, mfn, ...(fatal ? { fatal } : {}) });

  // 1. The foreign bit: constant up to the next multiple of 2^22.
  cut.push((Math.floor(n / FOREIGN_MAP_PFN) + 1) * FOREIGN_MAP_PFN);
  if (Math.floor(n / FOREIGN_MAP_PFN) % 2 === 1) {
    const slot = n - FOREIGN_MAP_PFN;
    if (slot >= 0 && slot < FOREIGN_MFN_SLOTS) {
      cut.push(FOREIGN_MAP_PFN + FOREIGN_MFN_SLOTS);
      const slots = v.foreignSlots;
      if (slots && slots.some((s) => s !== INVALID_MFN)) {
        cut.push(n + 1); // slots are not a run
        return read('foreign-slot', slots[slot] ?? INVALID_MFN);
      }
      return read('foreign-slot', INVALID_MFN);
    }
    return read('foreign-slot', INVALID_MFN, `foreign slot ${slot} is past the ${FOREIGN_MFN_SLOTS}-entry table: BUG_ON in foreign_to_mfn`);
  }

  // 2. Grant-table frames just above RAM.
  const gEnd = v.maxPage + NR_GRANT_FRAMES;
  if (n < v.maxPage) cut.push(v.maxPage);
  else if (n < gEnd) {
    // mfn = gnttab_shared_mfn(d, d->grant_table, pfn - max_page) (mm.c:434-443 @ 1aa3c54a31^).
    const i = n - v.maxPage;
    const g = v.grantMfns;
    if (g) {
      // One alloc_xenheap_page per frame (grant_table.c:1313 @ a046da3892): a run only while they follow each other.
      let e = i + 1;
      while (e < NR_GRANT_FRAMES && g[e] !== undefined && g[e] === g[i] + (e - i)) e++;
      cut.push(v.maxPage + e);
      return read('grant', g[i] ?? INVALID_MFN);
    }
    cut.push(gEnd);
    return read('grant', INVALID_MFN);
  }

  // 3. The IO hole, for a privileged domain.
  if (v.privileged) {
    if (n < IO_HOLE_START_MFN) cut.push(IO_HOLE_START_MFN);
    else if (isIo(n)) {
      cut.push(IO_HOLE_END_MFN);
      return read('io', n);
    }
  }

  // 4. The RMA.
  if (n < v.rmaPages) {
    cut.push(v.rmaPages);
    return read('rma', v.rmaMfn + n);
  }

  // 5. The extent list, in pfn order after the RMA.
  const idx = Math.floor((n - v.rmaPages) / EXTENT_PAGES);
  if (idx < v.extents.length) {
    const start = v.rmaPages + idx * EXTENT_PAGES;
    cut.push(start + EXTENT_PAGES);
    return read('extent', v.extents[idx] + (n - start));
  }

  // 6. The raw-mfn hack: a privileged caller's valid frame number is another domain's mfn.
  if (v.privileged && n < v.maxPage) {
    cut.push(v.ownerRunEnd(n));
    if (v.privileged && !isIo(n) && n < IO_HOLE_START_MFN) cut.push(IO_HOLE_START_MFN);
    const owner = v.ownerOf(n);
    if (owner === undefined || owner === 'xen') return read('raw-mfn', n, `Foreign page ${hexn(n)} is not owned by any domain: Xen panics`);
    if (owner === v.domid) return read('raw-mfn', n, `Foreign page ${hexn(n)} is owned by this domain: Xen panics`);
    return read('raw-mfn', n);
  }
  if (n < v.maxPage) cut.push(v.maxPage);
  return read('invalid', INVALID_MFN);
}

/** pfn2mfn(d, pfn): the frame and how it was found. */
export function legacyPfn2mfn(v: LegacyView, pfn: number): LegacyRead {
  return legacyReadRun(v, pfn, 1);
}

/** The mfn H_ENTER would use for a legacy domain's pfn (INVALID_MFN where Xen would refuse or stop). */
export function legacyTranslator(v: LegacyView): (pfn: number) => number {
  return (pfn) => {
    const r = legacyReadRun(v, pfn, 1);
    return r.fatal ? INVALID_MFN : r.mfn;
  };
}

const hexn = (n: number): string => '0x' + n.toString(16);
