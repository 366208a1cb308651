/**
 * KernelFuseServer: a FuseHandler that serves a kernel's file system to the host, at the vnode
 * level (rump's p2k, LKL's lklfuse). Give it a booted kernel and a directory vnode (default: the
 * root of the kernel's root mount) and hand it to `FuseSession.mount`.
 *
 * Nodes. FUSE names files by nodeid; this server keeps a table nodeid ↔ vnode. Every reply that
 * hands the host a nodeid (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, and each READDIRPLUS entry
 * it packed) counts one *lookup*; the table holds exactly one vnode reference per node however
 * many lookups it has, and FORGET/BATCH_FORGET give lookups back — at zero the node leaves the
 * table and its reference is dropped with vrele (the vnode lifecycle of src/vfs/vnode.ts: an
 * unlinked file lives until the host forgets it and every open of it is released). nodeid 1 is
 * the served root; other nodeids count up and are never reused, so the generation is always 0.
 *
 * Credentials. Each request runs as a kernel process with the caller's uid, gid and
 * supplementary groups (from the FUSE header; groups from /proc/PID/status via callerGroups,
 * cached per pid, uid and gid for a second). The processes come from kern's CredProcs, one per
 * credential set (umask 0: the host kernel has already applied the caller's umask to the modes it
 * sends), so new files get the caller as owner and the kernel's own permission checks apply —
 * with or without `default_permissions` on the host side.
 *
 * How ops reach the VFS. Only through the VFS's vnode-level entry points (src/vfs/index.ts), which
 * hold the same rules, errno order and timestamp updates as the system calls: namespace changes
 * that name a parent and a component (MKDIR, MKNOD, SYMLINK, UNLINK, RMDIR, RENAME/RENAME2,
 * CREATE) are the `*at` calls started at the parent vnode (vn_mkdir, vn_openat, ...); attribute
 * changes are vn_chown, vn_chmod, vn_truncate, vn_utimens; OPEN is vn_open, ACCESS vn_access, LINK
 * vn_link (protected_hardlinks included). Open files are the kernel `File`s those return, so
 * O_APPEND and the rest of the open flags apply to READ/WRITE as they do for the kernel's own callers.
 *
 * Locks. POSIX locks (GETLK/SETLK/SETLKW) map to the VFS advisory locks with one lock owner per
 * FUSE lock_owner (the host's files_struct), numbered below zero so they never collide with kernel
 * pids; FLUSH (every close(2) on the host) drops that owner's locks on the file, as closing an fd
 * does (fcntl(2)). flock(2) arrives as SETLK with FUSE_LK_FLOCK and locks the open file (fh).
 * A SETLKW waiting for a lock is woken with EINTR when the host interrupts the request.
 *
 * Concurrency: requests run interleaved on the main thread (many in flight); table changes happen
 * without awaits in between. @guardedBy the single main thread (no locks needed in this file).
 *
 * Not supported: extended attributes (the dispatcher declines them), STATX (ENOSYS: the host falls
 * back to GETATTR), FALLOCATE modes the file system lacks (EOPNOTSUPP; tmpfs has 0, KEEP_SIZE and
 * PUNCH_HOLE), BMAP, IOCTL, POLL, COPY_FILE_RANGE,
 * notifications to the host (changes made through other frontends show once timeouts expire),
 * FUSE_EXPORT_SUPPORT (LOOKUP of "." and "..").
 */
import {
  type File, type Kernel, type Lwp, type Proc, type Stat, type Timespec, CredProcs, doRead, doWrite, fileFallocate,
  fileFsync, fileLseek, fileTruncate, KernelError,
  EBADF, EINTR, EINVAL, EISDIR, ENOTDIR, ESTALE, err,
  F_RDLCK, F_UNLCK, F_WRLCK, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT,
  O_DIRECTORY, O_NOATIME, O_NONBLOCK, O_RDONLY, UTIME_NOW, UTIME_OMIT,
} from '../../kern/index.ts';
import {
  type Vfs, type Vnode, fileVnode, vfsOf, vref, vrele, vn_access, vn_chmod, vn_chown, vn_link, vn_lookup,
  vn_relookup, vn_maySearch, vn_mkdir, vn_mknod, vn_open, vn_openat, vn_read, vn_readdir, vn_readlink,
  vn_rename, vn_rmdir, vn_stat, vn_statfs, vn_symlink, vn_truncate, vn_unlink, vn_utimens,
} from '../../vfs/index.ts';
import * as P from './proto.ts';
import type {
  AccessRequest, AttrOut, CreateRequest, EntryOut, FallocateRequest, FileLock, FlushRequest,
  FsyncdirRequest, FsyncRequest, FuseAttr, GetattrRequest, GetlkRequest, LinkRequest,
  LookupRequest, LseekRequest, MkdirRequest, MknodRequest, OpendirRequest, OpenOut, OpenRequest,
  ReaddirplusRequest, ReaddirRequest, ReadlinkRequest, ReadRequest, ReleasedirRequest, ReleaseRequest,
  RenameRequest, RmdirRequest, SetattrRequest, SetlkRequest, StatfsOut, StatfsRequest,
  SymlinkRequest, UnlinkRequest, WriteRequest,
} from './proto.ts';
import type { ConnInfo, FuseHandler, RequestContext } from './dispatch.ts';
import { MAX_WRITE_LIMIT } from './dispatch.ts';
import { callerGroups } from './session.ts';

/** OFFSET_MAX: a FUSE lock range ending here runs to end of file and beyond. */
const LOCK_EOF = 0x7fff_ffff_ffff_ffffn;

export interface KernelFuseServerOptions {
  /** The directory served as nodeid 1 (referenced by the server). Default: the root mount's root. */
  root?: Vnode;
  /** Seconds the host may cache names (LOOKUP replies). Default 1 (libfuse's default). */
  entryTimeout?: number;
  /** Seconds the host may cache attributes. Default 1. */
  attrTimeout?: number;
  /** How long a pid's supplementary groups are reused, in ms. Default 1000. */
  groupsTtlMs?: number;
  /** Groups lookup (default: callerGroups from /proc). For tests. */
  groupsOf?: (pid: number) => Promise<number[]>;
}

interface Node {
  readonly nodeid: number;
  readonly vp: Vnode;
  /** Lookups the host holds (replies that handed it this nodeid, minus FORGETs). */
  nlookup: number;
  /** Requests between adopt() and settle(): a FORGET meanwhile must not drop the node. */
  pins: number;
}

interface Handle {
  readonly fp: File;
  readonly vp: Vnode;
}

export class KernelFuseServer implements FuseHandler {
  readonly k: Kernel;
  readonly vfs: Vfs;
  /** Statistics for tests: nodes in the table, open handles, kernel processes made. */
  get nodeCount(): number {
    return this.nodes.size;
  }
  get handleCount(): number {
    return this.handles.size;
  }
  get procCount(): number {
    return this.procs.size;
  }

  private readonly root: Node;
  private readonly nodes = new Map<number, Node>();
  private readonly byVnode = new Map<Vnode, Node>();
  private nextNodeid = 2;
  private readonly handles = new Map<number, Handle>();
  private nextFh = 1;
  private readonly procs: CredProcs;
  /** Supplementary groups read for (pid, uid, gid) — see groups(). */
  private readonly groupCache = new Map<string, { at: number; groups: Promise<number[]> }>();
  /** The process last used for each host pid (with the uid/gid it had), for the fast path. */
  private readonly recent = new Map<number, { uid: number; gid: number; p: Proc; at: number }>();
  private readonly lockOwners = new Map<bigint, number>();
  private readonly mountIndex = new Map<Vnode['mount'], number>();
  /** host pid last seen taking a lock, per kernel lock owner (for GETLK's l_pid) */
  private readonly ownerPid = new Map<number, number>();
  private nextOwner = -1;
  private readonly entryTimeout: number;
  private readonly attrTimeout: number;
  private readonly groupsTtl: number;
  private readonly groupsOf: (pid: number) => Promise<number[]>;
  private closed = false;
  conn: ConnInfo | undefined;
  /** FUSE_WRITEBACK_CACHE was agreed: the host fills pages through any handle and owns O_APPEND. */
  private writeback = false;

  constructor(k: Kernel, opts: KernelFuseServerOptions = {}) {
    this.k = k;
    this.vfs = vfsOf(k);
    const rootVp = opts.root ?? this.vfs.rootMount?.root;
    if (rootVp === undefined || !rootVp.isDir) throw new Error('KernelFuseServer: no root directory to serve');
    this.root = { nodeid: P.FUSE_ROOT_ID, vp: vref(rootVp), nlookup: 1, pins: 0 };
    this.nodes.set(P.FUSE_ROOT_ID, this.root);
    this.byVnode.set(rootVp, this.root);
    this.entryTimeout = opts.entryTimeout ?? 1;
    this.attrTimeout = opts.attrTimeout ?? 1;
    this.groupsTtl = opts.groupsTtlMs ?? 1000;
    this.groupsOf = opts.groupsOf ?? callerGroups;
    // umask 0: the host applied the caller's umask already (no FUSE_DONT_MASK).
    this.procs = new CredProcs(k, { comm: 'fuse', umask: 0 });
  }

  // ---- credentials ---------------------------------------------------------------------------

  /**
   * The caller's supplementary groups, read from /proc and reused for groupsTtl ms — per pid *and*
   * the request's uid/gid: a process that looks at the mount, then drops privileges (setgroups,
   * setgid, setuid: su, sudo, daemons, test harnesses) must not keep the groups it had before,
   * which would let it into files of groups it left. (A change of the groups alone, with the same
   * fsuid/fsgid, still shows only after the TTL: the FUSE header carries no groups.)
   */
  private groups(pid: number, uid: number, gid: number): Promise<number[]> {
    if (pid === 0) return Promise.resolve([]);
    const now = Date.now();
    const key = `${pid}:${uid}:${gid}`;
    const c = this.groupCache.get(key);
    if (c !== undefined && now - c.at < this.groupsTtl) return c.groups;
    const g = this.groupsOf(pid);
    this.groupCache.set(key, { at: now, groups: g });
    if (this.groupCache.size > 4096) {
      for (const [k, e] of this.groupCache) if (now - e.at >= this.groupsTtl) this.groupCache.delete(k);
    }
    return g;
  }

  /** The kernel process acting for this request's caller (uid, gid, supplementary groups). */
  private async procFor(ctx: RequestContext): Promise<Proc> {
    const groups = await this.groups(ctx.pid, ctx.uid, ctx.gid);
    return this.procs.proc(ctx.uid, ctx.gid, groups);
  }

  private td(ctx: RequestContext, what: string): Lwp | Promise<Lwp> {
    if (this.closed) throw err(ESTALE);
    // Fast path: this caller (pid, uid, gid) was seen within the groups TTL.
    const hit = this.recent.get(ctx.pid);
    if (hit !== undefined && hit.uid === ctx.uid && hit.gid === ctx.gid && hit.p.state === 'alive' && Date.now() - hit.at < this.groupsTtl) {
      return this.procs.thread(hit.p, `fuse_${what}`);
    }
    return this.procFor(ctx).then((p) => {
      this.recent.set(ctx.pid, { uid: ctx.uid, gid: ctx.gid, p, at: Date.now() });
      if (this.recent.size > 4096) this.recent.clear();
      return this.procs.thread(p, `fuse_${what}`);
    });
  }

  // ---- the node table ------------------------------------------------------------------------

  private node(nodeid: number): Node {
    const n = this.nodes.get(nodeid);
    // A nodeid we never gave out (or already forgot): the host's handle is stale.
    if (n === undefined) throw err(ESTALE);
    return n;
  }

  /**
   * Table entry for a referenced vnode (the reference is taken over), pinned until settle():
   * nlookup is unchanged, and a FORGET that brings it to zero meanwhile leaves the node alone.
   */
  private adopt(vp: Vnode): Node {
    const have = this.byVnode.get(vp);
    if (have !== undefined) {
      vrele(vp);
      have.pins++;
      return have;
    }
    const n: Node = { nodeid: this.nextNodeid++, vp, nlookup: 0, pins: 1 };
    this.nodes.set(n.nodeid, n);
    this.byVnode.set(vp, n);
    return n;
  }

  /** Unpin; a node nobody has looked up (or everyone forgot) leaves the table. */
  private settle(n: Node): void {
    n.pins--;
    if (n.nlookup <= 0 && n.pins === 0 && n !== this.root) this.drop(n);
  }

  private drop(n: Node): void {
    this.nodes.delete(n.nodeid);
    this.byVnode.delete(n.vp);
    vrele(n.vp);
  }

  forget(nodeid: number, nlookup: number): void {
    const n = this.nodes.get(nodeid);
    if (n === undefined || n === this.root) return;
    n.nlookup -= nlookup;
    if (n.nlookup <= 0 && n.pins === 0) this.drop(n);
  }

  /**
   * st_ino as the host sees it. The host sees one device, so inode numbers of file systems mounted
   * inside the served tree (devfs on /dev ...) are moved to a range of their own: 2^32 × the
   * mount's index (the served mount is 0) + ino. Hard links keep sharing a number.
   */
  private hostIno(vp: Vnode): number {
    const mp = vp.mount;
    if (mp === this.root.vp.mount) return vp.ino;
    let i = this.mountIndex.get(mp);
    if (i === undefined) this.mountIndex.set(mp, (i = this.mountIndex.size + 1));
    return i * 0x1_0000_0000 + (vp.ino % 0x1_0000_0000);
  }

  private attr(vp: Vnode, s: Stat): FuseAttr {
    return {
      ino: this.hostIno(vp), size: s.size, blocks: s.blocks, atime: s.atime, mtime: s.mtime, ctime: s.ctime, mode: s.mode,
      nlink: s.nlink, uid: s.uid, gid: s.gid, rdev: s.rdev >>> 0, blksize: s.blksize,
    };
  }

  /** A LOOKUP-style reply for a referenced vnode: one more lookup of its node. */
  private async entry(vp: Vnode, td: Lwp | null): Promise<EntryOut> {
    const n = this.adopt(vp);
    try {
      const s = await vn_stat(td, vp);
      n.nlookup++;
      return { nodeid: n.nodeid, generation: 0, entryTimeout: this.entryTimeout, attrTimeout: this.attrTimeout, attr: this.attr(vp, s) };
    } finally {
      this.settle(n);
    }
  }

  // ---- open files ----------------------------------------------------------------------------

  private handle(fh: number): Handle {
    const h = this.handles.get(fh);
    if (h === undefined) throw err(EBADF);
    return h;
  }

  private addHandle(fp: File): OpenOut {
    const vp = fileVnode(fp);
    if (vp === null) throw err(EINVAL);
    const fh = this.nextFh++;
    this.handles.set(fh, { fp, vp });
    // A file whose size says nothing of its contents (procfs: 0) is read past "EOF" only uncached.
    return { fh, openFlags: vp.mount.fstype.synthetic === true && !vp.isDir ? P.FOPEN_DIRECT_IO : 0 };
  }

  // ---- FuseHandler ---------------------------------------------------------------------------

  init(conn: ConnInfo): void {
    this.conn = conn;
    this.writeback = (conn.flags & P.FUSE_WRITEBACK_CACHE) !== 0;
  }

  async lookup(req: LookupRequest, ctx: RequestContext): Promise<EntryOut> {
    const dvp = this.node(req.header.nodeid).vp;
    const td = await this.td(ctx, 'lookup');
    // The host passes names up to FUSE_NAME_MAX (1024) bytes; vn_lookup holds them to NAME_MAX.
    return this.entry(await vn_lookup(td, dvp, req.name), td);
  }

  async getattr(req: GetattrRequest, _ctx: RequestContext): Promise<AttrOut> {
    const vp = req.fh !== 0 && this.handles.has(req.fh) ? this.handle(req.fh).vp : this.node(req.header.nodeid).vp;
    return { attrTimeout: this.attrTimeout, attr: this.attr(vp, await vn_stat(null, vp)) };
  }

  async setattr(req: SetattrRequest, ctx: RequestContext): Promise<AttrOut> {
    const vp = this.node(req.header.nodeid).vp;
    const td = await this.td(ctx, 'setattr');
    const v = req.valid;
    // chown(fd, -1, -1) reaches us as a SETATTR with nothing to change: with
    // FUSE_HANDLE_KILLPRIV it is ours to clear the set-id bits (and touch ctime), as chown does.
    const nothing = (v & (P.FATTR_MODE | P.FATTR_UID | P.FATTR_GID | P.FATTR_SIZE | P.FATTR_ATIME | P.FATTR_MTIME)) === 0;
    if (v & (P.FATTR_UID | P.FATTR_GID) || nothing) {
      const uid = v & P.FATTR_UID ? req.uid : -1;
      const gid = v & P.FATTR_GID ? req.gid : -1;
      await vn_chown(td, vp, uid, gid);
    }
    if (v & P.FATTR_MODE) {
      // A chown above may already have cleared set-id bits the host asks us to keep clear.
      await vn_chmod(td, vp, req.mode & 0o7777);
    }
    if (v & P.FATTR_SIZE) await this.truncate(td, vp, req.size, v & P.FATTR_FH ? this.handles.get(req.fh) : undefined);
    if (v & (P.FATTR_ATIME | P.FATTR_MTIME)) {
      const t = (set: number, now: number, ts: P.Timespec) =>
        (v & set) === 0 ? { sec: 0, nsec: UTIME_OMIT } : (v & now) !== 0 ? { sec: 0, nsec: UTIME_NOW } : { sec: ts.sec, nsec: ts.nsec };
      const at = t(P.FATTR_ATIME, P.FATTR_ATIME_NOW, req.atime);
      const mt = t(P.FATTR_MTIME, P.FATTR_MTIME_NOW, req.mtime);
      // utimensat(2): both UTIME_NOW is the "touch" case that write access alone allows.
      const times: [Timespec, Timespec] | null = at.nsec === UTIME_NOW && mt.nsec === UTIME_NOW ? null : [at, mt];
      await vn_utimens(td, vp, times);
    }
    return { attrTimeout: this.attrTimeout, attr: this.attr(vp, await vn_stat(td, vp)) };
  }

  /** truncate(2) / ftruncate(2) rules: through an open file for writing, or by write permission. */
  private async truncate(td: Lwp, vp: Vnode, size: number, h: Handle | undefined): Promise<void> {
    if (h !== undefined && h.fp.writable) {
      await fileTruncate(td, h.fp, size);
      return;
    }
    await vn_truncate(td, vp, size);
  }

  async readlink(req: ReadlinkRequest, ctx: RequestContext): Promise<string> {
    const vp = this.node(req.header.nodeid).vp;
    return vn_readlink(await this.td(ctx, 'readlink'), vp);
  }

  /** Create dvp/name with a `*at` entry point started at dvp, then answer with the new node. */
  private async created(ctx: RequestContext, nodeid: number, name: string, what: string, call: (td: Lwp, dvp: Vnode) => Promise<unknown>): Promise<EntryOut> {
    const dvp = this.node(nodeid).vp;
    const td = await this.td(ctx, what);
    await call(td, dvp);
    return this.entry(await vn_relookup(td, dvp, name), td);
  }

  symlink(req: SymlinkRequest, ctx: RequestContext): Promise<EntryOut> {
    return this.created(ctx, req.header.nodeid, req.name, 'symlink', (td, dvp) => vn_symlink(td, req.target, dvp, req.name));
  }

  mknod(req: MknodRequest, ctx: RequestContext): Promise<EntryOut> {
    return this.created(ctx, req.header.nodeid, req.name, 'mknod', (td, dvp) => vn_mknod(td, dvp, req.name, req.mode, req.rdev));
  }

  mkdir(req: MkdirRequest, ctx: RequestContext): Promise<EntryOut> {
    return this.created(ctx, req.header.nodeid, req.name, 'mkdir', (td, dvp) => vn_mkdir(td, dvp, req.name, req.mode));
  }

  async unlink(req: UnlinkRequest, ctx: RequestContext): Promise<number> {
    const dvp = this.node(req.header.nodeid).vp;
    await vn_unlink(await this.td(ctx, 'unlink'), dvp, req.name, 0);
    return 0;
  }

  async rmdir(req: RmdirRequest, ctx: RequestContext): Promise<number> {
    const dvp = this.node(req.header.nodeid).vp;
    await vn_rmdir(await this.td(ctx, 'rmdir'), dvp, req.name);
    return 0;
  }

  async rename(req: RenameRequest, ctx: RequestContext): Promise<number> {
    const fdvp = this.node(req.header.nodeid).vp;
    const tdvp = this.node(req.newdir).vp;
    const td = await this.td(ctx, 'rename');
    await vn_rename(td, fdvp, req.oldName, tdvp, req.newName, req.flags);
    return 0;
  }

  /**
   * LINK names the source by node, which no `*at` call can take from an unprivileged caller
   * (linkat AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH), so it goes to the VFS's vn_link: the part
   * of linkat(2) after path resolution, with its checks in Linux's order.
   */
  async link(req: LinkRequest, ctx: RequestContext): Promise<EntryOut> {
    const vp = this.node(req.oldnodeid).vp;
    const dvp = this.node(req.header.nodeid).vp;
    const td = await this.td(ctx, 'link');
    // The "directory" may be any node the host names (garbage included): vn_link says ENOTDIR.
    await vn_link(td, vp, dvp, req.name);
    return this.entry(vref(vp), td);
  }

  /** open(2) of an existing node: access by the open mode (+ write for O_TRUNC), then a kernel File. */
  async open(req: OpenRequest, ctx: RequestContext): Promise<OpenOut> {
    const vp = this.node(req.header.nodeid).vp;
    const td = await this.td(ctx, 'open');
    return this.addHandle(await this.openVnode(td, vp, req.flags, false));
  }

  async opendir(req: OpendirRequest, ctx: RequestContext): Promise<OpenOut> {
    const vp = this.node(req.header.nodeid).vp;
    const td = await this.td(ctx, 'opendir');
    return this.addHandle(await this.openVnode(td, vp, (req.flags & ~O_ACCMODE) | O_RDONLY | O_DIRECTORY, true));
  }

  /**
   * OPEN/OPENDIR of a node: only regular files and directories (the host opens FIFOs and devices
   * itself), then vn_open — open(2)'s access rules (access mode 3 asks read and write and gives
   * neither), and O_TRUNC, which FUSE_ATOMIC_O_TRUNC leaves to us.
   */
  private async openVnode(td: Lwp, vp: Vnode, flags: number, dir: boolean): Promise<File> {
    if (dir !== vp.isDir) throw err(dir ? ENOTDIR : EISDIR);
    if (!vp.isReg && !vp.isDir) throw err(EINVAL);
    const fp = await vn_open(td, vp, flags & ~O_CLOEXEC);
    // With the writeback cache the host computes append offsets itself.
    if (this.writeback) fp.flags &= ~O_APPEND;
    return fp;
  }

  async create(req: CreateRequest, ctx: RequestContext): Promise<{ entry: EntryOut; open: OpenOut }> {
    const dvp = this.node(req.header.nodeid).vp;
    const td = await this.td(ctx, 'create');
    // With the writeback cache the host computes append offsets itself: no O_APPEND here.
    const fl = (req.flags & ~(O_CLOEXEC | (this.writeback ? O_APPEND : 0))) | O_CREAT;
    // O_NONBLOCK: the name may exist already (made meanwhile by another
    // request) and be a FIFO, whose open would wait for a peer that can
    // never come — the host opens FIFOs itself. Dropped again below.
    const fp = await vn_openat(td, dvp, req.name, fl | O_NONBLOCK, req.mode & 0o7777);
    const vp = fileVnode(fp);
    // As OPEN: only regular files are served (the host opens special files itself).
    if (vp === null || !vp.isReg) {
      await fp.release(td);
      throw err(EINVAL);
    }
    if ((req.flags & O_NONBLOCK) === 0) fp.flags &= ~O_NONBLOCK;
    const entry = await this.entry(vref(vp), td);
    return { entry, open: this.addHandle(fp) };
  }

  async read(req: ReadRequest, ctx: RequestContext): Promise<Uint8Array> {
    const h = this.handle(req.fh);
    // The host never asks for more than max_pages; a bigger size is garbage, not an allocation.
    if (req.size > MAX_WRITE_LIMIT) throw err(EINVAL);
    const buf = P.allocReplyData(req.size); // the reply is sent from this buffer without a copy
    let n: number;
    if (h.fp.readable) n = await doRead(await this.td(ctx, 'read'), h.fp, buf, req.offset);
    else if (this.writeback && h.vp.isReg) {
      // A page fill for a write-only handle (writeback cache): the host's own read, not the caller's.
      n = await vn_read(await this.td(ctx, 'read'), h.vp, buf, req.offset);
    } else throw err(EBADF);
    return n === buf.length ? buf : buf.subarray(0, n);
  }

  async write(req: WriteRequest, ctx: RequestContext): Promise<number> {
    const h = this.handle(req.fh);
    if (!h.fp.writable) throw err(EBADF);
    return doWrite(await this.td(ctx, 'write'), h.fp, req.data, req.offset);
  }

  async statfs(req: StatfsRequest, ctx: RequestContext): Promise<StatfsOut> {
    const vp = this.node(req.header.nodeid).vp;
    const s = await vn_statfs(await this.td(ctx, 'statfs'), vp);
    return { blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, bsize: s.bsize, namelen: s.namelen, frsize: s.frsize };
  }

  async release(req: ReleaseRequest, _ctx: RequestContext): Promise<number> {
    const h = this.handles.get(req.fh);
    if (h === undefined) return 0;
    this.handles.delete(req.fh);
    // FUSE_RELEASE_FLUSH: a close the host did not FLUSH first still ends the owner's POSIX locks.
    if ((req.releaseFlags & P.FUSE_RELEASE_FLUSH) !== 0) this.unlockOwner(h.vp, req.lockOwner);
    await h.fp.release(null); // drops its flock lock (FUSE_RELEASE_FLOCK_UNLOCK) and its vnode reference
    return 0;
  }

  releasedir(req: ReleasedirRequest, ctx: RequestContext): Promise<number> {
    return this.release({ ...req, op: 'release' }, ctx);
  }

  async flush(req: FlushRequest, _ctx: RequestContext): Promise<number> {
    const h = this.handles.get(req.fh);
    if (h !== undefined) this.unlockOwner(h.vp, req.lockOwner);
    return 0;
  }

  async fsync(req: FsyncRequest, ctx: RequestContext): Promise<number> {
    const h = this.handle(req.fh);
    await fileFsync(await this.td(ctx, 'fsync'), h.fp, (req.fsyncFlags & 1) !== 0 /* FUSE_FSYNC_FDATASYNC */);
    return 0;
  }

  fsyncdir(req: FsyncdirRequest, ctx: RequestContext): Promise<number> {
    return this.fsync({ ...req, op: 'fsync' }, ctx);
  }

  async readdir(req: ReaddirRequest, ctx: RequestContext): Promise<Uint8Array> {
    const h = this.handle(req.fh);
    const td = await this.td(ctx, 'readdir');
    const packer = new P.DirentPacker(req.size, false);
    const base = this.hostIno(h.vp) - h.vp.ino;
    await this.scan(td, h, req.offset, (ino, type, name, next) => packer.add({ ino: base + ino, off: next, type, name }));
    return packer.finish();
  }

  async readdirplus(req: ReaddirplusRequest, ctx: RequestContext): Promise<Uint8Array> {
    const h = this.handle(req.fh);
    const dvp = h.vp;
    const td = await this.td(ctx, 'readdirplus');
    // Collect at most what could fit (each record is ≥ 152 bytes), then look each one up.
    const max = Math.floor(req.size / (P.DIRENTPLUS_HEADER_SIZE + 8)) + 1;
    const got: { ino: number; type: number; name: string; next: number }[] = [];
    const base = this.hostIno(dvp) - dvp.ino;
    await this.scan(td, h, req.offset, (ino, type, name, next) => {
      if (got.length >= max) return false;
      got.push({ ino: base + ino, type, name, next });
      return true;
    });
    // Attributes only for a caller who may search the directory (what LOOKUP would demand).
    const mayLook = vn_maySearch(dvp, td.proc.cred);
    const packer = new P.DirentPacker(req.size, true);
    for (const d of got) {
      const dirent = { ino: d.ino, off: d.next, type: d.type, name: d.name };
      if (!mayLook || d.name === '.' || d.name === '..') {
        // The host ignores the entry part of "." and ".."; nodeid 0 means no lookup.
        if (!packer.add(dirent)) break;
        continue;
      }
      let n: Node | undefined;
      let st: Stat | undefined;
      try {
        n = this.adopt(await vn_relookup(td, dvp, d.name));
        st = await vn_stat(td, n.vp);
      } catch (e) {
        if (n !== undefined) this.settle(n);
        if (!(e instanceof KernelError)) throw e;
        n = undefined; // removed meanwhile: send the name without attributes
      }
      if (n !== undefined) dirent.ino = this.hostIno(n.vp);
      const entry = n === undefined || st === undefined ? undefined : {
        nodeid: n.nodeid, generation: 0, entryTimeout: this.entryTimeout, attrTimeout: this.attrTimeout, attr: this.attr(n.vp, st),
      };
      const sent = packer.add(dirent, entry);
      if (n !== undefined) {
        if (sent) n.nlookup++; // a packed entry is a lookup; one that did not fit never reached the host
        this.settle(n);
      }
      if (!sent) break;
    }
    return packer.finish();
  }

  /**
   * Directory entries from `cookie` (vn_readdir), which marks the directory accessed as
   * getdents(2) does: the host sets S_NOATIME on FUSE inodes and leaves atime to the server.
   */
  private scan(td: Lwp, h: Handle, cookie: number, emit: (ino: number, type: number, name: string, next: number) => boolean): Promise<void> {
    return vn_readdir(td, h.vp, cookie, (h.fp.flags & O_NOATIME) !== 0, emit);
  }

  async access(req: AccessRequest, ctx: RequestContext): Promise<number> {
    const vp = this.node(req.header.nodeid).vp;
    const td = await this.td(ctx, 'access');
    // R_OK 4, W_OK 2, X_OK 1 as access(2) has them.
    vn_access(vp, req.mask, td.proc.cred);
    return 0;
  }

  // ---- locks ---------------------------------------------------------------------------------

  private owner(lockOwner: bigint): number {
    let o = this.lockOwners.get(lockOwner);
    if (o === undefined) {
      o = this.nextOwner--;
      this.lockOwners.set(lockOwner, o);
    }
    return o;
  }

  private unlockOwner(vp: Vnode, lockOwner: bigint): void {
    const o = this.lockOwners.get(lockOwner);
    if (o !== undefined) this.vfs.locks.releaseOwnerOn(vp, o);
  }

  private range(lk: FileLock): { start: number; end: number } {
    const start = lk.start;
    const end = lk.end;
    if (start > end || start > BigInt(Number.MAX_SAFE_INTEGER)) throw err(EINVAL);
    return { start: Number(start), end: end >= LOCK_EOF || end > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(end) };
  }

  async getlk(req: GetlkRequest, _ctx: RequestContext): Promise<FileLock> {
    const h = this.handle(req.fh);
    const type = req.lk.type;
    if (type !== F_RDLCK && type !== F_WRLCK) throw err(EINVAL);
    const l = this.vfs.locks.getlk(h.vp, { owner: this.owner(req.owner), type, ...this.range(req.lk) });
    if (l === null) return { start: req.lk.start, end: req.lk.end, type: F_UNLCK, pid: 0 };
    return {
      start: BigInt(l.start), end: l.end === Infinity ? LOCK_EOF : BigInt(l.end), type: l.type,
      pid: this.ownerPid.get(l.owner) ?? 0,
    };
  }

  async setlk(req: SetlkRequest, ctx: RequestContext): Promise<number> {
    const h = this.handle(req.fh);
    const td = await this.td(ctx, 'setlk');
    const type = req.lk.type;
    if (type !== F_RDLCK && type !== F_WRLCK && type !== F_UNLCK) throw err(EINVAL);
    if (ctx.interrupted) throw err(EINTR);
    // SETLKW sleeps interruptibly: the host's INTERRUPT becomes a signal to this thread.
    const onAbort = () => td.interrupt();
    ctx.signal.addEventListener('abort', onAbort);
    try {
      if ((req.lkFlags & P.FUSE_LK_FLOCK) !== 0) {
        const op = (type === F_UNLCK ? LOCK_UN : type === F_RDLCK ? LOCK_SH : LOCK_EX) | (req.sleep ? 0 : LOCK_NB);
        await this.vfs.locks.flock(td, h.vp, h.fp, op);
        return 0;
      }
      // fcntl(2) EBADF: the lock type does not match the open mode.
      if (type === F_RDLCK && !h.fp.readable) throw err(EBADF);
      if (type === F_WRLCK && !h.fp.writable) throw err(EBADF);
      const owner = this.owner(req.owner);
      if (type !== F_UNLCK) this.ownerPid.set(owner, req.lk.pid);
      await this.vfs.locks.setlk(td, h.vp, { owner, type, ...this.range(req.lk) }, req.sleep);
      return 0;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  // ---- space -----------------------------------------------------------------------------------

  /** fallocate(2) on an open handle: the kernel's own (every mode the file system has). */
  async fallocate(req: FallocateRequest, ctx: RequestContext): Promise<number> {
    const h = this.handle(req.fh);
    await fileFallocate(await this.td(ctx, 'fallocate'), h.fp, req.mode, req.offset, req.length);
    return 0;
  }

  async lseek(req: LseekRequest, ctx: RequestContext): Promise<number> {
    const h = this.handle(req.fh);
    return fileLseek(h.fp, await this.td(ctx, 'lseek'), req.offset, req.whence);
  }

  // ---- the end ---------------------------------------------------------------------------------

  destroy(): Promise<void> {
    return this.close();
  }

  /** Release every open file, node reference and kernel process this server holds. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const hs = [...this.handles.values()];
    this.handles.clear();
    for (const h of hs) await h.fp.release(null);
    for (const n of [...this.nodes.values()]) this.drop(n);
    await this.procs.close();
  }
}

