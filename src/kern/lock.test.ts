/**
 * Tests for the sleeping locks (lock.ts) under the deterministic sim host:
 * mutual exclusion under contention across seeds, FIFO handoff, rwlock
 * sharing and its writer-preference / phase-fair policy, condvar
 * producer/consumer, counting semaphores, timeouts, EINTR, `using`
 * release on throw, and the ownership panics.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimHost, SimPanic } from '../hyper/sim/host.ts';
import { NodeHost } from '../hyper/node/host.ts';
import { forEachSeed } from '../hyper/sim/harness.ts';
import { Kernel } from './kernel.ts';
import { Lwp, yieldCpu } from './sched.ts';
import { Cred } from './proc.ts';
import { sigbit } from './sig.ts';
import { KernelError } from './errno.ts';
import { CondVar, LockClass, Mutex, RwLock, Semaphore, SEM_VALUE_MAX, type LockGuard } from './lock.ts';

const SIGUSR1 = 10;

function setup(seed = 1, params: Record<string, string> = {}) {
  const sim = new SimHost({ seed, params });
  const k = new Kernel(sim);
  const td = (name: string) => new Lwp(k, k.proc0, name);
  /**
   * Give up the CPU until pred() holds (or a few times when there is none).
   * The sim host orders same-instant tasks by seeded tie-break, so progress
   * is awaited by condition, never by a fixed number of rounds.
   */
  const settle = async (pred?: () => boolean) => {
    if (pred === undefined) {
      for (let i = 0; i < 3; i++) await yieldCpu(k);
      return;
    }
    for (let i = 0; !pred(); i++) {
      if (i === 100_000) throw new Error(`condition never held: ${pred.toString()}`);
      await yieldCpu(k);
    }
  };
  return { sim, k, td, settle };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KernelError) return e.code;
    throw e;
  }
  return 'ok';
}

const CLS = new LockClass('test', 'a lock for tests');

describe('Mutex', () => {
  it('keeps a counter consistent across awaits under contention (many seeds)', async () => {
    await forEachSeed('mutex contention', 8, async (seed) => {
      const { sim, k, td } = setup(seed);
      const m = new Mutex(k, CLS, 'counter');
      let counter = 0;
      let inside = 0;
      let maxInside = 0;
      const worker = async (t: Lwp, iters: number) => {
        for (let i = 0; i < iters; i++) {
          using g = await m.acquire(t);
          inside++;
          maxInside = Math.max(maxInside, inside);
          const v = counter;
          for (let y = 0; y < 1 + (i % 3); y++) await yieldCpu(k);
          counter = v + 1;
          inside--;
          void g;
        }
      };
      await sim.run(() => Promise.all(Array.from({ length: 8 }, (_, i) => worker(td(`w${i}`), 15))));
      expect(counter).toBe(8 * 15);
      expect(maxInside).toBe(1);
      expect(m.owner).toBeNull();
      expect(m.waiting).toBe(0);
      expect(k.lockdep!.heldLocks()).toEqual([]);
    });
  });

  it('keeps the counter consistent on the node host too (real scheduling and timers)', async () => {
    const k = new Kernel(new NodeHost({ params: { lockdep: 'strict' } }));
    const m = new Mutex(k, CLS, 'counter');
    let counter = 0;
    const worker = async (t: Lwp) => {
      for (let i = 0; i < 10; i++) {
        using g = await m.acquire(t, { timeoutNs: 10_000_000_000n });
        const v = counter;
        await yieldCpu(k);
        counter = v + 1;
        void g;
      }
    };
    await Promise.all(Array.from({ length: 6 }, (_, i) => worker(new Lwp(k, k.proc0, `n${i}`))));
    expect(counter).toBe(60);
    expect(k.lockdep!.reports).toEqual([]);
  });

  it('without the lock the same workload loses updates (the test can fail)', async () => {
    const { sim, k } = setup(7);
    let counter = 0;
    const worker = async () => {
      for (let i = 0; i < 15; i++) {
        const v = counter;
        await yieldCpu(k);
        counter = v + 1;
      }
    };
    await sim.run(() => Promise.all(Array.from({ length: 8 }, () => worker())));
    expect(counter).toBeLessThan(8 * 15);
  });

  it('hands the lock to the oldest waiter: a re-locking holder cannot barge', async () => {
    const { sim, k, td, settle } = setup();
    const m = new Mutex(k, CLS);
    const order: string[] = [];
    const a = td('a'), b = td('b'), c = td('c');
    await sim.run(async () => {
      const ga = await m.acquire(a);
      const pb = m.acquire(b).then((g) => { order.push('b'); g.release(); });
      const pc = m.acquire(c).then((g) => { order.push('c'); g.release(); });
      await settle();
      expect(m.waiting).toBe(2);
      ga.release();
      expect(m.owner).toBe(b); // ownership passed before b even ran
      expect(m.tryAcquire(a)).toBeNull();
      const pa = m.acquire(a).then((g) => { order.push('a'); g.release(); });
      await Promise.all([pa, pb, pc]);
    });
    expect(order).toEqual(['b', 'c', 'a']);
  });

  it('tryAcquire succeeds only when free', async () => {
    const { sim, k, td } = setup();
    const m = new Mutex(k, 'plain');
    const a = td('a'), b = td('b');
    await sim.run(async () => {
      const g = m.tryAcquire(a);
      expect(g).not.toBeNull();
      expect(m.owned(a)).toBe(true);
      expect(m.tryAcquire(b)).toBeNull();
      expect(m.tryAcquire(a)).toBeNull();
      g!.release();
      expect(m.owner).toBeNull();
      expect(m.lockClass.name).toBe('plain');
    });
  });

  it('`using` releases when the scope throws, and disposal after release() is a no-op', async () => {
    const { sim, k, td } = setup();
    const m = new Mutex(k, CLS);
    const a = td('a');
    await sim.run(async () => {
      const body = async () => {
        using g = await m.acquire(a);
        expect(m.owned(a)).toBe(true);
        void g;
        throw new Error('boom');
      };
      await expect(body()).rejects.toThrow('boom');
      expect(m.owner).toBeNull();
      {
        using g = await m.acquire(a);
        g.release();
        expect(g.released).toBe(true);
        expect(m.owner).toBeNull();
      } // dispose: nothing to do
      expect(m.owner).toBeNull();
      const g2 = await m.acquire(a);
      g2[Symbol.dispose]();
      g2[Symbol.dispose]();
      expect(m.owner).toBeNull();
    });
  });

  it('times out with ETIMEDOUT after the virtual timeout, leaving the queue clean', async () => {
    const { sim, k, td } = setup();
    const m = new Mutex(k, CLS);
    const a = td('a'), b = td('b');
    await sim.run(async () => {
      const g = await m.acquire(a);
      const t0 = sim.clockMonotonic();
      expect(await code(m.acquire(b, { timeoutNs: 5_000n }))).toBe('ETIMEDOUT');
      expect(sim.clockMonotonic() - t0).toBeGreaterThanOrEqual(5_000n);
      expect(m.waiting).toBe(0);
      g.release();
      expect(m.owner).toBeNull();
      // A timeout that does not expire does not disturb the acquisition.
      const g1 = await m.acquire(a);
      const pb = m.acquire(b, { timeoutNs: 1_000_000n });
      await yieldCpu(k);
      g1.release();
      const gb = await pb;
      expect(m.owner).toBe(b);
      gb.release();
    });
  });

  it('acquireIntr ends with EINTR on td.interrupt() and on a pending signal; acquire ignores them', async () => {
    const { sim, k, td, settle } = setup();
    const m = new Mutex(k, CLS);
    const p = k.newProc(k.proc0, new Cred(1000, 1000), 'clean', 'sleeper');
    const holder = td('holder');
    await sim.run(async () => {
      const g = await m.acquire(holder);
      // interrupt a sleeping kernel thread
      const t1 = td('t1');
      const p1 = code(m.acquireIntr(t1));
      await settle();
      expect(t1.interrupt()).toBe(true);
      expect(await p1).toBe('EINTR');
      expect(m.waiting).toBe(0);
      // a pending, unblocked signal in the thread's process: EINTR at once, or on interrupt
      const t2 = new Lwp(k, p, 'sys');
      p.sig.pending |= sigbit(SIGUSR1);
      expect(await code(m.acquireIntr(t2))).toBe('EINTR');
      p.sig.pending = 0n;
      const p2 = code(m.acquireIntr(t2));
      await settle();
      p.sig.pending |= sigbit(SIGUSR1);
      expect(t2.interrupt()).toBe(true);
      expect(await p2).toBe('EINTR');
      // a blocked signal does not interrupt at entry
      p.sig.mask = sigbit(SIGUSR1);
      const p3 = m.acquireIntr(t2);
      // uninterruptible acquisition: interrupt() does nothing
      const t3 = td('t3');
      const p4 = m.acquire(t3);
      await settle();
      expect(t3.interrupt()).toBe(false);
      expect(m.waiting).toBe(2);
      g.release();
      (await p3).release();
      (await p4).release();
      expect(m.owner).toBeNull();
    });
  });

  it('a grant wins over an interrupt in the same instant', async () => {
    const { sim, k, td, settle } = setup();
    const m = new Mutex(k, CLS);
    const a = td('a'), b = td('b');
    await sim.run(async () => {
      const g = await m.acquire(a);
      const pb = m.acquireIntr(b);
      await settle();
      g.release();
      expect(b.interrupt()).toBe(false); // already woken by the handoff
      const gb = await pb;
      expect(m.owner).toBe(b);
      gb.release();
      // interrupt first, then release before b runs: the handoff still reaches b
      const g2 = await m.acquire(a);
      const pb2 = m.acquireIntr(b);
      await settle();
      expect(b.interrupt()).toBe(true);
      g2.release();
      const gb2 = await pb2;
      expect(m.owner).toBe(b);
      gb2.release();
    });
  });

  it('panics on release by a non-owner', async () => {
    const { sim, k, td } = setup();
    const m = new Mutex(k, CLS, 'victim');
    const run = sim.run(async () => {
      await m.acquire(td('owner'));
      m.release(td('intruder'));
    });
    await expect(run).rejects.toThrow(/mutex victim \(class test\) owned by owner\[0\].*released by intruder\[0\]/);
    expect(sim.panics.length).toBe(1);
  });

  it('panics on a double release through a guard', async () => {
    const { sim, k, td } = setup();
    const m = new Mutex(k, CLS, 'twice');
    await expect(sim.run(async () => {
      const g = await m.acquire(td('a'));
      g.release();
      g.release();
    })).rejects.toThrow(/guard of a\[0\] released twice/);
  });

  it('panics on release of a free mutex', async () => {
    const { sim, k, td } = setup(1, { lockdep: '0' });
    expect(k.lockdep).toBeNull();
    const m = new Mutex(k, CLS, 'free');
    await expect(sim.run(async () => m.release(td('a')))).rejects.toThrow(/mutex free \(class test\) free, 0 waiting: released by a\[0\]/);
  });

  it('panics on recursive acquisition (it would deadlock)', async () => {
    const { sim, k, td } = setup(1, { lockdep: '0' });
    const m = new Mutex(k, CLS, 'rec');
    await expect(sim.run(async () => {
      const a = td('a');
      await m.acquire(a);
      await m.acquire(a);
    })).rejects.toThrow(SimPanic);
  });

  it('rejects a bad lockdep subclass', async () => {
    const { sim, k, td } = setup();
    const m = new Mutex(k, CLS);
    await expect(sim.run(async () => { await m.acquire(td('a'), { subclass: 9 }); })).rejects.toThrow(/subclass 9/);
  });
});

describe('enter (the no-await fast path)', () => {
  it('gives the guard itself when free and a promise only when it must sleep, for Mutex and RwLock', async () => {
    const { sim, k, td, settle } = setup(3);
    const m = new Mutex(k, CLS, 'm');
    const rw = new RwLock(k, CLS, 'rw');
    const order: string[] = [];
    await sim.run(async () => {
      const a = td('a'), b = td('b'), c = td('c');
      const ga = m.enter(a);
      expect(ga).not.toBeInstanceOf(Promise);
      const gb = m.enter(b); // held: b sleeps
      expect(gb).toBeInstanceOf(Promise);
      const pb = (gb as Promise<LockGuard>).then((g) => { order.push('b'); g.release(); });
      await settle(() => m.waiting === 1);
      (ga as LockGuard).release(); // handed to b, the oldest waiter
      await pb;
      expect(order).toEqual(['b']);
      expect(m.owner).toBeNull();
      const r1 = rw.enter(a, 'shared'), r2 = rw.enter(b, 'shared');
      expect(r1).not.toBeInstanceOf(Promise);
      expect(r2).not.toBeInstanceOf(Promise); // readers share
      const w = rw.enter(c, 'excl');
      expect(w).toBeInstanceOf(Promise);
      (r1 as LockGuard).release();
      (r2 as LockGuard).release();
      {
        using g = await w;
        expect(rw.heldBy(c)).toBe('excl');
      }
      expect(rw.heldBy(c)).toBeNull(); // `using` released it
    });
  });

  it('releases through `using` when the body throws on the fast path', async () => {
    const { sim, k, td } = setup(1);
    const m = new Mutex(k, CLS, 'm');
    await sim.run(async () => {
      const t = td('t');
      const body = async () => {
        const e = m.enter(t);
        using g = e instanceof Promise ? await e : e;
        void g;
        throw new Error('inside');
      };
      await expect(body()).rejects.toThrow('inside');
      expect(m.owner).toBeNull();
    });
    expect(k.leakReport().heldLocks).toEqual([]);
  });
});

describe('RwLock', () => {
  it('lets readers share and keeps writers exclusive (random mixes, many seeds)', async () => {
    await forEachSeed('rwlock mix', 8, async (seed) => {
      const { sim, k, td } = setup(seed);
      const rw = new RwLock(k, CLS, 'tree');
      let readers = 0, writers = 0, maxReaders = 0, violations = 0, writes = 0;
      const check = () => { if (writers > 1 || (writers === 1 && readers > 0)) violations++; };
      const worker = async (t: Lwp, i: number) => {
        for (let j = 0; j < 10; j++) {
          if ((i * 7 + j * 3) % 5 === 0) {
            using g = await rw.acquireExclusive(t);
            writers++; check();
            await yieldCpu(k);
            check(); writes++; writers--;
            void g;
          } else {
            using g = await rw.acquireShared(t);
            readers++; maxReaders = Math.max(maxReaders, readers); check();
            await yieldCpu(k);
            await yieldCpu(k);
            check(); readers--;
            void g;
          }
        }
      };
      await sim.run(() => Promise.all(Array.from({ length: 6 }, (_, i) => worker(td(`t${i}`), i))));
      expect(violations).toBe(0);
      expect(maxReaders).toBeGreaterThan(1);
      expect(writes).toBeGreaterThan(0);
      expect(rw.readers + rw.waiting).toBe(0);
      expect(rw.owner).toBeNull();
    });
  });

  it('queues new readers behind a waiting writer (writer preference)', async () => {
    const { sim, k, td, settle } = setup();
    const rw = new RwLock(k, CLS);
    const r1 = td('r1'), w = td('w'), r2 = td('r2');
    const order: string[] = [];
    await sim.run(async () => {
      const g1 = await rw.acquireShared(r1);
      const pw = rw.acquireExclusive(w).then((g) => { order.push('w'); return g; });
      await settle();
      expect(rw.tryAcquireShared(r2)).toBeNull();
      const pr2 = rw.acquireShared(r2).then((g) => { order.push('r2'); return g; });
      await settle();
      expect(rw.readers).toBe(1);
      g1.release();
      expect(rw.owner).toBe(w);
      const gw = await pw;
      await settle();
      expect(order).toEqual(['w']);
      gw.release();
      expect(rw.heldBy(r2)).toBe('shared');
      (await pr2).release();
    });
    expect(order).toEqual(['w', 'r2']);
  });

  it('admits waiting readers as a batch when a writer releases (no reader starvation)', async () => {
    const { sim, k, td, settle } = setup();
    const rw = new RwLock(k, CLS);
    const w1 = td('w1'), w2 = td('w2'), ra = td('ra'), rb = td('rb');
    await sim.run(async () => {
      const g1 = await rw.acquireExclusive(w1);
      const pa = rw.acquireShared(ra);
      const pw2 = rw.acquireExclusive(w2);
      const pb = rw.acquireShared(rb);
      await settle();
      expect(rw.waiting).toBe(3);
      g1.release();
      expect(rw.readers).toBe(2); // ra and rb, though w2 queued between them
      expect(rw.owner).toBeNull();
      (await pa).release();
      expect(rw.owner).toBeNull();
      (await pb).release();
      expect(rw.owner).toBe(w2);
      (await pw2).release();
    });
  });

  it('a writer that times out lets the readers it held back in', async () => {
    const { sim, k, td, settle } = setup();
    const rw = new RwLock(k, CLS);
    await sim.run(async () => {
      const g0 = await rw.acquireShared(td('r0'));
      const pw = code(rw.acquireExclusive(td('w'), { timeoutNs: 10_000n }));
      await settle();
      const pr = rw.acquireShared(td('r1'));
      await settle();
      expect(rw.readers).toBe(1);
      expect(await pw).toBe('ETIMEDOUT');
      const g1 = await pr;
      expect(rw.readers).toBe(2);
      g0.release();
      g1.release();
    });
  });

  it('EINTR for an interruptible waiter', async () => {
    const { sim, k, td, settle } = setup();
    const rw = new RwLock(k, CLS);
    await sim.run(async () => {
      const g = await rw.acquireExclusive(td('w'));
      const r = td('r');
      const p = code(rw.acquireShared(r, { intr: true }));
      await settle();
      r.interrupt();
      expect(await p).toBe('EINTR');
      expect(rw.waiting).toBe(0);
      g.release();
    });
  });

  it('panics on upgrade and on release by a non-holder', async () => {
    const a = setup();
    await expect(a.sim.run(async () => {
      const rw = new RwLock(a.k, CLS, 'up');
      const t = a.td('t');
      await rw.acquireShared(t);
      await rw.acquireExclusive(t);
    })).rejects.toThrow(/takes it excl while holding it (shared)/);
    const b = setup();
    await expect(b.sim.run(async () => {
      const rw = new RwLock(b.k, CLS, 'x');
      await rw.acquireShared(b.td('t'));
      rw.release(b.td('u'));
    })).rejects.toThrow(/rwlock x \(class test\) read-held by t\[0\].*released by u\[0\]/);
  });
});

describe('CondVar', () => {
  it('producer/consumer through a bounded buffer delivers every item once, in order per producer', async () => {
    await forEachSeed('condvar bounded buffer', 5, async (seed) => {
      const { sim, k, td } = setup(seed);
      const m = new Mutex(k, CLS, 'buf');
      const notFull = new CondVar(k, 'notFull');
      const notEmpty = new CondVar(k, 'notEmpty');
      const buf: number[] = [];
      const CAP = 2;
      const got: number[] = [];
      const producer = async (t: Lwp, base: number) => {
        for (let i = 0; i < 20; i++) {
          using g = await m.acquire(t);
          while (buf.length >= CAP) await notFull.wait(t, m);
          expect(buf.length).toBeLessThan(CAP);
          buf.push(base + i);
          notEmpty.signal();
          void g;
        }
      };
      const consumer = async (t: Lwp, n: number) => {
        for (let i = 0; i < n; i++) {
          using g = await m.acquire(t);
          while (buf.length === 0) await notEmpty.wait(t, m);
          expect(m.owned(t)).toBe(true);
          got.push(buf.shift()!);
          notFull.signal();
          void g;
        }
      };
      await sim.run(() => Promise.all([
        producer(td('p0'), 0), producer(td('p1'), 100), producer(td('p2'), 200),
        consumer(td('c0'), 30), consumer(td('c1'), 30),
      ]));
      expect([...got].sort((x, y) => x - y)).toEqual([...Array(20).keys()].flatMap((i) => [i]).concat([...Array(20).keys()].map((i) => 100 + i), [...Array(20).keys()].map((i) => 200 + i)));
      for (const base of [0, 100, 200]) {
        const mine = got.filter((v) => v >= base && v < base + 100);
        expect(mine).toEqual([...mine].sort((x, y) => x - y));
      }
      expect(m.owner).toBeNull();
    });
  });

  it('wait times out or is interrupted, and returns holding the mutex either way', async () => {
    const { sim, k, td, settle } = setup();
    const m = new Mutex(k, CLS);
    const cv = new CondVar(k, 'cv');
    await sim.run(async () => {
      const a = td('a');
      const g = await m.acquire(a);
      const t0 = sim.clockMonotonic();
      expect(await cv.wait(a, m, { timeoutNs: 3_000n })).toBe('timeout');
      expect(sim.clockMonotonic() - t0).toBeGreaterThanOrEqual(3_000n);
      expect(m.owned(a)).toBe(true);
      const pw = cv.wait(a, m, { intr: true });
      // while a waits, the mutex is free for others
      const b = td('b');
      const gb = m.tryAcquire(b);
      expect(gb).not.toBeNull();
      a.interrupt();
      await settle();
      expect(m.owned(a)).toBe(false); // a must wait for b to release
      gb!.release();
      expect(await pw).toBe('intr');
      expect(m.owned(a)).toBe(true);
      g.release(); // the original guard releases the retaken mutex
      expect(m.owner).toBeNull();
    });
  });

  it('broadcast wakes every waiter; signal wakes one', async () => {
    const { sim, k, td, settle } = setup();
    const m = new Mutex(k, CLS);
    const cv = new CondVar(k, 'cv');
    let woken = 0;
    await sim.run(async () => {
      const ps = ['a', 'b', 'c'].map(async (n) => {
        const t = td(n);
        using g = await m.acquire(t);
        await cv.wait(t, m);
        woken++;
        void g;
      });
      await settle(() => cv.waiting === 3);
      cv.signal();
      await settle(() => woken === 1);
      await settle();
      expect(woken).toBe(1);
      cv.broadcast();
      await Promise.all(ps);
      expect(woken).toBe(3);
    });
  });

  it('panics when waiting without the mutex', async () => {
    const { sim, k, td } = setup();
    await expect(sim.run(async () => {
      await new CondVar(k, 'cv').wait(td('a'), new Mutex(k, CLS, 'm'));
    })).rejects.toThrow(/cv cv: wait by a\[0\] without holding mutex m/);
  });
});

describe('Semaphore', () => {
  it('admits at most `initial` holders at once', async () => {
    await forEachSeed('semaphore counting', 5, async (seed) => {
      const { sim, k, td } = setup(seed);
      const sem = new Semaphore(k, 3, 'slots');
      let inside = 0, max = 0, done = 0;
      const worker = async (t: Lwp) => {
        for (let i = 0; i < 5; i++) {
          using g = await sem.acquire(t);
          inside++; max = Math.max(max, inside);
          await yieldCpu(k);
          inside--; done++;
          void g;
        }
      };
      await sim.run(() => Promise.all(Array.from({ length: 7 }, (_, i) => worker(td(`s${i}`)))));
      expect(max).toBe(3);
      expect(done).toBe(35);
      expect(sem.value).toBe(3);
    });
  });

  it('serves multi-unit requests strictly FIFO', async () => {
    const { sim, k, td, settle } = setup();
    const sem = new Semaphore(k, 0, 'units');
    const order: string[] = [];
    await sim.run(async () => {
      const pa = sem.acquire(td('a'), { n: 3 }).then((g) => { order.push('a'); return g; });
      const pb = sem.acquire(td('b'), { n: 1 }).then((g) => { order.push('b'); return g; });
      await settle();
      sem.release(1);
      expect(sem.value).toBe(1); // b may not pass a
      expect(sem.waiting).toBe(2);
      await settle();
      expect(order).toEqual([]);
      expect(sem.tryAcquire()).toBeNull();
      sem.release(3);
      await settle(() => order.length === 2);
      expect([...order].sort()).toEqual(['a', 'b']); // both granted in one release; run order is the host's
      expect(sem.value).toBe(0);
      (await pa).release();
      (await pb).release();
      expect(sem.value).toBe(4);
      const g = sem.tryAcquire(4);
      expect(g).not.toBeNull();
      expect(sem.value).toBe(0);
      g!.release();
    });
  });

  it('a head waiter that times out lets the next one through', async () => {
    const { sim, k, td, settle } = setup();
    const sem = new Semaphore(k, 1, 's');
    await sim.run(async () => {
      const pa = code(sem.acquire(td('a'), { n: 2, timeoutNs: 1_000n }));
      const pb = sem.acquire(td('b'));
      await settle();
      expect(sem.value).toBe(1);
      expect(await pa).toBe('ETIMEDOUT');
      const gb = await pb;
      expect(sem.value).toBe(0);
      gb.release();
      const t = td('c');
      const pc = code(sem.acquire(t, { n: 5, intr: true }));
      await settle();
      t.interrupt();
      expect(await pc).toBe('EINTR');
      expect(sem.waiting).toBe(0);
    });
  });

  it('rejects bad counts with EINVAL and overflow with EOVERFLOW', async () => {
    const { sim, k, td } = setup();
    expect(() => new Semaphore(k, -1, 'x')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => new Semaphore(k, 1.5, 'x')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => new Semaphore(k, SEM_VALUE_MAX + 1, 'x')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const sem = new Semaphore(k, SEM_VALUE_MAX, 'big');
    expect(() => sem.release()).toThrow(expect.objectContaining({ code: 'EOVERFLOW' }));
    for (const n of [0, -1, 0.5, NaN, Infinity]) {
      expect(() => sem.tryAcquire(n)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => sem.release(n)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      await sim.run(async () => { expect(await code(sem.acquire(td('a'), { n }))).toBe('EINVAL'); });
    }
    expect(sem.value).toBe(SEM_VALUE_MAX);
  });
});

// ---- model-based properties -----------------------------------------------------------
//
// Random operation sequences on a few threads, checked after every step
// against small array models of the documented policies. Each step waits
// for the interrupted thread's rejection (or the new owner's grant) before
// the next, so the comparison is of settled states.

type Op =
  | { t: 'acq'; i: number; intr: boolean; shared: boolean; n: number }
  | { t: 'rel'; i: number }
  | { t: 'int'; i: number }
  | { t: 'post'; n: number };

const NT = 4;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('acq' as const), i: fc.nat(NT - 1), intr: fc.boolean(), shared: fc.boolean(), n: fc.integer({ min: 1, max: 3 }) }), weight: 5 },
  { arbitrary: fc.record({ t: fc.constant('rel' as const), i: fc.nat(NT - 1) }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('int' as const), i: fc.nat(NT - 1) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('post' as const), n: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
);
const opsArb = fc.array(opArb, { minLength: 5, maxLength: 60 });

/** Per-thread bookkeeping on the real side: the pending acquisition and the guard once granted. */
class Slots {
  readonly pending = new Map<number, Promise<LockGuard>>();
  readonly guards = new Map<number, LockGuard>();
  async guardOf(i: number): Promise<LockGuard> {
    const g = this.guards.get(i) ?? (await this.pending.get(i)!);
    this.pending.delete(i);
    this.guards.delete(i);
    return g;
  }
}

describe('model-based', () => {
  it('Mutex: FIFO handoff, interruptible waiters leave the queue', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1e6 }), opsArb, async (seed, ops) => {
      const { sim, k, td } = setup(seed);
      const m = new Mutex(k, CLS);
      const tds = Array.from({ length: NT }, (_, i) => td(`t${i}`));
      const real = new Slots();
      let owner: number | null = null;
      const queue: { i: number; intr: boolean }[] = [];
      await sim.run(async () => {
        for (const op of ops) {
          if (op.t === 'acq') {
            if (owner === op.i || queue.some((w) => w.i === op.i)) continue;
            const p = m.acquire(tds[op.i]!, { intr: op.intr });
            if (owner === null) { owner = op.i; real.guards.set(op.i, await p); } else { queue.push({ i: op.i, intr: op.intr }); real.pending.set(op.i, p); p.catch(() => {}); }
          } else if (op.t === 'rel' || op.t === 'post') {
            if (owner === null) continue;
            (await real.guardOf(owner)).release();
            owner = queue.shift()?.i ?? null;
          } else {
            const w = queue.findIndex((x) => x.i === op.i);
            const expectIntr = w >= 0 && queue[w]!.intr;
            expect(tds[op.i]!.interrupt()).toBe(expectIntr);
            if (expectIntr) {
              queue.splice(w, 1);
              expect(await code(real.pending.get(op.i)!)).toBe('EINTR');
              real.pending.delete(op.i);
            }
          }
          expect(m.owner).toBe(owner === null ? null : tds[owner]);
          expect(m.waiting).toBe(queue.length);
        }
      });
    }), { numRuns: 150 });
  });

  it('Semaphore: value and strict-FIFO grants match a counter-and-queue model', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1e6 }), fc.nat(3), opsArb, async (seed, initial, ops) => {
      const { sim, k, td } = setup(seed);
      const sem = new Semaphore(k, initial, 'model');
      const tds = Array.from({ length: NT }, (_, i) => td(`t${i}`));
      const real = new Slots();
      let count = initial;
      const queue: { i: number; n: number; intr: boolean }[] = [];
      const holds = new Map<number, number>();
      const dispatch = () => {
        while (queue.length > 0 && queue[0]!.n <= count) {
          const w = queue.shift()!;
          count -= w.n;
          holds.set(w.i, w.n);
        }
      };
      await sim.run(async () => {
        for (const op of ops) {
          if (op.t === 'acq') {
            if (holds.has(op.i) || queue.some((w) => w.i === op.i)) continue;
            const p = sem.acquire(tds[op.i]!, { intr: op.intr, n: op.n });
            if (queue.length === 0 && count >= op.n) { count -= op.n; holds.set(op.i, op.n); real.guards.set(op.i, await p); } else { queue.push({ i: op.i, n: op.n, intr: op.intr }); real.pending.set(op.i, p); p.catch(() => {}); }
          } else if (op.t === 'rel') {
            if (!holds.has(op.i)) continue;
            (await real.guardOf(op.i)).release();
            count += holds.get(op.i)!;
            holds.delete(op.i);
            dispatch();
          } else if (op.t === 'post') {
            sem.release(op.n);
            count += op.n;
            dispatch();
          } else {
            const w = queue.findIndex((x) => x.i === op.i);
            const expectIntr = w >= 0 && queue[w]!.intr;
            expect(tds[op.i]!.interrupt()).toBe(expectIntr);
            if (expectIntr) {
              queue.splice(w, 1);
              expect(await code(real.pending.get(op.i)!)).toBe('EINTR');
              real.pending.delete(op.i);
              dispatch(); // the head giving up may let the next through
            }
          }
          expect(sem.value).toBe(count);
          expect(sem.waiting).toBe(queue.length);
        }
      });
    }), { numRuns: 150 });
  });

  it('RwLock: holders and queue match the writer-preference / reader-batch model', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1e6 }), opsArb, async (seed, ops) => {
      const { sim, k, td } = setup(seed);
      const rw = new RwLock(k, CLS);
      const tds = Array.from({ length: NT }, (_, i) => td(`t${i}`));
      const real = new Slots();
      let writer: number | null = null;
      const readers = new Set<number>();
      let queue: { i: number; shared: boolean; intr: boolean }[] = [];
      const admitReaders = () => {
        for (const w of queue) if (w.shared) readers.add(w.i);
        queue = queue.filter((w) => !w.shared);
      };
      const dispatch = (readersFirst: boolean) => {
        if (writer !== null) return;
        if (readersFirst && queue.some((w) => w.shared)) return admitReaders();
        const wi = queue.findIndex((w) => !w.shared);
        if (wi >= 0) {
          if (readers.size === 0) writer = queue.splice(wi, 1)[0]!.i;
          return;
        }
        admitReaders();
      };
      await sim.run(async () => {
        for (const op of ops) {
          if (op.t === 'acq') {
            if (writer === op.i || readers.has(op.i) || queue.some((w) => w.i === op.i)) continue;
            const t = tds[op.i]!;
            const p = op.shared ? rw.acquireShared(t, { intr: op.intr }) : rw.acquireExclusive(t, { intr: op.intr });
            const now = writer === null && (op.shared ? !queue.some((w) => !w.shared) : readers.size === 0 && queue.length === 0);
            if (now) {
              if (op.shared) readers.add(op.i); else writer = op.i;
              real.guards.set(op.i, await p);
            } else {
              queue.push({ i: op.i, shared: op.shared, intr: op.intr });
              real.pending.set(op.i, p);
              p.catch(() => {});
            }
          } else if (op.t === 'rel' || op.t === 'post') {
            const i = op.t === 'rel' ? op.i : writer ?? [...readers][0];
            if (i === undefined || i === null || (writer !== i && !readers.has(i))) continue;
            (await real.guardOf(i)).release();
            if (writer === i) { writer = null; dispatch(true); } else { readers.delete(i); if (readers.size === 0) dispatch(false); }
          } else {
            const w = queue.findIndex((x) => x.i === op.i);
            const expectIntr = w >= 0 && queue[w]!.intr;
            expect(tds[op.i]!.interrupt()).toBe(expectIntr);
            if (expectIntr) {
              const [gone] = queue.splice(w, 1);
              expect(await code(real.pending.get(op.i)!)).toBe('EINTR');
              real.pending.delete(op.i);
              if (!gone!.shared) dispatch(false);
            }
          }
          expect(writer !== null && readers.size > 0).toBe(false);
          expect(rw.owner).toBe(writer === null ? null : tds[writer]);
          expect(rw.readers).toBe(readers.size);
          for (let i = 0; i < NT; i++) expect(rw.heldBy(tds[i]!)).toBe(writer === i ? 'excl' : readers.has(i) ? 'shared' : null);
          expect(rw.waiting).toBe(queue.length);
        }
      });
    }), { numRuns: 150 });
  });
});
