import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import { machineRamFromTree } from '../devtree/ofd_fixup';
import { EXTENT_SIZE, PAGE_SIZE } from '../machine/constants';
import { DEFAULT_RMA_SIZE, rmlsOf, RMA_SIZES } from '../machine/cpu';
import { Machine } from '../machine/machine';
import { brokenConstraints, dom0Limits, Dom0Limits, Dom0LimitsInput, dom0MapHole, largestDom0ForHptBlock, limitFigures, machineFacts, MAX_BLOCK_BYTES, minimumRma } from '../p2m/limits';
import { DEFAULT_OF_AT, layoutRma, p2mStartFor, RmaLayoutInput } from '../rma/layout';
import { FitError, UsageError } from '../util/errors';
import { quote } from '../util/quote';
import { alignUp, exactSize, formatSize, parsePositiveSize, parseMemorySize, parseSize } from '../util/size';
import { formatLimits, limitsJson, LimitsView } from '../format/limits';
import { json } from '../format/table';
import { columns, paint, type Io } from './io';
import { limitsSvg } from '../format/svg/limits';
import { writeOutput, wrote } from './outfile';
import { selectMachine, type SelectedMachine } from './machine_select';

export interface LimitsFlags { rma?: string; p2mAt?: string; entrySize?: string; mem?: string; ofAt?: string; machine?: string; ram?: string; firmwareDtb?: string; json?: boolean; svg?: string }

const SIZES = RMA_SIZES.map((s) => s.bytes);
/** A size as the options take it: 128M, 1G. */
const flagSize = (b: number): string => formatSize(b).replace(/ ([KMGT])iB$/, '$1');

export function runLimits(io: Io, f: LimitsFlags): number {
  const { view, refusal } = limitsView(io, f);
  if (f.svg) writeOutput(io, f.svg, limitsSvg(view));
  io.out(f.json ? json(limitsJson(view)) : formatLimits(paint(io), view, columns(io)) + wrote(f.svg));
  if (refusal) throw refusal;
  return 0;
}

/** The limits for the flags' layout and machine, and the refusal --mem earns (thrown by the caller after the report). */
export function limitsView(io: Io, f: LimitsFlags, machine?: Pick<SelectedMachine, 'profile' | 'firmwareTree'>): { view: LimitsView; refusal?: FitError } {
  const rmaSize = f.rma !== undefined ? parsePositiveSize(f.rma, '--rma') : DEFAULT_RMA_SIZE;
  rmlsOf(rmaSize);
  const entrySize = f.entrySize === undefined ? 4 : f.entrySize === '4' ? 4 : f.entrySize === '8' ? 8 : undefined;
  if (entrySize === undefined) throw new UsageError(`--entry-size ${quote(f.entrySize)} is not 4 or 8`, 'p2m entries are 4-byte (u32) or 8-byte (u64) mfns');
  const ofAt = f.ofAt !== undefined ? parseSize(f.ofAt, '--of-at') : DEFAULT_OF_AT;
  const p2mAt = f.p2mAt !== undefined ? parseSize(f.p2mAt, '--p2m-at') : undefined;
  if (p2mAt !== undefined && p2mAt % PAGE_SIZE !== 0) throw new UsageError(`--p2m-at ${quote(f.p2mAt)} is not page aligned`);
  // Domains grow in whole extents, as construct rounds them.
  const mem = f.mem !== undefined ? alignUp(parseMemorySize(f.mem, '--mem'), EXTENT_SIZE) : undefined;
  const ram = f.ram !== undefined ? parseMemorySize(f.ram, '--ram') : undefined;

  // A built state's machine (report), else the one the flags name.
  const sel = machine ?? selectMachine(io.cwd, f.machine, ram, f.firmwareDtb);
  const facts = machineFacts(Machine.boot(sel.profile));
  const hole = dom0MapHole(machineRamFromTree(sel.firmwareTree));
  const { firmwareImage, devtreeSlot } = sel.profile;

  const layoutInput = (size: number): RmaLayoutInput => ({ rmaSize: size, ofAt, firmwareImage, devtreeSlot, kernelSize: 0, initrdSize: 0, placement: p2mAt !== undefined ? { kind: 'at', address: p2mAt } : { kind: 'after-of' }, entries: 0 });
  /** Table start for an RMA size, or undefined where that layout has no room. */
  const startFor = (size: number): number | undefined => {
    const start = p2mStartFor(layoutInput(size), 0);
    return start < size - PAGE_SIZE ? start : undefined;
  };
  const inputFor = (entries: number, withMachine = true) => (size: number): Dom0LimitsInput | undefined => {
    const s = startFor(size);
    return s === undefined ? undefined : { rmaSize: size, p2mStart: s, entrySize: entries, hole, machine: withMachine ? facts : undefined };
  };
  const one = inputFor(entrySize)(rmaSize);
  if (one === undefined) throw new UsageError(`--p2m-at ${quote(f.p2mAt)} is not inside the ${formatSize(rmaSize)} RMA below shared_info`);
  const limits = dom0Limits(one);
  const table = SIZES.map((s) => inputFor(entrySize)(s)).filter((x): x is Dom0LimitsInput => !!x).map(dom0Limits);

  // Where the OF area sits on the table's path, construct would need it moved.
  let ofConflict: string | undefined;
  try {
    layoutRma({ ...layoutInput(rmaSize), entries: 1 });
  } catch (e) {
    ofConflict = (e as Error).message;
  }
  const view: LimitsView = { machine: sel.profile.name, ramBytes: sel.profile.ram, figures: limitFigures(rmaSize, one.p2mStart, entrySize), limits, table, mem, ofAt, ofConflict };
  let refusal: FitError | undefined;
  if (mem !== undefined) {
    // construct makes dom0 at least its RMA.
    const size = Math.max(mem, rmaSize);
    const broken = brokenConstraints(limits, size);
    view.broken = broken[0];
    view.minimumRma = minimumRma(mem, SIZES, inputFor(entrySize));
    if (broken.length) refusal = new FitError(`dom0 of ${formatSize(size)} does not fit: it breaks ${broken[0].name}${broken[0].name === 'rma-allocatable' ? '' : `, at most ${exactSize(broken[0].limitBytes!)}`} (${broken[0].detail})${broken.length > 1 ? `; also ${broken.slice(1).map((c) => `${c.name} (${exactSize(c.limitBytes!)})`).join(', ')}` : ''}`, remedyHint(mem, limits, view.minimumRma, entrySize, inputFor));
  }
  return { view, refusal };
}

/**
 * What would let a dom0 of `size` be built: the minimum RMA when one helps;
 * else 8-byte entries with an RMA; else more RAM when the rules that do not
 * depend on the machine allow it with some RMA; else what stops every layout.
 */
function remedyHint(size: number, l: Dom0Limits, minRma: number | undefined, entrySize: number, inputFor: (entries: number, withMachine?: boolean) => (s: number) => Dom0LimitsInput | undefined): string {
  if (minRma !== undefined) return `minimum RMA for ${formatSize(size)}: ${formatSize(minRma)}; use --rma ${flagSize(minRma)}`;
  if (entrySize === 4) {
    const wide = minimumRma(size, SIZES, inputFor(8));
    if (wide !== undefined) return `no RMA size helps with u32 entries; 8-byte entries with a ${formatSize(wide)} RMA would: --entry-size 8 --rma ${flagSize(wide)}`;
  }
  // The same layouts on a machine with unbounded RAM (only Xen's fixed rules apply).
  for (const entries of entrySize === 4 ? [4, 8] : [8]) {
    const r = minimumRma(size, SIZES, inputFor(entries, false));
    if (r !== undefined) {
      const why = l.constraints.filter((c) => c.remedy === 'more-ram' && c.limitBytes !== null && size > c.limitBytes)
        .map((c) => (c.name === 'hpt-block' ? `the Xen heap's largest block holds the hash table of a dom0 of at most ${exactSize(c.limitBytes!)}` : `this machine's RAM gives dom0 at most ${exactSize(c.limitBytes!)}`))
        .join(' and ') || 'this machine is too small';
      return `no RMA size helps: ${why}; more RAM would (--ram or --machine)${entries !== entrySize ? ', with 8-byte entries (--entry-size 8)' : ''}${r !== l.rmaSize ? `, with --rma ${flagSize(r)}` : ''}`;
    }
  }
  // Nothing in reach: say which fixed rule stops the best layout.
  const best = SIZES.map((s) => inputFor(8, false)(s)).filter((x): x is Dom0LimitsInput => !!x).map(dom0Limits)
    .filter((x) => x.maxDom0Bytes !== null).sort((a, b) => b.maxDom0Bytes! - a.maxDom0Bytes!)[0];
  if (best && best.binding === 'hpt-block') {
    return `no RMA, RAM or entry size helps: dom0's hash table is one Xen-heap block, at most 4 GiB (MAX_ORDER 20), which holds the table of a dom0 of at most ${exactSize(largestDom0ForHptBlock(MAX_BLOCK_BYTES))}; only a smaller hash table (Xen's dom0_shadow=) or a larger MAX_ORDER would`;
  }
  return `no layout Xen can allocate holds a table for ${formatSize(size)}${best ? ` (the most any allows is ${formatSize(best.maxDom0Bytes!)}, by ${best.binding})` : ''}`;
}

/** Registers `limits` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.declare(prog, 'limits', () => runLimits);
}
