/**
 * Measure the FUSE request round trip (host stat() → LOOKUP → reply) with a trivial handler, for
 * each way requests reach the serving thread, interleaved (A B C A B C …) so that a busy machine
 * weighs on every variant alike; prints the median per variant, its ratio to the first, and where
 * the time of a request goes (read → received → parsed → handled → written). Needs root and
 * /dev/fuse.
 *
 *   npx tsx src/frontends/fuse/measure.ts [N] [ROUNDS]
 *
 * Entry and attribute timeouts are 0, so every stat() of the file costs exactly one LOOKUP.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FuseSession, type FuseSessionOptions } from './session.ts';

const exec = promisify(execFile);
const N = Number(process.argv[2] ?? 20000);
const ROUNDS = Number(process.argv[3] ?? 3);
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

interface Variant { name: string; opts: FuseSessionOptions; async?: boolean }
const variants: Variant[] = [
  { name: 'port (MessagePort)', opts: { reader: 'port' } },
  { name: 'ring, no linger', opts: { reader: 'worker', direct: false, lingerUs: 0 } },
  { name: 'ring, linger 200 µs', opts: { reader: 'worker', direct: false, lingerUs: 200 } },
  { name: 'direct (read on the kernel thread)', opts: { reader: 'worker', direct: true } },
  { name: 'direct, async handler', opts: { reader: 'worker', direct: true }, async: true },
];

const results = new Map<string, number[]>();
const stages = new Map<string, number[][]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-measure-'));
    const wrap = <T>(x: T): T | Promise<T> => (v.async ? Promise.resolve(x) : x);
    const s = await FuseSession.mount(dir, {
      lookup: () => wrap({ nodeid: 2, generation: 0, entryTimeout: 0, attrTimeout: 0, attr: attr(2) }),
      getattr: (req) => wrap({ attrTimeout: 0, attr: attr(req.header.nodeid) }),
    }, { ...v.opts, timeStages: true });
    try {
      const st = s.dispatcher.timeStages();
      const { stdout } = await exec(process.execPath, ['-e', CHILD, dir, String(N)]);
      (results.get(v.name) ?? results.set(v.name, []).get(v.name)!).push(Number(stdout.trim()));
      const per = (x: number) => x / Math.max(1, st.requests);
      (stages.get(v.name) ?? stages.set(v.name, []).get(v.name)!).push(
        [per(st.readToReceived), per(st.receivedToParsed), per(st.parsedToHandled), per(st.handledToWritten)],
      );
    } finally {
      await s.unmount();
      fs.rmdirSync(dir);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const base = median(results.get(variants[0]!.name)!);
console.log(`stat() round trip, median of ${ROUNDS} interleaved rounds of ${N} (load: ${os.loadavg()[0]!.toFixed(1)})`);
for (const v of variants) {
  const m = median(results.get(v.name)!);
  const sg = stages.get(v.name)!;
  const col = (k: number) => median(sg.map((r) => r[k]!)).toFixed(1);
  console.log(`  ${v.name.padEnd(36)} ${m.toFixed(1).padStart(7)} µs  ${(base / m).toFixed(2)}x   stages µs: read→recv ${col(0)}, parse ${col(1)}, handler ${col(2)}, write ${col(3)}   [${results.get(v.name)!.join(' ')}]`);
}
