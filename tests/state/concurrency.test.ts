import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { saveTuning } from '../../src/commands/state_store';
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
 * SIGKILL at moments spread over a run: each command is timed first, then
 * killed at fixed fractions of that time (at most 0.95 of it, so the kill
 * lands inside the run; every round asserts the child died of the signal).
 * After each kill, validate exits 0 and the state is the old one or the new
 * one, whole.
 */
linux('killed writers leave the old state or the new one, whole', () => {
  const FRACTIONS = [0.3, 0.5, 0.65, 0.8, 0.9, 0.97];
  /** The latest moment a kill is sent, as a fraction of the timed run: later, a slightly faster run may have finished. */
  const LATEST = 0.95;

  type Outcome = { code: number | null; signal: NodeJS.Signals | null; err: string; out: string };

  /** A run of the command to the end (exit 0, nothing on stderr): how long it took, in ms. */
  async function timedRun(args: string[], cwd: string): Promise<number> {
    const t0 = Date.now();
    const r = await start(args, cwd).done;
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    return Date.now() - t0;
  }

  /**
   * Runs the command and SIGKILLs it `fraction` (at most LATEST) of
   * `timing.ms` after it started, and asserts it died of the kill (a run that
   * finished before it tested nothing). Runs vary in speed on a loaded
   * machine (and so do the sleep's wake-ups): when one finished before the
   * kill, the timing becomes 0.95 of the faster of it and that run, `putBack`
   * restores the state the round began with, and the round is run again,
   * earlier (at most six runs in all; the last must die of the kill).
   */
  async function killAt(args: string[], cwd: string, timing: { ms: number }, fraction: number, putBack: () => void | Promise<void>): Promise<Outcome> {
    for (let run = 1; ; run++) {
      const t0 = Date.now();
      const w = start(args, cwd);
      let took = Infinity;
      void w.done.then(() => (took = Date.now() - t0));
      await sleep(Math.round(timing.ms * Math.min(fraction, LATEST)));
      w.child.kill('SIGKILL');
      const r = await w.done;
      if (r.signal === null && r.code === 0 && run < 6) {
        timing.ms = 0.95 * Math.min(timing.ms, took);
        await putBack();
        continue;
      }
      expect({ code: r.code, signal: r.signal }).toEqual({ code: null, signal: 'SIGKILL' });
      return r;
    }
  }

  /** validate, a real process, on what a kill left: exit 0, nothing on stderr. */
  function valid(d: string): void {
    const v = spawnSync(process.execPath, [BIN, 'validate', '--state', 's'], { cwd: d, env, encoding: 'utf8' });
    expect(v.stderr).toBe('');
    expect(v.status).toBe(0);
  }

  const pages = (mib: number): number => (mib * 2 ** 20) / 4096;
  /** dom0's size in pages in the state in `sdir` (which construct produced it). */
  const totOf = (sdir: string): number => decodeState(fs.readFileSync(path.join(sdir, 'state.bin')), 'x').dom0().totPages;

  /**
   * Constructs of two sizes over one state: each size timed (fastest of
   * three) over the other's state; then per fraction, a construct of the size
   * the state is not is killed, the state left is the one before or the new
   * one, and the construct is then run to the end (so the next round kills
   * the other size, again over a state it can be told from).
   * `afterTimed` looks at each state a timed run left.
   */
  async function killRounds(d: string, args: (mib: number) => string[], sizes: [number, number], fractions: number[], afterTimed: (sdir: string) => void = () => {}): Promise<void> {
    const sdir = path.join(d, 's');
    expect((await cli(args(sizes[0]), { cwd: d })).code).toBe(0);
    const timing = new Map(sizes.map((m) => [m, { ms: Infinity }]));
    for (let k = 0; k < 3; k++) {
      for (const mib of [sizes[1], sizes[0]]) {
        const t = timing.get(mib)!;
        t.ms = Math.min(t.ms, await timedRun(args(mib), d));
        expect(totOf(sdir)).toBe(pages(mib));
        afterTimed(sdir);
      }
    }
    for (const f of fractions) {
      const before = totOf(sdir);
      const was = sizes.find((m) => pages(m) === before)!;
      const mib = sizes.find((m) => m !== was)!;
      await killAt(args(mib), d, timing.get(mib)!, f, async () => expect((await cli(args(was), { cwd: d })).code).toBe(0));
      valid(d);
      expect([before, pages(mib)]).toContain(totOf(sdir));
      // Put the state to a known one for the next round, over whatever the kill left.
      expect((await cli(args(mib), { cwd: d })).code).toBe(0);
      expect(totOf(sdir)).toBe(pages(mib));
    }
  }

  it('construct over an existing state', async () => {
    const d = tempDir('kill-construct');
    // MiB: which construct produced the state is its dom0's size
    await killRounds(d, (mib) => ['construct', '--mem', `${mib}M`, '--state', 's'], [256, 384], [0.4, 0.7, 0.85, 0.95]);
  });

  it('a 4K construct that saves on a second thread (more than saveTuning.backgroundMinBytes), over an existing state, at six moments', async () => {
    const d = tempDir('kill-construct-large');
    // MiB, 4 KiB-bolted: dom0's p2m table alone is 18 MiB, with the state file above the threshold
    await killRounds(d, (mib) => ['construct', '--mem', `${mib}M`, '--linear-page', '4K', '--state', 's'], [4096, 6144], FRACTIONS, (sdir) => {
      // What the save wrote anew: the new generation's state file and p2m file (construct carries nothing over).
      const written = ['state.bin', 'dom0-p2m.bin'].reduce((n, f) => n + fs.statSync(path.join(sdir, 'current', f)).size, 0);
      expect(written).toBeGreaterThanOrEqual(saveTuning.backgroundMinBytes);
    });
  });

  /** The facts of the state in `sdir` a command changes: its domains, dom0's size in pages, and the live foreign mappings. */
  const facts = (sdir: string) => {
    const sys = decodeState(fs.readFileSync(path.join(sdir, 'state.bin')), 'x');
    return { domains: [...sys.domains.keys()].sort((a, b) => a - b), tot: sys.dom0().totPages, foreign: sys.foreign.length };
  };
  type Facts = ReturnType<typeof facts>;

  it.each([
    ['create-domu', ['create-domu', '--mem', '256M'], (before: Facts, after: Facts) => after.domains.length === before.domains.length || after.domains.length === before.domains.length + 1],
    ['balloon', ['balloon', '--target', '448M'], (before: Facts, after: Facts) => after.tot === before.tot || after.tot === pages(448)],
    ['map-foreign', ['map-foreign', '--domid', '1', '--pfn', '5'], (before: Facts, after: Facts) => after.foreign === before.foreign || after.foreign === before.foreign + 1],
    ['destroy-domu', ['destroy-domu', '--domid', '1'], (before: Facts, after: Facts) => after.domains.length === before.domains.length || after.domains.length === before.domains.length - 1],
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
    const unchanged = facts(sdir);
    const timing = { ms: Infinity };
    for (let k = 0; k < 3; k++) {
      restore();
      timing.ms = Math.min(timing.ms, await timedRun(full, d));
      // The command run to the end changes what `fits` looks at (so the old state and the new one differ in it).
      expect(fits(unchanged, facts(sdir))).toBe(true);
      expect(facts(sdir)).not.toEqual(unchanged);
    }
    for (const f of FRACTIONS.slice(1, 4)) {
      restore();
      const before = facts(sdir);
      await killAt(full, d, timing, f, restore);
      valid(d);
      expect(fits(before, facts(sdir))).toBe(true);
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
