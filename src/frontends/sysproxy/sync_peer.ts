/**
 * The kernel side of a synchronous exchange (sab.ts): serves one SyncClient
 * over a SharedArrayBuffer with Atomics.waitAsync, so the serving thread's
 * event loop keeps running, as one connection of a SysproxyService. Used by
 * the worker transport (worker-host.ts) and by the monolithic frontend,
 * whose user processes each call the kernel through one of these.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Proc } from '../../kern/index.ts';
import type { SysproxyService, ServerConn } from './service.ts';
import { Writer, parseFrame } from './protocol.ts';
import { SLEEP_CLIENT, SabArea, S_BUSY, S_CLOSED, S_IDLE, S_MOVED, S_NEED, S_REQ, S_RESP, type GrowMessage } from './sab.ts';

// Atomics.waitAsync (Node ≥ 16) is missing from the es2023 lib typings.
declare global {
  interface Atomics {
    waitAsync(a: Int32Array, index: number, value: number, timeout?: number): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
  }
}

export const DEFAULT_SYNC_SPIN_US = 50;
/** Requests up to this many bytes are copied out of the exchange byte by byte. */
const SMALL_COPY = 512;

/** Serve one synchronous client over a SharedArrayBuffer exchange. */
export class SyncPeer {
  private area: SabArea;
  private readonly conn: ServerConn;
  private readonly svc: SysproxyService;
  /** The request being served, copied out of the exchange (reused: its values are decoded before receive() returns). */
  private request = new Uint8Array(256);
  /** A reply waiting for a bigger buffer. */
  private pendingOut: Uint8Array | null = null;
  private closed = false;
  /** Resolves the loop's wait for the reply to the request being served. */
  private replied: (() => void) | null = null;
  /** How long to poll for the client's next request after a reply (ms; 0: never). */
  private readonly spinMs: number;

  /**
   * `adopt`: serve this existing process instead of creating one at HELLO
   * (the monolithic frontend's user processes; see service.ts accept()).
   */
  constructor(svc: SysproxyService, sab: SharedArrayBuffer, port: MessagePort, spinUs: number, adopt?: Proc) {
    this.svc = svc;
    this.area = new SabArea(sab);
    this.spinMs = spinUs / 1000;
    this.conn = svc.accept({
      send: (frames) => this.reply(frames),
      send1: (frame) => this.reply1(frame),
      // While a request is served the data area is ours: build the reply there and publish only its length.
      replyWriter: (size) => new Writer(size <= this.area.capacity ? this.area.buf : size, true),
      sendWriter: (w) => {
        if (w.buf === this.area.buf) {
          this.publish(w.pos);
          this.wake();
        } else this.reply1(w.done()); // it outgrew the area
      },
      close: () => {
        this.closed = true;
        this.area.markClosed();
        this.wake();
      },
    }, adopt ? `pid ${adopt.pid}` : 'sync', adopt ? { inlineAll: true, adopt } : { inlineAll: true });
    port.on('message', (m: GrowMessage) => {
      if (m?.type !== 'grow' || !(m.sab instanceof SharedArrayBuffer)) return;
      const old = this.area;
      this.area = new SabArea(m.sab);
      if (this.closed) this.area.markClosed();
      if (this.pendingOut !== null) {
        const out = this.pendingOut;
        this.pendingOut = null;
        this.write(out);
      }
      old.setState(S_MOVED); // wakes the loop's wait on the old buffer
    });
    port.on('close', () => this.shut('port closed'));
    void this.loop();
  }

  /** End the exchange from the kernel's side (the process's image is gone). */
  close(reason: string): void {
    this.shut(reason);
  }

  private shut(reason: string): void {
    this.closed = true;
    this.conn.lost(reason);
    this.area.markClosed();
    this.wake();
  }

  private wake(): void {
    const r = this.replied;
    this.replied = null;
    r?.();
  }

  private write(frame: Uint8Array): void {
    this.area.data.set(frame);
    this.publish(frame.byteLength);
  }

  /** The reply (`len` bytes) is in the data area: hand it to the client. */
  private publish(len: number): void {
    const a = this.area;
    Atomics.store(a.ctl, 1, len);
    Atomics.store(a.ctl, 0, S_RESP);
    a.wakePeer(SLEEP_CLIENT); // no futex wake for a client that is polling
  }

  private reply(frames: Uint8Array[]): void {
    // inlineAll: one frame per request (REPLY, ERROR, WELCOME or FATAL).
    let frame = frames[0]!;
    if (frames.length > 1) {
      const n = frames.reduce((s, f) => s + f.byteLength, 0);
      frame = new Uint8Array(n);
      let o = 0;
      for (const f of frames) { frame.set(f, o); o += f.byteLength; }
    }
    this.reply1(frame);
  }

  private reply1(frame: Uint8Array): void {
    const a = this.area;
    if (frame.byteLength > a.capacity) {
      this.pendingOut = frame;
      Atomics.store(a.ctl, 1, frame.byteLength);
      a.setState(S_NEED);
    } else this.write(frame);
    this.wake();
  }

  /**
   * Poll briefly for the client's next request: a sync client usually sends
   * it within microseconds of reading a reply, and catching it here saves
   * the Atomics.waitAsync wake-up (a task posted to this thread's event
   * loop). Bounded by spinMs, during which this thread's other connections
   * wait; returns as soon as the state leaves RESP/IDLE.
   */
  private spin(a: SabArea): void {
    if (this.spinMs <= 0) return;
    const end = performance.now() + this.spinMs;
    for (let i = 1; ; i++) {
      const s = Atomics.load(a.ctl, 0);
      if (s !== S_RESP && s !== S_IDLE) return;
      if ((i & 63) === 0 && performance.now() > end) return;
    }
  }

  private async loop(): Promise<void> {
    for (;;) {
      const a = this.area;
      const s = a.state();
      if (s === S_REQ) {
        if (this.closed || this.svc.halted) {
          this.shut('closed');
          return;
        }
        const len = Math.min(Atomics.load(a.ctl, 1), a.capacity);
        // Copy the request out before parsing it: the client's thread could change shared bytes under the parser.
        let req = this.request;
        if (req.byteLength < len) req = this.request = new Uint8Array(Math.max(len, req.byteLength * 2));
        const d = a.data;
        // A small request is copied by a loop: a set() needs a subarray view, which costs more.
        if (len <= SMALL_COPY) for (let i = 0; i < len; i++) req[i] = d[i]!;
        else req.set(d.subarray(0, len));
        Atomics.store(a.ctl, 0, S_BUSY);
        // Wait for the reply itself (reply1 resolves this), not for our own notify.
        const replied = new Promise<void>((r) => { this.replied = r; });
        try {
          this.conn.receive(parseFrame(req, Infinity, len));
        } catch (e) {
          this.conn.protocolError(e);
        }
        if (this.replied !== null) await replied;
        if (this.request.byteLength > 1 << 20) this.request = new Uint8Array(256); // do not keep a huge one
        if (this.closed) return;
        if (this.area === a) this.spin(a);
        continue;
      }
      if (s === S_CLOSED) return;
      if (s === S_MOVED) continue; // this.area was replaced
      // Say we sleep before sleeping, so the client's REQ notifies us (sab.ts).
      if (!a.parkServer(s)) continue;
      const r = Atomics.waitAsync(a.ctl, 0, s);
      if (r.async) await r.value;
      a.unparkServer();
    }
  }
}
