import type { Paint } from './paint';
import { MAX_ORDER, PAGE_SIZE } from '../machine/constants';
import type { Machine } from '../machine/machine';
import { type Columns, DEFAULT_COLUMNS, fitText, renderTable } from './table';
import { formatSize, hex } from './units';

export function machineJson(m: Machine): object {
  return {
    profile: m.profile,
    ram: m.ram.map((r) => ({ maddr: r.mfn * PAGE_SIZE, bytes: r.count * PAGE_SIZE, firstMfn: r.mfn, frames: r.count })),
    xenHeap: { ranges: m.xenHeapRanges.map((r) => ({ maddr: r.mfn * PAGE_SIZE, bytes: r.count * PAGE_SIZE })), freeFrames: m.xenHeap.freeCount, freeBlocksPerOrder: m.xenHeap.histogram() },
    domainHeap: { freeFrames: m.domHeap.freeCount, freeBlocksPerOrder: m.domHeap.histogram() },
    owners: m.frames.all().map((r) => ({ firstMfn: r.mfn, frames: r.count, maddr: r.mfn * PAGE_SIZE, bytes: r.count * PAGE_SIZE, owner: r.owner === 'xen' ? 'xen' : `dom${r.owner}`, use: r.use })),
    pageRefs: [...m.pageRefs].map(([mfn, refs]) => ({ mfn, refs })),
  };
}

export function formatMachine(p: Paint, m: Machine, cols: Columns = DEFAULT_COLUMNS): string {
  let out = `${m.profile.name}: ${m.profile.description}\n${m.profile.cpu}, ${formatSize(m.profile.ram)} RAM\n\n`;
  out += p.bold('RAM') + '\n' + renderTable(p, ['machine start', 'machine end', 'size', 'mfns'], m.ram.map((r) => [hex(r.mfn * PAGE_SIZE), hex((r.mfn + r.count) * PAGE_SIZE), formatSize(r.count * PAGE_SIZE), `${hex(r.mfn)}..${hex(r.mfn + r.count - 1)}`]), undefined, cols);
  out += '\n' + p.bold('who owns what') + '\n' + renderTable(p, ['machine start', 'size', 'owner', 'use'], m.frames.all().map((r) => [hex(r.mfn * PAGE_SIZE), formatSize(r.count * PAGE_SIZE), r.owner === 'xen' ? 'xen' : `dom${r.owner}`, r.use]), undefined, cols);
  const rows: (string | number)[][] = [];
  const xh = m.xenHeap.histogram();
  const dh = m.domHeap.histogram();
  for (let o = 0; o <= MAX_ORDER; o++) {
    if (xh[o] || dh[o]) rows.push([o, formatSize(2 ** o * PAGE_SIZE), xh[o], dh[o]]);
  }
  out += '\n' + p.bold('free blocks per order') + '\n' + renderTable(p, ['order', 'block', 'xen heap', 'domain heap'], rows, ['right', 'right', 'right', 'right'], cols);
  out += `xen heap: ${m.xenHeapRanges.map((r) => `${hex(r.mfn * PAGE_SIZE)}+${formatSize(r.count * PAGE_SIZE)}`).join(', ')}; ${formatSize(m.xenHeap.freeCount * PAGE_SIZE)} free\n`;
  out += `domain heap: ${formatSize(m.domHeap.freeCount * PAGE_SIZE)} free\n`;
  return fitText(out, cols);
}
