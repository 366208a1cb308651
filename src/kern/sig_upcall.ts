/**
 * Signal handlers that run in a process image outside the kernel (a user
 * program in a worker thread), delivered at system-call boundaries.
 *
 * A handler installed as SIG_UPCALL (sig.ts) is entered by the kernel as any
 * handler is — its frame pushed, the mask set (sig_post.ts pushFrame) — and
 * queued on `SigState.upcalls`; the runner is told through `onUpcall` and
 * flags the process. When the image's current system call returns (an
 * interrupted sleep returns EINTR), its C library sees the flag, takes the
 * queue with `sigtake`, runs each handler and calls `rt_sigreturn` once per
 * handler, which pops the frame and restores the mask (sigreturn(2)).
 * SA_RESTART is the library's business: it repeats a call that failed with
 * EINTR when every handler it ran had the flag.
 *
 * A process that never makes a system call never runs its handlers; default
 * actions (termination, stop) need no cooperation and act at once.
 */
import { EINVAL, err } from './errno.ts';
import { defineSyscall } from './syscall.ts';
import { finishFrame } from './sig_post.ts';
import type { Lwp } from './sched.ts';

/** Take the signals whose handlers the image must run now, oldest first. */
function sigtake(td: Lwp): number[] {
  return td.proc.sig.upcalls.splice(0);
}

/** rt_sigreturn(2): the innermost running handler has returned. */
function sigreturn(td: Lwp): number {
  const s = td.proc.sig;
  for (let i = s.frames.length - 1; i >= 0; i--) {
    const f = s.frames[i]!;
    if (!f.done) {
      finishFrame(td.k, td.proc, f);
      return 0;
    }
  }
  throw err(EINVAL); // no handler is running
}

export const sigUpcallSyscalls = [
  defineSyscall('sigtake', -1, [], sigtake),
  defineSyscall('rt_sigreturn', 15, [], sigreturn),
] as const;
