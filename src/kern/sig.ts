/**
 * Signal state of a process (pending set, blocked mask, actions, stop state).
 *
 * Posting and delivery live in sig_post.ts; the system calls in sys_sig.ts.
 * This file holds the per-process state so that proc.ts, sched.ts and the
 * syscall dispatcher can ask "is anything deliverable?" or "is this process
 * stopped?" without importing the delivery machinery.
 *
 * Signal sets are bigints, bit n-1 for signal n (Linux sigset_t, 64 signals).
 * Standard and real-time signals alike coalesce: a second posting of a
 * pending signal is lost (signal(7) "standard signals do not queue"; real-time
 * queueing is not supported).
 *
 * @guardedBy the single virtual CPU: fields change only between awaits.
 */
import type { Proc } from './proc.ts';
import { NSIG, SIGKILL, SIGSTOP } from './constants.ts';
import { WaitQueue, type Lwp } from './sched.ts';
import type { Callout } from './callout.ts';

/** A library caller's handler: called with the signal number. */
export type SigHandlerFn = (sig: number) => void | Promise<void>;

/**
 * The handler value of a process whose image runs outside the kernel (a
 * user program in a worker): delivery queues the signal on `SigState.upcalls`
 * and calls `onUpcall`; the image takes the queue with `sigtake` at its next
 * system-call boundary, runs its own handler and returns with rt_sigreturn
 * (sig_upcall.ts), which restores the mask as sigreturn(2) does.
 */
export const SIG_UPCALL = 2;

export interface SigAction {
  /** SIG_DFL (0), SIG_IGN (1), SIG_UPCALL (2) or a function for library callers. */
  handler: 0 | 1 | 2 | SigHandlerFn;
  /** Signals blocked while the handler runs (bit n-1 for signal n). */
  mask: bigint;
  /** SA_* flags (SA_RESTART, SA_RESETHAND, SA_NODEFER, SA_NOCLDSTOP ...). */
  flags: number;
}

// sigaction(2) flags, Linux x86-64 values (asm-generic/signal-defs.h).
export const SA_NOCLDSTOP = 0x1;
export const SA_NOCLDWAIT = 0x2;
export const SA_SIGINFO = 0x4;
export const SA_ONSTACK = 0x0800_0000;
export const SA_RESTART = 0x1000_0000;
export const SA_NODEFER = 0x4000_0000;
export const SA_RESETHAND = 0x8000_0000;

export const sigbit = (sig: number): bigint => 1n << BigInt(sig - 1);

/** Every valid signal (1..64). */
export const SIGSET_FULL = (1n << 64n) - 1n;
/** SIGKILL and SIGSTOP can never be blocked, caught or ignored (signal(7)). */
export const SIG_UNBLOCKABLE = sigbit(SIGKILL) | sigbit(SIGSTOP);

/** One running handler of a library process (the frame sigreturn would pop). */
export interface SigFrame {
  readonly sig: number;
  /** The mask to restore when this handler returns. */
  readonly restoreMask: bigint;
  done: boolean;
}

export class SigState {
  readonly proc: Proc;
  /** Pending signals, bit n-1 for signal n. */
  pending = 0n;
  /** Blocked signals (sigprocmask). */
  mask = 0n;
  readonly actions: SigAction[];
  /** Signals a sigtimedwait is waiting for: posted ones wake `waitq` instead of being delivered. */
  waiting = 0n;
  /** The sets of the sigtimedwait calls in progress (`waiting` is their union). */
  readonly waitSets: bigint[] = [];
  /** Woken on every posting (sigsuspend, pause, sigtimedwait sleep here). */
  readonly waitq: WaitQueue;
  /** The mask sigsuspend replaced; restored when the handler it let in returns. */
  suspendSaved: bigint | null = null;
  /** Handlers currently running, innermost last. */
  readonly frames: SigFrame[] = [];
  /** SIG_UPCALL signals delivered but not yet taken by the image (sigtake). */
  readonly upcalls: number[] = [];
  /** Told when `upcalls` gains a signal (the image's runner flags its process). */
  onUpcall: (() => void) | null = null;
  /** A delivery upcall is scheduled. */
  deliveryScheduled = false;
  /** Stopped by SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU until SIGCONT. */
  stopped = false;
  /** Callbacks of system calls waiting for SIGCONT (new syscalls of a stopped process). */
  contWaiters: (() => void)[] = [];
  /** State change not yet reported to wait4: the stop signal (WUNTRACED), or 'cont' (WCONTINUED). */
  report: number | 'cont' | 0 = 0;
  /**
   * For SA_RESTART: whether the signals that interrupted a thread's sleep
   * all had SA_RESTART handlers, recorded when issig interrupted it and
   * consumed by sigRestart (sig_post.ts).
   */
  readonly restartFor = new WeakMap<Lwp, boolean>();
  /** ITIMER_REAL (alarm(2), setitimer(2)): its callout, absolute monotonic deadline and reload interval. */
  alarm: Callout | null = null;
  alarmDeadline = 0n;
  alarmInterval = 0n;

  constructor(proc: Proc) {
    this.proc = proc;
    this.actions = [];
    for (let i = 0; i < NSIG; i++) this.actions.push({ handler: 0, mask: 0n, flags: 0 });
    this.waitq = new WaitQueue(`sig:${proc.pid}`);
  }

  /** Is some pending signal not blocked? (Interruptible sleeps end on this.) */
  hasDeliverable(): boolean {
    return (this.pending & ~this.mask & ~this.waiting) !== 0n;
  }

  /**
   * For the syscall dispatcher: a stopped process's new system call waits on
   * this until SIGCONT or SIGKILL (or exit) resumes the process.
   */
  whenContinued(): Promise<void> {
    return new Promise((resolve) => this.contWaiters.push(resolve));
  }

  /** Copy for fork: actions and mask are inherited, pending is cleared (POSIX fork()). */
  copyFrom(parent: SigState): void {
    this.mask = parent.mask;
    for (let i = 0; i < NSIG; i++) {
      const a = parent.actions[i]!;
      this.actions[i] = { handler: a.handler, mask: a.mask, flags: a.flags };
    }
  }
}
