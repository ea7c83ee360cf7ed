import { UsageError } from '../util/errors';
import { formatSize, MiB, GiB } from '../util/size';

/**
 * PPC970 real mode area sizes and their HID4 RMLS encodings
 * (Xen/PowerPC powerpc64/ppc970.c). Nothing else is a valid RMA.
 */
export const RMA_SIZES: readonly { bytes: number; rmls: number }[] = [
  { bytes: 64 * MiB, rmls: 3 },
  { bytes: 128 * MiB, rmls: 7 },
  { bytes: 256 * MiB, rmls: 4 },
  { bytes: 1 * GiB, rmls: 2 },
  { bytes: 16 * GiB, rmls: 1 },
  { bytes: 256 * GiB, rmls: 0 },
];

export const DEFAULT_RMA_SIZE = 64 * MiB;

export function rmlsOf(bytes: number): number {
  const e = RMA_SIZES.find((s) => s.bytes === bytes);
  if (!e) {
    throw new UsageError(`RMA size ${formatSize(bytes)} is not one the PPC970 supports`, `use one of ${RMA_SIZES.map((s) => formatSize(s.bytes).replace(' ', '')).join(', ')}`);
  }
  return e.rmls;
}

/** HID4's RMOR field holds the RMA base >> 26. */
export function rmorOf(rmaBase: number): number {
  return Math.floor(rmaBase / 2 ** 26);
}

/** MSR[SF]: 64-bit mode, as vcpu0 starts. */
export const MSR_SF = 1n << 63n;
