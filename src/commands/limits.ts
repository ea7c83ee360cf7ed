import { EXTENT_SIZE, PAGE_SIZE } from '../machine/constants';
import { DEFAULT_RMA_SIZE, rmlsOf, RMA_SIZES } from '../machine/cpu';
import { brokenFigure, limitFigures, LimitFigures, minimumRma } from '../p2m/limits';
import { DEFAULT_OF_AT, layoutRma, p2mStartFor, RmaLayoutInput } from '../rma/layout';
import { UsageError } from '../util/errors';
import { alignUp, parsePositiveSize, parseSize } from '../util/size';
import { formatLimits, limitsJson, LimitsView } from '../format/limits';
import { json } from '../format/table';
import { paint, type Io } from './io';

export interface LimitsFlags { rma?: string; p2mAt?: string; entrySize?: string; mem?: string; ofAt?: string; json?: boolean }

/** Default machine's OF area sizes (js21); the figures only move by a few KiB with others. */
const FIRMWARE_IMAGE = 64 * 1024;
const DEVTREE_SLOT = 64 * 1024;

export function runLimits(io: Io, f: LimitsFlags): number {
  const rmaSize = f.rma !== undefined ? parsePositiveSize(f.rma, '--rma') : DEFAULT_RMA_SIZE;
  rmlsOf(rmaSize);
  const entrySize = f.entrySize === undefined ? 4 : Number(f.entrySize);
  if (entrySize !== 4 && entrySize !== 8) throw new UsageError(`--entry-size ${f.entrySize} is not 4 or 8`, 'p2m entries are 4-byte (u32) or 8-byte (u64) mfns');
  const ofAt = f.ofAt !== undefined ? parseSize(f.ofAt, '--of-at') : DEFAULT_OF_AT;
  const p2mAt = f.p2mAt !== undefined ? parseSize(f.p2mAt, '--p2m-at') : undefined;
  if (p2mAt !== undefined && p2mAt % PAGE_SIZE !== 0) throw new UsageError(`--p2m-at ${f.p2mAt} is not page aligned`);
  // Domains grow in whole extents, as construct rounds them.
  const mem = f.mem !== undefined ? alignUp(parsePositiveSize(f.mem, '--mem'), EXTENT_SIZE) : undefined;

  const input = (size: number): RmaLayoutInput => ({ rmaSize: size, ofAt, firmwareImage: FIRMWARE_IMAGE, devtreeSlot: DEVTREE_SLOT, kernelSize: 0, initrdSize: 0, placement: p2mAt !== undefined ? { kind: 'at', address: p2mAt } : { kind: 'after-of' }, entries: 0 });
  /** Table start for an RMA size, or undefined where that layout has no room. */
  const startFor = (size: number): number | undefined => {
    const inp = input(size);
    const start = p2mStartFor(inp, 0);
    return start < size - PAGE_SIZE ? start : undefined;
  };
  const start = startFor(rmaSize);
  if (start === undefined) throw new UsageError(`--p2m-at ${f.p2mAt} is not inside the ${rmaSize / 2 ** 20} MiB RMA below shared_info`);
  const one = limitFigures(rmaSize, start, entrySize);
  const table = RMA_SIZES.map(({ bytes }) => {
    const s = startFor(bytes);
    return s === undefined ? undefined : limitFigures(bytes, s, entrySize);
  }).filter((x): x is LimitFigures => !!x);

  // Where the OF area sits on the table's path, construct would need it moved.
  let ofConflict: string | undefined;
  try {
    layoutRma({ ...input(rmaSize), entries: 1 });
  } catch (e) {
    ofConflict = (e as Error).message;
  }
  const view: LimitsView = { figures: one, table, mem, ofAt, ofConflict };
  if (mem !== undefined) {
    view.broken = brokenFigure(one, mem);
    view.minimumRma = minimumRma(mem, startFor, entrySize);
  }
  io.out(f.json ? json(limitsJson(view)) : formatLimits(paint(io), view));
  return view.broken ? 1 : 0;
}
