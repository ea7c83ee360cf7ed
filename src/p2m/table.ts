import { INVALID_MFN } from '../machine/constants';
import { CHUNK_SIZE, GuestMemory } from '../machine/guest_memory';
import { bswap32 as bswap, HOST_LE } from '../util/bytes';

/** True on little-endian hosts: then table words are byte-swapped on the way in and out. */

/** A run of consecutive pfns backed by consecutive mfns. */
export interface P2mRun { pfn: number; mfn: number; count: number }

/**
 * dom0's pfn -> mfn table, living in the RMA's bytes at guest-physical
 * `base`: big-endian u32 mfns, INVALID_MFN where no frame is mapped.
 * This is the same view for Xen (which fills it) and the guest (which reads
 * it in real mode): both go through the RMA bytes, never a side copy.
 */
export class P2mTable {
  static readonly ENTRY_SIZE = 4;

  constructor(readonly memory: GuestMemory, readonly base: number, readonly entries: number) {
    if (base % 4 !== 0) throw new RangeError('p2m table must be 4-byte aligned');
    if (base + entries * 4 > memory.size) throw new RangeError('p2m table runs past the end of guest memory');
  }

  get bytes(): number {
    return this.entries * P2mTable.ENTRY_SIZE;
  }

  get(pfn: number): number {
    if (pfn < 0 || pfn >= this.entries) return INVALID_MFN;
    return this.memory.readU32(this.base + pfn * 4);
  }

  set(pfn: number, mfn: number): void {
    this.checkRange(pfn, 1);
    this.memory.writeU32(this.base + pfn * 4, mfn);
  }

  /** p2m[pfn + i] = mfn + i for i < count: one extent, or the RMA. */
  fillRun(pfn: number, mfn: number, count: number): void {
    this.checkRange(pfn, count);
    this.forEachSpan(pfn, count, (words, start, n, done) => {
      let m = mfn + done;
      let i = start;
      const end = start + n;
      if (HOST_LE) {
        // Within a run of 256 frames only the low byte changes, and it is the
        // stored word's top byte: one swap per 256 entries, then adds.
        while (i < end) {
          const lowStart = m & 0xff;
          const k = Math.min(end - i, 256 - lowStart);
          const base = bswap(m - lowStart);
          for (let j = 0; j < k; j++) words[i + j] = base | ((lowStart + j) << 24);
          i += k;
          m += k;
        }
      } else {
        for (; i < end; i++) words[i] = m++;
      }
    });
  }

  /** Set [pfn, pfn + count) to INVALID_MFN. */
  invalidate(pfn: number, count: number): void {
    this.checkRange(pfn, count);
    this.forEachSpan(pfn, count, (words, start, n) => words.fill(INVALID_MFN, start, start + n));
  }

  /** Coalesced runs over [from, to): consecutive valid mfns, and runs of INVALID_MFN (mfn = INVALID_MFN). */
  runs(from = 0, to = this.entries): P2mRun[] {
    const out: P2mRun[] = [];
    const cur = { pfn: -1, mfn: 0, next: 0 }; // next: the mfn that would extend the current run
    this.spans(from, to, (words, start, n, pfn) => {
      // Locals, not the closure's object, in the hot loop.
      let pfn0 = cur.pfn;
      let mfn0 = cur.mfn;
      let next = cur.next;
      for (let i = 0; i < n; i++) {
        const w = words[start + i];
        const mfn = HOST_LE ? bswap(w) : w;
        if (mfn === next && pfn0 >= 0 && (mfn !== INVALID_MFN || mfn0 === INVALID_MFN)) {
          if (mfn !== INVALID_MFN) next++;
          continue;
        }
        if (pfn0 >= 0) out.push({ pfn: pfn0, mfn: mfn0, count: pfn + i - pfn0 });
        pfn0 = pfn + i;
        mfn0 = mfn;
        next = mfn === INVALID_MFN ? INVALID_MFN : mfn + 1;
      }
      cur.pfn = pfn0;
      cur.mfn = mfn0;
      cur.next = next;
    });
    if (cur.pfn >= 0) out.push({ pfn: cur.pfn, mfn: cur.mfn, count: Math.min(to, this.entries) - cur.pfn });
    return out;
  }

  /** Entries in [from, to) that hold a frame. */
  countValid(from = 0, to = this.entries): number {
    let n = 0;
    this.spans(from, to, (words, start, count) => {
      for (let i = start, end = start + count; i < end; i++) if (words[i] !== INVALID_MFN) n++;
    });
    return n;
  }

  /** The word views covering [from, to), clamped to the table, without allocating chunks. */
  private spans(from: number, to: number, fn: (words: Uint32Array, start: number, n: number, pfn: number) => void): void {
    from = Math.max(0, from);
    to = Math.min(this.entries, to);
    if (to <= from) return;
    this.forEachSpan(from, to - from, (words, start, n, done) => fn(words, start, n, from + done), false);
  }

  /** The table's raw bytes, exactly as the guest reads them. */
  raw(): Uint8Array {
    return this.memory.read(this.base, this.bytes);
  }

  /**
   * Walk [pfn, pfn + count) as word views over the RMA's chunks, so the hot
   * loops touch typed arrays directly instead of going through byte accessors.
   */
  private forEachSpan(pfn: number, count: number, fn: (words: Uint32Array, start: number, n: number, done: number) => void, allocate = true): void {
    let done = 0;
    while (done < count) {
      const byteOff = this.base + (pfn + done) * 4;
      const chunkIndex = Math.floor(byteOff / CHUNK_SIZE);
      const within = byteOff % CHUNK_SIZE;
      const n = Math.min(count - done, (CHUNK_SIZE - within) / 4);
      const chunk = this.memory.chunk(chunkIndex, allocate);
      const words = chunk ? new Uint32Array(chunk.buffer, chunk.byteOffset, CHUNK_SIZE / 4) : ZERO_WORDS;
      fn(words, within / 4, n, done);
      done += n;
    }
  }

  private checkRange(pfn: number, count: number): void {
    if (pfn < 0 || count < 0 || pfn + count > this.entries) {
      throw new RangeError(`pfns [${pfn.toString(16)}, +${count.toString(16)}) are outside the p2m table (${this.entries.toString(16)} entries)`);
    }
  }
}

const ZERO_WORDS = new Uint32Array(CHUNK_SIZE / 4);
