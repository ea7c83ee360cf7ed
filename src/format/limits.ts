import type { Paint } from './paint';
import type { Constraint, Dom0Limits, LimitFigures } from '../p2m/limits';
import { type Columns, DEFAULT_COLUMNS, fitText, renderFacts, renderTable } from './table';
import { formatSize, hex } from './units';
import { doc, range } from './contract';
import { exactSize } from '../util/size';

export interface LimitsView {
  machine: string;
  ramBytes: number;
  /** The table's raw capacity figures for the layout asked. */
  figures: LimitFigures;
  /** Every constraint for that layout on the machine. */
  limits: Dom0Limits;
  /** The same for each RMA size (where the layout has room). */
  table: Dom0Limits[];
  mem?: number;
  ofAt: number;
  ofConflict?: string;
  broken?: Constraint;
  minimumRma?: number;
}

const NOT_ALLOCATABLE = 'not allocatable (MAX_ORDER 20)';

/** A row's max dom0: a size, or why Xen cannot build it. */
function maxText(l: Dom0Limits): string {
  if (l.maxDom0Bytes !== null) return exactSize(l.maxDom0Bytes);
  const c = l.constraints.find((x) => x.name === 'rma-allocatable')!;
  return /MAX_ORDER/.test(c.detail) ? NOT_ALLOCATABLE : 'not allocatable (heap)';
}

const holeJson = (l: Dom0Limits): object | null => (l.hole ? { paddrs: range(l.hole.start, l.hole.end), bytes: l.hole.end - l.hole.start } : null);
const constraintJson = (c: Constraint): object => ({ name: c.name, limitBytes: c.limitBytes, binds: c.binds, detail: c.detail });

/** What a layout allows and what binds it: the same keys for the one asked and for each RMA size. */
function outcomeJson(l: Dom0Limits): object {
  return {
    rmaBytes: l.rmaSize,
    p2mPaddr: l.p2mStart,
    sharedInfoPaddr: l.sharedInfoStart,
    entryBytes: l.entrySize,
    capacityEntries: l.capacityEntries,
    spanBytes: l.spanBytes,
    spanRamBytes: l.spanRamBytes,
    flatTableMaxBytes: l.flatTableMaxBytes,
    skipHoleMaxBytes: l.skipHoleMaxBytes,
    allocatable: l.buildable,
    maxDom0Bytes: l.maxDom0Bytes,
    binding: l.binding,
    constraints: l.constraints.map(constraintJson),
  };
}

export function limitsJson(v: LimitsView): object {
  const f = v.figures;
  return doc('limits', {
    machine: { name: v.machine, ramBytes: v.ramBytes },
    hole: holeJson(v.limits),
    ofPaddr: v.ofAt,
    ofConflict: v.ofConflict ?? null,
    figures: {
      rmaBytes: f.rmaSize,
      p2mPaddr: f.p2mStart,
      entryBytes: f.entrySize,
      wholeRestEntries: f.wholeRestEntries,
      wholeRestBytes: f.wholeRestBytes,
      capacityEntries: f.capacityEntries,
      capacityBytes: f.capacityBytes,
      maxDomainBytes: f.maxDomainBytes,
    },
    limits: outcomeJson(v.limits),
    byRmaSize: v.table.map(outcomeJson),
    check: v.mem === undefined ? null : {
      memBytes: v.mem,
      fits: !v.broken,
      broken: v.broken ? constraintJson(v.broken) : null,
      minimumRmaBytes: v.minimumRma ?? null,
    },
  });
}

export function formatLimits(p: Paint, v: LimitsView, cols: Columns = DEFAULT_COLUMNS): string {
  const f = v.figures;
  const l = v.limits;
  const e = f.entrySize;
  const holeText = l.hole ? `dom0's map keeps the IO hole [${formatSize(l.hole.start)}, ${formatSize(l.hole.end)})` : "dom0's map is flat (the firmware has no IO hole)";
  let out = `p2m table at ${hex(f.p2mStart)} in a ${formatSize(f.rmaSize)} RMA, ${e}-byte entries, on ${v.machine} (${formatSize(v.ramBytes)}); ${holeText}\n`;
  const rows: [string, string][] = [
    ['whole rest of the RMA', `${formatSize(f.rmaSize - f.p2mStart)} / ${e} B = ${f.wholeRestEntries} entries x 4 KiB = ${formatSize(f.wholeRestBytes)}`],
    ['up to shared_info', `${f.capacityEntries} entries x 4 KiB = ${formatSize(f.capacityBytes)} of pfn span`],
  ];
  if (l.hole && l.spanBytes > l.hole.start) rows.push(['less the hole', `${exactSize(l.spanBytes)} - ${exactSize(l.spanBytes - l.spanRamBytes)} = ${exactSize(l.spanRamBytes)} of RAM`]);
  rows.push(['in whole 16 MiB extents', `${exactSize(l.flatTableMaxBytes)} (what the flat table allows)`]);
  out += renderFacts(p, rows, cols);

  out += `\nconstraints (the smallest binds)\n`;
  out += renderTable(p, ['constraint', 'max dom0', 'binds', 'figure'], l.constraints.map((c) => [
    c.name,
    c.limitBytes === null ? '-' : c.name === 'rma-allocatable' && c.limitBytes === 0 ? 'none' : exactSize(c.limitBytes),
    c.binds ? p.yellow('binds') : '',
    c.detail,
  ]), ['left', 'right', 'left', 'left'], cols);
  out += l.maxDom0Bytes !== null
    ? `largest dom0: ${p.bold(exactSize(l.maxDom0Bytes))} (${l.binding} binds)\n`
    : `largest dom0: none: ${l.constraints[0].detail}\n`;
  if (l.hole && l.skipHoleMaxBytes !== l.flatTableMaxBytes) {
    out += `${p.yellow('note:')} a table that skipped the hole (no entries for its pfns) would allow ${exactSize(l.skipHoleMaxBytes)} of RAM: its ${exactSize(l.spanBytes)} pfn span in whole extents\n`;
  }
  if (v.ofConflict) out += `${p.yellow('note:')} with the OF area at ${hex(v.ofAt)}: ${v.ofConflict}; construct needs the OF area elsewhere (e.g. at 16 MiB)\n`;

  out += `\nby RMA size on ${v.machine} (table at ${v.table.length && v.table[0].p2mStart === f.p2mStart ? hex(f.p2mStart) : 'after the OF area'})\n`;
  out += renderTable(p, ['RMA', 'p2m start', 'entries', 'pfn span', 'max dom0', 'binds', ...(v.mem !== undefined ? ['fits ' + formatSize(v.mem)] : [])], v.table.map((t) => [
    formatSize(t.rmaSize), hex(t.p2mStart), t.capacityEntries, formatSize(t.spanBytes), maxText(t), t.binding,
    ...(v.mem !== undefined ? [t.maxDom0Bytes !== null && t.maxDom0Bytes >= Math.max(v.mem, t.rmaSize) ? p.green('yes') : p.red('no')] : []),
  ]), ['right', 'right', 'right', 'right', 'right', 'left', 'left'], cols);
  if (v.mem !== undefined) {
    out += v.broken
      ? `${p.red('does not fit:')} a ${formatSize(v.mem)} dom0 breaks ${v.broken.name}${v.broken.name === 'rma-allocatable' ? '' : `, at most ${exactSize(v.broken.limitBytes ?? 0)}`} (${v.broken.detail})\n`
      : `${p.green('fits:')} a ${formatSize(v.mem)} dom0 fits (largest dom0 ${exactSize(l.maxDom0Bytes ?? 0)}, ${l.binding} binds)\n`;
    out += v.minimumRma !== undefined ? `minimum RMA for ${formatSize(v.mem)}: ${formatSize(v.minimumRma)}\n` : `no valid RMA size holds a dom0 of ${formatSize(v.mem)} on ${v.machine}\n`;
  }
  return fitText(out, cols);
}
