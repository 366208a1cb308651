/**
 * Measure the FUSE request round trip (host stat() → LOOKUP → reply) with a trivial handler, for
 * each reader. Needs root and /dev/fuse.
 *
 *   npx tsx src/frontends/fuse/measure.ts [N]
 *
 * Entry and attribute timeouts are 0, so every stat() of the file costs exactly one LOOKUP.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FuseSession } from './session.ts';

const exec = promisify(execFile);
const N = Number(process.argv[2] ?? 20000);
const t = { sec: 0, nsec: 0 };
const attr = (ino: number) => ({
  ino, size: 0, blocks: 0, atime: t, mtime: t, ctime: t, mode: ino === 1 ? 0o40755 : 0o100644,
  nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096,
});

const CHILD = `
const fs = require('node:fs');
const p = process.argv[1] + '/f', N = Number(process.argv[2]);
for (let i = 0; i < 1000; i++) fs.statSync(p);
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) fs.statSync(p);
console.log((Number(process.hrtime.bigint() - t0) / N / 1000).toFixed(1));
`;

for (const reader of ['worker', 'async'] as const) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-measure-'));
  let lookups = 0;
  const s = await FuseSession.mount(dir, {
    lookup: () => (lookups++, { nodeid: 2, generation: 0, entryTimeout: 0, attrTimeout: 0, attr: attr(2) }),
    getattr: (req) => ({ attrTimeout: 0, attr: attr(req.header.nodeid) }),
  }, { reader });
  try {
    const { stdout } = await exec(process.execPath, ['-e', CHILD, dir, String(N)]);
    console.log(`${reader} reader: ${stdout.trim()} µs per stat() round trip (${N} stats, ${lookups} LOOKUPs)`);
  } finally {
    await s.unmount();
    fs.rmdirSync(dir);
  }
}
