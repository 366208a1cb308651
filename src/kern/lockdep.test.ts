/**
 * Tests for lockdep (lockdep.ts) through the locks that feed it: the
 * acceptance scenario (two kernel threads take A→B and later B→A, no
 * deadlock happens, the cycle is reported with both acquisition sites),
 * longer cycles, recursion, bad unlocks, locks held at return / thread exit,
 * the leak report, strict mode and lockdep=0.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimHost, SimPanic } from '../hyper/sim/host.ts';
import { Kernel } from './kernel.ts';
import { Lwp, yieldCpu } from './sched.ts';
import { CondVar, LockClass, type LockGuard, Mutex, RwLock, Semaphore } from './lock.ts';
import { formatSite, Lockdep } from './lockdep.ts';
import { LOCK_ORDER } from './lock_order.ts';

function setup(params: Record<string, string> = {}, seed = 1) {
  const sim = new SimHost({ seed, params });
  const k = new Kernel(sim);
  const td = (name: string) => new Lwp(k, k.proc0, name);
  return { sim, k, td, ld: k.lockdep! };
}

/** The line of this file that called line(). */
function line(): number {
  const m = [...(new Error().stack ?? '').matchAll(/lockdep\.test\.ts:(\d+)/g)];
  return Number(m[1]![1]);
}

const here = (n: number) => `src/kern/lockdep.test.ts:${n}`;

/** The guard of an enter() that must not sleep (the lock is free). */
function now(g: LockGuard | Promise<LockGuard>): LockGuard {
  if (g instanceof Promise) throw new Error('enter() would have slept on a free lock');
  return g;
}

describe('lockdep order validation', () => {
  it('reports an A/B order cycle with both acquisition sites although no deadlock happened', async () => {
    const { sim, k, ld } = setup({ lockdep: 'full' });
    const A = new LockClass('A', 'first test class');
    const B = new LockClass('B', 'second test class');
    const a = new Mutex(k, A, 'a0');
    const b = new Mutex(k, B, 'b0');
    const turn = new Semaphore(k, 0, 'turn'); // orders the threads: no deadlock in this run
    const at: Record<string, number> = {};
    const errors: unknown[] = [];
    const steps: string[] = [];
    await sim.run(async () => {
      const t1 = k.kthreadCreate('ab', async (td) => {
        try {
          at.t1a = line() + 1;
          using ga = await a.acquire(td);
          at.t1b = line() + 1;
          using gb = await b.acquire(td);
          await yieldCpu(k);
          steps.push('ab done');
          void ga, gb;
        } catch (e) {
          errors.push(e);
        }
        turn.release();
      });
      const t2 = k.kthreadCreate('ba', async (td) => {
        try {
          (await turn.acquire(td)).release();
          at.t2b = line() + 1;
          using gb = await b.acquire(td);
          at.t2a = line() + 1;
          using ga = await a.acquire(td);
          steps.push('ba done');
          void ga, gb;
        } catch (e) {
          errors.push(e);
        }
      });
      await Promise.all([t1.done, t2.done]);
    });
    expect(errors).toEqual([]);
    expect(steps).toEqual(['ab done', 'ba done']); // both ran to completion: no deadlock
    expect(ld.reports).toHaveLength(1);
    const r = ld.reports[0]!;
    expect(r.kind).toBe('order-cycle');
    expect(r.thread).toBe('ba[0]');
    expect(r.lock).toBe('a0');
    expect(r.lockClass).toBe('A');
    // the current acquisition and what it holds
    expect(r.site).toContain(here(at.t2a!));
    expect(r.held).toEqual([{ lock: 'b0', lockClass: 'B', site: expect.stringContaining(here(at.t2b!)) }]);
    // the earlier, opposite order, with both of its sites
    expect(r.cycle).toEqual([{
      from: 'A', to: 'B', thread: 'ab[0]',
      heldSite: expect.stringContaining(here(at.t1a!)),
      acquireSite: expect.stringContaining(here(at.t1b!)),
    }]);
    for (const n of [at.t1a, at.t1b, at.t2a, at.t2b]) expect(r.message).toContain(here(n!));
    expect(r.message).toMatch(/possible circular locking dependency: B -> A -> B/);
    expect(k.msgbuf.format()).toContain('possible circular locking dependency');
    expect(ld.orderEdges()).toEqual(['A -> B']); // the offending edge is not added
    expect(k.leakReport().heldLocks).toEqual([]);
  });

  it('reports a real ABBA deadlock before the second thread blocks', async () => {
    const { sim, k, ld } = setup();
    const a = new Mutex(k, 'A'), b = new Mutex(k, 'B');
    const both = new Semaphore(k, 0, 'both-hold-one');
    const take = (name: string, x: Mutex, y: Mutex) => k.kthreadCreate(name, async (td) => {
      await x.acquire(td);
      both.release();
      (await both.acquire(td, { n: 2 })).release(); // wait until both threads hold their first lock
      await y.acquire(td);
    });
    await expect(sim.run(async () => {
      const t1 = take('t1', a, b), t2 = take('t2', b, a);
      await Promise.all([t1.done, t2.done]);
    })).rejects.toThrow(/deadlock/);
    expect(ld.reports.map((r) => r.kind)).toEqual(['order-cycle']);
    expect(a.waiting + b.waiting).toBe(2);
    expect(ld.heldLocks()).toHaveLength(2);
  });

  it('stays quiet when every thread takes the classes in the same order', async () => {
    const { sim, k, td, ld } = setup();
    const a = new Mutex(k, 'A'), b = new Mutex(k, 'B'), c = new Mutex(k, 'C');
    await sim.run(async () => {
      for (const name of ['x', 'y']) {
        const t = td(name);
        using ga = await a.acquire(t);
        using gb = await b.acquire(t);
        using gc = await c.acquire(t);
        void ga, gb, gc;
      }
      const t = td('z');
      using gb = await b.acquire(t); // a subset in the same order is fine
      using gc = await c.acquire(t);
      void gb, gc;
    });
    expect(ld.reports).toEqual([]);
    expect(ld.orderEdges().sort()).toEqual(['A -> B', 'A -> C', 'B -> C']);
  });

  it('finds a cycle through several classes and reports it once', async () => {
    const { sim, k, td, ld } = setup();
    const a = new Mutex(k, 'A'), b = new Mutex(k, 'B'), c = new Mutex(k, 'C');
    const pair = async (t: Lwp, x: Mutex, y: Mutex) => {
      using gx = await x.acquire(t);
      using gy = await y.acquire(t);
      void gx, gy;
    };
    await sim.run(async () => {
      await pair(td('t1'), a, b);
      await pair(td('t2'), b, c);
      expect(ld.reports).toEqual([]);
      await pair(td('t3'), c, a);
      await pair(td('t4'), c, a);
    });
    expect(ld.reports).toHaveLength(1);
    const r = ld.reports[0]!;
    expect(r.cycle.map((e) => `${e.from}->${e.to}:${e.thread}`)).toEqual(['A->B:t1[0]', 'B->C:t2[0]']);
    expect(r.message).toContain('C -> A -> B -> C');
    // a site names the helper's line and, after '<', the line that called it
    expect(r.site).toMatch(/^pair \(src\/kern\/lockdep\.test\.ts:\d+\) < src\/kern\/lockdep\.test\.ts:\d+/);
  });

  it('treats shared rwlock holds like exclusive ones (writer preference makes read inversions deadlock)', async () => {
    const { sim, k, td, ld } = setup();
    const m = new Mutex(k, 'inode');
    const rw = new RwLock(k, 'namespace');
    await sim.run(async () => {
      const t1 = td('t1');
      {
        using r = await rw.acquireShared(t1);
        using g = await m.acquire(t1);
        void r, g;
      }
      const t2 = td('t2');
      using g = await m.acquire(t2);
      using r = await rw.acquireShared(t2);
      void r, g;
    });
    expect(ld.reports.map((r) => r.kind)).toEqual(['order-cycle']);
    expect(ld.reports[0]!.held[0]).toMatchObject({ lock: 'inode', lockClass: 'inode' });
  });

  it('adds no edge for a trylock, but orders later acquisitions after the trylocked lock', async () => {
    const { sim, k, td, ld } = setup();
    const a = new Mutex(k, 'A'), b = new Mutex(k, 'B');
    await sim.run(async () => {
      const t = td('t');
      const ga = await a.acquire(t);
      const gb = b.tryAcquire(t)!;
      expect(ld.orderEdges()).toEqual([]);
      gb.release();
      ga.release();
      const gb2 = b.tryAcquire(t)!;
      const ga2 = await a.acquire(t);
      expect(ld.orderEdges()).toEqual(['B -> A']);
      ga2.release();
      gb2.release();
    });
    expect(ld.reports).toEqual([]);
  });

  it('follows a condvar wait: the mutex leaves the held list and is retaken in order', async () => {
    const { sim, k, td, ld } = setup();
    const outer = new Mutex(k, 'outer'), m = new Mutex(k, 'inner');
    const cv = new CondVar(k, 'cv');
    await sim.run(async () => {
      const t = td('t');
      using go = await outer.acquire(t);
      using g = await m.acquire(t);
      expect(ld.heldBy(t)).toHaveLength(2);
      const p = cv.wait(t, m, { timeoutNs: 100n });
      expect(ld.heldBy(t)).toHaveLength(1);
      expect(await p).toBe('timeout');
      expect(ld.heldBy(t).map((s) => s.split(' ')[1])).toEqual(['outer', 'inner']);
      void go, g;
    });
    expect(ld.reports).toEqual([]);
    expect(ld.orderEdges()).toEqual(['outer -> inner']);
  });
});

describe('lockdep sees every acquisition', () => {
  it('records the order of uncontended acquisitions of every kind: acquire, enter, shared and exclusive', async () => {
    const { sim, k, td, ld } = setup();
    const outer = new Mutex(k, 'outer');
    const m = new Mutex(k, 'm'), rs = new RwLock(k, 'rs'), rx = new RwLock(k, 'rx'), ms = new Mutex(k, 'ms');
    await sim.run(async () => {
      const t = td('t');
      {
        using go = now(outer.enter(t)); // free: the guard at once, no promise
        const g1 = now(m.enter(t));
        const g2 = now(rs.enter(t, 'shared'));
        g2.release();
        g1.release();
        using g3 = now(rx.enter(t, 'excl'));
        using g4 = await ms.acquire(t);
        void go, g3, g4;
      }
      expect(m.waiting + rs.waiting + rx.waiting + ms.waiting).toBe(0); // nothing was ever contended
    });
    expect(ld.orderEdges().sort()).toEqual(['m -> rs', 'outer -> m', 'outer -> ms', 'outer -> rs', 'outer -> rx', 'rx -> ms']);
    expect(ld.reports).toEqual([]);
  });

  it('an uncontended ABBA is a report with both acquisition sites', async () => {
    const { sim, k, td, ld } = setup();
    const a = new RwLock(k, 'A'), b = new RwLock(k, 'B');
    const at: number[] = [];
    await sim.run(async () => {
      const t1 = td('t1');
      {
        using ga = now(a.enter(t1, 'shared'));
        at.push(line() + 1);
        using gb = now(b.enter(t1, 'excl'));
        void ga, gb;
      }
      const t2 = td('t2');
      using gb = now(b.enter(t2, 'shared'));
      at.push(line() + 1);
      using ga = now(a.enter(t2, 'excl'));
      void ga, gb;
    });
    expect(ld.reports).toHaveLength(1);
    const r = ld.reports[0]!;
    expect(r.kind).toBe('order-cycle');
    expect(r.cycle[0]!.acquireSite).toContain(here(at[0]!));
    expect(r.site).toContain(here(at[1]!));
  });

  it('a held trylock orders what is taken under it, shared and exclusive, mutex and rwlock', async () => {
    const { sim, k, td, ld } = setup();
    const m = new Mutex(k, 'm'), r = new RwLock(k, 'r'), w = new RwLock(k, 'w'), after = new Mutex(k, 'after');
    await sim.run(async () => {
      const t = td('t');
      using gm = m.tryAcquire(t)!;
      using gr = r.tryAcquireShared(t)!;
      using gw = w.tryAcquireExclusive(t)!;
      expect(ld.orderEdges()).toEqual([]); // no edge into a trylock
      expect(ld.heldBy(t)).toHaveLength(3); // but all three are held
      using ga = await after.acquire(t);
      void gm, gr, gw, ga;
    });
    expect(ld.orderEdges().sort()).toEqual(['m -> after', 'r -> after', 'w -> after']);
  });

  it('keeps no held stack for a thread that holds nothing, and reuses stacks', async () => {
    const { sim, k, td, ld } = setup();
    const a = new Mutex(k, 'A'), b = new Mutex(k, 'B');
    await sim.run(async () => {
      const t = td('t');
      expect(t.held).toBeNull();
      const ga = now(a.enter(t));
      const stack = t.held;
      expect(stack).not.toBeNull();
      const gb = now(b.enter(t));
      ga.release(); // out of order is fine
      expect(ld.heldBy(t).map((s) => s.split(' ')[1])).toEqual(['B']);
      gb.release();
      expect(t.held).toBeNull();
      const t2 = td('t2');
      const g2 = now(a.enter(t2));
      expect(t2.held).toBe(stack); // the spare stack, not a new one
      g2.release();
    });
    expect(ld.heldLocks()).toEqual([]);
  });
});

describe('lockdep and the published lock order', () => {
  it('reports the first acquisition that goes up LOCK_ORDER, before the other order was ever seen', async () => {
    const { sim, k, td, ld } = setup();
    expect(LOCK_ORDER.indexOf('vfs_rename')).toBeLessThan(LOCK_ORDER.indexOf('vnode'));
    const rename = new Mutex(k, 'vfs_rename', 'rename:t'), file = new RwLock(k, 'vnode', 'vnode t:5');
    const other = new Mutex(k, 'unlisted');
    let at = 0;
    await sim.run(async () => {
      const t = td('t');
      using gv = now(file.enter(t, 'excl'));
      using go = now(other.enter(t)); // unlisted: ordered by observation only
      at = line() + 1;
      using gr = now(rename.enter(t));
      void gv, go, gr;
    });
    expect(ld.reports).toHaveLength(1);
    const r = ld.reports[0]!;
    expect(r.kind).toBe('order-violation');
    expect(r.site).toContain(here(at));
    expect(r.cycle).toEqual([expect.objectContaining({ from: 'vnode', to: 'vfs_rename', acquireSite: expect.stringContaining(here(at)) })]);
    expect(r.message).toContain('goes up the published lock order');
    expect(ld.orderEdges().sort()).toEqual(['unlisted -> vfs_rename', 'vnode -> unlisted']);
  });

  it('is quiet for acquisitions down the list, subclasses included', async () => {
    const { sim, k, td, ld } = setup({ lockdep: 'strict' });
    const rename = new Mutex(k, 'vfs_rename'), dir = new RwLock(k, 'vnode_dir'), dir2 = new RwLock(k, 'vnode_dir'), file = new RwLock(k, 'vnode');
    await sim.run(async () => {
      const t = td('t');
      using g1 = now(rename.enter(t));
      using g2 = now(dir.enter(t, 'excl'));
      using g3 = now(dir2.enter(t, 'excl', { subclass: 1 }));
      using g4 = now(file.enter(t, 'excl'));
      void g1, g2, g3, g4;
    });
    expect(ld.reports).toEqual([]);
    expect(ld.orderEdges()).toHaveLength(6);
  });
});

describe('lockdep recursion and balance checks', () => {
  it('reports two locks of one class nested without a subclass, and accepts subclass nesting', async () => {
    const { sim, k, td, ld } = setup();
    const VNODE = new LockClass('vnode');
    const dir = new Mutex(k, VNODE, 'vnode 2'), file = new Mutex(k, VNODE, 'vnode 7');
    let at = 0;
    await sim.run(async () => {
      const t = td('t');
      {
        using g1 = await dir.acquire(t);
        using g2 = await file.acquire(t, { subclass: 1 });
        void g1, g2;
      }
      expect(ld.reports).toEqual([]);
      expect(ld.orderEdges()).toEqual(['vnode -> vnode/1']);
      using g1 = await dir.acquire(t);
      at = line() + 1;
      using g2 = await file.acquire(t);
      void g1, g2;
    });
    expect(ld.reports).toHaveLength(1);
    expect(ld.reports[0]).toMatchObject({ kind: 'recursive', lock: 'vnode 7', lockClass: 'vnode' });
    expect(ld.reports[0]!.site).toContain(here(at));
    expect(ld.reports[0]!.message).toContain('possible recursive locking');
  });

  it('reports re-acquiring a held lock (and the lock then panics: it would deadlock)', async () => {
    const { sim, k, td, ld } = setup();
    const m = new Mutex(k, 'A', 'selfish');
    await expect(sim.run(async () => {
      const t = td('t');
      await m.acquire(t);
      await m.acquire(t);
    })).rejects.toThrow(SimPanic);
    expect(ld.reports.map((r) => r.kind)).toEqual(['recursive']);
    expect(ld.reports[0]!.message).toContain('which it already holds');
  });

  it('reports releasing a lock the thread does not hold (before the lock panics)', async () => {
    const { sim, k, td, ld } = setup({ lockdep: 'full' });
    const m = new Mutex(k, 'A', 'other');
    await expect(sim.run(async () => {
      await m.acquire(td('owner'));
      m.release(td('thief'));
    })).rejects.toThrow(/released by thief/);
    expect(ld.reports).toHaveLength(1);
    expect(ld.reports[0]).toMatchObject({ kind: 'bad-unlock', thread: 'thief[0]', lock: 'other' });
    expect(ld.heldLocks()).toEqual([expect.stringMatching(/^owner\[0\]: mutex other \(class A\) acquired at .*lockdep\.test\.ts:\d+/)]);
  });

  it('reports locks held at syscall return and at kernel thread exit, and lists them for the leak report', async () => {
    const { sim, k, td, ld } = setup({ lockdep: 'full' });
    const m = new Mutex(k, 'A', 'leaked');
    const rw = new RwLock(k, 'B', 'also');
    await sim.run(async () => {
      const t = td('open');
      expect(ld.assertNoneHeld(t)).toBe(true);
      const g = await m.acquire(t);
      expect(ld.assertNoneHeld(t)).toBe(false);
      expect(ld.reports[0]).toMatchObject({ kind: 'held-at-return', thread: 'open[0]' });
      expect(ld.reports[0]!.message).toContain('at syscall return');
      expect(ld.reports[0]!.held).toEqual([{ lock: 'leaked', lockClass: 'A', site: expect.stringContaining('lockdep.test.ts:') }]);
      g.release();
      const kt = k.kthreadCreate('forgetful', async (td2) => {
        await rw.acquireShared(td2);
      });
      await kt.done;
    });
    expect(ld.reports.map((r) => r.kind)).toEqual(['held-at-return', 'held-at-return']);
    expect(ld.reports[1]!.message).toContain('at exit of kthread forgetful');
    const report = k.leakReport();
    expect(report.heldLocks).toEqual([expect.stringMatching(/^forgetful\[0\]: rwlock also \(class B, shared\) acquired at/)]);
    expect(report.clean).toBe(false);
  });
});

describe('lockdep modes', () => {
  it('is on by default, strict on lockdep=strict (a cycle panics), off on lockdep=0', async () => {
    expect(setup().k.lockdep).toBeInstanceOf(Lockdep);
    expect(setup().k.lockdep!.strict).toBe(false);
    expect(setup({ lockdep: '1' }).k.lockdep!.strict).toBe(false);
    expect(setup({ lockdep: 'off' }).k.lockdep).toBeNull();
    const odd = setup({ lockdep: 'maybe' });
    expect(odd.k.lockdep!.strict).toBe(false);
    expect(odd.k.msgbuf.format()).toContain('unknown lockdep="maybe"');
    expect(setup({ lockdep: 'strict,full' }).k.lockdep).toMatchObject({ strict: true, full: true });
    expect(setup({ lockdep: 'fast' }).k.lockdep).toMatchObject({ strict: false, full: false });

    const s = setup({ lockdep: 'strict' });
    const a = new Mutex(s.k, 'A'), b = new Mutex(s.k, 'B');
    await expect(s.sim.run(async () => {
      const t = s.td('t');
      {
        using ga = await a.acquire(t);
        using gb = await b.acquire(t);
        void ga, gb;
      }
      using gb = await b.acquire(t);
      using ga = await a.acquire(t);
      void ga, gb;
    })).rejects.toThrow(/possible circular locking dependency/);
    expect(s.sim.panics).toHaveLength(1);
  });

  it('without full, still names both acquisitions of a cycle, but not where held locks were taken', async () => {
    const { sim, k, td, ld } = setup();
    expect(ld.full).toBe(false);
    const a = new Mutex(k, 'A'), b = new Mutex(k, 'B');
    const at: number[] = [];
    await sim.run(async () => {
      const t1 = td('t1');
      {
        using ga = await a.acquire(t1);
        at.push(line() + 1);
        using gb = await b.acquire(t1);
        void ga, gb;
      }
      const t2 = td('t2');
      using gb = await b.acquire(t2);
      at.push(line() + 1);
      using ga = await a.acquire(t2);
      void ga, gb;
    });
    expect(ld.reports).toHaveLength(1);
    const r = ld.reports[0]!;
    expect(r.cycle[0]!.acquireSite).toContain(here(at[0]!));
    expect(r.site).toContain(here(at[1]!));
    expect(r.cycle[0]!.heldSite).toBe('<site not recorded: lockdep=full records it>');
    expect(r.held[0]!.site).toBe('<site not recorded: lockdep=full records it>');
  });

  it('with lockdep=0 locks work and keep no records', async () => {
    const { sim, k, td } = setup({ lockdep: '0' });
    expect(k.lockdep).toBeNull();
    const a = new Mutex(k, 'A'), b = new Mutex(k, 'B');
    await sim.run(async () => {
      const t = td('t');
      {
        using ga = await a.acquire(t);
        using gb = await b.acquire(t);
        void ga, gb;
      }
      using gb = await b.acquire(t);
      using ga = await a.acquire(t);
      void ga, gb;
    });
    expect(k.leakReport().heldLocks).toEqual([]);
  });

  it('formats a site as the first frame outside the lock code', () => {
    const n = line() + 1;
    const e = new Error('x');
    expect(formatSite(e)).toContain(here(n));
    expect(formatSite({ stack: 'Error\n    at nowhere' } as Error)).toBe('<unknown site>');
  });
});

describe('lockdep against a transitive-closure model', () => {
  // Each critical section takes distinct classes nested in the given order
  // (a fresh thread each time, no contention). Model: the set of every
  // (held, acquired) pair, closed transitively (Floyd–Warshall); lockdep must
  // report at least one cycle exactly when that relation has one, and every
  // report must describe a real closed cycle.
  const NC = 5;
  const sectionArb = fc.uniqueArray(fc.nat(NC - 1), { minLength: 1, maxLength: 4 });
  it('reports a cycle iff the observed order relation is cyclic', async () => {
    await fc.assert(fc.asyncProperty(fc.array(sectionArb, { maxLength: 12 }), async (sections) => {
      const { sim, k, td, ld } = setup();
      const names = 'ABCDE';
      const locks = [...names].map((n) => new Mutex(k, n));
      await sim.run(async () => {
        for (const [si, sec] of sections.entries()) {
          const t = td(`s${si}`);
          const guards = [];
          for (const c of sec) guards.push(await locks[c]!.acquire(t));
          for (const g of guards.reverse()) g.release();
        }
      });
      const reach = Array.from({ length: NC }, () => new Array<boolean>(NC).fill(false));
      for (const sec of sections) for (let i = 0; i < sec.length; i++) for (let j = i + 1; j < sec.length; j++) reach[sec[i]!]![sec[j]!] = true;
      for (let m = 0; m < NC; m++) for (let i = 0; i < NC; i++) for (let j = 0; j < NC; j++) if (reach[i]![m] && reach[m]![j]) reach[i]![j] = true;
      const cyclic = reach.some((row, i) => row[i]);
      const cycles = ld.reports.filter((r) => r.kind === 'order-cycle');
      expect(ld.reports.length).toBe(cycles.length);
      expect(cycles.length > 0).toBe(cyclic);
      for (const r of cycles) {
        // held -> wanted, then the recorded path wanted -> ... -> held
        const held = r.held.map((h) => h.lockClass);
        expect(r.cycle[0]!.from).toBe(r.lockClass);
        for (let i = 1; i < r.cycle.length; i++) expect(r.cycle[i]!.from).toBe(r.cycle[i - 1]!.to);
        expect(held).toContain(r.cycle.at(-1)!.to);
      }
      expect(ld.heldLocks()).toEqual([]);
    }), { numRuns: 300 });
  });
});
