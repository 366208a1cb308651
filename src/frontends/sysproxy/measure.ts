/**
 * Latency of remote system calls, for the README and issue 4's goals
 * (unix-socket p50 ≤ 25 µs, synchronous worker call p50 ≤ 5 µs): stat and a
 * 4 KiB pread, p50 and p99, in library mode, over the unix socket, over the
 * worker's MessagePort and through the synchronous SharedArrayBuffer client;
 * then 100 concurrent unix-socket clients.
 *
 *     npx tsx src/frontends/sysproxy/measure.ts [ITERATIONS] [library|unix|clients|async|sync]...
 *
 * Naming sections runs only those (for CPU profiles of one transport:
 * `node --import tsx --cpu-prof --cpu-prof-dir=DIR measure.ts 20000 unix`).
 * `SP_SPIN=µs` gives the sync client a fixed polling budget (0: never poll)
 * instead of its adaptive default.
 *
 * Numbers depend on the machine and its load; compare rows of one run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { boot } from '../library/boot.ts';
import { O_CREAT, O_RDWR } from '../../kern/constants.ts';
import { serve } from './server.ts';
import { connect } from './client.ts';
import { startWorkerKernel } from './worker.ts';

type AnySys = Record<string, (...a: unknown[]) => unknown>;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** With SP_WINDOWS=FILE, each timed section appends `name start_us end_us calls` (monotonic clock, as in .cpuprofile timestamps). */
const windows = process.env.SP_WINDOWS;
let winStart = 0n;

function row(name: string, xs: number[]): void {
  if (windows !== undefined) fs.appendFileSync(windows, `${name.replace(/ /g, '_')} ${winStart / 1000n} ${process.hrtime.bigint() / 1000n} ${xs.length}\n`);
  const us = (ns: number): string => (ns / 1000).toFixed(1).padStart(8);
  console.log(`${name.padEnd(34)} p50 ${us(pct(xs, 50))} µs   p99 ${us(pct(xs, 99))} µs`);
}

async function timeAsync(n: number, f: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(1000, n); i++) await f(); // warm up
  winStart = process.hrtime.bigint();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await f();
    out.push(Number(process.hrtime.bigint() - t0));
  }
  return out;
}

function timeSync(n: number, f: () => unknown): number[] {
  for (let i = 0; i < Math.min(1000, n); i++) f();
  winStart = process.hrtime.bigint();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    f();
    out.push(Number(process.hrtime.bigint() - t0));
  }
  return out;
}

async function prepare(sys: AnySys): Promise<number> {
  await sys.mkdir!('/bench', 0o755);
  const fd = (await sys.open!('/bench/f', O_CREAT | O_RDWR, 0o644)) as number;
  await sys.write!(fd, new Uint8Array(1 << 20).fill(7));
  return fd;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20000);
  const only = new Set(process.argv.slice(3));
  const on = (s: string): boolean => only.size === 0 || only.has(s);
  const buf = new Uint8Array(4096);
  console.log(`${n} calls each, node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(2)}`);

  const k = await boot();
  const lsys = k.sys as unknown as AnySys;
  const lfd = await prepare(lsys);
  if (on('library')) {
    row('library stat', await timeAsync(n, () => lsys.stat!('/bench/f') as Promise<unknown>));
    row('library pread 4 KiB', await timeAsync(n, () => lsys.pread!(lfd, buf, 4096) as Promise<unknown>));
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-measure-'));
  const srv = await serve({ listen: `unix:${path.join(dir, 's.sock')}`, kernel: k });
  const rk = await connect(srv.address);
  const rsys = rk.sys as unknown as AnySys;
  const rfd = (await rsys.open!('/bench/f', O_RDWR)) as number;
  if (on('unix')) {
    row('unix socket stat', await timeAsync(n, () => rsys.stat!('/bench/f') as Promise<unknown>));
    row('unix socket pread 4 KiB', await timeAsync(n, () => rsys.pread!(rfd, buf, 4096) as Promise<unknown>));
  }

  if (on('clients')) {
    // 100 concurrent clients, each doing stat in a loop: aggregate throughput.
    const clients = await Promise.all(Array.from({ length: 100 }, () => connect(srv.address)));
    const per = Math.max(10, Math.floor(n / 100));
    const t0 = process.hrtime.bigint();
    await Promise.all(clients.map(async (c) => {
      const s = c.sys as unknown as AnySys;
      for (let i = 0; i < per; i++) await s.stat!('/bench/f');
    }));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${'unix socket, 100 clients stat'.padEnd(34)} ${Math.round((per * 100) / secs)} calls/s`);
    for (const c of clients) await c.close();
  }
  await rk.close();
  await srv.close();
  fs.rmSync(dir, { recursive: true, force: true });

  if (on('async') || on('sync')) {
    const wk = await startWorkerKernel();
    const wsys = wk.sys as unknown as AnySys;
    const wfd = await prepare(wsys);
    if (on('async')) {
      row('worker async stat', await timeAsync(n, () => wsys.stat!('/bench/f') as Promise<unknown>));
      row('worker async pread 4 KiB', await timeAsync(n, () => wsys.pread!(wfd, buf, 4096) as Promise<unknown>));
    }
    if (on('sync')) {
      // SP_SPIN=µs: a fixed client polling budget instead of the adaptive default.
      const sc = wk.syncClient(process.env.SP_SPIN !== undefined ? { spinUs: Number(process.env.SP_SPIN) } : {});
      const ssys = sc.sys as unknown as AnySys;
      const sfd = ssys.open!('/bench/f', O_RDWR) as number;
      row('worker sync stat', timeSync(n, () => ssys.stat!('/bench/f')));
      row('worker sync pread 4 KiB', timeSync(n, () => ssys.pread!(sfd, buf, 4096)));
      sc.close();
    }
    await wk.terminate();
  }
  await k.shutdown();
}

await main();
