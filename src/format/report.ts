/**
 * report with its html option: one self-contained page for a design review: the construct
 * summary, the pictures (inline SVG), the limits, the validate result and the
 * audit. No script, no external URL: it opens offline.
 */
import { PAGE_SIZE } from '../machine/constants';
import { rmlsOf } from '../machine/cpu';
import type { ValidationReport } from '../xen/validate';
import { KIND_TEXT, KINDS, SCHEMES, CLASSES, type AuditResult } from '../xen/audit';
import type { System } from '../xen/system';
import type { LimitsView } from './limits';
import { exactSize } from '../util/size';
import { p2mOf } from '../xen/shadow_p2m';
import { formatSize, hex } from './units';
import { esc } from './svg/common';
import { doc } from './contract';

export interface ReportView {
  sys: System;
  stateFile: string;
  svgs: { id: string; title: string; caption: string; svg: string }[];
  limits: LimitsView;
  validation: ValidationReport;
  audit: AuditResult | { error: string };
}

/** An SVG document as an inline <svg> element, its ids made unique on the page. */
function inline(id: string, svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '').replace(/id="hatch"/g, `id="hatch-${id}"`).replace(/url\(#hatch\)/g, `url(#hatch-${id})`);
}

const table = (head: string[], rows: string[][], cls = ''): string =>
  `<table${cls ? ` class="${cls}"` : ''}>${head.some(Boolean) ? `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` : ''}<tbody>` +
  rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') + '</tbody></table>';

function constructFacts(sys: System): [string, string][] {
  const d = sys.dom0();
  const r = sys.build?.report;
  const L = d.layout;
  const rmaMaddr = d.rma.mfn * PAGE_SIZE;
  const rows: [string, string][] = [
    ['machine', `${sys.machine.profile.name} (${formatSize(sys.machine.profile.ram)} RAM, ${sys.machine.profile.cpu})`],
    ['dom0 memory', `${formatSize(d.totPages * PAGE_SIZE)} (${d.totPages} pages, RMA + ${d.extents.length} extents); translation ${d.translation}`],
    ['RMA', `${formatSize(d.rmaBytes)} at machine ${hex(rmaMaddr)} (RMLS ${rmlsOf(d.rmaBytes)})`],
  ];
  if (L) rows.push(['p2m table', `guest ${hex(d.p2mPaddr)}, machine ${hex(d.arch.p2m)}, ${formatSize(d.p2mEntries * 4)} (${d.p2mEntries} entries, covers ${formatSize(d.maxPages * PAGE_SIZE)})`]);
  if (r) {
    rows.push(['platform limit', `${exactSize(r.platformLimitBytes)} for this placement (${r.maxMemSource})`]);
    rows.push(['hash table', `${formatSize(r.hptBytes)} at machine ${hex(d.arch.hpt!.mfn * PAGE_SIZE)}`]);
    if (L) rows.push(['device tree', `${r.devtreeBytes} bytes at guest ${hex(L.devtree.start)}`]);
  }
  for (const dom of [...sys.domains.values()].filter((x) => x.domid !== 0)) rows.push([`dom${dom.domid}`, `${formatSize(p2mOf(dom).countValid() * PAGE_SIZE)}, RMA at machine ${hex(dom.rma.mfn * PAGE_SIZE)} (${dom.translation})`]);
  for (const n of r?.notes ?? []) rows.push(['note', n]);
  return rows;
}

function limitsSection(v: LimitsView): string {
  const l = v.limits;
  const rows = l.constraints.map((c) => [esc(c.name), c.limitBytes === null ? '-' : esc(exactSize(c.limitBytes)), c.binds ? '<strong>binds</strong>' : '', esc(c.detail)]);
  return `<p>Table at ${hex(v.figures.p2mStart)} in a ${esc(formatSize(v.figures.rmaSize))} RMA: largest dom0 <strong>${l.maxDom0Bytes === null ? 'none' : esc(exactSize(l.maxDom0Bytes))}</strong> (${esc(l.binding)} binds).</p>` +
    table(['constraint', 'max dom0', 'binds', 'figure'], rows) +
    table(['RMA', 'p2m start', 'entries', 'max dom0', 'binds'], v.table.map((t) => [esc(formatSize(t.rmaSize)), hex(t.p2mStart), String(t.capacityEntries), t.maxDom0Bytes === null ? 'not allocatable' : esc(exactSize(t.maxDom0Bytes)), esc(t.binding)]));
}

function validateSection(r: ValidationReport): string {
  const broken = r.invariants.filter((i) => i.status === 'broken');
  const head = r.ok ? '<p class="ok">every invariant holds</p>' : `<p class="bad">${broken.length} invariant(s) broken: ${esc(broken.map((i) => i.name).join(', '))}</p>`;
  return head + table(['invariant', 'status', 'checked', 'problems', 'what it promises'], r.invariants.map((i) => [
    esc(i.name), `<span class="${i.status === 'ok' ? 'ok' : i.status === 'broken' ? 'bad' : 'skip'}">${esc(i.status)}</span>`, String(i.checked), i.problems ? String(i.problems) : '',
    esc(i.what) + (i.samples.length ? `<ul>${i.samples.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>` : ''),
  ]));
}

function auditSection(a: AuditResult | { error: string }): string {
  if ('error' in a) return `<p class="bad">the audit could not run: ${esc(a.error)}</p>`;
  let out = `<p>dom0 ${esc(formatSize(a.dom0.memBytes))} and ${a.domus.length} domU(s) on ${esc(a.machine)}, built the legacy way and the proposal's in memory; every number Xen can be handed, classified.</p>`;
  out += table(['scheme', ...CLASSES.map((c) => `${c} misread`), 'misread in all'], SCHEMES.map((s) => {
    const x = a.schemes[s];
    return [esc(s), ...CLASSES.map((c) => `${x.classes[c].misread} / ${x.classes[c].total}`), `<span class="${x.misread ? 'bad' : 'ok'}">${x.misread}</span>`];
  }));
  for (const s of SCHEMES) {
    const kinds = KINDS.filter((k) => a.schemes[s].kinds[k].count > 0);
    if (!kinds.length) continue;
    out += `<h3>${esc(s)}: how</h3>` + table(['how', 'numbers', 'example', 'meant', 'Xen read it as'], kinds.flatMap((k) => a.schemes[s].kinds[k].examples.map((e, i) => [
      i === 0 ? esc(KIND_TEXT[k]) : '', i === 0 ? String(a.schemes[s].kinds[k].count) : '', e.run > 1 ? `${hex(e.number)}..${hex(e.number + e.run - 1)}` : hex(e.number), esc(e.meant), esc(e.readAs),
    ])));
  }
  return out;
}

const STYLE = `
body{font-family:'DejaVu Sans',Arial,sans-serif;color:#1a1a1a;background:#ffffff;margin:24px auto;max-width:1240px;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td:first-child{white-space:nowrap}
figure{margin:8px 0 24px;overflow-x:auto}figcaption{font-size:13px;color:#555;margin-top:4px}
svg{max-width:none;height:auto;border:1px solid #ddd}
.ok{color:#1b5e20;font-weight:bold}.bad{color:#b71c1c;font-weight:bold}.skip{color:#8d6e00}
nav a{margin-right:12px}ul{margin:2px 0 2px 18px;padding:0}
`;

export function reportHtml(v: ReportView): string {
  const d = v.sys.dom0();
  const title = `ppc-dombuild report: dom0 on ${v.sys.machine.profile.name}`;
  const parts: string[] = [];
  parts.push(`<section id="construct"><h2>construct</h2>${table(['', ''], constructFacts(v.sys).map(([k, val]) => [`<strong>${esc(k)}</strong>`, esc(val)]), 'facts')}</section>`);
  for (const s of v.svgs) {
    parts.push(`<section id="${s.id}"><h2>${esc(s.title)}</h2><figure>${inline(s.id, s.svg)}<figcaption>${esc(s.caption)}</figcaption></figure></section>`);
  }
  parts.push(`<section id="limits-table"><h2>limits: every constraint</h2>${limitsSection(v.limits)}</section>`);
  parts.push(`<section id="validate"><h2>validate</h2>${validateSection(v.validation)}</section>`);
  parts.push(`<section id="audit"><h2>audit</h2>${auditSection(v.audit)}</section>`);
  const nav = ['construct', ...v.svgs.map((s) => s.id), 'limits-table', 'validate', 'audit'].map((id) => `<a href="#${id}">${id}</a>`).join('');
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${esc(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n` +
    `<h1>${esc(title)}</h1>\n<p>dom0 ${esc(formatSize(d.totPages * PAGE_SIZE))}, its p2m table in its RMA; state ${esc(v.stateFile)}.</p>\n<nav>${nav}</nav>\n` +
    parts.join('\n') + '\n</body>\n</html>\n';
}

/** report with its json option: what the page holds, and the two verdicts. */
export function reportJson(v: ReportView, file: string, bytes: number): object {
  return doc('report', {
    html: { path: file, bytes },
    sections: ['construct', ...v.svgs.map((s) => s.id), 'limits-table', 'validate', 'audit'],
    validateOk: v.validation.ok,
    auditProposalMisread: 'error' in v.audit ? null : v.audit.schemes.proposal.misread,
    auditError: 'error' in v.audit ? v.audit.error : null,
  });
}
