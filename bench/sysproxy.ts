/**
 * Remote syscall latency (microkernel frontends): stat and 4 KiB pread
 * p50/p99 in library mode, over the unix socket, the worker's MessagePort and
 * the synchronous SharedArrayBuffer client, then 100 concurrent clients. The
 * measurement lives beside the transport (src/frontends/sysproxy/measure.ts);
 * it runs here in its own process so its worker and sockets start clean.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export async function run(): Promise<void> {
  console.log('\n## remote system calls (goals: unix-socket p50 <= 25 µs, sync worker p50 <= 5 µs)');
  const root = path.resolve(import.meta.dirname, '..');
  const n = process.env.SYSPROXY_BENCH_N ?? '20000';
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/frontends/sysproxy/measure.ts', n], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) console.log(`  (measure.ts exited with ${r.status})`);
}
