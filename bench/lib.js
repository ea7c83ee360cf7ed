'use strict';
// Shared pieces of the benchmarks: the C yardstick (bench/yardstick.c), timing whole CLI runs, reporting.
const { spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'ppc-dombuild');
/** The project's C yardstick (bench/yardstick.c): the same raw work over flat arrays. */
const YARDSTICK_C = path.join(__dirname, 'yardstick.c');

/**
 * Compile bench/yardstick.c with `cc -O2` ($CC overrides cc) into os.tmpdir().
 * Returns { exe } or { why } (no compiler, or it failed), never an absolute
 * path of this machine in `why`.
 */
function buildYardstick() {
  const exe = path.join(os.tmpdir(), `ppc-dombuild-yardstick-${process.pid}`);
  const cc = process.env.CC || 'cc';
  try {
    execFileSync(cc, ['-O2', '-o', exe, YARDSTICK_C], { stdio: 'pipe' });
    process.on('exit', () => fs.rmSync(exe, { force: true }));
    return { exe };
  } catch (e) {
    const first = (e.stderr || e.message || '').toString().trim().split('\n')[0];
    return { why: `cannot compile bench/yardstick.c with ${cc}: ${first.split(os.tmpdir()).join('$TMPDIR')}` };
  }
}

/** The yardstick's binary, or undefined when it cannot be built. */
function refBinary() {
  return buildYardstick().exe;
}

/** The yardstick's phase times (median of `runs`) for a size and page size. */
function runRef(bin, size, page, runs = 5) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(bin, [size, page], { encoding: 'utf8' });
    samples.push(Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)])));
  }
  const med = (k) => median(samples.map((s) => s[k]));
  return { p2m_fill_ms: med('p2m_fill_ms'), hpt_map_ms: med('hpt_map_ms'), inserted: samples[0].inserted };
}

/** Run the CLI `runs` times; median wall ms and the largest peak RSS in MiB. */
function timeCli(args, cwd, runs = 5) {
  const walls = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['--require', path.join(__dirname, 'rss-hook.js'), BIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { ...process.env, BENCH_RSS_FD: '3' } });
    walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`ppc-dombuild ${args.join(' ')} failed: ${r.stderr}`);
    rss = Math.max(rss, Number(String(r.output[3]).trim()) / 1024);
  }
  return { wallMs: median(walls), peakRssMiB: rss };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One row per target: the figure, the limit, and whether it holds. */
function check(rows, name, value, limit, unit) {
  rows.push({ target: name, value: Number(value.toFixed(2)), limit: Number(limit.toFixed(2)), unit, ok: value <= limit });
}

function report(rows, title) {
  console.log(`\n${title}`);
  for (const r of rows) console.log(`  ${r.ok ? 'ok  ' : 'MISS'} ${r.target}: ${r.value} ${r.unit} (limit ${r.limit} ${r.unit})`);
  return rows.every((r) => r.ok);
}

module.exports = { ROOT, buildYardstick, refBinary, runRef, timeCli, median, check, report };
