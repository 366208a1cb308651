/**
 * The image runner of the monolithic frontend: each user process runs its
 * image in a worker_thread and calls the kernel synchronously through a
 * SharedArrayBuffer exchange (sysproxy's SyncClient in the worker, a
 * SyncPeer serving the process on the kernel's thread). The kernel stays
 * single-threaded; programs see blocking POSIX calls.
 *
 * Kinds: 'userland' (a TypeScript program of src/userland) and 'wasm' (a
 * WASI preview1 module, run by the userland's WASI shim in the worker).
 *
 * Lifecycle of a user process's image:
 *   execve/spawn (kern exec.ts) → start(): take a warm worker from the pool,
 *   make the exchange and the signal flag, post 'run' → the worker's SyncClient
 *   says HELLO, the peer welcomes it as that process → system calls … →
 *   exit(2) or a fatal signal: the kernel's exit hook terminates the worker
 *   and closes the exchange. exec replaces a running image the same way. A
 *   worker that dies on its own (a crash outside crt0) ends its process as
 *   killed by SIGSEGV; a worker that spins never blocks the kernel, and
 *   SIGKILL (or any fatal signal) ends it with worker.terminate().
 *
 * Warm workers: starting a worker and loading the userland costs tens to
 * hundreds of milliseconds, so a few are started ahead of need (`poolSize`)
 * and a replacement is started whenever one is taken; and a worker whose
 * program ended with exit(2) is idle again and goes back to the pool (up to
 * MAX_IDLE), so spawn+exit of a short program costs a message, not a thread.
 * A worker that ended any other way (a signal) is terminated, never reused.
 */
import { Worker, MessageChannel } from 'node:worker_threads';
import type { Kernel, Proc, Image, ImageRunner } from '../../kern/index.ts';
import { SabArea } from '../sysproxy/sab.ts';
import { SyncPeer, DEFAULT_SYNC_SPIN_US } from '../sysproxy/sync_peer.ts';
import type { SysproxyService } from '../sysproxy/service.ts';
import type { RunMessage } from './uproc_entry.ts';

/** wait(2) status of a process killed by SIGSEGV. */
const STATUS_SEGV = 11;
/** Exchange data area per process; it grows on demand (sab.ts). */
const EXCHANGE_BYTES = 256 * 1024;

interface Running {
  worker: Worker;
  peer: SyncPeer;
  /** The process called exit(2); its worker will say 'idle' once the call returns. */
  exiting: boolean;
}

/** Idle workers kept for reuse at most. */
const MAX_IDLE = 8;

export interface RunnerOptions {
  /** Warm workers kept ready (default 2). */
  poolSize?: number;
  /** SyncPeer polling after a reply (µs); default sysproxy's. */
  spinUs?: number;
  /** pid 1's image ended without halting the system (Linux panics: "Attempted to kill init!"). */
  onInitDeath?: () => void;
}

export class WorkerRunner implements ImageRunner {
  readonly kinds = ['userland', 'wasm'] as const;
  private readonly svc: SysproxyService;
  private readonly entry: URL;
  private readonly pool: Worker[] = [];
  private readonly poolSize: number;
  private readonly spinUs: number;
  /** @guardedBy the event loop */
  readonly running = new Map<Proc, Running>();
  /** Which process each busy worker runs. */
  private readonly owner = new Map<Worker, Proc>();
  private halted = false;
  private readonly onInitDeath: (() => void) | undefined;
  /** Workers started since boot, and images run in a reused worker (sysctl, the benchmark). */
  started = 0;
  reused = 0;

  constructor(svc: SysproxyService, entry: URL, opts: RunnerOptions = {}) {
    this.svc = svc;
    this.entry = entry;
    this.poolSize = opts.poolSize ?? 2;
    this.spinUs = opts.spinUs ?? DEFAULT_SYNC_SPIN_US;
    this.onInitDeath = opts.onInitDeath;
    const k = svc.kernel.kernel;
    k.procHooks.push({ exit: (p) => this.exited(p) });
    for (let i = 0; i < this.poolSize; i++) this.pool.push(this.spawnWorker());
  }

  /** Warm workers waiting for an image. */
  get idleCount(): number {
    return this.pool.length;
  }

  private spawnWorker(): Worker {
    const w = new Worker(this.entry);
    this.started++;
    w.on('error', () => { /* reported as the process's death in 'exit' */ });
    w.on('exit', () => this.workerGone(w));
    w.on('message', (m: { type?: string }) => {
      if (m?.type === 'idle') this.idle(w);
    });
    return w;
  }

  private take(): Worker {
    const w = this.pool.shift() ?? this.spawnWorker();
    // Keep one warm worker in hand; exited programs' workers refill the pool too.
    if (!this.halted && this.pool.length === 0) setImmediate(() => {
      if (!this.halted && this.pool.length === 0) this.pool.push(this.spawnWorker());
    });
    return w;
  }

  start(k: Kernel, p: Proc, img: Image): void {
    this.stop(p, 'exec');
    const wasm = img.kind === 'wasm' && img.bytes !== undefined;
    if (this.halted || (!wasm && (img.kind !== 'userland' || img.program === undefined))) {
      void k.exitProc(p, 127 << 8);
      return;
    }
    const worker = this.take();
    const area = SabArea.create(EXCHANGE_BYTES);
    const { port1, port2 } = new MessageChannel();
    const peer = new SyncPeer(this.svc, area.sab, port2, this.spinUs, p);
    const sigflag = new SharedArrayBuffer(4);
    const flag = new Int32Array(sigflag);
    p.sig.onUpcall = () => { Atomics.store(flag, 0, 1); };
    this.running.set(p, { worker, peer, exiting: false });
    this.owner.set(worker, p);
    const program = img.program ?? img.path.slice(img.path.lastIndexOf('/') + 1);
    const msg: RunMessage = { type: 'run', sab: area.sab, port: port1, sigflag, program, argv: img.argv, envp: img.envp };
    if (wasm) msg.wasm = img.bytes!.slice();
    worker.postMessage(msg, wasm ? [port1, msg.wasm!.buffer as ArrayBuffer] : [port1]);
  }

  /**
   * The kernel's exit hook. A process that called exit(2) is still in that
   * call in its worker: let the call return, and the worker, idle again,
   * goes back to the pool. Any other end (a signal) terminates the worker.
   */
  private exited(p: Proc): void {
    const r = this.running.get(p);
    if (r === undefined) return;
    if ((p.exitStatus & 0x7f) === 0 && !this.halted) {
      r.exiting = true;
      p.sig.onUpcall = null;
      return;
    }
    this.stop(p, 'exit');
  }

  /** A worker finished its program (after exit(2) returned): reuse it. */
  private idle(w: Worker): void {
    const p = this.owner.get(w);
    const r = p !== undefined ? this.running.get(p) : undefined;
    if (p === undefined || r === undefined || r.worker !== w || !r.exiting) {
      // It finished without exit(2) being accepted (init refused, or the process was already gone).
      if (p !== undefined && r?.worker === w) this.stop(p, 'no exit');
      return;
    }
    this.running.delete(p);
    this.owner.delete(w);
    r.peer.close('exited');
    if (!this.halted && this.pool.length < MAX_IDLE) {
      this.reused++;
      this.pool.push(w);
    } else void w.terminate();
  }

  /** A worker thread ended: if it still ran an image, that process dies. */
  private workerGone(w: Worker): void {
    const i = this.pool.indexOf(w);
    if (i >= 0) this.pool.splice(i, 1);
    const p = this.owner.get(w);
    this.owner.delete(w);
    if (p === undefined) return;
    const r = this.running.get(p);
    if (r === undefined || r.worker !== w) return;
    this.running.delete(p);
    r.peer.close('worker exited');
    const k = this.svc.kernel.kernel;
    if (p === k.initproc && !this.halted) {
      this.onInitDeath?.();
      return;
    }
    // The image ended without exit(2): a crash, as a signal would end it.
    if (p.state === 'alive') void k.exitProc(p, STATUS_SEGV);
  }

  /** End p's image, if it has one running (exit by a signal, exec, halt). */
  private stop(p: Proc, why: string): void {
    const r = this.running.get(p);
    if (r === undefined) return;
    this.running.delete(p);
    this.owner.delete(r.worker);
    p.sig.onUpcall = null;
    r.peer.close(why);
    void r.worker.terminate();
  }

  /** Stop every worker (halt). */
  async halt(): Promise<void> {
    this.halted = true;
    const all = [...this.running.values()].map((r) => r.worker).concat(this.pool.splice(0));
    for (const [p] of [...this.running]) this.stop(p, 'halt');
    await Promise.all(all.map((w) => w.terminate()));
  }
}
