import type TableType from 'cli-table3';
import type { Paint } from './paint';

/**
 * How wide text output may be, in columns: the terminal's width, 80 off a
 * terminal, or WIDE (no limit: the wide option). Every table is sized to it and
 * never wider; prose lines wrap at it.
 */
export type Columns = number;

/** cli-table3, loaded by the first table drawn: a command that prints none (or --version, or JSON) never loads it. */
let tableClass: typeof TableType | undefined;
function Table(options: ConstructorParameters<typeof TableType>[0]): InstanceType<typeof TableType> {
  tableClass ??= require('cli-table3') as typeof TableType;
  return new tableClass(options);
}
export const DEFAULT_COLUMNS: Columns = 80;
export const WIDE: Columns = Infinity;

// SGR sequences (what chalk writes); everything else is one column per code point.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** Columns a single line takes on a terminal (ANSI colour codes take none). */
export function visibleWidth(s: string): number {
  let n = 0;
  for (const _c of stripAnsi(s)) n++;
  return n;
}

const lineWidth = (cell: string): number => Math.max(0, ...cell.split('\n').map(visibleWidth));
const longestWord = (cell: string): number => Math.max(0, ...cell.split(/\s+/).map(visibleWidth));

/**
 * Split a token wider than `width` into pieces of `width` visible columns,
 * keeping colour codes whole (they take no room).
 */
function chunk(token: string, width: number): string[] {
  const out: string[] = [];
  let cur = '';
  let n = 0;
  for (let i = 0; i < token.length;) {
    const m = token[i] === '\x1b' ? /^\x1b\[[0-9;]*m/.exec(token.slice(i)) : null;
    if (m) {
      cur += m[0];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(token.codePointAt(i)!);
    if (n === width) {
      out.push(cur);
      cur = '';
      n = 0;
    }
    cur += ch;
    n++;
    i += ch.length;
  }
  if (cur) out.push(cur);
  return out;
}

/** Break every word of a cell wider than `width` so that word wrapping can fit it (no cell is ever cut short). */
function breakLongWords(cell: string, width: number): string {
  return cell.split('\n').map((line) => line.split(/(\s+)/).map((w, i) => (i % 2 === 0 && visibleWidth(w) > width ? chunk(w, width).join('\n') : w)).join('')).join('\n');
}

/**
 * Word-wrap one line to `cols` columns at spaces; a continuation starts with
 * the line's own indent and two more spaces. A word longer than the room is
 * broken. Lines that fit are returned as they are.
 */
export function wrapLine(line: string, cols: Columns): string[] {
  if (visibleWidth(line) <= cols) return [line];
  const indent = /^ */.exec(stripAnsi(line))![0].length;
  const hang = ' '.repeat(Math.min(indent + 2, Math.max(0, cols - 20)));
  const words = line.slice(indent).split(/ +/);
  const lines: string[] = [];
  let cur = ' '.repeat(indent);
  let curW = indent;
  const startW = (): number => (lines.length ? hang.length : indent);
  for (const word of words) {
    const w = visibleWidth(word);
    const room = cols - (curW > startW() ? curW + 1 : curW);
    if (w <= room) {
      cur += (curW > startW() ? ' ' : '') + word;
      curW += (curW > startW() ? 1 : 0) + w;
      continue;
    }
    if (curW > startW()) {
      lines.push(cur);
      cur = hang;
      curW = hang.length;
    }
    if (w <= cols - curW) {
      cur += word;
      curW += w;
      continue;
    }
    const pieces = chunk(word, Math.max(1, cols - hang.length));
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0 || curW > startW()) {
        lines.push(cur);
        cur = hang;
        curW = hang.length;
      }
      cur += pieces[i];
      curW += visibleWidth(pieces[i]);
    }
  }
  lines.push(cur);
  return lines;
}

/** Every line of a text wrapped to `cols` (tables rendered to fit are left alone). */
export function fitText(text: string, cols: Columns): string {
  if (!Number.isFinite(cols)) return text;
  return text.split('\n').flatMap((l) => wrapLine(l, cols)).join('\n');
}

/**
 * Column widths (each with its one-space padding either side) for a table of
 * `cols` columns at most: every column as wide as its widest cell when that
 * fits; else headings wrap first, then the widest columns give way, down to
 * their longest word, then (only if that still does not fit) further, with
 * long words broken. `head`: how many of the first rows are headings.
 */
export function fitWidths(cells: string[][], cols: Columns, head = 0): number[] {
  const n = Math.max(0, ...cells.map((r) => r.length));
  const widest = (rows: string[][], f: (c: string) => number): number[] => Array.from({ length: n }, (_x, i) => 2 + Math.max(1, ...rows.map((r) => f(r[i] ?? ''))));
  const natural = widest(cells, lineWidth);
  const budget = cols - (n + 1);
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
  if (!Number.isFinite(cols) || sum(natural) <= budget) return natural;
  const words = widest(cells, longestWord);
  const body = widest(cells.slice(head), lineWidth);
  const headWords = widest(cells.slice(0, head), longestWord);
  const floors = [
    natural.map((w, i) => Math.min(w, Math.max(body[i], headWords[i]))),
    words.map((w, i) => Math.min(w, natural[i])),
    natural.map((w) => Math.min(w, 5)),
    natural.map((w) => Math.min(w, 3)),
  ];
  const widths = [...natural];
  for (const floor of floors) {
    let over = sum(widths) - budget;
    while (over > 0) {
      // The widest column that can still give way.
      let k = -1;
      for (let i = 0; i < n; i++) if (widths[i] > floor[i] && (k < 0 || widths[i] > widths[k])) k = i;
      if (k < 0) break;
      widths[k]--;
      over--;
    }
    if (over <= 0) break;
  }
  return widths;
}

/** cli-table3 options for cells fitted to `widths`: wrapped at words, long words broken, no rules between rows. */
function fitted(cells: string[][], widths: number[]): string[][] {
  return cells.map((r) => r.map((c, i) => breakLongWords(c, widths[i] - 2)));
}

/**
 * A cli-table3 table with the project's look, no wider than `cols`: cells
 * wrap at words, no rules between rows; colour only when the painter has it.
 */
export function renderTable(p: Paint, head: string[], rows: (string | number)[][], align?: ('left' | 'right')[], cols: Columns = DEFAULT_COLUMNS): string {
  const body = rows.map((r) => r.map(String));
  const widths = fitWidths([head, ...body], cols, 1);
  const [h, ...b] = fitted([head, ...body], widths);
  const t = Table({
    head: h.map((x) => p.bold(x)),
    style: { head: [], border: [], compact: true },
    colWidths: widths,
    wordWrap: true,
    ...(align ? { colAligns: align } : {}),
  });
  for (const r of b) t.push(r);
  return t.toString() + '\n';
}

/** Two-column key/value table, no wider than `cols`. */
export function renderFacts(p: Paint, rows: [string, string | number][], cols: Columns = DEFAULT_COLUMNS): string {
  const cells = rows.map(([k, v]) => [k, String(v)]);
  const widths = fitWidths(cells, cols);
  const t = Table({ style: { head: [], border: [], compact: true }, colWidths: widths, wordWrap: true });
  for (const [k, v] of fitted(cells, widths)) t.push([p.bold(k), v]);
  return t.toString() + '\n';
}

/**
 * Borderless columns, one line per row, as `xl list` prints them: the head
 * then the rows, two spaces between columns. For rows short enough to fit.
 */
export function renderColumns(p: Paint, head: string[], rows: (string | number)[][], align?: ('left' | 'right')[]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_h, i) => Math.max(...cells.map((r) => visibleWidth(r[i] ?? ''))));
  const line = (r: string[], bold: boolean): string => r.map((c, i) => {
    const padN = widths[i] - visibleWidth(c);
    const text = bold ? p.bold(c) : c;
    if (align?.[i] === 'right') return ' '.repeat(padN) + text;
    return i === r.length - 1 ? text : text + ' '.repeat(padN);
  }).join('  ').replace(/ +$/, '');
  return cells.map((r, i) => line(r, i === 0)).join('\n') + '\n';
}

export function json(doc: unknown): string {
  return JSON.stringify(doc, (_k, v) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v), 2) + '\n';
}
