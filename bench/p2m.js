'use strict';
// Issue 2's targets: building the p2m table for a 30 GiB - 16 MiB dom0 (big64's largest now that its map keeps the IO hole) (<= 2x bench/yardstick.c's p2m_fill_ms),
// the whole construct process (< 1 s, < 300 MiB peak RSS), `inspect p2m --json` after it (< 500 ms).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ROOT, refBinary, runRef, timeCli, median, check, report } = require('./lib');

// The modules this bench loads from dist/, in one place. Each is a list of
// candidates, first found wins: domain_build and images are moving from
// src/xen/ to src/builder/, so both trees work.
const MODULES = {
  machine: ['machine/machine'],
  domainBuild: ['builder/domain_build', 'xen/domain_build'],
  images: ['builder/images', 'xen/images'],
  machineSelect: ['commands/machine_select'],
};
function dist(key) {
  for (const rel of MODULES[key]) {
    const file = path.join(ROOT, 'dist', `${rel}.js`);
    if (fs.existsSync(file)) return require(file);
  }
  throw new Error(`dist/${MODULES[key][0]}.js is missing: run \`npm run build\` first`);
}
const { Machine } = dist('machine');
const { System } = require(path.join(ROOT, 'dist', 'xen', 'system.js'));
const { constructDom0 } = dist('domainBuild');
const { syntheticKernel } = dist('images');
const { selectMachine } = dist('machineSelect');

// The largest dom0 a table at 32 MiB allows now that dom0's map keeps the IO hole (docs/limits.md).
const MEM = '30704M';
const ARGS = ['--machine', 'big64', '--mem', MEM, '--p2m-placement', '32M', '--of-at', '16M'];

/** Time the table-building steps (6-9: RMA entries, INVALID_MFN fill, allocate_extents) in-process. */
function tableBuildMs(runs = 7) {
  const sel = selectMachine(ROOT, 'big64', undefined);
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const sys = new System(Machine.boot(sel.profile), sel.firmwareTree, sel.firmwareBlob);
    const at = {};
    constructDom0(sys, {
      mem: 30704 * 2 ** 20, rmaSize: 64 * 2 ** 20, placement: { kind: 'at', address: 32 * 2 ** 20 }, ofAt: 16 * 2 ** 20,
      kernel: syntheticKernel(6 * 2 ** 20), bootargs: '', firmwareTree: sel.firmwareTree,
    }, (ev) => { at[ev.step] = performance.now(); });
    samples.push(at[9] - at[5]);
  }
  return median(samples);
}

function main() {
  const rows = [];
  const ref = refBinary();
  const fill = tableBuildMs();
  if (ref) {
    const r = runRef(ref, MEM, '4K');
    console.log(`yardstick.c ${MEM}: p2m_fill_ms ${r.p2m_fill_ms}`);
    check(rows, `p2m table build, ${MEM} (vs 2x yardstick.c ${r.p2m_fill_ms} ms)`, fill, 2 * r.p2m_fill_ms, 'ms');
  } else {
    console.log(`p2m table build ${fill.toFixed(2)} ms (no C compiler for bench/yardstick.c: not compared)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppcdb-bench-'));
  const c = timeCli(['construct', ...ARGS], dir);
  check(rows, `construct ${MEM} process wall`, c.wallMs, 1000, 'ms');
  check(rows, `construct ${MEM} process peak RSS`, c.peakRssMiB, 300, 'MiB');
  const ins = timeCli(['inspect', 'p2m', '--json'], dir);
  check(rows, 'inspect p2m --json after it, wall', ins.wallMs, 500, 'ms');
  fs.rmSync(dir, { recursive: true, force: true });
  return { rows, ok: report(rows, 'issue 2: p2m in the RMA') };
}

process.exitCode = main().ok ? 0 : 1;
