/**
 * The external tools some tests compare with (dtc, fdtget from Debian's device-tree-compiler).
 * Locally a missing tool skips those tests with one visible notice; under CI=true it fails them,
 * so CI cannot go green without its independent checks (and the summary reporter fails a CI run
 * that skipped anything at all).
 */
import { execFileSync } from 'child_process';

/** Whether a command-line tool is on PATH. */
export function have(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** CI sets CI=true; there the independent tools must run. */
export const underCi = (): boolean => process.env.CI === 'true';

const warned = new Set<string>();

/**
 * `it` when every tool named is on PATH. When one is not: under CI=true a test that fails naming
 * it; otherwise a skipped test plus one warning per missing tool.
 */
export function itWith(...tools: string[]): jest.It {
  const missing = tools.filter((t) => !have(t));
  if (missing.length === 0) return it;
  const names = missing.map((t) => `'${t}'`).join(', ');
  if (underCi()) {
    const fail = (): never => {
      throw new Error(`CI=true but ${names} not on PATH: this test compares with it and must not be skipped (apt-get install -y device-tree-compiler)`);
    };
    const failing = (name: string): void => it(name, fail);
    // `itWith(tool).each(rows)(name, fn)`: one failing test per row, named as jest names them.
    failing.each = (...table: Parameters<jest.It['each']>) => (name: string) => it.each(...table)(name, fail);
    return failing as unknown as jest.It;
  }
  for (const t of missing) {
    if (warned.has(t)) continue;
    warned.add(t);
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED: tests needing '${t}' (install it: apt-get install -y device-tree-compiler); CI installs it and runs them`);
  }
  return it.skip;
}
