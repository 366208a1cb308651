/**
 * A bounded FIFO of received frames handed to the stack as one scheduled
 * upcall (BSD's ifqueue + netisr): a link keeps its frames in order even on
 * a host whose `schedule` runs tasks in a seeded order, and a burst cannot
 * queue without bound (IFQ_MAXLEN frames; the rest are dropped and counted).
 */
import type { Hypercalls } from '../../hyper/types.ts';

export const IFQ_MAXLEN = 1024;
/** Frames handled per upcall before yielding to other runnable work. */
const IFQ_BATCH = 64;

export class IfQueue {
  private q: Uint8Array[] = [];
  private head = 0;
  private scheduled = false;
  drops = 0;
  private readonly hyper: Hypercalls;
  private readonly handle: (frame: Uint8Array) => void;

  constructor(hyper: Hypercalls, handle: (frame: Uint8Array) => void) {
    this.hyper = hyper;
    this.handle = handle;
  }

  get length(): number {
    return this.q.length - this.head;
  }

  /** Queue a frame; false when the queue is full (dropped). */
  enqueue(frame: Uint8Array): boolean {
    if (this.length >= IFQ_MAXLEN) {
      this.drops++;
      return false;
    }
    this.q.push(frame);
    if (!this.scheduled) {
      this.scheduled = true;
      this.hyper.schedule(this.drain);
    }
    return true;
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    let n = 0;
    while (this.head < this.q.length && n++ < IFQ_BATCH) {
      const f = this.q[this.head]!;
      this.q[this.head++] = undefined as unknown as Uint8Array;
      this.handle(f);
    }
    if (this.head >= this.q.length) {
      this.q = [];
      this.head = 0;
    } else if (!this.scheduled) {
      this.scheduled = true;
      this.hyper.schedule(this.drain);
    }
  };
}
