import { spawnSync } from 'child_process';
import * as path from 'path';
import { tempDir } from '../helpers/cli';

// The installed command, as a user or a CI script runs it (dist/ is built by `npm test` first).
const BIN = path.resolve(__dirname, '../../bin/ppc-dombuild');
const run = (args: string[], cwd: string) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH } });

describe('bin/ppc-dombuild', () => {
  const dir = tempDir('bin');

  it('builds, inspects and exits 0, without colour when piped', () => {
    const c = run(['construct', '--mem', '4G'], dir);
    expect(c.status).toBe(0);
    expect(c.stdout).not.toContain('\u001b[');
    const i = run(['inspect', 'p2m', '--json'], dir);
    expect(i.status).toBe(0);
    expect(JSON.parse(i.stdout).table.usedEntries).toBe(1048576);
  });

  it('turns errors into documented exit codes and one stderr line', () => {
    const bad = run(['construct', '--mem', '4X'], dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(run(['inspect', 'p2m', '--state', 'nowhere'], dir).status).toBe(3);
    expect(run(['construct', '--mem', '15G', '--machine', 'maple'], dir).status).toBe(1);
  });

  it('--help and --version exit 0', () => {
    const h = run(['--help'], dir);
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/construct/);
    expect(run(['--version'], dir).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
