/**
 * poll/ppoll/select/pselect6 (sys_poll.ts) on the sim host: readiness rules
 * of pipe ends, POLLNVAL and ignored fds, timeouts measured in virtual time,
 * wakeups across several pipes, EINTR and the temporary signal mask, bad
 * arguments, and a file type other than a pipe.
 */
import { describe, expect, it } from 'vitest';
import { boot, type BootedKernel, type Sys } from '../frontends/library/boot.ts';
import { SimHost } from '../hyper/sim/host.ts';
import type { ProcHandle } from './lwproc.ts';
import {
  O_NONBLOCK, PIPE_BUF, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM, SIG_BLOCK,
  SIGUSR1,
} from './constants.ts';
import { File } from './file.ts';
import { WaitQueue } from './sched.ts';
import { sigbit } from './sig.ts';
import { PIPE_DEF_SIZE } from './pipe.ts';

async function sim<T>(seed: number, fn: (k: BootedKernel, host: SimHost) => Promise<T>): Promise<T> {
  const host = new SimHost({ seed });
  const k = await boot({ host, components: ['kern'] });
  try {
    return await host.run(() => fn(k, host), { limitSteps: 1_000_000 });
  } finally {
    host.dispose();
  }
}
const sysOf = (h: ProcHandle): Sys => h.sys as unknown as Sys;
const MS = 1_000_000n;
const ALL = POLLIN | POLLOUT | POLLPRI | POLLRDNORM | POLLWRNORM;
function track<T>(p: Promise<T>): { p: Promise<T>; done: boolean } {
  const t = { p, done: false };
  p.then(() => { t.done = true; }, () => { t.done = true; });
  return t;
}
const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

describe('poll readiness of pipe ends', () => {
  it('empty pipe: read end nothing, write end POLLOUT|POLLWRNORM; data adds POLLIN|POLLRDNORM', () =>
    sim(1, async (k) => {
      const [r, w] = await k.sys.pipe();
      let res = await k.sys.poll([{ fd: r, events: ALL }, { fd: w, events: ALL }], 0);
      expect(res.n).toBe(1);
      expect(res.fds.map((f) => f.revents)).toEqual([0, POLLOUT | POLLWRNORM]);
      await k.sys.write(w, Uint8Array.of(1));
      res = await k.sys.poll([{ fd: r, events: ALL }, { fd: w, events: ALL }], 0);
      expect(res.n).toBe(2);
      expect(res.fds.map((f) => f.revents)).toEqual([POLLIN | POLLRDNORM, POLLOUT | POLLWRNORM]);
      expect(res.fds.map((f) => [f.fd, f.events])).toEqual([[r, ALL], [w, ALL]]);
    }));

  it('revents holds only requested events (plus ERR/HUP/NVAL)', () =>
    sim(2, async (k) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.write(w, Uint8Array.of(1));
      const res = await k.sys.poll([{ fd: r, events: POLLOUT }, { fd: w, events: POLLIN }, { fd: r, events: POLLRDNORM }], 0);
      expect(res.fds.map((f) => f.revents)).toEqual([0, 0, POLLRDNORM]);
      expect(res.n).toBe(1);
    }));

  it('write end loses POLLOUT when less than PIPE_BUF is free', () =>
    sim(3, async (k) => {
      const [r, w] = await k.sys.pipe2(O_NONBLOCK);
      await k.sys.write(w, new Uint8Array(PIPE_DEF_SIZE - PIPE_BUF));
      expect((await k.sys.poll([{ fd: w, events: POLLOUT }], 0)).n).toBe(1);
      await k.sys.write(w, new Uint8Array(1));
      expect((await k.sys.poll([{ fd: w, events: POLLOUT }], 0)).n).toBe(0);
      await k.sys.read(r, new Uint8Array(1));
      expect((await k.sys.poll([{ fd: w, events: POLLOUT }], 0)).fds[0]!.revents).toBe(POLLOUT);
    }));

  it('read end: POLLHUP (unrequested) once the writers are gone, with POLLIN while data remains', () =>
    sim(4, async (k) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.write(w, Uint8Array.of(1));
      await k.sys.close(w);
      let res = await k.sys.poll([{ fd: r, events: POLLIN }], 0);
      expect(res.fds[0]!.revents).toBe(POLLIN | POLLHUP);
      await k.sys.read(r, new Uint8Array(1));
      res = await k.sys.poll([{ fd: r, events: 0 }], 0);
      expect(res.fds[0]!.revents).toBe(POLLHUP);
      expect(res.n).toBe(1);
    }));

  it('write end: POLLERR (unrequested) once the readers are gone', () =>
    sim(5, async (k) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.close(r);
      const res = await k.sys.poll([{ fd: w, events: POLLOUT }], 0);
      expect(res.fds[0]!.revents).toBe(POLLOUT | POLLERR);
      expect((await k.sys.poll([{ fd: w, events: 0 }], 0)).fds[0]!.revents).toBe(POLLERR);
    }));

  it('a closed fd gets POLLNVAL and the call succeeds; a negative fd is ignored', () =>
    sim(6, async (k) => {
      const [r] = await k.sys.pipe();
      const res = await k.sys.poll([{ fd: 57, events: POLLIN }, { fd: -1, events: POLLIN }, { fd: -r - 5, events: ALL }, { fd: r, events: POLLIN }], 0);
      expect(res.fds.map((f) => f.revents)).toEqual([POLLNVAL, 0, 0, 0]);
      expect(res.n).toBe(1);
      // With only ignored entries and a timeout, poll is a sleep.
      const t0 = k.hyper.clockMonotonic();
      expect((await k.sys.poll([{ fd: -1, events: POLLIN }], 30)).n).toBe(0);
      expect(k.hyper.clockMonotonic() - t0).toBe(30n * MS);
      expect((await k.sys.poll([], 0)).n).toBe(0);
    }));
});

describe('poll waiting', () => {
  it('times out after exactly the timeout (virtual time) with n = 0', () =>
    sim(10, async (k) => {
      const [r] = await k.sys.pipe();
      const t0 = k.hyper.clockMonotonic();
      const res = await k.sys.poll([{ fd: r, events: POLLIN }], 250);
      expect(res.n).toBe(0);
      expect(res.fds[0]!.revents).toBe(0);
      expect(k.hyper.clockMonotonic() - t0).toBe(250n * MS);
    }));

  it('wakes on the one pipe of several that becomes ready, before the timeout', () =>
    sim(11, async (k, host) => {
      const pipes = [await k.sys.pipe(), await k.sys.pipe(), await k.sys.pipe()];
      const t0 = k.hyper.clockMonotonic();
      const pl = track(k.sys.poll(pipes.map(([r]) => ({ fd: r, events: POLLIN })), 1000));
      await host.world.sleep(10n * MS);
      expect(pl.done).toBe(false);
      await k.sys.write(pipes[1]![1], Uint8Array.of(42));
      const res = await pl.p;
      expect(res.n).toBe(1);
      expect(res.fds.map((f) => f.revents)).toEqual([0, POLLIN, 0]);
      expect(k.hyper.clockMonotonic() - t0).toBe(10n * MS);
    }));

  it('infinite timeout (< 0) waits for a writer to close (POLLHUP) or for room (POLLOUT)', () =>
    sim(12, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      const pl = track(k.sys.poll([{ fd: r, events: POLLIN }], -1));
      await host.world.sleep(5_000n * MS);
      expect(pl.done).toBe(false);
      await k.sys.close(w);
      expect((await pl.p).fds[0]!.revents).toBe(POLLHUP);

      const [r2, w2] = await k.sys.pipe();
      await k.sys.write(w2, new Uint8Array(PIPE_DEF_SIZE));
      const pw = track(k.sys.poll([{ fd: w2, events: POLLOUT }], -7));
      await host.world.sleep(MS);
      await k.sys.read(r2, new Uint8Array(PIPE_BUF - 1));
      await host.world.sleep(MS);
      expect(pw.done).toBe(false); // PIPE_BUF - 1 free is not writable
      await k.sys.read(r2, new Uint8Array(1));
      expect((await pw.p).fds[0]!.revents).toBe(POLLOUT);
    }));

  it('growing the pipe (F_SETPIPE_SZ) wakes a poller waiting for POLLOUT; POLLERR wakes it too', () =>
    sim(17, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.write(w, new Uint8Array(PIPE_DEF_SIZE));
      const pl = track(k.sys.poll([{ fd: w, events: POLLOUT }], -1));
      await host.world.sleep(MS);
      expect(pl.done).toBe(false);
      await k.sys.fcntl(w, 1031 /* F_SETPIPE_SZ */, 2 * PIPE_DEF_SIZE);
      expect((await pl.p).fds[0]!.revents).toBe(POLLOUT);
      await k.sys.write(w, new Uint8Array(PIPE_DEF_SIZE));
      const pe = track(k.sys.poll([{ fd: w, events: POLLOUT }], -1));
      await host.world.sleep(MS);
      expect(pe.done).toBe(false);
      await k.sys.close(r);
      expect((await pe.p).fds[0]!.revents).toBe(POLLERR);
    }));

  it('two pollers on one pipe both wake', () =>
    sim(13, async (k) => {
      const [r, w] = await k.sys.pipe();
      const a = k.sys.poll([{ fd: r, events: POLLIN }], -1);
      const b = k.sys.poll([{ fd: r, events: POLLIN }, { fd: w, events: POLLIN }], -1);
      await k.sys.write(w, Uint8Array.of(1));
      expect((await a).n).toBe(1);
      expect((await b).n).toBe(1);
    }));

  it('a signal ends the wait with EINTR', () =>
    sim(14, async (k, host) => {
      const [r] = await k.sys.pipe();
      const child = k.rfork({ fd: 'copy' });
      await sysOf(child).sigaction(SIGUSR1, { handler: () => {} });
      const pl = track(code(sysOf(child).poll([{ fd: r, events: POLLIN }], -1)));
      await host.world.sleep(MS);
      expect(pl.done).toBe(false);
      await k.sys.kill(child.pid, SIGUSR1);
      expect(await pl.p).toBe('EINTR');
      await k.exit(child);
    }));

  it('bad arguments: EFAULT for a malformed array, EINVAL above RLIMIT_NOFILE', () =>
    sim(15, async (k) => {
      const bad: unknown[] = [42, [{ fd: 'x', events: 1 }], [null], [{ fd: 0, events: 1.5 }]];
      for (const v of bad) expect(await code(k.sys.poll(v as never, 0))).toBe('EFAULT');
      await k.sys.prlimit64(0, 7, { cur: 4, max: 4 });
      expect(await code(k.sys.poll(new Array(5).fill({ fd: -1, events: 0 }), 0))).toBe('EINVAL');
      expect((await k.sys.poll(new Array(4).fill({ fd: -1, events: 0 }), 0)).n).toBe(0);
      expect(await code(k.sys.poll([], 1.5 as number))).toBe('EINVAL');
    }));

  it('works over any FileOps: an always-ready file type and one with its own queue', () =>
    sim(16, async (k) => {
      const q = new WaitQueue('test');
      let ready = false;
      const always = new File({ type: 'vnode', poll: (_fp, _td, ev) => ev & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM), pollQueues: () => [], close() {} }, null, 2);
      const gated = new File({ type: 'device', poll: (_fp, _td, ev) => (ready ? ev & POLLPRI : 0), pollQueues: () => [q], close() {} }, null, 0);
      const fdt = k.curproc.fdt;
      const a = fdt.alloc(always), g = fdt.alloc(gated);
      expect((await k.sys.poll([{ fd: a, events: POLLIN | POLLOUT }], -1)).fds[0]!.revents).toBe(POLLIN | POLLOUT);
      const pl = track(k.sys.poll([{ fd: g, events: POLLPRI }], -1));
      await k.sys.sched_yield();
      expect(pl.done).toBe(false);
      ready = true;
      q.wakeup(k.kernel);
      expect((await pl.p).fds[0]!.revents).toBe(POLLPRI);
      const sel = await k.sys.select(g + 1, [a], [a], [g], null);
      expect([sel.n, sel.readfds, sel.writefds, sel.exceptfds]).toEqual([3, [a], [a], [g]]);
      await k.sys.close(a);
      await k.sys.close(g);
    }));
});

describe('ppoll', () => {
  it('takes a timespec; null waits forever; bad timespecs are EINVAL', () =>
    sim(20, async (k) => {
      const [r, w] = await k.sys.pipe();
      const t0 = k.hyper.clockMonotonic();
      expect((await k.sys.ppoll([{ fd: r, events: POLLIN }], { sec: 1, nsec: 500 })).n).toBe(0);
      expect(k.hyper.clockMonotonic() - t0).toBe(1_000_000_500n);
      const pl = k.sys.ppoll([{ fd: r, events: POLLIN }], null);
      await k.sys.write(w, Uint8Array.of(1));
      expect((await pl).fds[0]!.revents).toBe(POLLIN);
      for (const ts of [{ sec: -1, nsec: 0 }, { sec: 0, nsec: 1_000_000_000 }, { sec: 0, nsec: -1 }]) {
        expect(await code(k.sys.ppoll([{ fd: r, events: POLLIN }], ts))).toBe('EINVAL');
      }
      expect(await code(k.sys.ppoll([], { sec: 0, nsec: 0 }, 'x' as never))).toBe('EINVAL');
    }));

  it('the temporary mask lets a blocked signal in: EINTR, the handler runs, the old mask returns', () =>
    sim(21, async (k, host) => {
      const [r] = await k.sys.pipe();
      const child = k.rfork({ fd: 'copy' });
      const s = sysOf(child);
      const seen: bigint[] = [];
      await s.sigaction(SIGUSR1, { handler: () => { seen.push(child.proc.sig.mask); } });
      await s.sigprocmask(SIG_BLOCK, sigbit(SIGUSR1));
      await k.sys.kill(child.pid, SIGUSR1); // pending, blocked
      await host.world.sleep(MS);
      expect(seen).toEqual([]);
      // A plain poll is not interrupted by the blocked signal...
      expect((await s.poll([{ fd: r, events: POLLIN }], 5)).n).toBe(0);
      // ...ppoll with an empty mask is, at once.
      expect(await code(s.ppoll([{ fd: r, events: POLLIN }], null, 0n))).toBe('EINTR');
      expect(seen.length).toBe(1);
      expect(child.proc.sig.mask).toBe(sigbit(SIGUSR1));
      expect(child.proc.sig.pending).toBe(0n);
      // The mask is restored after a ppoll that returns normally too.
      expect((await s.ppoll([{ fd: r, events: POLLIN }], { sec: 0, nsec: 0 }, [SIGUSR1])).n).toBe(0);
      expect(child.proc.sig.mask).toBe(sigbit(SIGUSR1));
      expect(child.proc.sig.suspendSaved).toBe(null);
      await k.exit(child);
    }));
});

describe('select / pselect6', () => {
  it('returns the ready sets and counts bits; timeout 0 polls; time left is written back', () =>
    sim(30, async (k) => {
      const [r, w] = await k.sys.pipe();
      const [r2, w2] = await k.sys.pipe();
      await k.sys.write(w, Uint8Array.of(1));
      let res = await k.sys.select(10, [r, r2], new Set([w, w2]), [r, w], { sec: 0, usec: 0 });
      expect(res).toEqual({ n: 3, readfds: [r], writefds: [w, w2], exceptfds: [], timeout: { sec: 0, usec: 0 } });
      const t0 = k.hyper.clockMonotonic();
      res = await k.sys.select(10, [r2], null, undefined, { sec: 0, usec: 1_500_000 }); // usec carries over
      expect(res.n).toBe(0);
      expect(k.hyper.clockMonotonic() - t0).toBe(1500n * MS);
      const pl = k.sys.select(10, [r2], [], [], { sec: 3, usec: 0 });
      await k.sys.write(w2, Uint8Array.of(1));
      expect(await pl).toEqual({ n: 1, readfds: [r2], writefds: [], exceptfds: [], timeout: { sec: 3, usec: 0 } });
    }));

  it('read set sees EOF/HUP and the write set sees POLLERR; fds at or above nfds are not looked at', () =>
    sim(31, async (k) => {
      const [r, w] = await k.sys.pipe();
      const [r2, w2] = await k.sys.pipe();
      await k.sys.close(w);
      await k.sys.close(r2);
      const res = await k.sys.select(w2 + 1, [r], [w2], null, null);
      expect([res.n, res.readfds, res.writefds]).toEqual([2, [r], [w2]]);
      expect(res.timeout).toBe(null);
      // w2 is not below nfds = w2: only the read set counts.
      expect((await k.sys.select(w2, [r], [w2], null, { sec: 0, usec: 0 })).writefds).toEqual([]);
    }));

  it('EBADF for a closed or negative fd in a set, EINVAL for nfds < 0 or a negative timeout', () =>
    sim(32, async (k) => {
      const [r] = await k.sys.pipe();
      expect(await code(k.sys.select(20, [r, 9], null, null, null))).toBe('EBADF');
      expect(await code(k.sys.select(20, null, null, [-1], null))).toBe('EBADF');
      expect(await code(k.sys.select(-1, null, null, null, null))).toBe('EINVAL');
      expect(await code(k.sys.select(1, [r], null, null, { sec: -1, usec: 0 }))).toBe('EINVAL');
      expect(await code(k.sys.select(1, [r], null, null, { sec: 0, usec: -1 }))).toBe('EINVAL');
      expect(await code(k.sys.select(1, 5 as never, null, null, null))).toBe('EFAULT');
      expect(await code(k.sys.select(1, new Array(1025).fill(r), null, null, null))).toBe('EINVAL');
      // A closed fd at or above nfds is not looked at; nfds beyond the table is clamped.
      expect((await k.sys.select(1, [r, 9], null, null, { sec: 0, usec: 0 })).n).toBe(0);
      expect((await k.sys.select(1 << 20, [r], null, null, { sec: 0, usec: 0 })).n).toBe(0);
    }));

  it('select with only out-of-set readiness still sleeps until its timeout', () =>
    sim(33, async (k) => {
      // A read end with no writer is POLLHUP: ready for reading, never for writing.
      const [r, w] = await k.sys.pipe();
      await k.sys.close(w);
      const t0 = k.hyper.clockMonotonic();
      const res = await k.sys.select(r + 1, null, null, [r], { sec: 0, usec: 20_000 });
      expect(res.n).toBe(0);
      expect(k.hyper.clockMonotonic() - t0).toBe(20n * MS);
    }));

  it('pselect6 takes a timespec and a temporary mask, and reports the time left', () =>
    sim(34, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      const pl = k.sys.pselect6(r + 1, [r], null, null, { sec: 2, nsec: 0 }, [SIGUSR1]);
      await host.world.sleep(500n * MS);
      await k.sys.write(w, Uint8Array.of(1));
      expect(await pl).toEqual({ n: 1, readfds: [r], writefds: [], exceptfds: [], timeout: { sec: 1, nsec: 500_000_000 } });
      expect(k.curproc.sig.mask).toBe(0n);
      expect(await code(k.sys.pselect6(r + 1, [r], null, null, { sec: 0, nsec: 2e9 }, null))).toBe('EINVAL');
    }));

  it('a signal ends select with EINTR', () =>
    sim(35, async (k, host) => {
      const [r] = await k.sys.pipe();
      const child = k.rfork({ fd: 'copy' });
      await sysOf(child).sigaction(SIGUSR1, { handler: () => {} });
      const pl = track(code(sysOf(child).select(r + 1, [r], null, null, null)));
      await host.world.sleep(MS);
      expect(pl.done).toBe(false);
      await k.sys.kill(child.pid, SIGUSR1);
      expect(await pl.p).toBe('EINTR');
      await k.exit(child);
    }));
});
