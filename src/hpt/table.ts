import { isPowerOfTwo } from '../util/size';
import { HPTE_BYTES, HPTES_PER_GROUP, HPTE_V_BOLTED, HPTE_V_LARGE, HPTE_V_SECONDARY, HPTE_V_VALID } from './constants';

/** Slots per storage chunk: 512 PTEGs, 64 KiB of words. */
export const CHUNK_SLOT_SHIFT = 12;
export const CHUNK_SLOTS = 1 << CHUNK_SLOT_SHIFT;
const CHUNK_WORDS = CHUNK_SLOTS * 4;
const SLOT_IN_CHUNK = CHUNK_SLOTS - 1;

/** Words of one HPTE: v = vHi:vLo, r = rHi:rLo. */
export interface HpteWords { vHi: number; vLo: number; rHi: number; rLo: number }

export interface HtabStats {
  bytes: number;
  ptegs: number;
  slots: number;
  valid: number;
  bolted: number;
  large: number;
  secondary: number;
  /** histogram[n] = PTEGs holding n valid entries (n = 0..8). */
  histogram: number[];
  /** Bytes of storage actually allocated for the table. */
  allocatedBytes: number;
}

/**
 * A domain's hashed page table: PTEGs of 8 HPTEs, each HPTE two 64-bit words
 * kept as four 32-bit halves (v hi, v lo, r hi, r lo), interleaved so that an
 * HPTE is 16 consecutive bytes as in the real table.
 *
 * Storage is allocated lazily in chunks of 512 PTEGs: slots never written
 * cost nothing and read as zero (invalid), so a 512 MiB table for a 32 GiB
 * domain bolted with 16 MiB pages costs a few MiB, and scans skip the
 * untouched chunks.
 */
export class HashTable {
  readonly slots: number;
  readonly ptegs: number;
  /** PTEG index mask (ptegs - 1). */
  readonly mask: number;
  readonly chunks: (Uint32Array | undefined)[];

  constructor(readonly bytes: number) {
    if (!isPowerOfTwo(bytes) || bytes < 2 ** 18 || bytes > 2 ** 36) {
      throw new RangeError(`hash table size ${bytes} is not a power of two between 256 KiB and 64 GiB`);
    }
    this.slots = bytes / HPTE_BYTES;
    this.ptegs = this.slots / HPTES_PER_GROUP;
    this.mask = this.ptegs - 1;
    this.chunks = new Array(Math.ceil(this.slots / CHUNK_SLOTS)).fill(undefined);
  }

  get log2Bytes(): number {
    return Math.round(Math.log2(this.bytes));
  }

  /** The chunk of words holding `slot`, allocated on demand (bounds are the caller's). */
  chunkFor(slot: number): Uint32Array {
    const ci = slot >>> CHUNK_SLOT_SHIFT;
    let c = this.chunks[ci];
    if (c === undefined) {
      c = new Uint32Array(CHUNK_WORDS);
      this.chunks[ci] = c;
    }
    return c;
  }

  private word(slot: number, k: number): number {
    const c = this.chunks[slot >>> CHUNK_SLOT_SHIFT];
    return c === undefined ? 0 : c[((slot & SLOT_IN_CHUNK) << 2) + k];
  }

  vHi(slot: number): number { return this.word(slot, 0); }
  vLo(slot: number): number { return this.word(slot, 1); }
  rHi(slot: number): number { return this.word(slot, 2); }
  rLo(slot: number): number { return this.word(slot, 3); }

  isValid(slot: number): boolean {
    return (this.word(slot, 1) & HPTE_V_VALID) !== 0;
  }

  read(slot: number): HpteWords {
    return { vHi: this.vHi(slot), vLo: this.vLo(slot), rHi: this.rHi(slot), rLo: this.rLo(slot) };
  }

  /** The v word as a 64-bit value (display and tests). */
  v(slot: number): bigint {
    return (BigInt(this.vHi(slot)) << 32n) | BigInt(this.vLo(slot));
  }

  r(slot: number): bigint {
    return (BigInt(this.rHi(slot)) << 32n) | BigInt(this.rLo(slot));
  }

  write(slot: number, vHi: number, vLo: number, rHi: number, rLo: number): void {
    this.checkSlot(slot);
    const c = this.chunkFor(slot);
    const i = (slot & SLOT_IN_CHUNK) << 2;
    // r first, then v (with its valid bit): the order real code stores them in.
    c[i + 2] = rHi;
    c[i + 3] = rLo;
    c[i] = vHi;
    c[i + 1] = vLo;
  }

  /** Zero a slot (what H_REMOVE leaves behind). */
  clear(slot: number): void {
    this.checkSlot(slot);
    const c = this.chunks[slot >>> CHUNK_SLOT_SHIFT];
    if (c === undefined) return;
    c.fill(0, (slot & SLOT_IN_CHUNK) << 2, ((slot & SLOT_IN_CHUNK) << 2) + 4);
  }

  /**
   * The first slot without the valid bit in the PTEG starting at `first`
   * (a multiple of 8), or -1 when all eight are valid.
   */
  freeSlotInGroup(first: number): number {
    const c = this.chunks[first >>> CHUNK_SLOT_SHIFT];
    if (c === undefined) return first;
    let i = ((first & SLOT_IN_CHUNK) << 2) + 1;
    for (let s = 0; s < HPTES_PER_GROUP; s++, i += 4) {
      if ((c[i] & HPTE_V_VALID) === 0) return first + s;
    }
    return -1;
  }

  /** Valid entries in the PTEG starting at slot `first`. */
  groupCount(first: number): number {
    const c = this.chunks[first >>> CHUNK_SLOT_SHIFT];
    if (c === undefined) return 0;
    let n = 0;
    for (let s = 0, i = ((first & SLOT_IN_CHUNK) << 2) + 1; s < HPTES_PER_GROUP; s++, i += 4) n += c[i] & HPTE_V_VALID;
    return n;
  }

  /** Call fn for every valid slot, in slot order, skipping chunks never written. */
  forEachValid(fn: (slot: number, vHi: number, vLo: number, rHi: number, rLo: number) => void): void {
    for (let ci = 0; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci];
      if (c === undefined) continue;
      const base = ci << CHUNK_SLOT_SHIFT;
      const n = Math.min(CHUNK_SLOTS, this.slots - base);
      for (let s = 0; s < n; s++) {
        const i = s << 2;
        if ((c[i + 1] & HPTE_V_VALID) !== 0) fn(base + s, c[i], c[i + 1], c[i + 2], c[i + 3]);
      }
    }
  }

  countValid(): number {
    let n = 0;
    this.forEachValid(() => n++);
    return n;
  }

  get allocatedBytes(): number {
    let n = 0;
    for (const c of this.chunks) if (c) n += c.byteLength;
    return n;
  }

  stats(): HtabStats {
    const histogram = new Array<number>(HPTES_PER_GROUP + 1).fill(0);
    let valid = 0;
    let bolted = 0;
    let large = 0;
    let secondary = 0;
    const groupsPerChunk = CHUNK_SLOTS / HPTES_PER_GROUP;
    for (let ci = 0; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci];
      const groups = Math.min(groupsPerChunk, (this.slots - (ci << CHUNK_SLOT_SHIFT)) / HPTES_PER_GROUP);
      if (c === undefined) {
        histogram[0] += groups;
        continue;
      }
      for (let g = 0; g < groups; g++) {
        let inGroup = 0;
        for (let s = 0; s < HPTES_PER_GROUP; s++) {
          const vLo = c[((g * HPTES_PER_GROUP + s) << 2) + 1];
          if ((vLo & HPTE_V_VALID) === 0) continue;
          inGroup++;
          if (vLo & HPTE_V_BOLTED) bolted++;
          if (vLo & HPTE_V_LARGE) large++;
          if (vLo & HPTE_V_SECONDARY) secondary++;
        }
        valid += inGroup;
        histogram[inGroup]++;
      }
    }
    return { bytes: this.bytes, ptegs: this.ptegs, slots: this.slots, valid, bolted, large, secondary, histogram, allocatedBytes: this.allocatedBytes };
  }

  private checkSlot(slot: number): void {
    if (!(slot >= 0 && slot < this.slots) || !Number.isInteger(slot)) throw new RangeError(`slot ${slot} is outside the hash table (${this.slots} slots)`);
  }
}
