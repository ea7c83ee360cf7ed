import type { Paint } from './paint';
import type { Region } from '../rma/layout';
import { regionsWithGaps, RmaMap } from '../rma/regions';
import { type Columns, DEFAULT_COLUMNS, fitText, renderTable } from './table';
import { formatSize, hex } from './units';

const LETTER: Record<string, string> = { kernel: 'K', initrd: 'I', firmware: 'F', 'device tree': 'D', 'p2m table': 'P', xenstore: 'X', console: 'C', shared_info: 'S', free: '.' };
const COLOUR: Record<string, string> = { kernel: '#4e79a7', initrd: '#76b7b2', firmware: '#e15759', 'device tree': '#f28e2b', 'p2m table': '#59a14f', xenstore: '#edc948', console: '#9c755f', shared_info: '#b07aa1', free: '#eeeeee' };

/** `extra`: what only some layouts have (dom0's stack pointer and table capacity). */
export function rmaJson(map: RmaMap, rmaMaddr: number, extra: object = {}): object {
  return { rmaBytes: map.rmaSize, maddr: rmaMaddr, regions: regionsWithGaps(map).map((r) => ({ ...r, bytes: r.end - r.start })), ...extra };
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

/** An SVG memory map of the RMA, low addresses at the top, sizes to scale with a floor so small regions stay readable. */
export function rmaSvg(who: string, L: RmaMap, rmaMaddr: number): string {
  const regions = regionsWithGaps(L);
  const W = 640;
  const H = 720;
  const minH = 18;
  const barX = 180;
  const barW = 200;
  const heights = regions.map((r) => Math.max(minH, ((r.end - r.start) / L.rmaSize) * (H - 60 - minH * regions.length) + minH));
  const scale = (H - 60) / heights.reduce((a, b) => a + b, 0);
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let y = 40;
  const parts = regions.map((r, i) => {
    const h = heights[i] * scale;
    const g = `<rect x="${barX}" y="${y.toFixed(1)}" width="${barW}" height="${h.toFixed(1)}" fill="${COLOUR[r.name] ?? '#999'}" stroke="#333"/>` +
      `<text x="${barX - 8}" y="${(y + 12).toFixed(1)}" text-anchor="end" font-size="11">${hex(r.start)}</text>` +
      `<text x="${barX + barW + 8}" y="${(y + h / 2 + 4).toFixed(1)}" font-size="12">${esc(r.name)} (${esc(formatSize(r.end - r.start))})</text>`;
    y += h;
    return g;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="monospace">\n` +
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(who)} RMA, ${esc(formatSize(L.rmaSize))} at machine ${hex(rmaMaddr)}</text>\n` +
    parts.join('\n') + `\n<text x="${barX - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11">${hex(L.rmaSize)}</text>\n</svg>\n`;
}
