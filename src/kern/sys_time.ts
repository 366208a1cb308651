/**
 * Time system calls: clock_gettime/clock_getres/gettimeofday/time read the
 * hypercall clocks; nanosleep/clock_nanosleep sleep on a private WaitQueue
 * with a timeout, interruptible by signals (EINTR with the time remaining).
 */
import { EFAULT, EINTR, EINVAL, err } from './errno.ts';
import {
  CLOCK_BOOTTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC_RAW, CLOCK_PROCESS_CPUTIME_ID,
  CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_THREAD_CPUTIME_ID, TIMER_ABSTIME,
} from './constants.ts';
import { defineSyscall } from './syscall.ts';
import { WaitQueue, type Lwp } from './sched.ts';
import type { Timespec } from './file.ts';
import type { Kernel } from './kernel.ts';

export function nsToTimespec(ns: bigint): Timespec {
  const sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  let s = sec;
  if (nsec < 0n) {
    nsec += 1_000_000_000n;
    s -= 1n;
  }
  return { sec: Number(s), nsec: Number(nsec) };
}

/** Validate a user timespec (EFAULT if not an object, EINVAL if out of range). */
export function timespecToNs(ts: unknown): bigint {
  if (typeof ts !== 'object' || ts === null) throw err(EFAULT);
  const { sec, nsec } = ts as { sec?: unknown; nsec?: unknown };
  if (typeof sec !== 'number' || typeof nsec !== 'number' || !Number.isInteger(sec) || !Number.isInteger(nsec)) throw err(EINVAL);
  if (nsec < 0 || nsec > 999_999_999 || sec < 0) throw err(EINVAL);
  return BigInt(sec) * 1_000_000_000n + BigInt(nsec);
}

export function clockRead(k: Kernel, clock: number): bigint {
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
      return k.hyper.clockRealtime();
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
      return k.hyper.clockMonotonic();
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
      // No per-process CPU accounting in a cooperative kernel: report uptime.
      return k.uptimeNs();
    default:
      throw err(EINVAL);
  }
}

/** Sleep td until the monotonic/realtime deadline; EINTR on a signal (remaining returned in the error). */
async function sleepUntil(td: Lwp, clock: number, deadlineNs: bigint): Promise<void> {
  const wq = new WaitQueue('nanosleep');
  for (;;) {
    const now = clockRead(td.k, clock);
    if (now >= deadlineNs) return;
    const why = await wq.sleep(td, { intr: true, timeoutNs: deadlineNs - now });
    if (why === 'intr') {
      const e = err(EINTR);
      (e as unknown as { remaining: Timespec }).remaining = nsToTimespec(deadlineNs - clockRead(td.k, clock));
      throw e;
    }
  }
}

export const timeSyscalls = [
  defineSyscall('clock_gettime', 228, ['int'], (td, clock: number): Timespec => nsToTimespec(clockRead(td.k, clock))),
  defineSyscall('clock_getres', 229, ['int'], (td, clock: number): Timespec => {
    clockRead(td.k, clock);
    return { sec: 0, nsec: 1 };
  }),
  defineSyscall('gettimeofday', 96, [], (td): { sec: number; usec: number } => {
    const t = nsToTimespec(td.k.hyper.clockRealtime());
    return { sec: t.sec, usec: Math.floor(t.nsec / 1000) };
  }),
  defineSyscall('time', 201, [], (td) => nsToTimespec(td.k.hyper.clockRealtime()).sec),
  defineSyscall('nanosleep', 35, ['obj'], async (td, req: Timespec) => {
    const ns = timespecToNs(req);
    await sleepUntil(td, CLOCK_MONOTONIC, td.k.hyper.clockMonotonic() + ns);
    return 0;
  }),
  defineSyscall('clock_nanosleep', 230, ['int', 'int', 'obj'], async (td, clock: number, flags: number, req: Timespec) => {
    const ns = timespecToNs(req);
    if (clock === CLOCK_THREAD_CPUTIME_ID) throw err(EINVAL);
    if ((flags & ~TIMER_ABSTIME) !== 0) throw err(EINVAL);
    const base = (flags & TIMER_ABSTIME) !== 0 ? 0n : clockRead(td.k, clock);
    await sleepUntil(td, clock, base + ns);
    return 0;
  }),
] as const;
