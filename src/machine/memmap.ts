import { IO_HOLE_END, IO_HOLE_END_MFN, IO_HOLE_START, IO_HOLE_START_MFN, PAGE_SIZE } from './constants';

/** A run of machine frames [mfn, mfn + count). */
export interface FrameRange { mfn: number; count: number }

/**
 * The machine's RAM around the IO hole: R bytes of RAM sit at
 * [0, min(R, 2 GiB)) and, when R > 2 GiB, at [4 GiB, 4 GiB + R - 2 GiB).
 */
export function ramRanges(ramBytes: number): FrameRange[] {
  const low = Math.min(ramBytes, IO_HOLE_START);
  const ranges: FrameRange[] = [{ mfn: 0, count: low / PAGE_SIZE }];
  if (ramBytes > IO_HOLE_START) {
    ranges.push({ mfn: IO_HOLE_END_MFN, count: (ramBytes - IO_HOLE_START) / PAGE_SIZE });
  }
  return ranges;
}

export function isIoHoleMfn(mfn: number): boolean {
  return mfn >= IO_HOLE_START_MFN && mfn < IO_HOLE_END_MFN;
}

/** The first machine address past RAM (what a `beyond RAM` check compares with). */
export function ramEnd(ram: FrameRange[]): number {
  const last = ram[ram.length - 1];
  return (last.mfn + last.count) * PAGE_SIZE;
}

export { IO_HOLE_END, IO_HOLE_START };
