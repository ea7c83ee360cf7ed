'use strict';
// Issue 9's targets: a state read on demand. Each command is timed beside `node -e 0` in the same run
// (medians over several runs), on a 30 GiB - 16 MiB 4K state (big64's largest dom0 now that its map keeps the
// IO hole) and a 4 GiB one (the inspect commands, to show their cost does not grow with the state):
//   inspect p2m --pfn 0   <= 2.5x node -e 0 wall, peak RSS within 60 MiB of node -e 0's
//   create-domu --mem 256M <= 5x node -e 0
//   inspect hpt           <= 4x node -e 0
//   construct (30G 4K)    wall and RSS reported; peak RSS < 700 MiB, wall vs 2.5x yardstick.c p2m fill + inserts
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { refBinary, runRef, timeCli, median, check, report } = require('./lib');

function nodeBaseline(runs = 7) {
  const walls = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['-e', 'require("fs").writeSync(3, `${process.resourceUsage().maxRSS}\\n`)'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
    rss = Math.max(rss, Number(String(r.output[3]).trim()) / 1024);
  }
  return { wallMs: median(walls), peakRssMiB: rss };
}

function stateSize(dir) {
  return fs.statSync(path.join(dir, '.ppc-dombuild', 'state.bin')).size / 2 ** 20;
}

function main() {
  const rows = [];
  const base = nodeBaseline();
  console.log(`node -e 0: ${base.wallMs.toFixed(1)} ms, ${base.peakRssMiB.toFixed(1)} MiB`);
  const cases = [
    ['4 GiB', ['construct', '--machine', 'big64', '--mem', '4G', '--linear-page', '4K']],
    // big64's largest dom0 now that its map keeps the IO hole (limits --machine big64 --p2m-at 32M --of-at 16M).
    ['30 GiB - 16 MiB', ['construct', '--machine', 'big64', '--mem', '30704M', '--p2m-placement', '32M', '--of-at', '16M', '--linear-page', '4K']],
  ];
  for (const [label, construct] of cases) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppcdb-bench-state-'));
    try {
      // construct 3 times, each into an empty state folder (the same work each time): the median wall, the largest RSS.
      const runs = [0, 1, 2].map(() => {
        fs.rmSync(path.join(dir, '.ppc-dombuild'), { recursive: true, force: true });
        return timeCli(construct, dir, 1);
      });
      const c = { wallMs: median(runs.map((r) => r.wallMs)), peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)) };
      console.log(`${label} 4K: construct ${c.wallMs.toFixed(0)} ms (median of 3), ${c.peakRssMiB.toFixed(0)} MiB peak; state.bin ${stateSize(dir).toFixed(0)} MiB`);
      const pfn = timeCli(['inspect', 'p2m', '--pfn', '0'], dir);
      const hpt = timeCli(['inspect', 'hpt'], dir);
      console.log(`${label}: inspect p2m --pfn 0 ${pfn.wallMs.toFixed(1)} ms ${pfn.peakRssMiB.toFixed(1)} MiB; inspect hpt ${hpt.wallMs.toFixed(1)} ms ${hpt.peakRssMiB.toFixed(1)} MiB`);
      check(rows, `${label}: inspect p2m --pfn 0 wall (vs 2.5x node -e 0 ${base.wallMs.toFixed(1)} ms)`, pfn.wallMs, 2.5 * base.wallMs, 'ms');
      check(rows, `${label}: inspect p2m --pfn 0 peak RSS (vs node -e 0 + 60 MiB)`, pfn.peakRssMiB, base.peakRssMiB + 60, 'MiB');
      check(rows, `${label}: inspect hpt wall (vs 4x node -e 0)`, hpt.wallMs, 4 * base.wallMs, 'ms');
      if (label.startsWith('30')) {
        check(rows, `${label}: construct peak RSS`, c.peakRssMiB, 700, 'MiB');
        const ref = refBinary();
        if (ref) {
          const r = runRef(ref, '30704M', '4K', 3);
          console.log(`yardstick.c 30704M 4K: p2m_fill_ms ${r.p2m_fill_ms}, hpt_map_ms ${r.hpt_map_ms}`);
          check(rows, `${label}: construct wall (vs 2.5x yardstick.c fill + inserts)`, c.wallMs, 2.5 * (r.p2m_fill_ms + r.hpt_map_ms), 'ms');
        }
        // Each create-domu adds a domain: time them one after another on the same state (later runs see more domUs).
        const walls = [];
        for (let i = 0; i < 5; i++) walls.push(timeCli(['create-domu', '--mem', '256M'], dir, 1).wallMs);
        const cd = median(walls);
        console.log(`${label}: create-domu --mem 256M ${cd.toFixed(1)} ms (median of 5)`);
        check(rows, `${label}: create-domu --mem 256M wall (vs 5x node -e 0)`, cd, 5 * base.wallMs, 'ms');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return report(rows, 'issue 9: the state read on demand');
}

process.exitCode = main() ? 0 : 1;
