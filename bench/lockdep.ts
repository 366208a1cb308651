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
import { type Row, medianOf, printTable, timeAsync, timeSync } from './lib.ts';

const MODES = ['off', 'on', 'full'] as const;
/** Rounds; each measures every mode once, so load and JIT warm-up fall on all alike. */
const ROUNDS = 3;

interface Subject {
  locks(): number;
  vfs(): Promise<number>;
  done(): Promise<unknown>;
}

async function subject(mode: string): Promise<Subject> {
  const k = await boot({ host: new NodeHost({ params: { lockdep: mode } }) });
  const kernel = k.kernel;
  const td = new Lwp(kernel, kernel.proc0, 'bench');
  const a = new Mutex(kernel, 'bench_a'), b = new Mutex(kernel, 'bench_b');
  const sys = k.sys as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  await sys.mkdir!('/from', 0o755);
  await sys.mkdir!('/to', 0o755);
  return {
    locks: () => timeSync(100_000, () => {
      const ga = a.enter(td) as { release(): void };
      const gb = b.enter(td) as { release(): void };
      gb.release();
      ga.release();
    }),
    vfs: () => timeAsync(2_000, async (i) => {
      await sys.mkdir!(`/from/d${i}`, 0o755);
      await sys.rename!(`/from/d${i}`, `/to/d${i}`);
      await sys.rmdir!(`/to/d${i}`);
    }, 500),
    done: () => k.shutdown(),
  };
}

export async function run(): Promise<void> {
  const subjects = new Map<string, Subject>();
  for (const m of MODES) subjects.set(m, await subject(m));
  const locks = new Map<string, number[]>(MODES.map((m) => [m, []]));
  const vfs = new Map<string, number[]>(MODES.map((m) => [m, []]));
  for (let r = -1; r < ROUNDS; r++) {
    for (const m of MODES) {
      const l = subjects.get(m)!.locks();
      const v = await subjects.get(m)!.vfs();
      if (r < 0) continue; // round -1 warms every mode up and is not counted
      locks.get(m)!.push(l);
      vfs.get(m)!.push(v);
    }
  }
  for (const s of subjects.values()) await s.done();
  const rows: Row[] = [];
  for (const [what, samples] of [['enter+release of 2 nested mutexes', locks], ['mkdir + rename + rmdir (tmpfs)', vfs]] as const) {
    const off = medianOf(samples.get('off')!);
    for (const m of MODES) {
      const v = medianOf(samples.get(m)!);
      rows.push({ name: `lockdep=${m}: ${what}`, nsPerOp: v, note: m === 'off' ? '' : `${(v / off).toFixed(2)}x off` });
    }
  }
  printTable('lockdep cost (same run, modes interleaved)', rows);
}
