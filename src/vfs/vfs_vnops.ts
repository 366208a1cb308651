/**
 * Open files backed by vnodes (NetBSD vfs_vnops.c, Linux fs/open.c and
 * fs/read_write.c): `vnodeFileOps` (read, write, lseek, fstat, ftruncate,
 * fsync, fcntl locks, close) for regular files, directories, symlinks opened
 * with O_PATH; FIFOs opened through the namespace become pipe ends
 * (fifo(7)); device nodes go to the driver registered in the device switch.
 *
 * Also the shared helpers the syscalls use: vnode locking, stat/statx
 * conversion, truncation with its timestamp and set-id rules.
 *
 * Access time: relatime (Linux's default since 2.6.30): a read updates
 * atime only when atime is older than mtime or ctime, or more than a day
 * old; MS_NOATIME mounts and O_NOATIME opens never update it.
 */
import { Lwp } from '../kern/sched.ts';
import { File, type FileOps, type Stat, type Timespec } from '../kern/file.ts';
import { EACCES, EINTR, EINVAL, EISDIR, ENXIO, EOPNOTSUPP, EOVERFLOW, err } from '../kern/errno.ts';
import {
  FALLOC_FL_KEEP_SIZE,
  O_ACCMODE, O_APPEND, O_NOATIME, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_WRONLY, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM,
  SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET, S_IFBLK, S_IFCHR,
} from '../kern/constants.ts';
import { Pipe, pipeOps } from '../kern/pipe.ts';
import { fsizeCheckGrow, fsizeWritable } from '../kern/rlimit.ts';
import { devsw, major, minor } from '../kern/devsw.ts';
import type { LockOpts } from '../kern/lock.ts';
import { MS_NODEV, type SetAttrs, type Vnode, readsUnlocked, touchAtime, vfsNow, vrele } from './vnode.ts';
import { modeAfterWrite } from './perm.ts';
import { fsnotifyChange, fsnotifyClose, fsnotifyModify } from './inotify_hooks.ts';
import { type AdvLocks, vnodeAdvlock } from './advlock.ts';
import type { VnodeFileData } from './namei.ts';

// ---- locking helpers ------------------------------------------------------------

/**
 * Lock vp (shared or exclusive), sleeping only when contended: returns
 * undefined when the lock was free (the common case) and a promise to await
 * otherwise. Hot paths write
 *     { const lw = vlock(td, vp, true); if (lw !== undefined) await lw; }
 * rather than `await vlock(...)`: an await of a value that is already there
 * still suspends the caller for a microtask turn, and a create or unlink
 * takes two or three of these. Either way the acquisition is a blocking
 * one to lockdep (RwLock.enter), so it records its lock order.
 * New code prefers the guard form, released on every path:
 *     const l = vp.lock.enter(td, 'excl'); using g = l instanceof Promise ? await l : l;
 */
export function vlock(td: Lwp, vp: Vnode, excl: boolean, subclass = 0): Promise<unknown> | undefined {
  const g = vp.lock.enter(td, excl ? 'excl' : 'shared', subclass === 0 ? undefined : (NESTED[subclass] ?? { subclass }));
  return g instanceof Promise ? g : undefined;
}

/** Lock options per lockdep subclass, made once (an uncontended vlock allocates nothing but its guard). */
const NESTED: readonly LockOpts[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 7].map((subclass) => Object.freeze({ subclass })));

export function vunlock(td: Lwp, vp: Vnode): void {
  vp.lock.release(td);
}

// ---- attributes -------------------------------------------------------------------

function ts(t: Timespec): Timespec {
  return { sec: t.sec, nsec: t.nsec };
}

/**
 * Refresh in-core attributes from file systems that compute them (procfs,
 * etfs) under the vnode lock, exclusive: getattr rewrites them. A promise
 * only when that suspends. Call it without holding vp's lock; a caller
 * without a thread (td null) locks as a kernel-context thread.
 */
export function refreshAttrs(td: Lwp | null, vp: Vnode): Promise<void> | undefined {
  if (vp.ops.getattr === undefined) return undefined; // tmpfs, devfs: attributes are always in core
  if (readsUnlocked(vp)) {
    const r = vp.ops.getattr(vp, td);
    return r instanceof Promise ? r : undefined;
  }
  return getattrLocked(td ?? new Lwp(vp.mount.k, vp.mount.k.proc0, 'getattr'), vp);
}

async function getattrLocked(td: Lwp, vp: Vnode): Promise<void> {
  const l = vp.lock.enter(td, 'excl');
  using g = l instanceof Promise ? await l : l;
  const r = vp.ops.getattr!(vp, td);
  if (r instanceof Promise) await r;
}

/** struct stat for vp (stat(2)). */
export function vnodeStat(vp: Vnode): Stat {
  return {
    dev: vp.mount.dev, ino: vp.ino, mode: vp.mode, nlink: vp.nlink, uid: vp.uid, gid: vp.gid, rdev: vp.rdev,
    size: vp.size, blksize: 4096, blocks: vp.blocks, atime: ts(vp.atime), mtime: ts(vp.mtime), ctime: ts(vp.ctime),
  };
}

/** statx(2) mask bits. */
export const STATX_TYPE = 0x1;
export const STATX_MODE = 0x2;
export const STATX_NLINK = 0x4;
export const STATX_UID = 0x8;
export const STATX_GID = 0x10;
export const STATX_ATIME = 0x20;
export const STATX_MTIME = 0x40;
export const STATX_CTIME = 0x80;
export const STATX_INO = 0x100;
export const STATX_SIZE = 0x200;
export const STATX_BLOCKS = 0x400;
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;

/** struct statx, field names without the stx_ prefix. */
export interface Statx {
  mask: number;
  blksize: number;
  attributes: number;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  ino: number;
  size: number;
  blocks: number;
  attributes_mask: number;
  atime: Timespec;
  btime: Timespec;
  ctime: Timespec;
  mtime: Timespec;
  rdev_major: number;
  rdev_minor: number;
  dev_major: number;
  dev_minor: number;
}

export function vnodeStatx(vp: Vnode): Statx {
  return {
    mask: STATX_BASIC_STATS | STATX_BTIME, blksize: 4096, attributes: 0, nlink: vp.nlink, uid: vp.uid, gid: vp.gid,
    mode: vp.mode, ino: vp.ino, size: vp.size, blocks: vp.blocks, attributes_mask: 0,
    atime: ts(vp.atime), btime: ts(vp.btime), ctime: ts(vp.ctime), mtime: ts(vp.mtime),
    rdev_major: major(vp.rdev), rdev_minor: minor(vp.rdev), dev_major: major(vp.mount.dev), dev_minor: minor(vp.mount.dev),
  };
}

/** VOP setattr under the caller's exclusive lock. */
export async function setattrLocked(td: Lwp, vp: Vnode, c: SetAttrs): Promise<void> {
  const r = vp.ops.setattr(vp, td, c);
  if (r instanceof Promise) await r;
  fsnotifyChange(td.k, vp, c); // inotify(7)
}

/**
 * Truncate a regular file to len (truncate(2)/ftruncate(2)/O_TRUNC). mtime and ctime change when
 * the size does, and always when `always` (O_TRUNC and ftruncate(2): Linux handle_truncate and
 * do_sys_ftruncate pass ATTR_MTIME|ATTR_CTIME; truncate(2) passes neither). A non-root caller
 * loses set-id bits whether or not the size changes (do_truncate → dentry_needs_remove_privs); that
 * alone is a change of mode without ATTR_CTIME, so it does not touch ctime (as on Linux tmpfs).
 */
export async function truncateVnode(td: Lwp, vp: Vnode, len: number, always: boolean): Promise<void> {
  if (vp.isDir) throw err(EISDIR);
  if (!vp.isReg) throw err(EINVAL);
  const l = vp.lock.enter(td, 'excl');
  using g = l instanceof Promise ? await l : l;
  fsizeCheckGrow(td.k, td.proc, vp.size, len); // inode_newsize_ok: RLIMIT_FSIZE
  const c: SetAttrs = { size: len };
  if (always || len !== vp.size) c.mtime = c.ctime = vfsNow(td.k);
  const m = modeAfterWrite(vp.mode, vp.gid, td.proc.cred);
  if (m !== vp.mode) c.mode = m;
  await setattrLocked(td, vp, c);
}

// ---- regular files, directories, O_PATH -----------------------------------------------

/** File.data of a vnode-backed open file. */
export class VFile implements VnodeFileData {
  readonly vp: Vnode;
  readonly locks: AdvLocks;
  constructor(vp: Vnode, locks: AdvLocks) {
    this.vp = vp;
    this.locks = locks;
  }
}

async function vnRead(fp: File<VFile>, td: Lwp, buf: Uint8Array, offset: number | null): Promise<number> {
  const vp = fp.data.vp;
  if (vp.isDir) throw err(EISDIR);
  if (!vp.isReg) throw err(EINVAL);
  const off = offset ?? fp.offset;
  let n: number;
  if (vp.mount.fstype.nonblocking === true) n = vp.ops.read(vp, td, buf, off) as number;
  else if (vp.mount.fstype.unlockedReads === true) n = await vp.ops.read(vp, td, buf, off);
  else {
    const l = vp.lock.enter(td, 'shared');
    using g = l instanceof Promise ? await l : l;
    const r = vp.ops.read(vp, td, buf, off);
    n = r instanceof Promise ? await r : r;
  }
  if (offset === null) fp.offset = off + n;
  // read(2) marks the file accessed (relatime; see the file comment).
  const t = touchAtime(td, vp, (fp.flags & O_NOATIME) !== 0);
  if (t !== undefined) await t;
  return n;
}

/**
 * fallocate(2) (generic checks done by the syscall): the file system's op under the vnode
 * lock, then what Linux's file_modified() does — a non-root caller's write clears set-id bits
 * (as write(2) does) and mtime/ctime are updated, whatever the mode.
 */
async function vnFallocate(fp: File<VFile>, td: Lwp, mode: number, offset: number, length: number): Promise<void> {
  const vp = fp.data.vp;
  if (vp.ops.fallocate === undefined) throw err(EOPNOTSUPP);
  const l = vp.lock.enter(td, 'excl');
  using g = l instanceof Promise ? await l : l;
  if ((mode & FALLOC_FL_KEEP_SIZE) === 0) fsizeCheckGrow(td.k, td.proc, vp.size, offset + length);
  const r = vp.ops.fallocate(vp, td, mode, offset, length);
  if (r instanceof Promise) await r;
  const now = vfsNow(td.k);
  const c: SetAttrs = { mtime: now, ctime: now };
  const m = modeAfterWrite(vp.mode, vp.gid, td.proc.cred);
  if (m !== vp.mode) c.mode = m;
  await setattrLocked(td, vp, c);
}

/** The write itself, under the vnode lock (or atomic: nonblocking fs). */
function writeLocked(fp: File<VFile>, td: Lwp, vp: Vnode, buf: Uint8Array, offset: number | null): number | Promise<number> {
  // O_APPEND: every write goes to the end, pwrite(2) included (Linux BUGS).
  const off = (fp.flags & O_APPEND) !== 0 ? vp.size : offset ?? fp.offset;
  if (buf.byteLength === 0) return 0;
  if (off + buf.byteLength > Number.MAX_SAFE_INTEGER) throw err(EOVERFLOW);
  // RLIMIT_FSIZE: SIGXFSZ + EFBIG at or past the limit, a short write across it.
  const allowed = fsizeWritable(td.k, td.proc, off, buf.byteLength);
  if (allowed < buf.byteLength) buf = buf.subarray(0, allowed);
  const r = vp.ops.write(vp, td, buf, off);
  if (r instanceof Promise) return r.then((n) => writeDone(fp, td, vp, off, offset, n));
  return writeDone(fp, td, vp, off, offset, r);
}

function writeDone(fp: File<VFile>, td: Lwp, vp: Vnode, off: number, offset: number | null, n: number): number | Promise<number> {
  if (offset === null) fp.offset = off + n;
  if (n > 0) fsnotifyModify(td.k, vp); // inotify(7)
  // write(2) by a non-root caller clears set-user-ID (and set-group-ID: perm.ts modeAfterWrite).
  const m = modeAfterWrite(vp.mode, vp.gid, td.proc.cred);
  if (m === vp.mode) return n;
  const s = vp.ops.setattr(vp, td, { mode: m, ctime: vfsNow(td.k) });
  return s instanceof Promise ? s.then(() => n) : n;
}

async function vnWrite(fp: File<VFile>, td: Lwp, buf: Uint8Array, offset: number | null): Promise<number> {
  const vp = fp.data.vp;
  if (!vp.isReg) throw err(EINVAL);
  if (vp.mount.fstype.nonblocking === true) return writeLocked(fp, td, vp, buf, offset) as number;
  const l = vp.lock.enter(td, 'excl');
  using g = l instanceof Promise ? await l : l;
  return await writeLocked(fp, td, vp, buf, offset);
}

/** SEEK_DATA / SEEK_HOLE under the vnode's shared lock (the file system reads its extents). */
async function seekHoleLocked(fp: File<VFile>, td: Lwp, offset: number, want: boolean): Promise<number> {
  const vp = fp.data.vp;
  const l = vp.lock.enter(td, 'shared');
  using g = l instanceof Promise ? await l : l;
  const r = vp.ops.seekHole!(vp, offset, want);
  return (fp.offset = r instanceof Promise ? await r : r);
}

function vnLseek(fp: File<VFile>, td: Lwp, offset: number, whence: number): number | Promise<number> {
  const vp = fp.data.vp;
  let n: number;
  switch (whence) {
    case SEEK_SET: n = offset; break;
    case SEEK_CUR: n = fp.offset + offset; break;
    case SEEK_END:
      if (vp.isDir) throw err(EINVAL);
      n = vp.size + offset;
      break;
    case SEEK_DATA:
    case SEEK_HOLE: {
      // lseek(2): ENXIO when offset is at or past EOF (or no data follows, SEEK_DATA).
      if (!vp.isReg) throw err(EINVAL);
      if (offset < 0) throw err(EINVAL);
      if (offset >= vp.size) throw err(ENXIO);
      const want = whence === SEEK_HOLE;
      // Without the VOP the whole file is data, which the man page allows.
      if (vp.ops.seekHole === undefined) n = want ? vp.size : offset;
      else if (readsUnlocked(vp)) {
        const r = vp.ops.seekHole(vp, offset, want);
        if (r instanceof Promise) return r.then((x) => (fp.offset = x));
        n = r;
      } else return seekHoleLocked(fp, td, offset, want);
      break;
    }
    default:
      throw err(EINVAL);
  }
  if (n < 0) throw err(EINVAL);
  if (!Number.isSafeInteger(n)) throw err(EOVERFLOW);
  fp.offset = n;
  return n;
}

async function vnClose(fp: File<VFile>, td: Lwp | null): Promise<void> {
  const vp = fp.data.vp;
  fp.data.locks.releaseFlock(vp, fp);
  if (opensForWrite(fp.flags)) {
    vp.writecount--;
    vp.mount.writeOpens--;
  }
  if (vp.ops.close !== undefined && (fp.flags & O_PATH) === 0) {
    const r = vp.ops.close(vp, td, fp.flags);
    if (r instanceof Promise) await r;
  }
  if ((fp.flags & O_PATH) === 0) fsnotifyClose(vp.mount.k, vp, opensForWrite(fp.flags)); // inotify(7)
  vrele(vp);
}

export const vnodeFileOps: FileOps<VFile> & { closefd?(fp: File<VFile>, td: Lwp | null): void } = {
  type: 'vnode',
  read: vnRead,
  write: vnWrite,
  lseek: vnLseek,
  // Regular files and directories are always ready (poll(2) on a disk file).
  poll: (_fp, _td, events) => events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM),
  pollQueues: () => [],
  async stat(fp, td) {
    await refreshAttrs(td, fp.data.vp);
    return vnodeStat(fp.data.vp);
  },
  advlock(fp, td, op, arg) {
    if (op === 'flock') return fp.data.locks.flock(td, fp.data.vp, fp, arg as number);
    if (!fp.data.vp.isReg && !fp.data.vp.isDir) throw err(EINVAL);
    return vnodeAdvlock(fp.data.locks, td, fp, fp.data.vp, op, arg);
  },
  async fsync(fp, td) {
    const vp = fp.data.vp;
    const l = vp.lock.enter(td, 'shared');
    using g = l instanceof Promise ? await l : l;
    const r = vp.ops.fsync(vp, td, false);
    if (r instanceof Promise) await r;
  },
  truncate(fp, td, length) {
    return truncateVnode(td, fp.data.vp, length, true); // ftruncate(2)
  },
  fallocate: vnFallocate,
  closefd(fp, td) {
    // fcntl(2): closing any descriptor for a file releases the process's POSIX locks on it.
    if (td !== null && fp.data.vp.advlocks !== null) fp.data.locks.releaseOwnerOn(fp.data.vp, td.proc.pid);
  },
  close: vnClose,
};

/**
 * Does an open with these flags take write access to the file (Linux FMODE_WRITE: O_WRONLY or
 * O_RDWR, not O_PATH)? Such opens count in writecount, and keep a read-only remount EBUSY.
 * Access mode 3 checks write permission but gives no write access.
 */
function opensForWrite(flags: number): boolean {
  const acc = flags & O_ACCMODE;
  return (flags & O_PATH) === 0 && (acc === O_WRONLY || acc === O_RDWR);
}

/** A new open file description on vp (takes over the caller's reference). */
export function vnodeFile(vp: Vnode, flags: number, locks: AdvLocks): File<VFile> {
  if (opensForWrite(flags)) {
    vp.writecount++;
    vp.mount.writeOpens++;
  }
  return new File(vnodeFileOps, new VFile(vp, locks), flags);
}

// ---- FIFOs -----------------------------------------------------------------------------

/** The pipe shared by every open of one FIFO, with open counters for the blocking rules. */
interface FifoState {
  pipe: Pipe;
  /** Opens of each end ever (a waiting opener checks these changed, Linux r_counter/w_counter). */
  rOpens: number;
  wOpens: number;
}

function fifoOpsFor(vp: Vnode, locks: AdvLocks): FileOps<Pipe> & { closefd?(fp: File<Pipe>, td: Lwp | null): void } {
  return {
    ...pipeOps,
    stat: () => vnodeStat(vp),
    async close(fp, td) {
      await pipeOps.close(fp, td);
      const st = vp.fifo as FifoState | null;
      // The last close of both ends discards the pipe and anything still in it (fifo(7)).
      if (st !== null && st.pipe === fp.data && st.pipe.readers === 0 && st.pipe.writers === 0) vp.fifo = null;
      locks.releaseFlock(vp, fp);
      vrele(vp);
    },
  };
}

/**
 * Open a FIFO (fifo(7), Linux fs/pipe.c fifo_open): a read-only open waits
 * for a writer unless O_NONBLOCK; a write-only open waits for a reader, and
 * with O_NONBLOCK fails with ENXIO when there is none; O_RDWR never waits.
 * Takes over the caller's reference on vp.
 */
export async function openFifo(td: Lwp, vp: Vnode, flags: number, locks: AdvLocks, specials: WeakMap<File, Vnode>): Promise<File> {
  let st = vp.fifo as FifoState | null;
  if (st === null) {
    st = { pipe: new Pipe(td.k, vp.uid, vp.gid), rOpens: 0, wOpens: 0 };
    vp.fifo = st;
  }
  const p = st.pipe;
  const acc = flags & O_ACCMODE;
  const nonblock = (flags & O_NONBLOCK) !== 0;
  const fp = new File(fifoOpsFor(vp, locks), p, flags);
  specials.set(fp, vp);
  if (acc === O_RDWR) {
    p.readers++;
    p.writers++;
    st.rOpens++;
    st.wOpens++;
    p.rq.wakeup(td.k);
    p.wq.wakeup(td.k);
    return fp;
  }
  if (acc === O_RDONLY) {
    p.readers++;
    st.rOpens++;
    p.wq.wakeup(td.k); // writers waiting in open
    if (p.writers === 0 && !nonblock) {
      const seen = st.wOpens;
      while (p.writers === 0 && st.wOpens === seen) {
        const why = await p.rq.sleep(td, { intr: true });
        if (why === 'intr') {
          await fp.release(td);
          throw err(EINTR);
        }
      }
    }
    return fp;
  }
  if (acc === O_WRONLY) {
    if (p.readers === 0 && nonblock) {
      if (p.writers === 0 && p.readers === 0) vp.fifo = null;
      vrele(vp);
      throw err(ENXIO);
    }
    p.writers++;
    st.wOpens++;
    p.rq.wakeup(td.k);
    if (p.readers === 0) {
      const seen = st.rOpens;
      while (p.readers === 0 && st.rOpens === seen) {
        const why = await p.wq.sleep(td, { intr: true });
        if (why === 'intr') {
          await fp.release(td);
          throw err(EINTR);
        }
      }
    }
    return fp;
  }
  vrele(vp);
  throw err(EINVAL);
}

// ---- device nodes -------------------------------------------------------------------------

/**
 * Open a character or block special file through the device switch.
 * ENXIO when no driver has the major (open(2)); EACCES on a nodev mount.
 * Takes over the caller's reference on vp (the driver's File does not hold
 * one: fstat on it answers the node's attributes through ctx.stat).
 */
export async function openDevice(td: Lwp, vp: Vnode, flags: number, specials: WeakMap<File, Vnode>): Promise<File> {
  try {
    if ((vp.mount.flags & MS_NODEV) !== 0) throw err(EACCES);
    const kind = vp.type === S_IFCHR ? 'chr' : vp.type === S_IFBLK ? 'blk' : null;
    if (kind === null) throw err(ENXIO);
    const drv = devsw(td.k).lookup(kind, vp.rdev);
    if (drv === undefined) throw err(ENXIO);
    const r = drv.open(td, { rdev: vp.rdev, flags, stat: () => vnodeStat(vp) });
    const fp = r instanceof Promise ? await r : r;
    specials.set(fp, vp);
    return fp;
  } finally {
    vrele(vp);
  }
}
