import type { Paint } from './paint';
import type { Region } from '../rma/layout';
import { regionsWithGaps, RmaMap } from '../rma/regions';
import { type Columns, DEFAULT_COLUMNS, fitText, renderTable } from './table';
import { formatSize, hex } from './units';
import { doc, range, span } from './contract';

const LETTER: Record<string, string> = { kernel: 'K', initrd: 'I', firmware: 'F', 'device tree': 'D', 'p2m table': 'P', xenstore: 'X', console: 'C', shared_info: 'S', free: '.' };

/** `extra`: what only dom0's layout has (its stack pointer and table capacity; null for a domU). */
export function rmaJson(domid: number, map: RmaMap, rmaMaddr: number, extra: { stackPointer: number | null; capacityEntries: number | null }): object {
  return doc('inspect-rma', {
    domid,
    rma: { bytes: map.rmaSize, maddrs: span(rmaMaddr, map.rmaSize) },
    regions: regionsWithGaps(map).map((r) => ({ name: r.name, paddrs: range(r.start, r.end), maddrs: range(rmaMaddr + r.start, rmaMaddr + r.end), bytes: r.end - r.start })),
    ...extra,
  });
}

export function formatRma(p: Paint, who: string, L: RmaMap, rmaMaddr: number, cols: Columns = DEFAULT_COLUMNS, width = 64): string {
  const regions = regionsWithGaps(L);
  const shown = new Set(regions.map((r) => r.name));
  let out = `${who} RMA: ${formatSize(L.rmaSize)} at machine ${hex(rmaMaddr)}\n`;
  out += renderTable(p, ['region', 'guest start', 'guest end', 'size', 'machine start'], regions.map((r) => [r.name, hex(r.start), hex(r.end), formatSize(r.end - r.start), hex(rmaMaddr + r.start)]), ['left', 'right', 'right', 'right', 'right'], cols);
  out += `\n${bar(p, regions, L.rmaSize, width)}\n`;
  out += `0${' '.repeat(width - 1 - formatSize(L.rmaSize).length)}${formatSize(L.rmaSize)}\n`;
  out += Object.entries(LETTER).filter(([n]) => shown.has(n)).map(([n, c]) => `${c} ${n}`).join('  ') + '\n';
  return fitText(out, cols);
}

/** One character per RMA/width bytes; a region too small for a cell still shows in a cell it touches. */
function bar(p: Paint, regions: Region[], size: number, width: number): string {
  const cells = new Array<string>(width).fill('.');
  const names = new Array<string>(width).fill('free');
  // Large regions first, so a small one (firmware, a special page) keeps the cell it falls in.
  for (const r of [...regions].sort((a, b) => (b.end - b.start) - (a.end - a.start))) {
    if (r.name === 'free') continue;
    const a = Math.floor((r.start / size) * width);
    const b = Math.max(a + 1, Math.ceil((r.end / size) * width));
    for (let i = a; i < Math.min(b, width); i++) {
      cells[i] = LETTER[r.name] ?? '?';
      names[i] = r.name;
    }
  }
  const colourOf = (n: string): ((s: string) => string) => ({ kernel: p.blue, initrd: p.cyan, firmware: p.red, 'device tree': p.yellow, 'p2m table': p.green, xenstore: p.yellow, console: p.cyan, shared_info: p.magenta } as Record<string, (s: string) => string>)[n] ?? p.dim;
  return '[' + cells.map((c, i) => colourOf(names[i])(c)).join('') + ']';
}

