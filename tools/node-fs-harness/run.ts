/**
 * The node:fs harness: runs Node's fs tests against anykernel/fs.
 *
 *     npm run test:node-fs -- DIR [--modes host,worker,inproc] [--filter RE] [--jobs N] [--timeout MS] [--json FILE]
 *
 * DIR is a directory made by prepare.ts from Node's tests (DIR/parallel/
 * test-fs-*.js, DIR/fixtures). Each test runs in a child process of its own
 * once per mode — `host` (node:fs, the reference), `worker` (the facade over
 * a worker kernel) and `inproc` (the facade over an in-process kernel) —
 * with `require('fs')` made the facade by preload.mjs, and passes when it
 * exits with status 0. The report gives each mode's pass count; a test that
 * passes on the host and fails on a facade is listed, unless
 * known-failures.json names it for that mode with the reason (an in-process
 * failure from a `*Sync` call, ERR_ANYKERNEL_NO_SYNC, is counted apart). The exit
 * status is 1 when such an unexplained failure exists.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** tsx's loader, by absolute URL: the tests run with DIR as their working directory. */
const tsxUrl = import.meta.resolve('tsx');
const MODES = ['host', 'worker', 'inproc'] as const;
type Mode = (typeof MODES)[number];

interface Result { test: string; mode: Mode; ok: boolean; ms: number; why: string; needsSync: boolean }

function args(): { dir: string; modes: Mode[]; filter: RegExp | null; jobs: number; timeout: number; json: string | null } {
  const a = process.argv.slice(2);
  const get = (k: string): string | undefined => {
    const i = a.indexOf(k);
    return i >= 0 ? a.splice(i, 2)[1] : undefined;
  };
  const modes = (get('--modes') ?? MODES.join(',')).split(',') as Mode[];
  const filter = get('--filter');
  const jobs = Number(get('--jobs') ?? 2);
  const timeout = Number(get('--timeout') ?? 30_000);
  const json = get('--json') ?? null;
  const dir = a[0];
  if (dir === undefined || !fs.existsSync(path.join(dir, 'parallel'))) {
    console.error('usage: npm run test:node-fs -- DIR [--modes host,worker,inproc] [--filter RE] [--jobs N] [--timeout MS] [--json FILE]');
    console.error('DIR/parallel must hold test-fs-*.js (make it with tools/node-fs-harness/prepare.ts)');
    process.exit(2);
  }
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m}`);
  return { dir: path.resolve(dir), modes, filter: filter === undefined ? null : new RegExp(filter), jobs, timeout, json };
}

function runOne(dir: string, test: string, mode: Mode, timeout: number, n: number): Promise<Result> {
  const tmp = path.join(os.tmpdir(), `akfs-node-test-${process.pid}-${mode}-${n}`);
  const t0 = Date.now();
  return new Promise((resolve) => {
    // The host runs need no TypeScript: only the kernel modes load tsx.
    const loader = mode === 'host' ? [] : ['--import', tsxUrl];
    const child = spawn(process.execPath, ['--expose-internals', ...loader, '--import', path.join(here, 'preload.mjs'), path.join(dir, 'parallel', test)], {
      cwd: dir,
      env: { ...process.env, AKFS_HARNESS_MODE: mode, AKFS_HARNESS_TMPDIR: tmp, AKFS_HARNESS_FIXTURES: path.join(dir, 'fixtures'), NODE_NO_WARNINGS: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (mode === 'host') fs.rmSync(tmp, { recursive: true, force: true });
      const firstError = out.split('\n').find((l) => /Error|Mismatched|rror \[/.test(l)) ?? out.split('\n').find((l) => l.trim() !== '') ?? '';
      const why = signal === 'SIGKILL' ? `timeout after ${timeout} ms` : code === 0 ? '' : firstError.trim().slice(0, 200);
      resolve({ test, mode, ok: code === 0, ms: Date.now() - t0, why, needsSync: code !== 0 && out.includes('ERR_ANYKERNEL_NO_SYNC') });
    });
  });
}

async function main(): Promise<void> {
  const o = args();
  const known = JSON.parse(fs.readFileSync(path.join(here, 'known-failures.json'), 'utf8')) as Record<string, Record<string, string>>;
  const tests = fs.readdirSync(path.join(o.dir, 'parallel')).filter((f) => /^test-fs-.*\.js$/.test(f) && (o.filter === null || o.filter.test(f))).sort();
  const queue: [string, Mode, number][] = [];
  let n = 0;
  for (const t of tests) for (const m of o.modes) queue.push([t, m, n++]);
  const results: Result[] = [];
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      results.push(await runOne(o.dir, next[0], next[1], o.timeout, next[2]));
      if (++done % 50 === 0) console.error(`${done}/${n}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, worker));
  const by = (t: string, m: Mode): Result | undefined => results.find((r) => r.test === t && r.mode === m);
  let unexplained = 0;
  console.log(`Node fs tests in ${o.dir}: ${tests.length}`);
  for (const m of o.modes) {
    const pass = tests.filter((t) => by(t, m)?.ok === true).length;
    const sync = tests.filter((t) => by(t, m)?.needsSync === true).length;
    console.log(`  ${m.padEnd(7)} ${pass} pass of ${tests.length}${sync > 0 ? ` (${sync} fail only because they call *Sync on an in-process kernel)` : ''}`);
  }
  for (const m of o.modes) {
    if (m === 'host') continue;
    for (const t of tests) {
      const r = by(t, m)!;
      const h = by(t, 'host');
      if (r.ok || (h !== undefined && !h.ok) || r.needsSync) continue;
      if (known[m]?.[t] !== undefined) continue;
      unexplained++;
      console.log(`FAIL ${m} ${t}: ${r.why}`);
    }
  }
  if (o.json !== null) fs.writeFileSync(o.json, JSON.stringify({ tests: tests.length, results }, null, 1));
  if (unexplained > 0) console.log(`${unexplained} failure(s) not in known-failures.json`);
  process.exitCode = unexplained > 0 ? 1 : 0;
}

await main();
