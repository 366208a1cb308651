/**
 * Node's test/common/fixtures for the node:fs harness: paths under the test
 * directory's `fixtures` (copied into the kernel by the harness, at the same
 * path). Reads go through `require('fs')`.
 */
'use strict';
const path = require('path');
const fixturesDir = process.env.AKFS_HARNESS_FIXTURES;

function fixturesPath(...args) {
  return path.join(fixturesDir, ...args);
}

module.exports = {
  fixturesDir,
  path: fixturesPath,
  fileURL: (...args) => require('url').pathToFileURL(fixturesPath(...args)),
  readSync: (args, enc) => require('fs').readFileSync(fixturesPath(...[].concat(args)), enc),
  readKey: (name, enc) => require('fs').readFileSync(fixturesPath('keys', name), enc),
};
