import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimHost } from './host.ts';
import { SimWorld } from './world.ts';

type Op =
  | { kind: 'task' }
  | { kind: 'timer'; delay: number; cancel: boolean }
  | { kind: 'write'; sector: number; value: number }
  | { kind: 'flush' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ kind: 'task' as const }),
  fc.record({ kind: fc.constant('timer' as const), delay: fc.integer({ min: 0, max: 5_000 }), cancel: fc.boolean() }),
  fc.record({ kind: fc.constant('write' as const), sector: fc.integer({ min: 0, max: 7 }), value: fc.integer({ min: 1, max: 255 }) }),
  fc.constant({ kind: 'flush' as const }),
);

/**
 * Run a random program: every op is its own task (so their order is the
 * scheduler's choice). Checks the clock never goes back, timers fire exactly
 * at their deadline, cancelled timers never fire, and reads after the run see
 * the last completed write of each sector.
 */
async function runProgram(seed: number, ops: Op[], latency: number) {
  const sim = new SimHost({ seed, blkLatencyNs: latency, faults: { 'blk.latency': { probability: 0.3, latencyNs: 3_000 } } });
  sim.addDisk('d0', 8 * 512);
  const model = new Map<number, number>();
  let last = 0n;
  const tick = (): void => { const t = sim.clockMonotonic(); expect(t).toBeGreaterThanOrEqual(last); last = t; };
  await sim.run(async () => {
    const o = await sim.blkOpen('d0', { readOnly: false });
    if (typeof o === 'number') throw new Error('open');
    const h = o.handle;
    await Promise.all(ops.map((op) => new Promise<void>((done) => sim.schedule(async () => {
      tick();
      switch (op.kind) {
        case 'task': break;
        case 'timer': {
          const deadline = sim.clockMonotonic() + BigInt(op.delay);
          let fired = false;
          const t = sim.timerStart(deadline, () => { tick(); fired = true; expect(sim.clockMonotonic()).toBe(deadline); });
          if (op.cancel) { sim.timerCancel(t); await new Promise<void>((r) => sim.timerStart(deadline + 1n, r)); expect(fired).toBe(false); }
          else await new Promise<void>((r) => sim.timerStart(deadline, r));
          break;
        }
        case 'write':
          expect(await sim.blkWrite(h, op.sector * 512, new Uint8Array(512).fill(op.value))).toBe(0);
          model.set(op.sector, op.value); // completion order is the truth
          break;
        case 'flush': expect(await sim.blkFlush(h)).toBe(0); break;
      }
      tick();
      done();
    }))));
    for (let s = 0; s < 8; s++) {
      const b = new Uint8Array(512);
      expect(await sim.blkRead(h, s * 512, b)).toBe(0);
      expect(b[0]).toBe(model.get(s) ?? 0);
    }
  }, { limitNs: 10_000_000_000n });
  return { hash: sim.hash(), log: sim.hashLog() };
}

describe('SimWorld properties', () => {
  it('random programs: clock, timers and disk behave; same seed replays the same log', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 }), fc.array(opArb, { maxLength: 30 }), fc.integer({ min: 0, max: 2_000 }),
      async (seed, ops, latency) => {
        const a = await runProgram(seed, ops, latency);
        const b = await runProgram(seed, ops, latency);
        expect(SimHost.firstDivergence(a.log, b.log)).toBeNull();
        expect(a.hash).toBe(b.hash);
      }), { numRuns: 40 });
  });

  it('advance() runs exactly the events due in the span', async () => {
    const w = new SimWorld({ seed: 1 });
    const fired: bigint[] = [];
    for (const t of [5n, 10n, 11n]) w.enqueue(t, () => fired.push(w.now), 'x');
    await w.advance(10n);
    expect(fired).toEqual([5n, 10n]);
    expect(w.now).toBe(10n);
    expect(w.pending()).toBe(1);
    await w.idle();
    expect(fired).toEqual([5n, 10n, 11n]);
  });

  it('cancelled events do not pile up in the queue', async () => {
    const w = new SimWorld({ seed: 1 });
    for (let i = 0; i < 10_000; i++) w.cancel(w.enqueue(1_000_000n + BigInt(i), () => {}, 'x'));
    const keep: bigint[] = [];
    w.enqueue(5n, () => keep.push(w.now), 'x');
    expect(w.pending()).toBe(1);
    expect(w.heapSize).toBeLessThan(2_100);
    await w.idle();
    expect(keep).toEqual([5n]);
    expect(w.now).toBe(5n);
  });

  it('an upcall that throws fails the run with that error', async () => {
    const w = new SimWorld({ seed: 1 });
    const r = w.run(async () => {
      w.enqueue(3n, () => { throw new Error('bad upcall'); }, 'x');
      await w.sleep(10n);
    });
    await expect(r).rejects.toThrow('bad upcall');
    await expect(w.idle()).rejects.toThrow('bad upcall');
  });

  it('limitSteps catches a livelock at one instant', async () => {
    const w = new SimWorld({ seed: 2 });
    const spin = (): void => { w.enqueue(w.now, spin, 'x'); };
    spin();
    await expect(w.run(() => new Promise(() => {}), { limitSteps: 1_000 })).rejects.toThrow(/step limit.*seed 2/);
    w.dispose();
  });
});

describe('outside(): host work the simulation does not model', () => {
  /** Real host work that takes a few macrotasks (as a dynamic import does). */
  const hostWork = <T>(v: T, turns = 3): Promise<T> =>
    new Promise((resolve) => {
      const step = (n: number): void => { if (n === 0) resolve(v); else setImmediate(() => step(n - 1)); };
      step(turns);
    });

  it('awaited bare inside run(), host work looks like a deadlock; through outside() it does not', async () => {
    const bare = new SimWorld({ seed: 3 });
    const err = await bare.run(async () => hostWork(1)).catch((e: unknown) => e);
    expect(String(err)).toMatch(/deadlock.*outside\(\).*\[seed 3\]$/);
    expect(String(err)).not.toMatch(/ANYKERNEL_SEED/); // the replay hint is the test harness's to give
    const w = new SimWorld({ seed: 3 });
    await expect(w.run(async () => w.outside(hostWork(7)))).resolves.toBe(7);
  });

  it('holds the clock and the queue while the work is in flight, so the run replays exactly', async () => {
    const trace = async (turns: number): Promise<string[]> => {
      const w = new SimWorld({ seed: 9 });
      const seen: string[] = [];
      for (let i = 1; i <= 3; i++) w.enqueue(BigInt(i * 1000), () => seen.push(`ev${i}@${w.now}`), 'h');
      await w.run(async () => {
        seen.push(`before@${w.now}`);
        await w.outside(hostWork(null, turns));
        seen.push(`after@${w.now}`);
        await w.sleep(5000);
      });
      return seen;
    };
    const fast = await trace(1);
    expect(fast).toEqual(['before@0', 'after@0', 'ev1@1000', 'ev2@2000', 'ev3@3000']);
    expect(await trace(40)).toEqual(fast);
  });

  it('a rejection passes through and the pump runs on', async () => {
    const w = new SimWorld({ seed: 4 });
    const r = await w.run(async () => {
      await w.outside(Promise.reject(new Error('host said no'))).catch((e: unknown) => e);
      await w.sleep(10);
      return w.now;
    });
    expect(r).toBe(10n);
  });
});
