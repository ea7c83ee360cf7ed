import type { Paint } from './paint';
import { PAGE_SIZE } from '../machine/constants';
import type { P2mInfo } from '../p2m/inspect';
import type { DestroyReport, DomuReport } from '../builder/domu_build';
import type { DomuLayout } from '../rma/layout';
import type { MapResult } from '../guest/foreign';
import type { TableLocation } from '../xen/shadow_p2m';
import type { Translation } from '../xen/domain';
import { type Columns, DEFAULT_COLUMNS, fitText, renderColumns, renderFacts, renderTable, visibleWidth } from './table';
import { formatSize, hex } from './units';
import { doc, heapFree, range, span } from './contract';

/** inspect p2m's header for a table Xen keeps (a shadow domain's). */
export function formatXenP2mInfo(p: Paint, i: P2mInfo, cols: Columns = DEFAULT_COLUMNS): string {
  return `dom${i.domid} p2m table (kept by Xen: the domain hands Xen pfns)\n` + renderFacts(p, [
    ['machine (Xen heap)', `${hex(i.maddr)}..${hex(i.maddr + i.bytes - 1)}`],
    ['size', `${formatSize(i.bytes)} (${i.entries} entries x 4 bytes)`],
    ['covers', formatSize(i.coversBytes)],
    ['used', `${i.usedEntries} entries (${formatSize(i.usedEntries * PAGE_SIZE)}), ${i.invalidEntries} invalid`],
  ], cols);
}

/** A domU's RMA layout: each region a guest-physical range. */
function layoutJson(L: DomuLayout): object {
  return { kernel: range(L.kernel.start, L.kernel.end), devtree: range(L.devtree.start, L.devtree.end), xenstore: range(L.xenstore.start, L.xenstore.end), console: range(L.console.start, L.console.end), sharedInfo: range(L.sharedInfo.start, L.sharedInfo.end) };
}

export function domuJson(r: DomuReport, files: { state: string }): object {
  return doc('create-domu', {
    domain: {
      domid: r.domid,
      memBytes: r.memBytes,
      memPages: r.memBytes / PAGE_SIZE,
      maxPages: r.maxPages,
      maxBytes: r.maxPages * PAGE_SIZE,
      rma: { bytes: r.rmaBytes, maddrs: span(r.rmaMaddr, r.rmaBytes), mfns: span(r.rmaMaddr / PAGE_SIZE, r.rmaBytes / PAGE_SIZE) },
      extents: r.extents,
      xenP2m: { maddrs: span(r.xenP2m.maddr, r.xenP2m.bytes), bytes: r.xenP2m.bytes, entries: r.xenP2m.entries, heapBlockBytes: r.xenP2m.heapBytes },
      hpt: { bytes: r.hptBytes, pftSizeLog2: Math.log2(r.hptBytes) },
      layout: layoutJson(r.layout),
      devtreeBytes: r.devtreeBytes,
    },
    files,
  });
}

export function destroyJson(r: DestroyReport): object {
  return doc('destroy-domu', {
    domid: r.domid,
    freed: { domainHeapPages: r.framesFreed, domainHeapBytes: r.framesFreed * PAGE_SIZE, xenHeapPages: r.xenFramesFreed, xenHeapBytes: r.xenFramesFreed * PAGE_SIZE },
    heaps: { domain: heapFree(r.domHeapFree, PAGE_SIZE), xen: heapFree(r.xenHeapFree, PAGE_SIZE) },
  });
}

export function formatCreateDomu(p: Paint, r: DomuReport, stateFile: string, cols: Columns = DEFAULT_COLUMNS): string {
  const L = r.layout;
  let out = `${p.green(`created dom${r.domid}`)} (shadow domain: Xen keeps its p2m)\n`;
  out += renderFacts(p, [
    ['memory', `${formatSize(r.memBytes)} (${r.memBytes / PAGE_SIZE} pages, RMA + ${r.extents} extents)`],
    ['max', `${formatSize(r.maxPages * PAGE_SIZE)} (${r.maxPages} entries in Xen's table)`],
    ['RMA', `${formatSize(r.rmaBytes)} at machine ${hex(r.rmaMaddr)}`],
    ['Xen p2m', `${formatSize(r.xenP2m.bytes)} at machine ${hex(r.xenP2m.maddr)} (Xen heap, ${formatSize(r.xenP2m.heapBytes)} block)`],
    ['hash table', `${formatSize(r.hptBytes)} (ibm,pft-size <0 ${Math.log2(r.hptBytes)}>)`],
    ['device tree', `${r.devtreeBytes} bytes at guest ${hex(L.devtree.start)}`],
    ['xenstore / console / shared_info', `guest ${hex(L.xenstore.start)} / ${hex(L.console.start)} / ${hex(L.sharedInfo.start)}`],
    ['state', stateFile],
  ], cols);
  return fitText(out, cols);
}

export function formatDestroy(p: Paint, r: DestroyReport, cols: Columns = DEFAULT_COLUMNS): string {
  return fitText(`${p.green(`destroyed dom${r.domid}`)}: ${r.framesFreed} frames (${formatSize(r.framesFreed * PAGE_SIZE)}) back to the domain heap, ${r.xenFramesFreed} to the Xen heap\n` +
    `domain heap free: ${formatSize(r.domHeapFree * PAGE_SIZE)}; Xen heap free: ${formatSize(r.xenHeapFree * PAGE_SIZE)}\n`, cols);
}

/** One row of `list`. */
export interface DomainRow {
  domid: number;
  privileged: boolean;
  shadow: boolean;
  translation: Translation;
  memBytes: number;
  pages: number;
  maxBytes: number;
  rma: { bytes: number; maddr: number; firstMfn: number };
  extents: number;
  table: TableLocation & { used: number };
  hpt: { bytes: number; maddr: number } | null;
  /** Page references other domains hold on this domain's frames (live foreign mappings). */
  foreignRefs: number;
  /** A domU's RMA layout. */
  layout?: DomuLayout;
}

export interface ListView {
  domains: DomainRow[];
  heaps: { domHeapFreeBytes: number; xenHeapFreeBytes: number };
}

const MODE: Record<Translation, string> = {
  proposal: 'non-shadow: own p2m in RMA, passes mfns',
  shadow: 'shadow: Xen p2m, passes pfns',
  legacy: 'legacy: Xen p2m, pfn2mfn guesses',
};

export function listJson(v: ListView): object {
  return doc('list', {
    domains: v.domains.map((d) => ({
      domid: d.domid,
      privileged: d.privileged,
      shadow: d.shadow,
      translation: d.translation,
      memBytes: d.memBytes,
      memPages: d.pages,
      maxBytes: d.maxBytes,
      maxPages: d.maxBytes / PAGE_SIZE,
      rma: { bytes: d.rma.bytes, maddrs: span(d.rma.maddr, d.rma.bytes), mfns: span(d.rma.firstMfn, d.rma.bytes / PAGE_SIZE) },
      extents: d.extents,
      table: { keeper: d.table.keeper, paddrs: d.table.paddr === null ? null : span(d.table.paddr, d.table.bytes), maddrs: span(d.table.maddr, d.table.bytes), bytes: d.table.bytes, entries: d.table.entries, usedEntries: d.table.used },
      hpt: d.hpt ? { bytes: d.hpt.bytes, maddrs: span(d.hpt.maddr, d.hpt.bytes) } : null,
      foreignRefs: d.foreignRefs,
      layout: d.layout ? layoutJson(d.layout) : null,
    })),
    heaps: { domain: heapFree(v.heaps.domHeapFreeBytes / PAGE_SIZE, PAGE_SIZE), xen: heapFree(v.heaps.xenHeapFreeBytes / PAGE_SIZE, PAGE_SIZE) },
  });
}

const MiB = 1024 * 1024;
/** A size in MiB, as `xl list` gives Mem: a whole number when it is one. */
const mib = (bytes: number): string => (bytes % MiB === 0 ? String(bytes / MiB) : (bytes / MiB).toFixed(1));
/** An RMA size as the options take it: 64M, 1G. */
const rmaText = (bytes: number): string => formatSize(bytes).replace(/ ([KMGT])iB$/, '$1');

/**
 * `list`: like `xl list`, one line per domain (memory in MiB; the table's
 * keeper, guest or xen, and its address: guest-physical in the guest's RMA,
 * machine in the Xen heap). Wide (the wide option): every figure, one table.
 */
export function formatList(p: Paint, v: ListView, cols: Columns = DEFAULT_COLUMNS): string {
  const heaps = `domain heap free: ${formatSize(v.heaps.domHeapFreeBytes)}; Xen heap free: ${formatSize(v.heaps.xenHeapFreeBytes)}\n`;
  const full = (): string => renderTable(p, ['domain', 'memory', 'max', 'RMA', 'p2m table', 'entries', 'mode', 'mapped by others'], v.domains.map((d) => [
    `dom${d.domid}${d.privileged ? ' (priv)' : ''}`,
    formatSize(d.memBytes),
    formatSize(d.maxBytes),
    `${formatSize(d.rma.bytes)} @ ${hex(d.rma.maddr)}`,
    d.table.keeper === 'guest' ? `guest ${hex(d.table.paddr!)} (machine ${hex(d.table.maddr)})` : `Xen heap ${hex(d.table.maddr)}`,
    `${d.table.entries} (${d.table.used} used)`,
    MODE[d.translation],
    d.foreignRefs ? p.yellow(String(d.foreignRefs)) : '0',
  ]), ['left', 'right', 'right', 'left', 'left', 'right', 'left', 'right'], cols);
  if (!Number.isFinite(cols)) return full() + heaps;
  const lines = renderColumns(p, ['Name', 'ID', 'Mem', 'Max', 'RMA', 'RMA at', 'P2m', 'P2m at', 'Translation', 'Refs'], v.domains.map((d) => [
    `dom${d.domid}`,
    d.domid,
    mib(d.memBytes),
    mib(d.maxBytes),
    rmaText(d.rma.bytes),
    hex(d.rma.maddr),
    d.table.keeper === 'guest' ? 'guest' : 'xen',
    hex(d.table.keeper === 'guest' ? d.table.paddr! : d.table.maddr),
    d.translation,
    d.foreignRefs ? p.yellow(String(d.foreignRefs)) : '0',
  ]), ['left', 'right', 'right', 'right', 'right', 'right', 'left', 'right', 'left', 'right']);
  // A machine with addresses too long for one line per domain: the fitted table instead.
  const fits = lines.split('\n').every((l) => visibleWidth(l) <= cols);
  return fitText((fits ? lines : full()) + heaps, cols);
}

/** map-foreign / unmap-foreign: the mapping, and the references Xen holds now. */
export function foreignJson(action: 'map' | 'unmap', r: MapResult): object {
  const m = r.mapping;
  return doc(action === 'map' ? 'map-foreign' : 'unmap-foreign', {
    action,
    caller: m.caller,
    domid: m.domid,
    pfn: m.pfn,
    paddr: m.pfn * PAGE_SIZE,
    mfn: m.mfn,
    maddr: m.mfn * PAGE_SIZE,
    ea: m.ea,
    slot: m.slot,
    pageRefs: r.refs,
    liveMappings: r.mappings,
  });
}
