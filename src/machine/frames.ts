import { EXTENT_PAGES } from './constants';

/**
 * Who owns each machine frame, kept as sorted, non-overlapping runs rather
 * than one entry per frame: a 64 GiB machine has 16 Mi frames but only a few
 * thousand allocations. Frames in no run are free heap frames, or not RAM.
 */
export type Owner = number | 'xen';

export interface OwnedRun { mfn: number; count: number; owner: Owner; use: string }

export class FrameTable {
  private runs: OwnedRun[] = [];

  static fromRuns(runs: OwnedRun[]): FrameTable {
    const t = new FrameTable();
    for (const r of runs) t.assign(r.mfn, r.count, r.owner, r.use);
    return t;
  }

  all(): readonly OwnedRun[] {
    return this.runs;
  }

  /** Record that [mfn, mfn+count) now belongs to owner, for use. It must be unowned. */
  assign(mfn: number, count: number, owner: Owner, use: string): void {
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
 * For one owner, the frame-table run covering each 16 MiB block of machine
 * memory (and its index there): a booting kernel asks "does the caller own
 * this frame?" a million times, and this answers without the binary search.
 * Each use re-checks that the run object is still in the table at that
 * index: a run stays there until released (release replaces it, merging only
 * grows it), so its bounds and owner hold while it is there.
 */
export class OwnerBlockCache {
  owner: Owner | undefined;
  blockRun: (OwnedRun | undefined)[] = [];
  blockIndex = new Int32Array(0);

  constructor(private readonly frames: FrameTable) {}

  /** Is [mfn, end) inside one run of owner's frames, as the block map has it (and the table still does)? */
  owns(owner: Owner, mfn: number, end: number): boolean {
    if (owner !== this.owner) return false;
    const b = Math.floor(mfn / EXTENT_PAGES);
    const run = this.blockRun[b];
    return run !== undefined && this.frames.all()[this.blockIndex[b]] === run && mfn >= run.mfn && end <= run.mfn + run.count;
  }

  /**
   * Rebuild before use? For another owner, or when the block's entry is
   * missing or no longer in the table. A block whose entry is another live
   * run of the owner's (two runs sharing a block) is left alone: the smaller
   * run's frames just take the lookup.
   */
  stale(owner: Owner, mfn: number): boolean {
    if (owner !== this.owner) return true;
    const b = Math.floor(mfn / EXTENT_PAGES);
    const run = this.blockRun[b];
    return run === undefined || this.frames.all()[this.blockIndex[b]] !== run;
  }

  /** Map every 16 MiB block that owner's runs touch to its run. */
  rebuild(owner: Owner): void {
    const runs = this.frames.all();
    let top = 0;
    for (const r of runs) top = Math.max(top, r.mfn + r.count);
    const blocks = Math.ceil(top / EXTENT_PAGES) + 1;
    this.blockRun = new Array<OwnedRun | undefined>(blocks).fill(undefined);
    this.blockIndex = new Int32Array(blocks);
    runs.forEach((r, index) => {
      if (r.owner !== owner) return;
      for (let b = Math.floor(r.mfn / EXTENT_PAGES); b * EXTENT_PAGES < r.mfn + r.count; b++) {
        // A block shared by two runs keeps the larger one; the other goes the slow way.
        const prev = this.blockRun[b];
        if (prev === undefined || prev.count < r.count) {
          this.blockRun[b] = r;
          this.blockIndex[b] = index;
        }
      }
    });
    this.owner = owner;
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
