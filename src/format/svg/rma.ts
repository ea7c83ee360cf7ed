/** inspect rma's svg picture: a domain's RMA, low addresses at the top, guest and machine addresses at every edge. */
import { regionsWithGaps, RmaMap } from '../../rma/regions';
import { column, hex, labelWidth, Segment, sizeText, svgDoc, text, barLayout } from './common';

export const RMA_COLOUR: Record<string, string> = {
  kernel: '#8fb3d9', initrd: '#a9d6d2', firmware: '#f2a3a4', 'device tree': '#f7c08a', 'p2m table': '#9fd18f',
  xenstore: '#f3e08c', console: '#d2b9a6', shared_info: '#d3b3cb', free: '#f4f4f4',
};

export function rmaSvg(who: string, L: RmaMap, rmaMaddr: number): string {
  const segs: Segment[] = regionsWithGaps(L).map((r) => ({
    start: r.start,
    end: r.end,
    name: r.name,
    detail: `${sizeText(r.end - r.start)} · machine ${hex(rmaMaddr + r.start)}`,
    fill: RMA_COLOUR[r.name] ?? '#cccccc',
  }));
  const barX = 300;
  const barW = 160;
  const { top, placed, bottom, labelX } = barLayout(segs, barX, barW, 560, 40);
  const width = labelX + labelWidth(segs) + 24;
  const body = [
    text(20, 26, `${who} RMA: ${sizeText(L.rmaSize)} at machine ${hex(rmaMaddr)}`, { size: 15, weight: 'bold' }),
    text(20, 44, 'boxes to scale with a floor (small regions stay readable); edges in guest-physical and machine addresses', { size: 11, fill: '#555555' }),
    ...column(placed, {
      x: barX,
      width: barW,
      labelX,
      titleY: top - 16,
      addressColumns: [
        { x: 130, title: 'guest', at: (a) => hex(a) },
        { x: barX - 12, title: 'machine', at: (a) => hex(rmaMaddr + a) },
      ],
    }),
  ];
  return svgDoc(Math.max(width, 760), bottom + 30, `${who} RMA`, body);
}
