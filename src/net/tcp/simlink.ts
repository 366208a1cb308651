/**
 * A deterministic two-host link for testing the TCP engine alone: two
 * TcpStacks whose segments are emitted to bytes, impaired (seeded loss,
 * duplication, corruption, delay with jitter that reorders), parsed back with
 * their checksum, and delivered on a virtual clock. Timers are events on the
 * same clock. Every delivered frame feeds a trace hash, so the same seed must
 * give the same hash.
 *
 * Test support only: the kernel does not use it.
 */
import { emitTcp, parseTcp, type TcpSegment } from '../wire/tcp.ts';
import { TcpStack } from './stack.ts';
import type { Tcb, TcpConfig, TcpHost } from './tcb.ts';

/** xorshift128+ style PRNG from a 32-bit seed (splitmix32 to spread the seed). */
export class SimRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }
  /** xoshiro128** */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export interface LinkImpairment {
  /** Probability a frame is lost. */
  loss: number;
  /** Probability a frame is delivered twice. */
  dup: number;
  /** Probability one byte of a frame is flipped (the checksum must catch it). */
  corrupt: number;
  /** One-way delay in ms and uniform extra jitter (jitter reorders frames). */
  delayMs: number;
  jitterMs: number;
}

export const CLEAN_LINK: LinkImpairment = { loss: 0, dup: 0, corrupt: 0, delayMs: 1, jitterMs: 0 };

interface Ev {
  at: number;
  n: number;
  fn: () => void;
}

/** A binary heap of events ordered by (time, insertion number). */
class EventQueue {
  private h: Ev[] = [];
  private n = 0;
  push(at: number, fn: () => void): void {
    const e: Ev = { at, n: this.n++, fn };
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, e)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }
  pop(): Ev | undefined {
    const h = this.h;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && less(h[r]!, h[l]!) ? r : l;
        if (less(last, h[c]!)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
  get size(): number {
    return this.h.length;
  }
}

function less(a: Ev, b: Ev): boolean {
  return a.at < b.at || (a.at === b.at && a.n < b.n);
}

export const ADDR_A = 0x0a000001;
export const ADDR_B = 0x0a000002;

/** One end of the link. */
export interface SimEnd {
  stack: TcpStack;
  addr: number;
}

/** Two stacks on one impaired link, driven by a virtual clock. */
export class SimLink {
  now = 0;
  readonly rng: SimRng;
  readonly a: SimEnd;
  readonly b: SimEnd;
  impair: LinkImpairment;
  private readonly q = new EventQueue();
  private readonly armed = new Map<Tcb, number>();
  /** FNV-1a over every frame put on the wire (time, direction, bytes). */
  traceHash = 0x811c9dc5;
  frames = 0;
  /** Drop this frame (after onSegment, before the random impairments): targeted losses in tests. */
  dropIf: ((from: number, seg: TcpSegment) => boolean) | null = null;
  /** Called with every segment a stack sends (before impairment). */
  onSegment: ((from: number, to: number, seg: TcpSegment) => void) | null = null;
  mtu = 1500;

  constructor(seed: number, impair: LinkImpairment, cfg: Partial<TcpConfig> = {}) {
    this.rng = new SimRng(seed);
    this.impair = impair;
    this.a = { addr: ADDR_A, stack: new TcpStack(this.host(ADDR_A), cfg) };
    this.b = { addr: ADDR_B, stack: new TcpStack(this.host(ADDR_B), cfg) };
  }

  private host(self: number): TcpHost {
    return {
      now: () => this.now,
      random32: () => this.rng.u32(),
      output: (src, dst, seg) => this.transmit(src, dst, seg),
      timer: (tcb, at) => this.setTimer(self, tcb, at),
      routeMss: () => this.mtu - 40,
    };
  }

  private stackFor(addr: number): TcpStack {
    return addr === ADDR_A ? this.a.stack : this.b.stack;
  }

  private setTimer(self: number, tcb: Tcb, at: number): void {
    if (at === Infinity) {
      this.armed.delete(tcb);
      return;
    }
    this.armed.set(tcb, at);
    this.q.push(Math.max(at, this.now), () => {
      if (this.armed.get(tcb) !== at) return; // superseded
      this.armed.delete(tcb);
      this.stackFor(self).timer(tcb);
    });
  }

  private transmit(src: number, dst: number, seg: TcpSegment): void {
    this.onSegment?.(src, dst, seg);
    const bytes = emitTcp(seg, src, dst);
    let h = this.traceHash;
    h = Math.imul(h ^ (src & 0xff), 0x01000193);
    h = Math.imul(h ^ Math.floor(this.now), 0x01000193);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    this.traceHash = h >>> 0;
    this.frames++;
    if (this.dropIf?.(src, seg) === true) return;
    const im = this.impair;
    if (this.rng.float() < im.loss) return;
    const copies = this.rng.float() < im.dup ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const frame = c === 0 ? bytes : bytes.slice();
      if (this.rng.float() < im.corrupt) frame[this.rng.int(frame.length)] ^= 1 << this.rng.int(8);
      const at = this.now + im.delayMs + this.rng.float() * im.jitterMs;
      this.q.push(at, () => {
        const p = parseTcp(frame, src, dst);
        if (typeof p === 'string') return; // bad checksum or malformed: dropped
        this.stackFor(dst).input(src, dst, p);
      });
    }
  }

  /** Run events until `done()` holds or the queue empties; false if `maxEvents` ran out. */
  run(done: () => boolean, maxEvents = 2_000_000): boolean {
    for (let i = 0; i < maxEvents; i++) {
      if (done()) return true;
      const e = this.q.pop();
      if (e === undefined) return done();
      if (e.at > this.now) this.now = e.at;
      e.fn();
    }
    return done();
  }

  /** Schedule fn at now + dt. */
  at(dt: number, fn: () => void): void {
    this.q.push(this.now + dt, fn);
  }

  get pending(): number {
    return this.q.size;
  }
}
