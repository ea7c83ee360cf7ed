import { readBe32 } from '../util/bytes';
/**
 * The bytes of a contiguous block of guest memory (dom0's RMA). Kept in
 * 1 MiB chunks allocated on first write: a 64 MiB RMA whose table is 32 MiB
 * costs 32 MiB plus what was written elsewhere, and larger RMAs cost only
 * what is used. Unwritten memory reads as zeros.
 */
export const CHUNK_SHIFT = 20;
export const CHUNK_SIZE = 1 << CHUNK_SHIFT;

/**
 * Where chunks saved earlier come from: the command layer reads one from
 * the state file (and checks it) the first time it is touched, so a command
 * that reads one entry of a 32 MiB table reads one chunk.
 */
export interface ChunkLoader {
  /** The chunks that hold data, loaded or not. */
  readonly saved: readonly number[];
  load(index: number): Uint8Array;
}

export class GuestMemory {
  /** Chunks in memory (written, or loaded); a saved chunk not yet loaded is undefined here. */
  readonly chunks: (Uint8Array | undefined)[];
  /** Saved chunks not loaded yet. */
  private readonly pending = new Set<number>();

  constructor(readonly size: number, private readonly loader?: ChunkLoader) {
    this.chunks = new Array(Math.ceil(size / CHUNK_SIZE)).fill(undefined);
    for (const i of loader?.saved ?? []) {
      if (!Number.isInteger(i) || i < 0 || i >= this.chunks.length) throw new RangeError(`saved chunk ${i} is outside ${size.toString(16)} bytes of guest memory`);
      this.pending.add(i);
    }
  }

  /** Is chunk `index` saved but not read yet (what the state can carry over unchanged)? */
  isPending(index: number): boolean {
    return this.pending.has(index);
  }

  /** The chunk holding byte `offset`, loading a saved one, allocating it when asked. */
  chunk(index: number, allocate: boolean): Uint8Array | undefined {
    let c = this.chunks[index];
    if (!c && this.pending.has(index)) {
      c = this.loader!.load(index);
      if (c.length !== CHUNK_SIZE || c.byteOffset % 4 !== 0) throw new RangeError(`chunk ${index} loaded as ${c.length} bytes, not ${CHUNK_SIZE} word aligned`);
      this.pending.delete(index);
      this.chunks[index] = c;
    }
    if (!c && allocate) {
      // Shared memory: another thread can read a chunk where it is (a save writes it without a copy).
      c = new Uint8Array(new SharedArrayBuffer(CHUNK_SIZE));
      this.chunks[index] = c;
    }
    return c;
  }

  write(offset: number, bytes: Uint8Array): void {
    this.check(offset, bytes.length);
    let done = 0;
    while (done < bytes.length) {
      const at = offset + done;
      const within = at % CHUNK_SIZE;
      const n = Math.min(bytes.length - done, CHUNK_SIZE - within);
      this.chunk(Math.floor(at / CHUNK_SIZE), true)!.set(bytes.subarray(done, done + n), within);
      done += n;
    }
  }

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let at = 0;
    for (const piece of this.slices(offset, length)) {
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  }

  /** [offset, offset + length) as views of the chunks (zeros where unwritten), without copying. */
  slices(offset: number, length: number): Uint8Array[] {
    this.check(offset, length);
    const out: Uint8Array[] = [];
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const within = at % CHUNK_SIZE;
      const n = Math.min(length - done, CHUNK_SIZE - within);
      const c = this.chunk(Math.floor(at / CHUNK_SIZE), false);
      out.push(c ? c.subarray(within, within + n) : new Uint8Array(n));
      done += n;
    }
    return out;
  }

  readU32(offset: number): number {
    const c = this.chunk(Math.floor(offset / CHUNK_SIZE), false);
    if (!c) return 0;
    const i = offset % CHUNK_SIZE;
    return readBe32(c, i);
  }

  writeU32(offset: number, v: number): void {
    const c = this.chunk(Math.floor(offset / CHUNK_SIZE), true)!;
    const i = offset % CHUNK_SIZE;
    c[i] = v >>> 24;
    c[i + 1] = (v >>> 16) & 0xff;
    c[i + 2] = (v >>> 8) & 0xff;
    c[i + 3] = v & 0xff;
  }

  /** Indices of the chunks that hold data (loaded or still saved), ascending. */
  usedChunks(): number[] {
    const out: number[] = [];
    this.chunks.forEach((c, i) => (c || this.pending.has(i)) && out.push(i));
    return out;
  }

  private check(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`guest memory access [${offset.toString(16)}, +${length.toString(16)}) outside ${this.size.toString(16)} bytes`);
    }
  }
}
