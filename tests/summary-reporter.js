// Prints the closing line CI reads, "jest: N passed, N failed, N skipped", alone on a line.
// Jest's own summary is printed after every custom reporter, so the line goes out at exit.
// Under CI=true a skipped test fails the run: the tests that compare with dtc/fdtget skip when
// the tools are missing, and CI must not go green without them (tests/helpers/tools.ts).
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests: p, numFailedTests: f, numPendingTests: s, numTodoTests: t } = results;
    const ci = process.env.CI === 'true';
    process.on('exit', () => {
      process.stdout.write(`\njest: ${p} passed, ${f} failed, ${s + t} skipped\n`);
      if (ci && s + t > 0) {
        process.stdout.write(`jest: CI=true and ${s + t} tests skipped: a CI run must run every test (are dtc and fdtget installed?)\n`);
        process.exitCode = 1;
      }
    });
  }
}
module.exports = SummaryReporter;
