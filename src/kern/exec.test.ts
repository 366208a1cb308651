/**
 * execve and posix_spawn through the kernel's activators, with a recording
 * runner in place of a frontend; sessions, orphaned process groups and
 * job-control checks; SIG_UPCALL handlers with sigtake/rt_sigreturn.
 */
import { describe, expect, it } from 'vitest';
import { SimHost } from '../hyper/sim/index.ts';
import { boot, type BootedKernel } from '../frontends/library/boot.ts';
import type { KernelError } from './errno.ts';
import { O_CREAT, O_RDONLY, O_WRONLY, SIGCONT, SIGHUP, SIGTSTP, SIGTTIN, SIGUSR1, WUNTRACED } from './constants.ts';
import { execsw, userlandImage, type Image, type ImageRunner } from './exec.ts';
import { SIG_UPCALL } from './sig.ts';
import { WIFSIGNALED, WIFSTOPPED, WTERMSIG } from './sys_sig.ts';
import { cttyOf, isOrphanedPgrp, setCtty, ttyCheckRead, type Ctty } from './session.ts';
import type { Proc } from './proc.ts';
import { Lwp } from './sched.ts';
import { vfsComponent } from '../vfs/vfs_component.ts';
import { tmpfsComponent } from '../vfs/tmpfs.ts';

type S = Record<string, (...a: any[]) => Promise<any>>;
const enc = new TextEncoder();

async function withKernel(fn: (bk: BootedKernel, starts: { p: Proc; img: Image }[], settle: () => Promise<void>) => Promise<void>): Promise<void> {
  const sim = new SimHost({ seed: 7 });
  await sim.run(async () => {
    const bk = await boot({ host: sim, components: ['kern', vfsComponent, tmpfsComponent] });
    const starts: { p: Proc; img: Image }[] = [];
    const runner: ImageRunner = { kinds: ['userland', 'wasm'], start: (_k, p, img) => { starts.push({ p, img }); } };
    bk.kernel.provide('exec.runner', runner);
    const sys = bk.sys as unknown as S;
    await sys.mkdir!('/bin', 0o755);
    const put = async (path: string, bytes: Uint8Array, mode: number) => {
      const fd = await sys.open!(path, O_CREAT | O_WRONLY, mode);
      await sys.write!(fd, bytes);
      await sys.close!(fd);
      await sys.chmod!(path, mode);
    };
    await put('/bin/echo', userlandImage('echo'), 0o755);
    await put('/bin/noexec', userlandImage('echo'), 0o644);
    await put('/bin/junk', enc.encode('just text\n'), 0o755);
    await put('/bin/script', enc.encode('#!/bin/echo -n\nbody\n'), 0o755);
    await put('/bin/loop', enc.encode('#!/bin/loop\n'), 0o755);
    await put('/bin/mod.wasm', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 9, 9]), 0o755);
    await fn(bk, starts, () => sim.world.sleep(1000));
  }, { limitNs: 100_000_000_000n });
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as KernelError).code;
  }
  return 'ok';
}

describe('execve and image activators', () => {
  it('finds the activator by magic, follows #! and refuses what it cannot run', async () => {
    await withKernel(async (bk, starts) => {
      const h = bk.rfork();
      const sys = h.sys as S;
      await sys.execve!('/bin/echo', ['echo', 'hi'], ['A=1']);
      expect(starts[0]!.img).toMatchObject({ kind: 'userland', program: 'echo', argv: ['echo', 'hi'], envp: ['A=1'] });
      expect(h.proc.comm).toBe('echo');
      expect(h.proc.exe).toBe('/bin/echo');
      await sys.execve!('/bin/script', ['script', 'x'], []);
      expect(starts[1]!.img).toMatchObject({ kind: 'userland', path: '/bin/echo', argv: ['/bin/echo', '-n', '/bin/script', 'x'] });
      await sys.execve!('/bin/mod.wasm', ['m'], []);
      expect(starts[2]!.img.kind).toBe('wasm');
      expect(starts[2]!.img.bytes!.byteLength).toBe(10);
      expect(await code(sys.execve!('/bin/noexec', ['x'], []))).toBe('EACCES');
      expect(await code(sys.execve!('/bin/junk', ['x'], []))).toBe('ENOEXEC');
      expect(await code(sys.execve!('/bin/loop', ['x'], []))).toBe('ELOOP');
      expect(await code(sys.execve!('/bin', ['x'], []))).toBe('EACCES');
      expect(await code(sys.execve!('/nope', ['x'], []))).toBe('ENOENT');
      expect(await code(sys.execve!('/bin/echo', 'notarray', []))).toBe('EINVAL');
      expect(starts.length).toBe(3);
    });
  });

  it('closes close-on-exec descriptors and resets caught handlers', async () => {
    await withKernel(async (bk) => {
      const h = bk.rfork();
      const sys = h.sys as S;
      const [r, w] = await sys.pipe2!(0o2000000);
      const keep = await sys.dup!(r);
      await sys.sigaction!(SIGUSR1, { handler: () => undefined });
      await sys.sigaction!(SIGHUP, { handler: 1 });
      await sys.execve!('/bin/echo', ['echo'], []);
      expect(h.proc.fdt.peek(r)).toBeUndefined();
      expect(h.proc.fdt.peek(w)).toBeUndefined();
      expect(h.proc.fdt.peek(keep)).toBeDefined();
      expect(h.proc.sig.actions[SIGUSR1]!.handler).toBe(0);
      expect(h.proc.sig.actions[SIGHUP]!.handler).toBe(1);
    });
  });
});

describe('posix_spawn', () => {
  it('applies attributes and file actions in order in the child', async () => {
    await withKernel(async (bk, starts) => {
      const sys = bk.sys as unknown as S;
      const [r0, w0] = await sys.pipe!();
      const r = await sys.fcntl!(r0, 0, 10), w = await sys.fcntl!(w0, 0, 10); // F_DUPFD above stdio
      await sys.close!(r0);
      await sys.close!(w0);
      const pid = await sys.spawn!('/bin/echo', ['echo', 'a'], ['X=1'], {
        pgroup: 0,
        actions: [
          { op: 'dup2', fd: w, newfd: 1 },
          { op: 'close', fd: r },
          { op: 'close', fd: w },
          { op: 'open', fd: 0, path: '/bin/script', flags: O_RDONLY },
        ],
      });
      const c = starts[0]!.p;
      expect(c.pid).toBe(pid);
      expect(c.pgid).toBe(pid);
      expect(c.ppid).toBe(bk.curproc.pid);
      expect([...c.fdt.entries()].map(([fd, f]) => `${fd}:${f.ops.type}`)).toEqual(['0:vnode', '1:pipe']);
      await sys.close!(r);
      await sys.close!(w);
    });
  });

  it('a failing action or exec is the call error and leaves no child', async () => {
    await withKernel(async (bk) => {
      const sys = bk.sys as unknown as S;
      const before = bk.kernel.procs.size;
      expect(await code(sys.spawn!('/bin/echo', ['e'], [], { actions: [{ op: 'close', fd: 99 }] }))).toBe('EBADF');
      expect(await code(sys.spawn!('/bin/junk', ['j'], []))).toBe('ENOEXEC');
      expect(await code(sys.spawn!('/bin/echo', ['e'], [], { pgroup: 4242 }))).toBe('EPERM');
      expect(bk.kernel.procs.size).toBe(before);
      expect(await code(sys.wait4!(-1, 1))).toBe('ECHILD');
    });
  });
});

describe('sessions and job control', () => {
  const tty = (): Ctty => ({ name: 'tty0', pgrp: 0, sid: 0 });

  it('a session leader takes a terminal; background reads stop the group with SIGTTIN', async () => {
    await withKernel(async (bk, _s, settle) => {
      const k = bk.kernel;
      const lead = bk.rfork();
      await (lead.sys as S).setsid!();
      const t = tty();
      setCtty(k, lead.proc, t, false);
      expect(cttyOf(k, lead.proc)).toBe(t);
      expect(t.pgrp).toBe(lead.pid);
      const job = bk.rfork({ parent: lead.proc });
      await (job.sys as S).setpgid!(0, 0);
      // The job is in the background: a read sends SIGTTIN to its group and waits.
      const td = new Lwp(k, job.proc, 'read');
      let done = false;
      const reading = ttyCheckRead(td, t).then(() => { done = true; });
      await settle();
      expect(job.proc.sig.stopped).toBe(true);
      const st = await (lead.sys as S).wait4!(job.pid, WUNTRACED);
      expect(WIFSTOPPED(st.status)).toBe(true);
      expect((st.status >> 8) & 0xff).toBe(SIGTTIN);
      t.pgrp = job.proc.pgid; // the shell puts the job in the foreground
      await (lead.sys as S).kill!(job.pid, SIGCONT);
      await reading;
      expect(done).toBe(true);
      // Only a leader may take a terminal.
      expect(() => setCtty(k, job.proc, tty(), false)).toThrow();
    });
  });

  it('an exit that orphans a group with a stopped member sends it SIGHUP and SIGCONT', async () => {
    await withKernel(async (bk, _s, settle) => {
      const k = bk.kernel;
      const lead = bk.rfork();
      await (lead.sys as S).setsid!();
      const mid = bk.rfork({ parent: lead.proc });
      const kid = bk.rfork({ parent: mid.proc });
      await (kid.sys as S).setpgid!(0, 0);
      expect(isOrphanedPgrp(k, kid.proc.pgid)).toBe(false);
      await (lead.sys as S).kill!(kid.pid, SIGTSTP);
      await settle();
      expect(kid.proc.sig.stopped).toBe(true);
      await bk.exit(mid, 0);
      await settle();
      // SIGHUP's default action ends it once SIGCONT has continued it.
      expect(kid.proc.state).not.toBe('alive');
      expect(WIFSIGNALED(kid.proc.exitStatus) && WTERMSIG(kid.proc.exitStatus)).toBe(SIGHUP);
    });
  });
});

describe('signals delivered to an image at system-call boundaries', () => {
  it('queues SIG_UPCALL signals, masks them while taken, and rt_sigreturn restores the mask', async () => {
    await withKernel(async (bk, _s, settle) => {
      const h = bk.rfork();
      const sys = h.sys as S;
      let flagged = 0;
      h.proc.sig.onUpcall = () => { flagged++; };
      await sys.sigaction!(SIGUSR1, { handler: SIG_UPCALL });
      await (bk.sys as unknown as S).kill!(h.pid, SIGUSR1);
      await settle();
      expect(flagged).toBe(1);
      expect(await sys.sigtake!()).toEqual([SIGUSR1]);
      expect(await sys.sigprocmask!(0)).toBe(1n << BigInt(SIGUSR1 - 1));
      expect(await sys.rt_sigreturn!()).toBe(0);
      expect(await sys.sigprocmask!(0)).toBe(0n);
      expect(await code(sys.rt_sigreturn!())).toBe('EINVAL');
      expect(execsw(bk.kernel).activators.map((a) => a.kind)).toEqual(['script', 'userland', 'wasm']);
    });
  });
});
