import fc from 'fast-check';
import chalk from 'chalk';
import { fitText, renderFacts, renderTable, stripAnsi, visibleWidth, WIDE } from '../../src/format/table';

const plain = new chalk.Instance({ level: 0 });
const colour = new chalk.Instance({ level: 1 });
const lines = (s: string): string[] => s.replace(/\n$/, '').split('\n');
/** Every non-space character of a rendered table, borders removed, in order. */
const ink = (s: string): string => stripAnsi(s).replace(/[│┌┐└┘├┤┬┴┼─\s]/g, '');
/** The multiset of those characters, sorted (a wrapped cell's characters come in another order). */
const inkBag = (s: string): string => [...ink(s)].sort().join('');

const word = fc.stringMatching(/^[a-z0-9x.()]{1,30}$/);
const cell = fc.array(word, { minLength: 1, maxLength: 8 }).map((ws) => ws.join(' '));

describe('renderTable and renderFacts', () => {
  it('are never wider than the columns given, and lose no character of any cell', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 30, max: 160 }), fc.boolean(), fc.array(fc.array(cell, { minLength: 6, maxLength: 6 }), { minLength: 1, maxLength: 4 }), (n, cols, painted, rows) => {
      const p = painted ? colour : plain;
      const head = Array.from({ length: n }, (_x, i) => `column ${i}`);
      const body = rows.map((r) => r.slice(0, n).map((c, i) => (i === 0 && painted ? p.red(c) : c)));
      const t = renderTable(p, head, body, undefined, cols);
      for (const l of lines(t)) expect(visibleWidth(l)).toBeLessThanOrEqual(cols);
      // Every character of every cell is there, and nothing else (a wrapped cell continues on the next line of its column).
      expect(inkBag(t)).toBe(inkBag([...head, ...body.flat()].join('')));
      const facts = body.map((r) => [r[0], r.slice(1).join(' ')] as [string, string]);
      const f = renderFacts(p, facts, cols);
      for (const l of lines(f)) expect(visibleWidth(l)).toBeLessThanOrEqual(cols);
      expect(inkBag(f)).toBe(inkBag(facts.flat().join('')));
    }), { numRuns: 40 });
  });

  it('keep each row on one line when the table fits, with no rule between rows', () => {
    const t = renderTable(plain, ['a', 'b'], [['x', 'y'], ['z', 'w']], undefined, 80);
    expect(lines(t)).toEqual(['┌───┬───┐', '│ a │ b │', '├───┼───┤', '│ x │ y │', '│ z │ w │', '└───┴───┘']);
  });

  it('wrap the widest column at words first, and give the full width with WIDE', () => {
    const long = 'the table lies inside the RMA (what /memory@0 describes) and nothing else is there';
    const t = renderTable(plain, ['invariant', 'what it promises'], [['p2m-inside-rma', long]], undefined, 40);
    expect(lines(t).map((l) => visibleWidth(l))).toEqual(lines(t).map(() => 40));
    expect(lines(t)[3]).toMatch(/^│ p2m-inside-rma │ the table lies {6}│$/);
    expect(lines(renderTable(plain, ['invariant', 'what it promises'], [['p2m-inside-rma', long]], undefined, WIDE))).toHaveLength(5);
  });
});

describe('fitText', () => {
  it('wraps prose at spaces with a hanging indent, never wider than the columns', () => {
    fc.assert(fc.property(fc.array(word, { minLength: 1, maxLength: 40 }), fc.integer({ min: 24, max: 120 }), (ws, cols) => {
      const text = ws.join(' ') + '\n';
      const out = fitText(text, cols);
      for (const l of lines(out)) expect(visibleWidth(l)).toBeLessThanOrEqual(cols);
      expect(out.replace(/\s+/g, '')).toBe(text.replace(/\s+/g, ''));
    }));
    expect(fitText('note: one two three four five six seven\n', 24)).toBe('note: one two three four\n  five six seven\n');
  });
});
