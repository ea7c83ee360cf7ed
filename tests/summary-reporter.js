// Prints the closing line CI reads, "jest: N passed, N failed, N skipped", alone on a line.
// Jest's own summary is printed after every custom reporter, so the line goes out at exit.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests: p, numFailedTests: f, numPendingTests: s, numTodoTests: t } = results;
    process.on('exit', () => process.stdout.write(`\njest: ${p} passed, ${f} failed, ${s + t} skipped\n`));
  }
}
module.exports = SummaryReporter;
