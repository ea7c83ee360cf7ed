/**
 * The limits picture: the largest dom0 for each RMA size, on a log scale, with
 * every constraint's figure as a marker and the binding one named.
 */
import type { LimitsView } from '../limits';
import type { Dom0Limits } from '../../p2m/limits';
import { exactSize } from '../../util/size';
import { hex, rect, sizeText, svgDoc, text, textWidth } from './common';

export const CONSTRAINT_MARK: Record<string, { fill: string; shape: 'circle' | 'square' | 'diamond' | 'triangle' }> = {
  'p2m-span': { fill: '#2e7d32', shape: 'diamond' },
  'entry-width': { fill: '#6a1b9a', shape: 'square' },
  'hpt-block': { fill: '#c62828', shape: 'triangle' },
  'machine-ram': { fill: '#1565c0', shape: 'circle' },
};

const LANES = Object.keys(CONSTRAINT_MARK);

function marker(x: number, y: number, name: string): string {
  const m = CONSTRAINT_MARK[name] ?? { fill: '#555555', shape: 'circle' as const };
  const r = 4;
  const attrs = `fill="${m.fill}" stroke="#ffffff" stroke-width="1"`;
  switch (m.shape) {
    case 'square': return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" ${attrs}/>`;
    case 'diamond': return `<path d="M${x.toFixed(1)} ${(y - r - 1).toFixed(1)} L${(x + r + 1).toFixed(1)} ${y.toFixed(1)} L${x.toFixed(1)} ${(y + r + 1).toFixed(1)} L${(x - r - 1).toFixed(1)} ${y.toFixed(1)} Z" ${attrs}/>`;
    case 'triangle': return `<path d="M${x.toFixed(1)} ${(y - r - 1).toFixed(1)} L${(x + r + 1).toFixed(1)} ${(y + r).toFixed(1)} L${(x - r - 1).toFixed(1)} ${(y + r).toFixed(1)} Z" ${attrs}/>`;
    default: return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" ${attrs}/>`;
  }
}

function rowNote(l: Dom0Limits): string {
  if (l.maxDom0Bytes === null) {
    const c = l.constraints.find((x) => x.name === 'rma-allocatable');
    return `not allocatable: ${c && /MAX_ORDER/.test(c.detail) ? 'above MAX_ORDER 20 (4 GiB)' : 'no aligned block free'}`;
  }
  return `${exactSize(l.maxDom0Bytes)}: ${l.binding} binds`;
}

export function limitsSvg(v: LimitsView): string {
  const GiB = 2 ** 30;
  const figures = v.table.flatMap((l) => l.constraints.map((c) => c.limitBytes ?? 0)).filter((b) => b > 0);
  const lo = GiB;
  let hi = 4 * GiB;
  while (hi < Math.max(...figures, 4 * GiB)) hi *= 4;
  const ax = 150;
  const aw = 560;
  const x = (b: number): number => ax + (Math.log2(Math.max(b, lo) / lo) / Math.log2(hi / lo)) * aw;
  const top = 100;
  const rowH = 52;
  const notes = v.table.map(rowNote);
  const noteX = ax + aw + 20;
  const body: string[] = [
    text(20, 26, `largest dom0 per RMA size on ${v.machine} (${sizeText(v.ramBytes)} RAM), ${v.figures.entrySize}-byte entries`, { size: 15, weight: 'bold' }),
    text(20, 44, v.limits.hole ? `dom0's map keeps the IO hole [${hex(v.limits.hole.start)}, ${hex(v.limits.hole.end)}); the table starts after the OF area unless placed` : "dom0's map is flat (no IO hole)", { size: 11, fill: '#555555' }),
    text(20, 62, 'bar: the largest dom0 every constraint allows; markers: each constraint\'s own figure (log scale)', { size: 11, fill: '#555555' }),
  ];
  // Axis: powers of four from 1 GiB.
  const axisY = top + v.table.length * rowH + 6;
  body.push(`<line x1="${ax}" y1="${axisY}" x2="${ax + aw}" y2="${axisY}" stroke="#333333"/>`);
  for (let b = lo; b <= hi; b *= 4) {
    const tx = x(b);
    body.push(`<line x1="${tx.toFixed(1)}" y1="${top - 8}" x2="${tx.toFixed(1)}" y2="${axisY + 4}" stroke="#dddddd"/>`);
    body.push(text(tx, axisY + 18, sizeText(b).replace(' ', ''), { size: 10, anchor: 'middle' }));
  }
  v.table.forEach((l, i) => {
    const y = top + i * rowH;
    const mid = y + rowH / 2 - 4;
    const asked = l.rmaSize === v.figures.rmaSize;
    body.push(text(ax - 12, mid + 4, `RMA ${sizeText(l.rmaSize)}${asked ? ' *' : ''}`, { size: 12, anchor: 'end', weight: asked ? 'bold' : undefined }));
    if (l.maxDom0Bytes !== null) {
      body.push(rect(ax, mid - 12, Math.max(2, x(l.maxDom0Bytes) - ax), 24, asked ? '#7fb3e6' : '#b9d3ee', ' stroke="#333333"'));
    } else {
      body.push(rect(ax, mid - 12, aw, 24, 'url(#hatch)', ' stroke="#999999"'));
    }
    // Each constraint in its own lane, so two figures close together both show.
    for (const c of l.constraints) {
      const lane = LANES.indexOf(c.name);
      if (c.limitBytes === null || c.limitBytes <= 0 || lane < 0) continue;
      body.push(marker(x(c.limitBytes), mid + (lane - 1.5) * 11, c.name));
    }
    body.push(text(noteX, mid + 4, notes[i], { size: 11, weight: l.maxDom0Bytes !== null ? 'bold' : undefined, fill: l.maxDom0Bytes !== null ? '#1a1a1a' : '#8a1c1c' }));
  });
  // Legend.
  const ly = axisY + 44;
  let lx = ax;
  for (const name of Object.keys(CONSTRAINT_MARK)) {
    body.push(marker(lx + 5, ly - 4, name));
    body.push(text(lx + 16, ly, name, { size: 11 }));
    lx += 16 + textWidth(name, 11) + 24;
  }
  body.push(text(ax, ly + 20, '* the RMA size asked; hatched: Xen cannot allocate that RMA', { size: 10, fill: '#555555' }));
  const width = Math.max(noteX + Math.max(...notes.map((n) => textWidth(n, 11))) + 20, lx + 20, 820);
  return svgDoc(width, ly + 40, `largest dom0 per RMA size: ${v.machine}`, body);
}
