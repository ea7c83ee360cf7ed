import type { Paint } from './paint';
import type { LimitFigures } from '../p2m/limits';
import { renderFacts, renderTable } from './table';
import { formatSize, hex } from './units';

export interface LimitsView {
  figures: LimitFigures;
  table: LimitFigures[];
  mem?: number;
  ofAt: number;
  ofConflict?: string;
  broken?: string;
  minimumRma?: number;
}

const figureText = (f: LimitFigures, which: string): string =>
  which === 'capacity'
    ? `capacity ${f.capacityEntries} entries (${formatSize(f.capacityBytes)}) from ${hex(f.p2mStart)} up to shared_info`
    : `max domain ${formatSize(f.maxDomainBytes)} (capacity floored to whole 16 MiB extents)`;

export function limitsJson(v: LimitsView): object {
  const one = (f: LimitFigures): object => ({ ...f, maxDomain: formatSize(f.maxDomainBytes) });
  return {
    layout: one(v.figures),
    byRmaSize: v.table.map(one),
    ofAt: v.ofAt,
    ofConflict: v.ofConflict ?? null,
    mem: v.mem ?? null,
    fits: v.mem === undefined ? null : !v.broken,
    broken: v.broken ? { figure: v.broken, text: figureText(v.figures, v.broken) } : null,
    minimumRma: v.mem === undefined ? null : v.minimumRma ?? null,
  };
}

export function formatLimits(p: Paint, v: LimitsView): string {
  const f = v.figures;
  const e = f.entrySize;
  let out = `p2m table at ${hex(f.p2mStart)} in a ${formatSize(f.rmaSize)} RMA, ${e}-byte entries\n`;
  out += renderFacts(p, [
    ['whole rest of the RMA', `${formatSize(f.rmaSize - f.p2mStart)} / ${e} B = ${f.wholeRestEntries} entries x 4 KiB = ${formatSize(f.wholeRestBytes)}`],
    ['shared_info kept', `${f.capacityEntries} entries x 4 KiB = ${formatSize(f.capacityBytes)}`],
    ['in whole 16 MiB extents', `${formatSize(f.maxDomainBytes)} (the largest dom0)`],
  ]);
  if (v.ofConflict) out += `${p.yellow('note:')} with the OF area at ${hex(v.ofAt)}: ${v.ofConflict}; construct needs the OF area elsewhere (e.g. at 16 MiB)\n`;
  out += `\nby RMA size (table at ${v.table.length && v.table[0].p2mStart === f.p2mStart ? hex(f.p2mStart) : 'after the OF area'})\n`;
  out += renderTable(p, ['RMA', 'p2m start', 'entries', 'max domain', ...(v.mem !== undefined ? ['fits ' + formatSize(v.mem)] : [])], v.table.map((t) => [
    formatSize(t.rmaSize), hex(t.p2mStart), t.capacityEntries, formatSize(t.maxDomainBytes),
    ...(v.mem !== undefined ? [t.maxDomainBytes >= v.mem ? p.green('yes') : p.red('no')] : []),
  ]), ['right', 'right', 'right', 'right', 'left']);
  const mfnCap = 2 ** (8 * f.entrySize) - 1; // INVALID_MFN is the all-ones entry
  if (v.table.some((t) => t.capacityEntries > mfnCap)) {
    out += `${p.yellow('note:')} ${f.entrySize}-byte entries name at most ${mfnCap} machine frames (${formatSize((mfnCap + 1) * 4096)} of machine memory): rows past that are capped by the entry width, not by the RMA\n`;
  }
  if (v.mem !== undefined) {
    out += v.broken
      ? `${p.red('does not fit:')} a ${formatSize(v.mem)} dom0 breaks the ${figureText(f, v.broken)}\n`
      : `${p.green('fits:')} a ${formatSize(v.mem)} dom0 fits (max domain ${formatSize(f.maxDomainBytes)})\n`;
    out += v.minimumRma !== undefined ? `minimum RMA for ${formatSize(v.mem)}: ${formatSize(v.minimumRma)}\n` : `no valid RMA size holds a table for ${formatSize(v.mem)}\n`;
  }
  return out;
}
