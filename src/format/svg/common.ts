/**
 * What every picture shares: an opaque page, escaped monospace text, a
 * column of address ranges drawn to scale with a floor (so a 4 KiB page
 * still gets a readable box), and the rule the pictures keep to: every
 * label fits its place, and no two labels overlap (tests check this).
 */
import { formatSize, hex } from '../units';

export const FONT = "'DejaVu Sans Mono', 'Liberation Mono', monospace";
/** Advance of one monospace character, as a share of the font size. */
export const CHAR_W = 0.6;

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export const textWidth = (s: string, size: number): number => s.length * size * CHAR_W;

export interface TextOpts { size?: number; anchor?: 'start' | 'middle' | 'end'; weight?: 'bold'; fill?: string }

export function text(x: number, y: number, s: string, o: TextOpts = {}): string {
  const size = o.size ?? 12;
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}"${o.anchor && o.anchor !== 'start' ? ` text-anchor="${o.anchor}"` : ''}${o.weight ? ` font-weight="${o.weight}"` : ''}${o.fill ? ` fill="${o.fill}"` : ''}>${esc(s)}</text>`;
}

export const rect = (x: number, y: number, w: number, h: number, fill: string, extra = ''): string =>
  `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${fill}"${extra}/>`;

/** The hatch pattern for what is not memory (the IO hole) or not valid (INVALID_MFN). */
export const HATCH_DEFS = '<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
  '<rect width="8" height="8" fill="#e6e6e6"/><line x1="0" y1="0" x2="0" y2="8" stroke="#9a9a9a" stroke-width="3"/></pattern></defs>';

/** A whole picture: XML header, an opaque white background, a title for screen readers and viewers. */
export function svgDoc(width: number, height: number, title: string, body: string[]): string {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${FONT}" fill="#1a1a1a">\n` +
    `<title>${esc(title)}</title>\n${HATCH_DEFS}\n` +
    `<rect x="0" y="0" width="${w}" height="${h}" fill="#ffffff"/>\n` +
    body.join('\n') + '\n</svg>\n';
}

/** One range in a column. */
export interface Segment {
  start: number;
  end: number;
  /** First line of its label. */
  name: string;
  /** Second line (sizes, the other address space). */
  detail?: string;
  fill: string;
  hatch?: boolean;
}

/** Where each segment landed: its top and bottom in the picture. */
export interface Placed extends Segment { y0: number; y1: number }

export const LINE = 14;
/** Two label lines and a margin: a segment is never shorter, so its labels fit inside its height. */
export const MIN_SEG = 2 * LINE + 6;

/**
 * Heights to scale with a floor: each segment gets MIN_SEG and a share of
 * what is left in proportion to its size.
 */
export function placeSegments(segs: Segment[], top: number, height: number, minH = MIN_SEG): Placed[] {
  const total = segs.reduce((n, s) => n + (s.end - s.start), 0) || 1;
  const spare = Math.max(0, height - minH * segs.length);
  let y = top;
  return segs.map((s) => {
    const h = minH + (spare * (s.end - s.start)) / total;
    const p = { ...s, y0: y, y1: y + h };
    y += h;
    return p;
  });
}

export interface ColumnOpts {
  x: number;
  width: number;
  /** Address columns left of the bar, right-aligned at each x: the boundary addresses in each address space. */
  addressColumns: { x: number; title: string; at: (a: number) => string }[];
  /** Labels right of the bar start here. */
  labelX: number;
  /** 'end': labels right-aligned at labelX (a column whose labels sit on its left). */
  labelAnchor?: 'start' | 'end';
  titleY: number;
}

/** A column of placed segments: boxes, boundary addresses on the left, two-line labels on the right. */
export function column(placed: Placed[], o: ColumnOpts): string[] {
  const out: string[] = [];
  for (const c of o.addressColumns) out.push(text(c.x, o.titleY, c.title, { size: 11, anchor: 'end', weight: 'bold' }));
  placed.forEach((p, i) => {
    out.push(rect(o.x, p.y0, o.width, p.y1 - p.y0, p.hatch ? 'url(#hatch)' : p.fill, ' stroke="#333333" stroke-width="1"'));
    const mid = (p.y0 + p.y1) / 2;
    const anchor = o.labelAnchor ?? 'start';
    out.push(text(o.labelX, mid - 2, p.name, { size: 12, weight: 'bold', anchor }));
    if (p.detail) out.push(text(o.labelX, mid + LINE - 2, p.detail, { size: 11, fill: '#444444', anchor }));
    // The start address at the segment's top edge; the last segment also gets its end.
    const edges: [number, number][] = [[p.start, p.y0]];
    if (i === placed.length - 1) edges.push([p.end, p.y1]);
    for (const [a, y] of edges) {
      for (const c of o.addressColumns) out.push(text(c.x, y + 4, c.at(a), { size: 11, anchor: 'end' }));
      out.push(`<line x1="${(o.x - 6).toFixed(1)}" y1="${y.toFixed(1)}" x2="${o.x.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#333333"/>`);
    }
  });
  return out;
}

/** A size for a label: exact binary units, short. */
export const sizeText = (bytes: number): string => formatSize(bytes);
export { hex };

/** The longest label among the segments, in pixels (to size the picture). */
export function labelWidth(segs: Segment[]): number {
  return Math.max(0, ...segs.map((s) => Math.max(textWidth(s.name, 12), textWidth(s.detail ?? '', 11))));
}

/** A labelled bar laid out from `top`: its segments placed, where it ends, and where its labels start. */
export function barLayout(segs: Segment[], barX: number, barW: number, minHeight: number, perSegment: number): { top: number; placed: Placed[]; bottom: number; labelX: number } {
  const top = 76;
  const placed = placeSegments(segs, top, Math.max(minHeight, segs.length * perSegment));
  return { top, placed, bottom: placed[placed.length - 1].y1, labelX: barX + barW + 14 };
}
