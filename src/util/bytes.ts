/** Byte order: everything the guest reads is big-endian (PowerPC), whatever the host is. */

/** Is this host little-endian? (Typed arrays use the host's order; the p2m is big-endian.) */
export const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A u32 with its bytes reversed. */
export const bswap32 = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;

/** The big-endian u32 at `at`. */
export function readBe32(b: ArrayLike<number>, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** Write `v` as a big-endian u32 at `at`. */
export function writeBe32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}
