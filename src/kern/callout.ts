/**
 * Callouts: run a function at a time on the hypercall clock (BSD callout(9),
 * Linux timer_list). The function runs as a kernel upcall, not on any
 * process's thread, so it must not sleep; it usually wakes a WaitQueue.
 *
 * Lifecycle: callout() arms it; it fires once, or `stop()` disarms it
 * (returns false if it already fired). Pending callouts are counted so a
 * leak report can list them.
 */
import type { Kernel } from './kernel.ts';

export class Callout {
  private handle = 0;
  private fired = false;
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  /** Arm to run fn after delayNs (monotonic). Re-arming replaces the earlier deadline. */
  reset(k: Kernel, delayNs: bigint, fn: () => void): void {
    this.stop(k);
    this.fired = false;
    const deadline = k.hyper.clockMonotonic() + (delayNs > 0n ? delayNs : 0n);
    this.handle = k.hyper.timerStart(deadline, () => {
      this.handle = 0;
      this.fired = true;
      fn();
    });
  }

  /** Disarm. True if it was pending (and now will not run). */
  stop(k: Kernel): boolean {
    if (this.handle === 0) return false;
    k.hyper.timerCancel(this.handle);
    this.handle = 0;
    return true;
  }

  get pending(): boolean {
    return this.handle !== 0;
  }

  get hasFired(): boolean {
    return this.fired;
  }
}
