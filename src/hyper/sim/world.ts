/**
 * SimWorld: the virtual clock, the event queue and the pump of a simulation.
 *
 * Every upcall a sim host makes (scheduled task, timer expiry, block I/O
 * completion, frame delivery, console input) is an event in one priority queue
 * ordered by (virtual time, seeded tie-break key, insertion sequence). The
 * pump runs ONE event per macrotask (setImmediate — the only real-world
 * primitive the simulation uses), so every microtask the event started — the
 * kernel's async continuations — drains before the next event. Virtual time
 * jumps to an event's time when it is popped; since runnable work (events at
 * the current time) always sorts first, time advances only when the kernel is
 * idle.
 *
 * Several SimHosts can share one world (one clock, one queue, one hash log):
 * that is how two simulated kernels talk over a SimNetwork without their
 * clocks drifting apart.
 */
import { HashLog } from './hashlog.ts';
import { normalizeSeed, splitRng, type Rng } from './rng.ts';

export interface SimEvent {
  readonly time: bigint;
  readonly key: number;
  readonly seq: number;
  readonly fn: () => void;
  /** Name of the host the event belongs to (crash() cancels a host's events). */
  readonly owner: string;
  live: boolean;
}

export interface RunOptions {
  /** Reject when the next event lies beyond this virtual time (absolute ns). */
  limitNs?: bigint | number;
  /** Reject after this many events (catches livelock at one virtual instant). */
  limitSteps?: number;
}

export interface SimWorldOptions {
  seed: number | bigint;
  /** Keep hash-log entries (default true); with false only the running hash is kept. */
  keepLog?: boolean;
}

/** Thrown (as a rejection of run()) when a scenario deadlocks or overruns its limit. */
export class SimStuck extends Error {
  override name = 'SimStuck';
  readonly seed: bigint;
  constructor(msg: string, seed: bigint) { super(msg); this.seed = seed; }
}

function before(a: SimEvent, b: SimEvent): boolean {
  if (a.time !== b.time) return a.time < b.time;
  if (a.key !== b.key) return a.key < b.key;
  return a.seq < b.seq;
}

export class SimWorld {
  readonly seed: bigint;
  readonly log: HashLog;
  private t = 0n;
  private heap: SimEvent[] = [];
  private liveCount = 0;
  /** Cancelled events still in the heap (lazy deletion; compacted when they dominate). */
  private deadCount = 0;
  private seq = 0;
  private steps = 0;
  private readonly sched: Rng;
  private pumpScheduled = false;
  private halted = false;
  /** Host work in flight that the simulation does not model (see outside()); the clock holds while > 0. */
  private outsideCount = 0;
  /** The first fatal failure; `reported` once some run()/idle() waiter was rejected with it. */
  private failure: { err: unknown; reported: boolean } | null = null;
  private idleWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** Called at the start of every pump turn with the next live event (or undefined); true when it settled its run. */
  private observers = new Map<(next: SimEvent | undefined) => boolean, (e: unknown) => void>();
  /** @internal host names registered in this world. */
  readonly hostNames = new Set<string>();

  constructor(opts: SimWorldOptions) {
    this.seed = normalizeSeed(opts.seed);
    this.log = new HashLog(opts.keepLog ?? true);
    this.sched = this.rng('sched');
  }

  /** The seeded generator for subsystem `name`. */
  rng(name: string): Rng { return splitRng(this.seed, name); }

  /** Virtual monotonic time in ns. */
  get now(): bigint { return this.t; }
  /** Events executed so far. */
  get stepCount(): number { return this.steps; }

  /** Queue fn to run as an upcall at `time` (clamped to now), with a seeded tie-break. */
  enqueue(time: bigint, fn: () => void, owner: string): SimEvent {
    const ev: SimEvent = { time: time < this.t ? this.t : time, key: this.sched.next32(), seq: this.seq++, fn, owner, live: true };
    this.push(ev);
    this.liveCount++;
    this.kick();
    return ev;
  }
  cancel(ev: SimEvent): void {
    if (!ev.live) return;
    ev.live = false;
    this.liveCount--;
    // A kernel that re-arms timers forever (callouts, TCP retransmit) must not grow the heap forever.
    if (++this.deadCount > 1024 && this.deadCount > this.liveCount) this.compact();
  }
  private compact(): void {
    this.heap = this.heap.filter((e) => e.live).sort((a, b) => (before(a, b) ? -1 : 1)); // sorted => a valid heap
    this.deadCount = 0;
  }
  /** Entries in the heap, cancelled ones included (for tests of compaction). */
  get heapSize(): number { return this.heap.length; }
  /** Cancel every queued event of one host; returns how many. */
  cancelOwner(owner: string): number {
    let n = 0;
    for (const ev of this.heap) if (ev.live && ev.owner === owner) { this.cancel(ev); n++; }
    return n;
  }

  /** Live events in the queue. */
  pending(): number { return this.liveCount; }

  /** Resolves once the queue is empty and all microtasks have drained. */
  idle(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.err);
    return new Promise((resolve, reject) => {
      this.idleWaiters.push({ resolve, reject });
      this.resume();
    });
  }

  /**
   * Run a scenario to completion under the simulation. Resolves or rejects
   * with the scenario's own outcome; rejects with SimStuck (naming the seed)
   * when the scenario has not settled and the queue empties (deadlock) or the
   * limit passes, and with the failure when an upcall throws or the host panics.
   */
  run<T>(scenario: () => Promise<T> | T, opts: RunOptions = {}): Promise<T> {
    if (this.failure) return Promise.reject(this.failure.err);
    const limitNs = opts.limitNs === undefined ? undefined : BigInt(opts.limitNs);
    const stepLimit = opts.limitSteps === undefined ? undefined : this.steps + opts.limitSteps;
    return new Promise<T>((resolve, reject) => {
      let outcome: { ok: true; v: T } | { ok: false; e: unknown } | null = null;
      const observer = (next: SimEvent | undefined): boolean => {
        if (outcome) {
          this.observers.delete(observer);
          if (outcome.ok) resolve(outcome.v); else reject(outcome.e);
          return true;
        }
        let why: string | null = null;
        if (!next) {
          why = `deadlock: the scenario never settled and no events are pending at t=${this.t}ns ` +
            '(if it awaits host work the simulation does not model — a dynamic import, host I/O — wrap that promise in outside())';
        }
        else if (limitNs !== undefined && next.time > limitNs) why = `time limit: the scenario had not settled by t=${limitNs}ns (next event at ${next.time}ns, ${this.liveCount} pending)`;
        else if (stepLimit !== undefined && this.steps >= stepLimit) why = `step limit: the scenario had not settled after ${opts.limitSteps} events (t=${this.t}ns, ${this.liveCount} pending)`;
        if (why) {
          this.observers.delete(observer);
          if (next) this.halted = true; // stop a free-running clock; run() or resume() restarts it
          // No replay command here: forEachSeed (harness.ts) adds the one that applies to a test.
          reject(new SimStuck(`sim ${why} [seed ${this.seed}]`, this.seed));
          return true;
        }
        return false;
      };
      this.observers.set(observer, reject);
      this.resume();
      try {
        Promise.resolve(scenario()).then((v) => { outcome = { ok: true, v }; }, (e: unknown) => { outcome = { ok: false, e }; });
      } catch (e) { outcome = { ok: false, e }; }
    });
  }

  /**
   * Host work the simulation does not model — a dynamic import of kernel
   * code, reading a fixture from the host disk — awaited inside run(). While
   * any is in flight no event runs and the virtual clock stands still (the
   * work takes zero virtual time, so a replay is unchanged however long it
   * really takes), and an empty queue is not a deadlock. The work must not
   * itself wait for simulated events: those would never run.
   */
  outside<T>(work: Promise<T>): Promise<T> {
    this.outsideCount++;
    const done = (): void => {
      this.outsideCount--;
      this.kick();
    };
    return work.then((v) => { done(); return v; }, (e: unknown) => { done(); throw e; });
  }

  /** A promise that resolves after `ns` of virtual time (an event, not a host timer). */
  sleep(ns: bigint | number, owner = 'world'): Promise<void> {
    return new Promise((resolve) => this.enqueue(this.t + BigInt(ns), resolve, owner));
  }

  /** Run events until virtual time has advanced by `ns` (events due by then run). */
  advance(ns: bigint | number): Promise<void> { return this.run(() => this.sleep(ns)); }

  /** Restart a pump stopped by a run limit. */
  resume(): void {
    this.halted = false;
    this.kick();
  }
  /** Stop the pump and drop every queued event (end of a test with periodic timers). */
  dispose(): void {
    this.halted = true;
    for (const ev of this.heap) ev.live = false;
    this.heap = [];
    this.liveCount = 0;
    this.deadCount = 0;
  }

  /**
   * Record a fatal failure (an upcall threw, or the host panicked): stop the
   * pump and reject every run() and idle() waiter with it; later run() and
   * idle() calls reject at once. Returns true when someone was waiting.
   */
  fail(err: unknown): boolean {
    if (!this.failure) this.failure = { err, reported: false };
    this.halted = true;
    const waiting = this.observers.size + this.idleWaiters.length > 0;
    if (waiting && this.failure.err === err) this.failure.reported = true;
    for (const reject of this.observers.values()) reject(err);
    this.observers.clear();
    for (const w of this.idleWaiters.splice(0)) w.reject(err);
    return waiting;
  }
  /** The first fatal failure, if any. */
  get failed(): unknown { return this.failure?.err; }

  private kick(): void {
    if (this.pumpScheduled || this.halted) return;
    this.pumpScheduled = true;
    setImmediate(this.pump);
  }

  private readonly pump = (): void => {
    this.pumpScheduled = false;
    if (this.halted) return;
    // Unmodelled host work is in flight: hold the clock; its completion kicks the pump.
    if (this.outsideCount > 0) return;
    const next = this.peek();
    let settled = false;
    for (const o of [...this.observers.keys()]) settled = o(next) || settled;
    if (this.halted) return;
    // A run() just settled: let its caller continue (in this turn's microtasks)
    // with the world exactly at the settle point, before any further event.
    if (settled) { this.kick(); return; }
    if (!next) {
      for (const w of this.idleWaiters.splice(0)) w.resolve();
      return;
    }
    this.pop();
    this.liveCount--;
    next.live = false;
    this.t = next.time;
    this.steps++;
    try {
      next.fn();
    } catch (err) {
      this.log.append(this.t, next.owner, 'upcall:threw', '', String(err));
      // A panic already rejected the waiting run(); do not report it twice.
      const f = this.failure;
      if (f !== null && f.err === err && f.reported) return;
      // Nobody waits for the world: surface the failure as an uncaught exception.
      if (!this.fail(err)) throw err;
      return;
    }
    this.kick();
  };

  // ---- binary heap -------------------------------------------------------
  private peek(): SimEvent | undefined {
    while (this.heap.length > 0 && !this.heap[0]!.live) { this.pop(); this.deadCount--; }
    return this.heap[0];
  }
  private push(ev: SimEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
