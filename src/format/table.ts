import Table from 'cli-table3';
import type { Paint } from './paint';

/** A cli-table3 table with the project's look; colour only when the painter has it. */
export function renderTable(p: Paint, head: string[], rows: (string | number)[][], align?: ('left' | 'right')[]): string {
  const t = new Table({
    head: head.map((h) => p.bold(h)),
    style: { head: [], border: [], compact: false },
    ...(align ? { colAligns: align } : {}),
  });
  for (const r of rows) t.push(r.map(String));
  return t.toString() + '\n';
}

/** Two-column key/value table. */
export function renderFacts(p: Paint, rows: [string, string | number][]): string {
  const t = new Table({ style: { head: [], border: [] } });
  for (const [k, v] of rows) t.push([p.bold(k), String(v)]);
  return t.toString() + '\n';
}

export function json(doc: unknown): string {
  return JSON.stringify(doc, (_k, v) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v), 2) + '\n';
}
