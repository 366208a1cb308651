/**
 * Posting and delivering signals (kern_sig.c's psignal/issignal/postsig).
 *
 * Library callers have no user stack to push a frame on, so delivery is a
 * scheduled kernel upcall (`k.hyper.schedule`) that takes the action:
 *
 *   psignal(k, p, sig)          post: SIGCONT/stop side effects, set pending,
 *        |                      wake a sigtimedwait, then issig()
 *   issig(k, p)                 synchronous pass over pending & ~blocked:
 *        |                        ignored   → discarded now
 *        |                        stop      → process stops now
 *        |                        handler / terminate → stays pending (so
 *        |                        interruptible sleeps end with EINTR), the
 *        |                        sleeping threads are interrupted and a
 *        v                        delivery upcall is scheduled
 *   deliver(k, p)               the upcall: runs handlers (signal masked while
 *                               it runs, SA_NODEFER/SA_RESETHAND honoured),
 *                               or terminates the process with k.exitProc.
 *
 * Default actions follow signal(7): terminate; terminate with core (the 0x80
 * "core dumped" bit in the wait status; no core file is written); ignore
 * (SIGCHLD, SIGURG, SIGWINCH, and SIGCONT apart from its continue effect);
 * stop (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU). A stopped process's sleeping
 * threads stay asleep; its new system calls wait in the dispatcher until
 * SIGCONT (or SIGKILL) — see SigState.whenContinued. Blocked signals stay pending
 * (even ignored ones: the action may change before they are unblocked, as in
 * Linux's sig_ignored()).
 *
 * Handlers of one process may nest (a signal arriving while a handler runs
 * and is not blocked starts another handler); masks are restored in stack
 * order, the way sigreturn would, even though async handlers may finish out
 * of order.
 *
 * SA_RESTART is opt-in per slow call: its sleep loop asks sigRestart()
 * whether to go on after the handler (wait4/waitid do; see sigRestart).
 *
 * Not supported: siginfo (handlers get only the signal number), real-time
 * signal queueing, SA_RESTART for calls that do not ask sigRestart,
 * discarding stop signals for orphaned process groups, core files.
 *
 * @guardedBy the single virtual CPU: everything here runs between awaits.
 */
import type { Kernel } from './kernel.ts';
import type { Proc } from './proc.ts';
import type { Lwp } from './sched.ts';
import {
  NSIG, SIGABRT, SIGBUS, SIGCHLD, SIGCONT, SIGFPE, SIGILL, SIGKILL, SIGQUIT, SIGSEGV, SIGSTOP, SIGSYS, SIGTRAP,
  SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH, SIGXCPU, SIGXFSZ, SIG_IGN,
} from './constants.ts';
import { SA_NOCLDSTOP, SA_NOCLDWAIT, SA_NODEFER, SA_RESETHAND, SA_RESTART, SIG_UNBLOCKABLE, SIG_UPCALL, sigbit, type SigFrame } from './sig.ts';

export type SigDefault = 'term' | 'core' | 'ign' | 'stop' | 'cont';

const CORE = new Set([SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS]);
const STOP = new Set([SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU]);
const IGN = new Set([SIGCHLD, SIGURG, SIGWINCH]);
const STOP_MASK = sigbit(SIGSTOP) | sigbit(SIGTSTP) | sigbit(SIGTTIN) | sigbit(SIGTTOU);

/** The default action of a signal (signal(7) "Standard signals" table). */
export function sigDefault(sig: number): SigDefault {
  if (sig === SIGCONT) return 'cont';
  if (STOP.has(sig)) return 'stop';
  if (IGN.has(sig)) return 'ign';
  if (CORE.has(sig)) return 'core';
  return 'term'; // every other standard signal and all real-time signals
}

const NAMES = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV',
  'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN',
  'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
];

/** "SIGTERM", or "SIGRT<n>" for real-time signals (SIGRTMIN is 32 as the kernel counts). */
export function sigName(sig: number): string {
  return sig > 0 && sig < NAMES.length ? NAMES[sig]! : `SIGRT${sig - 32}`;
}

/** Record a signal event in the process's ktrace, if it is traced. */
function ktraceNote(k: Kernel, p: Proc, note: string): void {
  if (p.ktrace === null) return;
  const now = k.hyper.clockMonotonic();
  p.ktrace.add({ startNs: now, endNs: now, pid: p.pid, syscall: '', args: [], result: null, error: null, note });
}

/** A valid signal number for posting (1..64; 0 is only a kill(2) probe). */
export function sigValid(sig: number): boolean {
  return Number.isInteger(sig) && sig >= 1 && sig < NSIG;
}

// wait(2) status words, as <bits/waitstatus.h> encodes them.
export const wExited = (code: number): number => (code & 0xff) << 8;
export const wSignaled = (sig: number, core: boolean): number => sig | (core ? 0x80 : 0);
export const wStopped = (sig: number): number => (sig << 8) | 0x7f;
export const W_CONTINUED = 0xffff;

/** Is the signal's current action "ignore" (explicitly, or by default)? */
function ignored(p: Proc, sig: number): boolean {
  const h = p.sig.actions[sig]!.handler;
  if (h === SIG_IGN) return true;
  if (h !== 0) return false;
  const d = sigDefault(sig);
  return d === 'ign' || d === 'cont';
}

/** Lowest signal number in a non-empty set. */
function lowest(set: bigint): number {
  let sig = 1;
  while ((set & 1n) === 0n) {
    set >>= 1n;
    sig++;
  }
  return sig;
}

/**
 * Post signal `sig` to process `p` (kill(2), SIGPIPE on EPIPE, SIGCHLD on a
 * child's exit, SIGALRM from alarm(2), SIGINT from a tty...). Never sleeps,
 * never throws for a dead target: posting to a zombie has no effect. The
 * caller has checked permission; `sig` must be 1..64.
 */
export function psignal(k: Kernel, p: Proc, sig: number): void {
  if (!sigValid(sig)) k.panic(`psignal: bad signal ${sig} for pid ${p.pid}`);
  if (p.state !== 'alive' || p.pid === 0) return;
  const s = p.sig;
  // Linux SIGNAL_UNKILLABLE: init only gets the signals it installed handlers
  // for (SIGKILL and SIGSTOP included). This keeps the library caller's own
  // process alive through a stray SIGPIPE or kill(1, SIGTERM).
  if (p === k.initproc && s.actions[sig]!.handler === 0) return;
  const bit = sigbit(sig);
  if (sig === SIGCONT) {
    // signal(7): SIGCONT continues a stopped process even when it is blocked
    // or ignored, and discards pending stop signals.
    s.pending &= ~STOP_MASK;
    if (s.stopped) continueProc(k, p);
  } else if (sig === SIGKILL) {
    // SIGKILL acts on a stopped process without continuing it: the calls
    // parked on the stop are released by the exit and fail with ESRCH.
    s.pending &= ~STOP_MASK;
  } else if (STOP.has(sig)) {
    s.pending &= ~sigbit(SIGCONT); // a stop discards a pending SIGCONT
  }
  s.pending |= bit;
  if ((s.waiting & bit) !== 0n) s.waitq.wakeup(k);
  issig(k, p);
}

/**
 * Post to every process of group `pgid` (killpg(3)). Returns how many
 * processes (alive or zombie) were in the group; the caller has checked
 * permissions when it needs to (kill(2) does it per process).
 */
export function killpg(k: Kernel, pgid: number, sig: number): number {
  let n = 0;
  for (const p of [...k.procs.values()]) {
    if (p.pid === 0 || p.pgid !== pgid || p.state === 'reaped') continue;
    n++;
    psignal(k, p, sig);
  }
  return n;
}

/**
 * The synchronous half of delivery: discard ignored signals, stop the
 * process for default-stop ones, and for the rest (handlers, termination)
 * interrupt sleepers and schedule the delivery upcall. Call after anything
 * that may make a pending signal deliverable (posting, unblocking, SIGCONT).
 */
export function issig(k: Kernel, p: Proc): void {
  const s = p.sig;
  if (p.state !== 'alive') return;
  let upcall = false;
  let set = s.pending & ~s.mask & ~s.waiting;
  while (set !== 0n) {
    const sig = lowest(set);
    const bit = sigbit(sig);
    set &= ~bit;
    if (sig === SIGKILL) {
      upcall = true;
      continue;
    }
    if (s.stopped) continue; // only SIGKILL/SIGCONT act on a stopped process
    if (ignored(p, sig)) {
      s.pending &= ~bit;
      continue;
    }
    if (s.actions[sig]!.handler === 0 && sigDefault(sig) === 'stop') {
      s.pending &= ~bit;
      stopProc(k, p, sig);
      continue;
    }
    upcall = true;
  }
  if (!upcall) return;
  const restart = restartable(p);
  for (const td of [...p.sleeping]) if (td.interrupt()) s.restartFor.set(td, restart);
  s.waitq.wakeup(k);
  // A sigsuspend in progress takes the signal itself once woken (so that it
  // can wait for the handler); otherwise the upcall does.
  if (!s.deliveryScheduled && s.suspendSaved === null) {
    s.deliveryScheduled = true;
    k.hyper.schedule(() => {
      s.deliveryScheduled = false;
      deliver(k, p);
    });
  }
}

/** Would every deliverable signal run a handler installed with SA_RESTART? */
function restartable(p: Proc): boolean {
  const s = p.sig;
  let set = s.pending & ~s.mask & ~s.waiting;
  if (set === 0n || s.stopped) return false;
  while (set !== 0n) {
    const sig = lowest(set);
    set &= ~sigbit(sig);
    const a = s.actions[sig]!;
    if (typeof a.handler !== 'function' || (a.flags & SA_RESTART) === 0) return false;
  }
  return true;
}

/**
 * SA_RESTART for slow system calls (signal(7) "Interruption of system calls
 * and library functions by signal handlers"). A call whose interruptible
 * sleep ended with 'intr' asks here what to do:
 *
 *     if (why === 'intr') { if (await sigRestart(td)) continue; throw err(EINTR); }
 *
 * When every signal that interrupted it has a handler installed with
 * SA_RESTART, the handlers run now (before the call goes on, as on Linux)
 * and the answer is true: restart the wait. Otherwise false: the call fails
 * with EINTR and the signals are delivered as usual. Calls that Linux never
 * restarts (sigsuspend, poll/select, nanosleep, sigtimedwait...) must not ask.
 */
export async function sigRestart(td: Lwp): Promise<boolean> {
  const p = td.proc, s = p.sig;
  const recorded = s.restartFor.get(td);
  s.restartFor.delete(td);
  const ok = recorded ?? restartable(p);
  if (!ok || p.state !== 'alive') return false;
  await Promise.all(deliver(td.k, p));
  return p.state === 'alive';
}

/**
 * Take the action of every deliverable signal (the upcall). Returns the
 * completion promises of the handlers it started (sigsuspend waits on them).
 */
export function deliver(k: Kernel, p: Proc): Promise<void>[] {
  const s = p.sig;
  const started: Promise<void>[] = [];
  // Each signal is taken at most once per pass: a handler that re-raises its
  // own signal (SA_NODEFER) gets it in the next upcall, not in a loop here.
  let taken = 0n;
  for (;;) {
    if (p.state !== 'alive') return started;
    let set = s.pending & ~s.mask & ~s.waiting & ~taken;
    if (s.stopped) set &= sigbit(SIGKILL);
    if (set === 0n) return started;
    const sig = (set & sigbit(SIGKILL)) !== 0n ? SIGKILL : lowest(set);
    const bit = sigbit(sig);
    taken |= bit;
    s.pending &= ~bit;
    const act = s.actions[sig]!;
    const h = act.handler;
    if (typeof h === 'function') {
      ktraceNote(k, p, `--- ${sigName(sig)} (caught) ---`);
      started.push(runHandler(k, p, sig, h, act.mask, act.flags));
      continue;
    }
    if (h === SIG_UPCALL) {
      ktraceNote(k, p, `--- ${sigName(sig)} (caught) ---`);
      pushFrame(p, sig, act.mask, act.flags);
      s.upcalls.push(sig);
      s.onUpcall?.();
      continue;
    }
    if (h === SIG_IGN) continue;
    const d = sigDefault(sig);
    if (d === 'ign' || d === 'cont') continue;
    if (d === 'stop') {
      stopProc(k, p, sig);
      continue;
    }
    ktraceNote(k, p, `+++ killed by ${sigName(sig)}${d === 'core' ? ' (core dumped)' : ''} +++`);
    terminate(k, p, wSignaled(sig, d === 'core'));
    return started;
  }
}

/**
 * Enter a handler: push its frame and set the mask it runs under. sigaction(2):
 * the handler runs with sa_mask and (unless SA_NODEFER) the signal itself
 * added to the mask; SA_RESETHAND resets the action first.
 */
function pushFrame(p: Proc, sig: number, actMask: bigint, flags: number): SigFrame {
  const s = p.sig;
  let restoreMask = s.mask;
  if (s.suspendSaved !== null) {
    restoreMask = s.suspendSaved; // sigsuspend(2): the old mask returns after the handler
    s.suspendSaved = null;
  }
  const frame: SigFrame = { sig, restoreMask, done: false };
  s.frames.push(frame);
  s.mask = (s.mask | actMask | ((flags & SA_NODEFER) !== 0 ? 0n : sigbit(sig))) & ~SIG_UNBLOCKABLE;
  if ((flags & SA_RESETHAND) !== 0) s.actions[sig] = { handler: 0, mask: 0n, flags: 0 };
  return frame;
}

/** A handler returned (sigreturn): pop every finished frame from the top, restoring its mask. */
export function finishFrame(k: Kernel, p: Proc, frame: SigFrame): void {
  const s = p.sig;
  frame.done = true;
  while (s.frames.length > 0 && s.frames[s.frames.length - 1]!.done) s.mask = s.frames.pop()!.restoreMask;
  issig(k, p);
}

/** Run one library handler as a signal frame; the mask is restored in stack order. */
function runHandler(k: Kernel, p: Proc, sig: number, fn: (sig: number) => void | Promise<void>, actMask: bigint, flags: number): Promise<void> {
  const frame = pushFrame(p, sig, actMask, flags);
  const finish = (): void => finishFrame(k, p, frame);
  const fail = (e: unknown): void => {
    k.log('err', `pid ${p.pid}: handler for signal ${sig} threw: ${e instanceof Error ? e.message : String(e)}`);
  };
  try {
    const r = fn(sig);
    if (r instanceof Promise) return r.then(finish, (e: unknown) => { fail(e); finish(); });
  } catch (e) {
    fail(e);
  }
  finish();
  return Promise.resolve();
}

function terminate(k: Kernel, p: Proc, status: number): void {
  k.exitProc(p, status).catch((e: unknown) => {
    k.log('err', `pid ${p.pid}: exit after signal failed: ${e instanceof Error ? e.message : String(e)}`);
  });
}

/** Notify the parent of a stop/continue (SIGCHLD unless SA_NOCLDSTOP, and wake wait4). */
function notifyParent(k: Kernel, p: Proc): void {
  const parent = p.parent;
  if (parent === null || parent.pid === 0) return;
  if ((parent.sig.actions[SIGCHLD]!.flags & SA_NOCLDSTOP) === 0) psignal(k, parent, SIGCHLD);
  parent.childq.wakeup(k);
}

function stopProc(k: Kernel, p: Proc, sig: number): void {
  const s = p.sig;
  if (s.stopped) return;
  s.stopped = true;
  s.report = sig;
  ktraceNote(k, p, `--- stopped by ${sigName(sig)} ---`);
  notifyParent(k, p);
}

function continueProc(k: Kernel, p: Proc): void {
  const s = p.sig;
  s.stopped = false;
  s.report = 'cont';
  ktraceNote(k, p, '--- continued by SIGCONT ---');
  for (const w of s.contWaiters.splice(0)) k.hyper.schedule(w);
  notifyParent(k, p);
  // Signals that arrived while stopped are taken now (issig runs in psignal after this).
}

/**
 * Exit-side signal work, called by Kernel.exitProc once the process is a
 * zombie and its children have been handed to init: cancel alarm(2), release
 * callers parked on a stop, post SIGCHLD to the parent, and auto-reap the
 * zombie when the parent ignores SIGCHLD or set SA_NOCLDWAIT (wait(2) NOTES:
 * the child leaves no zombie; a later wait4 fails with ECHILD).
 */
export function sigExit(k: Kernel, p: Proc): void {
  const s = p.sig;
  s.alarm?.stop(k);
  s.alarm = null;
  s.stopped = false;
  for (const w of s.contWaiters.splice(0)) k.hyper.schedule(w);
  const parent = p.parent;
  // At halt every process exits; nobody is left to be told.
  if (k.shuttingDown || parent === null || parent.pid === 0 || parent.state !== 'alive') return;
  const act = parent.sig.actions[SIGCHLD]!;
  if (act.handler === SIG_IGN || (act.flags & SA_NOCLDWAIT) !== 0) k.reap(p);
  psignal(k, parent, SIGCHLD);
}
