import { isPowerOfTwo } from '../util/size';
import { HPTE_BYTES, HPTES_PER_GROUP, HPTE_V_BOLTED, HPTE_V_LARGE, HPTE_V_SECONDARY, HPTE_V_VALID } from './constants';

/**
 * Storage: the table's words live in blocks of up to 64 MiB (4 Mi slots),
 * each a zero-filled typed array the OS commits only where it is written; a
 * block is written in 64 KiB regions (4096 slots, 512 PTEGs), each zeroed by
 * a write the first time it is used, and only used regions are scanned.
 */
export const REGION_SLOT_SHIFT = 12;
export const REGION_SLOTS = 1 << REGION_SLOT_SHIFT;
const BLOCK_SLOT_SHIFT = 22;
/** Kept for callers that page through the table: the region is the unit. */
export const CHUNK_SLOTS = REGION_SLOTS;

/** Words of one HPTE: v = vHi:vLo, r = rHi:rLo. */
export interface HpteWords { vHi: number; vLo: number; rHi: number; rLo: number }

export interface HptStats {
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
 * HPTE is 16 consecutive bytes as in the real table. The halves are held in
 * Int32Arrays: the same bits as unsigned halves, but every load is an int32,
 * so the JIT never meets a half above 2^31 it did not expect (the accessors
 * below hand them out unsigned).
 *
 * Nothing is committed before it is used: a 512 MiB table for a 32 GiB
 * domain bolted with 16 MiB pages costs a few MiB, one bolted with 4 KiB
 * pages all of it, and scans skip the regions never written.
 */
export class HashTable {
  readonly slots: number;
  readonly ptegs: number;
  /** PTEG index mask (ptegs - 1). */
  readonly mask: number;
  private readonly blockShift: number;
  private readonly blockMask: number;
  private readonly blocks: (Int32Array | undefined)[];
  /** Per 64 KiB region: 1 once it has been committed by a write. */
  private readonly used: Uint8Array;
  /** Valid slots, kept as they change: a save sizes its section without a pass over the table. */
  private validSlots = 0;

  constructor(readonly bytes: number) {
    if (!isPowerOfTwo(bytes) || bytes < 2 ** 18 || bytes > 2 ** 36) {
      throw new RangeError(`hash table size ${bytes} is not a power of two between 256 KiB and 64 GiB`);
    }
    this.slots = bytes / HPTE_BYTES;
    this.ptegs = this.slots / HPTES_PER_GROUP;
    this.mask = Math.trunc(this.ptegs) - 1;
    this.blockShift = Math.min(BLOCK_SLOT_SHIFT, Math.round(Math.log2(this.slots)));
    // Integer expressions, so the fields stay small integers (the insert path loads them every call).
    this.blockMask = (1 << this.blockShift) - 1;
    this.blocks = new Array(this.slots / 2 ** this.blockShift).fill(undefined);
    this.used = new Uint8Array(this.slots / REGION_SLOTS);
  }

  get log2Bytes(): number {
    return Math.round(Math.log2(this.bytes));
  }

  /** The words of `slot`'s block, its region zeroed and marked used (bounds are the caller's). */
  private wordsFor(slot: number): Int32Array {
    return this.used[slot >>> REGION_SLOT_SHIFT] !== 0 ? this.blocks[slot >>> this.blockShift]! : this.useRegion(slot);
  }

  private useRegion(slot: number): Int32Array {
    const bi = slot >>> this.blockShift;
    let b = this.blocks[bi];
    if (b === undefined) {
      b = new Int32Array(4 * (this.blockMask + 1)); // zero-filled, committed by the OS page by page
      this.blocks[bi] = b;
    }
    // One word written per 4 KiB page, at once: the insert path reads a slot
    // before writing it, and a read of an untouched page maps the zero page
    // only to fault again on the write. The OS hands the page over zeroed, so
    // one store commits it (filling it would write the 64 KiB a second time).
    const first = ((slot & this.blockMask) >>> REGION_SLOT_SHIFT) << REGION_SLOT_SHIFT;
    for (let i = first * 4, end = (first + REGION_SLOTS) * 4; i < end; i += 1024) b[i] = 0;
    this.used[slot >>> REGION_SLOT_SHIFT] = 1;
    return b;
  }

  /** One half, unsigned (0 in a region never used). */
  private word(slot: number, k: number): number {
    if (this.used[slot >>> REGION_SLOT_SHIFT] === 0) return 0;
    return this.blocks[slot >>> this.blockShift]![((slot & this.blockMask) << 2) + k] >>> 0;
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
    const b = this.wordsFor(slot);
    const i = (slot & this.blockMask) << 2;
    this.validSlots += (vLo & HPTE_V_VALID) - (b[i + 1] & HPTE_V_VALID);
    // r first, then v (with its valid bit): the order real code stores them in.
    b[i + 2] = rHi;
    b[i + 3] = rLo;
    b[i] = vHi;
    b[i + 1] = vLo;
  }

  /**
   * Put an HPTE in the first slot of the PTEG starting at `first` (a multiple
   * of 8) whose valid bit is clear; returns the slot, or -1 when all eight
   * are valid. The insert path: one lookup for the scan and the store.
   */
  insertInGroup(first: number, vHi: number, vLo: number, rHi: number, rLo: number): number {
    // Literal constants on this path: 12 = REGION_SLOT_SHIFT, 8 = HPTES_PER_GROUP, 1 = HPTE_V_VALID.
    const b = this.used[first >>> 12] !== 0 ? this.blocks[first >>> this.blockShift]! : this.useRegion(first);
    const base = (first & this.blockMask) << 2;
    for (let s = 0, i = base; s < 8; s++, i += 4) {
      if ((b[i + 1] & 1) === 0) {
        b[i + 2] = rHi;
        b[i + 3] = rLo;
        b[i] = vHi;
        b[i + 1] = vLo;
        this.validSlots += vLo & 1;
        return first + s;
      }
    }
    return -1;
  }

  /** Zero a slot (what H_REMOVE leaves behind). */
  clear(slot: number): void {
    this.checkSlot(slot);
    if (this.used[slot >>> REGION_SLOT_SHIFT] === 0) return;
    const i = (slot & this.blockMask) << 2;
    const b = this.blocks[slot >>> this.blockShift]!;
    this.validSlots -= b[i + 1] & HPTE_V_VALID;
    b.fill(0, i, i + 4);
  }

  /**
   * The first slot without the valid bit in the PTEG starting at `first`
   * (a multiple of 8), or -1 when all eight are valid.
   */
  freeSlotInGroup(first: number): number {
    for (let s = 0; s < HPTES_PER_GROUP; s++) if ((this.word(first + s, 1) & HPTE_V_VALID) === 0) return first + s;
    return -1;
  }

  /** Valid entries in the PTEG starting at slot `first`. */
  groupCount(first: number): number {
    let n = 0;
    for (let s = 0; s < HPTES_PER_GROUP; s++) n += this.word(first + s, 1) & HPTE_V_VALID;
    return n;
  }

  /** Call fn for every valid slot (halves unsigned), in slot order, skipping regions never used. */
  forEachValid(fn: (slot: number, vHi: number, vLo: number, rHi: number, rLo: number) => void): void {
    for (let r = 0; r < this.used.length; r++) {
      if (this.used[r] === 0) continue;
      const first = r << REGION_SLOT_SHIFT;
      const b = this.blocks[first >>> this.blockShift]!;
      const base = (first & this.blockMask) << 2;
      for (let s = 0; s < REGION_SLOTS; s++) {
        const i = base + (s << 2);
        if ((b[i + 1] & HPTE_V_VALID) !== 0) fn(first + s, b[i] >>> 0, b[i + 1] >>> 0, b[i + 2] >>> 0, b[i + 3] >>> 0);
      }
    }
  }

  /** Valid slots (kept as they change). */
  get valid(): number {
    return this.validSlots;
  }

  /** Valid slots, counted by a pass over the storage (tests check the kept count against it). */
  countValid(): number {
    let n = 0;
    for (let r = 0; r < this.used.length; r++) {
      if (this.used[r] === 0) continue;
      const b = this.blocks[(r << REGION_SLOT_SHIFT) >>> this.blockShift]!;
      const base = ((r << REGION_SLOT_SHIFT) & this.blockMask) << 2;
      for (let i = base + 1, end = base + REGION_SLOTS * 4; i < end; i += 4) n += b[i] & HPTE_V_VALID;
    }
    return n;
  }

  /** Regions of storage (REGION_SLOTS slots each): region r holds slots r * REGION_SLOTS on. */
  get regions(): number {
    return this.used.length;
  }

  /**
   * The raw words of region r, for one pass over the storage (the codec):
   * its block, with slot (r * REGION_SLOTS + s)'s four halves (int32) at
   * regionBase(r) + 4 * s; undefined for a region never used (all zero).
   */
  regionWords(r: number): Int32Array | undefined {
    return this.used[r] === 0 ? undefined : this.blocks[(r << REGION_SLOT_SHIFT) >>> this.blockShift];
  }

  regionBase(r: number): number {
    return ((r << REGION_SLOT_SHIFT) & this.blockMask) << 2;
  }

  /** Bytes of storage in use (regions written at least once). */
  get allocatedBytes(): number {
    let n = 0;
    for (let r = 0; r < this.used.length; r++) n += this.used[r];
    return n * REGION_SLOTS * HPTE_BYTES;
  }

  stats(): HptStats {
    const histogram = new Array<number>(HPTES_PER_GROUP + 1).fill(0);
    let valid = 0;
    let bolted = 0;
    let large = 0;
    let secondary = 0;
    const groupsPerRegion = REGION_SLOTS / HPTES_PER_GROUP;
    for (let r = 0; r < this.used.length; r++) {
      if (this.used[r] === 0) {
        histogram[0] += groupsPerRegion;
        continue;
      }
      const first = r << REGION_SLOT_SHIFT;
      const b = this.blocks[first >>> this.blockShift]!;
      const base = (first & this.blockMask) << 2;
      for (let g = 0; g < groupsPerRegion; g++) {
        let inGroup = 0;
        for (let s = 0; s < HPTES_PER_GROUP; s++) {
          const vLo = b[base + ((g * HPTES_PER_GROUP + s) << 2) + 1];
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
