/**
 * `anykernel/kern`: the kernel's own primitives, for people who test or
 * teach kernel logic — a bare `Kernel` on a host (a SimHost makes it
 * deterministic), kernel threads, sleep/wakeup, locks with lockdep order
 * checking, callouts, ktrace, and the hypercall trace/record/fault wrappers.
 * Loads no `node:*` module. See src/kern/README.md for the rules the
 * primitives keep (one virtual CPU, what may await, lock order).
 */
export { Kernel, PID_MAX, type KThread, type LeakReport, type LeakCheck } from '../kern/kernel.ts';
export { Lwp, Sleeper, WaitQueue, sleepOn, yieldCpu, type SleepOpts, type WakeReason } from '../kern/sched.ts';
export { Mutex, RwLock, CondVar, Semaphore, SEM_VALUE_MAX, LockClass, type LockOpts, type LockGuard } from '../kern/lock.ts';
export { Lockdep, formatSite, threadName, type LockdepEdge, type LockdepReport, type LockdepReportKind, type HeldMode } from '../kern/lockdep.ts';
export { LOCK_ORDER } from '../kern/lock_order.ts';
export { Callout } from '../kern/callout.ts';
export { Ktrace, formatKtrace, type KtraceRecord } from '../kern/ktrace.ts';
export { Proc, Cred, type ProcState } from '../kern/proc.ts';
export { Phase, type Component } from '../kern/component.ts';
export { KernelError, errno, errnoName, strerror } from '../kern/errno.ts';
export {
  withFaults, withTrace, withRecord, Thrown, HYPERCALL_NAMES,
  type HypercallName, type TraceSink, type RecordEntry, type FaultRules,
} from '../hyper/wrap.ts';
export type { Hypercalls } from '../hyper/types.ts';
