/**
 * Latency of remote system calls, for the README and its latency goals
 * (unix-socket p50 ≤ 25 µs, synchronous worker call p50 ≤ 5 µs): stat and a
 * 4 KiB pread, p50 and p99, in library mode, over the unix socket, over the
 * worker's MessagePort and through the synchronous SharedArrayBuffer client;
 * then 100 concurrent unix-socket clients. Two floors are measured in the
 * same run, so the rows can be read against what the host allows:
 * a same-process node:net echo of a reply-sized message over a unix socket,
 * and a SharedArrayBuffer ping-pong between two threads.
 *
 *     npx tsx src/frontends/sysproxy/measure.ts [ITERATIONS] [library|unix|clients|async|sync|floor]...
 *
 * The measurement runs in ROUNDS rounds (env SP_ROUNDS, default 5) of
 * ITERATIONS calls per row (default 10000), every row once per round, so a
 * slow spell of the machine lands on all rows alike. Each row prints the
 * median over rounds of the per-round p50 and p99, and the range of the
 * p50s: on a shared 2-CPU VM a round can run 2x slower than the next one
 * (another thread — a GC helper, a neighbour — takes the CPU one side of
 * the exchange was polling on).
 *
 * Naming sections runs only those (for CPU profiles of one transport:
 * `node --import tsx --cpu-prof --cpu-prof-dir=DIR measure.ts 20000 unix`).
 * `SP_SPIN=µs` gives the sync client a fixed polling budget (0: never poll)
 * instead of its adaptive default.
 *
 * Numbers depend on the machine and its load; compare rows of one run.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import '../library/node_default.ts'; // boot() without a host gets a NodeHost
import { boot } from '../library/boot.ts';
import { O_CREAT, O_RDWR } from '../../kern/index.ts';
import { serve } from './server.ts';
import { connect } from './client.ts';
import { startWorkerKernel } from './worker.ts';

type AnySys = Record<string, (...a: unknown[]) => unknown>;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function median(xs: number[]): number {
  return pct(xs, 50);
}

/** Per row: the p50 and p99 of each round (ns). */
const rows = new Map<string, { p50: number[]; p99: number[] }>();

/** With SP_WINDOWS=FILE, each timed section appends `name start_us end_us calls` (monotonic clock, as in .cpuprofile timestamps). */
const windows = process.env.SP_WINDOWS;
let winStart = 0n;

function record(name: string, xs: number[]): void {
  if (windows !== undefined) fs.appendFileSync(windows, `${name.replace(/ /g, '_')} ${winStart / 1000n} ${process.hrtime.bigint() / 1000n} ${xs.length}\n`);
  let r = rows.get(name);
  if (r === undefined) rows.set(name, (r = { p50: [], p99: [] }));
  r.p50.push(pct(xs, 50));
  r.p99.push(pct(xs, 99));
}

function report(): void {
  const us = (ns: number): string => (ns / 1000).toFixed(1);
  for (const [name, r] of rows) {
    const range = r.p50.length > 1 ? `  (p50 of rounds ${us(Math.min(...r.p50))}–${us(Math.max(...r.p50))})` : '';
    console.log(`${name.padEnd(34)} p50 ${us(median(r.p50)).padStart(6)} µs   p99 ${us(median(r.p99)).padStart(6)} µs${range}`);
  }
}

async function timeAsync(n: number, f: () => Promise<unknown>, warm: boolean): Promise<number[]> {
  if (warm) for (let i = 0; i < Math.min(1000, n); i++) await f();
  winStart = process.hrtime.bigint();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await f();
    out.push(Number(process.hrtime.bigint() - t0));
  }
  return out;
}

function timeSync(n: number, f: () => unknown, warm: boolean): number[] {
  if (warm) for (let i = 0; i < Math.min(1000, n); i++) f();
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

/** Floor 1: a node:net echo server and client in this process, one message of `size` bytes each way. */
async function netEcho(dir: string): Promise<{ once: () => Promise<void>; close: () => Promise<void> }> {
  const p = path.join(dir, 'echo.sock');
  const srv = net.createServer({ noDelay: true } as net.ServerOpts, (s) => s.on('data', (d) => s.write(d)));
  await new Promise<void>((r) => srv.listen(p, () => r()));
  let wake: (() => void) | null = null;
  const c = net.connect({ path: p, onread: { buffer: Buffer.allocUnsafe(65536), callback: () => { wake?.(); return true; } } });
  await new Promise<void>((r) => c.once('connect', () => r()));
  c.setNoDelay(true);
  const msg = Buffer.alloc(160, 7); // about a stat reply frame
  return {
    once: () => new Promise<void>((r) => { wake = r; c.write(msg); }),
    close: async () => {
      c.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/**
 * Floor 2: a SharedArrayBuffer ping-pong with a polling thread (the sync
 * exchange with no work on either side). The thread polls only while its
 * row runs (`start`/`stop`) and sleeps in Atomics.wait otherwise, so it
 * takes no CPU from the other rows.
 */
async function sabPingPong(): Promise<{ start: () => void; once: () => void; stop: () => void; close: () => Promise<void> }> {
  const IDLE = 0, POLL = 1, PING = 2, PONG = 3, EXIT = 4;
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const w = new Worker(`
    const { workerData } = require('node:worker_threads');
    const c = new Int32Array(workerData);
    for (;;) {
      const s = Atomics.load(c, 0);
      if (s === ${IDLE}) Atomics.wait(c, 0, ${IDLE});
      else if (s === ${PING}) Atomics.store(c, 0, ${PONG});
      else if (s === ${EXIT}) break;
    }
  `, { eval: true, workerData: ctl.buffer });
  await new Promise<void>((r) => w.once('online', () => r()));
  const set = (s: number): void => {
    Atomics.store(ctl, 0, s);
    Atomics.notify(ctl, 0);
  };
  return {
    start: () => set(POLL),
    once: () => {
      Atomics.store(ctl, 0, PING);
      while (Atomics.load(ctl, 0) !== PONG);
    },
    stop: () => set(IDLE),
    close: async () => {
      set(EXIT);
      await new Promise<void>((r) => w.once('exit', () => r()));
    },
  };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 10000);
  const rounds = Math.max(1, Number(process.env.SP_ROUNDS ?? 5));
  const only = new Set(process.argv.slice(3));
  const on = (s: string): boolean => only.size === 0 || only.has(s);
  const buf = new Uint8Array(4096);
  console.log(`${rounds} rounds of ${n} calls per row, node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(2)}`);

  const k = await boot();
  const lsys = k.sys as unknown as AnySys;
  const lfd = await prepare(lsys);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-measure-'));
  const srv = await serve({ listen: `unix:${path.join(dir, 's.sock')}`, kernel: k });
  const rk = await connect(srv.address);
  const rsys = rk.sys as unknown as AnySys;
  const rfd = (await rsys.open!('/bench/f', O_RDWR)) as number;
  const wk = on('async') || on('sync') ? await startWorkerKernel() : null;
  const wsys = wk?.sys as unknown as AnySys;
  const wfd = wk !== null ? await prepare(wsys) : 0;
  // SP_SPIN=µs: a fixed client polling budget instead of the adaptive default.
  const sc = wk !== null && on('sync') ? wk.syncClient(process.env.SP_SPIN !== undefined ? { spinUs: Number(process.env.SP_SPIN) } : {}) : null;
  const ssys = sc?.sys as unknown as AnySys;
  const sfd = sc !== null ? (ssys.open!('/bench/f', O_RDWR) as number) : 0;
  const echo = on('floor') ? await netEcho(dir) : null;
  const ping = on('floor') ? await sabPingPong() : null;

  for (let r = 0; r < rounds; r++) {
    const warm = r === 0;
    if (on('library')) {
      record('library stat', await timeAsync(n, () => lsys.stat!('/bench/f') as Promise<unknown>, warm));
      record('library pread 4 KiB', await timeAsync(n, () => lsys.pread!(lfd, buf, 4096) as Promise<unknown>, warm));
    }
    if (on('unix')) {
      record('unix socket stat', await timeAsync(n, () => rsys.stat!('/bench/f') as Promise<unknown>, warm));
      record('unix socket pread 4 KiB', await timeAsync(n, () => rsys.pread!(rfd, buf, 4096) as Promise<unknown>, warm));
    }
    if (echo !== null) record('floor: node:net echo, 160 B', await timeAsync(n, echo.once, warm));
    if (wk !== null && on('async')) {
      record('worker async stat', await timeAsync(n, () => wsys.stat!('/bench/f') as Promise<unknown>, warm));
      record('worker async pread 4 KiB', await timeAsync(n, () => wsys.pread!(wfd, buf, 4096) as Promise<unknown>, warm));
    }
    if (sc !== null) {
      record('worker sync stat', timeSync(n, () => ssys.stat!('/bench/f'), warm));
      record('worker sync pread 4 KiB', timeSync(n, () => ssys.pread!(sfd, buf, 4096), warm));
    }
    if (ping !== null) {
      ping.start();
      record('floor: SAB ping-pong', timeSync(n, ping.once, warm));
      ping.stop();
    }
  }
  report();

  if (on('clients')) {
    // 100 concurrent clients, each doing stat in a loop: aggregate throughput.
    const clients = await Promise.all(Array.from({ length: 100 }, () => connect(srv.address)));
    const per = Math.max(10, Math.floor(n / 50));
    const t0 = process.hrtime.bigint();
    await Promise.all(clients.map(async (c) => {
      const s = c.sys as unknown as AnySys;
      for (let i = 0; i < per; i++) await s.stat!('/bench/f');
    }));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${'unix socket, 100 clients stat'.padEnd(34)} ${Math.round((per * 100) / secs)} calls/s`);
    for (const c of clients) await c.close();
  }

  sc?.close();
  await echo?.close();
  await ping?.close();
  await wk?.terminate();
  await rk.close();
  await srv.close();
  fs.rmSync(dir, { recursive: true, force: true });
  await k.shutdown();
}

await main();
