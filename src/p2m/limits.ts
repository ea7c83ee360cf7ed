import { EXTENT_SIZE, PAGE_SIZE } from '../machine/constants';
import { RMA_SIZES } from '../machine/cpu';
import { alignDown } from '../util/size';

/**
 * The limit that putting the p2m table in the RMA implies (SPEC "The limit
 * math"): a table from p2mStart up to shared_info holds
 * floor((sharedInfoStart - p2mStart) / entrySize) entries, each mapping a
 * 4 KiB page; a domain grows in 16 MiB extents, so its maximum size is that
 * floored to whole extents.
 */
export interface LimitFigures {
  rmaSize: number;
  p2mStart: number;
  entrySize: number;
  /** Bytes a table may use if it took everything from p2mStart to the RMA's end. */
  wholeRestEntries: number;
  wholeRestBytes: number;
  /** Entries up to shared_info (the last page is kept). */
  capacityEntries: number;
  capacityBytes: number;
  /** capacityBytes floored to whole 16 MiB extents: the largest domain. */
  maxDomainBytes: number;
}

export function limitFigures(rmaSize: number, p2mStart: number, entrySize = 4, end = rmaSize - PAGE_SIZE): LimitFigures {
  const wholeRestEntries = Math.max(0, Math.floor((rmaSize - p2mStart) / entrySize));
  const capacityEntries = Math.max(0, Math.floor((end - p2mStart) / entrySize));
  const capacityBytes = capacityEntries * PAGE_SIZE;
  return {
    rmaSize,
    p2mStart,
    entrySize,
    wholeRestEntries,
    wholeRestBytes: wholeRestEntries * PAGE_SIZE,
    capacityEntries,
    capacityBytes,
    maxDomainBytes: alignDown(capacityBytes, EXTENT_SIZE),
  };
}

/** Which figure a domain of `memBytes` breaks, if any. */
export function brokenFigure(f: LimitFigures, memBytes: number): string | undefined {
  const pages = Math.ceil(memBytes / PAGE_SIZE);
  if (pages > f.capacityEntries) return 'capacity';
  if (memBytes > f.maxDomainBytes) return 'max-domain';
  return undefined;
}

/** The smallest valid RMA size whose layout (by `startFor`) fits a table of memBytes/4 KiB entries. */
export function minimumRma(memBytes: number, startFor: (rmaSize: number) => number | undefined, entrySize = 4): number | undefined {
  const pages = Math.ceil(memBytes / PAGE_SIZE);
  for (const { bytes } of RMA_SIZES) {
    const start = startFor(bytes);
    if (start === undefined) continue;
    if (limitFigures(bytes, start, entrySize).capacityEntries >= pages) return bytes;
  }
  return undefined;
}
