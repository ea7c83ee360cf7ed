import { INVALID_MFN } from '../machine/constants';
import { CHUNK_SIZE, GuestMemory } from '../machine/guest_memory';
import type { P2mTable } from '../p2m/table';
import { HOST_LE } from '../util/bytes';


/**
 * The guest's pfn -> mfn lookups over its own table (a P2mTable in its RMA):
 * the same big-endian u32 entries, read straight out of the RMA's bytes, and
 * read ahead a range at a time for the linear map, which looks them up in
 * order millions of times.
 */
export class GuestP2m {
  private readonly memory: GuestMemory;
  private readonly base: number;
  readonly entries: number;
  private view: DataView | undefined;
  private chunkStart = 0;
  private chunkEnd = 0;

  constructor(readonly table: P2mTable) {
    this.memory = table.memory;
    this.base = table.base;
    this.entries = table.entries;
  }

  // A window of entries read ahead (prefetch), so the insert loop's lookups
  // never leave it: [winStart, winEnd), host order (read it with >>> 0).
  win = new Int32Array(0);
  winStart = 0;
  winEnd = 0;

  /** The mfn for a pfn, INVALID_MFN outside the table. */
  get(pfn: number): number {
    if (pfn >= this.winStart && pfn < this.winEnd) return this.win[pfn - this.winStart] >>> 0;
    return this.read(pfn);
  }

  /**
   * Read [from, to) of the table ahead into the window (the linear map does a
   * 256 MiB segment at a time).
   */
  prefetch(from: number, to: number): void {
    from = Math.max(0, from);
    to = Math.max(from, Math.min(this.entries, to));
    if (this.win.length < to - from) this.win = new Int32Array(to - from);
    this.readInto(from, to, this.win, 0);
    this.winStart = from;
    this.winEnd = to;
  }

  /**
   * Entries [from, to) into out[at..], host order (read them with >>> 0),
   * what get() answers: the RMA's bytes copied as they are and turned from
   * big-endian in one pass, INVALID_MFN for pfns outside the table.
   */
  readInto(from: number, to: number, out: Int32Array, at: number): void {
    const lo = Math.min(Math.max(0, from), to);
    const hi = Math.max(lo, Math.min(this.entries, to));
    out.fill(-1, at, at + (lo - from)); // INVALID_MFN as int32
    out.fill(-1, at + (hi - from), at + (to - from));
    const n = hi - lo;
    const bytes = new Uint8Array(out.buffer, out.byteOffset + (at + (lo - from)) * 4, n * 4);
    let done = 0;
    while (done < n * 4) {
      const off = this.base + lo * 4 + done;
      const index = Math.floor(off / CHUNK_SIZE);
      const within = off - index * CHUNK_SIZE;
      const len = Math.min(n * 4 - done, CHUNK_SIZE - within);
      const c = this.memory.chunk(index, false);
      if (c) bytes.set(c.subarray(within, within + len), done);
      else bytes.fill(0, done, done + len);
      done += len;
    }
    if (HOST_LE && n > 0) Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).swap32();
  }

  /** One entry straight from the RMA's bytes. */
  read(pfn: number): number {
    if (!(pfn >= 0 && pfn < this.entries)) return INVALID_MFN;
    const off = this.base + pfn * 4;
    if (off < this.chunkStart || off >= this.chunkEnd) this.load(off);
    const v = this.view;
    // A chunk never written reads as zero, as the RMA would. Entries are 4-aligned, so never split.
    return v === undefined ? 0 : v.getUint32(off - this.chunkStart);
  }

  private load(off: number): void {
    const index = Math.floor(off / CHUNK_SIZE);
    const c = this.memory.chunk(index, false);
    this.view = c === undefined ? undefined : new DataView(c.buffer, c.byteOffset, c.byteLength);
    this.chunkStart = index * CHUNK_SIZE;
    this.chunkEnd = this.chunkStart + CHUNK_SIZE;
  }

  /**
   * The first pfn of [pfn, pfn + count) that breaks the machine run starting
   * at p2m[pfn] (mfn + i at pfn + i), or -1 when the whole range is one run.
   * Reads ahead a segment at a time.
   */
  firstBreak(pfn: number, count: number): number {
    if (pfn < this.winStart || pfn + count > this.winEnd) this.prefetch(pfn, Math.max(pfn + count, pfn + 65536));
    if (pfn + count > this.winEnd) count = Math.max(1, this.winEnd - pfn);
    const w = this.win;
    const at = pfn - this.winStart;
    const first = w[at] >>> 0;
    if (first === INVALID_MFN) return pfn;
    for (let i = 1; i < count; i++) if (w[at + i] >>> 0 !== first + i) return pfn + i;
    return -1;
  }
}
