/**
 * Threads (LWPs) and sleep/wakeup: the only way a kernel thread waits.
 *
 * One kernel is one virtual CPU. A kernel thread is an async function; it runs
 * until it awaits, and every await in kernel code is on a kernel primitive
 * built from this file (or a hypercall). The classic pattern, as in xv6's
 * sleep()/wakeup() and BSD's tsleep():
 *
 *     while (!condition) {
 *       const why = await sleepq.sleep(td, { intr: true, timeoutNs });
 *       if (why === 'intr') throw err(EINTR);
 *       if (why === 'timeout') ...;
 *     }
 *
 * Wakeups may be spurious, so the condition is always rechecked. A woken
 * thread does not run inside wakeup(): it is made runnable through the
 * `schedule` hypercall, so the host chooses the order in which runnable
 * threads get the CPU (FIFO on node, seeded on sim), which is what lets a
 * simulation explore interleavings.
 *
 * Lifecycle of an Lwp: created per system call for library callers (cheap: it
 * is a small object) or by kthreadCreate for kernel threads; it may sleep on
 * one or more WaitQueues at a time (poll sleeps on many); a signal posted to
 * its process interrupts an interruptible sleep; it ends when its function
 * returns.
 */
import type { Kernel } from './kernel.ts';
import type { Proc } from './proc.ts';
import type { HeldStack } from './lockdep.ts';

export type WakeReason = 'woken' | 'timeout' | 'intr';

/** One sleeping thread's registration (may sit on several queues). */
export class Sleeper {
  readonly td: Lwp;
  readonly queues: WaitQueue[];
  readonly resolve: (why: WakeReason) => void;
  readonly intr: boolean;
  timer = 0;
  done = false;

  constructor(td: Lwp, queues: WaitQueue[], intr: boolean, resolve: (why: WakeReason) => void) {
    this.td = td;
    this.queues = queues;
    this.intr = intr;
    this.resolve = resolve;
  }

  /** Detach from every queue and the timer, then make the thread runnable. */
  finish(k: Kernel, why: WakeReason): void {
    if (this.done) return;
    this.done = true;
    for (const q of this.queues) q.waiters.delete(this);
    if (this.timer !== 0) k.hyper.timerCancel(this.timer);
    this.td.sleeper = null;
    const resolve = this.resolve;
    k.hyper.schedule(() => resolve(why));
  }
}

/**
 * A wait channel. Kernel objects that threads wait on (a pipe's buffer, a
 * lock, a child's exit) own one WaitQueue per condition.
 * @guardedBy the single virtual CPU (no await between check and sleep)
 */
export class WaitQueue {
  readonly name: string;
  readonly waiters = new Set<Sleeper>();

  constructor(name: string) {
    this.name = name;
  }

  get size(): number {
    return this.waiters.size;
  }

  /** Sleep td on this queue. */
  sleep(td: Lwp, opts?: SleepOpts): Promise<WakeReason> {
    return sleepOn(td, [this], opts);
  }

  /** Wake every sleeper (they recheck their conditions). Returns how many. */
  wakeup(k: Kernel): number {
    const n = this.waiters.size;
    if (n === 0) return 0;
    for (const s of [...this.waiters]) s.finish(k, 'woken');
    return n;
  }

  /** Wake the oldest sleeper only. */
  wakeupOne(k: Kernel): boolean {
    for (const s of this.waiters) {
      s.finish(k, 'woken');
      return true;
    }
    return false;
  }
}

export interface SleepOpts {
  /** A signal to the thread's process ends the sleep with 'intr'. */
  intr?: boolean;
  /** Relative timeout in nanoseconds (ends the sleep with 'timeout'). */
  timeoutNs?: bigint;
}

/** Sleep on several queues at once (poll/select); first wakeup wins. */
export function sleepOn(td: Lwp, queues: WaitQueue[], opts?: SleepOpts): Promise<WakeReason> {
  const k = td.k;
  const intr = opts?.intr ?? false;
  if (td.sleeper !== null) k.panic(`lwp ${td.tid} sleeping twice`);
  if (intr && td.proc !== null && td.proc.sig.hasDeliverable()) return Promise.resolve('intr');
  return new Promise<WakeReason>((resolve) => {
    const s = new Sleeper(td, queues, intr, resolve);
    for (const q of queues) q.waiters.add(s);
    td.sleeper = s;
    if (opts?.timeoutNs !== undefined) {
      const deadline = k.hyper.clockMonotonic() + (opts.timeoutNs > 0n ? opts.timeoutNs : 0n);
      s.timer = k.hyper.timerStart(deadline, () => {
        s.timer = 0;
        s.finish(k, 'timeout');
      });
    }
    if (td.proc !== null) td.proc.sleeping.add(td);
  }).finally(() => {
    if (td.proc !== null) td.proc.sleeping.delete(td);
  }) as Promise<WakeReason>;
}

/**
 * A light-weight process: the kernel's thread of control. Library callers
 * get one per system call, bound to the process they act as; kernel threads
 * have proc = the kernel's proc0.
 */
export class Lwp {
  readonly k: Kernel;
  readonly proc: Proc;
  readonly tid: number;
  /** The sleep this thread is in, if any. */
  sleeper: Sleeper | null = null;
  /** Name for ps/dmesg (kernel threads), or the syscall being run. */
  name: string;
  /**
   * The locks this thread holds, as lockdep records them (lockdep.ts); null
   * while it holds none or lockdep is off. @guardedBy the single virtual CPU
   */
  held: HeldStack | null = null;

  constructor(k: Kernel, proc: Proc, name: string) {
    this.k = k;
    this.proc = proc;
    this.tid = proc.pid;
    this.name = name;
  }

  /** Interrupt an interruptible sleep (signal delivery). */
  interrupt(): boolean {
    const s = this.sleeper;
    if (s === null || !s.intr) return false;
    s.finish(this.k, 'intr');
    return true;
  }
}

/**
 * Give up the CPU: let every other runnable thread run, then continue
 * (BSD's yield/preempt). Long loops call this to keep the kernel fair.
 */
export function yieldCpu(k: Kernel): Promise<void> {
  return new Promise((resolve) => k.hyper.schedule(resolve));
}
