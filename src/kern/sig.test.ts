/**
 * Signals as library callers see them (signal(7), kill(2), sigaction(2),
 * sigprocmask(2), sigsuspend(2), sigtimedwait(2), alarm(2)), run on the
 * deterministic sim host. `settle()` lets every scheduled upcall run (an
 * event 1 µs later sorts after all runnable work at the current instant).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimHost, forEachSeed } from '../hyper/sim/index.ts';
import { boot, type BootedKernel } from '../frontends/library/boot.ts';
import type { KernelError } from './errno.ts';
import {
  SIGALRM, SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGPIPE, SIGQUIT, SIGSEGV, SIGSTOP, SIGTERM, SIGTSTP, SIGUSR1,
  SIGUSR2, SIGWINCH, SIG_BLOCK, SIG_SETMASK, SIG_UNBLOCK, WNOHANG,
} from './constants.ts';
import { SA_NODEFER, SA_RESETHAND, sigbit, type SigAction } from './sig.ts';
import { killpg, psignal, sigName } from './sig_post.ts';
import { WCOREDUMP, WIFSIGNALED, WTERMSIG } from './sys_sig.ts';

interface Env {
  bk: BootedKernel;
  sim: SimHost;
  settle: () => Promise<void>;
}

async function withKernel(seed: number, fn: (e: Env) => Promise<void>): Promise<void> {
  const sim = new SimHost({ seed });
  await sim.run(async () => {
    const bk = await boot({ host: sim, components: ['kern'] });
    await fn({ bk, sim, settle: () => sim.world.sleep(1000) });
  }, { limitNs: 100_000_000_000n });
}

/** Each scenario runs under three seeds (ANYKERNEL_SEED=n replays one). */
const run = (fn: (e: Env) => Promise<void>) =>
  forEachSeed(expect.getState().currentTestName ?? 'sig', 3, (seed) => withKernel(seed, fn));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as KernelError).code;
  }
  return 'ok';
}

describe('kill(2) and default actions', () => {
  it('default terminate: the parent reaps WTERMSIG, no core bit', () => run(async ({ bk, settle }) => {
    for (const sig of [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE, SIGALRM, 40]) {
      const c = bk.rfork();
      expect(await bk.sys.kill(c.pid, sig)).toBe(0);
      await settle();
      expect(c.proc.state).toBe('zombie');
      const r = await bk.sys.wait4(c.pid, 0);
      expect(r.pid).toBe(c.pid);
      expect(WIFSIGNALED(r.status)).toBe(true);
      expect(WTERMSIG(r.status)).toBe(sig);
      expect(WCOREDUMP(r.status)).toBe(false);
    }
  }));

  it('core-dumping signals set the 0x80 bit', () => run(async ({ bk, settle }) => {
    for (const sig of [SIGQUIT, SIGSEGV]) {
      const c = bk.rfork();
      await bk.sys.kill(c.pid, sig);
      await settle();
      const r = await bk.sys.wait4(c.pid, 0);
      expect(r.status).toBe(sig | 0x80);
      expect(WCOREDUMP(r.status)).toBe(true);
    }
  }));

  it('default-ignore signals leave the process alone', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    for (const sig of [SIGCHLD, SIGWINCH, 23 /* SIGURG */, SIGCONT]) await bk.sys.kill(c.pid, sig);
    await settle();
    expect(c.proc.state).toBe('alive');
    expect(await c.sys.sigpending()).toBe(0n);
  }));

  it('signal 0 probes existence and permission; bad numbers are EINVAL', () => run(async ({ bk }) => {
    const c = bk.rfork();
    expect(await bk.sys.kill(c.pid, 0)).toBe(0);
    expect(c.proc.state).toBe('alive');
    expect(await code(bk.sys.kill(99999, 0))).toBe('ESRCH');
    expect(await code(bk.sys.kill(c.pid, 65))).toBe('EINVAL');
    expect(await code(bk.sys.kill(c.pid, -1))).toBe('EINVAL');
    expect(await code(bk.sys.kill(-2147483648, SIGTERM))).toBe('ESRCH');
    expect(await code(bk.sys.kill(c.pid, 1.5 as number))).toBe('EINVAL');
    expect(await code((bk.sys.kill as (...a: unknown[]) => Promise<unknown>)('1', 0))).toBe('EINVAL');
  }));

  it('zombie targets: success, no effect', () => run(async ({ bk }) => {
    const c = bk.rfork();
    await bk.exit(c, 7);
    expect(await bk.sys.kill(c.pid, SIGKILL)).toBe(0);
    expect(await bk.sys.wait4(c.pid, 0)).toEqual({ pid: c.pid, status: 7 << 8 });
    expect(await code(bk.sys.kill(c.pid, 0))).toBe('ESRCH');
  }));

  it('EPERM unless root or a real/effective uid matches the target real/saved uid', () => run(async ({ bk, settle }) => {
    const a = bk.rfork({ uid: 1000, gid: 1000 });
    const b = bk.rfork({ uid: 1001, gid: 1001 });
    const a2 = bk.rfork({ uid: 1000, gid: 1000 });
    expect(await code(a.sys.kill(b.pid, SIGTERM))).toBe('EPERM');
    expect(await code(a.sys.kill(b.pid, 0))).toBe('EPERM');
    expect(await code(a.sys.kill(1, SIGTERM))).toBe('EPERM');
    expect(await a.sys.kill(a2.pid, SIGTERM)).toBe(0);
    // saved uid counts: b keeps 1001 as saved uid after becoming 1000 effective? (needs root) — use setresuid as root
    const c = bk.rfork();
    await c.sys.setresuid(2000, 2000, 1000);
    expect(await a.sys.kill(c.pid, SIGUSR1)).toBe(0);
    // SIGCONT is allowed within the session even across uids
    expect(await a.sys.kill(b.pid, SIGCONT)).toBe(0);
    await settle();
    expect(a2.proc.state).toBe('zombie');
    expect(c.proc.state).toBe('zombie');
    expect(b.proc.state).toBe('alive');
    // root may signal anyone
    expect(await bk.sys.kill(b.pid, SIGKILL)).toBe(0);
    await settle();
    expect(b.proc.state).toBe('zombie');
  }));

  it('init ignores signals it has no handler for (even SIGKILL), like Linux', () => run(async ({ bk, settle }) => {
    expect(await bk.sys.kill(1, SIGKILL)).toBe(0);
    expect(await bk.sys.kill(1, SIGTERM)).toBe(0);
    await settle();
    expect(bk.curproc.state).toBe('alive');
    expect(await bk.sys.getpid()).toBe(1);
    expect(await code(bk.sys.exit(0))).toBe('EPERM');
  }));

  it('process groups: 0, < -1, and -1', () => run(async ({ bk, settle }) => {
    const leader = bk.rfork();
    await leader.sys.setpgid(0, 0);
    const m1 = leader.sys; void m1;
    const g1 = bk.rfork({ parent: leader.proc });
    const g2 = bk.rfork({ parent: leader.proc });
    expect(g1.proc.pgid).toBe(leader.pid);
    const other = bk.rfork();
    expect(await bk.sys.kill(-leader.pid, SIGTERM)).toBe(0);
    await settle();
    expect([leader, g1, g2].map((h) => h.proc.state)).toEqual(['zombie', 'zombie', 'zombie']);
    expect(other.proc.state).toBe('alive');
    expect(await code(bk.sys.kill(-77777, SIGTERM))).toBe('ESRCH');
    // kill(0) from a process signals its own group, the caller included
    const x = bk.rfork();
    await x.sys.setpgid(0, 0);
    const xm = bk.rfork({ parent: x.proc });
    expect(await xm.sys.kill(0, SIGTERM)).toBe(0);
    await settle();
    expect(x.proc.state).toBe('zombie');
    expect(xm.proc.state).toBe('zombie');
    expect(other.proc.state).toBe('alive');
    expect(bk.curproc.state).toBe('alive');
    await bk.sys.kill(other.pid, SIGTERM);
    await settle();
    // kill(-1): everyone but init and the caller; an unprivileged caller skips what it may not signal
    const u = bk.rfork({ uid: 5 });
    const u2 = bk.rfork({ uid: 5 });
    const r = bk.rfork();
    expect(await u.sys.kill(-1, SIGTERM)).toBe(0);
    await settle();
    expect(u.proc.state).toBe('alive');
    expect(u2.proc.state).toBe('zombie');
    expect(r.proc.state).toBe('alive');
    // a group where no member may be signalled: EPERM
    await r.sys.setpgid(0, 0);
    expect(await code(u.sys.kill(-r.pid, SIGTERM))).toBe('EPERM');
  }));

  it('tkill / tgkill: tid == pid', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    expect(await code(bk.sys.tkill(0, SIGTERM))).toBe('EINVAL');
    expect(await code(bk.sys.tgkill(c.pid, c.pid + 1000, SIGTERM))).toBe('ESRCH');
    expect(await code(bk.sys.tgkill(0, c.pid, SIGTERM))).toBe('EINVAL');
    expect(await bk.sys.tgkill(c.pid, c.pid, SIGTERM)).toBe(0);
    await settle();
    expect(c.proc.state).toBe('zombie');
  }));
});

describe('sigaction(2) and handlers', () => {
  it('a handler runs with the signal masked; the mask is restored after', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    const seen: [number, bigint][] = [];
    const old = await c.sys.sigaction(SIGUSR1, { handler: (s: number) => { seen.push([s, c.proc.sig.mask]); }, mask: [SIGUSR2] });
    expect(old).toEqual({ handler: 0, mask: 0n, flags: 0 });
    await bk.sys.kill(c.pid, SIGUSR1);
    await settle();
    expect(seen).toEqual([[SIGUSR1, sigbit(SIGUSR1) | sigbit(SIGUSR2)]]);
    expect(c.proc.sig.mask).toBe(0n);
    expect(c.proc.state).toBe('alive');
    const now = (await c.sys.sigaction(SIGUSR1)) as SigAction;
    expect(typeof now.handler).toBe('function');
    expect(now.mask).toBe(sigbit(SIGUSR2));
  }));

  it('SA_NODEFER leaves the signal unmasked; SA_RESETHAND resets to SIG_DFL', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    const masks: bigint[] = [];
    await c.sys.sigaction(SIGUSR1, { handler: () => { masks.push(c.proc.sig.mask); }, flags: SA_NODEFER | SA_RESETHAND });
    await bk.sys.kill(c.pid, SIGUSR1);
    await settle();
    expect(masks).toEqual([0n]);
    expect(((await c.sys.sigaction(SIGUSR1)) as SigAction).handler).toBe(0);
    await bk.sys.kill(c.pid, SIGUSR1); // now the default: terminate
    await settle();
    expect((await bk.sys.wait4(c.pid, 0)).status).toBe(SIGUSR1);
  }));

  it('async handlers: a second signal of the same kind waits until the first handler returns', () => run(async ({ bk, settle, sim }) => {
    const c = bk.rfork();
    const log: string[] = [];
    await c.sys.sigaction(SIGUSR1, {
      handler: async () => {
        log.push('in');
        await sim.world.sleep(10_000);
        log.push('out');
      },
    });
    await bk.sys.kill(c.pid, SIGUSR1);
    await settle();
    await bk.sys.kill(c.pid, SIGUSR1); // masked while the handler runs: pending
    await settle();
    expect(log).toEqual(['in']);
    expect(await c.sys.sigpending()).toBe(sigbit(SIGUSR1));
    await sim.world.sleep(9_000); // the first handler returned at t=10µs, the second one is running
    expect(log).toEqual(['in', 'out', 'in']);
    await sim.world.sleep(20_000);
    expect(log).toEqual(['in', 'out', 'in', 'out']);
    expect(c.proc.sig.mask).toBe(0n);
  }));

  it('nested handlers restore masks in stack order even when they finish out of order', () => run(async ({ bk, sim, settle }) => {
    const c = bk.rfork();
    await c.sys.sigprocmask(SIG_SETMASK, [SIGHUP]);
    await c.sys.sigaction(SIGUSR1, { handler: () => sim.world.sleep(5_000) });
    await c.sys.sigaction(SIGUSR2, { handler: () => sim.world.sleep(50_000) });
    await bk.sys.kill(c.pid, SIGUSR1);
    await settle();
    await bk.sys.kill(c.pid, SIGUSR2); // nests inside the USR1 handler
    await settle();
    expect(c.proc.sig.mask).toBe(sigbit(SIGHUP) | sigbit(SIGUSR1) | sigbit(SIGUSR2));
    await sim.world.sleep(10_000); // outer (USR1) finished first; inner still running
    expect(c.proc.sig.mask).toBe(sigbit(SIGHUP) | sigbit(SIGUSR1) | sigbit(SIGUSR2));
    await sim.world.sleep(60_000);
    expect(c.proc.sig.mask).toBe(sigbit(SIGHUP));
  }));

  it('a SA_NODEFER handler that re-raises its signal does not hang the kernel', () => run(async ({ bk, sim }) => {
    const c = bk.rfork();
    // The handler re-raises until other runnable work has had the CPU five
    // times; delivering in a loop inside one upcall would never let it.
    let n = 0, ticks = 0;
    let ticker: Promise<void> | null = null;
    const tick = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((r) => sim.schedule(r));
        ticks++;
      }
    };
    await c.sys.sigaction(SIGUSR1, {
      handler: () => {
        n++;
        ticker ??= tick(); // starts inside the first handler, so it competes with the re-raises
        if (ticks < 5) void c.sys.kill(c.pid, SIGUSR1);
      },
      flags: SA_NODEFER,
    });
    await bk.sys.kill(c.pid, SIGUSR1);
    await sim.world.sleep(1000);
    await ticker;
    expect(ticks).toBe(5);
    expect(n).toBeGreaterThanOrEqual(2);
    const after = n;
    await sim.world.sleep(1000);
    expect(n).toBe(after);
  }));

  it('a throwing handler is logged, not fatal', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    await c.sys.sigaction(SIGUSR2, { handler: () => { throw new Error('boom'); } });
    await bk.sys.kill(c.pid, SIGUSR2);
    await settle();
    expect(c.proc.state).toBe('alive');
    expect(bk.dmesg()).toMatch(/handler for signal 12 threw: boom/);
    expect(c.proc.sig.mask).toBe(0n);
  }));

  it('SIG_IGN drops the signal, and discards a pending one', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    await c.sys.sigprocmask(SIG_BLOCK, [SIGTERM]);
    await bk.sys.kill(c.pid, SIGTERM);
    expect(await c.sys.sigpending()).toBe(sigbit(SIGTERM));
    await c.sys.sigaction(SIGTERM, { handler: 1 });
    expect(await c.sys.sigpending()).toBe(0n);
    await c.sys.sigprocmask(SIG_UNBLOCK, [SIGTERM]);
    await bk.sys.kill(c.pid, SIGTERM);
    await settle();
    expect(c.proc.state).toBe('alive');
  }));

  it('SIGKILL and SIGSTOP cannot be caught or ignored; bad arguments are EINVAL', () => run(async ({ bk }) => {
    for (const sig of [SIGKILL, SIGSTOP]) {
      expect(await code(bk.sys.sigaction(sig, { handler: 1 }))).toBe('EINVAL');
      expect(await code(bk.sys.sigaction(sig, { handler: 0 }))).toBe('EINVAL');
      expect(await bk.sys.sigaction(sig)).toEqual({ handler: 0, mask: 0n, flags: 0 });
    }
    expect(await code(bk.sys.sigaction(0, { handler: 1 }))).toBe('EINVAL');
    expect(await code(bk.sys.sigaction(65))).toBe('EINVAL');
    expect(await code(bk.sys.sigaction(SIGUSR1, { handler: 3 }))).toBe('EINVAL'); // 2 is SIG_UPCALL
    expect(await code(bk.sys.sigaction(SIGUSR1, { handler: 'x' }))).toBe('EINVAL');
    expect(await code(bk.sys.sigaction(SIGUSR1, { handler: 0, mask: [99] }))).toBe('EINVAL');
    expect(await code(bk.sys.sigaction(SIGUSR1, { handler: 0, mask: -1n }))).toBe('EINVAL');
    expect(await code(bk.sys.sigaction(SIGUSR1, { handler: 0, flags: 1.5 }))).toBe('EINVAL');
    expect(await code((bk.sys.sigaction as (...a: unknown[]) => Promise<unknown>)(SIGUSR1, 5))).toBe('EFAULT');
    // sa_mask can never hold SIGKILL/SIGSTOP
    await bk.sys.sigaction(SIGUSR1, { handler: 1, mask: [SIGKILL, SIGUSR2] });
    expect((await bk.sys.sigaction(SIGUSR1)).mask).toBe(sigbit(SIGUSR2));
  }));

  it('actions and mask are inherited by fork; pending signals are not', () => run(async ({ bk }) => {
    const p = bk.rfork();
    await p.sys.sigaction(SIGTERM, { handler: 1 });
    await p.sys.sigprocmask(SIG_BLOCK, [SIGUSR1]);
    await bk.sys.kill(p.pid, SIGUSR1);
    const childPid = (await p.sys.fork()) as number;
    const child = bk.proc(childPid);
    expect(await child.sys.getppid()).toBe(p.pid);
    expect(((await child.sys.sigaction(SIGTERM)) as SigAction).handler).toBe(1);
    expect(await child.sys.sigprocmask(SIG_BLOCK)).toBe(sigbit(SIGUSR1));
    expect(await child.sys.sigpending()).toBe(0n);
    expect(await p.sys.sigpending()).toBe(sigbit(SIGUSR1));
  }));
});

describe('sigprocmask(2), pending, coalescing', () => {
  it('blocked signals stay pending; unblocking delivers them once (standard signals coalesce)', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    let n = 0;
    await c.sys.sigaction(SIGUSR1, { handler: () => { n++; } });
    expect(await c.sys.sigprocmask(SIG_BLOCK, [SIGUSR1])).toBe(0n);
    for (let i = 0; i < 3; i++) await bk.sys.kill(c.pid, SIGUSR1);
    await settle();
    expect(n).toBe(0);
    expect(await c.sys.sigpending()).toBe(sigbit(SIGUSR1));
    expect(await c.sys.sigprocmask(SIG_UNBLOCK, sigbit(SIGUSR1))).toBe(sigbit(SIGUSR1));
    await settle();
    expect(n).toBe(1);
    expect(await c.sys.sigpending()).toBe(0n);
  }));

  it('SIGKILL/SIGSTOP are silently left out of the mask; bad how/set are EINVAL', () => run(async ({ bk }) => {
    const c = bk.rfork();
    await c.sys.sigprocmask(SIG_SETMASK, (1n << 64n) - 1n);
    expect(await c.sys.sigprocmask(SIG_BLOCK)).toBe(((1n << 64n) - 1n) & ~(sigbit(SIGKILL) | sigbit(SIGSTOP)));
    expect(await code(c.sys.sigprocmask(7, [SIGUSR1]))).toBe('EINVAL');
    expect(await c.sys.sigprocmask(7)).toBeTypeOf('bigint'); // no set: how is not examined (Linux)
    expect(await code(c.sys.sigprocmask(SIG_BLOCK, 1n << 64n))).toBe('EINVAL');
    expect(await code(c.sys.sigprocmask(SIG_BLOCK, [0]))).toBe('EINVAL');
    expect(await code(c.sys.sigprocmask(SIG_BLOCK, 'all'))).toBe('EINVAL');
    expect(await code(c.sys.sigprocmask(SIG_BLOCK, new Array(100).fill(1)))).toBe('EINVAL');
  }));

  it('a blocked default-terminate signal kills when unblocked', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    await c.sys.sigprocmask(SIG_BLOCK, [SIGTERM]);
    await bk.sys.kill(c.pid, SIGTERM);
    await settle();
    expect(c.proc.state).toBe('alive');
    await c.sys.sigprocmask(SIG_SETMASK, 0n);
    await settle();
    expect(c.proc.state).toBe('zombie');
  }));

  it('killpg() posts to a whole group without permission checks (the tty\'s SIGINT)', () => run(async ({ bk, settle }) => {
    const lead = bk.rfork({ uid: 1000 });
    await lead.sys.setpgid!(0, 0);
    const m = bk.rfork({ parent: lead.proc, uid: 1000 });
    const outside = bk.rfork();
    expect(killpg(bk.kernel, lead.pid, SIGINT)).toBe(2);
    expect(killpg(bk.kernel, 99_999, SIGINT)).toBe(0);
    await settle();
    expect([lead.proc.state, m.proc.state, outside.proc.state]).toEqual(['zombie', 'zombie', 'alive']);
    expect(sigName(SIGINT)).toBe('SIGINT');
    expect(sigName(34)).toBe('SIGRT2');
  }));

  it('psignal() is usable by other subsystems (SIGPIPE on EPIPE)', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    psignal(bk.kernel, c.proc, SIGPIPE);
    await settle();
    expect((await bk.sys.wait4(c.pid)).status).toBe(SIGPIPE);
  }));

  it('model: post/block/unblock/ignore/handle against a set model', async () => {
    const SIGS = [SIGUSR1, SIGUSR2, SIGHUP];
    type Op = { op: 'post' | 'block' | 'unblock' | 'ign' | 'handle'; sig: number };
    const opArb = fc.record({ op: fc.constantFrom('post', 'block', 'unblock', 'ign', 'handle'), sig: fc.constantFrom(...SIGS) }) as fc.Arbitrary<Op>;
    await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), fc.integer({ min: 1, max: 1000 }), async (ops, seed) => {
      await withKernel(seed, async ({ bk, settle }) => {
        const c = bk.rfork();
        const got = new Map<number, number>();
        const handler = (s: number): void => { got.set(s, (got.get(s) ?? 0) + 1); };
        // model
        const pending = new Set<number>(), blocked = new Set<number>(), ign = new Set<number>();
        const want = new Map<number, number>();
        const flush = (): void => {
          for (const s of [...pending]) if (!blocked.has(s)) {
            pending.delete(s);
            if (!ign.has(s)) want.set(s, (want.get(s) ?? 0) + 1);
          }
        };
        for (const s of SIGS) await c.sys.sigaction(s, { handler });
        for (const { op, sig } of ops) {
          if (op === 'post') { await bk.sys.kill(c.pid, sig); pending.add(sig); }
          if (op === 'block') { await c.sys.sigprocmask(SIG_BLOCK, [sig]); blocked.add(sig); }
          if (op === 'unblock') { await c.sys.sigprocmask(SIG_UNBLOCK, [sig]); blocked.delete(sig); }
          if (op === 'ign') { await c.sys.sigaction(sig, { handler: 1 }); ign.add(sig); pending.delete(sig); }
          if (op === 'handle') { await c.sys.sigaction(sig, { handler }); ign.delete(sig); }
          flush();
          await settle();
          expect(got).toEqual(want);
          let pset = 0n;
          for (const s of pending) pset |= sigbit(s);
          expect(await c.sys.sigpending()).toBe(pset);
        }
        expect(c.proc.state).toBe('alive');
      });
    }), { numRuns: 40 });
  });
});

describe('interrupting sleeps', () => {
  it('a caught signal ends nanosleep with EINTR; an ignored one does not', async () => {
    await forEachSeed('sig-eintr', 4, (seed) => withKernel(seed, async ({ bk, sim, settle }) => {
      const c = bk.rfork();
      await c.sys.sigaction(SIGUSR1, { handler: () => {} });
      await c.sys.sigaction(SIGUSR2, { handler: 1 });
      const sleeping = code(c.sys.nanosleep({ sec: 10, nsec: 0 }));
      await settle();
      await bk.sys.kill(c.pid, SIGUSR2);
      await settle();
      expect(c.proc.sleeping.size).toBe(1);
      await bk.sys.kill(c.pid, SIGUSR1);
      expect(await sleeping).toBe('EINTR');
      expect(sim.clockMonotonic()).toBeLessThan(1_000_000_000n);
    }));
  });

  it('a blocked signal does not interrupt; a killed sleeper gives up', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    await c.sys.sigaction(SIGUSR1, { handler: () => {} });
    await c.sys.sigprocmask(SIG_BLOCK, [SIGUSR1]);
    const sleeping = code(c.sys.nanosleep({ sec: 10, nsec: 0 }));
    await settle();
    await bk.sys.kill(c.pid, SIGUSR1);
    await settle();
    expect(c.proc.sleeping.size).toBe(1);
    await bk.sys.kill(c.pid, SIGKILL);
    expect(await sleeping).toBe('EINTR');
    await settle();
    expect((await bk.sys.wait4(c.pid, 0)).status).toBe(SIGKILL);
  }));
});

describe('stop and continue', () => {
  it('SIGSTOP stops: new syscalls wait until SIGCONT; wait4 reports both once', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    await bk.sys.kill(c.pid, SIGSTOP);
    await settle();
    expect(c.proc.sig.stopped).toBe(true);
    let done = false;
    const call = c.sys.getpid().then((v) => { done = true; return v; });
    await settle();
    expect(done).toBe(false);
    expect(await bk.sys.wait4(c.pid, WNOHANG)).toEqual({ pid: 0, status: 0 }); // no WUNTRACED: not reported
    expect(await bk.sys.wait4(c.pid, 2 /* WUNTRACED */)).toEqual({ pid: c.pid, status: (SIGSTOP << 8) | 0x7f });
    expect(await bk.sys.wait4(c.pid, 2 | WNOHANG)).toEqual({ pid: 0, status: 0 }); // reported once
    await bk.sys.kill(c.pid, SIGCONT);
    expect(await call).toBe(c.pid);
    expect(done).toBe(true);
    expect(await bk.sys.wait4(c.pid, 8 /* WCONTINUED */)).toEqual({ pid: c.pid, status: 0xffff });
    expect(await bk.sys.wait4(c.pid, 8 | WNOHANG)).toEqual({ pid: 0, status: 0 });
  }));

  it('sleeping threads stay asleep through a stop; SIGKILL ends a stopped process', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    const sleeping = code(c.sys.nanosleep({ sec: 0, nsec: 500_000 }));
    await settle();
    await bk.sys.kill(c.pid, SIGTSTP);
    await settle();
    expect(c.proc.sig.stopped).toBe(true);
    expect(await sleeping).toBe('ok'); // finished normally, not EINTR
    const parked = code(c.sys.getpid());
    await bk.sys.kill(c.pid, SIGKILL);
    expect(await parked).toBe('ESRCH');
    await settle();
    expect((await bk.sys.wait4(c.pid, 0)).status).toBe(SIGKILL);
  }));

  it('signals that arrive while stopped are delivered after SIGCONT; a stop discards a pending SIGCONT', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    let n = 0;
    await c.sys.sigaction(SIGUSR1, { handler: () => { n++; } });
    await bk.sys.kill(c.pid, SIGSTOP);
    await bk.sys.kill(c.pid, SIGUSR1);
    await settle();
    expect(n).toBe(0);
    await bk.sys.kill(c.pid, SIGCONT);
    await settle();
    expect(n).toBe(1);
    // a caught SIGCONT still continues and then runs its handler
    let conts = 0;
    await c.sys.sigaction(SIGCONT, { handler: () => { conts++; } });
    await bk.sys.kill(c.pid, SIGSTOP);
    await settle();
    await bk.sys.kill(c.pid, SIGCONT);
    await settle();
    expect(c.proc.sig.stopped).toBe(false);
    expect(conts).toBe(1);
    // a blocked stop stays pending; SIGCONT then discards it
    await c.sys.sigprocmask(SIG_BLOCK, [SIGTSTP]);
    await bk.sys.kill(c.pid, SIGTSTP);
    expect(await c.sys.sigpending()).toBe(sigbit(SIGTSTP));
    await bk.sys.kill(c.pid, SIGCONT);
    expect(await c.sys.sigpending()).toBe(0n);
  }));

  it('the parent gets SIGCHLD on stop unless SA_NOCLDSTOP', () => run(async ({ bk, settle }) => {
    const parent = bk.rfork();
    const child = bk.rfork({ parent: parent.proc });
    let chld = 0;
    await parent.sys.sigaction(SIGCHLD, { handler: () => { chld++; } });
    await bk.sys.kill(child.pid, SIGSTOP);
    await settle();
    expect(chld).toBe(1);
    await bk.sys.kill(child.pid, SIGCONT);
    await settle();
    expect(chld).toBe(2);
    await parent.sys.sigaction(SIGCHLD, { handler: () => { chld++; }, flags: 1 /* SA_NOCLDSTOP */ });
    await bk.sys.kill(child.pid, SIGSTOP);
    await bk.sys.kill(child.pid, SIGCONT);
    await settle();
    expect(chld).toBe(2);
    await bk.sys.kill(child.pid, SIGTERM);
    await settle();
    expect(chld).toBe(3); // exit is always reported
  }));
});

describe('stop/continue against a model', () => {
  it('random STOP/TSTP/CONT/USR1/block/unblock/KILL sequences agree with a job-control model', async () => {
    type Op = { op: 'post'; sig: number } | { op: 'block' | 'unblock'; sig: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('post' as const), sig: fc.constantFrom(SIGSTOP, SIGTSTP, SIGCONT, SIGUSR1, SIGKILL) }),
      fc.record({ op: fc.constantFrom('block' as const, 'unblock' as const), sig: fc.constantFrom(SIGTSTP, SIGUSR1, SIGCONT) }),
    );
    await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 25 }), fc.integer({ min: 1, max: 1000 }), async (ops, seed) => {
      await withKernel(seed, async ({ bk, settle }) => {
        const c = bk.rfork();
        let handled = 0;
        await c.sys.sigaction(SIGUSR1, { handler: () => { handled++; } });
        // the model (signal(7) job control, simpler than the code: plain sets)
        const m = { alive: true, stopped: false, pending: new Set<number>(), blocked: new Set<number>(), handled: 0 };
        const isStop = (x: number) => x === SIGSTOP || x === SIGTSTP;
        const settleModel = (): void => {
          for (const x of [...m.pending].sort((a, b) => a - b)) {
            if (m.blocked.has(x) || m.stopped) continue;
            m.pending.delete(x);
            if (x === SIGUSR1) m.handled++;
            else if (isStop(x)) m.stopped = true;
            // SIGCONT: default ignore, nothing more
          }
        };
        for (const o of ops) {
          if (!m.alive) break;
          if (o.op === 'post') {
            await bk.sys.kill(c.pid, o.sig);
            if (o.sig === SIGKILL) m.alive = false;
            else if (o.sig === SIGCONT) {
              for (const x of [...m.pending]) if (isStop(x)) m.pending.delete(x);
              m.stopped = false;
              if (m.blocked.has(SIGCONT)) m.pending.add(SIGCONT);
            } else {
              if (isStop(o.sig)) m.pending.delete(SIGCONT);
              m.pending.add(o.sig);
            }
          } else {
            if (m.stopped) continue; // a stopped process makes no system calls (they would wait for SIGCONT)
            await c.sys.sigprocmask(o.op === 'block' ? SIG_BLOCK : SIG_UNBLOCK, [o.sig]);
            if (o.op === 'block') m.blocked.add(o.sig); else m.blocked.delete(o.sig);
          }
          settleModel();
          await settle();
          if (!m.alive) break;
          expect(c.proc.sig.stopped).toBe(m.stopped);
          expect(handled).toBe(m.handled);
          let blockedPending = 0n;
          for (const x of m.pending) if (m.blocked.has(x)) blockedPending |= sigbit(x);
          expect(c.proc.sig.pending & c.proc.sig.mask).toBe(blockedPending);
        }
        expect(c.proc.state).toBe(m.alive ? 'alive' : 'zombie');
      });
    }), { numRuns: 60 });
  });
});

describe('sigsuspend, pause, sigtimedwait, alarm', () => {
  it('sigsuspend runs the handler under the temporary mask, then restores the old mask and fails EINTR', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    const masks: bigint[] = [];
    await c.sys.sigaction(SIGUSR1, { handler: () => { masks.push(c.proc.sig.mask); } });
    await c.sys.sigprocmask(SIG_SETMASK, [SIGUSR1, SIGUSR2]);
    await bk.sys.kill(c.pid, SIGUSR1); // pending, blocked
    await settle();
    expect(masks).toEqual([]);
    expect(await code(c.sys.sigsuspend([SIGUSR2]))).toBe('EINTR');
    expect(masks).toEqual([sigbit(SIGUSR1) | sigbit(SIGUSR2)]);
    expect(c.proc.sig.mask).toBe(sigbit(SIGUSR1) | sigbit(SIGUSR2));
    // waiting case: signal arrives later
    const susp = code(c.sys.sigsuspend(0n));
    await settle();
    expect(masks.length).toBe(1);
    await bk.sys.kill(c.pid, SIGUSR1);
    expect(await susp).toBe('EINTR');
    expect(masks.length).toBe(2);
    expect(c.proc.sig.mask).toBe(sigbit(SIGUSR1) | sigbit(SIGUSR2));
    expect(await code(c.sys.sigsuspend('x'))).toBe('EINVAL');
  }));

  it('signals held back by the temporary mask are delivered once sigsuspend restores the old one', () => run(async ({ bk, settle }) => {
    const c = bk.rfork();
    const order: number[] = [];
    await c.sys.sigaction(SIGUSR1, { handler: (s: number) => { order.push(s); } });
    await c.sys.sigaction(SIGUSR2, { handler: (s: number) => { order.push(s); } });
    const susp = code(c.sys.sigsuspend([SIGUSR2])); // old mask: nothing blocked
    await settle();
    await bk.sys.kill(c.pid, SIGUSR2); // held back by the temporary mask
    await settle();
    expect(order).toEqual([]);
    await bk.sys.kill(c.pid, SIGUSR1);
    expect(await susp).toBe('EINTR');
    await settle();
    expect(order).toEqual([SIGUSR1, SIGUSR2]);
    expect(c.proc.sig.mask).toBe(0n);
  }));

  it('pause + alarm: SIGALRM after the virtual seconds; alarm reports what was left', () => run(async ({ bk, sim }) => {
    const c = bk.rfork();
    let fired = -1n;
    await c.sys.sigaction(SIGALRM, { handler: () => { fired = sim.clockMonotonic(); } });
    const t0 = sim.clockMonotonic();
    expect(await c.sys.alarm(10)).toBe(0);
    await sim.world.sleep(3_400_000_000n);
    expect(await c.sys.alarm(2)).toBe(7); // 6.6 s left rounds to 7
    expect(await code(c.sys.pause())).toBe('EINTR');
    expect(fired - t0).toBe(3_400_000_000n + 2_000_000_000n);
    expect(await c.sys.alarm(0)).toBe(0);
    await c.sys.alarm(5);
    expect(await c.sys.alarm(0)).toBe(5);
    await sim.world.sleep(6_000_000_000n);
    expect(fired - t0).toBe(5_400_000_000n); // cancelled: no second SIGALRM
    expect(await code(c.sys.alarm(-1))).toBe('EINVAL');
  }));

  it('setitimer(ITIMER_REAL) fires periodically in virtual time; getitimer and alarm share it', () => run(async ({ bk, sim }) => {
    const c = bk.rfork();
    const at: bigint[] = [];
    const t0 = sim.clockMonotonic();
    await c.sys.sigaction(SIGALRM, { handler: () => { at.push(sim.clockMonotonic() - t0); } });
    const none = { interval: { sec: 0, usec: 0 }, value: { sec: 0, usec: 0 } };
    expect(await c.sys.setitimer(0, { interval: { sec: 0, usec: 100_000 }, value: { sec: 0, usec: 250_000 } })).toEqual(none);
    await sim.world.sleep(500_000_000n);
    expect(at).toEqual([250_000_000n, 350_000_000n, 450_000_000n]);
    expect(await c.sys.getitimer(0)).toEqual({ interval: { sec: 0, usec: 100_000 }, value: { sec: 0, usec: 50_000 } });
    expect(await c.sys.setitimer(0)).toEqual({ interval: { sec: 0, usec: 100_000 }, value: { sec: 0, usec: 50_000 } }); // query only
    expect(await c.sys.alarm(3)).toBe(1); // 50 ms left: a live timer never reads 0; alarm drops the interval
    expect(((await c.sys.getitimer(0)) as { interval: unknown }).interval).toEqual({ sec: 0, usec: 0 });
    expect(await c.sys.setitimer(0, none)).toEqual({ interval: { sec: 0, usec: 0 }, value: { sec: 3, usec: 0 } });
    await sim.world.sleep(5_000_000_000n);
    expect(at.length).toBe(3);
    // a zero value disarms even with an interval
    await c.sys.setitimer(0, { interval: { sec: 1, usec: 0 }, value: { sec: 0, usec: 0 } });
    expect(await c.sys.getitimer(0)).toEqual(none);
    for (const bad of [{ sec: 0, usec: 1_000_000 }, { sec: -1, usec: 0 }, { sec: 0.5, usec: 0 }, { sec: 0 }]) {
      expect(await code(c.sys.setitimer(0, { interval: bad, value: { sec: 1, usec: 0 } }))).toBe('EINVAL');
    }
    expect(await code(c.sys.setitimer(0, { interval: null, value: { sec: 1, usec: 0 } }))).toBe('EFAULT');
    expect(await code(c.sys.getitimer(1))).toBe('EINVAL');
    expect(await code(c.sys.setitimer(2, none))).toBe('EINVAL');
  }));

  it('an alarm with the default action terminates; exit cancels a pending alarm', () => run(async ({ bk, sim }) => {
    const c = bk.rfork();
    await c.sys.alarm(1);
    await sim.world.sleep(1_500_000_000n);
    expect((await bk.sys.wait4(c.pid, 0)).status).toBe(SIGALRM);
    const d = bk.rfork();
    await d.sys.alarm(1);
    await d.sys.exit(0);
    expect(d.proc.sig.alarm?.pending ?? false).toBe(false);
  }));

  it('sigtimedwait takes a pending signal without running its handler; times out with EAGAIN', () => run(async ({ bk, sim, settle }) => {
    const c = bk.rfork();
    let handled = 0;
    await c.sys.sigaction(SIGUSR1, { handler: () => { handled++; } });
    await c.sys.sigprocmask(SIG_BLOCK, [SIGUSR1]);
    await bk.sys.kill(c.pid, SIGUSR1);
    expect(await c.sys.sigtimedwait([SIGUSR1, SIGUSR2])).toBe(SIGUSR1);
    expect(await c.sys.sigpending()).toBe(0n);
    const t0 = sim.clockMonotonic();
    expect(await code(c.sys.sigtimedwait([SIGUSR1], { sec: 2, nsec: 0 }))).toBe('EAGAIN');
    expect(sim.clockMonotonic() - t0).toBe(2_000_000_000n);
    // waiting, then the signal arrives (even an unblocked one is taken by the wait)
    await c.sys.sigprocmask(SIG_UNBLOCK, [SIGUSR1]);
    const w = c.sys.sigtimedwait([SIGUSR1]);
    await settle();
    await bk.sys.kill(c.pid, SIGUSR1);
    expect(await w).toBe(SIGUSR1);
    await settle();
    expect(handled).toBe(0);
    // another caught signal interrupts it
    await c.sys.sigaction(SIGUSR2, { handler: () => { handled++; } });
    const w2 = code(c.sys.sigtimedwait([SIGUSR1]));
    await settle();
    await bk.sys.kill(c.pid, SIGUSR2);
    expect(await w2).toBe('EINTR');
    await settle();
    expect(handled).toBe(1);
    expect(await code(c.sys.sigtimedwait([SIGUSR1], { sec: -1, nsec: 0 }))).toBe('EINVAL');
    expect(await code(c.sys.sigtimedwait(5))).toBe('EINVAL');
  }));
});

describe('SIGCHLD and auto-reaping', () => {
  it('SIGCHLD is posted to the parent on exit', () => run(async ({ bk, settle }) => {
    const got: number[] = [];
    await bk.sys.sigaction(SIGCHLD, { handler: (s: number) => { got.push(s); } });
    const c = bk.rfork();
    await c.sys.exit(3);
    await settle();
    expect(got).toEqual([SIGCHLD]);
    expect(await bk.sys.wait4(-1, 0)).toEqual({ pid: c.pid, status: 3 << 8 });
  }));

  it('SIG_IGN or SA_NOCLDWAIT for SIGCHLD: children leave no zombie and wait4 gives ECHILD', () => run(async ({ bk, settle }) => {
    for (const act of [{ handler: 1 as const }, { handler: 0 as const, flags: 2 /* SA_NOCLDWAIT */ }]) {
      await bk.sys.sigaction(SIGCHLD, act);
      const c = bk.rfork();
      const w = code(bk.sys.wait4(-1, 0)); // blocks until all children are gone, then ECHILD
      await settle();
      await bk.sys.kill(c.pid, SIGTERM);
      expect(await w).toBe('ECHILD');
      expect(c.proc.state).toBe('reaped');
      expect(bk.kernel.procs.has(c.pid)).toBe(false);
    }
    await bk.sys.sigaction(SIGCHLD, { handler: 0 });
  }));
});
