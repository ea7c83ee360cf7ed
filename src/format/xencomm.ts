import type { Paint } from './paint';
import { XencommDescriptor, xencommRuns, XENCOMM_ADDRS_PER_PAGE } from '../guest/xencomm';
import { type Columns, DEFAULT_COLUMNS, fitText, renderTable } from './table';
import { formatSize, hex } from './units';
import { doc, span } from './contract';
import { PAGE_SIZE } from '../machine/constants';

export function xencommJson(x: XencommDescriptor): object {
  return doc('xencomm', {
    domid: x.domid,
    buffer: { paddrs: span(x.paddr, x.len), bytes: x.len },
    magic: x.magic,
    nrAddrs: x.nrAddrs,
    descriptorBytes: x.descriptorBytes,
    fitsOnePage: x.fitsOnePage,
    addresses: x.entries.map((e) => e.maddr),
    entries: x.entries.map((e) => ({ index: e.index, paddrs: span(e.paddr, e.bytes), pfn: e.pfn, mfn: e.mfn, maddrs: span(e.maddr, e.bytes), bytes: e.bytes, region: e.region, extent: e.extent })),
    breaks: x.breaks.map((b) => ({ index: b.index, kind: b.kind, fromPfn: b.fromPfn, toPfn: b.toPfn, fromMaddrEnd: b.fromMaddrEnd, toMaddr: b.toMaddr })),
    runs: xencommRuns(x).map((r) => ({ addresses: span(r.first, r.count), pfns: span(r.pfn, r.bytes / PAGE_SIZE), maddrs: span(r.maddr, r.bytes), bytes: r.bytes, region: r.region })),
  });
}

export function formatXencomm(p: Paint, x: XencommDescriptor, cols: Columns = DEFAULT_COLUMNS): string {
  let out = `xencomm descriptor for dom${x.domid}'s buffer [${hex(x.paddr)}, ${hex(x.paddr + x.len)}) (${formatSize(x.len)}): magic ${hex(x.magic)}, nr_addrs ${x.nrAddrs}, ${x.descriptorBytes} bytes\n`;
  out += 'each address is a machine address, translated by dom0 through its own p2m table in the RMA\n';
  out += renderTable(p, ['addresses', 'pfns', 'machine', 'bytes', 'region'], xencommRuns(x).map((r) => [
    r.count === 1 ? `[${r.first}]` : `[${r.first}..${r.first + r.count - 1}]`,
    r.count === 1 ? hex(r.pfn) : `${hex(r.pfn)}..${hex(r.pfn + r.count - 1)}`,
    `${hex(r.maddr)}..${hex(r.maddr + r.bytes - 1)}`,
    formatSize(r.bytes),
    r.region,
  ]), ['left', 'left', 'left', 'right', 'left'], cols);
  if (!x.breaks.length) out += `${p.green('one machine run')}: no discontinuity\n`;
  for (const b of x.breaks) out += `${p.yellow('break')} before address[${b.index}]: ${b.kind} (pfn ${hex(b.fromPfn)} ends at machine ${hex(b.fromMaddrEnd)}, pfn ${hex(b.toPfn)} starts at ${hex(b.toMaddr)})\n`;
  if (!x.fitsOnePage) out += `${p.yellow('note:')} ${x.nrAddrs} addresses do not fit one descriptor page (${XENCOMM_ADDRS_PER_PAGE} at most): Linux's xencomm_create would refuse this buffer\n`;
  return fitText(out, cols);
}
