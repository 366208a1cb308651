/**
 * FuseSession: one FUSE mount served over /dev/fuse, without libfuse.
 *
 * Lifecycle:
 *   open /dev/fuse → `mount -i -t fuse.anykernel -o fd=3,…` (the fd is the child's stdio[3]) →
 *   after mount exits 0, start the reader → kernel sends INIT → we reply (7.31) → `ready` →
 *   requests flow → the host runs `umount` (or we call `unmount()`) → the next read fails ENODEV
 *   → `closed` resolves and the fd is closed.
 *
 * Request flow (default: the 'worker' reader in direct mode, see ring.ts):
 *   while nothing is in flight, the main thread (the one running the kernel) reads /dev/fuse
 *   itself and serves each request without a hand-off; the event loop runs between requests and
 *   a waker thread ends a read that waits too long. While requests are in flight, a reader
 *   thread blocked in read(2) publishes requests in a SharedArrayBuffer ring and wakes the main
 *   thread (Atomics.notify → Atomics.waitAsync), which serves every queued request per wake-up.
 *   Either way: parseRequest → FuseHandler method (a value or a promise; many in flight at once,
 *   none awaited before the next read) → emit* → one write(2) of the reply. The 'port' reader
 *   (MessagePort per request) and 'async' reader (fs.read on the libuv pool) remain for
 *   comparison.
 *
 * Replies are written with fs.writeSync from the main thread. That never waits on anyone: the
 * kernel consumes a reply synchronously in fuse_dev_write (it copies the bytes and wakes the
 * waiting host process), so the call costs one syscall. Reads, which do wait, never happen on the
 * main thread. The main thread must also never make a *synchronous* call on this mount itself:
 * that call would wait for a reply only this thread can send.
 */
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { FuseDispatcher, requestedMaxWrite, stageNow } from './dispatch.ts';
import type { ConnInfo, DispatchOptions, FuseHandler, StageTotals } from './dispatch.ts';
import {
  BLOCKED, COPY_BELOW, isBulk, isWake, KICK, lenAt, makeRing, MODE, queueAt, READS, RING_READER_SOURCE, stateAt, STOP, TAIL, WAKER_SOURCE, WAKING, READER_IN, EVENTS, type RingShape,
} from './ring.ts';
import { emitError } from './reply.ts';

export type * from './dispatch.ts';
export { FuseDispatcher, MAX_WRITE, MAX_WRITE_LIMIT } from './dispatch.ts';

export interface FuseSessionOptions extends DispatchOptions {
  /** user_id / group_id mount options: who may use the mount without allow_other. Default: us. */
  uid?: number;
  gid?: number;
  /** Let every host user in (otherwise only `uid`). */
  allowOther?: boolean;
  /** Have the host kernel check mode bits itself (then ACCESS is never sent). */
  defaultPermissions?: boolean;
  /**
   * How requests are read off /dev/fuse and reach this thread. 'worker' (default): a reader
   * thread blocked in read(2) hands them over through shared memory (ring.ts); 'port': the same
   * thread posts each one over a MessagePort; 'async': one outstanding fs.read on the libuv pool.
   * The environment variable ANYKERNEL_FUSE_READER overrides it (for A/B measurements).
   */
  reader?: 'worker' | 'port' | 'async';
  /**
   * After serving a batch, with nothing in flight, sleep on the ring's futex this many µs for the
   * next request before going back to the event loop (worker reader only; 0: never). A waking
   * futex costs a fraction of an event-loop wake-up, and a synchronous caller's next request
   * usually comes within tens of µs. The event loop (timers, signals, I/O) waits at most this
   * long. Only without direct mode. Default 200; ANYKERNEL_FUSE_LINGER_US overrides it.
   */
  lingerUs?: number;
  /**
   * Direct mode (worker reader only): after a batch, with nothing in flight, this thread reads
   * /dev/fuse itself, so a request goes from the host straight to the thread that serves it (no
   * hand-off); the reader thread waits meanwhile. The event loop runs between requests; a waker
   * thread ends a read that has waited `tickMs` (default 1) with a STATFS the session answers
   * itself, so timers, signals and I/O wait at most about two ticks. Default off: with more big
   * WRITEs in flight than ring slots it can still stall (session.ring.test.ts's overflow case
   * hangs now and then under load in this mode); ANYKERNEL_FUSE_DIRECT=1 turns it on.
   */
  direct?: boolean;
  tickMs?: number;
  /** Sum per-stage times (dispatcher.timeStages()); ANYKERNEL_FUSE_STAGES=FILE also writes them there at close. */
  timeStages?: boolean;
  /** Extra `-o` mount options, e.g. ['fsname=foo']. */
  mountOptions?: string[];
}

/** ≥ max(8192, 80 + max_write): header + fuse_write_in + data, with room to spare. */
function readBufferSize(opts: FuseSessionOptions): number {
  return requestedMaxWrite(opts) + 4096;
}

/** Supplementary groups of a caller, from /proc/PID/status (the FUSE header carries only uid/gid). */
export async function callerGroups(pid: number): Promise<number[]> {
  try {
    const s = await fs.promises.readFile(`/proc/${pid}/status`, 'utf8');
    // "Groups:\t \n" when there are none: \s* must not run on into the next line.
    const m = /^Groups:[ \t]*([^\n]*)$/m.exec(s);
    return m ? m[1]!.trim().split(/\s+/).filter(Boolean).map(Number).filter((g) => Number.isInteger(g) && g >= 0) : [];
  } catch {
    return [];
  }
}

interface Run {
  code: number | null;
  stderr: string;
  spawnError?: NodeJS.ErrnoException;
}

function run(cmd: string, args: string[], extraFd?: number): Promise<Run> {
  return new Promise((resolve) => {
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'ignore', 'pipe'];
    if (extraFd !== undefined) stdio.push(extraFd);
    const child = spawn(cmd, args, { stdio });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => resolve({ code: null, stderr, spawnError: e }));
    child.on('close', (code) => resolve({ code, stderr: stderr.trim() }));
  });
}

/**
 * The blocking reader, as CommonJS source for an eval'd worker (no loader or build step needed).
 * Small requests are copied out and the buffer read again; a big one (WRITE data) travels in its
 * own buffer, transferred without a copy, and comes back through `back` once the main thread is
 * done with it (drained without blocking before each read: this loop never runs its event loop).
 */
const WORKER_SOURCE = `
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');
const fs = require('node:fs');
const size = workerData.size;
const back = workerData.back;
const COPY_BELOW = 16384;
const free = [];
let buf = new Uint8Array(size);
for (;;) {
  for (let m; (m = receiveMessageOnPort(back)) !== undefined; ) if (free.length < 64) free.push(m.message);
  let n;
  try {
    n = fs.readSync(workerData.fd, buf, 0, buf.length, null);
  } catch (e) {
    // EINTR: a signal; ENOENT: the request was interrupted while being read; retry both.
    if (e.code === 'EINTR' || e.code === 'ENOENT' || e.code === 'EAGAIN') continue;
    parentPort.postMessage({ end: e.code || String(e) });
    break;
  }
  if (n === 0) { parentPort.postMessage({ end: 'EOF' }); break; }
  if (n < COPY_BELOW) {
    const req = buf.slice(0, n);
    if (workerData.timing) parentPort.postMessage({ req, t: performance.timeOrigin + performance.now() }, [req.buffer]);
    else parentPort.postMessage(req, [req.buffer]);
  } else {
    const ab = buf.buffer;
    parentPort.postMessage({ ab, n }, [ab]);
    buf = new Uint8Array(free.pop() || new ArrayBuffer(size));
  }
}
`;

export class FuseSession {
  /** Resolves when the session is over (host umount, unmount(), abort); the value says why. */
  readonly closed: Promise<string>;
  /** The protocol engine: `stats`, `conn`, `ready`, `inFlight`. */
  readonly dispatcher: FuseDispatcher;

  // @guardedBy main thread
  private fd: number;
  private isClosed = false;
  private worker: Worker | undefined;
  private ring: RingShape | undefined;
  private lingerMs = 0;
  private direct = false;
  private tickMs = 1;
  private waker: Worker | undefined;
  private stages: StageTotals | undefined;
  private stagesFile: string | undefined;
  /** Request buffers go back to the reader through this port. */
  private backPort: MessagePort | undefined;
  private resolveClosed!: (why: string) => void;
  /** /sys/fs/fuse/connections/N, remembered at mount time (abort() works after a lazy umount too) */
  private connId: number | undefined;

  private constructor(
    readonly mountpoint: string,
    handler: FuseHandler,
    opts: FuseSessionOptions,
    fd: number,
  ) {
    this.fd = fd;
    this.dispatcher = new FuseDispatcher(handler, opts, (reply) => {
      fs.writeSync(this.fd, reply);
    });
    this.closed = new Promise((res) => (this.resolveClosed = res));
  }

  get ready(): Promise<ConnInfo> {
    return this.dispatcher.ready;
  }
  get conn(): ConnInfo | undefined {
    return this.dispatcher.conn;
  }
  get stats(): FuseDispatcher['stats'] {
    return this.dispatcher.stats;
  }

  /** Open /dev/fuse, mount it at `mountpoint`, and serve `handler` until unmounted. */
  static async mount(mountpoint: string, handler: FuseHandler, opts: FuseSessionOptions = {}): Promise<FuseSession> {
    mountpoint = path.resolve(mountpoint);
    readBufferSize(opts); // a bad maxWrite throws before anything is opened
    const fd = fs.openSync('/dev/fuse', 'r+');
    const o = [
      'fd=3',
      'rootmode=40000',
      `user_id=${opts.uid ?? process.getuid?.() ?? 0}`,
      `group_id=${opts.gid ?? process.getgid?.() ?? 0}`,
    ];
    if (opts.allowOther) o.push('allow_other');
    if (opts.defaultPermissions) o.push('default_permissions');
    if (opts.mountOptions) o.push(...opts.mountOptions);
    // -i: don't run /sbin/mount.fuse.anykernel (fuse3's helper would treat the source as a program).
    const r = await run('mount', ['-i', '-t', 'fuse.anykernel', '-o', o.join(','), 'anykernel', mountpoint], fd);
    if (r.code !== 0) {
      fs.closeSync(fd);
      const why = r.spawnError ? `cannot run mount: ${r.spawnError.message}` : `mount exited ${r.code}: ${r.stderr}`;
      throw new Error(`fuse: mounting ${mountpoint} failed (${why})`);
    }
    const s = new FuseSession(mountpoint, handler, opts, fd);
    const env = process.env;
    const reader = (env.ANYKERNEL_FUSE_READER as FuseSessionOptions['reader']) || opts.reader || 'worker';
    if (reader !== 'worker' && reader !== 'port' && reader !== 'async') throw new Error(`fuse: unknown reader ${String(reader)}`);
    const linger = env.ANYKERNEL_FUSE_LINGER_US !== undefined ? Number(env.ANYKERNEL_FUSE_LINGER_US) : (opts.lingerUs ?? 200);
    s.lingerMs = Number.isFinite(linger) && linger > 0 ? linger / 1000 : 0;
    s.direct = env.ANYKERNEL_FUSE_DIRECT !== undefined ? env.ANYKERNEL_FUSE_DIRECT === '1' : (opts.direct ?? false);
    s.tickMs = opts.tickMs ?? 1;
    if (opts.timeStages || env.ANYKERNEL_FUSE_STAGES) s.stages = s.dispatcher.timeStages();
    s.stagesFile = env.ANYKERNEL_FUSE_STAGES || undefined;
    s.startReader(reader, readBufferSize(opts));
    try {
      await s.ready;
      s.connId = await s.connectionId();
    } catch (e) {
      await s.unmount().catch(() => {});
      throw e;
    }
    return s;
  }

  // --- reading --------------------------------------------------------------------------------

  private startReader(kind: 'worker' | 'port' | 'async', bufSize: number): void {
    if (kind === 'worker') {
      this.startRing(bufSize);
      return;
    }
    if (kind === 'port') {
      const { port1, port2 } = new MessageChannel();
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd: this.fd, size: bufSize, back: port2, timing: this.stages !== undefined }, transferList: [port2] });
      this.worker = w;
      this.backPort = port1;
      w.on('message', (m: Uint8Array | { req: Uint8Array; t: number } | { ab: ArrayBuffer; n: number } | { end: string }) => {
        if (m instanceof Uint8Array) this.dispatcher.onRequest(m);
        else if ('req' in m) this.dispatcher.onRequest(m.req, undefined, m.t);
        else if ('ab' in m) {
          const ab = m.ab;
          this.dispatcher.onRequest(new Uint8Array(ab, 0, m.n), () => {
            if (!this.isClosed) port1.postMessage(ab, [ab]);
          });
        } else this.close(m.end);
      });
      w.on('error', (e) => {
        this.close(`reader failed: ${e.message}`);
      });
      return;
    }
    // One outstanding async read: it holds one libuv threadpool thread while it waits.
    const next = (): void => {
      if (this.isClosed) return;
      const buf = new Uint8Array(bufSize);
      fs.read(this.fd, buf, 0, buf.length, null, (err, n) => {
        if (err) {
          if (err.code === 'EINTR' || err.code === 'ENOENT' || err.code === 'EAGAIN') return next();
          return this.close(err.code ?? err.message);
        }
        if (n === 0) return this.close('EOF');
        next();
        this.dispatcher.onRequest(buf.subarray(0, n));
      });
    };
    next();
  }

  /**
   * The shared-memory reader (ring.ts). This thread serves every request published so far in one
   * go (a batch per wake-up), then lets the replies of asynchronous handlers run (setImmediate:
   * microtasks first), and, when nothing is in flight, sleeps on the ring's futex up to
   * `lingerMs` for the next request; otherwise, or after that, it goes back to its event loop
   * with an Atomics.waitAsync pending on the same word.
   */
  private startRing(bufSize: number): void {
    const count = Math.max(4, Math.min(16, Math.floor((32 << 20) / bufSize)));
    const ring = makeRing(count, bufSize);
    this.ring = ring;
    const ctl = new Int32Array(ring.ctl);
    const times = new Float64Array(ring.times);
    const views: Uint8Array[] = [];
    for (let i = 0; i < count; i++) views.push(new Uint8Array(ring.slots, i * bufSize, bufSize));
    const timing = this.stages !== undefined;
    let head = 0;
    const d = this.dispatcher;
    const drain = (): number => {
      let served = 0;
      while (head !== Atomics.load(ctl, TAIL) && !this.isClosed) {
        const i = ctl[queueAt(count, head)]!;
        head++;
        const n = ctl[lenAt(count, i)]!;
        const t = timing ? times[i]! : 0;
        served++;
        bulk = isBulk(views[i]!, n);
        if (isWake(views[i]!, n, ctl)) {
          this.answerWake(views[i]!);
          Atomics.store(ctl, stateAt(i), 0);
        } else if (n < COPY_BELOW) {
          const req = views[i]!.slice(0, n); // a plain buffer of its own: the slot is free at once
          Atomics.store(ctl, stateAt(i), 0);
          d.onRequest(req, undefined, t);
        } else {
          d.onRequest(views[i]!.subarray(0, n), () => Atomics.store(ctl, stateAt(i), 0), t);
        }
      }
      return served;
    };
    // Direct mode: this thread's own read buffer (free again whenever nothing is in flight).
    const own = this.direct ? new Uint8Array(bufSize) : new Uint8Array(0);
    const leaveDirect = (): void => {
      if (Atomics.load(ctl, MODE) === 0) return;
      Atomics.store(ctl, MODE, 0);
      Atomics.notify(ctl, MODE); // the reader reads again; the waker sleeps
    };
    /** One read(2) on this thread: 'served' a request, 'ring' has requests, 'idle' (woken), 'again'. */
    const readHere = (): 'served' | 'ring' | 'idle' | 'again' | 'wait' => {
      if (Atomics.load(ctl, MODE) === 0) {
        Atomics.store(ctl, MODE, 1);
        Atomics.notify(ctl, MODE); // the waker starts ticking
      }
      // The reader is in (or on its way into) read(2): it takes the next request, then parks.
      // Reading here too would only make it send a wake-up request; wait for it instead.
      if (Atomics.load(ctl, READER_IN) === 1) return 'wait';
      // BLOCKED before looking at TAIL: either we see the reader's request or it sees us blocked
      // (and sends a request to end our read). Both are sequentially consistent stores/loads.
      Atomics.store(ctl, BLOCKED, 1);
      if (head !== Atomics.load(ctl, TAIL)) {
        Atomics.store(ctl, BLOCKED, 0);
        return 'ring';
      }
      let n: number;
      try {
        n = fs.readSync(this.fd, own, 0, own.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EINTR' || code === 'ENOENT' || code === 'EAGAIN') return 'again';
        this.close(code ?? String(e));
        return 'idle';
      } finally {
        Atomics.store(ctl, BLOCKED, 0);
        Atomics.add(ctl, READS, 1);
      }
      if (n === 0) {
        this.close('EOF');
        return 'idle';
      }
      const t = timing ? stageNow() : 0;
      if (isWake(own, n, ctl)) {
        this.answerWake(own);
        return 'idle';
      }
      bulk = isBulk(own, n);
      d.onRequest(n < COPY_BELOW ? own.slice(0, n) : own.subarray(0, n), undefined, t);
      return 'served';
    };
    let ev = 0;
    /** The last request served was a bulk transfer (ring.ts isBulk): no direct read for now. */
    let bulk = false;
    const step = (): void => {
      if (this.isClosed) return;
      ev = Atomics.load(ctl, EVENTS); // before looking at anything: a later event changes it
      if (drain() > 0) {
        setImmediate(step);
        return;
      }
      if (this.direct && d.inFlight === 0 && !bulk) {
        // Nothing in flight (so `own` is free, and no handler waits on the event loop): read here.
        // The event loop runs between two reads (setImmediate), a blocked read ends by the waker.
        const r = readHere();
        if (r === 'wait') {
          waitRing(); // the reader publishes its request and parks; then this thread reads
          return;
        }
        if (r !== 'idle') {
          setImmediate(step);
          return;
        }
      }
      if (Atomics.load(ctl, MODE) === 1 && Atomics.load(ctl, WAKING) > 0) {
        // A wake-up request is under way and only this thread reads now: take it (it comes at
        // once) before handing reading back, or nobody would ever answer it.
        if (readHere() === 'wait') waitRing();
        else setImmediate(step);
        return;
      }
      leaveDirect();
      if (!this.direct && this.lingerMs > 0 && d.inFlight === 0 && Atomics.wait(ctl, TAIL, head, this.lingerMs) !== 'timed-out') {
        drain();
        setImmediate(step);
        return;
      }
      waitRing();
    };
    /** Back to the event loop until the reader publishes (or parks: it notifies then too). */
    const waitRing = (): void => {
      const w = Atomics.waitAsync(ctl, EVENTS, ev);
      if (w.async) void w.value.then(step);
      else setImmediate(step);
    };
    const wk = new Worker(RING_READER_SOURCE, { eval: true, workerData: { fd: this.fd, ring, timing, mountpoint: this.direct ? this.mountpoint : undefined } });
    if (this.direct) {
      this.waker = new Worker(WAKER_SOURCE, { eval: true, workerData: { ring, mountpoint: this.mountpoint, tickMs: this.tickMs } });
      this.waker.on('error', (e) => this.close(`waker failed: ${e.message}`));
    }
    this.worker = wk;
    wk.on('message', (m: { req: Uint8Array; t: number } | { end: string }) => {
      if ('req' in m) this.dispatcher.onRequest(m.req, undefined, m.t);
      else {
        drain(); // requests published before the end still get their replies
        this.close(m.end);
      }
    });
    wk.on('error', (e) => {
      this.close(`reader failed: ${e.message}`);
    });
    step();
  }

  /**
   * Leave direct mode for good: once the mount point is being detached, the waker's statfs(2)
   * of it could no longer reach the mount, so the kernel thread must not sit in a read of its
   * own; the reader thread reads from here on.
   */
  private endDirect(): void {
    // The next step hands reading back to the reader thread (after any wake-up under way).
    this.direct = false;
  }

  /** The waker's STATFS: ENOENT, outside the dispatcher (no handler, no stats). */
  private answerWake(buf: Uint8Array): void {
    if (this.isClosed) return;
    const unique = new DataView(buf.buffer, buf.byteOffset, 16).getBigUint64(8, true);
    try {
      fs.writeSync(this.fd, emitError(unique, 2 /* ENOENT */));
    } catch {
      // interrupted or ending: nobody waits for this reply
    }
  }

  private close(why: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.ring !== undefined) {
      const ctl = new Int32Array(this.ring.ctl);
      Atomics.store(ctl, STOP, 1);
      Atomics.store(ctl, MODE, 0);
      Atomics.notify(ctl, MODE); // the reader reads (and fails), the waker exits
      Atomics.notify(ctl, KICK);
      Atomics.add(ctl, EVENTS, 1);
      Atomics.notify(ctl, EVENTS); // settle a pending waitAsync
    }
    if (this.stagesFile !== undefined && this.stages !== undefined) {
      try {
        fs.writeFileSync(this.stagesFile, JSON.stringify(this.stages) + '\n');
      } catch {
        // a measurement aid: nothing to do about a bad path here
      }
    }
    // No reply may be written after this: the fd number could be reused by an unrelated open.
    this.dispatcher.shutdown(why);
    const fd = this.fd;
    this.fd = -1;
    fs.close(fd, () => {});
    this.worker?.terminate().catch(() => {});
    this.waker?.terminate().catch(() => {});
    this.backPort?.close();
    this.resolveClosed(why);
  }

  // --- ending ---------------------------------------------------------------------------------

  /**
   * Detach the mount (`umount -l`, falling back to `fusermount3 -uz` / `fusermount -uz`) unless
   * the host already unmounted it, and wait for the session to end. With host processes still
   * holding files open on the mount, the kernel keeps the connection until they close them; use
   * abort() to cut it off.
   */
  async unmount(): Promise<string> {
    this.endDirect();
    // Already unmounted by the host: the connection ends when the last open file on it closes.
    if ((await this.connectionId()) === undefined) return this.closed;
    const tries: [string, string[]][] = [
      ['umount', ['-l', this.mountpoint]],
      ['fusermount3', ['-u', '-z', this.mountpoint]],
      ['fusermount', ['-u', '-z', this.mountpoint]],
    ];
    const failures: string[] = [];
    for (const [cmd, args] of tries) {
      const r = await run(cmd, args);
      if (r.code === 0) return this.closed;
      if ((await this.connectionId()) === undefined) return this.closed; // the host unmounted meanwhile
      failures.push(r.spawnError ? `${cmd}: ${r.spawnError.code}` : `${cmd} exited ${r.code}: ${r.stderr}`);
    }
    throw new Error(`fuse: could not unmount ${this.mountpoint}: ${failures.join('; ')}`);
  }

  /**
   * Abort the connection (/sys/fs/fuse/connections/N/abort): every pending and future host call on
   * the mount fails with ENOTCONN; our next read fails and `closed` resolves. The mount itself
   * stays until unmounted. If the fusectl file system is not mounted on /sys/fs/fuse/connections
   * (systemd normally mounts it at boot), this mounts it. Returns false if that fails or the
   * connection cannot be found.
   */
  async abort(): Promise<boolean> {
    this.endDirect();
    const dev = this.connId ?? (await this.connectionId());
    if (dev === undefined) return false;
    const ctl = '/sys/fs/fuse/connections';
    const file = `${ctl}/${dev}/abort`;
    if (!fs.existsSync(file)) {
      const mounted = (await fs.promises.readFile('/proc/self/mounts', 'utf8').catch(() => '')).includes(` ${ctl} fusectl `);
      if (!mounted) await run('mount', ['-t', 'fusectl', 'fusectl', ctl]);
    }
    try {
      await fs.promises.writeFile(file, '1');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The FUSE connection number (/sys/fs/fuse/connections/N: the mount's st_dev, an anonymous
   * device, so N is its minor), from /proc/self/mountinfo — never a call on the mount itself.
   * undefined when our mount is not (or no longer) there.
   */
  private async connectionId(): Promise<number | undefined> {
    const info = await fs.promises.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const unescape = (f: string) => f.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    let found: number | undefined;
    for (const line of info.split('\n')) {
      // 36 35 0:NN / /mnt/point rw,… - fuse.anykernel anykernel rw,…
      const f = line.split(' ');
      const sep = f.indexOf('-');
      if (sep < 0 || f[sep + 1] !== 'fuse.anykernel' || unescape(f[4] ?? '') !== this.mountpoint) continue;
      found = Number(f[2]!.split(':')[1]); // the last match is the topmost mount
    }
    return found;
  }
}
