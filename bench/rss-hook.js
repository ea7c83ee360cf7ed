// Preloaded into a CLI run by the benchmark: reports the process's peak RSS on exit.
'use strict';
process.on('exit', () => {
  const fd = Number(process.env.BENCH_RSS_FD || 3);
  try {
    require('fs').writeSync(fd, `${process.resourceUsage().maxRSS}\n`);
  } catch {
    /* not under the benchmark */
  }
});
