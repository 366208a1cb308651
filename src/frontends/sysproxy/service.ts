/**
 * The transport-independent half of the sysproxy server (rump_server's
 * sp_handler): one `SysproxyService` per served kernel, one `ServerConn` per
 * client connection, whatever carries its frames (a unix or TCP socket, a
 * MessagePort, a SharedArrayBuffer exchange).
 *
 * Connection lifecycle:
 *   HELLO (token, requested credentials) → the connection's process is
 *   created with `rfork({ fd: 'clean' })` under init (ctx 0) → CALL / FORK /
 *   EXIT / HALT frames, many in flight → the transport closes (or a bad frame
 *   makes us send FATAL and close it) → every process of the connection is
 *   exited and reaped (kern's teardownTree), which closes every descriptor
 *   it held. The connection's process is a child subreaper, so what its
 *   forked contexts leave behind when they exit stays in its tree.
 *
 * Credentials (the policy README.md documents): each connection starts from
 * the service's base credentials (default root: whoever can open the 0600
 * socket, or holds the TCP token, owns this kernel, as with rump_server).
 * HELLO may ask for other ids. Asking from a root base is lowering and always
 * allowed; asking a non-root base for different ids is raising and refused
 * (EPERM) unless the service runs with allowSetcred.
 *
 * Limits per connection: RLIMIT_NOFILE of its processes (maxFds), calls in
 * flight (maxInFlight), frame size (maxFrame, enforced by the transport's
 * FrameReader), staging bytes per call (maxTransfer) and for all calls in
 * flight (maxStaged), processes (maxProcs).
 *
 * @guardedBy the Node event loop: all state changes happen in one turn.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { BootedKernel } from '../library/boot.ts';
import { errno as E, KernelError, RLIMIT_NOFILE, setRlimit, syscallInvoker, teardownTree, type LeakReport, type Proc } from '../../kern/index.ts';
import {
  DEFAULT_LIMITS, FrameType, InBuf, OutBuf, ProtocolError, Writer, argsValidator, bufDirection, decodeValue, emitFrame,
  encodeValue, exitSchema, forkSchema, frameTypeName, helloSchema, outBytesUsed, parseCall, valueFrame, writeReply,
  emitBufUses, type ArgsValidator, type BufDir, type BufUses, type Frame, type Limits, type Value,
} from './protocol.ts';

export interface ServiceOptions {
  /** Shared secret a client must present in HELLO (required for TCP by the CLI). */
  token?: string;
  /** Let clients ask for credentials above the base ones. */
  allowSetcred?: boolean;
  /** Base credentials of a connection's process (default root). */
  cred?: { uid: number; gid: number; groups?: number[] };
  limits?: Partial<Limits>;
  /** Called after a successful HALT with the leak report (the CLI exits). */
  onHalt?: (report: LeakReport) => void;
}

/** Where a connection's outgoing frames go. */
export interface FrameSink {
  send(frames: Uint8Array[]): void;
  /** Optional: bytes sent but not yet taken by the peer (replies it has not read); they count against maxStaged. */
  backlog?(): number;
  /** send([frame]) without the array. */
  send1(frame: Uint8Array): void;
  /**
   * Optional: a Writer (header reserved) to build the next REPLY in, for a
   * transport that can take it where it lies (the sync exchange's shared
   * area). Default: a fresh Writer of `size` bytes.
   */
  replyWriter?(size: number): Writer;
  /**
   * Optional: take a finished REPLY (`finish()` was called) from its writer
   * (replyWriter's or the default one) instead of a frame view through
   * send1 — the sync exchange needs only its length, a socket a Buffer view.
   */
  sendWriter?(w: Writer): void;
  /** Close the transport (after flushing what was sent). */
  close(): void;
}

interface SysEntry {
  name: string;
  nr: number;
  args: string[];
  validate: ArgsValidator;
  /** invokeSyscall for this call, looked up once. */
  invoke: (proc: Proc, args: unknown[]) => Promise<unknown>;
  /** Returns a struct stat: a result of that shape travels as T_STAT. */
  statReply: boolean;
  /** Buffer arguments the call only fills or only reads (SyscallDef.bufs). */
  bufs: BufUses | undefined;
}

/** The calls whose result is a struct stat (src/kern sys_descrip.ts, src/vfs vfs_syscalls.ts). */
export class SysproxyService {
  readonly kernel: BootedKernel;
  readonly limits: Limits;
  readonly allowSetcred: boolean;
  readonly cred: { uid: number; gid: number; groups: number[] };
  private readonly tokenHash: Buffer | null;
  private readonly onHalt: ((r: LeakReport) => void) | undefined;
  /** @guardedBy event loop */
  readonly conns = new Set<ServerConn>();
  private table: SysEntry[] | null = null;
  /** Forked contexts another connection may take over (rump's fork cookie): ticket → owner. @guardedBy event loop */
  readonly tickets = new Map<string, { conn: ServerConn; ctx: number }>();
  /** Which connection a context process belongs to (teardown leaves others' processes alone). */
  readonly owners = new WeakMap<Proc, ServerConn>();
  private idleWaiters: (() => void)[] = [];
  private nextConnId = 1;
  halted = false;

  constructor(kernel: BootedKernel, opts: ServiceOptions = {}) {
    this.kernel = kernel;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.allowSetcred = opts.allowSetcred ?? false;
    this.cred = { uid: opts.cred?.uid ?? 0, gid: opts.cred?.gid ?? 0, groups: opts.cred?.groups ?? [] };
    this.tokenHash = opts.token !== undefined ? sha256(opts.token) : null;
    this.onHalt = opts.onHalt;
  }

  /** The syscall table as announced in WELCOME, with zod validators (built once, at first use). */
  syscallTable(): SysEntry[] {
    const k = this.kernel.kernel;
    if (this.table === null || this.table.length !== k.syscalls.byName.size) {
      this.table = [...k.syscalls.byName.values()].map((d) => ({
        name: d.name, nr: d.nr, args: d.args.slice(), validate: argsValidator(d.args), invoke: syscallInvoker(k, d.name)!, statReply: d.returnsStat === true, bufs: d.bufs,
      }));
    }
    return this.table;
  }

  get tokenRequired(): boolean {
    return this.tokenHash !== null;
  }

  checkToken(token: string | undefined): boolean {
    if (this.tokenHash === null) return true;
    if (token === undefined) return false;
    // Hash first so the comparison is constant-time whatever the lengths.
    return timingSafeEqual(sha256(token), this.tokenHash);
  }

  /** A new connection; `label` names it in dmesg ("unix", "tcp 127.0.0.1:5000"...). */
  /**
   * `adopt`: the connection serves this existing process (its HELLO gets
   * WELCOME for it, without credentials or token) and leaves it alone when
   * it closes — the process's life is the kernel's (monolithic frontend).
   */
  accept(sink: FrameSink, label: string, opts: { inlineAll?: boolean; needToken?: boolean; adopt?: Proc } = {}): ServerConn {
    const c = new ServerConn(this, sink, `${label}#${this.nextConnId++}`, opts.inlineAll ?? false, opts.adopt ? false : opts.needToken ?? this.tokenRequired);
    if (opts.adopt) c.adopted = opts.adopt;
    this.conns.add(c);
    return c;
  }

  /** @internal a connection finished its teardown. */
  gone(c: ServerConn): void {
    this.conns.delete(c);
    if (this.conns.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when no connection is open or tearing down (tests use it before the leak report). */
  whenIdle(): Promise<void> {
    if (this.conns.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  log(text: string): void {
    this.kernel.kernel.log('info', `sysproxy: ${text}`);
  }

  /** Close every connection, then halt the kernel. */
  async halt(): Promise<LeakReport> {
    this.halted = true;
    for (const c of [...this.conns]) c.close('server halting');
    await this.whenIdle();
    const report = await this.kernel.shutdown();
    this.onHalt?.(report);
    return report;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** One out-buffer of a call: where the reply's bytes go back to. */
interface OutTarget {
  buf: Uint8Array;
  dir: BufDir;
}

interface PendingIn {
  ctx: number;
  entry: SysEntry;
  args: unknown[];
  outs: OutTarget[];
  ins: Uint8Array[];
  /** Which staging buffer and where in it the next DATA byte goes. */
  idx: number;
  off: number;
  /** Staging bytes this call holds: [all, DATA-borne]. */
  staged: [number, number];
}

const STATUS_KILLED = 9;
/** First buffer size of a REPLY writer: a Stat's reply fits without growing. */
const REPLY_SIZE_HINT = 512;
const NO_OUTS: OutTarget[] = [];

interface StageState {
  entry: SysEntry;
  /** Staging bytes of this call: all, and the part announced as DATA. */
  staged: number;
  inStaged: number;
  outs: OutTarget[];
  ins: Uint8Array[];
}
/** Out-buffers are never clamped below this (see call()). */
const OUT_FLOOR = 64 * 1024; // wait status of a process ended by SIGKILL

export class ServerConn {
  readonly service: SysproxyService;
  readonly label: string;
  private readonly sink: FrameSink;
  private readonly inlineAll: boolean;
  private readonly needToken: boolean;
  /** Process contexts of this connection: ctx 0 is its main process. */
  readonly procs = new Map<number, Proc>();
  /** Contexts that exited through EXIT, reaped at teardown if their parent did not. */
  private readonly zombies = new Set<Proc>();
  private nextCtx = 1;
  private inFlight = 0;
  /** Bytes of staging buffers held by calls in flight (bounded by limits.maxStaged). */
  private stagedBytes = 0;
  /** The part of stagedBytes announced by the client as DATA (InBuf); over maxStaged is a protocol error. */
  private stagedIn = 0;
  private readonly pendingIn = new Map<number, PendingIn>();
  private state: 'hello' | 'open' | 'closing' | 'closed' = 'hello';
  /** The existing process this connection serves (accept's `adopt`), or null. */
  adopted: Proc | null = null;

  constructor(service: SysproxyService, sink: FrameSink, label: string, inlineAll: boolean, needToken: boolean) {
    this.service = service;
    this.sink = sink;
    this.label = label;
    this.inlineAll = inlineAll;
    this.needToken = needToken;
  }

  get open(): boolean {
    return this.state === 'hello' || this.state === 'open';
  }

  /** HELLO was accepted. */
  get greeted(): boolean {
    return this.state !== 'hello';
  }

  /** Feed one received frame. Never throws: a bad frame ends the connection. */
  receive(f: Frame): void {
    if (!this.open) return;
    try {
      this.handle(f);
    } catch (e) {
      if (e instanceof ProtocolError) this.fatal(e.code, e.message);
      else this.fatal('EIO', `server bug handling ${frameTypeName(f.type)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The transport reported bytes that are not a frame. */
  protocolError(e: unknown): void {
    if (e instanceof ProtocolError) this.fatal(e.code, e.message);
    else this.fatal('EPROTO', String(e));
  }

  /** Send FATAL {code, message} and close. */
  fatal(code: string, message: string): void {
    if (!this.open) return;
    this.service.log(`${this.label}: closing: ${code}: ${message}`);
    this.sink.send([emitFrame(FrameType.FATAL, 0, encodeValue({ code, message }))]);
    this.close(message);
  }

  /** Close the transport and end every process of the connection. */
  close(reason: string): void {
    if (!this.open) return;
    this.state = 'closing';
    this.pendingIn.clear();
    this.sink.close();
    void this.teardown(reason);
  }

  /** The transport went away (peer closed, socket error). */
  lost(reason: string): void {
    if (!this.open) return;
    this.state = 'closing';
    this.pendingIn.clear();
    void this.teardown(reason);
  }

  private async teardown(reason: string): Promise<void> {
    const k = this.service.kernel.kernel;
    if (this.adopted !== null) this.procs.clear(); // not ours to end
    try {
      if (this.procs.size > 0) this.service.log(`${this.label}: disconnected (${reason}); ending pids ${[...this.procs.values()].map((p) => p.pid).join(' ')}`);
      // Every process the connection made — its contexts and whatever they
      // fork(2)ed through the kernel — deepest first, so none outlives it;
      // processes attached to another connection stay with it.
      const roots = [...this.procs.values(), ...this.zombies];
      await teardownTree(k, roots, STATUS_KILLED, (p) => {
        const owner = this.service.owners.get(p);
        return owner !== undefined && owner !== this;
      });
    } catch (e) {
      this.service.log(`${this.label}: teardown failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      for (const [t, v] of this.service.tickets) if (v.conn === this) this.service.tickets.delete(t);
      this.procs.clear();
      this.state = 'closed';
      this.service.gone(this);
    }
  }

  private send(frames: Uint8Array[]): void {
    if (this.state === 'open') this.sink.send(frames);
  }

  private handle(f: Frame): void {
    if (this.state === 'hello') {
      if (f.type !== FrameType.HELLO) throw new ProtocolError('EPROTO', `expected HELLO first, got ${frameTypeName(f.type)}`);
      return this.hello(f);
    }
    switch (f.type) {
      case FrameType.CALL: return this.call(f);
      case FrameType.DATA: return this.data(f);
      case FrameType.FORK: return this.fork(f);
      case FrameType.EXIT: return this.exit(f);
      case FrameType.HALT: return this.halt(f);
      default:
        throw new ProtocolError('EPROTO', `a client may not send ${frameTypeName(f.type)}`);
    }
  }

  private hello(f: Frame): void {
    const parsed = helloSchema.safeParse(decodeValue(f.body));
    if (!parsed.success) throw new ProtocolError('EPROTO', `bad HELLO: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const h = parsed.data;
    const svc = this.service;
    if (svc.halted) return this.fatal('ESHUTDOWN', 'the server is halting');
    if (this.needToken && !svc.checkToken(h.token)) {
      return this.fatal('EACCES', h.token === undefined ? 'this server requires a token (pass { token } or --token-file)' : 'wrong token');
    }
    if (this.adopted !== null) {
      if (this.adopted.state !== 'alive') return this.fatal('ESRCH', `pid ${this.adopted.pid} has exited`);
      return this.welcome(f.id, this.adopted);
    }
    if (h.attach !== undefined) return this.attach(f.id, h.attach, h.uid !== undefined || h.gid !== undefined || h.groups !== undefined);
    const base = svc.cred;
    const uid = h.uid ?? base.uid, gid = h.gid ?? base.gid;
    const groups = h.groups ?? (h.uid === undefined && h.gid === undefined ? base.groups : []);
    const raising = base.uid !== 0 && (uid !== base.uid || gid !== base.gid || groups.some((g) => !base.groups.includes(g) && g !== base.gid));
    if (raising && !svc.allowSetcred) {
      return this.fatal('EPERM', `credentials uid=${uid} gid=${gid} groups=${groups.join(',')} exceed this server's uid=${base.uid} gid=${base.gid}; restart the server with --allow-setcred to permit it`);
    }
    const k = svc.kernel.kernel;
    // rfork from init (root) with explicit ids: the policy check was ours, above.
    const handle = svc.kernel.rfork({ parent: k.initproc, fd: 'clean', uid, gid, groups, comm: `sysproxy:${h.comm ?? 'client'}`.slice(0, 64) });
    const proc = handle.proc;
    // A hard limit too, so the client cannot raise it back (prlimit64 needs privilege for that).
    setRlimit(proc, RLIMIT_NOFILE, svc.limits.maxFds, svc.limits.maxFds);
    this.welcome(f.id, proc);
  }

  /**
   * HELLO with a ticket from FORK: this connection takes over that forked
   * context as its own ctx 0, with its credentials and descriptors — how a
   * host process that fork(2)ed gives its child its own connection
   * (rumpclient's fork cookie).
   */
  private attach(id: number, ticket: string, credsAsked: boolean): void {
    const svc = this.service;
    if (credsAsked) return this.fatal('EINVAL', 'HELLO with attach takes the forked process\'s credentials; do not also ask for uid/gid/groups');
    const t = svc.tickets.get(ticket);
    svc.tickets.delete(ticket);
    const proc = t?.conn.procs.get(t.ctx);
    if (t === undefined || proc === undefined || proc.state !== 'alive') {
      return this.fatal('ESRCH', 'no forked process waits for this attach ticket (used already, or its connection or process has ended)');
    }
    t.conn.procs.delete(t.ctx);
    this.welcome(id, proc);
  }

  private welcome(id: number, proc: Proc): void {
    const svc = this.service;
    const k = svc.kernel.kernel;
    // Orphans of the connection's forked contexts are adopted here, not by
    // init, so teardown finds the whole tree (Linux PR_SET_CHILD_SUBREAPER) —
    // unless the process is the kernel's, only served here (accept's adopt).
    if (proc !== this.adopted) proc.subreaper = true;
    this.procs.set(0, proc);
    svc.owners.set(proc, this);
    this.state = 'open';
    const table = svc.syscallTable();
    this.send([emitFrame(FrameType.WELCOME, id, encodeValue({
      version: 1,
      server: `anykernel on ${k.hyper.hostName}`,
      pid: proc.pid,
      syscalls: table.map((e) => [e.name, e.nr, e.args, emitBufUses(e.bufs)]),
      limits: { ...svc.limits },
    }))]);
  }

  private ctxProc(ctx: number): Proc | null {
    const p = this.procs.get(ctx);
    return p !== undefined && p.state === 'alive' ? p : null;
  }

  private call(f: Frame): void {
    const { ctx, sysId, args } = parseCall(f.src, f.start, f.end);
    const svc = this.service;
    const table = svc.syscallTable();
    const entry = table[sysId];
    if (entry === undefined) throw new ProtocolError('EPROTO', `CALL names syscall id ${sysId}; the table has ${table.length}`);
    if (this.inFlight >= svc.limits.maxInFlight || this.pendingIn.has(f.id)) {
      throw new ProtocolError('EAGAIN', this.pendingIn.has(f.id) ? `call id ${f.id} reused while its data is still arriving` : `more than ${svc.limits.maxInFlight} calls in flight`);
    }
    // Most calls (stat, getpid...) carry no buffer and nothing to stage.
    let plain = true;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (typeof a === 'object' && a !== null) { plain = false; break; }
    }
    if (plain) {
      this.inFlight++;
      return this.dispatch(f.id, ctx, entry, args, NO_OUTS, 0, 0);
    }
    // Replace placeholders with staging buffers; remember where replies go.
    const st: StageState = { entry, staged: 0, inStaged: 0, outs: [], ins: [] };
    const real = new Array<unknown>(args.length);
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (Array.isArray(a)) {
        const r = new Array<unknown>(a.length);
        for (let j = 0; j < a.length; j++) r[j] = this.stage(st, a[j], i);
        real[i] = r;
      } else real[i] = this.stage(st, a, i);
    }
    const { staged, inStaged, outs, ins } = st;
    this.inFlight++;
    this.stagedBytes += staged;
    this.stagedIn += inStaged;
    if (ins.length > 0 && ins.some((b) => b.byteLength > 0)) {
      this.pendingIn.set(f.id, { ctx, entry, args: real, outs, ins: ins.filter((b) => b.byteLength > 0), idx: 0, off: 0, staged: [staged, inStaged] });
      return;
    }
    this.dispatch(f.id, ctx, entry, real, outs, staged, inStaged);
  }

  /** One argument of a call: placeholders become staging buffers (counted in `st`); buffers to send back are noted. */
  private stage(st: StageState, v: Value, i: number): unknown {
    const entry = st.entry;
    const lim = this.service.limits;
    if (v instanceof OutBuf) {
      // Bigger than a call (or the connection) may stage: the kernel sees a shorter
      // buffer (a short read). Never shorter than OUT_FLOOR, so a clamped read still
      // makes progress and never looks like end of file; reads are not held back by
      // the budget, or a blocked write could keep the read it waits for from starting.
      const unread = this.sink.backlog?.() ?? 0;
      const room = Math.max(OUT_FLOOR, Math.min(lim.maxTransfer - st.staged, lim.maxStaged - this.stagedBytes - unread - st.staged));
      const n = Math.min(v.length, room);
      st.staged += n;
      const b = new Uint8Array(n);
      st.outs.push({ buf: b, dir: 'out' });
      return b;
    }
    if (v instanceof InBuf) {
      const dir = bufDirection(entry.bufs, i, entry.args[i]);
      st.staged += v.length;
      st.inStaged += v.length;
      if (st.inStaged > lim.maxTransfer) throw new ProtocolError('EMSGSIZE', `call stages ${st.inStaged} bytes; the limit is ${lim.maxTransfer}`);
      if (this.stagedIn + st.inStaged > lim.maxStaged) throw new ProtocolError('EMSGSIZE', `calls in flight would stage ${this.stagedIn + st.inStaged} bytes of DATA; the limit is ${lim.maxStaged}`);
      const b = new Uint8Array(v.length);
      st.ins.push(b);
      if (dir === 'inout') st.outs.push({ buf: b, dir });
      return b;
    }
    if (v instanceof Uint8Array && bufDirection(entry.bufs, i, entry.args[i]) === 'inout') st.outs.push({ buf: v, dir: 'inout' });
    return v;
  }

  private data(f: Frame): void {
    const p = this.pendingIn.get(f.id);
    if (p === undefined) throw new ProtocolError('EPROTO', `DATA for call ${f.id}, which expects none`);
    let src = f.body;
    while (src.byteLength > 0) {
      const dst = p.ins[p.idx];
      if (dst === undefined) throw new ProtocolError('EPROTO', `DATA for call ${f.id} overruns its announced length`);
      const n = Math.min(src.byteLength, dst.byteLength - p.off);
      dst.set(src.subarray(0, n), p.off);
      src = src.subarray(n);
      p.off += n;
      if (p.off === dst.byteLength) {
        p.idx++;
        p.off = 0;
      }
    }
    if (p.idx === p.ins.length) {
      this.pendingIn.delete(f.id);
      this.dispatch(f.id, p.ctx, p.entry, p.args, p.outs, p.staged[0], p.staged[1]);
    }
  }

  private dispatch(id: number, ctx: number, entry: SysEntry, args: unknown[], outs: OutTarget[], staged: number, inStaged: number): void {
    const proc = this.ctxProc(ctx);
    const bad = proc === null ? E.ESRCH : entry.validate(args);
    if (bad !== 0) {
      this.inFlight--;
      this.stagedBytes -= staged;
      this.stagedIn -= inStaged;
      return this.sendError(id, new KernelError(bad, entry.name));
    }
    entry.invoke(proc!, args).then(
      (result) => {
        this.inFlight--;
        this.stagedBytes -= staged;
        this.stagedIn -= inStaged;
        this.reply(id, entry, result, outs);
      },
      (e: unknown) => {
        this.inFlight--;
        this.stagedBytes -= staged;
        this.stagedIn -= inStaged;
        if (e instanceof KernelError) this.sendError(id, e);
        else this.sendError(id, new KernelError(E.EIO, entry.name)); // a kernel bug, already in dmesg
      },
    );
  }

  private reply(id: number, entry: SysEntry, result: unknown, outs: OutTarget[]): void {
    if (this.state !== 'open') return;
    if (outs.length === 0) {
      // No buffers to return (stat, open...): one frame, no bookkeeping.
      const w = this.sink.replyWriter?.(REPLY_SIZE_HINT) ?? new Writer(REPLY_SIZE_HINT, true);
      try {
        writeReply(w, result, null, entry.statReply);
      } catch {
        return this.sendError(id, new KernelError(E.EOVERFLOW, 'sysproxy'));
      }
      if (w.pos > this.service.limits.maxFrame && !this.inlineAll) return this.sendError(id, new KernelError(E.EOVERFLOW, 'sysproxy'));
      return this.sendReply(w, id);
    }
    const lim = this.service.limits;
    // Out-buffers are trimmed to the byte count the call returned; in-out ones go back whole.
    const outTotal = outs.reduce((s, o) => s + (o.dir === 'out' ? o.buf.byteLength : 0), 0);
    let left = outBytesUsed(result, outTotal);
    const pieces: Uint8Array[] = outs.map((o) => {
      if (o.dir !== 'out') return o.buf;
      const n = Math.min(left, o.buf.byteLength);
      left -= n;
      return o.buf.subarray(0, n);
    });
    const bytes = pieces.reduce((s, p) => s + p.byteLength, 0);
    const frames: Uint8Array[] = [];
    let outsValue: Value;
    if (outs.length === 0) outsValue = null;
    else if (bytes <= lim.inline || this.inlineAll) outsValue = pieces;
    else {
      // Stream: DATA frames of at most `chunk` bytes, then a REPLY naming the lengths.
      for (const p of pieces) for (let o = 0; o < p.byteLength; o += lim.chunk) frames.push(emitFrame(FrameType.DATA, id, p.subarray(o, Math.min(o + lim.chunk, p.byteLength))));
      outsValue = pieces.map((p) => p.byteLength);
    }
    let w: Writer;
    try {
      const size = REPLY_SIZE_HINT + (outsValue === null || typeof (outsValue as unknown[])[0] === 'number' ? 0 : bytes);
      w = this.sink.replyWriter?.(size) ?? new Writer(size, true);
      writeReply(w, result, outsValue, entry.statReply);
    } catch {
      return this.sendError(id, new KernelError(E.EOVERFLOW, 'sysproxy'));
    }
    // A result too big for one frame (a huge ps listing) is an error, not a broken connection.
    if (w.pos > lim.maxFrame && !this.inlineAll) return this.sendError(id, new KernelError(E.EOVERFLOW, 'sysproxy'));
    if (frames.length === 0) return this.sendReply(w, id);
    frames.push(w.frame(FrameType.REPLY, id));
    this.send(frames);
  }

  /** Send the REPLY built in `w` (header space reserved). */
  private sendReply(w: Writer, id: number): void {
    if (this.state !== 'open') return;
    const sink = this.sink;
    if (sink.sendWriter !== undefined) {
      w.finish(FrameType.REPLY, id);
      sink.sendWriter(w);
    } else sink.send1(w.frame(FrameType.REPLY, id));
  }

  private sendError(id: number, e: KernelError): void {
    const v: Record<string, Value> = { errno: e.errno, syscall: e.syscall };
    if (e.path !== undefined) v.path = e.path;
    if (e.dest !== undefined) v.dest = e.dest;
    this.send([valueFrame(FrameType.ERROR, id, v)]);
  }

  private fork(f: Frame): void {
    const parsed = forkSchema.safeParse(decodeValue(f.body));
    if (!parsed.success) throw new ProtocolError('EPROTO', 'bad FORK body: expected { ctx }');
    const parent = this.ctxProc(parsed.data.ctx);
    if (parent === null) return this.sendError(f.id, new KernelError(E.ESRCH, 'fork'));
    if (this.procs.size >= this.service.limits.maxProcs) return this.sendError(f.id, new KernelError(E.EAGAIN, 'fork'));
    let child: Proc;
    try {
      child = this.service.kernel.rfork({ parent, fd: 'copy' }).proc;
    } catch (e) {
      return this.sendError(f.id, e instanceof KernelError ? (e.syscall = 'fork', e) : new KernelError(E.EIO, 'fork'));
    }
    const ctx = this.nextCtx++;
    this.procs.set(ctx, child);
    this.service.owners.set(child, this);
    const ticket = randomBytes(16).toString('hex');
    this.service.tickets.set(ticket, { conn: this, ctx });
    this.send([valueFrame(FrameType.REPLY, f.id, ([{ ctx, pid: child.pid, ticket }, null]))]);
  }

  private exit(f: Frame): void {
    const parsed = exitSchema.safeParse(decodeValue(f.body));
    if (!parsed.success) throw new ProtocolError('EPROTO', 'bad EXIT body: expected { ctx, status }');
    const { ctx, status } = parsed.data;
    const p = this.ctxProc(ctx);
    if (p === null || ctx === 0) return this.sendError(f.id, new KernelError(ctx === 0 ? E.EINVAL : E.ESRCH, 'exit'));
    this.procs.delete(ctx);
    for (const [t, v] of this.service.tickets) if (v.conn === this && v.ctx === ctx) this.service.tickets.delete(t);
    // It stays a zombie for its parent's wait4; teardown reaps what is left.
    this.zombies.add(p);
    this.service.kernel.kernel.exitProc(p, (status & 0xff) << 8).then(
      () => this.send([valueFrame(FrameType.REPLY, f.id, [0, null])]),
      (e: unknown) => this.fatal('EIO', `exit of pid ${p.pid} failed: ${String(e)}`),
    );
  }

  private halt(f: Frame): void {
    const p = this.ctxProc(0);
    if (p === null || p.cred.euid !== 0) return this.sendError(f.id, new KernelError(E.EPERM, 'halt'));
    this.service.log(`${this.label}: halt requested by pid ${p.pid}`);
    // Answer first: halting closes this connection too.
    this.send([valueFrame(FrameType.REPLY, f.id, [0, null])]);
    this.service.halt().catch((e: unknown) => this.service.log(`halt failed: ${String(e)}`));
  }
}
