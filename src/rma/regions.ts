import type { Region, RmaLayout } from './layout';
import type { DomuLayout } from './layout';

/** An RMA as named regions, whatever kind of domain it belongs to. */
export interface RmaMap { rmaSize: number; regions: Region[] }

/** dom0's RMA (the proposal's layout). */
export function dom0RmaMap(L: RmaLayout): RmaMap {
  return { rmaSize: L.rmaSize, regions: [L.kernel, L.initrd, L.firmware, L.devtree, L.p2m, L.sharedInfo].filter((r): r is Region => !!r) };
}

/** A domU's RMA: kernel, device tree, and the special pages at the top. */
export function domuRmaMap(L: DomuLayout): RmaMap {
  const named = (name: string, r: { start: number; end: number }): Region => ({ name, start: r.start, end: r.end });
  return { rmaSize: L.rmaSize, regions: [named('kernel', L.kernel), named('device tree', L.devtree), named('xenstore', L.xenstore), named('console', L.console), named('shared_info', L.sharedInfo)] };
}

/** The regions in address order, with the free gaps between them named "free". */
export function regionsWithGaps(map: RmaMap): Region[] {
  const regions = map.regions.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: Region[] = [];
  let at = 0;
  for (const r of regions) {
    if (r.start > at) out.push({ name: 'free', start: at, end: r.start });
    out.push(r);
    at = Math.max(at, r.end);
  }
  if (at < map.rmaSize) out.push({ name: 'free', start: at, end: map.rmaSize });
  return out;
}
