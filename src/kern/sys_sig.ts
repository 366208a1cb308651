/**
 * Signal and process-lifecycle system calls: kill/tkill/tgkill, sigaction,
 * sigprocmask, sigpending, sigsuspend/pause, sigtimedwait, alarm, wait4 /
 * waitpid, exit/exit_group, and fork for callers (library, remote) that want
 * a copy of their process context.
 *
 * Library forms (Linux argument order; sets are bigints, bit n-1 for signal
 * n, and may be given as an array of signal numbers):
 *   kill(pid, sig) → 0                    tkill(tid, sig), tgkill(tgid, tid, sig)
 *   sigaction(sig, act?) → old action     act: { handler: 0|1|fn, mask?, flags? }
 *   sigprocmask(how, set?) → old mask     sigpending() → bigint
 *   sigsuspend(mask) / pause()            → always reject with EINTR, after the handler ran
 *   sigtimedwait(set, timeout?) → signal number (EAGAIN on timeout)
 *   alarm(seconds) → seconds left of the previous alarm
 *   setitimer(ITIMER_REAL, { interval, value }?) → old, getitimer(ITIMER_REAL)   (timevals { sec, usec })
 *   wait4(pid, options?) / waitpid(...) → { pid, status }   (pid 0 with WNOHANG and nothing to report)
 *   waitid(idtype, id, options) → { signo, code, pid, uid, status }   (siginfo fields)
 *   exit(code) / exit_group(code)         end the calling process
 *   fork() → child pid                    child has a copy of the fd table and signal actions
 *
 * SA_RESTART: wait4 and waitid restart after such a handler; sigsuspend,
 * pause and sigtimedwait never restart (signal(7)).
 *
 * Not supported: siginfo and rt_sigqueueinfo, rusage from wait4 and waitid (there is no CPU accounting),
 * waitid's P_PIDFD, ITIMER_VIRTUAL/ITIMER_PROF (EINVAL). Threads are not separate: tid == pid.
 */
import { EAGAIN, ECHILD, EFAULT, EINTR, EINVAL, EPERM, ESRCH, err } from './errno.ts';
import {
  NSIG, SIGALRM, SIGCHLD, SIGCONT, SIG_BLOCK, SIG_SETMASK, SIG_UNBLOCK, WCONTINUED, WNOHANG, WUNTRACED,
} from './constants.ts';
import { defineSyscall } from './syscall.ts';
import type { Lwp } from './sched.ts';
import type { Proc } from './proc.ts';
import type { Kernel } from './kernel.ts';
import { Callout } from './callout.ts';
import { timespecToNs } from './sys_time.ts';
import type { Timespec } from './file.ts';
import { SIGSET_FULL, SIG_UNBLOCKABLE, SIG_UPCALL, sigbit, type SigAction, type SigHandlerFn } from './sig.ts';
import { W_CONTINUED, deliver, issig, psignal, sigDefault, sigRestart, sigValid, wExited, wStopped } from './sig_post.ts';

const INT_MIN = -2147483648;
// wait(2) flags beyond <constants.ts>: accepted, meaningless without threads.
const __WNOTHREAD = 0x2000_0000, __WALL = 0x4000_0000, __WCLONE = 0x8000_0000;
const WAIT_FLAGS = WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE;

// ---- wait status decoding (<sys/wait.h> macros), for library callers ----
export const WIFEXITED = (s: number): boolean => (s & 0x7f) === 0;
export const WEXITSTATUS = (s: number): number => (s >> 8) & 0xff;
export const WIFSIGNALED = (s: number): boolean => (s & 0x7f) !== 0 && (s & 0x7f) !== 0x7f;
export const WTERMSIG = (s: number): number => s & 0x7f;
export const WCOREDUMP = (s: number): boolean => (s & 0x80) !== 0;
export const WIFSTOPPED = (s: number): boolean => (s & 0xff) === 0x7f;
export const WSTOPSIG = (s: number): number => (s >> 8) & 0xff;
export const WIFCONTINUED = (s: number): boolean => s === W_CONTINUED;

/** A signal set from a bigint (0 ≤ set < 2^64) or an array of signal numbers; EINVAL otherwise. */
export function parseSigset(v: unknown): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > SIGSET_FULL) throw err(EINVAL);
    return v;
  }
  if (Array.isArray(v)) {
    if (v.length > NSIG) throw err(EINVAL);
    let set = 0n;
    for (const s of v) {
      if (typeof s !== 'number' || !sigValid(s)) throw err(EINVAL);
      set |= sigbit(s);
    }
    return set;
  }
  throw err(EINVAL);
}

/**
 * kill(2) permission: "the real or effective user ID of the sending process
 * must equal the real or saved set-user-ID of the target", or the sender is
 * privileged; SIGCONT may also be sent within the same session.
 */
export function canSignal(sender: Proc, target: Proc, sig: number): boolean {
  const a = sender.cred, b = target.cred;
  if (a.euid === 0) return true;
  if (a.euid === b.uid || a.euid === b.suid || a.uid === b.uid || a.uid === b.suid) return true;
  return sig === SIGCONT && sender.sid === target.sid;
}

function checkSig(sig: number): void {
  if (sig !== 0 && !sigValid(sig)) throw err(EINVAL);
}

function signalOne(td: Lwp, p: Proc, sig: number): void {
  if (!canSignal(td.proc, p, sig)) throw err(EPERM);
  if (sig !== 0) psignal(td.k, p, sig);
}

/** kill(2) to a process group: 0 if one process got it, else EPERM (or ESRCH if the group is empty). */
function signalGroup(td: Lwp, pgid: number, sig: number): number {
  let found = false, ok = false;
  for (const p of [...td.k.procs.values()]) {
    if (p.pid === 0 || p.pgid !== pgid || p.state === 'reaped') continue;
    found = true;
    if (!canSignal(td.proc, p, sig)) continue;
    ok = true;
    if (sig !== 0) psignal(td.k, p, sig);
  }
  if (!found) throw err(ESRCH);
  if (!ok) throw err(EPERM);
  return 0;
}

function kill(td: Lwp, pid: number, sig: number): number {
  checkSig(sig);
  const k = td.k;
  if (pid > 0) {
    const p = k.procs.get(pid);
    if (p === undefined || p.state === 'reaped') throw err(ESRCH);
    signalOne(td, p, sig); // a zombie target: success, no effect (psignal ignores it)
    return 0;
  }
  if (pid === 0) return signalGroup(td, td.proc.pgid, sig);
  if (pid === -1) {
    // kill(2): every process the caller may signal except init and itself;
    // Linux answers 0 once any process was tried, ESRCH when there was none.
    let count = 0;
    for (const p of [...k.procs.values()]) {
      if (p.pid <= 1 || p === td.proc || p.state === 'reaped') continue;
      count++;
      if (canSignal(td.proc, p, sig) && sig !== 0) psignal(k, p, sig);
    }
    if (count === 0) throw err(ESRCH);
    return 0;
  }
  if (pid === INT_MIN) throw err(ESRCH); // -INT_MIN overflows; Linux says ESRCH
  return signalGroup(td, -pid, sig);
}

function copyAction(a: SigAction): SigAction {
  return { handler: a.handler, mask: a.mask, flags: a.flags };
}

function parseAction(v: unknown): SigAction {
  if (typeof v !== 'object' || v === null) throw err(EINVAL);
  const { handler, mask, flags } = v as { handler?: unknown; mask?: unknown; flags?: unknown };
  if (handler !== 0 && handler !== 1 && handler !== SIG_UPCALL && typeof handler !== 'function') throw err(EINVAL);
  const m = mask === undefined ? 0n : parseSigset(mask);
  // flags is a C int: accept it signed (SA_RESETHAND | x is negative in JS bit arithmetic) or unsigned.
  if (flags !== undefined && (typeof flags !== 'number' || !Number.isInteger(flags) || flags < INT_MIN || flags > 0xffff_ffff)) throw err(EINVAL);
  return { handler: handler as 0 | 1 | 2 | SigHandlerFn, mask: m & ~SIG_UNBLOCKABLE, flags: flags === undefined ? 0 : flags >>> 0 };
}

/** sigaction(2). */
function sigaction(td: Lwp, sig: number, act?: unknown): SigAction {
  if (!sigValid(sig)) throw err(EINVAL);
  const s = td.proc.sig;
  const old = copyAction(s.actions[sig]!);
  if (act === undefined) return old;
  // SIGKILL and SIGSTOP "cannot be caught or ignored" (sigaction(2) EINVAL).
  if ((sigbit(sig) & SIG_UNBLOCKABLE) !== 0n) throw err(EINVAL);
  const a = parseAction(act);
  s.actions[sig] = a;
  // POSIX sigaction: setting SIG_IGN (or SIG_DFL whose default is to ignore)
  // discards a pending instance, blocked or not.
  const d = sigDefault(sig);
  if (a.handler === 1 || (a.handler === 0 && (d === 'ign' || d === 'cont'))) s.pending &= ~sigbit(sig);
  issig(td.k, td.proc);
  return old;
}

/** sigprocmask(2). SIGKILL and SIGSTOP are silently left unblocked. */
function sigprocmask(td: Lwp, how: number, set?: unknown): bigint {
  const s = td.proc.sig;
  const old = s.mask;
  if (set === undefined) return old;
  const v = parseSigset(set);
  if (how === SIG_BLOCK) s.mask |= v;
  else if (how === SIG_UNBLOCK) s.mask &= ~v;
  else if (how === SIG_SETMASK) s.mask = v;
  else throw err(EINVAL);
  s.mask &= ~SIG_UNBLOCKABLE;
  issig(td.k, td.proc); // signal(7): unblocking delivers what is pending
  return old;
}

/**
 * sigsuspend(2): replace the mask, wait for a signal whose action is a
 * handler or termination, run the handler (under the temporary mask), put
 * the old mask back and fail with EINTR.
 */
async function sigsuspend(td: Lwp, mask: bigint): Promise<never> {
  const k = td.k, p = td.proc, s = p.sig;
  const old = s.mask;
  s.mask = mask & ~SIG_UNBLOCKABLE;
  s.suspendSaved = old;
  issig(k, p);
  try {
    while (!s.hasDeliverable() && p.state === 'alive') await s.waitq.sleep(td, { intr: true });
    // Take the signal now rather than in the scheduled upcall, so that the
    // handler sees the temporary mask and we can wait for it to return.
    const handlers = deliver(k, p);
    if (s.suspendSaved !== null) {
      // No handler ran (the process is dying, or only ignored signals came).
      s.mask = s.suspendSaved;
      s.suspendSaved = null;
      issig(k, p);
    }
    await Promise.all(handlers);
  } finally {
    if (s.suspendSaved !== null) {
      s.mask = s.suspendSaved;
      s.suspendSaved = null;
      issig(k, p); // the old mask may let in what the temporary one held back
    }
  }
  throw err(EINTR);
}

/** sigtimedwait(2): take a pending signal of `set` without running its handler. */
async function sigtimedwait(td: Lwp, setArg: unknown, timeout?: Timespec): Promise<number> {
  const k = td.k, p = td.proc, s = p.sig;
  const want = parseSigset(setArg) & ~SIG_UNBLOCKABLE;
  const deadline = timeout === undefined ? null : k.hyper.clockMonotonic() + timespecToNs(timeout);
  const take = (): number => {
    const got = s.pending & want;
    if (got === 0n) return 0;
    let sig = 1;
    while ((got & sigbit(sig)) === 0n) sig++;
    s.pending &= ~sigbit(sig);
    return sig;
  };
  for (;;) {
    const sig = take();
    if (sig !== 0) return sig;
    const now = k.hyper.clockMonotonic();
    if (deadline !== null && now >= deadline) throw err(EAGAIN);
    s.waitSets.push(want);
    s.waiting |= want;
    let why;
    try {
      why = await s.waitq.sleep(td, deadline === null ? { intr: true } : { intr: true, timeoutNs: deadline - now });
    } finally {
      s.waitSets.splice(s.waitSets.indexOf(want), 1);
      s.waiting = s.waitSets.reduce((a, b) => a | b, 0n);
    }
    const got = take();
    // A waited-for signal we did not take becomes an ordinary pending one again.
    issig(k, p);
    if (got !== 0) return got;
    if (why === 'intr' || p.state !== 'alive') throw err(EINTR);
    if (why === 'timeout') throw err(EAGAIN);
  }
}

/**
 * The real-time interval timer (ITIMER_REAL), shared by alarm(2) and
 * setitimer(2) as in Linux: one callout per process that posts SIGALRM and,
 * with an interval, re-arms itself relative to the expiry it just had.
 */
function armReal(k: Kernel, p: Proc, valueNs: bigint, intervalNs: bigint): void {
  const s = p.sig;
  s.alarm?.stop(k);
  s.alarmInterval = intervalNs;
  if (valueNs === 0n) return;
  s.alarm ??= new Callout(`itimer_real:${p.pid}`);
  const fire = (): void => {
    psignal(k, p, SIGALRM);
    if (s.alarmInterval > 0n && p.state === 'alive') {
      s.alarmDeadline += s.alarmInterval;
      s.alarm!.reset(k, s.alarmDeadline - k.hyper.clockMonotonic(), fire);
    }
  };
  s.alarmDeadline = k.hyper.clockMonotonic() + valueNs;
  s.alarm.reset(k, valueNs, fire);
}

/** Time left on ITIMER_REAL in ns (0 when disarmed). */
function realLeft(k: Kernel, p: Proc): bigint {
  const s = p.sig;
  if (s.alarm === null || !s.alarm.pending) return 0n;
  const ns = s.alarmDeadline - k.hyper.clockMonotonic();
  return ns > 0n ? ns : 1n; // due but not yet run: still armed
}

/** alarm(2): SIGALRM after `seconds`; returns what was left of the previous alarm, rounded. */
function alarm(td: Lwp, seconds: number): number {
  const k = td.k, p = td.proc;
  if (seconds > 0xffff_ffff) throw err(EINVAL);
  const ns = realLeft(k, p);
  // Linux alarm_setitimer: round to the nearest second, but never report 0 for a live alarm.
  const left = ns === 0n ? 0 : Math.max(1, Number((ns + 500_000_000n) / 1_000_000_000n));
  armReal(k, p, BigInt(seconds) * 1_000_000_000n, 0n);
  return left;
}

/** struct timeval as library callers pass it. */
export interface Timeval {
  sec: number;
  usec: number;
}

/** struct itimerval: the next expiry and the reload interval. */
export interface Itimerval {
  interval: Timeval;
  value: Timeval;
}

export const ITIMER_REAL = 0;

function timevalNs(v: unknown): bigint {
  if (typeof v !== 'object' || v === null) throw err(EFAULT);
  const { sec, usec } = v as { sec?: unknown; usec?: unknown };
  if (typeof sec !== 'number' || typeof usec !== 'number' || !Number.isSafeInteger(sec) || !Number.isInteger(usec)) throw err(EINVAL);
  if (sec < 0 || usec < 0 || usec > 999_999) throw err(EINVAL); // setitimer(2) EINVAL
  return BigInt(sec) * 1_000_000_000n + BigInt(usec) * 1000n;
}

function nsTimeval(ns: bigint): Timeval {
  // Round up to whole microseconds so that an armed timer never reads as 0.
  const us = (ns + 999n) / 1000n;
  return { sec: Number(us / 1_000_000n), usec: Number(us % 1_000_000n) };
}

/**
 * getitimer(2) / setitimer(2). Only ITIMER_REAL exists: ITIMER_VIRTUAL and
 * ITIMER_PROF count CPU time, which a cooperative kernel does not account,
 * so they answer EINVAL.
 */
function getitimer(td: Lwp, which: number): Itimerval {
  if (which !== ITIMER_REAL) throw err(EINVAL);
  return { interval: nsTimeval(td.proc.sig.alarmInterval), value: nsTimeval(realLeft(td.k, td.proc)) };
}

function setitimer(td: Lwp, which: number, nv?: unknown): Itimerval {
  if (which !== ITIMER_REAL) throw err(EINVAL);
  const old = getitimer(td, which);
  if (nv === undefined) return old; // Linux allows a NULL new value: a query
  if (typeof nv !== 'object' || nv === null) throw err(EFAULT);
  const { interval, value } = nv as { interval?: unknown; value?: unknown };
  const iv = timevalNs(interval), vv = timevalNs(value);
  armReal(td.k, td.proc, vv, vv === 0n ? 0n : iv);
  return old;
}

export interface WaitResult {
  /** The child that changed state, or 0 (WNOHANG and nothing to report). */
  pid: number;
  /** wait(2) status word; decode with WIFEXITED/WEXITSTATUS/WTERMSIG... */
  status: number;
}

function waitMatches(p: Proc, c: Proc, pid: number): boolean {
  if (pid === -1) return true;
  if (pid > 0) return c.pid === pid;
  if (pid === 0) return c.pgid === p.pgid;
  return c.pgid === -pid;
}

interface WaitWant {
  exited: boolean;
  stopped: boolean;
  continued: boolean;
  nohang: boolean;
  /** waitid WNOWAIT: report but leave the child waitable. */
  nowait: boolean;
}

/** What wait found: the child and its state change, as a wait status word. */
interface Found {
  child: Proc;
  kind: 'exited' | 'stopped' | 'continued';
  status: number;
}

/**
 * The common body of wait4 and waitid (kernel/exit.c do_wait): scan the
 * children that `match`, take the first state change asked for, else ECHILD
 * when no child matches, null with WNOHANG, or sleep on childq (EINTR).
 */
async function doWait(td: Lwp, match: (c: Proc) => boolean, want: WaitWant): Promise<Found | null> {
  const k = td.k, p = td.proc;
  for (;;) {
    let any = false;
    for (const c of p.children) {
      if (!match(c)) continue;
      any = true;
      if (c.state === 'zombie') {
        if (!want.exited) continue;
        if (!want.nowait) k.reap(c);
        return { child: c, kind: 'exited', status: c.exitStatus };
      }
      const rep = c.sig.report;
      if (c.state === 'alive' && typeof rep === 'number' && rep !== 0 && want.stopped) {
        if (!want.nowait) c.sig.report = 0;
        return { child: c, kind: 'stopped', status: wStopped(rep) };
      }
      if (c.state === 'alive' && rep === 'cont' && want.continued) {
        if (!want.nowait) c.sig.report = 0;
        return { child: c, kind: 'continued', status: W_CONTINUED };
      }
    }
    if (!any) throw err(ECHILD);
    if (want.nohang) return null;
    const why = await p.childq.sleep(td, { intr: true });
    // signal(7): wait4/waitid are restarted after an SA_RESTART handler.
    if (why === 'intr' && !(await sigRestart(td))) throw err(EINTR);
  }
}

/** wait4(2) / waitpid(2). */
async function wait4(td: Lwp, pid: number, options = 0): Promise<WaitResult> {
  const p = td.proc;
  if (options < INT_MIN || options > 0xffff_ffff || (options & ~WAIT_FLAGS) !== 0) throw err(EINVAL);
  if (pid === INT_MIN) throw err(ESRCH);
  const f = await doWait(td, (c) => waitMatches(p, c, pid), {
    exited: true,
    stopped: (options & WUNTRACED) !== 0,
    continued: (options & WCONTINUED) !== 0,
    nohang: (options & WNOHANG) !== 0,
    nowait: false,
  });
  return f === null ? { pid: 0, status: 0 } : { pid: f.child.pid, status: f.status };
}

// waitid(2) id types, flags and siginfo si_code values (CLD_*).
export const P_ALL = 0, P_PID = 1, P_PGID = 2;
export const WEXITED = 4, WSTOPPED = 2, WNOWAIT = 0x0100_0000;
export const CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_STOPPED = 5, CLD_CONTINUED = 6;
const WAITID_FLAGS = WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE;

/** The siginfo waitid fills in; all zero (pid 0) for WNOHANG with nothing to report. */
export interface WaitidInfo {
  signo: number;
  /** CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED or CLD_CONTINUED. */
  code: number;
  pid: number;
  uid: number;
  /** Exit code, or the signal that killed, stopped or continued the child. */
  status: number;
}

/** waitid(2) (P_PIDFD is not supported: there are no pidfds). */
async function waitid(td: Lwp, idtype: number, id: number, options: number): Promise<WaitidInfo> {
  const p = td.proc;
  if (options < INT_MIN || options > 0xffff_ffff || (options & ~WAITID_FLAGS) !== 0) throw err(EINVAL);
  if ((options & (WEXITED | WSTOPPED | WCONTINUED)) === 0) throw err(EINVAL);
  let match: (c: Proc) => boolean;
  if (idtype === P_ALL) match = () => true;
  else if (idtype === P_PID) {
    if (id <= 0) throw err(EINVAL);
    match = (c) => c.pid === id;
  } else if (idtype === P_PGID) {
    if (id < 0) throw err(EINVAL);
    const g = id === 0 ? p.pgid : id; // Linux 5.4+: id 0 means the caller's group
    match = (c) => c.pgid === g;
  } else throw err(EINVAL);
  const f = await doWait(td, match, {
    exited: (options & WEXITED) !== 0,
    stopped: (options & WSTOPPED) !== 0,
    continued: (options & WCONTINUED) !== 0,
    nohang: (options & WNOHANG) !== 0,
    nowait: (options & WNOWAIT) !== 0,
  });
  if (f === null) return { signo: 0, code: 0, pid: 0, uid: 0, status: 0 };
  const s = f.status;
  let code: number, status: number;
  if (f.kind === 'stopped') { code = CLD_STOPPED; status = (s >> 8) & 0xff; }
  else if (f.kind === 'continued') { code = CLD_CONTINUED; status = SIGCONT; }
  else if ((s & 0x7f) === 0) { code = CLD_EXITED; status = (s >> 8) & 0xff; }
  else { code = (s & 0x80) !== 0 ? CLD_DUMPED : CLD_KILLED; status = s & 0x7f; }
  return { signo: SIGCHLD, code, pid: f.child.pid, uid: f.child.cred.uid, status };
}

/** exit(2) / exit_group(2) for the calling process. */
async function exit(td: Lwp, code: number): Promise<number> {
  const k = td.k;
  // Linux panics when init exits ("Attempted to kill init!"); a library
  // kernel's init is its caller's default process, so refuse instead.
  if (td.proc === k.initproc) throw err(EPERM);
  await k.exitProc(td.proc, wExited(code));
  return 0;
}

/** fork(2) of a process context: a child with a copy of the caller's fds, credentials and signal actions. */
function fork(td: Lwp): number {
  const child = td.k.newProc(td.proc, td.proc.cred.clone(), 'copy');
  return child.pid;
}

function sigsuspendArg(td: Lwp, mask: unknown): Promise<never> {
  return sigsuspend(td, parseSigset(mask));
}

export const sigSyscalls = [
  defineSyscall('kill', 62, ['int', 'int'], kill),
  defineSyscall('tkill', 200, ['int', 'int'], (td, tid: number, sig: number) => {
    if (tid <= 0) throw err(EINVAL);
    return kill(td, tid, sig);
  }),
  defineSyscall('tgkill', 234, ['int', 'int', 'int'], (td, tgid: number, tid: number, sig: number) => {
    if (tgid <= 0 || tid <= 0) throw err(EINVAL);
    if (tid !== tgid) { checkSig(sig); throw err(ESRCH); } // one thread per process: tid == pid
    return kill(td, tid, sig);
  }),
  defineSyscall('sigaction', 13, ['int', 'obj?'], sigaction),
  defineSyscall('sigprocmask', 14, ['int', 'any?'], sigprocmask),
  defineSyscall('sigpending', 127, [], (td): bigint => td.proc.sig.pending & td.proc.sig.mask),
  defineSyscall('sigsuspend', 130, ['any'], sigsuspendArg),
  defineSyscall('pause', 34, [], (td) => sigsuspend(td, td.proc.sig.mask)),
  defineSyscall('sigtimedwait', 128, ['any', 'obj?'], sigtimedwait),
  defineSyscall('alarm', 37, ['uint'], alarm),
  defineSyscall('getitimer', 36, ['int'], getitimer),
  defineSyscall('setitimer', 38, ['int', 'obj?'], setitimer),
  defineSyscall('wait4', 61, ['int', 'int?'], wait4),
  defineSyscall('waitpid', -1, ['int', 'int?'], wait4),
  defineSyscall('waitid', 247, ['int', 'int', 'int'], waitid),
  defineSyscall('exit', 60, ['int'], exit),
  defineSyscall('exit_group', 231, ['int'], exit),
  defineSyscall('fork', 57, [], fork),
] as const;
