import type { Paint } from './paint';
import type { ValidationReport } from '../xen/validate';
import { type Columns, DEFAULT_COLUMNS, fitText, renderTable } from './table';
import { doc } from './contract';

export function formatValidation(p: Paint, r: ValidationReport, cols: Columns = DEFAULT_COLUMNS): string {
  const mark = (s: string): string => (s === 'ok' ? p.green('ok') : s === 'broken' ? p.red('BROKEN') : p.yellow('skipped'));
  let out = `${p.bold(`validate dom${r.domid}`)}: ${r.ok ? p.green('every invariant holds') : p.red(`${r.invariants.filter((i) => i.status === 'broken').length} invariant(s) broken`)}\n`;
  out += renderTable(p, ['invariant', 'status', 'checked', 'problems', 'what it promises'], r.invariants.map((i) => [i.name, mark(i.status), i.checked, i.problems || '', i.note ? `${i.what} ${p.dim(`(${i.note})`)}` : i.what]), ['left', 'left', 'right', 'right', 'left'], cols);
  for (const i of r.invariants) {
    if (i.status !== 'broken') continue;
    out += `\n${p.red(i.name)}: ${i.problems} problem(s)\n`;
    for (const s of i.samples) out += `  - ${s}\n`;
    if (i.problems > i.samples.length) out += `  ... and ${i.problems - i.samples.length} more\n`;
  }
  return fitText(out, cols);
}

export function validationJson(r: ValidationReport): object {
  return doc('validate', {
    ok: r.ok,
    domid: r.domid,
    broken: r.invariants.filter((i) => i.status === 'broken').map((i) => i.name),
    invariants: r.invariants.map((i) => ({ name: i.name, what: i.what, status: i.status, checked: i.checked, problems: i.problems, samples: i.samples, note: i.note ?? null })),
  });
}
