/**
 * Determinism of the whole kernel base under the sim host: kernels boot on SimHosts and run a random
 * workload of kernel threads contending on locks, processes talking through
 * pipes, sleeping on timers and signalling each other. The same seed must give
 * an identical hypercall hash log and an identical observed event order;
 * different seeds must give different interleavings. A failing seed is
 * printed with the one command that replays it (forEachSeed).
 */
import { describe, expect, it } from 'vitest';
import { boot, SIGUSR1, O_NONBLOCK } from '../src/index.ts';
import { SimHost, forEachSeed, splitRng } from '../src/hyper/sim/index.ts';
import { Mutex } from '../src/kern/lock.ts';
import type { BootedKernel } from '../src/frontends/library/boot.ts';

interface Outcome {
  hash: string;
  log: ReturnType<SimHost['hashLog']>;
  events: string[];
}

/** One seeded workload; returns the hash log and the order in which things happened. */
async function workload(seed: number): Promise<Outcome> {
  const sim = new SimHost({ seed });
  const rng = splitRng(BigInt(seed), 'workload');
  const events: string[] = [];
  const k: BootedKernel = await sim.run(() => boot({ host: sim, components: ['kern'] }));
  const kernel = k.kernel;
  await sim.run(async () => {
    const nThreads = 3 + rng.below(4);
    const lock = new Mutex(kernel, 'det.counter');
    let shared = 0;
    // Kernel threads contend on one mutex across awaits (the shared counter
    // stays consistent only if the mutex excludes).
    const kts = [];
    for (let t = 0; t < nThreads; t++) {
      const rounds = 2 + rng.below(4);
      const naps = Array.from({ length: rounds }, () => BigInt(rng.below(3) * 1000));
      kts.push(
        kernel.kthreadCreate(`det${t}`, async (td) => {
          for (let r = 0; r < rounds; r++) {
            using _g = await lock.acquire(td);
            const v = shared;
            events.push(`t${t} in ${r}`);
            await k.sys.nanosleep({ sec: 0, nsec: Number(naps[r]) });
            shared = v + 1;
          }
        }),
      );
    }
    // Processes talk through pipes and signal each other.
    const [r, w] = (await k.sys.pipe()) as [number, number];
    const procs = Array.from({ length: 2 + rng.below(3) }, (_, i) => k.rfork({ comm: `p${i}` }));
    for (const p of procs) {
      await p.sys.sigaction(SIGUSR1, { handler: (sig: number) => { events.push(`p${p.pid} sig ${sig}`); } });
    }
    const writers = procs.map(async (p, i) => {
      const n = 1 + rng.below(3);
      for (let j = 0; j < n; j++) {
        // A signal from a sibling interrupts the sleep (EINTR, as on Linux).
        await p.sys.nanosleep({ sec: 0, nsec: rng.below(5) * 500 }).catch((e: { code: string }) => {
          if (e.code !== 'EINTR') throw e;
          events.push(`p${i} EINTR`);
        });
        await p.sys.write(w, new Uint8Array([i, j]));
        const target = procs[rng.below(procs.length)]!;
        await p.sys.kill(target.pid, SIGUSR1).catch(() => undefined);
        events.push(`p${i} wrote ${j}`);
      }
    });
    const reader = (async () => {
      await k.sys.fcntl(r, 4 /* F_SETFL */, O_NONBLOCK);
      const buf = new Uint8Array(64);
      for (let spins = 0; spins < 200; spins++) {
        const n = await k.sys.read(r, buf).catch((e: { code: string }) => (e.code === 'EAGAIN' ? -1 : Promise.reject(e)));
        if (n > 0) events.push(`read ${Array.from(buf.subarray(0, n)).join(',')}`);
        await k.sys.nanosleep({ sec: 0, nsec: 700 });
      }
    })();
    await Promise.all([...kts.map((t) => t.done), ...writers, reader]);
    expect(shared).toBe(kts.length === 0 ? 0 : events.filter((e) => / in /.test(e)).length);
    for (const p of procs) await k.exit(p);
    await k.sys.close(r);
    await k.sys.close(w);
    for (const p of procs) await k.sys.wait4(p.pid);
  }, { limitNs: 10_000_000_000n });
  await sim.run(() => k.shutdown());
  const out = { hash: sim.hash(), log: sim.hashLog(), events };
  sim.dispose();
  return out;
}

describe('determinism under the sim host', () => {
  it('the same seed replays to an identical hypercall hash log and event order', async () => {
    await forEachSeed('determinism: same seed', 8, async (seed) => {
      const a = await workload(seed);
      const b = await workload(seed);
      const div = SimHost.firstDivergence(a.log, b.log);
      expect(div, `first divergence: ${JSON.stringify(div, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`).toBeNull();
      expect(a.hash).toBe(b.hash);
      expect(a.events).toEqual(b.events);
      expect(a.log.length).toBeGreaterThan(50);
    });
  });

  it('different seeds give different interleavings', async () => {
    const hashes = new Set<string>();
    const orders = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const o = await workload(seed);
      hashes.add(o.hash);
      orders.add(o.events.join('|'));
    }
    expect(hashes.size).toBe(6);
    expect(orders.size).toBeGreaterThan(1);
  });
});
