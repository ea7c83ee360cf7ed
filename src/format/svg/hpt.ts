/**
 * inspect hpt's svg picture: a heatmap of PTEG occupancy. Each cell stands for a
 * fixed number of consecutive PTEGs (row-major from PTEG 0 at the top left)
 * and is coloured by the fullest PTEG in it (0 to 8 valid entries), so one
 * full group shows however sparse the table is. Beside it, the histogram.
 */
import { HPTES_PER_GROUP } from '../../hpt/constants';
import type { HashTable } from '../../hpt/table';
import { hex, rect, sizeText, svgDoc, text, textWidth } from './common';

/** 0 (empty) to 8 (full): white, then yellow to dark red. */
export const OCCUPANCY_FILL = ['#ffffff', '#f9d649', '#f7b733', '#f59129', '#ee6a24', '#dc4327', '#bd2530', '#921634', '#5e0b2e'];

export interface HeatmapView {
  domid: number;
  maddr: number;
  bytes: number;
  ptegs: number;
  /** Valid entries per PTEG, for the PTEGs that have any. */
  counts: Map<number, number>;
  histogram: number[];
}

/** Valid entries per PTEG, from the table's valid slots (sparse: the table is mostly empty). */
export function ptegCounts(t: HashTable): Map<number, number> {
  const counts = new Map<number, number>();
  t.forEachValid((slot) => {
    const g = Math.floor(slot / HPTES_PER_GROUP);
    counts.set(g, (counts.get(g) ?? 0) + 1);
  });
  return counts;
}

export function hptSvg(v: HeatmapView): string {
  const COLS = 128;
  const MAX_ROWS = 64;
  const per = Math.max(1, Math.ceil(v.ptegs / (COLS * MAX_ROWS)));
  const cells = Math.ceil(v.ptegs / per);
  const rows = Math.ceil(cells / COLS);
  const cell = 7;
  const gx = 80;
  const gy = 80;
  const worst = new Uint8Array(cells);
  for (const [g, n] of v.counts) {
    const c = Math.floor(g / per);
    if (n > worst[c]) worst[c] = n;
  }
  const body: string[] = [
    text(20, 26, `dom${v.domid} hash table: ${sizeText(v.bytes)} at machine ${hex(v.maddr)}, ${v.ptegs} PTEGs of 8 slots`, { size: 15, weight: 'bold' }),
    text(20, 44, `PTEG occupancy: each cell is ${per} PTEG${per === 1 ? '' : 's'}, coloured by its fullest PTEG; row-major from PTEG 0`, { size: 11, fill: '#555555' }),
    rect(gx - 1, gy - 1, COLS * cell + 2, rows * cell + 2, '#ffffff', ' stroke="#333333"'),
  ];
  // Empty cells are the white frame; only occupied ones are drawn.
  for (let c = 0; c < cells; c++) {
    if (!worst[c]) continue;
    body.push(rect(gx + (c % COLS) * cell, gy + Math.floor(c / COLS) * cell, cell, cell, OCCUPANCY_FILL[worst[c]], ' stroke="#5a3a00" stroke-width="0.6"'));
  }
  // Row labels: the first PTEG of every 8th row.
  for (let r = 0; r < rows; r += 8) body.push(text(gx - 8, gy + r * cell + 8, hex(r * COLS * per), { size: 10, anchor: 'end' }));
  const gridBottom = gy + rows * cell;
  // Legend: 0..8.
  const ly = gridBottom + 26;
  body.push(text(gx, ly, 'valid entries in the fullest PTEG of a cell:', { size: 11 }));
  for (let n = 0; n <= 8; n++) {
    const x = gx + n * 40;
    body.push(rect(x, ly + 8, 14, 14, OCCUPANCY_FILL[n], ' stroke="#333333"'));
    body.push(text(x + 18, ly + 19, String(n), { size: 11 }));
  }
  // Histogram: PTEGs holding n valid entries, log-scaled bars.
  const hx = gx + COLS * cell + 40;
  const hy = gy;
  const maxLog = Math.log10(Math.max(...v.histogram, 1) + 1);
  body.push(text(hx, hy - 12, 'PTEGs with n valid entries', { size: 12, weight: 'bold' }));
  const barMax = 180;
  v.histogram.forEach((count, n) => {
    const y = hy + n * 22;
    const w = count ? Math.max(2, (Math.log10(count + 1) / maxLog) * barMax) : 0;
    body.push(text(hx + 10, y + 13, String(n), { size: 11, anchor: 'end' }));
    if (w) body.push(rect(hx + 16, y + 3, w, 14, OCCUPANCY_FILL[n], ' stroke="#333333"'));
    body.push(text(hx + 16 + barMax + 8, y + 13, String(count), { size: 11 }));
  });
  body.push(text(hx, hy + 9 * 22 + 14, 'bar lengths: log scale', { size: 10, fill: '#555555' }));
  const width = Math.max(hx + 16 + barMax + 8 + textWidth(String(Math.max(...v.histogram)), 11) + 20, 20 + textWidth(`dom${v.domid} hash table: ${sizeText(v.bytes)} at machine ${hex(v.maddr)}, ${v.ptegs} PTEGs of 8 slots`, 15) + 20);
  return svgDoc(width, Math.max(ly + 40, hy + 9 * 22 + 30), `dom${v.domid} hash table occupancy`, body);
}
