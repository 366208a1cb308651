/**
 * Kernel core benchmarks: null syscall, 1-byte pipe round
 * trip between two threads, boot time of a core-only kernel — each beside the
 * host's equivalent measured in the same run.
 */
import { spawn } from 'node:child_process';
import { boot } from '../src/entry/index.node.ts';
import { NodeHost } from '../src/hyper/node/host.ts';
import { type Row, fmtNs, median, printTable, ratio, timeAsync, timeSync } from './lib.ts';

/** Host pipe round trip: one byte to `cat` and back through two host pipes. */
async function hostPipeRtt(n: number): Promise<number> {
  const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const one = new Uint8Array([42]);
  let resolve: (() => void) | null = null;
  child.stdout.on('data', () => { const r = resolve; resolve = null; r?.(); });
  const rtt = async (): Promise<void> => new Promise<void>((res) => { resolve = res; child.stdin.write(one); });
  for (let i = 0; i < 200; i++) await rtt();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await rtt();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  child.stdin.end();
  child.kill();
  return ns;
}

export async function run(): Promise<void> {
  const rows: Row[] = [];
  const host = new NodeHost();
  const k = await boot({ host, components: ['kern'] });
  const sys = k.sys;

  const getpidNs = await median(5, () => timeAsync(1_000_000, () => sys.getpid()));
  // Node has no process.getpid(); process.getuid() is the nearest real host
  // system call reachable from JS (process.pid is a cached property).
  const hostGetuidNs = await median(5, () => timeSync(1_000_000, () => process.getuid!()));
  const hostPidNs = await median(5, () => timeSync(1_000_000, () => process.pid));
  const hostGetuidAwaitNs = await median(5, () => timeAsync(1_000_000, async () => process.getuid!()));
  rows.push({ name: 'null syscall: await k.sys.getpid()', nsPerOp: getpidNs, note: 'goal <= 150 ns' });
  rows.push({ name: 'host: process.getuid() (sync, a real syscall)', nsPerOp: hostGetuidNs, note: ratio(getpidNs, hostGetuidNs, 'sync host syscall') });
  rows.push({ name: 'host: process.pid (cached property)', nsPerOp: hostPidNs });
  rows.push({ name: 'host: await (async () => process.getuid())()', nsPerOp: hostGetuidAwaitNs, note: ratio(getpidNs, hostGetuidAwaitNs, 'awaited host syscall') });

  const s = sys as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  if (typeof s.pipe === 'function') {
    const [r1, w1] = (await s.pipe!()) as [number, number];
    const [r2, w2] = (await s.pipe!()) as [number, number];
    const n = 100_000;
    const ping = new Uint8Array([1]);
    const buf = new Uint8Array(1);
    const buf2 = new Uint8Array(1);
    // Thread B echoes everything from pipe 1 to pipe 2.
    const echo = (async () => {
      for (;;) {
        const got = (await s.read!(r1, buf2)) as number;
        if (got === 0) return;
        await s.write!(w2, buf2);
      }
    })();
    const once = async (): Promise<void> => {
      await s.write!(w1, ping);
      await s.read!(r2, buf);
    };
    const kernNs = await median(3, () => timeAsync(n, once, 5000));
    const hostNs = await hostPipeRtt(20_000);
    rows.push({ name: '1-byte pipe round trip, two kernel threads', nsPerOp: kernNs });
    rows.push({ name: 'host: 1-byte round trip through cat (2 host pipes)', nsPerOp: hostNs, note: ratio(kernNs, hostNs, 'host pipe RTT') });
    await s.close!(w1);
    await echo;
    for (const fd of [r1, r2, w2]) await s.close!(fd);
  } else {
    rows.push({ name: '1-byte pipe round trip', note: 'skipped: this kernel has no pipe syscall yet', rate: 0 });
  }

  const bootNs = await median(201, async () => {
    const t0 = process.hrtime.bigint();
    const kk = await boot({ host, components: ['kern'] });
    const ns = Number(process.hrtime.bigint() - t0);
    await kk.shutdown();
    return ns;
  });
  rows.push({ name: 'boot, core-only kernel (median of 201)', nsPerOp: bootNs, note: `goal <= 5 ms; rump kernels boot in ~10 ms (${(10e6 / bootNs).toFixed(1)}x)` });
  await k.shutdown();
  host.dispose();
  printTable('kernel core', rows);
  void fmtNs;
}
