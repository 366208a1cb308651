/**
 * The node:fs harness's `--import` entry (run.ts). In the test's main thread:
 * `../common`, `../common/tmpdir` and `../common/fixtures` resolve to this
 * directory's common/ (Node's own test/common is not used); in `host` mode
 * the temporary directory is made on the host and node:fs is left alone; in
 * the kernel modes setup.mts (loaded through tsx) makes `require('fs')` the
 * facade. Threads the test or the kernel starts inherit the flag and skip it.
 */
import { isMainThread } from 'node:worker_threads';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

if (isMainThread) {
  const require = createRequire(import.meta.url);
  const Module = require('node:module');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const shims = {
    common: path.join(here, 'common', 'index.cjs'),
    'common/index': path.join(here, 'common', 'index.cjs'),
    'common/tmpdir': path.join(here, 'common', 'tmpdir.cjs'),
    'common/fixtures': path.join(here, 'common', 'fixtures.cjs'),
  };
  const origResolve = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    const m = /^\.\.?\/(?:\.\.\/)*(common(?:\/(?:index|tmpdir|fixtures))?)(?:\.js)?$/.exec(request);
    if (m !== null && shims[m[1]] !== undefined) return shims[m[1]];
    return origResolve.call(this, request, parent, ...rest);
  };
  if ((process.env.AKFS_HARNESS_MODE ?? 'host') === 'host') {
    const tmp = process.env.AKFS_HARNESS_TMPDIR;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
  } else {
    await import('./setup.mts');
  }
}
