// One temporary root for the whole run, shared with the workers through the environment,
// so every test's scratch directory goes when the run ends (global-teardown.js).
const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async () => {
  process.env.PPCDB_TEST_ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'ppcdb-run-'));
};
