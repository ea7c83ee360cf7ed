const fs = require('fs');

module.exports = async () => {
  const root = process.env.PPCDB_TEST_ROOT;
  if (root && !process.env.PPCDB_KEEP_TEST_DIRS) fs.rmSync(root, { recursive: true, force: true });
};
