#!/usr/bin/env node
'use strict';
/**
 * npm run fuzz [-- --runs N] [--args M] [--seed S] [--timeout MS]
 *
 * The hostile sweep, at scale, against the built CLI (dist/) run in-process:
 * N mutated firmware blobs (default 100,000: fixtures/firmware/*.dtb with
 * bytes and u32s overwritten, truncated or extended) through `limits
 * --firmware-dtb`, every 50th through `construct --no-boot`, and M argument
 * vectors (default 5,000) against a small built state. The cases run in a
 * worker thread; a case that takes longer than --timeout (default 5000 ms)
 * is a hang: the worker is ended and a fresh one goes on with the next case.
 * Prints the counts: runs, by exit code, exit-70s, more-than-one-line
 * errors, hangs. Exit 1 when any case exits 70, prints a bad error or hangs.
 */
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BOUNDARY = [0, 1, 2, 3, 4, 5, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10, 0x28, 0x38];
const WORDS = ['construct', 'inspect', 'p2m', 'rma', 'devtree', 'hpt', 'validate', 'limits', 'list', 'balloon', 'create-domu', 'destroy-domu', 'map-foreign', 'unmap-foreign', 'xencomm', 'frob'];
const OPTS = ['--mem', '--max-mem', '--rma', '--p2m-placement', '--of-at', '--entry-size', '--domid', '--pfn', '--from', '--pteg', '--ea', '--target', '--range', '--linear-page', '--translation', '--machine', '--ram', '--paddr', '--len', '--json', '--help', '--bogus', '--'];
const VALUES = ['', ' ', '0', '1', '-1', '+1', '4.0', '1e3', '0x', '0x10', '4G', '64M', '4G\nX', '\u0007', '\t1', '9007199254740993', '99999999999999999999T', 'after-of', 'end', 'legacy', '16M', '4K', 'a'.repeat(300), 'js21', '/dev/zero', '1-0', '0-1', '8191T'];

/** The i-th case, the same for a seed whatever worker runs it. */
function makeCase(i, opts, fixtures) {
  const r = rng(opts.seed * 1000003 + i);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  if (i < opts.runs) {
    let b = Buffer.from(pick(fixtures));
    const edits = 1 + Math.floor(r() * 4);
    for (let e = 0; e < edits && b.length; e++) {
      const k = r();
      if (k < 0.4) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      else if (k < 0.85) {
        const at = Math.floor((r() * Math.max(1, b.length - 3)) / 4) * 4;
        if (at + 4 <= b.length) b.writeUInt32BE(r() < 0.5 ? pick(BOUNDARY) >>> 0 : Math.floor(r() * 2 ** 32), at);
      } else if (k < 0.95) b = b.subarray(0, Math.floor(r() * b.length));
      else b = Buffer.concat([b, Buffer.alloc(1 + Math.floor(r() * 64), 0xa5)]);
    }
    const build = i % 50 === 0;
    return { kind: 'blob', blob: b, args: build ? ['construct', '--firmware-dtb', 'fw.dtb', '--no-boot', '--state', 'out'] : ['limits', '--firmware-dtb', 'fw.dtb', '--json'] };
  }
  const args = [pick(WORDS)];
  if (r() < 0.3) args.push(pick(WORDS));
  const n = Math.floor(r() * 7);
  for (let k = 0; k < n; k++) args.push(r() < 0.5 ? pick(OPTS) : pick(VALUES));
  if (args[0] === 'construct') args.push('--no-boot', '--mem', '256M', '--max-mem', '512M');
  return { kind: 'args', args };
}

function ioFor(dir, err) {
  return { out() {}, outBytes() {}, err: (t) => err.push(t), stdoutTTY: false, stderrTTY: false, env: {}, cwd: dir };
}

async function worker() {
  const { run } = require(path.join(ROOT, 'dist', 'cli.js'));
  const { opts, from, dir } = workerData;
  const fixtures = fs.readdirSync(path.join(ROOT, 'fixtures', 'firmware')).filter((f) => f.endsWith('.dtb')).map((f) => fs.readFileSync(path.join(ROOT, 'fixtures', 'firmware', f)));
  const total = opts.runs + opts.args;
  const state = path.join(dir, 'args', '.ppc-dombuild', 'state.bin');
  for (let i = from; i < total; i++) {
    parentPort.postMessage({ start: i });
    const c = makeCase(i, opts, fixtures);
    let cwd = path.join(dir, 'blob');
    let before;
    if (c.kind === 'blob') {
      fs.writeFileSync(path.join(cwd, 'fw.dtb'), c.blob);
      fs.rmSync(path.join(cwd, 'out'), { recursive: true, force: true });
    } else {
      cwd = path.join(dir, 'args');
      before = fs.readFileSync(state);
    }
    const err = [];
    let code;
    try {
      code = await run(c.args, ioFor(cwd, err));
    } catch (e) {
      code = 'threw';
    }
    const text = err.join('');
    const lines = text.split('\n').filter((l) => l !== '').length;
    let wrote = false;
    if (code !== 0 && c.kind === 'blob' && c.args[0] === 'construct') wrote = fs.existsSync(path.join(cwd, 'out'));
    if (code !== 0 && c.kind === 'args') {
      const after = fs.existsSync(state) ? fs.readFileSync(state) : Buffer.alloc(0);
      wrote = !after.equals(before);
      if (wrote) fs.writeFileSync(state, before);
    }
    const badLines = code === 0 ? lines > 1 : lines !== 1;
    parentPort.postMessage({ done: i, kind: c.kind, code, badLines, wrote, sample: code === 70 || code === 'threw' || badLines || wrote ? { args: c.args.map((a) => a.slice(0, 40)), err: text.slice(0, 300) } : undefined });
  }
  parentPort.postMessage({ finished: true });
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    if (i < 0) return dflt;
    const v = Number(argv[i + 1]);
    if (!Number.isSafeInteger(v) || v < 0) {
      console.error(`fuzz: ${name} needs a whole number`);
      process.exit(2);
    }
    return v;
  };
  const opts = { runs: opt('--runs', 100000), args: opt('--args', 5000), seed: opt('--seed', 13), timeout: opt('--timeout', 5000) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppcdb-fuzz-'));
  fs.mkdirSync(path.join(dir, 'blob'));
  fs.mkdirSync(path.join(dir, 'args'));
  const { run } = require(path.join(ROOT, 'dist', 'cli.js'));
  const setupErr = [];
  if ((await run(['construct', '--mem', '256M', '--max-mem', '512M', '--no-boot'], ioFor(path.join(dir, 'args'), setupErr))) !== 0) throw new Error(`fuzz: setup construct failed: ${setupErr.join('')}`);

  const counts = { blob: { runs: 0, byCode: {} }, args: { runs: 0, byCode: {} } };
  let internal = 0;
  let badLines = 0;
  let wrote = 0;
  let hangs = 0;
  const samples = [];
  const total = opts.runs + opts.args;
  const t0 = Date.now();
  let next = 0;
  while (next < total) {
    next = await new Promise((resolve, reject) => {
      const w = new Worker(__filename, { workerData: { opts, from: next, dir } });
      let current = next;
      let timer;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          hangs++;
          samples.push({ hang: current });
          w.terminate().then(() => resolve(current + 1));
        }, opts.timeout);
      };
      arm();
      w.on('message', (m) => {
        if (m.start !== undefined) {
          current = m.start;
          arm();
        } else if (m.done !== undefined) {
          const c = counts[m.kind];
          c.runs++;
          c.byCode[m.code] = (c.byCode[m.code] ?? 0) + 1;
          if (m.code === 70 || m.code === 'threw') internal++;
          if (m.badLines) badLines++;
          if (m.wrote) wrote++;
          if (m.sample && samples.length < 10) samples.push(m.sample);
          if ((m.done + 1) % 10000 === 0) process.stderr.write(`fuzz: ${m.done + 1}/${total}\n`);
        } else if (m.finished) {
          clearTimeout(timer);
          w.terminate().then(() => resolve(total));
        }
      });
      w.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const fmt = (c) => Object.entries(c.byCode).sort().map(([k, v]) => `exit ${k}: ${v}`).join(', ');
  console.log(`fuzz: seed ${opts.seed}, ${secs} s`);
  console.log(`blobs: ${counts.blob.runs} runs (${fmt(counts.blob)})`);
  console.log(`argument vectors: ${counts.args.runs} runs (${fmt(counts.args)})`);
  console.log(`exit 70: ${internal}; error not one line: ${badLines}; wrote on refusal: ${wrote}; hangs (> ${opts.timeout} ms): ${hangs}`);
  for (const s of samples) console.log(`  sample: ${JSON.stringify(s)}`);
  process.exitCode = internal || badLines || wrote || hangs ? 1 : 0;
}

if (isMainThread) main().catch((e) => {
  console.error(`fuzz: ${e.stack ?? e}`);
  process.exitCode = 70;
});
else worker();
