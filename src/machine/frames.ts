import { EXTENT_PAGES } from './constants';

/**
 * Who owns each machine frame, kept as sorted, non-overlapping runs rather
 * than one entry per frame: a 64 GiB machine has 16 Mi frames but only a few
 * thousand allocations. Frames in no run are free heap frames, or not RAM.
 */
export type Owner = number | 'xen';

export interface OwnedRun { mfn: number; count: number; owner: Owner; use: string }

/** No extent is known to be wholly one domain's: the map before it is built, and after any change. */
const NO_EXTENTS = new Int32Array(0);
const MAX_MAP_EXTENTS = 2 ** 32 / EXTENT_PAGES;

export class FrameTable {
  private runs: OwnedRun[] = [];
  // Derived from the runs, for H_ENTER's "does the caller own this frame?" asked
  // millions of times a boot: per 16 MiB extent of machine memory, the domid owning
  // all of its frames, else -1. Dropped on every change of ownership, rebuilt on use.
  private extentOwnerMap: Int32Array = NO_EXTENTS;

  static fromRuns(runs: OwnedRun[]): FrameTable {
    const t = new FrameTable();
    for (const r of runs) t.assign(r.mfn, r.count, r.owner, r.use);
    return t;
  }

  all(): readonly OwnedRun[] {
    return this.runs;
  }

  /**
   * Per 16 MiB extent (mfn >>> 12), the domid owning all 4096 of its frames,
   * or -1 (free frames in it, Xen's, or several owners); extents past the
   * last owned frame are not in it. Empty whenever ownership has changed
   * since extentOwners() last built it: a caller finding no entry takes the
   * full lookup, never an old answer.
   */
  get extentOwnersIfCurrent(): Int32Array {
    return this.extentOwnerMap;
  }

  /** The per-extent owner map, built first if ownership changed since it was last built. */
  extentOwners(): Int32Array {
    if (this.extentOwnerMap === NO_EXTENTS && this.runs.length > 0) this.extentOwnerMap = this.buildExtentOwners();
    return this.extentOwnerMap;
  }

  /** Record that [mfn, mfn+count) now belongs to owner, for use. It must be unowned. */
  assign(mfn: number, count: number, owner: Owner, use: string): void {
    this.extentOwnerMap = NO_EXTENTS;
    const at = this.indexAfter(mfn);
    const prev = this.runs[at - 1];
    const next = this.runs[at];
    if ((prev && prev.mfn + prev.count > mfn) || (next && next.mfn < mfn + count)) {
      throw new Error(`frames ${mfn.toString(16)}+${count} assigned to ${owner} are already owned`);
    }
    // Grow a neighbouring run of the same owner and use, so runs stay maximal
    // whichever way the heap hands out consecutive blocks (Xen's go downward).
    const joinsNext = next && next.mfn === mfn + count && next.owner === owner && next.use === use;
    if (prev && prev.mfn + prev.count === mfn && prev.owner === owner && prev.use === use) {
      prev.count += count;
      if (joinsNext) {
        prev.count += next.count;
        this.runs.splice(at, 1);
      }
      return;
    }
    if (joinsNext) {
      next.mfn = mfn;
      next.count += count;
      return;
    }
    this.runs.splice(at, 0, { mfn, count, owner, use });
  }

  /** Forget the owner of [mfn, mfn+count); every frame of it must be owned. */
  release(mfn: number, count: number): void {
    this.extentOwnerMap = NO_EXTENTS;
    const end = mfn + count;
    let i = this.indexAfter(mfn) - 1;
    if (i < 0) throw new Error(`frame ${mfn.toString(16)} released but not owned`);
    while (mfn < end) {
      const r = this.runs[i];
      if (!r || r.mfn > mfn || r.mfn + r.count <= mfn) throw new Error(`frame ${mfn.toString(16)} released but not owned`);
      const rEnd = r.mfn + r.count;
      const cutEnd = Math.min(end, rEnd);
      const pieces: OwnedRun[] = [];
      if (r.mfn < mfn) pieces.push({ ...r, count: mfn - r.mfn });
      if (cutEnd < rEnd) pieces.push({ ...r, mfn: cutEnd, count: rEnd - cutEnd });
      this.runs.splice(i, 1, ...pieces);
      i += pieces.length && pieces[0].mfn < mfn ? 1 : 0;
      mfn = cutEnd;
    }
  }

  /** The run holding mfn, if any. */
  lookup(mfn: number): OwnedRun | undefined {
    const r = this.runs[this.indexAfter(mfn) - 1];
    return r && mfn < r.mfn + r.count ? r : undefined;
  }

  /** The first frame after mfn that starts an owned run (MAX_SAFE_INTEGER when none): where ownership can next change. */
  nextOwnedStart(mfn: number): number {
    const r = this.runs[this.indexAfter(mfn)];
    return r ? r.mfn : Number.MAX_SAFE_INTEGER;
  }

  ownerOf(mfn: number): Owner | undefined {
    return this.lookup(mfn)?.owner;
  }

  /** Frames owned by owner. */
  countOwned(owner: Owner): number {
    let n = 0;
    for (const r of this.runs) if (r.owner === owner) n += r.count;
    return n;
  }

  private buildExtentOwners(): Int32Array {
    const last = this.runs[this.runs.length - 1];
    // Up to the last owned frame, and no further than u32 mfns reach (what a p2m entry holds): a frame past the map takes the lookup.
    const extents = Math.min(Math.ceil((last.mfn + last.count) / EXTENT_PAGES), MAX_MAP_EXTENTS);
    // Per extent: the one domid seen in it so far (-2 none yet, -1 Xen's or mixed), and how many of its frames are owned.
    const owner = new Int32Array(extents).fill(-2);
    const covered = new Int32Array(extents);
    for (const r of this.runs) {
      // Only a domid an Int32Array holds as itself can be matched against a caller's.
      const id = typeof r.owner === 'number' && r.owner >= 0 && r.owner <= 0x7fffffff && Number.isInteger(r.owner) ? r.owner : -1;
      const end = r.mfn + r.count;
      for (let x = Math.floor(r.mfn / EXTENT_PAGES); x * EXTENT_PAGES < end && x < extents; x++) {
        covered[x] += Math.min(end, (x + 1) * EXTENT_PAGES) - Math.max(r.mfn, x * EXTENT_PAGES);
        owner[x] = owner[x] === -2 || owner[x] === id ? id : -1;
      }
    }
    for (let x = 0; x < extents; x++) if (covered[x] !== EXTENT_PAGES) owner[x] = -1;
    return owner;
  }

  /** Index of the first run starting after mfn. */
  private indexAfter(mfn: number): number {
    let lo = 0;
    let hi = this.runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.runs[mid].mfn <= mfn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The domain whose grant-table frame a Xen-owned run with this use is, or
 * undefined: Xen owns the frames, the use names the domain that shares them
 * (src/xen/grant_table.ts allocates them as `grant domN`).
 */
export function grantDomainOfUse(use: string): number | undefined {
  const m = /^grant dom(\d+)$/.exec(use);
  return m ? Number(m[1]) : undefined;
}
