/**
 * FuseDispatcher: the protocol engine between parsed FUSE requests and a FuseHandler, with no
 * I/O of its own. It is fed one request (one read(2) worth of bytes) at a time and writes each
 * reply through the `write` function it was given, so it runs the same against /dev/fuse
 * (session.ts) and against the kernel-side encoder in tests (testkit.ts).
 *
 * It answers INIT (7.31), DESTROY, FORGET/BATCH_FORGET (no reply), INTERRUPT (no reply; marks
 * and aborts the target), declines xattrs and unknown opcodes with ENOSYS, and sends everything
 * else to the handler without waiting for one request before taking the next.
 */
import * as P from './proto.ts';
import type {
  AccessRequest, AttrOut, BmapRequest, CreateRequest, EntryOut, FallocateRequest, FileLock,
  FlushRequest, FsyncRequest, FsyncdirRequest, FuseRequest, GetattrRequest, GetlkRequest, InHeader,
  InitRequest, LinkRequest, LookupRequest, LseekRequest, MkdirRequest, MknodRequest, OpenOut,
  OpendirRequest, OpenRequest, ReaddirplusRequest, ReaddirRequest, ReadlinkRequest, ReadRequest,
  ReleasedirRequest, ReleaseRequest, RenameRequest, RmdirRequest, SetattrRequest, SetlkRequest,
  StatfsOut, StatfsRequest, SymlinkRequest, UnlinkRequest, WriteRequest,
} from './proto.ts';

const EIO = 5, ENOSYS = 38, EPROTO = 71;


/** What a handler method may return: the reply value, or a negative errno (e.g. -2 for ENOENT). */
export type Result<T> = T | number | Promise<T | number>;
/** For replies without a body: 0 for success or a negative errno. */
export type Status = number | Promise<number>;

/** Per-request context handed to every handler method. */
export interface RequestContext {
  /** The calling host process (from fuse_in_header). Supplementary groups: see callerGroups(). */
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  readonly unique: bigint;
  /** Set once the kernel sent INTERRUPT for this request (the caller got a signal). */
  readonly interrupted: boolean;
  /** Aborted on INTERRUPT. A handler that can stop early should, and reply -EINTR. */
  readonly signal: AbortSignal;
}

/** What INIT settled on, given to `FuseHandler.init` and exposed as `session.conn`. */
export interface ConnInfo {
  major: number;
  minor: number;
  /** FUSE_* init flags both sides agreed on */
  flags: number;
  /** what the kernel offered */
  kernelMinor: number;
  kernelFlags: number;
  maxWrite: number;
  maxReadahead: number;
}

/**
 * The file system behind the mount, at the vnode level (like rump's p2k). Every method is
 * optional: a missing one answers ENOSYS, except open/opendir (fh 0), release/releasedir/flush
 * (success), statfs (an empty file system with 255-byte names) and forget (ignored).
 *
 * nodeid 1 (FUSE_ROOT_ID) is the root; every other nodeid is one a reply (LOOKUP, MKNOD, MKDIR,
 * SYMLINK, LINK, CREATE, READDIRPLUS) gave the kernel. Each such reply with a non-zero nodeid is
 * one "lookup"; the kernel returns them with forget(nodeid, n). Extended attributes are not
 * offered: SETXATTR/GETXATTR/LISTXATTR/REMOVEXATTR get ENOSYS, which the kernel remembers and
 * turns into EOPNOTSUPP for callers.
 */
export interface FuseHandler {
  init?(conn: ConnInfo): void;
  destroy?(): void | Promise<void>;
  /** FORGET and each item of BATCH_FORGET. No reply. */
  forget?(nodeid: number, nlookup: number): void;

  lookup?(req: LookupRequest, ctx: RequestContext): Result<EntryOut>;
  getattr?(req: GetattrRequest, ctx: RequestContext): Result<AttrOut>;
  setattr?(req: SetattrRequest, ctx: RequestContext): Result<AttrOut>;
  readlink?(req: ReadlinkRequest, ctx: RequestContext): Result<string | Uint8Array>;
  symlink?(req: SymlinkRequest, ctx: RequestContext): Result<EntryOut>;
  mknod?(req: MknodRequest, ctx: RequestContext): Result<EntryOut>;
  mkdir?(req: MkdirRequest, ctx: RequestContext): Result<EntryOut>;
  unlink?(req: UnlinkRequest, ctx: RequestContext): Status;
  rmdir?(req: RmdirRequest, ctx: RequestContext): Status;
  /** RENAME and RENAME2 (req.flags: RENAME_NOREPLACE 1, RENAME_EXCHANGE 2). */
  rename?(req: RenameRequest, ctx: RequestContext): Status;
  link?(req: LinkRequest, ctx: RequestContext): Result<EntryOut>;
  open?(req: OpenRequest, ctx: RequestContext): Result<OpenOut>;
  /** At most req.size bytes; fewer means end of file (unless FOPEN_DIRECT_IO). */
  read?(req: ReadRequest, ctx: RequestContext): Result<Uint8Array>;
  /** Returns the number of bytes written (≥ 0) or a negative errno. */
  write?(req: WriteRequest, ctx: RequestContext): Result<number>;
  statfs?(req: StatfsRequest, ctx: RequestContext): Result<StatfsOut>;
  release?(req: ReleaseRequest, ctx: RequestContext): Status;
  fsync?(req: FsyncRequest, ctx: RequestContext): Status;
  flush?(req: FlushRequest, ctx: RequestContext): Status;
  opendir?(req: OpendirRequest, ctx: RequestContext): Result<OpenOut>;
  /** Packed fuse_dirent records of at most req.size bytes: build them with proto's DirentPacker. */
  readdir?(req: ReaddirRequest, ctx: RequestContext): Result<Uint8Array>;
  /** Packed fuse_direntplus records (DirentPacker with plus = true); each sent entry is a lookup. */
  readdirplus?(req: ReaddirplusRequest, ctx: RequestContext): Result<Uint8Array>;
  releasedir?(req: ReleasedirRequest, ctx: RequestContext): Status;
  fsyncdir?(req: FsyncdirRequest, ctx: RequestContext): Status;
  getlk?(req: GetlkRequest, ctx: RequestContext): Result<FileLock>;
  /** SETLK and SETLKW (req.sleep); flock(2) too when req.lkFlags has FUSE_LK_FLOCK. */
  setlk?(req: SetlkRequest, ctx: RequestContext): Status;
  access?(req: AccessRequest, ctx: RequestContext): Status;
  create?(req: CreateRequest, ctx: RequestContext): Result<{ entry: EntryOut; open: OpenOut }>;
  bmap?(req: BmapRequest, ctx: RequestContext): Result<bigint>;
  fallocate?(req: FallocateRequest, ctx: RequestContext): Status;
  /** SEEK_DATA (3) / SEEK_HOLE (4): the resulting offset. */
  lseek?(req: LseekRequest, ctx: RequestContext): Result<number>;
}

/** Protocol choices made at INIT, and error reporting. */
export interface DispatchOptions {
  /** The handler truncates on open(O_TRUNC) itself (FUSE_ATOMIC_O_TRUNC). Default false. */
  atomicOTrunc?: boolean;
  /**
   * The handler clears set-user-ID/set-group-ID itself on write, truncate and chown
   * (FUSE_HANDLE_KILLPRIV), so the host does not send a SETATTR of the mode — which would run
   * with the writer's credentials and fail for a writer who does not own the file. Default false.
   */
  handleKillpriv?: boolean;
  /**
   * FUSE_WRITEBACK_CACHE: the host buffers writes in its page cache and writes them back later
   * (many WRITEs in flight), keeping mtime/ctime itself. The handler must then accept READs on
   * write-only handles (page fills) and ignore O_APPEND (the host computes offsets). Default false.
   */
  writebackCache?: boolean;
  /** The handler answers LOOKUP of "." and ".." (needed for NFS export). Default false. */
  exportSupport?: boolean;
  /** Kernel drops cached pages when GETATTR shows a new mtime/size (FUSE_AUTO_INVAL_DATA). Default true. */
  autoInvalData?: boolean;
  /** Forward flock(2) to setlk (FUSE_FLOCK_LOCKS) when the handler has setlk. Default true. */
  flockLocks?: boolean;
  /**
   * Largest WRITE (and READ) request, in bytes: 131072 (the 7.31 default, 32 pages) up to
   * 1048576. Above 131072 it is negotiated with FUSE_MAX_PAGES (Linux 4.20+); if the kernel does
   * not offer that flag, 131072 stays. Bigger requests mean fewer round trips per MiB moved.
   */
  maxWrite?: number;
  /** fuse_init_out.max_background; 0 keeps the kernel default (12). */
  maxBackground?: number;
  /** Protocol or handler failures that are not the caller's business (default: console.error). */
  onError?: (err: unknown) => void;
}

/** fuse_init_out.max_write without FUSE_MAX_PAGES; the reader's buffer must hold 80 + max_write. */
export const MAX_WRITE = 131072;
/** The largest max_write we negotiate (FUSE_MAX_PAGES, 256 pages: Linux's FUSE_MAX_MAX_PAGES). */
export const MAX_WRITE_LIMIT = 1 << 20;

/** The max_write asked for in `opts` (validated; page multiple, 4 KiB .. 1 MiB). */
export function requestedMaxWrite(opts: DispatchOptions): number {
  const w = opts.maxWrite ?? MAX_WRITE;
  if (!Number.isInteger(w) || w < 4096 || w > MAX_WRITE_LIMIT || w % 4096 !== 0) {
    throw new RangeError(`fuse: maxWrite ${w} must be a multiple of 4096 between 4096 and ${MAX_WRITE_LIMIT}`);
  }
  return w;
}

/** f(v) now when v is a value, or once it settles when it is a promise (one `then`, no async frame). */
function then<T>(v: T | Promise<T>, f: (v: T) => Uint8Array): Uint8Array | Promise<Uint8Array> {
  if (v instanceof Promise) return v.then(f);
  if (typeof (v as { then?: unknown } | null)?.then === 'function') return Promise.resolve(v).then(f); // a foreign thenable
  return f(v as T);
}

/** Wall-clock milliseconds with sub-µs resolution, comparable across threads (for stage timing). */
export function stageNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Where a request's time goes, summed over `requests` handler requests (µs), when enabled with
 * `dispatcher.timeStages()`: read(2) returning in the reader → received on this thread →
 * parsed → handler's reply ready → reply written.
 */
export interface StageTotals {
  requests: number;
  readToReceived: number;
  receivedToParsed: number;
  parsedToHandled: number;
  handledToWritten: number;
}

class Ctx implements RequestContext {
  interrupted = false;
  private ac: AbortController | undefined;
  constructor(private readonly h: InHeader) {}
  get uid() { return this.h.uid; }
  get gid() { return this.h.gid; }
  get pid() { return this.h.pid; }
  get unique() { return this.h.unique; }
  get signal(): AbortSignal {
    this.ac ??= new AbortController();
    if (this.interrupted && !this.ac.signal.aborted) this.ac.abort();
    return this.ac.signal;
  }
  interrupt(): void {
    this.interrupted = true;
    this.ac?.abort();
  }
}

export class FuseDispatcher {
  /** Resolves when INIT has been answered; rejects if the session ends first or INIT fails. */
  readonly ready: Promise<ConnInfo>;
  conn: ConnInfo | undefined;
  /** Counters for tests and stats. */
  readonly stats = { requests: 0, replies: 0, parseErrors: 0, writeErrors: 0 };

  // @guardedBy main thread (single-threaded; no locks)
  private isClosed = false;
  private readonly inflight = new Map<bigint, Ctx>();
  /** Per-stage time sums, when timeStages() asked for them. */
  private stages: StageTotals | undefined;
  private resolveReady!: (c: ConnInfo) => void;
  private rejectReady!: (e: Error) => void;
  private readonly onError: (err: unknown) => void;

  /**
   * `write` sends one reply (one write(2)); it may throw a Node ErrnoException: ENOENT
   * (interrupted request) is ignored, ENODEV/EBADF (session ending) counted, others reported.
   */
  constructor(
    private readonly handler: FuseHandler,
    private readonly opts: DispatchOptions,
    private readonly write: (reply: Uint8Array) => void,
  ) {
    this.onError = opts.onError ?? ((e) => console.error('fuse:', e));
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => {}); // observed by whoever awaits it
  }

  /** Requests accepted and not yet replied to (for tests). */
  get inFlight(): number {
    return this.inflight.size;
  }

  /** Stop: interrupt everything in flight and write nothing more. */
  shutdown(why: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const ctx of this.inflight.values()) ctx.interrupt();
    this.inflight.clear();
    this.rejectReady(new Error(`fuse: session ended before INIT (${why})`));
  }

  /**
   * Take one request, exactly as read from /dev/fuse. `done`, if given, is called once nothing
   * looks at `buf` any more (after the reply is written, or at once for requests without a
   * reply), so the reader can reuse the buffer.
   */
  onRequest(buf: Uint8Array, done?: () => void, readAt = 0): void {
    if (this.isClosed) {
      done?.();
      return;
    }
    const st = this.stages;
    const tRecv = st === undefined ? 0 : stageNow();
    this.stats.requests++;
    const r = P.parseRequest(buf);
    if (!r.ok) {
      this.stats.parseErrors++;
      this.onError(new Error(`fuse: bad request: ${r.error}`));
      const h = r.header;
      if (h && h.opcode !== P.FUSE_FORGET && h.opcode !== P.FUSE_BATCH_FORGET && h.opcode !== P.FUSE_INTERRUPT) {
        this.send(P.emitError(h.unique, r.errno));
      }
      done?.();
      return;
    }
    const req = r.req;
    switch (req.op) {
      case 'init':
        this.init(req);
        done?.();
        return;
      case 'forget':
        this.forget(req.header.nodeid, req.nlookup);
        done?.();
        return;
      case 'batchforget':
        for (const it of req.items) this.forget(it.nodeid, it.nlookup);
        done?.();
        return;
      case 'interrupt':
        // Unknown target: it already completed (we read requests in order), so nothing to do.
        this.inflight.get(req.target)?.interrupt();
        done?.();
        return;
      case 'destroy':
        done?.();
        Promise.resolve()
          .then(() => this.handler.destroy?.())
          .catch((e) => this.onError(e))
          .finally(() => this.send(P.emitEmpty(req.header.unique)));
        return;
    }
    const unique = req.header.unique;
    const ctx = new Ctx(req.header);
    const tParsed = st === undefined ? 0 : stageNow();
    const finish = (reply: Uint8Array): void => {
      this.inflight.delete(unique);
      if (st === undefined) {
        this.send(reply);
      } else {
        const tHandled = stageNow();
        this.send(reply);
        st.requests++;
        st.readToReceived += readAt > 0 ? (tRecv - readAt) * 1000 : 0;
        st.receivedToParsed += (tParsed - tRecv) * 1000;
        st.parsedToHandled += (tHandled - tParsed) * 1000;
        st.handledToWritten += (stageNow() - tHandled) * 1000;
      }
      done?.();
    };
    let out: Uint8Array | Promise<Uint8Array>;
    try {
      out = this.dispatch(req, ctx);
    } catch (e) {
      out = P.emitError(unique, this.errnoOf(e));
    }
    if (out instanceof Uint8Array) {
      finish(out); // answered in the same turn: never in flight
      return;
    }
    this.inflight.set(unique, ctx);
    out.then(finish, (e) => finish(P.emitError(unique, this.errnoOf(e))));
  }

  /** Start (or restart) summing per-stage times; returns the live totals. */
  timeStages(): StageTotals {
    this.stages = { requests: 0, readToReceived: 0, receivedToParsed: 0, parsedToHandled: 0, handledToWritten: 0 };
    return this.stages;
  }

  private forget(nodeid: number, nlookup: number): void {
    try {
      this.handler.forget?.(nodeid, nlookup);
    } catch (e) {
      this.onError(e); // no reply to carry an error; a throwing forget is a handler bug
    }
  }

  /** A thrown KernelError / Node SystemError carries its errno; anything else is a bug → EIO. */
  private errnoOf(e: unknown): number {
    const n = (e as { errno?: unknown } | null)?.errno;
    if (typeof n === 'number' && Number.isInteger(n) && n !== 0) return Math.abs(n);
    this.onError(e);
    return EIO;
  }

  private init(req: InitRequest): void {
    const u = req.header.unique;
    if (req.major < P.FUSE_KERNEL_VERSION || (req.major === P.FUSE_KERNEL_VERSION && req.minor < P.FUSE_KERNEL_MINOR_VERSION)) {
      this.send(P.emitError(u, EPROTO));
      this.rejectReady(new Error(`fuse: kernel speaks ${req.major}.${req.minor}, we need ${P.FUSE_KERNEL_VERSION}.${P.FUSE_KERNEL_MINOR_VERSION}+`));
      return;
    }
    const h = this.handler, o = this.opts;
    let want = P.FUSE_ASYNC_READ | P.FUSE_BIG_WRITES | P.FUSE_PARALLEL_DIROPS;
    if (o.autoInvalData ?? true) want |= P.FUSE_AUTO_INVAL_DATA;
    if (o.atomicOTrunc) want |= P.FUSE_ATOMIC_O_TRUNC;
    if (o.handleKillpriv) want |= P.FUSE_HANDLE_KILLPRIV;
    if (o.writebackCache) want |= P.FUSE_WRITEBACK_CACHE;
    if (o.exportSupport) want |= P.FUSE_EXPORT_SUPPORT;
    if (h.readdirplus) want |= P.FUSE_DO_READDIRPLUS | P.FUSE_READDIRPLUS_AUTO;
    if (h.getlk && h.setlk) want |= P.FUSE_POSIX_LOCKS;
    if (h.setlk && (o.flockLocks ?? true)) want |= P.FUSE_FLOCK_LOCKS;
    let maxWrite = Math.min(requestedMaxWrite(o), MAX_WRITE);
    let maxPages = 0;
    if (requestedMaxWrite(o) > MAX_WRITE && (req.flags & P.FUSE_MAX_PAGES) !== 0) {
      want |= P.FUSE_MAX_PAGES;
      maxWrite = requestedMaxWrite(o);
      maxPages = maxWrite / 4096;
    }
    const flags = want & req.flags;
    const conn: ConnInfo = {
      major: P.FUSE_KERNEL_VERSION,
      minor: P.FUSE_KERNEL_MINOR_VERSION,
      flags,
      kernelMinor: req.minor,
      kernelFlags: req.flags,
      maxWrite,
      maxReadahead: req.maxReadahead,
    };
    // If the kernel's major is newer, this reply (major 7) makes it send INIT again at 7.
    this.send(P.emitInitOut(u, {
      major: conn.major, minor: conn.minor, maxReadahead: req.maxReadahead, flags,
      maxBackground: o.maxBackground ?? 0, congestionThreshold: 0, maxWrite, timeGran: 1, maxPages,
    }));
    if (req.major !== P.FUSE_KERNEL_VERSION) return;
    this.conn = conn;
    try {
      h.init?.(conn);
    } catch (e) {
      this.onError(e);
    }
    this.resolveReady(conn);
  }

  /**
   * The handler call and its reply. A handler that answers at once (a value, not a promise) gets
   * its reply emitted in the same turn, without a promise; one that returns a promise gets one
   * `then` to the reply.
   */
  private dispatch(req: FuseRequest, ctx: Ctx): Uint8Array | Promise<Uint8Array> {
    const h = this.handler;
    const u = req.header.unique;
    const enosys = () => P.emitError(u, ENOSYS);
    const status = (r: number): Uint8Array => (r === 0 ? P.emitEmpty(u) : this.errorReply(u, r, req.op));
    const entry = (v: EntryOut | number) => (typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitEntryOut(u, v));
    const open = (v: OpenOut | number) => (typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitOpenOut(u, v));
    const attr = (v: AttrOut | number) => (typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitAttrOut(u, v));
    const data = (max: number) => (v: Uint8Array | number) => {
      if (typeof v === 'number') return this.errorReply(u, v, req.op);
      if (v.length > max) {
        this.onError(new Error(`fuse: ${req.op} handler returned ${v.length} bytes for a ${max}-byte request`));
        return P.emitError(u, EIO);
      }
      return P.emitData(u, v);
    };

    switch (req.op) {
      case 'lookup': return h.lookup ? then(h.lookup(req, ctx), entry) : enosys();
      case 'getattr': return h.getattr ? then(h.getattr(req, ctx), attr) : enosys();
      case 'setattr': return h.setattr ? then(h.setattr(req, ctx), attr) : enosys();
      case 'readlink':
        return h.readlink ? then(h.readlink(req, ctx), (v) => (typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitReadlink(u, v))) : enosys();
      case 'symlink': return h.symlink ? then(h.symlink(req, ctx), entry) : enosys();
      case 'mknod': return h.mknod ? then(h.mknod(req, ctx), entry) : enosys();
      case 'mkdir': return h.mkdir ? then(h.mkdir(req, ctx), entry) : enosys();
      case 'unlink': return h.unlink ? then(h.unlink(req, ctx), status) : enosys();
      case 'rmdir': return h.rmdir ? then(h.rmdir(req, ctx), status) : enosys();
      case 'rename': return h.rename ? then(h.rename(req, ctx), status) : enosys();
      case 'link': return h.link ? then(h.link(req, ctx), entry) : enosys();
      case 'open': return h.open ? then(h.open(req, ctx), open) : P.emitOpenOut(u, { fh: 0, openFlags: 0 });
      case 'opendir': return h.opendir ? then(h.opendir(req, ctx), open) : P.emitOpenOut(u, { fh: 0, openFlags: 0 });
      case 'read': return h.read ? then(h.read(req, ctx), data(req.size)) : enosys();
      case 'readdir': return h.readdir ? then(h.readdir(req, ctx), data(req.size)) : enosys();
      case 'readdirplus': return h.readdirplus ? then(h.readdirplus(req, ctx), data(req.size)) : enosys();
      case 'write': {
        if (!h.write) return enosys();
        const len = req.data.length;
        return then(h.write(req, ctx), (v) => {
          if (v < 0) return this.errorReply(u, v, req.op);
          if (v > len) {
            this.onError(new Error(`fuse: write handler claims ${v} of ${len} bytes`));
            return P.emitError(u, EIO);
          }
          return P.emitWriteOut(u, v);
        });
      }
      case 'statfs': {
        if (!h.statfs) return P.emitStatfsOut(u, { blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, bsize: 4096, namelen: 255, frsize: 4096 });
        return then(h.statfs(req, ctx), (v) => (typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitStatfsOut(u, v)));
      }
      case 'release': return h.release ? then(h.release(req, ctx), status) : P.emitEmpty(u);
      case 'releasedir': return h.releasedir ? then(h.releasedir(req, ctx), status) : P.emitEmpty(u);
      case 'flush': return h.flush ? then(h.flush(req, ctx), status) : P.emitEmpty(u);
      case 'fsync': return h.fsync ? then(h.fsync(req, ctx), status) : enosys();
      case 'fsyncdir': return h.fsyncdir ? then(h.fsyncdir(req, ctx), status) : enosys();
      case 'getlk':
        return h.getlk ? then(h.getlk(req, ctx), (v) => (typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitLkOut(u, v))) : enosys();
      case 'setlk': return h.setlk ? then(h.setlk(req, ctx), status) : enosys();
      case 'access': return h.access ? then(h.access(req, ctx), status) : enosys();
      case 'create':
        return h.create ? then(h.create(req, ctx), (v) => (typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitCreateOut(u, v.entry, v.open))) : enosys();
      case 'bmap':
        return h.bmap ? then(h.bmap(req, ctx), (v) => (typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitBmapOut(u, v))) : enosys();
      case 'fallocate': return h.fallocate ? then(h.fallocate(req, ctx), status) : enosys();
      case 'lseek':
        return h.lseek ? then(h.lseek(req, ctx), (v) => (v < 0 ? this.errorReply(u, v, req.op) : P.emitLseekOut(u, v))) : enosys();
      // Declined: extended attributes, and opcodes beyond what we implement (IOCTL, POLL, STATX, …).
      case 'setxattr': case 'getxattr': case 'listxattr': case 'removexattr': case 'unsupported':
        return enosys();
      // Handled in onRequest; listed so the switch is exhaustive.
      case 'init': case 'forget': case 'batchforget': case 'interrupt': case 'destroy':
        return enosys();
    }
  }

  /** A handler's negative errno → error reply; anything else where an errno was due is a bug → EIO. */
  private errorReply(u: bigint, r: number, op: string): Uint8Array {
    if (Number.isInteger(r) && r < 0 && r > -4096) return P.emitError(u, -r);
    this.onError(new Error(`fuse: ${op} handler returned ${r}, expected a reply or a negative errno`));
    return P.emitError(u, EIO);
  }

  private send(reply: Uint8Array): void {
    if (this.isClosed) return;
    try {
      this.write(reply);
      this.stats.replies++;
      P.recycleReply(reply); // write(2) to /dev/fuse copied it: the buffer may serve the next READ
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOENT: the request was interrupted and the kernel dropped it; harmless.
      if (code === 'ENOENT') return;
      this.stats.writeErrors++;
      if (code === 'ENODEV' || code === 'EBADF') return; // the session is ending; the reader will see it
      this.onError(e);
    }
  }
}
