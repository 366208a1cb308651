/**
 * The sysproxy client (rump's rumpclient): `connect(url)` gives an object
 * whose `sys` has the same method names, arguments and results as a local
 * kernel's `k.sys`, so the same test suites run through it.
 *
 *     const rk = await connect('unix:/tmp/ak.sock', { uid: 1000, gid: 1000 });
 *     const st = await rk.sys.stat('/etc');          // same Stat as library mode
 *     const child = await rk.fork();                  // a forked process context
 *     await rk.close();                               // its processes exit on the server
 *
 * Errors reject with KernelError (code, errno, syscall, path). A lost
 * connection rejects every call in flight with ECONNRESET.
 *
 * Buffers: in-buffers (write's data) go as raw bytes — inline when small,
 * else as DATA frames of at most `chunk` bytes after the CALL; out-buffers
 * (read's) go as their length only and the reply's bytes are copied straight
 * into the caller's Uint8Array, frame by frame. Writes larger than the
 * server's maxTransfer are split into consecutive calls (stopping at a short
 * count, as write(2) may); reads larger than it come back short, as read(2)
 * may.
 *
 * `ClientConn` is transport-independent; the worker transport uses it over a
 * MessagePort (worker.ts).
 */
import * as net from 'node:net';
import * as fs from 'node:fs';
import { KernelError, errno as E } from '../../kern/index.ts';
import type { Sys } from '../library/boot.ts';
import {
  FrameReader, FrameType, InBuf, OutBuf, PROTO_VERSION, ProtocolError, bufDirection, parseBufUses, type BufUses, decodeReplyAt, decodeValue, callFrame, emitFrame, setFrameId,
  encodeValue, errorSchema, fatalSchema, frameTypeName, welcomeSchema, Frame, type Value, type Welcome,
} from './protocol.ts';
import { parseAddress } from './server.ts';

export interface ConnectOptions {
  /** Token for servers that require one (always over TCP). */
  token?: string;
  /** Read the token from this file instead. */
  tokenFile?: string;
  /** Credentials to ask for (lowering is always allowed; raising needs --allow-setcred). */
  uid?: number;
  gid?: number;
  groups?: number[];
  /** Name shown by ps (comm). */
  comm?: string;
  /** Take over a process forked on another connection (`RemoteProcess.ticket`) instead of getting a new one. */
  attach?: string;
}

/** Where the client's outgoing frames go. */
export interface ClientTransport {
  send(frames: Uint8Array[]): void;
  /** send([frame]) without the array (optional). */
  send1?(frame: Uint8Array): void;
  close(): void;
}

interface Pending {
  name: string;
  /** Server staging bytes this call uses. */
  staged: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Caller buffers the reply's bytes are copied into, in order. */
  targets: Uint8Array[];
  /** Streaming cursor over targets for DATA frames. */
  ti: number;
  toff: number;
}

type SysFns = Record<string, (...args: unknown[]) => Promise<unknown>>;

export class ClientConn {
  private readonly tx: ClientTransport;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private inFlight = 0;
  /** Staging bytes the server holds for our calls in flight (kept under its maxStaged). */
  private stagedInFlight = 0;
  private readonly waiting: (() => void)[] = [];
  welcome: Welcome | null = null;
  private sysIds = new Map<string, number>();
  private sysKinds = new Map<string, string[]>();
  private sysBufs = new Map<string, BufUses | undefined>();
  /** Why the connection ended, once it has. */
  closedReason: string | null = null;
  private closedResolve!: (reason: string) => void;
  readonly closed: Promise<string>;
  /** A transport's reused receive buffer and a DataView of it, for decoding replies there without a DataView each. */
  private rxBuf: Uint8Array | null = null;
  private rxView: DataView | null = null;

  constructor(tx: ClientTransport) {
    this.tx = tx;
    this.closed = new Promise((r) => { this.closedResolve = r; });
  }

  // ---- incoming --------------------------------------------------------------

  /** The transport parses frames out of this one reused buffer (their `src`). */
  setReceiveBuffer(buf: Uint8Array): void {
    this.rxBuf = buf;
    this.rxView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Feed one frame from the server. A bad one ends the connection. */
  receive(f: Frame): void {
    try {
      this.handle(f);
    } catch (e) {
      this.lost(e instanceof ProtocolError ? `${e.code}: bad frame from server: ${e.message}` : `client bug: ${String(e)}`);
      this.tx.close();
    }
  }

  private handle(f: Frame): void {
    if (f.type === FrameType.FATAL) {
      const p = fatalSchema.safeParse(decodeValue(f.body));
      this.lost(p.success ? `server closed the connection: ${p.data.code}: ${p.data.message}` : 'server closed the connection');
      return;
    }
    const p = this.pending.get(f.id);
    if (p === undefined) throw new ProtocolError('EPROTO', `${frameTypeName(f.type)} for unknown call ${f.id}`);
    switch (f.type) {
      case FrameType.WELCOME: {
        const w = welcomeSchema.safeParse(decodeValue(f.body));
        if (!w.success) throw new ProtocolError('EPROTO', 'bad WELCOME');
        this.finish(f.id, p);
        p.resolve(w.data);
        return;
      }
      case FrameType.DATA: {
        let src = f.body;
        while (src.byteLength > 0) {
          const dst = p.targets[p.ti];
          if (dst === undefined) throw new ProtocolError('EPROTO', `DATA for call ${f.id} overruns its buffers`);
          const n = Math.min(src.byteLength, dst.byteLength - p.toff);
          dst.set(src.subarray(0, n), p.toff);
          src = src.subarray(n);
          p.toff += n;
          if (p.toff === dst.byteLength) {
            p.ti++;
            p.toff = 0;
          }
        }
        return;
      }
      case FrameType.REPLY: {
        // Returned bytes go straight from the frame into the caller's buffers.
        const result = decodeReplyAt(f.src, f.start, f.end, p.targets, f.src === this.rxBuf ? this.rxView : null);
        this.finish(f.id, p);
        p.resolve(result);
        return;
      }
      case FrameType.ERROR: {
        const e = errorSchema.safeParse(decodeValue(f.body));
        if (!e.success) throw new ProtocolError('EPROTO', 'bad ERROR body');
        this.finish(f.id, p);
        p.reject(new KernelError(e.data.errno, e.data.syscall || p.name, e.data.path, e.data.dest));
        return;
      }
      default:
        throw new ProtocolError('EPROTO', `a server may not send ${frameTypeName(f.type)}`);
    }
  }

  private finish(id: number, p: Pending): void {
    this.pending.delete(id);
    this.inFlight--;
    this.stagedInFlight -= p.staged;
    // Wake everyone waiting: a large call may fit now where a small one did not before.
    if (this.waiting.length > 0) for (const w of this.waiting.splice(0)) w();
  }

  private mustWait(staged: number): boolean {
    const lim = this.welcome?.limits;
    if (lim === undefined) return this.inFlight >= 1;
    return this.inFlight >= lim.maxInFlight || (this.inFlight > 0 && this.stagedInFlight + staged > lim.maxStaged);
  }

  /** The transport is gone: fail everything in flight. */
  lost(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    for (const p of this.pending.values()) {
      const e = new KernelError(E.ECONNRESET, p.name);
      (e as { cause?: unknown }).cause = reason;
      p.reject(e);
    }
    this.pending.clear();
    for (const w of this.waiting.splice(0)) w();
    this.closedResolve(reason);
  }

  // ---- outgoing --------------------------------------------------------------

  private async slot(name: string, staged: number): Promise<void> {
    while (this.mustWait(staged) && this.closedReason === null) await new Promise<void>((r) => this.waiting.push(r));
    if (this.closedReason !== null) {
      const e = new KernelError(E.ECONNRESET, name);
      (e as { cause?: unknown }).cause = this.closedReason;
      throw e;
    }
    this.inFlight++;
    this.stagedInFlight += staged;
  }

  private request(type: number, name: string, body: Uint8Array): Promise<unknown> {
    return this.send(name, emitFrame(type, 0, body), NO_BUFS, NO_BUFS, 0);
  }

  /**
   * Send a finished frame (its id is set here) plus its DATA frames. Not an
   * async function: the common case (a free slot) makes one promise, not a
   * promise resolved with another.
   */
  private send(name: string, frame: Uint8Array, targets: Uint8Array[], data: Uint8Array[], staged: number): Promise<unknown> {
    if (this.mustWait(staged) || this.closedReason !== null) {
      return this.slot(name, staged).then(() => this.sendNow(name, frame, targets, data, staged));
    }
    this.inFlight++;
    this.stagedInFlight += staged;
    return this.sendNow(name, frame, targets, data, staged);
  }

  /** The slot is taken: assign the id, register the call, write. */
  private sendNow(name: string, frame: Uint8Array, targets: Uint8Array[], data: Uint8Array[], staged: number): Promise<unknown> {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    const done = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { name, staged, resolve, reject, targets, ti: 0, toff: 0 });
    });
    setFrameId(frame, id);
    if (data.length === 0 && this.tx.send1 !== undefined) {
      this.tx.send1(frame);
      return done;
    }
    const frames = [frame];
    const chunk = this.welcome?.limits.chunk ?? 1 << 20;
    for (const d of data) for (let o = 0; o < d.byteLength; o += chunk) frames.push(emitFrame(FrameType.DATA, id, d.subarray(o, Math.min(o + chunk, d.byteLength))));
    this.tx.send(frames);
    return done;
  }

  async hello(opts: ConnectOptions): Promise<Welcome> {
    const h: Record<string, Value> = { version: PROTO_VERSION };
    if (opts.token !== undefined) h.token = opts.token;
    if (opts.uid !== undefined) h.uid = opts.uid;
    if (opts.gid !== undefined) h.gid = opts.gid;
    if (opts.groups !== undefined) h.groups = opts.groups;
    if (opts.comm !== undefined) h.comm = opts.comm;
    if (opts.attach !== undefined) h.attach = opts.attach;
    const w = (await this.request(FrameType.HELLO, 'hello', encodeValue(h))) as Welcome;
    this.welcome = w;
    this.sysIds = new Map(w.syscalls.map(([name], i) => [name, i]));
    this.sysKinds = new Map(w.syscalls.map(([name, , kinds]) => [name, kinds]));
    this.sysBufs = new Map(w.syscalls.map(([name, , , uses]) => [name, parseBufUses(uses)]));
    return w;
  }

  /** One system call as process context `ctx`. */
  call(ctx: number, name: string, args: unknown[]): Promise<unknown> {
    try {
      return this.call1(ctx, name, args);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private call1(ctx: number, name: string, args: unknown[]): Promise<unknown> {
    const id = this.sysIds.get(name);
    if (id === undefined) throw new KernelError(E.ENOSYS, name);
    const w = this.welcome!;
    const big = bigWrite(name, args, w.limits.maxTransfer);
    if (big !== null) return this.splitWrite(ctx, name, args, big);
    let targets = NO_BUFS, data = NO_BUFS;
    let wire = args;
    // Only calls with buffer arguments need rewriting (most calls have none).
    if (args.some(isBufArg)) {
      targets = [];
      data = [];
      const inline = w.limits.inline;
      const kinds = this.sysKinds.get(name)!;
      const uses = this.sysBufs.get(name);
      wire = args.map((a, i) => (Array.isArray(a) ? a.map((x) => wireBuf(x, uses, i, kinds[i], inline, targets, data)) : wireBuf(a, uses, i, kinds[i], inline, targets, data)));
    }
    let frame: Uint8Array;
    try {
      frame = callFrame(0, ctx, id, wire);
    } catch {
      throw new KernelError(E.EFAULT, name); // an argument the protocol cannot carry (a function...)
    }
    if (frame.byteLength > w.limits.maxFrame) throw new KernelError(E.E2BIG, name);
    const staged = wire === args ? 0 : stagedBytes(wire);
    // writev/pwritev (or an unknown call) carrying more than one call may stage: Linux's
    // EINVAL for an iovec total it cannot take (write and pwrite are split above instead).
    if (staged > w.limits.maxTransfer) throw new KernelError(E.EINVAL, name);
    return this.send(name, frame, targets, data, staged);
  }

  /** write/pwrite of more than maxTransfer bytes: consecutive calls, stopping at a short count. */
  private async splitWrite(ctx: number, name: string, args: unknown[], max: number): Promise<number> {
    const buf = args[1] as Uint8Array;
    const positioned = name === 'pwrite';
    const off = positioned ? args[2] : undefined;
    let done = 0;
    while (done < buf.byteLength) {
      const piece = buf.subarray(done, Math.min(done + max, buf.byteLength));
      const a = positioned ? [args[0], piece, typeof off === 'bigint' ? off + BigInt(done) : (off as number) + done] : [args[0], piece];
      let n: number;
      try {
        n = (await this.call(ctx, name, a)) as number;
      } catch (e) {
        if (done > 0) return done; // write(2): an error after progress reports the progress
        throw e;
      }
      done += n;
      if (n < piece.byteLength) break;
    }
    return done;
  }

  fork(ctx: number): Promise<{ ctx: number; pid: number; ticket: string }> {
    return this.request(FrameType.FORK, 'fork', encodeValue({ ctx })) as Promise<{ ctx: number; pid: number; ticket: string }>;
  }

  exit(ctx: number, status: number): Promise<unknown> {
    return this.request(FrameType.EXIT, 'exit', encodeValue({ ctx, status }));
  }

  halt(): Promise<unknown> {
    return this.request(FrameType.HALT, 'halt', encodeValue(null));
  }

  /** Build the `sys` object for one process context. */
  buildSys(ctx: number): Sys {
    const sys: SysFns = Object.create(null);
    for (const [name] of this.welcome!.syscalls) sys[name] = (...args: unknown[]) => this.call(ctx, name, args);
    return sys as unknown as Sys;
  }

  close(): void {
    this.tx.close();
  }
}

const NO_BUFS: Uint8Array[] = [];
/** The socket client's reused read buffer. */
const READ_BUFFER = 256 * 1024;

/** A frame that no longer views a reused buffer. */
function copyFrame(f: Frame): Frame {
  return Frame.of(f.type, f.flags, f.id, f.body.slice());
}

/** Bytes the server must stage from DATA frames for this call (its maxStaged budget counts these). */
function stagedBytes(wire: unknown[]): number {
  let n = 0;
  for (const a of wire) {
    if (a instanceof InBuf) n += a.length;
    else if (Array.isArray(a)) for (const x of a) if (x instanceof InBuf) n += x.length;
  }
  return n;
}

function isBufArg(a: unknown): boolean {
  return a instanceof Uint8Array || (Array.isArray(a) && a.length > 0 && a[0] instanceof Uint8Array);
}

/** How one buffer argument travels: OutBuf (length only), inline bytes, or InBuf + DATA frames. */
function wireBuf(v: unknown, uses: BufUses | undefined, i: number, kind: string | undefined, inline: number, targets: Uint8Array[], data: Uint8Array[]): unknown {
  if (!(v instanceof Uint8Array)) return v;
  const dir = bufDirection(uses, i, kind);
  if (dir === 'out') {
    targets.push(v);
    return new OutBuf(v.byteLength);
  }
  if (dir === 'inout') targets.push(v);
  if (v.byteLength > inline) {
    data.push(v);
    return new InBuf(v.byteLength);
  }
  return v;
}

function bigWrite(name: string, args: unknown[], max: number): number | null {
  if (name !== 'write' && name !== 'pwrite') return null;
  const b = args[1];
  return b instanceof Uint8Array && b.byteLength > max ? max : null;
}

/** A process context reached through a connection. */
export class RemoteProcess {
  readonly conn: ClientConn;
  readonly ctx: number;
  readonly pid: number;
  readonly sys: Sys;
  /**
   * For a forked process: a one-time ticket with which another connection
   * (`connect(url, { attach: ticket })`, e.g. from a host child process) takes
   * it over. Null for a connection's main process.
   */
  readonly ticket: string | null;

  constructor(conn: ClientConn, ctx: number, pid: number, ticket: string | null = null) {
    this.conn = conn;
    this.ctx = ctx;
    this.pid = pid;
    this.ticket = ticket;
    this.sys = conn.buildSys(ctx);
  }

  /** fork(2) of this context: a child with a copy of its fd table and credentials. */
  async fork(): Promise<RemoteProcess> {
    const r = await this.conn.fork(this.ctx);
    return new RemoteProcess(this.conn, r.ctx, r.pid, r.ticket);
  }

  /** End this (forked) process; the main context ends with close(). */
  async exit(status = 0): Promise<void> {
    await this.conn.exit(this.ctx, status);
  }
}

/** What connect() returns: the connection's main process plus control. */
export class RemoteKernel extends RemoteProcess {
  readonly welcome: Welcome;

  constructor(conn: ClientConn, welcome: Welcome) {
    super(conn, 0, welcome.pid);
    this.welcome = welcome;
  }

  /** Resolves with the reason once the connection has ended. */
  get closed(): Promise<string> {
    return this.conn.closed;
  }

  /** Halt the server's kernel (root only). */
  async halt(): Promise<void> {
    await this.conn.halt();
  }

  /** Disconnect: the server ends this connection's processes. */
  async close(): Promise<void> {
    this.conn.close();
    await this.conn.closed;
  }
}

/** An error of connect() itself, shaped like Node's SystemError: `code`, `syscall`, `address`. */
export class ConnectError extends Error {
  override name = 'ConnectError';
  readonly code: string;
  readonly syscall = 'connect';
  readonly address: string;
  constructor(address: string, code: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.address = address;
  }
}

function hostFailureHint(code: string | undefined): string {
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return ' (is `anykernel serve` running there?)';
  if (code === 'EACCES') return ' (the socket is mode 0600: connect as its owner, or serve with --socket-mode)';
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return ' (check the host and port, and any firewall between)';
  return '';
}

/** Connect over a node socket (unix or TCP). Fails with a ConnectError, or a KernelError the server sent (EACCES for a bad token). */
export async function connect(url: string, opts: ConnectOptions = {}): Promise<RemoteKernel> {
  let addr: ReturnType<typeof parseAddress>;
  try {
    addr = parseAddress(url);
  } catch (e) {
    throw new ConnectError(url, 'EINVAL', (e as Error).message, e);
  }
  let token = opts.token;
  if (token === undefined && opts.tokenFile !== undefined) {
    try {
      token = fs.readFileSync(opts.tokenFile, 'utf8').trim();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new ConnectError(url, code, `cannot read the token file ${opts.tokenFile}: ${code}; it holds the token the server was started with (--token-file)`, e);
    }
  }
  // The server's frames can be as large as its maxFrame; before WELCOME, the default.
  const reader = new FrameReader(64 * 1024 * 1024);
  let conn: ClientConn | null = null;
  let early: Frame[] = [];
  // Reads go into one reused buffer (net's `onread`), skipping the Readable
  // stream's per-chunk Buffer and events; every frame is consumed before the
  // callback returns, and FrameReader copies what it keeps for later.
  const readBuf = Buffer.allocUnsafe(READ_BUFFER);
  // A plain view, made once: FrameReader copies with slice(), which on a Buffer would be another view.
  const rx = new Uint8Array(readBuf.buffer, readBuf.byteOffset, READ_BUFFER);
  const onread = {
    buffer: readBuf,
    callback: (n: number): boolean => {
      let frames: Frame[];
      try {
        frames = reader.push(rx, true, n);
      } catch (e) {
        if (conn !== null) conn.lost(`bad frame from server: ${e instanceof Error ? e.message : String(e)}`);
        sock.destroy();
        return false;
      }
      if (conn === null) early = early.concat(frames.map(copyFrame));
      else for (const f of frames) conn.receive(f);
      return true;
    },
  };
  const sock = addr.kind === 'unix' ? net.connect({ path: addr.path, onread }) : net.connect({ port: addr.port, host: addr.host, onread });
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', (e: NodeJS.ErrnoException) => {
      reject(new ConnectError(url, e.code ?? 'EIO', `cannot connect to ${url}: ${e.code ?? e.message}${hostFailureHint(e.code)}`, e));
    });
  });
  conn = new ClientConn({
    send: (frames) => {
      if (sock.destroyed) return;
      if (frames.length === 1) sock.write(frames[0]!);
      else {
        sock.cork();
        for (const f of frames) sock.write(f);
        sock.uncork();
      }
    },
    send1: (frame) => {
      if (!sock.destroyed) sock.write(frame);
    },
    close: () => sock.end(),
  });
  conn.setReceiveBuffer(rx);
  for (const f of early) conn.receive(f);
  early = [];
  sock.on('error', () => { /* close follows */ });
  sock.on('close', () => conn.lost('connection closed'));
  let welcome: Welcome;
  try {
    welcome = await conn.hello({ ...opts, token });
  } catch (e) {
    sock.destroy();
    if (e instanceof KernelError && e.errno === E.ECONNRESET) {
      throw new ConnectError(url, 'ECONNRESET', `${url}: ${conn.closedReason ?? 'connection closed during handshake'} (is it an anykernel server, of a compatible version?)`, e);
    }
    throw e;
  }
  return new RemoteKernel(conn, welcome);
}
