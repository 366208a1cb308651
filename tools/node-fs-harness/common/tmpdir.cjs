/**
 * Node's test/common/tmpdir for the node:fs harness: one directory per test
 * run (AKFS_HARNESS_TMPDIR), made empty by refresh() through whatever
 * `require('fs')` is — the facade's kernel, or the host for node:fs. On an
 * in-process kernel (no *Sync calls) the harness made it empty beforehand.
 */
'use strict';
const path = require('path');
const fs = require('fs');

const tmpPath = process.env.AKFS_HARNESS_TMPDIR;

function refresh() {
  try {
    fs.rmSync(tmpPath, { recursive: true, force: true });
    fs.mkdirSync(tmpPath, { recursive: true });
  } catch (e) {
    if (e.code !== 'ERR_ANYKERNEL_NO_SYNC') throw e;
  }
}

module.exports = {
  path: tmpPath,
  refresh,
  resolve: (...p) => path.resolve(tmpPath, ...p),
  hasEnoughSpace: () => true,
  fileURL: (...p) => require('url').pathToFileURL(path.join(tmpPath, ...p)),
};
