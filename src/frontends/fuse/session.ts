/**
 * FuseSession: one FUSE mount served over /dev/fuse, without libfuse.
 *
 * Lifecycle:
 *   open /dev/fuse → `mount -i -t fuse.anykernel -o fd=3,…` (the fd is the child's stdio[3]) →
 *   after mount exits 0, start the reader → kernel sends INIT → we reply (7.31) → `ready` →
 *   requests flow → the host runs `umount` (or we call `unmount()`) → the next read fails ENODEV
 *   → `closed` resolves and the fd is closed.
 *
 * Request flow:
 *   reader (a worker thread blocked in read(2), or one outstanding async fs.read) → one request
 *   per read, transferred to the main thread → parseRequest → FuseHandler method (async; many in
 *   flight at once, none awaited before the next read) → emit* → one write(2) of the reply.
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
import { Worker } from 'node:worker_threads';
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

export interface FuseSessionOptions {
  /** user_id / group_id mount options: who may use the mount without allow_other. Default: us. */
  uid?: number;
  gid?: number;
  /** Let every host user in (otherwise only `uid`). */
  allowOther?: boolean;
  /** Have the host kernel check mode bits itself (then ACCESS is never sent). */
  defaultPermissions?: boolean;
  /** The handler truncates on open(O_TRUNC) itself (FUSE_ATOMIC_O_TRUNC). Default false. */
  atomicOTrunc?: boolean;
  /** The handler answers LOOKUP of "." and ".." (needed for NFS export). Default false. */
  exportSupport?: boolean;
  /** Kernel drops cached pages when GETATTR shows a new mtime/size (FUSE_AUTO_INVAL_DATA). Default true. */
  autoInvalData?: boolean;
  /** Forward flock(2) to setlk (FUSE_FLOCK_LOCKS) when the handler has setlk. Default true. */
  flockLocks?: boolean;
  /** fuse_init_out.max_background; 0 keeps the kernel default (12). */
  maxBackground?: number;
  /** How requests are read off /dev/fuse. Default 'worker'. */
  reader?: 'worker' | 'async';
  /** Protocol or handler failures that are not the caller's business (default: console.error). */
  onError?: (err: unknown) => void;
  /** Extra `-o` mount options, e.g. ['fsname=foo']. */
  mountOptions?: string[];
}

export const MAX_WRITE = 131072;
/** ≥ max(8192, 80 + max_write): header + fuse_write_in + data, with room to spare. */
const READ_BUFFER_SIZE = MAX_WRITE + 4096;

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

/** Supplementary groups of a caller, from /proc/PID/status (the FUSE header carries only uid/gid). */
export async function callerGroups(pid: number): Promise<number[]> {
  try {
    const s = await fs.promises.readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^Groups:\s*(.*)$/m.exec(s);
    return m ? m[1]!.trim().split(/\s+/).filter(Boolean).map(Number) : [];
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

/** The blocking reader, as CommonJS source for an eval'd worker (no loader or build step needed). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const buf = new Uint8Array(workerData.size);
for (;;) {
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
  const req = buf.slice(0, n);
  parentPort.postMessage(req, [req.buffer]);
}
`;

export class FuseSession {
  /** Resolves when INIT has been answered: the mount is usable. */
  readonly ready: Promise<ConnInfo>;
  /** Resolves when the session is over (host umount, unmount(), abort); the value says why. */
  readonly closed: Promise<string>;
  conn: ConnInfo | undefined;
  /** Requests received and replies written, for tests and stats. */
  readonly stats = { requests: 0, replies: 0, parseErrors: 0, writeErrors: 0 };

  private fd: number;
  private isClosed = false;
  private worker: Worker | undefined;
  private readonly inflight = new Map<bigint, Ctx>();
  private resolveReady!: (c: ConnInfo) => void;
  private rejectReady!: (e: Error) => void;
  private resolveClosed!: (why: string) => void;
  private readonly onError: (err: unknown) => void;

  private constructor(
    readonly mountpoint: string,
    private readonly handler: FuseHandler,
    private readonly opts: FuseSessionOptions,
    fd: number,
  ) {
    this.fd = fd;
    this.onError = opts.onError ?? ((e) => console.error('fuse:', e));
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => {}); // observed through mount() or by the caller
    this.closed = new Promise((res) => (this.resolveClosed = res));
  }

  /** Open /dev/fuse, mount it at `mountpoint`, and serve `handler` until unmounted. */
  static async mount(mountpoint: string, handler: FuseHandler, opts: FuseSessionOptions = {}): Promise<FuseSession> {
    mountpoint = path.resolve(mountpoint);
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
    s.startReader(opts.reader ?? 'worker');
    try {
      await s.ready;
    } catch (e) {
      await s.unmount().catch(() => {});
      throw e;
    }
    return s;
  }

  // --- reading --------------------------------------------------------------------------------

  private startReader(kind: 'worker' | 'async'): void {
    if (kind === 'worker') {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd: this.fd, size: READ_BUFFER_SIZE } });
      this.worker = w;
      w.on('message', (m: Uint8Array | { end: string }) => {
        if (m instanceof Uint8Array) this.onRequest(m);
        else this.close(m.end);
      });
      w.on('error', (e) => {
        this.onError(e);
        this.close(`reader failed: ${e.message}`);
      });
      return;
    }
    // One outstanding async read: it holds one libuv threadpool thread while it waits.
    const next = (): void => {
      if (this.isClosed) return;
      const buf = new Uint8Array(READ_BUFFER_SIZE);
      fs.read(this.fd, buf, 0, buf.length, null, (err, n) => {
        if (err) {
          if (err.code === 'EINTR' || err.code === 'ENOENT' || err.code === 'EAGAIN') return next();
          return this.close(err.code ?? err.message);
        }
        if (n === 0) return this.close('EOF');
        next();
        this.onRequest(buf.subarray(0, n));
      });
    };
    next();
  }

  private close(why: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    // No reply may be written after this: the fd number could be reused by an unrelated open.
    for (const ctx of this.inflight.values()) ctx.interrupt();
    this.inflight.clear();
    const fd = this.fd;
    this.fd = -1;
    fs.close(fd, () => {});
    this.worker?.terminate().catch(() => {});
    this.rejectReady(new Error(`fuse: session on ${this.mountpoint} ended before INIT (${why})`));
    this.resolveClosed(why);
  }

  // --- dispatch -------------------------------------------------------------------------------

  private onRequest(buf: Uint8Array): void {
    this.stats.requests++;
    const r = P.parseRequest(buf);
    if (!r.ok) {
      this.stats.parseErrors++;
      this.onError(new Error(`fuse: bad request: ${r.error}`));
      const h = r.header;
      if (h && h.opcode !== P.FUSE_FORGET && h.opcode !== P.FUSE_BATCH_FORGET && h.opcode !== P.FUSE_INTERRUPT) {
        this.send(P.emitError(h.unique, r.errno));
      }
      return;
    }
    const req = r.req;
    switch (req.op) {
      case 'init':
        return this.init(req);
      case 'forget':
        this.handler.forget?.(req.header.nodeid, req.nlookup);
        return;
      case 'batchforget':
        if (this.handler.forget) for (const it of req.items) this.handler.forget(it.nodeid, it.nlookup);
        return;
      case 'interrupt':
        // Unknown target: it already completed (we read requests in order), so nothing to do.
        this.inflight.get(req.target)?.interrupt();
        return;
      case 'destroy':
        Promise.resolve()
          .then(() => this.handler.destroy?.())
          .catch((e) => this.onError(e))
          .finally(() => this.send(P.emitEmpty(req.header.unique)));
        return;
    }
    const unique = req.header.unique;
    const ctx = new Ctx(req.header);
    this.inflight.set(unique, ctx);
    let p: Promise<Uint8Array>;
    try {
      p = this.dispatch(req, ctx);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (reply) => {
        this.inflight.delete(unique);
        this.send(reply);
      },
      (e) => {
        this.inflight.delete(unique);
        this.send(P.emitError(unique, this.errnoOf(e)));
      },
    );
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
    if (o.exportSupport) want |= P.FUSE_EXPORT_SUPPORT;
    if (h.readdirplus) want |= P.FUSE_DO_READDIRPLUS | P.FUSE_READDIRPLUS_AUTO;
    if (h.getlk && h.setlk) want |= P.FUSE_POSIX_LOCKS;
    if (h.setlk && (o.flockLocks ?? true)) want |= P.FUSE_FLOCK_LOCKS;
    const flags = want & req.flags;
    const conn: ConnInfo = {
      major: P.FUSE_KERNEL_VERSION,
      minor: P.FUSE_KERNEL_MINOR_VERSION,
      flags,
      kernelMinor: req.minor,
      kernelFlags: req.flags,
      maxWrite: MAX_WRITE,
      maxReadahead: req.maxReadahead,
    };
    // If the kernel's major is newer, this reply (major 7) makes it send INIT again at 7.
    this.send(P.emitInitOut(u, {
      major: conn.major, minor: conn.minor, maxReadahead: req.maxReadahead, flags,
      maxBackground: o.maxBackground ?? 0, congestionThreshold: 0, maxWrite: MAX_WRITE, timeGran: 1, maxPages: 0,
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

  private async dispatch(req: FuseRequest, ctx: Ctx): Promise<Uint8Array> {
    const h = this.handler;
    const u = req.header.unique;
    const enosys = () => P.emitError(u, ENOSYS);
    const status = (r: number): Uint8Array => (r === 0 ? P.emitEmpty(u) : this.errorReply(u, r, req.op));
    const entry = async (r: Result<EntryOut>) => {
      const v = await r;
      return typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitEntryOut(u, v);
    };
    const open = async (r: Result<OpenOut>) => {
      const v = await r;
      return typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitOpenOut(u, v);
    };
    const attr = async (r: Result<AttrOut>) => {
      const v = await r;
      return typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitAttrOut(u, v);
    };
    const data = async (r: Result<Uint8Array>, max: number) => {
      const v = await r;
      if (typeof v === 'number') return this.errorReply(u, v, req.op);
      if (v.length > max) {
        this.onError(new Error(`fuse: ${req.op} handler returned ${v.length} bytes for a ${max}-byte request`));
        return P.emitError(u, EIO);
      }
      return P.emitData(u, v);
    };

    switch (req.op) {
      case 'lookup': return h.lookup ? entry(h.lookup(req, ctx)) : enosys();
      case 'getattr': return h.getattr ? attr(h.getattr(req, ctx)) : enosys();
      case 'setattr': return h.setattr ? attr(h.setattr(req, ctx)) : enosys();
      case 'readlink': {
        if (!h.readlink) return enosys();
        const v = await h.readlink(req, ctx);
        return typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitReadlink(u, v);
      }
      case 'symlink': return h.symlink ? entry(h.symlink(req, ctx)) : enosys();
      case 'mknod': return h.mknod ? entry(h.mknod(req, ctx)) : enosys();
      case 'mkdir': return h.mkdir ? entry(h.mkdir(req, ctx)) : enosys();
      case 'unlink': return h.unlink ? status(await h.unlink(req, ctx)) : enosys();
      case 'rmdir': return h.rmdir ? status(await h.rmdir(req, ctx)) : enosys();
      case 'rename': return h.rename ? status(await h.rename(req, ctx)) : enosys();
      case 'link': return h.link ? entry(h.link(req, ctx)) : enosys();
      case 'open': return h.open ? open(h.open(req, ctx)) : P.emitOpenOut(u, { fh: 0, openFlags: 0 });
      case 'opendir': return h.opendir ? open(h.opendir(req, ctx)) : P.emitOpenOut(u, { fh: 0, openFlags: 0 });
      case 'read': return h.read ? data(h.read(req, ctx), req.size) : enosys();
      case 'readdir': return h.readdir ? data(h.readdir(req, ctx), req.size) : enosys();
      case 'readdirplus': return h.readdirplus ? data(h.readdirplus(req, ctx), req.size) : enosys();
      case 'write': {
        if (!h.write) return enosys();
        const v = await h.write(req, ctx);
        if (v < 0) return this.errorReply(u, v, req.op);
        if (v > req.data.length) {
          this.onError(new Error(`fuse: write handler claims ${v} of ${req.data.length} bytes`));
          return P.emitError(u, EIO);
        }
        return P.emitWriteOut(u, v);
      }
      case 'statfs': {
        if (!h.statfs) return P.emitStatfsOut(u, { blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, bsize: 4096, namelen: 255, frsize: 4096 });
        const v = await h.statfs(req, ctx);
        return typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitStatfsOut(u, v);
      }
      case 'release': return h.release ? status(await h.release(req, ctx)) : P.emitEmpty(u);
      case 'releasedir': return h.releasedir ? status(await h.releasedir(req, ctx)) : P.emitEmpty(u);
      case 'flush': return h.flush ? status(await h.flush(req, ctx)) : P.emitEmpty(u);
      case 'fsync': return h.fsync ? status(await h.fsync(req, ctx)) : enosys();
      case 'fsyncdir': return h.fsyncdir ? status(await h.fsyncdir(req, ctx)) : enosys();
      case 'getlk': {
        if (!h.getlk) return enosys();
        const v = await h.getlk(req, ctx);
        return typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitLkOut(u, v);
      }
      case 'setlk': return h.setlk ? status(await h.setlk(req, ctx)) : enosys();
      case 'access': return h.access ? status(await h.access(req, ctx)) : enosys();
      case 'create': {
        if (!h.create) return enosys();
        const v = await h.create(req, ctx);
        return typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitCreateOut(u, v.entry, v.open);
      }
      case 'bmap': {
        if (!h.bmap) return enosys();
        const v = await h.bmap(req, ctx);
        return typeof v === 'number' ? this.errorReply(u, v, req.op) : P.emitBmapOut(u, v);
      }
      case 'fallocate': return h.fallocate ? status(await h.fallocate(req, ctx)) : enosys();
      case 'lseek': {
        if (!h.lseek) return enosys();
        const v = await h.lseek(req, ctx);
        return v < 0 ? this.errorReply(u, v, req.op) : P.emitLseekOut(u, v);
      }
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
      fs.writeSync(this.fd, reply);
      this.stats.replies++;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOENT: the request was interrupted and the kernel dropped it; harmless.
      if (code === 'ENOENT') return;
      this.stats.writeErrors++;
      if (code === 'ENODEV' || code === 'EBADF') return; // the session is ending; the reader will see it
      this.onError(e);
    }
  }

  // --- ending ---------------------------------------------------------------------------------

  /**
   * Detach the mount (`umount -l`, falling back to `fusermount3 -uz` / `fusermount -uz`) and wait
   * for the session to end. With host processes still holding files open on the mount, the kernel
   * keeps the connection until they close them; use abort() to cut it off.
   */
  async unmount(): Promise<string> {
    if (this.isClosed) return this.closed;
    const tries: [string, string[]][] = [
      ['umount', ['-l', this.mountpoint]],
      ['fusermount3', ['-u', '-z', this.mountpoint]],
      ['fusermount', ['-u', '-z', this.mountpoint]],
    ];
    const failures: string[] = [];
    for (const [cmd, args] of tries) {
      if (this.isClosed) break; // the host unmounted meanwhile
      const r = await run(cmd, args);
      if (r.code === 0) return this.closed;
      failures.push(r.spawnError ? `${cmd}: ${r.spawnError.code}` : `${cmd} exited ${r.code}: ${r.stderr}`);
    }
    if (this.isClosed) return this.closed;
    throw new Error(`fuse: could not unmount ${this.mountpoint}: ${failures.join('; ')}`);
  }

  /**
   * Abort the connection (/sys/fs/fuse/connections/N/abort): every pending and future host call on
   * the mount fails with ENOTCONN; our next read fails and `closed` resolves. The mount itself
   * stays until unmounted. Returns false if the connection could not be found.
   */
  async abort(): Promise<boolean> {
    const dev = await this.connectionId();
    if (dev === undefined) return false;
    try {
      await fs.promises.writeFile(`/sys/fs/fuse/connections/${dev}/abort`, '1');
      return true;
    } catch {
      return false;
    }
  }

  /** The FUSE connection number = minor of the mount's st_dev, from /proc/self/mountinfo (no call on the mount). */
  private async connectionId(): Promise<number | undefined> {
    const info = await fs.promises.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const mp = this.mountpoint.replace(/\/+$/, '');
    for (const line of info.split('\n')) {
      const f = line.split(' ');
      // 36 35 0:NN / /mnt/point rw,… - fuse.anykernel anykernel rw,…
      const where = f[4]?.replace(/\\040/g, ' ');
      if (where === mp && line.includes(' - fuse.anykernel ')) return Number(f[2]!.split(':')[1]);
    }
    return undefined;
  }
}

