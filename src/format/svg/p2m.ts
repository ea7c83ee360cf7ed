/**
 * `inspect p2m the svg option`: a domain's pfn -> mfn map. Left, the guest's pfns in
 * groups (its RMA, runs of extents, the IO hole its map keeps, entries past
 * its memory); right, the machine frames each group lands in; a band joins
 * them. INVALID_MFN groups are hatched and have no band.
 */
import { INVALID_MFN, PAGE_SIZE } from '../../machine/constants';
import type { OwnedRun, P2mInfo } from '../../p2m/inspect';
import type { Domain } from '../../xen/domain';
import type { System } from '../../xen/system';
import { column, hex, labelWidth, placeSegments, Placed, Segment, sizeText, svgDoc, text, textWidth } from './common';

interface Group { pfn: number; count: number; owner: string; use: string; valid: boolean; mfnLo: number; mfnHi: number; runs: number }

const FILL: Record<string, string> = { rma: '#9fd18f', extent: '#8fb3d9' };

/** Consecutive runs with one owner and use, and one validity, are a group. */
export function p2mGroups(runs: OwnedRun[]): Group[] {
  const out: Group[] = [];
  for (const r of runs) {
    const valid = r.mfn !== INVALID_MFN;
    const last = out[out.length - 1];
    if (last && last.owner === r.owner && last.use === r.use && last.valid === valid && last.pfn + last.count === r.pfn) {
      last.count += r.count;
      last.runs++;
      if (valid) {
        last.mfnLo = Math.min(last.mfnLo, r.mfn);
        last.mfnHi = Math.max(last.mfnHi, r.mfn + r.count);
      }
      continue;
    }
    out.push({ pfn: r.pfn, count: r.count, owner: r.owner, use: r.use, valid, mfnLo: valid ? r.mfn : 0, mfnHi: valid ? r.mfn + r.count : 0, runs: 1 });
  }
  return out;
}

function groupName(g: Group): string {
  if (!g.valid) return g.owner === 'io' ? 'IO hole: INVALID_MFN' : 'INVALID_MFN (not populated)';
  return `${g.owner} ${g.use === 'rma' ? 'RMA' : g.use === 'extent' ? 'extents' : g.use}`;
}

export function p2mSvg(sys: System, d: Domain, info: P2mInfo, runs: OwnedRun[]): string {
  void sys;
  const groups = p2mGroups(runs);
  const left: Segment[] = groups.map((g) => ({
    start: g.pfn,
    end: g.pfn + g.count,
    name: groupName(g),
    detail: `${sizeText(g.count * PAGE_SIZE)}, paddr ${hex(g.pfn * PAGE_SIZE)}`,
    fill: g.valid ? FILL[g.use] ?? '#d3b3cb' : '#e6e6e6',
    hatch: !g.valid,
  }));
  const valid = groups.map((g, i) => ({ g, i })).filter((x) => x.g.valid).sort((a, b) => a.g.mfnLo - b.g.mfnLo);
  const right: Segment[] = valid.map(({ g }) => ({
    start: g.mfnLo,
    end: g.mfnHi,
    name: `mfns ${hex(g.mfnLo)}..${hex(g.mfnHi)}`,
    detail: `machine ${hex(g.mfnLo * PAGE_SIZE)}..${hex(g.mfnHi * PAGE_SIZE)}${g.runs > 1 ? `, ${g.runs} runs` : ''}`,
    fill: FILL[g.use] ?? '#d3b3cb',
  }));

  const top = 96;
  const lLabelX = 20 + labelWidth(left);
  const lBarX = lLabelX + 96;
  const barW = 110;
  const rBarX = lBarX + barW + 200;
  const rLabelX = rBarX + barW + 12;
  const height = Math.max(520, left.length * 46);
  const lp = placeSegments(left, top, height);
  const rp = placeSegments(right, top, Math.max(right.length * 46, Math.min(height, 360)));
  const keeper = d.shadow ? "Xen's table (the domain hands Xen pfns)" : `dom${d.domid}'s own table in its RMA at guest ${hex(info.paddr)}`;
  const body: string[] = [
    text(20, 26, `dom${d.domid} p2m: ${info.entries} entries (${sizeText(info.coversBytes)} of pfns), ${info.usedEntries} used, ${info.invalidEntries} INVALID_MFN`, { size: 15, weight: 'bold' }),
    text(20, 44, `${keeper}, machine ${hex(info.maddr)}; hatched: INVALID_MFN`, { size: 11, fill: '#555555' }),
    text(lBarX, top - 34, 'guest pfns', { size: 12, weight: 'bold' }),
    text(rBarX, top - 34, 'machine frames', { size: 12, weight: 'bold' }),
  ];
  // Bands first, under the boxes: from each valid group to its machine box.
  valid.forEach(({ i }, k) => {
    const a: Placed = lp[i];
    const b: Placed = rp[k];
    const x0 = lBarX + barW;
    const x1 = rBarX;
    const mx = (x0 + x1) / 2;
    body.push(`<path d="M${x0} ${a.y0.toFixed(1)} C${mx} ${a.y0.toFixed(1)} ${mx} ${b.y0.toFixed(1)} ${x1} ${b.y0.toFixed(1)} L${x1} ${b.y1.toFixed(1)} C${mx} ${b.y1.toFixed(1)} ${mx} ${a.y1.toFixed(1)} ${x0} ${a.y1.toFixed(1)} Z" fill="${a.fill}" fill-opacity="0.35" stroke="none"/>`);
  });
  body.push(...column(lp, { x: lBarX, width: barW, labelX: lLabelX, labelAnchor: 'end', titleY: top - 16, addressColumns: [{ x: lBarX - 10, title: 'pfn', at: (a) => hex(a) }] }));
  body.push(...column(rp, { x: rBarX, width: barW, labelX: rLabelX, titleY: top - 16, addressColumns: [] }));
  const bottom = Math.max(lp[lp.length - 1]?.y1 ?? top, rp[rp.length - 1]?.y1 ?? top);
  const width = Math.max(rLabelX + labelWidth(right) + 24, textWidth(`${keeper}, machine ${hex(info.maddr)}; hatched: INVALID_MFN`, 11) + 40, 760);
  return svgDoc(width, bottom + 30, `dom${d.domid} p2m`, body);
}
