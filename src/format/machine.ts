import type { Paint } from './paint';
import { MAX_ORDER, PAGE_SIZE } from '../machine/constants';
import type { Machine } from '../machine/machine';
import { type Columns, DEFAULT_COLUMNS, fitText, renderTable } from './table';
import { formatSize, hex } from './units';
import { doc, heapFree, range, Range, span } from './contract';

/** The gaps between RAM ranges (the IO hole): machine ranges with no RAM. */
export function ramHoles(m: Machine): Range[] {
  const out: Range[] = [];
  for (let i = 1; i < m.ram.length; i++) {
    const end = (m.ram[i - 1].mfn + m.ram[i - 1].count) * PAGE_SIZE;
    const start = m.ram[i].mfn * PAGE_SIZE;
    if (start > end) out.push(range(end, start));
  }
  return out;
}

const perOrder = (h: number[]): object[] => h.map((blocks, order) => ({ order, blockBytes: 2 ** order * PAGE_SIZE, blocks }));

export function machineJson(m: Machine): object {
  const pr = m.profile;
  return doc('inspect-machine', {
    profile: { name: pr.name, description: pr.description, cpu: pr.cpu, ramBytes: pr.ram, xenLowMemoryBytes: pr.xenLowMemory, firmwareImageBytes: pr.firmwareImage, devtreeSlotBytes: pr.devtreeSlot, firmwareDtb: pr.firmwareDtb ?? null },
    ram: m.ram.map((r) => ({ maddrs: span(r.mfn * PAGE_SIZE, r.count * PAGE_SIZE), mfns: span(r.mfn, r.count), bytes: r.count * PAGE_SIZE, pages: r.count })),
    holes: ramHoles(m).map((h) => ({ maddrs: h, bytes: h.end - h.start })),
    xenHeap: { ranges: m.xenHeapRanges.map((r) => ({ maddrs: span(r.mfn * PAGE_SIZE, r.count * PAGE_SIZE), mfns: span(r.mfn, r.count), bytes: r.count * PAGE_SIZE })), ...heapFree(m.xenHeap.freeCount, PAGE_SIZE), freeBlocksPerOrder: perOrder(m.xenHeap.histogram()) },
    domainHeap: { ...heapFree(m.domHeap.freeCount, PAGE_SIZE), freeBlocksPerOrder: perOrder(m.domHeap.histogram()) },
    owners: m.frames.all().map((r) => ({ mfns: span(r.mfn, r.count), maddrs: span(r.mfn * PAGE_SIZE, r.count * PAGE_SIZE), pages: r.count, bytes: r.count * PAGE_SIZE, owner: r.owner === 'xen' ? 'xen' : `dom${r.owner}`, use: r.use })),
    pageRefs: [...m.pageRefs].map(([mfn, refs]) => ({ mfn, refs })),
  });
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
