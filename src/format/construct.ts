import { PAGE_SIZE } from '../machine/constants';
import { rmlsOf, rmorOf } from '../machine/cpu';
import { p2mInfo } from '../p2m/inspect';
import type { TraceEvent } from '../builder/report';
import type { BuildRecord, System } from '../xen/system';
import type { Paint } from './paint';
import { type Columns, DEFAULT_COLUMNS, fitText, renderFacts } from './table';
import { formatSize, hex } from './units';
import { doc, span, word } from './contract';
import { p2mTableJson } from './p2m';

export function formatTraceEvent(p: Paint, ev: TraceEvent, cols: Columns = DEFAULT_COLUMNS): string {
  const facts = ev.facts.map(([k, v]) => `${k}=${v}`).join('  ');
  return fitText(`${p.cyan(`[construct_dom0 ${String(ev.step).padStart(2)}]`)} ${ev.title}${facts ? `: ${facts}` : ''}\n`, cols);
}

export function constructJson(sys: System, files: { state: string; dtb: string; p2m: string }, guest?: object): object {
  const d = sys.dom0();
  const b = buildOf(sys);
  const r = b.report;
  const info = p2mInfo(d);
  const rmaMaddr = d.rma.mfn * PAGE_SIZE;
  const hptMaddr = d.arch.hpt!.mfn * PAGE_SIZE;
  const L = d.layout!;
  return doc('construct', {
    machine: { name: sys.machine.profile.name, source: b.machineSource, ramBytes: sys.machine.profile.ram },
    dom0: {
      domid: 0,
      translation: d.translation,
      memBytes: d.totPages * PAGE_SIZE,
      memPages: d.totPages,
      maxPages: d.maxPages,
      maxBytes: d.maxPages * PAGE_SIZE,
      maxMemSource: r.maxMemSource,
      platformLimitBytes: r.platformLimitBytes,
      extents: d.extents.length,
      rma: { bytes: d.rmaBytes, maddrs: span(rmaMaddr, d.rmaBytes), mfns: span(d.rma.mfn, d.rmaBytes / PAGE_SIZE), rmls: rmlsOf(d.rmaBytes), rmor: rmorOf(rmaMaddr) },
      p2m: p2mTableJson(info, 'guest'),
      hpt: { bytes: r.hptBytes, maddrs: span(hptMaddr, r.hptBytes), pftSizeLog2: Math.log2(r.hptBytes) },
      devtree: { paddrs: span(L.devtree.start, r.devtreeBytes), bytes: r.devtreeBytes, slotBytes: L.devtree.end - L.devtree.start },
      vcpu0: { pc: word(d.vcpu0.pc), msr: word(d.vcpu0.msr), r1: word(d.vcpu0.gprs[1]), r3: word(d.vcpu0.gprs[3]), r4: word(d.vcpu0.gprs[4]), r5: word(d.vcpu0.gprs[5]) },
    },
    notes: r.notes,
    files,
    guest: guest ?? null,
  });
}

export function formatConstruct(p: Paint, sys: System, files: { state: string; dtb: string; p2m: string }, cols: Columns = DEFAULT_COLUMNS): string {
  const d = sys.dom0();
  const b = buildOf(sys);
  const r = b.report;
  const L = d.layout!;
  let out = `${p.green('built dom0')} on ${sys.machine.profile.name} (${formatSize(sys.machine.profile.ram)} RAM)\n`;
  out += renderFacts(p, [
    ['memory', `${formatSize(d.totPages * PAGE_SIZE)} (${d.totPages} pages, RMA + ${d.extents.length} extents)`],
    ['RMA', `${formatSize(d.rmaBytes)} at machine ${hex(d.rma.mfn * PAGE_SIZE)} (RMLS ${rmlsOf(d.rmaBytes)}, RMOR ${hex(rmorOf(d.rma.mfn * PAGE_SIZE))})`],
    ['p2m table', `guest ${hex(d.p2mPaddr)}, machine ${hex(d.arch.p2m)}, ${formatSize(d.p2mEntries * 4)}`],
    ['covers', `${formatSize(d.maxPages * PAGE_SIZE)} of RAM (${r.maxMemSource}) in ${d.p2mEntries} entries${d.p2mEntries > d.maxPages ? ', the IO hole\'s pfns included' : ''}`],
    ['platform limit', `${formatSize(r.platformLimitBytes)} of RAM for this placement`],
    ['hash table', `${formatSize(r.hptBytes)} at machine ${hex(d.arch.hpt!.mfn * PAGE_SIZE)} (ibm,pft-size <0 ${Math.log2(r.hptBytes)}>)`],
    ['device tree', `${r.devtreeBytes} bytes at guest ${hex(L.devtree.start)}`],
    ['state', files.state],
    ['exports', `${files.dtb}, ${files.p2m}`],
  ], cols);
  for (const n of r.notes) out += `${p.yellow('note:')} ${n}\n`;
  return fitText(out, cols);
}

function buildOf(sys: System): BuildRecord {
  if (!sys.build) throw new Error('the state has no construct record');
  return sys.build;
}
