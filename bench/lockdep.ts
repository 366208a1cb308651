/**
 * What lock-order validation costs: the same work on kernels booted with
 * lockdep=off, on and full, in one run. Two loops: an uncontended nested
 * acquire/release of two mutexes (the lock primitives alone), and
 * mkdir → rename across directories → rmdir on tmpfs through k.sys (each
 * takes the rename lock and two or three vnode locks). Ratios are against
 * lockdep=off (> 1 = slower than off). Short by design: a few seconds.
 */
import { boot } from '../src/entry/index.node.ts';
import { NodeHost } from '../src/hyper/node/host.ts';
import { Mutex } from '../src/kern/lock.ts';
import { Lwp } from '../src/kern/sched.ts';
import { type Row, median, printTable, timeAsync, timeSync } from './lib.ts';

const MODES = ['off', 'on', 'full'] as const;

async function measure(mode: string): Promise<{ locks: number; vfs: number }> {
  const k = await boot({ host: new NodeHost({ params: { lockdep: mode } }) });
  const kernel = k.kernel;
  const td = new Lwp(kernel, kernel.proc0, 'bench');
  const a = new Mutex(kernel, 'bench_a'), b = new Mutex(kernel, 'bench_b');
  const locks = await median(3, () => timeSync(100_000, () => {
    const ga = a.enter(td) as { release(): void };
    const gb = b.enter(td) as { release(): void };
    gb.release();
    ga.release();
  }));
  const sys = k.sys as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  await sys.mkdir!('/from', 0o755);
  await sys.mkdir!('/to', 0o755);
  const vfs = await median(3, () => timeAsync(2_000, async (i) => {
    await sys.mkdir!(`/from/d${i}`, 0o755);
    await sys.rename!(`/from/d${i}`, `/to/d${i}`);
    await sys.rmdir!(`/to/d${i}`);
  }, 1_000));
  await k.shutdown();
  return { locks, vfs };
}

export async function run(): Promise<void> {
  const got: Record<string, { locks: number; vfs: number }> = {};
  for (const m of MODES) got[m] = await measure(m);
  const off = got.off!;
  const rows: Row[] = [];
  for (const m of MODES) {
    const r = got[m]!;
    rows.push({ name: `lockdep=${m}: enter+release of 2 nested mutexes`, nsPerOp: r.locks, note: m === 'off' ? '' : `${(r.locks / off.locks).toFixed(2)}x off` });
  }
  for (const m of MODES) {
    const r = got[m]!;
    rows.push({ name: `lockdep=${m}: mkdir + rename + rmdir (tmpfs)`, nsPerOp: r.vfs, note: m === 'off' ? '' : `${(r.vfs / off.vfs).toFixed(2)}x off` });
  }
  printTable('lockdep cost (same run)', rows);
}
