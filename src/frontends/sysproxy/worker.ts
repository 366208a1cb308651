/**
 * The worker transport, caller side: a kernel in a worker_thread, reached by
 * async calls over a MessagePort (frames with their ArrayBuffers
 * transferred, not copied) or by *synchronous* calls over a
 * SharedArrayBuffer with Atomics.wait (sab.ts).
 *
 *     const wk = await startWorkerKernel();
 *     await wk.sys.getpid();                  // async, like k.sys
 *     const s = wk.syncClient();              // blocks this thread per call
 *     s.sys.getpid();                         // a number, not a promise
 *     const report = await wk.halt();         // leak report, worker exits
 *
 * The sync client is what `anykernel/fs` builds readFileSync/statSync on:
 * `syncClient()` here, or `wk.syncChannel()` in this thread and
 * `new SyncClient(init)` in another thread (the init object is
 * postMessage-able).
 *
 * Not supported: a sync client whose calls block forever in the kernel (read
 * on an empty pipe) blocks its thread forever too, as read(2) would; if the
 * worker dies mid-call without reaching its exit handler, the caller stays
 * blocked — pass `timeoutMs` to give up with ETIMEDOUT.
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { errno as E, KernelError, type LeakReport } from '../../kern/index.ts';
import type { Sys } from '../library/boot.ts';
import { ClientConn, RemoteKernel, type ConnectOptions } from './client.ts';
import {
  FrameType, OutBuf, PROTO_VERSION, ProtocolError, Writer, bufDirection, parseBufUses, type BufUses, decodeReplyAt, decodeValue, emitFrame, encodeValue, postFrame,
  errorSchema, fatalSchema, parseFrame, welcomeSchema, writeValue, type Frame, type Value, type Welcome,
} from './protocol.ts';
import {
  DEFAULT_SAB_DATA, SLEEP_SERVER, SabArea, S_BUSY, S_CLOSED, S_IDLE, S_MOVED, S_NEED, S_REQ, S_RESP, type GrowMessage,
} from './sab.ts';
import type { WorkerKernelData } from './worker-host.ts';

export type WorkerKernelOptions = WorkerKernelData;

/** Async connection over a MessagePort. */
async function connectPort(port: MessagePort, opts: ConnectOptions): Promise<RemoteKernel> {
  const conn = new ClientConn({
    send: (frames) => {
      for (const f of frames) postFrame(port, f);
    },
    send1: (f) => postFrame(port, f),
    close: () => port.close(),
  });
  port.on('message', (m: unknown) => {
    if (!(m instanceof Uint8Array)) return conn.lost('worker sent a non-frame message');
    let f: Frame;
    try {
      f = parseFrame(m, Infinity);
    } catch (e) {
      conn.lost(`bad frame from worker: ${e instanceof Error ? e.message : String(e)}`);
      port.close();
      return;
    }
    conn.receive(f);
  });
  port.on('close', () => conn.lost('port closed'));
  const w = await conn.hello(opts);
  return new RemoteKernel(conn, w);
}

/** What a thread needs to build a SyncClient (postMessage-able; transfer `port`). */
export interface SyncChannelInit {
  sab: SharedArrayBuffer;
  port: MessagePort;
}

/** `Sys` with every method synchronous. */
export type SyncSys = {
  [K in keyof Sys]: Sys[K] extends (...a: infer A) => Promise<infer R> ? (...a: A) => R : never;
};

export interface SyncClientOptions extends ConnectOptions {
  /** Give up a call after this long (ms) with ETIMEDOUT; default: wait forever. */
  timeoutMs?: number;
  /**
   * Poll this long (µs) for the reply before sleeping in Atomics.wait; 0:
   * sleep at once. Default: adaptive (see SPIN_MAX_US) — poll while recent
   * replies came fast, sleep at once while they are slow.
   */
  spinUs?: number;
}

/**
 * Adaptive polling, the default: the client keeps a running median of the
 * reply times it sees while polling (a frugal streaming estimate: one step
 * of 1/8 up or down per sample; a poll that ran out counts as a slow sample)
 * and polls for up to twice that before sleeping, as long as that budget
 * stays within SPIN_MAX_US. A reply usually arrives within the budget and
 * saves a futex sleep and wake-up (the thread is blocked either way). When
 * replies are slow — the kernel thread is waiting for a CPU the poller would
 * take, as on a loaded 2-CPU machine, where fixed polling made calls slower
 * by about the polling time (p50 58 µs without, 104 µs with 50 µs, 516 µs
 * with 200 µs on both sides) — the median rises past half the cap and the
 * client sleeps at once, except that one call in SPIN_PROBE_EVERY still
 * polls (up to the cap) to notice when replies are fast again. Calls that
 * slept teach nothing: their time is mostly the wake-up's.
 */
export const SPIN_MAX_US = 50;
const SPIN_PROBE_EVERY = 16;
/** Starting estimate of the reply time (µs): start polling, and let measurements decide. */
const SPIN_START_US = 10;

/**
 * A synchronous kernel client: each call blocks the calling thread until the
 * kernel's thread has served it. One call at a time (it cannot be otherwise).
 *
 * Calls are encoded straight into the exchange's data area and replies
 * decoded where they lie (the area is ours until we set it IDLE again).
 */
export class SyncClient {
  private area: SabArea;
  private readonly port: MessagePort;
  private readonly timeoutMs: number;
  /** Fixed polling budget (ms), or null: adaptive. */
  private readonly spinMs: number | null;
  /** Running median of reply times seen while polling (µs), for adaptive polling. */
  private replyUs = SPIN_START_US;
  /** Calls since the last poll, for SPIN_PROBE_EVERY. */
  private unpolled = 0;
  private nextId = 1;
  private closedReason: string | null = null;
  readonly welcome: Welcome;
  readonly pid: number;
  readonly sys: SyncSys;
  private readonly sysIds: Map<string, number>;
  private readonly sysKinds: Map<string, string[]>;
  private readonly sysBufs: Map<string, BufUses | undefined>;

  constructor(init: SyncChannelInit, opts: SyncClientOptions = {}) {
    this.area = new SabArea(init.sab);
    this.port = init.port;
    this.port.unref();
    this.timeoutMs = opts.timeoutMs ?? Infinity;
    this.spinMs = opts.spinUs !== undefined ? opts.spinUs / 1000 : null;
    const h: Record<string, Value> = { version: PROTO_VERSION };
    for (const key of ['token', 'uid', 'gid', 'groups', 'comm'] as const) if (opts[key] !== undefined) h[key] = opts[key] as Value;
    this.put(emitFrame(FrameType.HELLO, this.nextId++, encodeValue(h)), 'hello');
    let w: ReturnType<typeof welcomeSchema.safeParse>;
    try {
      const f = this.exchange('hello');
      if (f.type !== FrameType.WELCOME) throw this.failure(f, 'hello');
      w = welcomeSchema.safeParse(decodeValue(f.body));
    } finally {
      this.release();
    }
    if (!w.success) throw new Error('bad WELCOME from the kernel worker');
    this.welcome = w.data;
    this.pid = w.data.pid;
    this.sysIds = new Map(w.data.syscalls.map(([name], i) => [name, i]));
    this.sysKinds = new Map(w.data.syscalls.map(([name, , kinds]) => [name, kinds]));
    this.sysBufs = new Map(w.data.syscalls.map(([name, , , uses]) => [name, parseBufUses(uses)]));
    const sys: Record<string, (...a: unknown[]) => unknown> = Object.create(null);
    for (const [name] of w.data.syscalls) sys[name] = (...args: unknown[]) => this.call(name, args);
    this.sys = sys as unknown as SyncSys;
  }

  /** One system call; returns its result or throws KernelError. */
  call(name: string, args: unknown[]): unknown {
    const id = this.sysIds.get(name);
    if (id === undefined) throw new KernelError(E.ENOSYS, name);
    let targets = NO_BUFS;
    let wire = args;
    // Only calls with buffer arguments need rewriting (most calls have none).
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a instanceof Uint8Array || Array.isArray(a)) {
        targets = [];
        wire = this.wire(name, args, targets);
        break;
      }
    }
    this.ready(name);
    // Encode into the exchange; a frame that outgrows it goes to a bigger one.
    const w = new Writer(this.area.buf, true);
    try {
      w.u32(0);
      w.u16(id);
      writeValue(w, wire);
    } catch {
      throw new KernelError(E.EFAULT, name); // an argument the protocol cannot carry (a function...)
    }
    const len = w.finish(FrameType.CALL, this.nextId++);
    if (w.buf !== this.area.buf) this.put(w.done(), name);
    else Atomics.store(this.area.ctl, 1, len);
    try {
      const f = this.exchange(name);
      if (f.type !== FrameType.REPLY) throw this.failure(f, name);
      // Decoded where it lies; returned bytes go straight into the caller's buffers.
      return decodeReplyAt(f.src, f.start, f.end, targets, f.src === this.area.data ? this.area.dv : null);
    } finally {
      this.release();
    }
  }

  private wire(name: string, args: unknown[], targets: Uint8Array[]): unknown[] {
    const kinds = this.sysKinds.get(name)!;
    const uses = this.sysBufs.get(name);
    const wire = new Array<unknown>(args.length);
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (Array.isArray(a)) {
        const r = new Array<unknown>(a.length);
        for (let j = 0; j < a.length; j++) r[j] = syncWire(a[j], uses, i, kinds[i], targets);
        wire[i] = r;
      } else wire[i] = syncWire(a, uses, i, kinds[i], targets);
    }
    return wire;
  }

  private failure(f: Frame, name: string): Error {
    if (f.type === FrameType.ERROR) {
      const e = errorSchema.safeParse(decodeValue(f.body));
      if (e.success) return new KernelError(e.data.errno, e.data.syscall || name, e.data.path, e.data.dest);
    }
    if (f.type === FrameType.FATAL) {
      const p = fatalSchema.safeParse(decodeValue(f.body));
      this.closedReason = p.success ? `${p.data.code}: ${p.data.message}` : 'closed by the kernel';
      const e = new KernelError(E.ECONNRESET, name);
      (e as { cause?: unknown }).cause = this.closedReason;
      return e;
    }
    return new ProtocolError('EPROTO', `unexpected frame type ${f.type} from the kernel worker`);
  }

  private grow(bytes: number, state: number): void {
    const next = SabArea.create(Math.max(bytes, this.area.capacity * 2), state);
    this.area = next;
    this.port.postMessage({ type: 'grow', sab: next.sab } satisfies GrowMessage);
  }

  /** Throw if the connection is gone (before writing a request). */
  private ready(name: string): void {
    if (this.closedReason !== null) {
      const e = new KernelError(E.ECONNRESET, name);
      (e as { cause?: unknown }).cause = this.closedReason;
      throw e;
    }
    if (this.area.closing) throw this.gone(name);
  }

  /** Copy a finished frame into the exchange (growing it first if needed). */
  private put(frame: Uint8Array, name: string): void {
    this.ready(name);
    if (frame.byteLength > this.area.capacity) this.grow(frame.byteLength, S_IDLE);
    const a = this.area;
    a.data.set(frame);
    Atomics.store(a.ctl, 1, frame.byteLength);
  }

  /**
   * Post the request already in the exchange and block until the reply
   * frame is there. The frame returned views the exchange: decode it, then
   * release().
   */
  private exchange(name: string): Frame {
    let a = this.area;
    // IDLE → REQ only: if the server closed the exchange meanwhile, nobody would answer.
    if (Atomics.compareExchange(a.ctl, 0, S_IDLE, S_REQ) !== S_IDLE) throw this.gone(name);
    a.wakePeer(SLEEP_SERVER);
    this.spin(a);
    for (;;) {
      a = this.area;
      const s = a.state();
      if (s === S_REQ || s === S_BUSY) {
        if (a.sleepWhile(s, this.timeoutMs) === 'timed-out') {
          this.closedReason = `no answer from the kernel worker in ${this.timeoutMs} ms`;
          throw new KernelError(E.ETIMEDOUT, name);
        }
        continue;
      }
      if (s === S_MOVED) continue;
      if (s === S_NEED) {
        // The reply is bigger than our buffer: hand the worker a bigger one and wait there.
        this.grow(Atomics.load(a.ctl, 1), S_BUSY);
        continue;
      }
      if (s === S_RESP) {
        return parseFrame(a.data, Infinity, Atomics.load(a.ctl, 1));
      }
      if (s === S_CLOSED) throw this.gone(name);
      throw new ProtocolError('EPROTO', `exchange in unknown state ${s}`);
    }
  }

  /** The reply has been read: the exchange is free for the next request. */
  private release(): void {
    const a = this.area;
    if (a.state() === S_RESP) Atomics.store(a.ctl, 0, S_IDLE);
  }

  /** One reply time (µs) into the running median: a step of 1/8 of it (plus a little) towards the sample. */
  private learn(us: number): void {
    const m = this.replyUs;
    const step = m / 8 + 0.1;
    this.replyUs = us > m ? Math.min(m + step, 4 * SPIN_MAX_US) : Math.max(m - step, 0.5);
  }

  private gone(name: string): KernelError {
    this.closedReason = 'the kernel worker has shut down';
    const e = new KernelError(E.ECONNRESET, name);
    (e as { cause?: unknown }).cause = this.closedReason;
    return e;
  }

  /** Poll while the request is still pending (fixed or adaptive budget): a fast reply needs no futex sleep. */
  private spin(a: SabArea): void {
    let ms = this.spinMs;
    const adaptive = ms === null;
    if (ms === null) {
      const us = 2 * this.replyUs;
      if (us <= SPIN_MAX_US) ms = us / 1000;
      else if (++this.unpolled >= SPIN_PROBE_EVERY) ms = SPIN_MAX_US / 1000;
      else return;
      this.unpolled = 0;
    }
    if (ms <= 0) return;
    const t0 = performance.now();
    const end = t0 + ms;
    for (let i = 1; ; i++) {
      const s = Atomics.load(a.ctl, 0);
      if (s !== S_REQ && s !== S_BUSY) {
        if (adaptive) this.learn((performance.now() - t0) * 1000);
        return;
      }
      if ((i & 63) === 0 && performance.now() > end) {
        if (adaptive) this.learn(Infinity); // ran out: slower than the budget
        return;
      }
    }
  }

  /** Disconnect (the worker ends this client's process). */
  close(): void {
    if (this.closedReason === null) this.closedReason = 'closed';
    this.port.close();
  }
}

const NO_BUFS: Uint8Array[] = [];

/** How one argument of a sync call travels: out-buffers as their length, others as they are (all inline). */
function syncWire(v: unknown, uses: BufUses | undefined, i: number, kind: string | undefined, targets: Uint8Array[]): unknown {
  if (!(v instanceof Uint8Array)) return v;
  const dir = bufDirection(uses, i, kind);
  if (dir !== 'in') targets.push(v);
  return dir === 'out' ? new OutBuf(v.byteLength) : v;
}

/** A kernel running in a worker_thread. */
export class WorkerKernel {
  readonly worker: Worker;
  /** The default async connection (its process is this object's `sys`). */
  readonly client: RemoteKernel;
  private readonly haltedP: Promise<LeakReport>;
  private exited = false;

  constructor(worker: Worker, client: RemoteKernel, halted: Promise<LeakReport>) {
    this.worker = worker;
    this.client = client;
    this.haltedP = halted;
    worker.once('exit', () => { this.exited = true; });
  }

  get sys(): Sys {
    return this.client.sys;
  }

  get pid(): number {
    return this.client.pid;
  }

  fork(): ReturnType<RemoteKernel['fork']> {
    return this.client.fork();
  }

  /** Another async connection (its own process). */
  connect(opts: ConnectOptions = {}): Promise<RemoteKernel> {
    const { port1, port2 } = new MessageChannel();
    this.worker.postMessage({ type: 'connect', port: port2 }, [port2]);
    return connectPort(port1, opts);
  }

  /** An exchange for a SyncClient in this or another thread. */
  syncChannel(dataBytes = DEFAULT_SAB_DATA): SyncChannelInit {
    const { port1, port2 } = new MessageChannel();
    const area = SabArea.create(dataBytes);
    this.worker.postMessage({ type: 'sync', sab: area.sab, port: port2 }, [port2]);
    return { sab: area.sab, port: port1 };
  }

  /** A synchronous client in this thread (its own process). */
  syncClient(opts: SyncClientOptions = {}): SyncClient {
    return new SyncClient(this.syncChannel(), opts);
  }

  /** Halt the kernel: every connection ends, the worker exits; returns the leak report. */
  async halt(): Promise<LeakReport> {
    if (this.exited) throw new Error('the kernel worker has already exited');
    this.worker.postMessage({ type: 'halt' });
    const r = await this.haltedP;
    await new Promise<void>((res) => (this.exited ? res() : this.worker.once('exit', () => res())));
    return r;
  }

  /** Kill the worker without a clean halt. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Start a kernel in a worker_thread and connect to it. */
export async function startWorkerKernel(opts: WorkerKernelOptions = {}): Promise<WorkerKernel> {
  // Compiled (dist/*.js): the worker runs worker-host.js as it is. From the
  // TypeScript sources: worker-main.mjs registers tsx in the worker first.
  const entry = import.meta.url.endsWith('.ts') ? './worker-main.mjs' : './worker-host.js';
  const worker = new Worker(new URL(entry, import.meta.url), { workerData: opts });
  let halted!: (r: LeakReport) => void;
  const haltedP = new Promise<LeakReport>((r) => { halted = r; });
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number): void => reject(new Error(`kernel worker exited with code ${code} before it was ready`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.on('message', (m: { type: string; message?: string; report?: LeakReport }) => {
      if (m.type === 'ready') {
        worker.off('error', reject);
        worker.off('exit', onExit);
        resolve();
      } else if (m.type === 'error') reject(new Error(`kernel worker failed to boot: ${m.message}`));
      else if (m.type === 'halted') halted(m.report!);
    });
  });
  worker.on('error', () => { /* surfaced as closed connections */ });
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ type: 'connect', port: port2 }, [port2]);
  const client = await connectPort(port1, {});
  return new WorkerKernel(worker, client, haltedP);
}
