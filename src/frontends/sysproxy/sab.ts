/**
 * The SharedArrayBuffer exchange behind the synchronous client: one request
 * at a time, the caller blocked in Atomics.wait while the kernel's thread
 * serves it.
 *
 * Layout of the SharedArrayBuffer (little-endian Int32 slots, then data):
 *
 *     0   state    IDLE | REQ | BUSY | RESP | NEED | CLOSED | MOVED
 *     4   length   bytes of the frame in the data area (or, with NEED, the size needed)
 *     8   closing  1 once the server side is going away (no new requests)
 *     12  sleepers bit 1: the client sleeps in Atomics.wait; bit 2: the server
 *                  is parked in Atomics.waitAsync (both on `state`)
 *     16  data     one sysproxy frame (protocol.ts), length prefix included
 *
 * Client: writes a frame, length, state=REQ, notify; waits while REQ/BUSY.
 * Server: sees REQ, copies the frame out, state=BUSY, serves it, writes the
 * one reply frame, state=RESP, notify. The client reads the reply and sets
 * IDLE. A reply larger than the data area is announced with NEED (length =
 * bytes needed): the client makes a bigger buffer and posts it on the side
 * MessagePort ('grow'); the server moves over (the old buffer's state becomes
 * MOVED) and writes the reply there. A request larger than the area makes the
 * client grow first. CLOSED: the server side has gone (kernel halted). The
 * client moves IDLE → REQ with compareExchange and checks `closing` first, and
 * the server closes with compareExchange from IDLE or REQ, so a request is
 * never left behind in an exchange nobody serves.
 *
 * Wake-ups: an Atomics.notify costs a futex wake (or, for a waitAsync, a task
 * posted to the other thread's event loop) and is wasted when the peer is
 * polling. So REQ and RESP notify only when the peer said it sleeps. A
 * sleeper sets its bit, *then* re-reads `state` and sleeps only if it is
 * unchanged (Atomics.wait compares it again atomically); the publisher
 * stores `state`, *then* reads the bits. Atomics are sequentially
 * consistent, so either the publisher sees the bit (and notifies) or the
 * sleeper sees the new state (and does not sleep): no wake-up is lost. Rare
 * transitions (NEED, MOVED, CLOSED) always notify.
 */

export const SAB_HEADER = 16;
export const DEFAULT_SAB_DATA = 1024 * 1024;

export const S_IDLE = 0, S_REQ = 1, S_BUSY = 2, S_RESP = 3, S_NEED = 4, S_CLOSED = 5, S_MOVED = 6;
/** Bits of the `sleepers` slot. */
export const SLEEP_CLIENT = 1, SLEEP_SERVER = 2;
const STATE = 0, SLEEPERS = 3;

/** One mapping of an exchange buffer. */
export class SabArea {
  readonly sab: SharedArrayBuffer;
  readonly ctl: Int32Array;
  readonly data: Uint8Array;
  /**
   * The same data area as a Buffer view (not a copy), for a protocol Writer
   * to encode straight into. `data` stays a plain Uint8Array: its subarray()
   * is cheaper on the per-call path.
   */
  readonly buf: Buffer;
  /** A DataView of the data area, for decoding replies in place without making one per call. */
  readonly dv: DataView;

  constructor(sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength <= SAB_HEADER) throw new TypeError('exchange buffer must be a SharedArrayBuffer larger than its header');
    this.sab = sab;
    this.ctl = new Int32Array(sab, 0, 4);
    this.data = new Uint8Array(sab, SAB_HEADER);
    this.buf = Buffer.from(sab, SAB_HEADER);
    this.dv = new DataView(sab, SAB_HEADER);
  }

  static create(dataBytes: number, state = S_IDLE): SabArea {
    const a = new SabArea(new SharedArrayBuffer(SAB_HEADER + dataBytes));
    Atomics.store(a.ctl, 0, state);
    return a;
  }

  get capacity(): number {
    return this.data.byteLength;
  }

  state(): number {
    return Atomics.load(this.ctl, 0);
  }

  /** Set the state and wake whoever waits on it (the rare transitions). */
  setState(s: number): void {
    Atomics.store(this.ctl, STATE, s);
    Atomics.notify(this.ctl, STATE);
  }

  /** After `state` was stored: wake the peer only if it sleeps (`peer`: SLEEP_CLIENT or SLEEP_SERVER). */
  wakePeer(peer: number): void {
    if ((Atomics.load(this.ctl, SLEEPERS) & peer) !== 0) Atomics.notify(this.ctl, STATE);
  }

  /**
   * Client side: sleep while the state is still `s` (at most `timeoutMs`).
   * 'timed-out', or 'ok' (woken, or the state had already changed).
   */
  sleepWhile(s: number, timeoutMs: number): 'ok' | 'timed-out' {
    const c = this.ctl;
    Atomics.or(c, SLEEPERS, SLEEP_CLIENT);
    let r: string = 'ok';
    if (Atomics.load(c, STATE) === s) r = Atomics.wait(c, STATE, s, timeoutMs);
    Atomics.and(c, SLEEPERS, ~SLEEP_CLIENT);
    return r === 'timed-out' ? 'timed-out' : 'ok';
  }

  /** Server side: announce that it is about to park in waitAsync (see sleepWhile); false if the state moved on meanwhile. */
  parkServer(s: number): boolean {
    Atomics.or(this.ctl, SLEEPERS, SLEEP_SERVER);
    if (Atomics.load(this.ctl, STATE) === s) return true;
    this.unparkServer();
    return false;
  }

  unparkServer(): void {
    Atomics.and(this.ctl, SLEEPERS, ~SLEEP_SERVER);
  }

  /** Server side: refuse further requests; fail one already posted. */
  markClosed(): void {
    Atomics.store(this.ctl, 2, 1);
    for (const from of [S_IDLE, S_REQ]) {
      if (Atomics.compareExchange(this.ctl, 0, from, S_CLOSED) === from) {
        Atomics.notify(this.ctl, 0);
        return;
      }
    }
    // RESP (an unread reply, e.g. FATAL) or BUSY: the client sees `closing` on its next call.
  }

  get closing(): boolean {
    return Atomics.load(this.ctl, 2) === 1;
  }
}

/** Messages on the side port of a sync exchange (client → server). */
export interface GrowMessage {
  type: 'grow';
  sab: SharedArrayBuffer;
}
