import type { Region, RmaLayout } from './layout';

/** The layout's regions in address order, with the free gaps between them named "free". */
export function regionsWithGaps(L: RmaLayout): Region[] {
  const regions = [L.kernel, L.initrd, L.firmware, L.devtree, L.p2m, L.sharedInfo]
    .filter((r): r is Region => !!r && r.end > r.start)
    .sort((a, b) => a.start - b.start);
  const out: Region[] = [];
  let at = 0;
  for (const r of regions) {
    if (r.start > at) out.push({ name: 'free', start: at, end: r.start });
    out.push(r);
    at = Math.max(at, r.end);
  }
  if (at < L.rmaSize) out.push({ name: 'free', start: at, end: L.rmaSize });
  return out;
}
