import { execFileSync, spawnSync } from 'child_process';
import * as path from 'path';
import { itWith, tempDir } from '../helpers/cli';

// The installed command on a real pseudo-terminal (util-linux `script`), from the
// repository root as a user runs it; dist/ is built by `npm test` before jest.
const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/ppc-dombuild');
const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const env = { PATH: process.env.PATH, TERM: 'xterm' };

/** stdout of the command on a terminal `cols` wide (stderr dropped: the progress bar redraws in place). */
function onTerminal(cols: number, args: string[]): string {
  const cmd = `stty cols ${cols}; ${sh(process.execPath)} ${sh(BIN)} ${args.map(sh).join(' ')} 2>/dev/null`;
  return execFileSync('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20 });
}

const lines = (out: string): string[] => out.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '').split('\n');
const widest = (out: string): number => Math.max(...lines(out).map((l) => [...l].length));

describe('on an 80-column terminal', () => {
  const state = tempDir('tty');
  const run = (args: string[], cols = 80): string => onTerminal(cols, [...args, '--state', state]);

  itWith('script')('every command prints at most 80 columns (and a terminal gets colour)', () => {
    const construct = run(['construct', '--mem', '4G']);
    expect(construct).toContain('\x1b['); // a real terminal: colour is on
    run(['create-domu', '--mem', '256M']);
    const outs: Record<string, string> = {
      construct,
      list: run(['list']),
      validate: run(['validate']),
      'inspect p2m': run(['inspect', 'p2m']),
      'inspect machine': run(['inspect', 'machine']),
      'inspect hpt': run(['inspect', 'hpt']),
      'inspect rma': run(['inspect', 'rma']),
    };
    // These read no state.
    for (const args of [['limits'], ['limits', '--ram', '64G', '--p2m-at', '32M', '--of-at', '16M'], ['audit'], ['audit', '--sweep']]) outs[args.join(' ')] = onTerminal(80, args);
    for (const [name, out] of Object.entries(outs)) {
      expect(lines(out).length).toBeGreaterThan(2);
      if (widest(out) > 80) throw new Error(`${name}: ${widest(out)} columns:\n${lines(out).filter((l) => [...l].length > 80).join('\n')}`);
    }
  });

  itWith('script')('list is one line per domain, like xl list', () => {
    const out = lines(run(['list'])).filter(Boolean);
    expect(out[0]).toMatch(/^Name\s+ID\s+Mem\s+Max\s+RMA\s+RMA at\s+P2m\s+P2m at\s+Translation\s+Refs$/);
    expect(out[1]).toMatch(/^dom0\s+0\s+4096\s+\d+\s+64M\s+0x[0-9a-f]+\s+guest\s+0x[0-9a-f]+\s+proposal\s+0$/);
    expect(out[2]).toMatch(/^dom1\s+1\s+256\s+256\s+64M\s+0x[0-9a-f]+\s+xen\s+0x[0-9a-f]+\s+shadow\s+0$/);
    expect(out[3]).toMatch(/^domain heap free: /);
  });

  itWith('script')('a wider terminal gets wider tables, and --wide the full width', () => {
    const narrow = run(['validate']);
    const wide = run(['validate'], 200);
    expect(widest(wide)).toBeGreaterThan(80);
    expect(widest(wide)).toBeLessThanOrEqual(200);
    expect(lines(wide).length).toBeLessThan(lines(narrow).length); // fewer wrapped rows
    const full = run(['validate', '--wide']);
    expect(widest(full)).toBeGreaterThan(80);
    expect(lines(run(['list', '--wide'])).join('\n')).toContain('mapped by others');
  });

  it('off a terminal, text is 80 columns wide', () => {
    const r = spawnSync(process.execPath, [BIN, 'limits'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('\x1b[');
    expect(widest(r.stdout)).toBeLessThanOrEqual(80);
    expect(widest(r.stdout)).toBeGreaterThan(60);
  });
});
