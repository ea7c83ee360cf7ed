import type { Paint } from './paint';
import type { BalloonReport } from '../guest/balloon';
import { PAGE_SIZE } from '../machine/constants';
import { type Columns, DEFAULT_COLUMNS, fitText, renderFacts } from './table';
import { formatSize } from './units';
import { doc, heapFree } from './contract';

/** `<what>Pages` and `<what>Bytes` for a count of pages (docs/json.md's naming rule). */
const sized = (what: string, pages: number): Record<string, number> => ({ [`${what}Pages`]: pages, [`${what}Bytes`]: pages * PAGE_SIZE });

export function balloonJson(r: BalloonReport): object {
  return doc('balloon', {
    domid: r.domid,
    keeper: r.keeper,
    ...sized('from', r.fromPages),
    ...sized('to', r.toPages),
    ...sized('released', r.released),
    ...sized('taken', r.taken),
    hptesRemoved: r.hptesRemoved,
    hptesInserted: r.hptesInserted,
    capacityEntries: r.capacityEntries,
    capacityBytes: r.capacityEntries * PAGE_SIZE,
    domainHeap: { before: heapFree(r.domHeapFreeBefore, PAGE_SIZE), after: heapFree(r.domHeapFreeAfter, PAGE_SIZE) },
  });
}

export function formatBalloon(p: Paint, r: BalloonReport, cols: Columns = DEFAULT_COLUMNS): string {
  const verb = r.toPages < r.fromPages ? 'ballooned down' : r.toPages > r.fromPages ? 'ballooned up' : 'already at target';
  return fitText(`${p.green(`dom${r.domid} ${verb}`)}: ${formatSize(r.fromPages * PAGE_SIZE)} -> ${formatSize(r.toPages * PAGE_SIZE)}\n`, cols) + renderFacts(p, [
    ['table updated', r.keeper === 'guest' ? "the guest's own p2m (in its RMA)" : "Xen's p2m (guest_physmap_add/remove_page)"],
    ['frames released', `${r.released} (${formatSize(r.released * PAGE_SIZE)}) to the domain heap`],
    ['frames taken', `${r.taken} (${formatSize(r.taken * PAGE_SIZE)}) from the domain heap`],
    ['HPTEs', `${r.hptesRemoved} removed (H_REMOVE) first, ${r.hptesInserted} inserted (H_ENTER)`],
    ['capacity', `${r.capacityEntries} entries (${formatSize(r.capacityEntries * PAGE_SIZE)})`],
    ['domain heap free', `${formatSize(r.domHeapFreeBefore * PAGE_SIZE)} -> ${formatSize(r.domHeapFreeAfter * PAGE_SIZE)}`],
  ], cols);
}
