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
import { KernelError, errno as E } from '../../kern/errno.ts';
import type { LeakReport } from '../../kern/kernel.ts';
import type { Sys } from '../library/boot.ts';
import { ClientConn, RemoteKernel, type ConnectOptions } from './client.ts';
import {
  FrameType, OutBuf, PROTO_VERSION, ProtocolError, bufDirection, callFrame, decodeReplyInto, decodeValue, emitFrame, encodeValue, postFrame,
  errorSchema, fatalSchema, parseFrame, welcomeSchema, type Frame, type Value, type Welcome,
} from './protocol.ts';
import { DEFAULT_SAB_DATA, SabArea, S_BUSY, S_CLOSED, S_IDLE, S_MOVED, S_NEED, S_REQ, S_RESP, type GrowMessage } from './sab.ts';
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
   * Poll this long (µs) for the reply before sleeping in Atomics.wait
   * (default DEFAULT_CLIENT_SPIN_US = 0: sleep at once). Most calls are answered within it, and
   * polling saves a futex sleep and wake-up; the thread is blocked either way.
   */
  spinUs?: number;
}

/**
 * A synchronous kernel client: each call blocks the calling thread until the
 * kernel's thread has served it. One call at a time (it cannot be otherwise).
 */
export class SyncClient {
  private area: SabArea;
  private readonly port: MessagePort;
  private readonly timeoutMs: number;
  private readonly spinMs: number;
  private nextId = 1;
  private closedReason: string | null = null;
  readonly welcome: Welcome;
  readonly pid: number;
  readonly sys: SyncSys;
  private readonly sysIds: Map<string, number>;
  private readonly sysKinds: Map<string, string[]>;

  constructor(init: SyncChannelInit, opts: SyncClientOptions = {}) {
    this.area = new SabArea(init.sab);
    this.port = init.port;
    this.port.unref();
    this.timeoutMs = opts.timeoutMs ?? Infinity;
    this.spinMs = (opts.spinUs ?? DEFAULT_CLIENT_SPIN_US) / 1000;
    const h: Record<string, Value> = { version: PROTO_VERSION };
    for (const key of ['token', 'uid', 'gid', 'groups', 'comm'] as const) if (opts[key] !== undefined) h[key] = opts[key] as Value;
    const f = this.exchange(emitFrame(FrameType.HELLO, this.nextId++, encodeValue(h)), 'hello');
    if (f.type !== FrameType.WELCOME) throw this.failure(f, 'hello');
    const w = welcomeSchema.safeParse(decodeValue(f.body));
    if (!w.success) throw new Error('bad WELCOME from the kernel worker');
    this.welcome = w.data;
    this.pid = w.data.pid;
    this.sysIds = new Map(w.data.syscalls.map(([name], i) => [name, i]));
    this.sysKinds = new Map(w.data.syscalls.map(([name, , kinds]) => [name, kinds]));
    const sys: Record<string, (...a: unknown[]) => unknown> = Object.create(null);
    for (const [name] of w.data.syscalls) sys[name] = (...args: unknown[]) => this.call(name, args);
    this.sys = sys as unknown as SyncSys;
  }

  /** One system call; returns its result or throws KernelError. */
  call(name: string, args: unknown[]): unknown {
    const id = this.sysIds.get(name);
    if (id === undefined) throw new KernelError(E.ENOSYS, name);
    const targets: Uint8Array[] = [];
    const kinds = this.sysKinds.get(name)!;
    const wire = new Array<unknown>(args.length);
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (Array.isArray(a)) {
        const r = new Array<unknown>(a.length);
        for (let j = 0; j < a.length; j++) r[j] = syncWire(a[j], name, i, kinds[i], targets);
        wire[i] = r;
      } else wire[i] = syncWire(a, name, i, kinds[i], targets);
    }
    let frame: Uint8Array;
    try {
      frame = callFrame(this.nextId++, 0, id, wire);
    } catch {
      throw new KernelError(E.EFAULT, name);
    }
    const f = this.exchange(frame, name);
    if (f.type !== FrameType.REPLY) throw this.failure(f, name);
    // Returned bytes go straight from the reply into the caller's buffers.
    return decodeReplyInto(f.body, targets);
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

  /** Put one frame in the exchange and block until the reply frame is there. */
  private exchange(frame: Uint8Array, name: string): Frame {
    if (this.closedReason !== null) {
      const e = new KernelError(E.ECONNRESET, name);
      (e as { cause?: unknown }).cause = this.closedReason;
      throw e;
    }
    if (frame.byteLength > this.area.capacity) this.grow(frame.byteLength, S_IDLE);
    let a = this.area;
    if (a.closing) throw this.gone(name);
    a.data.set(frame);
    Atomics.store(a.ctl, 1, frame.byteLength);
    // IDLE → REQ only: if the server closed the exchange meanwhile, nobody would answer.
    if (Atomics.compareExchange(a.ctl, 0, S_IDLE, S_REQ) !== S_IDLE) throw this.gone(name);
    Atomics.notify(a.ctl, 0);
    this.spin(a);
    for (;;) {
      a = this.area;
      const s = a.state();
      if (s === S_REQ || s === S_BUSY || s === S_MOVED) {
        if (s === S_MOVED) continue;
        const r = Atomics.wait(a.ctl, 0, s, this.timeoutMs);
        if (r === 'timed-out') {
          this.closedReason = `no answer from the kernel worker in ${this.timeoutMs} ms`;
          throw new KernelError(E.ETIMEDOUT, name);
        }
        continue;
      }
      if (s === S_NEED) {
        // The reply is bigger than our buffer: hand the worker a bigger one and wait there.
        this.grow(Atomics.load(a.ctl, 1), S_BUSY);
        continue;
      }
      if (s === S_RESP) {
        const len = Atomics.load(a.ctl, 1);
        const bytes = a.data.slice(0, len);
        Atomics.store(a.ctl, 0, S_IDLE);
        return parseFrame(bytes, Infinity);
      }
      if (s === S_CLOSED) throw this.gone(name);
      throw new ProtocolError('EPROTO', `exchange in unknown state ${s}`);
    }
  }

  private gone(name: string): KernelError {
    this.closedReason = 'the kernel worker has shut down';
    const e = new KernelError(E.ECONNRESET, name);
    (e as { cause?: unknown }).cause = this.closedReason;
    return e;
  }

  /** Poll (bounded by spinMs) while the request is still pending: a fast reply needs no futex sleep. */
  private spin(a: SabArea): void {
    if (this.spinMs <= 0) return;
    const end = performance.now() + this.spinMs;
    for (let i = 1; ; i++) {
      const s = Atomics.load(a.ctl, 0);
      if (s !== S_REQ && s !== S_BUSY) return;
      if ((i & 63) === 0 && performance.now() > end) return;
    }
  }

  /** Disconnect (the worker ends this client's process). */
  close(): void {
    if (this.closedReason === null) this.closedReason = 'closed';
    this.port.close();
  }
}

/** How one argument of a sync call travels: out-buffers as their length, others as they are (all inline). */
function syncWire(v: unknown, name: string, i: number, kind: string | undefined, targets: Uint8Array[]): unknown {
  if (!(v instanceof Uint8Array)) return v;
  const dir = bufDirection(name, i, kind);
  if (dir !== 'in') targets.push(v);
  return dir === 'out' ? new OutBuf(v.byteLength) : v;
}

/**
 * Default client-side polling before Atomics.wait: none. On the shared
 * 2-CPU machine we measure on, a polling caller takes the CPU the kernel's
 * thread needs to answer, and each call got slower by about the polling
 * time (p50 58 µs without, 104 µs with 50 µs, 516 µs with 200 µs on both
 * sides); pass `spinUs` where cores are free.
 */
export const DEFAULT_CLIENT_SPIN_US = 0;

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
  const worker = new Worker(new URL('./worker-main.mjs', import.meta.url), { workerData: opts });
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
