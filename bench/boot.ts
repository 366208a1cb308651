/**
 * The monolithic kernel (`npm run bench -- boot`): cold start to the shell's
 * prompt, spawn+exit of a process, a system call and a pipe round trip
 * between two processes as user programs see them (/bin/sysbench), and
 * `cat BIG | wc -c` inside the kernel against the same pipeline in the
 * host's shell, in the same run.
 *
 * Goals: prompt ≤ 300 ms; a user-process system call ≤ 5 µs; the pipeline
 * at least half the host's throughput. BOOT_BENCH_MB sets the file size
 * (default 64 MiB; 1 GiB is the figure to aim for). On a shared machine the
 * figures move a lot: read them as orders of magnitude.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { bootOs } from '../src/frontends/monolithic/boot.ts';
import { O_CREAT, O_WRONLY } from '../src/kern/constants.ts';
import { medianOf, printTable, type Row } from './lib.ts';

type S = Record<string, (...a: any[]) => Promise<any>>;

export async function run(): Promise<void> {
  const rows: Row[] = [];
  const t0 = process.hrtime.bigint();
  const sys0 = await bootOs({ interactive: false, out: () => undefined, rc: '' });
  const k = sys0.bk.kernel;
  // The prompt: the console shell asleep in a read of the console.
  for (let i = 0; i < 20_000; i++) {
    const waiting = [...k.procs.values()].some((p) => p.comm === 'sh' && [...p.sleeping].some((td) => td.sleeper?.queues.some((q) => q.name === 'tty:console')));
    if (waiting) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  const promptNs = Number(process.hrtime.bigint() - t0);
  rows.push({ name: 'cold start to the shell prompt (warm userland bundle)', nsPerOp: promptNs, note: 'goal ≤ 300 ms' });

  const h = sys0.bk.rfork({ comm: 'bench' });
  const sys = h.sys as unknown as S;
  // spawn+exit: /bin/true, the worker reused after its exit.
  const spawnNs: number[] = [];
  for (let i = 0; i < 40; i++) {
    const s = process.hrtime.bigint();
    const pid = await sys.spawn!('/bin/true', ['true'], []);
    await sys.wait4!(pid, 0);
    spawnNs.push(Number(process.hrtime.bigint() - s));
  }
  rows.push({ name: 'spawn+exit of /bin/true (median of 40)', nsPerOp: medianOf(spawnNs.slice(10)) });

  // sysbench prints its own figures; run it with stdout on a pipe.
  const out = async (argv: string[]): Promise<string> => {
    const [r, w] = await sys.pipe!();
    const pid = await sys.spawn!(argv[0]!, argv, ['PATH=/bin'], { actions: [{ op: 'dup2', fd: w, newfd: 1 }] });
    await sys.close!(w);
    let text = '';
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await sys.read!(r, buf);
      if (n === 0) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    await sys.close!(r);
    await sys.wait4!(pid, 0);
    return text;
  };
  const sb = await out(['/bin/sysbench', '20000']);
  const num = (re: RegExp): number => Number(re.exec(sb)?.[1] ?? NaN);
  rows.push({ name: 'system call from a user process (getpid)', nsPerOp: num(/syscall (\d+)/), note: 'goal ≤ 5 µs' });
  rows.push({ name: 'pipe round trip between two user processes', nsPerOp: num(/pipe-roundtrip (\d+)/) });

  // cat BIG | wc -c, in the kernel and on the host.
  const mb = Number(process.env.BOOT_BENCH_MB ?? 64);
  const chunk = new Uint8Array(1 << 20).fill(0x61);
  const fd = await sys.open!('/tmp/big', O_CREAT | O_WRONLY, 0o644);
  for (let i = 0; i < mb; i++) await sys.write!(fd, chunk);
  await sys.close!(fd);
  let s = process.hrtime.bigint();
  const count = (await out(['/bin/sh', '-c', 'cat /tmp/big | wc -c'])).trim();
  const kernNs = Number(process.hrtime.bigint() - s);
  const hostFile = path.join(os.tmpdir(), `ak-bench-${process.pid}`);
  fs.writeFileSync(hostFile, Buffer.alloc(mb << 20, 0x61));
  s = process.hrtime.bigint();
  const host = spawnSync('sh', ['-c', `cat ${hostFile} | wc -c`], { encoding: 'utf8' });
  const hostNs = Number(process.hrtime.bigint() - s);
  fs.rmSync(hostFile);
  const mbps = (ns: number) => (mb * 1e9) / ns;
  rows.push({ name: `cat ${mb} MiB | wc -c in the kernel (counted ${count})`, rate: mbps(kernNs), unit: 'MiB/s' });
  rows.push({ name: `cat ${mb} MiB | wc -c in the host's sh (counted ${host.stdout.trim()})`, rate: mbps(hostNs), unit: 'MiB/s', note: `kernel/host ${(hostNs / kernNs).toFixed(2)}x (goal ≥ 0.5)` });
  await sys.unlink!('/tmp/big');
  await sys0.bk.exit(h, 0);
  await (sys0.bk.sys as unknown as S).wait4!(h.pid, 0);
  await sys0.runner.halt();
  await k.shutdown();
  printTable(`monolithic kernel (node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}; figures move with load)`, rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
