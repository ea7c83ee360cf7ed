import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeState } from '../../src/state/snapshot';
import { cli, tempDir } from '../helpers/cli';

// Real processes, as CI runs them (dist/ is built by `npm test` first): locks, kills and races are between processes.
const BIN = path.resolve(__dirname, '../../bin/ppc-dombuild');
const env = { PATH: process.env.PATH };

function start(args: string[], cwd: string): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string; out: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string; out: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, err, out })));
  return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The kernel's start time of a pid (what the lock records beside it). */
function startOf(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function domains(sdir: string): number[] {
  return [...decodeState(fs.readFileSync(path.join(sdir, 'state.bin')), 'x').domains.keys()].sort((a, b) => a - b);
}

const linux = process.platform === 'linux' ? describe : describe.skip;

linux('the state lock', () => {
  it('six parallel create-domu on one state: all exit 0, seven distinct domains, validate 0', async () => {
    const d = tempDir('par');
    expect((await cli(['construct', '--mem', '1G', '--state', 's'], { cwd: d })).code).toBe(0);
    const runs = Array.from({ length: 6 }, () => start(['create-domu', '--mem', '256M', '--state', 's'], d).done);
    const results = await Promise.all(runs);
    for (const r of results) {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
    }
    const list = await cli(['list', '--json', '--state', 's'], { cwd: d });
    const ids = JSON.parse(list.out).domains.map((x: { domid: number }) => x.domid);
    expect(ids).toHaveLength(7);
    expect(new Set(ids).size).toBe(7);
    expect((await cli(['validate', '--state', 's'], { cwd: d })).code).toBe(0);
    expect(fs.existsSync(path.join(d, 's', 'lock'))).toBe(false);
  });

  it('a live holder: the second writer waits, then exits 75 naming its pid; once the holder is killed (-9) its lock is taken over', async () => {
    const d = tempDir('held');
    expect((await cli(['construct', '--mem', '512M', '--state', 's'], { cwd: d })).code).toBe(0);
    // A real process that holds the lock the way a writer does, and is then killed with SIGKILL.
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { env });
    await sleep(100);
    const lock = path.join(d, 's', 'lock');
    fs.writeFileSync(lock, `${holder.pid} ${startOf(holder.pid!)} ${os.hostname()} 0123456789abcdef\n`);
    const t0 = Date.now();
    const waited = spawnSync(process.execPath, [BIN, 'create-domu', '--mem', '256M', '--state', 's', '--lock-timeout', '0.5'], { cwd: d, env, encoding: 'utf8' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(waited.status).toBe(75);
    expect(waited.stderr.trim().split('\n')).toHaveLength(1);
    expect(waited.stderr).toContain(`pid ${holder.pid}`);
    expect(domains(path.join(d, 's'))).toEqual([0]);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('exit', r));
    const after = spawnSync(process.execPath, [BIN, 'create-domu', '--mem', '256M', '--state', 's', '--lock-timeout', '5'], { cwd: d, env, encoding: 'utf8' });
    expect(after.stderr).toBe('');
    expect(after.status).toBe(0);
    expect(domains(path.join(d, 's'))).toEqual([0, 1]);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('a writer killed (-9) while it holds the lock: the next writer takes it over', async () => {
    const d = tempDir('killed');
    expect((await cli(['construct', '--mem', '512M', '--state', 's'], { cwd: d })).code).toBe(0);
    const lock = path.join(d, 's', 'lock');
    const w = start(['construct', '--mem', '1G', '--linear-page', '4K', '--state', 's'], d);
    while (!fs.existsSync(lock)) await sleep(2);
    w.child.kill('SIGKILL');
    expect((await w.done).signal).toBe('SIGKILL');
    expect(fs.existsSync(lock)).toBe(true);
    const r = spawnSync(process.execPath, [BIN, 'create-domu', '--mem', '256M', '--state', 's', '--lock-timeout', '2'], { cwd: d, env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect((await cli(['validate', '--state', 's'], { cwd: d })).code).toBe(0);
  });
});

/**
 * SIGKILL at moments spread over a run: each command is timed once, then
 * killed at fixed fractions of that time. After each kill, validate exits 0
 * and the state is the old one or the new one, whole.
 */
linux('killed writers leave the old state or the new one, whole', () => {
  const FRACTIONS = [0.3, 0.5, 0.65, 0.8, 0.9, 0.97];

  async function timed(args: string[], cwd: string): Promise<number> {
    const t0 = Date.now();
    const r = await start(args, cwd).done;
    expect(r.code).toBe(0);
    return Date.now() - t0;
  }

  async function killAt(args: string[], cwd: string, ms: number): Promise<void> {
    const w = start(args, cwd);
    await sleep(ms);
    w.child.kill('SIGKILL');
    await w.done;
  }

  it('construct over an existing state', async () => {
    const d = tempDir('kill-construct');
    const sdir = path.join(d, 's');
    const sizes = [256, 384]; // MiB: which construct produced the state is its dom0's size
    expect((await cli(['construct', '--mem', '256M', '--state', 's'], { cwd: d })).code).toBe(0);
    const args = (mib: number) => ['construct', '--mem', `${mib}M`, '--state', 's'];
    const ms = await timed(args(384), d);
    for (const [i, f] of [0.4, 0.7, 0.85, 0.95].entries()) {
      const mib = sizes[i % 2];
      const other = sizes[(i + 1) % 2];
      await killAt(args(mib), d, Math.round(ms * f));
      const v = await cli(['validate', '--state', 's'], { cwd: d });
      expect(v.err).toBe('');
      expect(v.code).toBe(0);
      const tot = decodeState(fs.readFileSync(path.join(sdir, 'state.bin')), 'x').dom0().totPages;
      expect([mib, other].map((m) => (m * 2 ** 20) / 4096)).toContain(tot);
      // Put the state back to a known one for the next round, over whatever the kill left.
      expect((await cli(args(other), { cwd: d })).code).toBe(0);
    }
  });

  it('a 4K construct that saves on a second thread (more than saveTuning.backgroundMinBytes), over an existing state, at six moments', async () => {
    const d = tempDir('kill-construct-large');
    const sdir = path.join(d, 's');
    const sizes = [3072, 4096]; // MiB, 4 KiB-bolted: 15 and 20 MB of hash table records alone
    const args = (mib: number) => ['construct', '--mem', `${mib}M`, '--linear-page', '4K', '--state', 's'];
    expect((await cli(args(sizes[0]), { cwd: d })).code).toBe(0);
    const ms = await timed(args(sizes[1]), d);
    for (const [i, f] of FRACTIONS.entries()) {
      const mib = sizes[i % 2];
      const other = sizes[(i + 1) % 2];
      await killAt(args(mib), d, Math.round(ms * f));
      const v = await cli(['validate', '--state', 's'], { cwd: d });
      expect(v.err).toBe('');
      expect(v.code).toBe(0);
      const tot = decodeState(fs.readFileSync(path.join(sdir, 'state.bin')), 'x').dom0().totPages;
      expect([mib, other].map((m) => (m * 2 ** 20) / 4096)).toContain(tot);
      expect((await cli(args(other), { cwd: d })).code).toBe(0);
    }
  });

  it.each([
    ['create-domu', ['create-domu', '--mem', '256M'], (before: number[], after: number[]) => after.length === before.length || after.length === before.length + 1],
    ['balloon', ['balloon', '--target', '448M'], () => true],
    ['map-foreign', ['map-foreign', '--domid', '1', '--pfn', '5'], () => true],
    ['destroy-domu', ['destroy-domu', '--domid', '1'], (before: number[], after: number[]) => after.length === before.length || after.length === before.length - 1],
  ])('%s', async (_name, cmd, fits) => {
    const d = tempDir('kill-cmd');
    const sdir = path.join(d, 's');
    expect((await cli(['construct', '--mem', '512M', '--state', 's'], { cwd: d })).code).toBe(0);
    expect((await cli(['create-domu', '--mem', '128M', '--state', 's'], { cwd: d })).code).toBe(0);
    const base = fs.readlinkSync(path.join(sdir, 'current'));
    const snapshot = fs.readdirSync(path.join(sdir, base)).map((n) => [n, fs.readFileSync(path.join(sdir, base, n))] as const);
    const restore = () => {
      // Back to the base state: a fresh folder with its generation.
      fs.rmSync(sdir, { recursive: true, force: true });
      fs.mkdirSync(path.join(sdir, base), { recursive: true });
      for (const [n, b] of snapshot) fs.writeFileSync(path.join(sdir, base, n), b);
      fs.symlinkSync(base, path.join(sdir, 'current'));
      for (const n of ['state.bin', 'dom0.dtb', 'dom0-p2m.bin']) fs.symlinkSync(path.join('current', n), path.join(sdir, n));
    };
    const full = [...cmd, '--state', 's'];
    restore();
    const ms = await timed(full, d);
    for (const f of FRACTIONS.slice(1, 4)) {
      restore();
      const before = domains(sdir);
      await killAt(full, d, Math.round(ms * f));
      const v = await cli(['validate', '--state', 's'], { cwd: d });
      expect(v.err).toBe('');
      expect(v.code).toBe(0);
      expect(fits(before, domains(sdir))).toBe(true);
    }
  });
});

linux('a closed pipe on stdout', () => {
  it('inspect p2m --raw read for 16 bytes, then the pipe closed: no stack trace, exit 141', async () => {
    const d = tempDir('pipe');
    expect(spawnSync(process.execPath, [BIN, 'construct', '--mem', '1G'], { cwd: d, env }).status).toBe(0);
    // What `| head -c16` does: read 16 bytes, close the pipe.
    const child = spawn(process.execPath, [BIN, 'inspect', 'p2m', '--raw'], { cwd: d, env });
    let err = '';
    child.stderr!.on('data', (b) => (err += b));
    const got = await new Promise<Buffer>((resolve) => child.stdout!.once('data', (b: Buffer) => resolve(b)));
    child.stdout!.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(got.length).toBeGreaterThanOrEqual(16);
    expect(err).toBe('');
    expect(code).toBe(141);
  });
});
