/** Smallest hash table Xen hands a domain: 256 KiB (2048 PTEGs). */
export const MIN_HTAB_BYTES = 256 * 1024;

/** 1/64 of the domain's memory, rounded up to a power of two, at least 256 KiB. */
export function htabBytesFor(memBytes: number): number {
  let bytes = MIN_HTAB_BYTES;
  while (bytes < memBytes / 64) bytes *= 2;
  return bytes;
}
