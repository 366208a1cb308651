/**
 * Signal state of a process (pending set, blocked mask, actions).
 *
 * Posting and delivery live in sig_post.ts; this file holds the per-process
 * state so that proc.ts and sched.ts can ask "is anything deliverable?"
 * without importing the delivery machinery.
 */
import type { Proc } from './proc.ts';
import { NSIG } from './constants.ts';

/** A library caller's handler: called with the signal number. */
export type SigHandlerFn = (sig: number) => void | Promise<void>;

export interface SigAction {
  /** SIG_DFL (0), SIG_IGN (1) or a function for library callers. */
  handler: 0 | 1 | SigHandlerFn;
  /** Signals blocked while the handler runs (bit n-1 for signal n). */
  mask: bigint;
  /** SA_* flags (SA_RESTART, SA_RESETHAND, SA_NODEFER, SA_NOCLDSTOP ...). */
  flags: number;
}

export const sigbit = (sig: number): bigint => 1n << BigInt(sig - 1);

export class SigState {
  readonly proc: Proc;
  /** Pending signals, bit n-1 for signal n. */
  pending = 0n;
  /** Blocked signals (sigprocmask). */
  mask = 0n;
  readonly actions: SigAction[];

  constructor(proc: Proc) {
    this.proc = proc;
    this.actions = [];
    for (let i = 0; i < NSIG; i++) this.actions.push({ handler: 0, mask: 0n, flags: 0 });
  }

  /** Is some pending signal not blocked? (Interruptible sleeps end on this.) */
  hasDeliverable(): boolean {
    return (this.pending & ~this.mask) !== 0n;
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
