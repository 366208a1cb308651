/**
 * Process lifecycle as library callers see it: wait4/waitpid (wait(2)),
 * exit/exit_group, fork of a process context, orphan re-parenting, and a
 * model-based property test of wait4's child selection.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimHost, forEachSeed } from '../hyper/sim/index.ts';
import { boot, type BootedKernel } from '../frontends/library/boot.ts';
import type { ProcHandle } from './lwproc.ts';
import type { KernelError } from './errno.ts';
import { SA_RESTART } from './sig.ts';
import { SIGCHLD, SIGCONT, SIGKILL, SIGQUIT, SIGSTOP, SIGTERM, SIGUSR1, SIGUSR2, WCONTINUED, WNOHANG } from './constants.ts';
import {
  CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, P_ALL, P_PGID, P_PID, WEXITED, WEXITSTATUS, WIFEXITED,
  WIFSIGNALED, WNOWAIT, WSTOPPED, WTERMSIG, type WaitResult,
} from './sys_sig.ts';

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

const run = (fn: (e: Env) => Promise<void>) =>
  forEachSeed(expect.getState().currentTestName ?? 'wait', 3, (seed) => withKernel(seed, fn));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as KernelError).code;
  }
  return 'ok';
}

const wait = (h: ProcHandle, pid: number, options = 0) => h.sys.wait4!(pid, options) as Promise<WaitResult>;

describe('wait4(2)', () => {
  it('ECHILD without matching children; WNOHANG gives pid 0 while a child runs', () => run(async ({ bk }) => {
    const p = bk.rfork();
    expect(await code(wait(p, -1))).toBe('ECHILD');
    const c = bk.rfork({ parent: p.proc });
    expect(await code(wait(p, c.pid + 100))).toBe('ECHILD');
    expect(await code(wait(p, -(c.pid + 100)))).toBe('ECHILD');
    expect(await wait(p, -1, WNOHANG)).toEqual({ pid: 0, status: 0 });
    expect(await wait(p, c.pid, WNOHANG)).toEqual({ pid: 0, status: 0 });
    // a grandchild is not a child
    const g = bk.rfork({ parent: c.proc });
    expect(await code(wait(p, g.pid, WNOHANG))).toBe('ECHILD');
  }));

  it('blocks until a child exits, then reaps it once; exit codes keep 8 bits', () => run(async ({ bk, settle }) => {
    const p = bk.rfork();
    const c = bk.rfork({ parent: p.proc });
    let got: WaitResult | null = null;
    const w = wait(p, -1).then((r) => { got = r; });
    await settle();
    expect(got).toBeNull();
    expect(await c.sys.exit!(256 + 42)).toBe(0);
    await w;
    expect(got).toEqual({ pid: c.pid, status: 42 << 8 });
    expect(WIFEXITED(got!.status)).toBe(true);
    expect(WEXITSTATUS(got!.status)).toBe(42);
    expect(WIFSIGNALED(got!.status)).toBe(false);
    expect(c.proc.state).toBe('reaped');
    expect(bk.kernel.procs.has(c.pid)).toBe(false);
    expect(await code(wait(p, c.pid))).toBe('ECHILD');
    expect(await code(c.sys.getpid!())).toBe('ESRCH');
  }));

  it('exit_group and waitpid are the same calls', () => run(async ({ bk }) => {
    const c = bk.rfork();
    await c.sys.exit_group!(5);
    expect(await bk.sys.waitpid(c.pid, 0)).toEqual({ pid: c.pid, status: 5 << 8 });
  }));

  it('pid 0 waits for the own process group, < -1 for that group', () => run(async ({ bk }) => {
    const p = bk.rfork();
    await p.sys.setpgid!(0, 0);
    const same = bk.rfork({ parent: p.proc });
    const own = bk.rfork({ parent: p.proc });
    await own.sys.setpgid!(0, 0);
    await own.sys.exit!(1);
    await same.sys.exit!(2);
    expect(await wait(p, 0)).toEqual({ pid: same.pid, status: 2 << 8 });
    expect(await code(wait(p, 0, WNOHANG))).toBe('ECHILD');
    expect(await wait(p, -own.pid)).toEqual({ pid: own.pid, status: 1 << 8 });
  }));

  it('a caught signal interrupts a blocked wait4 with EINTR; a kill ends it', () => run(async ({ bk, settle }) => {
    const p = bk.rfork();
    bk.rfork({ parent: p.proc });
    await p.sys.sigaction!(SIGUSR1, { handler: () => {} });
    const w = code(wait(p, -1));
    await settle();
    await bk.sys.kill(p.pid, SIGUSR1);
    expect(await w).toBe('EINTR');
    const w2 = code(wait(p, -1));
    await settle();
    await bk.sys.kill(p.pid, SIGKILL);
    expect(await w2).toBe('EINTR');
  }));

  it('SA_RESTART: the handler runs and wait4 goes on waiting; without it, EINTR', () => run(async ({ bk, settle }) => {
    const p = bk.rfork();
    const c = bk.rfork({ parent: p.proc });
    let n = 0;
    await p.sys.sigaction!(SIGUSR1, { handler: () => { n++; }, flags: SA_RESTART });
    let res: unknown = null;
    const w = wait(p, -1).then((r) => { res = r; }, (e: KernelError) => { res = e.code; });
    await settle();
    await bk.sys.kill(p.pid, SIGUSR1);
    await settle();
    expect(n).toBe(1);
    expect(res).toBeNull(); // still waiting
    await bk.sys.kill(p.pid, SIGUSR1);
    await settle();
    expect(n).toBe(2);
    await c.sys.exit!(6);
    await w;
    expect(res).toEqual({ pid: c.pid, status: 6 << 8 });
    // one signal without SA_RESTART among the interrupting ones: EINTR
    const c2 = bk.rfork({ parent: p.proc });
    await p.sys.sigaction!(SIGUSR2, { handler: () => { n++; } });
    await p.sys.sigprocmask!(0 /* SIG_BLOCK */, [SIGUSR1, SIGUSR2]);
    const w2 = code(wait(p, -1));
    await settle();
    await bk.sys.kill(p.pid, SIGUSR1);
    await bk.sys.kill(p.pid, SIGUSR2);
    await p.sys.sigprocmask!(2 /* SIG_SETMASK */, 0n); // both become deliverable at once
    expect(await w2).toBe('EINTR');
    await settle();
    expect(n).toBe(4);
    // a terminating signal is never restarted
    await bk.sys.kill(p.pid, SIGTERM);
    await settle();
    expect(p.proc.state).toBe('zombie');
    void c2;
  }));

  it('bad options are EINVAL; INT_MIN is ESRCH; non-integers are EINVAL', () => run(async ({ bk }) => {
    bk.rfork();
    for (const o of [4 /* WEXITED: waitid only */, 0x10, 0x1000000, 2 ** 40]) expect(await code(bk.sys.wait4(-1, o))).toBe('EINVAL');
    expect(await code(bk.sys.wait4(-2147483648, 0))).toBe('ESRCH');
    expect(await code(bk.sys.wait4(0.5 as number, 0))).toBe('EINVAL');
    expect(await code((bk.sys.wait4 as (...a: unknown[]) => Promise<unknown>)(-1, 'x'))).toBe('EINVAL');
    // __WALL | __WCLONE | __WNOTHREAD are accepted
    expect(await bk.sys.wait4(-1, WNOHANG | 0x4000_0000 | 0x2000_0000)).toEqual({ pid: 0, status: 0 });
    expect(await bk.sys.wait4(-1, WNOHANG | (0x8000_0000 | 0))).toEqual({ pid: 0, status: 0 });
  }));

  it('orphans go to init, which can reap them', () => run(async ({ bk }) => {
    const p = bk.rfork();
    const g = bk.rfork({ parent: p.proc });
    await p.sys.exit!(0);
    expect(g.proc.ppid).toBe(1);
    expect(await g.sys.getppid!()).toBe(1);
    await g.sys.exit!(9);
    const seen = new Map<number, number>();
    for (let i = 0; i < 2; i++) {
      const r = await bk.sys.wait4(-1, 0);
      seen.set(r.pid, r.status);
    }
    expect(seen).toEqual(new Map([[p.pid, 0], [g.pid, 9 << 8]]));
  }));

  it('a zombie reparented to init wakes a waiting init', () => run(async ({ bk, settle }) => {
    const p = bk.rfork({ parent: bk.rfork().proc });
    const g = bk.rfork({ parent: p.proc });
    await g.sys.exit!(4);
    expect(await code(bk.sys.wait4(g.pid, 0))).toBe('ECHILD'); // not init's child yet
    const w = bk.sys.wait4(-1, 0).catch((e: KernelError) => e.code); // blocks: init's own child runs
    await settle();
    await p.sys.exit!(0); // g (a zombie) moves to init
    expect(await w).toEqual({ pid: g.pid, status: 4 << 8 });
  }));

  it('exit of init is refused; signals report through WTERMSIG', () => run(async ({ bk, settle }) => {
    expect(await code(bk.sys.exit(0))).toBe('EPERM');
    const c = bk.rfork();
    await bk.sys.kill(c.pid, SIGTERM);
    await settle();
    const r = await bk.sys.wait4(c.pid);
    expect(WIFSIGNALED(r.status) && WTERMSIG(r.status)).toBe(SIGTERM);
  }));
});

describe('fork of a process context', () => {
  it('the child gets a copy of the fd table and credentials and is the caller\'s child', () => run(async ({ bk }) => {
    const p = bk.rfork({ uid: 1000, gid: 100 });
    const [r, w] = (await p.sys.pipe!()) as [number, number];
    const cpid = (await p.sys.fork!()) as number;
    expect(cpid).toBeGreaterThan(p.pid);
    const c = bk.proc(cpid);
    expect(await c.sys.getppid!()).toBe(p.pid);
    expect(await c.sys.getuid!()).toBe(1000);
    // the same pipe through the child's copy of the write end
    expect(await c.sys.write!(w, new Uint8Array([7, 8]))).toBe(2);
    await c.sys.close!(w);
    await p.sys.close!(w);
    const buf = new Uint8Array(4);
    expect(await p.sys.read!(r, buf)).toBe(2);
    expect(await p.sys.read!(r, buf)).toBe(0); // both write ends closed: EOF
    await c.sys.close!(r);
    await p.sys.close!(r);
    await c.sys.exit!(0);
    expect(await wait(p, -1)).toEqual({ pid: cpid, status: 0 });
    await p.sys.exit!(0);
    await bk.sys.wait4(p.pid);
    const report = bk.kernel.leakReport();
    expect(report.openFiles).toEqual([]);
    expect(report.processes).toEqual([]);
  }));
});

describe('wait4 against a model', () => {
  type Op =
    | { op: 'spawn'; ownGroup: boolean }
    | { op: 'exit'; i: number; code: number }
    | { op: 'kill'; i: number }
    | { op: 'wait'; spec: 'any' | 'pid' | 'group0' | 'pgid'; i: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('spawn' as const), ownGroup: fc.boolean() }),
    fc.record({ op: fc.constant('exit' as const), i: fc.nat(7), code: fc.integer({ min: 0, max: 300 }) }),
    fc.record({ op: fc.constant('kill' as const), i: fc.nat(7) }),
    fc.record({ op: fc.constant('wait' as const), spec: fc.constantFrom('any' as const, 'pid' as const, 'group0' as const, 'pgid' as const), i: fc.nat(7) }),
  );

  it('WNOHANG answers match a model of live and zombie children', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), fc.integer({ min: 1, max: 10_000 }), async (ops, seed) => {
      await withKernel(seed, async ({ bk, settle }) => {
        const parent = bk.rfork();
        await parent.sys.setpgid!(0, 0);
        interface M { h: ProcHandle; pgid: number; state: 'alive' | 'zombie' | 'reaped'; status: number }
        const kids: M[] = [];
        for (const o of ops) {
          if (o.op === 'spawn') {
            const h = bk.rfork({ parent: parent.proc });
            if (o.ownGroup) await h.sys.setpgid!(0, 0);
            kids.push({ h, pgid: o.ownGroup ? h.pid : parent.pid, state: 'alive', status: 0 });
            continue;
          }
          const m = kids[o.i % Math.max(1, kids.length)];
          if (o.op === 'exit' || o.op === 'kill') {
            if (m === undefined || m.state !== 'alive') continue;
            if (o.op === 'exit') {
              await m.h.sys.exit!(o.code);
              m.status = (o.code & 0xff) << 8;
            } else {
              await bk.sys.kill(m.h.pid, SIGTERM);
              await settle();
              m.status = SIGTERM;
            }
            m.state = 'zombie';
            continue;
          }
          let pid: number;
          let match: (x: M) => boolean;
          if (o.spec === 'any') { pid = -1; match = () => true; }
          else if (o.spec === 'group0') { pid = 0; match = (x) => x.pgid === parent.pid; }
          else if (m === undefined) { pid = o.spec === 'pid' ? 99_999 : -99_999; match = () => false; }
          else if (o.spec === 'pid') { pid = m.h.pid; match = (x) => x === m; }
          else { pid = -m.pgid; match = (x) => x.pgid === m.pgid; }
          const cands = kids.filter((x) => x.state !== 'reaped' && match(x));
          const r = await wait(parent, pid, WNOHANG).catch((e: KernelError) => e.code);
          if (cands.length === 0) {
            expect(r).toBe('ECHILD');
          } else if (!cands.some((x) => x.state === 'zombie')) {
            expect(r).toEqual({ pid: 0, status: 0 });
          } else {
            const got = cands.find((x) => typeof r === 'object' && x.h.pid === r.pid);
            expect(got?.state).toBe('zombie');
            expect(r).toEqual({ pid: got!.h.pid, status: got!.status });
            got!.state = 'reaped';
          }
        }
        for (const x of kids) expect(x.h.proc.state).toBe(x.state);
      });
    }), { numRuns: 60 });
  });
});

describe('waitid(2)', () => {
  it('reports siginfo for exits, kills, core dumps, stops and continues', () => run(async ({ bk, settle }) => {
    const a = bk.rfork({ uid: 7 });
    await a.sys.exit!(300);
    expect(await bk.sys.waitid(P_PID, a.pid, WEXITED)).toEqual({ signo: SIGCHLD, code: CLD_EXITED, pid: a.pid, uid: 7, status: 300 & 0xff });
    const b = bk.rfork();
    await bk.sys.kill(b.pid, SIGTERM);
    await settle();
    expect(await bk.sys.waitid(P_ALL, 0, WEXITED)).toMatchObject({ code: CLD_KILLED, pid: b.pid, status: SIGTERM });
    const c = bk.rfork();
    await bk.sys.kill(c.pid, SIGQUIT);
    await settle();
    expect(await bk.sys.waitid(P_ALL, 0, WEXITED)).toMatchObject({ code: CLD_DUMPED, pid: c.pid, status: SIGQUIT });
    const d = bk.rfork();
    await bk.sys.kill(d.pid, SIGSTOP);
    await settle();
    expect(await bk.sys.waitid(P_PID, d.pid, WEXITED | WNOHANG)).toEqual({ signo: 0, code: 0, pid: 0, uid: 0, status: 0 });
    expect(await bk.sys.waitid(P_PID, d.pid, WSTOPPED)).toMatchObject({ code: CLD_STOPPED, pid: d.pid, status: SIGSTOP });
    await bk.sys.kill(d.pid, SIGCONT);
    expect(await bk.sys.waitid(P_PID, d.pid, WCONTINUED)).toMatchObject({ code: CLD_CONTINUED, pid: d.pid, status: SIGCONT });
    // the same report is not given twice to wait4 either
    expect(await bk.sys.wait4(d.pid, WCONTINUED | WNOHANG)).toEqual({ pid: 0, status: 0 });
  }));

  it('WNOWAIT leaves the child waitable; P_PGID 0 is the own group', () => run(async ({ bk }) => {
    const p = bk.rfork();
    await p.sys.setpgid!(0, 0);
    const c = bk.rfork({ parent: p.proc });
    await c.sys.exit!(1);
    expect(await p.sys.waitid!(P_PGID, 0, WEXITED | WNOWAIT)).toMatchObject({ pid: c.pid, code: CLD_EXITED });
    expect(c.proc.state).toBe('zombie');
    expect(await p.sys.waitid!(P_PGID, p.pid, WEXITED)).toMatchObject({ pid: c.pid });
    expect(c.proc.state).toBe('reaped');
    expect(await code(p.sys.waitid!(P_ALL, 0, WEXITED))).toBe('ECHILD');
  }));

  it('validates idtype, id and options', () => run(async ({ bk }) => {
    bk.rfork();
    expect(await code(bk.sys.waitid(P_ALL, 0, WNOHANG))).toBe('EINVAL'); // none of WEXITED/WSTOPPED/WCONTINUED
    expect(await code(bk.sys.waitid(P_ALL, 0, WEXITED | 0x10))).toBe('EINVAL');
    expect(await code(bk.sys.waitid(3 /* P_PIDFD */, 3, WEXITED))).toBe('EINVAL');
    expect(await code(bk.sys.waitid(9, 0, WEXITED))).toBe('EINVAL');
    expect(await code(bk.sys.waitid(P_PID, 0, WEXITED))).toBe('EINVAL');
    expect(await code(bk.sys.waitid(P_PGID, -1, WEXITED))).toBe('EINVAL');
    expect(await code(bk.sys.waitid(P_PID, 99999, WEXITED))).toBe('ECHILD');
  }));
});

describe('halt', () => {
  it('shutdown with live children, stopped ones and armed alarms leaves nothing behind', () => run(async ({ bk, settle }) => {
    const a = bk.rfork();
    await a.sys.alarm!(100);
    const b = bk.rfork({ parent: a.proc });
    await bk.sys.kill(b.pid, SIGSTOP);
    await settle();
    const parked = code(b.sys.getpid!());
    let chld = 0;
    await bk.sys.sigaction(SIGCHLD, { handler: () => { chld++; } });
    const report = await bk.shutdown();
    expect(report.processes.length).toBe(2); // reported as still alive at halt
    expect(await parked).toBe('ESRCH');
    await settle();
    expect(chld).toBe(0);
    expect(a.proc.sig.alarm).toBeNull();
  }));
});
