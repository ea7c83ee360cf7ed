'use strict';
// `npm run bench`: every speed and memory target, against ../shared/bench/ref.c where it applies.
// Exits 1 when a target is missed. Results also go to bench/out/results.json.
const fs = require('fs');
const path = require('path');

const suites = ['p2m', 'hpt'].filter((s) => fs.existsSync(path.join(__dirname, `${s}.js`)));
let ok = true;
const all = {};
for (const s of suites) {
  const r = require(`./${s}`).main();
  all[s] = r.rows;
  ok = ok && r.ok;
}
fs.mkdirSync(path.join(__dirname, 'out'), { recursive: true });
fs.writeFileSync(path.join(__dirname, 'out', 'results.json'), JSON.stringify(all, null, 2) + '\n');
console.log(`\n${ok ? 'all targets met' : 'some targets missed'}; details in bench/out/results.json`);
process.exitCode = ok ? 0 : 1;
