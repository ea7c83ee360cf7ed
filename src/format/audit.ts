import type { Paint } from './paint';
import { PAGE_SIZE } from '../machine/constants';
import { AuditResult, CLASSES, KIND_TEXT, KINDS, MisreadKind, NumberClass, SCHEMES } from '../xen/audit';
import type { SweepResult } from '../builder/audit_sweep';
import { type Columns, DEFAULT_COLUMNS, fitText, renderTable } from './table';
import { formatSize, hex } from './units';
import { doc, range, span } from './contract';

const CLASS_TEXT: Record<NumberClass, string> = { 'dom0-pfn': 'dom0 pfns', 'domu-frame': 'domU frames', 'io-frame': 'IO frames', 'grant-frame': 'grant frames' };

export function auditJson(r: AuditResult, ms?: number): object {
  return doc('audit', {
    mode: 'audit',
    machine: { name: r.machine, ramBytes: r.ramBytes },
    dom0: { memBytes: r.dom0.memBytes, memPages: r.dom0.pages, rmaMaddr: r.dom0.rmaMaddr, extents: r.dom0.extents },
    domus: r.domus.map((d) => ({ domid: d.domid, memBytes: d.memBytes, memPages: d.frames, mfns: range(d.firstMfn, d.lastMfn + 1) })),
    domusSkipped: r.domusSkipped,
    ioPages: r.ioFrames,
    grantPages: r.grantFrames,
    schemes: Object.fromEntries(SCHEMES.map((s) => {
      const a = r.schemes[s];
      return [s, {
        misread: a.misread,
        classes: a.classes,
        kinds: Object.fromEntries(KINDS.map((k) => [k, { text: KIND_TEXT[k], count: a.kinds[k].count, examples: a.kinds[k].examples.map((e) => ({ class: e.cls, numbers: span(e.number, e.run), meant: e.meant, readAs: e.readAs })) }])),
        runs: a.runs,
      }];
    })),
    ...(ms !== undefined ? { ms: Math.round(ms) } : {}),
  });
}

/** A dom0 size as a sweep finds it: whole GiB plus the extents past them (2 GiB + 16 MiB). */
export function sizeText(bytes: number): string {
  const g = Math.floor(bytes / 2 ** 30);
  const rest = bytes - g * 2 ** 30;
  return g === 0 || rest === 0 ? formatSize(bytes) : `${g} GiB + ${formatSize(rest)}`;
}

const count = (p: Paint, n: number): string => (n === 0 ? p.green('0') : p.red(String(n)));

export function formatAudit(p: Paint, r: AuditResult, cols: Columns = DEFAULT_COLUMNS, ms?: number): string {
  let out = `${p.bold('audit')} on ${r.machine} (${formatSize(r.ramBytes)} RAM): dom0 ${formatSize(r.dom0.memBytes)} (${r.dom0.pages} pfns, RMA at machine ${hex(r.dom0.rmaMaddr)}), ` +
    `${r.domus.length} domU${r.domus.length === 1 ? '' : 's'}${r.domus.length ? ` (${r.domus.map((d) => `dom${d.domid} ${formatSize(d.memBytes)} at mfns ${hex(d.firstMfn)}..${hex(d.lastMfn)}`).join(', ')})` : ''}, ${r.ioFrames} IO frames, ${r.grantFrames} grant-table frames${ms !== undefined ? ` (${Math.round(ms)} ms)` : ''}\n`;
  if (r.domusSkipped) out += `${p.yellow('note:')} ${r.domusSkipped} domU${r.domusSkipped === 1 ? '' : 's'} did not fit beside this dom0\n`;
  out += 'every number Xen can be handed, read the legacy way (dom0 passes pfns, pfn2mfn guesses) and the proposal\'s (dom0 passes mfns from its own table):\n';
  out += renderTable(p, ['scheme', ...CLASSES.map((c) => `${CLASS_TEXT[c]} misread`), 'misread in all'], SCHEMES.map((s) => {
    const a = r.schemes[s];
    return [s, ...CLASSES.map((c) => `${count(p, a.classes[c].misread)} / ${a.classes[c].total}`), count(p, a.misread)];
  }), ['left', ...CLASSES.map((): 'right' => 'right'), 'right'], cols);
  for (const s of SCHEMES) {
    const a = r.schemes[s];
    const kinds = KINDS.filter((k) => a.kinds[k].count > 0);
    if (!kinds.length) {
      out += `${s}: ${p.green('no misreads')}\n`;
      continue;
    }
    out += `${s}: how\n`;
    const rows: string[][] = [];
    for (const k of kinds) {
      a.kinds[k].examples.forEach((e, i) => rows.push([i === 0 ? KIND_TEXT[k] : '', i === 0 ? count(p, a.kinds[k].count) : '', e.run > 1 ? `${hex(e.number)}..${hex(e.number + e.run - 1)}` : hex(e.number), e.meant, e.readAs]));
      if (!a.kinds[k].examples.length) rows.push([KIND_TEXT[k], count(p, a.kinds[k].count), '', '', '']);
    }
    out += renderTable(p, ['how', 'numbers', 'example', 'meant', 'Xen read it as'], rows, ['left', 'right', 'left', 'left', 'left'], cols);
  }
  return fitText(out, cols);
}

export function sweepJson(r: SweepResult, ms?: number): object {
  return doc('audit', {
    mode: 'sweep',
    machine: { name: r.machine },
    largestBytes: r.largestBytes,
    points: r.points,
    starts: r.starts.map((st) => ({ scheme: st.scheme, kind: st.kind, text: KIND_TEXT[st.kind], fromBytes: st.fromBytes, count: st.count })),
    builds: r.builds,
    ...(ms !== undefined ? { ms: Math.round(ms) } : {}),
  });
}

export function formatSweep(p: Paint, r: SweepResult, cols: Columns = DEFAULT_COLUMNS, ms?: number): string {
  const seen = KINDS.filter((k) => r.points.some((pt) => pt.legacy[k] > 0 || pt.proposal[k] > 0));
  let out = `${p.bold('audit sweep')} on ${r.machine}: dom0 from 1 GiB to ${formatSize(r.largestBytes)} (${r.builds} builds${ms !== undefined ? `, ${Math.round(ms)} ms` : ''})\n`;
  const head = ['dom0', ...seen.map((k) => `legacy: ${KIND_TEXT[k]}`), 'proposal'];
  out += renderTable(p, head, r.points.map((pt) => [
    formatSize(pt.memBytes),
    ...seen.map((k) => count(p, pt.legacy[k])),
    count(p, KINDS.reduce((n, k) => n + pt.proposal[k], 0)),
  ]), head.map((_h, i) => (i === 0 ? 'left' : 'right')), cols);
  out += 'where each failure starts (smallest dom0, in whole 16 MiB extents):\n';
  for (const s of SCHEMES) {
    for (const st of r.starts.filter((x) => x.scheme === s)) {
      if (st.fromBytes === null && s === 'legacy' && !seen.includes(st.kind)) continue;
      if (st.fromBytes === null) {
        if (s === 'proposal' && st.kind === KINDS[0]) out += `  proposal: ${p.green('none at any size')}\n`;
        continue;
      }
      out += `  ${s}: ${KIND_TEXT[st.kind as MisreadKind]} from dom0 ${p.bold(sizeText(st.fromBytes))} (${st.count} numbers there, ${formatSize(st.count * PAGE_SIZE)} worth of frames)\n`;
    }
  }
  const never = KINDS.filter((k) => !seen.includes(k) && r.starts.find((x) => x.scheme === 'legacy' && x.kind === k)?.fromBytes === null);
  if (never.length) out += `  legacy, at no size tried: ${never.map((k) => KIND_TEXT[k]).join('; ')}\n`;
  return fitText(out, cols);
}
