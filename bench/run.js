'use strict';
// `npm run bench`: every speed and memory target against bench/yardstick.c (built with cc -O2) where it applies.
//   p2m.js  issue 2: building the table, the whole construct process, inspect p2m after it
//   hpt.js  issue 3: the linear-map insert phase and the peak RSS of the large constructs
//   state.js issue 9: commands on large states against node -e 0 (read on demand), create-domu, construct
// Exits 1 when a target is missed. The machines are noisy: rerun a miss before believing it.
const { spawnSync } = require('child_process');
const path = require('path');

const suites = [['p2m.js'], ['hpt.js', '--check'], ['state.js']];
let failed = 0;
for (const [script, ...args] of suites) {
  const r = spawnSync(process.execPath, [path.join(__dirname, script), ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
console.log(`\n${failed ? `${failed} suite(s) missed a target` : 'all targets met'}`);
process.exitCode = failed ? 1 : 0;
