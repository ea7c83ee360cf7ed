import { readBe32 } from '../util/bytes';
/**
 * The bytes of a contiguous block of guest memory (dom0's RMA). Kept in
 * 1 MiB chunks allocated on first write: a 64 MiB RMA whose table is 32 MiB
 * costs 32 MiB plus what was written elsewhere, and larger RMAs cost only
 * what is used. Unwritten memory reads as zeros.
 */
export const CHUNK_SHIFT = 20;
export const CHUNK_SIZE = 1 << CHUNK_SHIFT;

export class GuestMemory {
  readonly chunks: (Uint8Array | undefined)[];

  constructor(readonly size: number) {
    this.chunks = new Array(Math.ceil(size / CHUNK_SIZE)).fill(undefined);
  }

  /** The chunk holding byte `offset`, allocating it when asked. */
  chunk(index: number, allocate: boolean): Uint8Array | undefined {
    let c = this.chunks[index];
    if (!c && allocate) {
      c = new Uint8Array(CHUNK_SIZE);
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
      const c = this.chunks[Math.floor(at / CHUNK_SIZE)];
      out.push(c ? c.subarray(within, within + n) : new Uint8Array(n));
      done += n;
    }
    return out;
  }

  readU32(offset: number): number {
    const c = this.chunks[Math.floor(offset / CHUNK_SIZE)];
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

  /** Indices of the chunks that hold data. */
  usedChunks(): number[] {
    const out: number[] = [];
    this.chunks.forEach((c, i) => c && out.push(i));
    return out;
  }

  private check(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`guest memory access [${offset.toString(16)}, +${length.toString(16)}) outside ${this.size.toString(16)} bytes`);
    }
  }
}
