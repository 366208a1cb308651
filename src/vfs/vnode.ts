/**
 * Vnodes, mounts and the interfaces a file system implements.
 *
 * A *vnode* (virtual node, after Kleiman's 1986 Sun design and NetBSD's
 * vnode(9)) is the kernel's handle on one file-system object: a regular
 * file, directory, symlink, FIFO, socket or device node. It carries the
 * in-core copy of the object's attributes (mode, owner, size, times — like
 * Linux's struct inode) so permission checks and stat never call into the
 * file system, and it points at a `VnodeOps` vtable through which the VFS
 * asks the file system to do everything else. The file system's own state
 * hangs off `vp.data` (NetBSD's v_data).
 *
 * Vnodes are addressed two ways: by name through namei (lookup, component
 * by component), and by (mount, inode number) through `VfsOps.vget`, which a
 * FUSE server uses to turn a nodeid back into a vnode (rump's p2k does the
 * same with puffs cookies).
 *
 * ## Vnode lifecycle (read this before touching refs)
 *
 *   1. A vnode comes into being when its file system hands it out: tmpfs
 *      allocates one per node at creation, a disk file system would build
 *      one in `vget`/`lookup` from an on-disk inode and keep it in a
 *      per-mount cache keyed by inode number (vcache).
 *   2. `usecount` counts references: every vnode returned by a VOP that
 *      yields one (lookup, create, mkdir, symlink, vget, root) is
 *      *referenced* and the caller must `vrele` it exactly once. Open files,
 *      a process's cwd and root, and a mount's covered vnode each hold one
 *      reference. `vref` takes another.
 *   3. References are counted per mount too (`mount.refs`); umount answers
 *      EBUSY while anything but the mount's own root reference remains.
 *   4. When the last reference goes (`vrele` drops usecount to 0) the VFS
 *      calls `ops.inactive`. A file system frees the object's storage there
 *      if its link count is 0 (an unlinked file stays readable until its
 *      last close, POSIX unlink(2)); a disk file system may also write back
 *      dirty attributes and evict the vnode from its cache (then `reclaim`).
 *   5. Directory entries do not hold references: tmpfs keeps its nodes alive
 *      through its own tree; a disk file system through the disk.
 *
 * ## The vnode lock (read this before calling a VOP)
 *
 * Each vnode has an `RwLock` (kern/lock.ts, checked by lockdep): class
 * `vnode_dir` for directories, `vnode` for everything else. The rule:
 *
 *   A VOP that reads a vnode (lookup, readdir, readlink, read, nameOf,
 *   seekHole, fsync) runs under that vnode's lock, shared; a VOP that
 *   changes it (create, mkdir, symlink, link, unlink, rmdir, rename,
 *   setattr, write, fallocate, and getattr, which rewrites the in-core
 *   attributes) runs under it exclusive — for a directory operation the
 *   directory's lock, plus the victim's for link, unlink and rmdir; for
 *   rename both directories' (not the entries'). `lockcheck.ts` holds the
 *   same rule as a table and checks it VOP by VOP in tests.
 *   Whoever calls the VOP takes the lock: the VFS for system calls, the
 *   FUSE server for its requests, and any code that walks *another* vnode
 *   (getcwd, rename's ancestor check, /proc paths: vfs_getcwd.ts) does it
 *   through the helpers that lock (namei.ts `lookupLocked`,
 *   vfs_getcwd.ts `readdirLocked` and `nameIn`, vfs_vnops.ts
 *   `refreshAttrs`), never by calling `vp.ops.*` bare.
 *
 * Exceptions, each deliberate:
 *   - a nonblocking file system (FsType.nonblocking: tmpfs, devfs) gets no
 *     lock around a single read-side VOP or a write's one VOP: one virtual
 *     CPU runs a VOP that never suspends to completion, so it is atomic;
 *   - a file system with FsType.unlockedReads (procfs) gets no lock around
 *     read-side VOPs: it generates its nodes from kernel state and has
 *     nothing for a vnode lock to guard (Linux runs proc's ->get_link and
 *     ->read without i_rwsem); so its VOPs may lock other file systems'
 *     vnodes without being ordered after their own;
 *   - the lifecycle notifications open, close, inactive and reclaim run
 *     without it (Linux calls ->open and ->release without i_rwsem);
 *   - a file system filling a mount nobody can reach yet (devfs
 *     populating its root inside `mount`) calls its own VOPs bare.
 *
 * The lock is never held across a whole path walk: namei locks one
 * directory at a time for a lookup and releases it before taking the child
 * (no lock coupling, as in Linux's RCU-free walk). Lock order (the list is
 * in src/kern/README.md): a parent directory before its child (`vnode_dir`,
 * then `vnode_dir/1` or `vnode`); the two directories of a rename by
 * ascending `vp.id`, under the mount's rename lock; never an ancestor while
 * holding a descendant — walks up the tree hold one vnode lock at a time.
 *
 * @guardedBy vp.lock for the attribute fields and the file system's data;
 * usecount and mountedHere by the single virtual CPU (changed without awaits).
 */
import type { Kernel } from '../kern/kernel.ts';
import type { Lwp } from '../kern/sched.ts';
import type { Timespec } from '../kern/file.ts';
import { S_IFMT, S_IFDIR, S_IFLNK, S_IFREG, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK } from '../kern/constants.ts';
import { LockClass, Mutex, RwLock } from '../kern/lock.ts';
import type { AdvLockState } from './advlock.ts';

/** linux_dirent64 d_type values (DT_*). */
export const DT_UNKNOWN = 0;
export const DT_FIFO = 1;
export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_BLK = 6;
export const DT_REG = 8;
export const DT_LNK = 10;
export const DT_SOCK = 12;

/** d_type for a mode's file type. */
export function modeToDtype(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG: return DT_REG;
    case S_IFDIR: return DT_DIR;
    case S_IFLNK: return DT_LNK;
    case S_IFIFO: return DT_FIFO;
    case S_IFCHR: return DT_CHR;
    case S_IFBLK: return DT_BLK;
    case S_IFSOCK: return DT_SOCK;
    default: return DT_UNKNOWN;
  }
}

/** What a new object should look like (VOP create/mkdir/symlink/mknod). */
export interface NewAttrs {
  /** Full st_mode: file type bits plus permission bits (umask already applied). */
  mode: number;
  uid: number;
  gid: number;
  /** Device number for S_IFCHR/S_IFBLK, else 0. */
  rdev: number;
}

/** Attribute changes for VOP setattr; absent fields are left alone. */
export interface SetAttrs {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: Timespec;
  mtime?: Timespec;
  /** Set by the VFS on every attribute change (POSIX: ctime marks a status change). */
  ctime?: Timespec;
}

/** One readdir record handed to the emit callback. */
export type DirEmit = (ino: number, dtype: number, name: string, nextCookie: number) => boolean;

/** statfs(2) result, Linux struct statfs field names without the f_ prefix. */
export interface Statfs {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  fsid: [number, number];
  namelen: number;
  frsize: number;
  flags: number;
}

/**
 * Operations on one vnode. Every method may return a value or a promise
 * (a disk file system waits for blocks; tmpfs never does). The VFS has
 * already checked permissions, read-only mounts, name validity and the
 * POSIX namespace rules listed beside each call; the file system checks
 * only what depends on its own state (ENOTEMPTY, ENOSPC, EMLINK ...).
 * File systems update timestamps and link counts themselves (Linux: the
 * inode operations do, e.g. shmem_mknod), so a FUSE server calling VOPs
 * directly gets POSIX times without the syscall layer.
 */
export interface VnodeOps {
  /**
   * Find `name` in dvp (never '.'; '..' only below a mount root). Returns a
   * referenced vnode, or null when there is no such entry — not an ENOENT
   * throw: a miss is the common case of every create, and an Error with a
   * stack trace costs more than the whole lookup.
   */
  lookup(dvp: Vnode, td: Lwp | null, name: string): Vnode | null | Promise<Vnode | null>;
  /** Make a non-directory, non-symlink node (regular, FIFO, socket, device). Name is known absent. */
  create(dvp: Vnode, td: Lwp | null, name: string, attrs: NewAttrs): Vnode | Promise<Vnode>;
  mkdir(dvp: Vnode, td: Lwp | null, name: string, attrs: NewAttrs): Vnode | Promise<Vnode>;
  symlink(dvp: Vnode, td: Lwp | null, name: string, attrs: NewAttrs, target: string): Vnode | Promise<Vnode>;
  /** Add a hard link to vp (not a directory, same mount) as dvp/name. */
  link(dvp: Vnode, td: Lwp | null, vp: Vnode, name: string): void | Promise<void>;
  /** Remove dvp/name, which is vp (not a directory). */
  unlink(dvp: Vnode, td: Lwp | null, vp: Vnode, name: string): void | Promise<void>;
  /** Remove the empty directory dvp/name, which is vp; ENOTEMPTY otherwise. */
  rmdir(dvp: Vnode, td: Lwp | null, vp: Vnode, name: string): void | Promise<void>;
  /**
   * Move fdvp/fname (fvp) to tdvp/tname, replacing tvp if given (types
   * already checked compatible; an empty-directory check is the fs's job).
   * `exchange` swaps the two entries (RENAME_EXCHANGE).
   */
  rename(fdvp: Vnode, fvp: Vnode, fname: string, tdvp: Vnode, tvp: Vnode | null, tname: string, td: Lwp | null, exchange: boolean): void | Promise<void>;
  readlink(vp: Vnode, td: Lwp | null): string | Promise<string>;
  /** Apply attribute changes (size on regular files truncates/extends). */
  setattr(vp: Vnode, td: Lwp | null, changes: SetAttrs): void | Promise<void>;
  /** Refresh the in-core attributes from the file system (optional; procfs, etfs). */
  getattr?(vp: Vnode, td: Lwp | null): void | Promise<void>;
  /** Read at offset into buf; returns bytes read (0 at EOF). Regular files only. */
  read(vp: Vnode, td: Lwp | null, buf: Uint8Array, offset: number): number | Promise<number>;
  /** Write buf at offset, extending the file; returns bytes written. Regular files only. */
  write(vp: Vnode, td: Lwp | null, buf: Uint8Array, offset: number): number | Promise<number>;
  /**
   * Emit directory entries (including '.' and '..') starting at `cookie`
   * (0 = beginning) until emit returns false or the end; returns true at
   * end of directory. Cookies stay valid across concurrent unlinks.
   */
  readdir(vp: Vnode, td: Lwp | null, cookie: number, emit: DirEmit): boolean | Promise<boolean>;
  fsync(vp: Vnode, td: Lwp | null, dataOnly: boolean): void | Promise<void>;
  /**
   * lseek SEEK_DATA (wantHole false) / SEEK_HOLE (true) from offset < size:
   * the next data or hole offset (end of file counts as a hole); ENXIO when
   * no data follows. Optional: without it the whole file is data.
   */
  seekHole?(vp: Vnode, offset: number, wantHole: boolean): number | Promise<number>;
  /**
   * fallocate(2) on a regular file, called with the vnode locked after the generic checks
   * (mode flags consistent, offset ≥ 0, length > 0, end ≤ 2^53-1). The file system answers
   * EOPNOTSUPP for modes it lacks; the VFS updates times and set-id bits on success.
   * Optional: without it fallocate is EOPNOTSUPP.
   */
  fallocate?(vp: Vnode, td: Lwp, mode: number, offset: number, length: number): void | Promise<void>;
  /** The name of child directory `vp` inside `dvp`, for getcwd (optional; else readdir scan). */
  nameOf?(dvp: Vnode, vp: Vnode): string | null;
  /** Optional open/close notifications (a disk fs may pin blocks). */
  open?(vp: Vnode, td: Lwp | null, flags: number): void | Promise<void>;
  close?(vp: Vnode, td: Lwp | null, flags: number): void | Promise<void>;
  /** Last reference dropped (see lifecycle). Free storage if nlink is 0. */
  inactive(vp: Vnode): void | Promise<void>;
  /** The vnode is being discarded from the cache (optional). */
  reclaim?(vp: Vnode): void;
  /** Linux pathconf values that differ per file system (optional). */
  pathconf?(vp: Vnode, name: number): number | null;
}

/** Operations on a mounted file system (NetBSD vfsops). */
export interface VfsOps {
  /** The root vnode, referenced. */
  root(mp: Mount): Vnode;
  statfs(mp: Mount, td: Lwp | null): Statfs | Promise<Statfs>;
  /** Write back everything dirty (sync(2), syncfs(2)). */
  sync(mp: Mount, td: Lwp | null): void | Promise<void>;
  /** The VFS has checked the mount is idle (or `force`); release everything. */
  unmount(mp: Mount, td: Lwp | null, force: boolean): void | Promise<void>;
  /** A referenced vnode by inode number, for FUSE and NFS-style handles; ESTALE if gone. */
  vget?(mp: Mount, ino: number): Vnode | Promise<Vnode>;
  /** Change mount options (MS_REMOUNT), optional. */
  remount?(mp: Mount, flags: number, data: string): void | Promise<void>;
}

/** A file-system type (tmpfs, devfs, procfs, ext2 ...), registered with the VFS. */
export interface FsType {
  readonly name: string;
  /** Linux statfs f_type magic. */
  readonly magic: number;
  /**
   * The file system's VOPs never suspend (never return a promise): tmpfs.
   * One virtual CPU runs a VOP that does not await to completion, so it is
   * already atomic, and the VFS skips the vnode lock around single read-side
   * VOPs (lookup, read, readlink, readdir) and around a write's one VOP.
   * Multi-step sequences that await in between (create, unlink, rename)
   * still lock.
   */
  readonly nonblocking?: boolean;
  /**
   * File contents are made when read (procfs): st_size says nothing of
   * their length (0, as Linux's procfs reports), so a frontend that caches
   * by size must read them uncached (the FUSE server opens them with
   * FOPEN_DIRECT_IO).
   */
  readonly synthetic?: boolean;
  /**
   * The VFS takes no vnode lock around this file system's read-side VOPs
   * (lookup, readlink, read, readdir, getattr) although they may suspend:
   * its nodes are generated from kernel state and every lookup makes a
   * fresh vnode, so there is nothing for the lock to guard (procfs). See
   * "The vnode lock" above.
   */
  readonly unlockedReads?: boolean;
  /**
   * Set up `mp` (fill mp.ops and mp.data) from source/flags/data, or throw
   * an errno (EINVAL for bad options, ENOTBLK, ENODEV ...).
   */
  mount(k: Kernel, td: Lwp | null, mp: Mount, source: string, data: string): void | Promise<void>;
}

/**
 * Lock classes, in the published lock order (src/kern/README.md): a mount's
 * rename lock, then directory vnodes (a second one as subclass 1), then
 * other vnodes. Directories are a class of their own, as Linux gives
 * directory inodes i_mutex_dir_key, so lockdep can tell "directory, then
 * the file in it" from the reverse.
 */
export const RENAME_CLASS = new LockClass('vfs_rename', "a mount's rename serialisation: the directory tree's shape, every '..' (s_vfs_rename_mutex)");
export const VDIR_CLASS = new LockClass('vnode_dir', "a directory vnode's attributes and entries (i_rwsem of a directory)");
export const VNODE_CLASS = new LockClass('vnode', "a non-directory vnode's attributes and data (i_rwsem)");

// ---- mount(2) flags (linux/mount.h) ----
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_SILENT = 32768;
export const MS_RELATIME = 1 << 21;
export const MS_STRICTATIME = 1 << 24;
export const MS_LAZYTIME = 1 << 25;
// umount2 flags
export const MNT_FORCE = 1;
export const MNT_DETACH = 2;
export const MNT_EXPIRE = 4;
export const UMOUNT_NOFOLLOW = 8;

/**
 * A mounted file system. `covered` is the directory it hides (null for the
 * root mount); that vnode's `mountedHere` points back.
 * @guardedBy the single virtual CPU (mount/unmount run without awaiting
 * between the checks and the table change).
 */
export class Mount {
  readonly k: Kernel;
  readonly fstype: FsType;
  readonly source: string;
  /** MS_* flags in effect (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_NOATIME ...). */
  flags: number;
  /** The option string given at mount time (for /proc/mounts). */
  data: string;
  /** st_dev of every vnode here (an anonymous device number, major 0). */
  readonly dev: number;
  ops!: VfsOps;
  /** File-system private state (NetBSD mnt_data). */
  fsdata: unknown = null;
  /** The root vnode; the mount holds one reference on it. */
  root!: Vnode;
  covered: Vnode | null = null;
  /** References on vnodes of this mount (see lifecycle, step 3). */
  refs = 0;
  /** Open file descriptions for writing (a remount read-only answers EBUSY while any). */
  writeOpens = 0;
  /** Detached by umount2(MNT_DETACH) or unmounted: no new lookups reach it. */
  gone = false;
  /** Serialises renames on this mount (Linux s_vfs_rename_mutex). */
  readonly renameLock: Mutex;
  private nextVnodeId = 1;

  constructor(k: Kernel, fstype: FsType, source: string, flags: number, data: string, dev: number) {
    this.k = k;
    this.fstype = fstype;
    this.source = source;
    this.flags = flags;
    this.data = data;
    this.dev = dev;
    this.renameLock = new Mutex(k, RENAME_CLASS, `rename:${fstype.name}`);
  }

  get readOnly(): boolean {
    return (this.flags & MS_RDONLY) !== 0;
  }

  /** A new vnode id (lock-order key, unique in this kernel's mount). */
  allocId(): number {
    return this.nextVnodeId++;
  }
}

/** A vnode; see the lifecycle essay at the top of this file. */
export class Vnode {
  readonly mount: Mount;
  /** Inode number (stable for the object's life; what FUSE addresses it by). */
  readonly ino: number;
  ops: VnodeOps;
  /** File-system private state (NetBSD v_data). */
  data: unknown;
  /** Lock-order key (a parent's id is not necessarily smaller; see README). */
  readonly id: number;
  /** Created on first use: most tmpfs files are never locked, and 100k locks cost memory. */
  private vlock: RwLock | null = null;
  /** References (see lifecycle). @guardedBy single virtual CPU */
  usecount = 0;
  /** A file system mounted on this directory, if any. */
  mountedHere: Mount | null = null;
  /** Advisory locks (fcntl and flock), created on first use. */
  advlocks: AdvLockState | null = null;
  /** Open file descriptions for writing (for umount -r checks and FIFO bookkeeping). */
  writecount = 0;
  /** Filled in by the FIFO layer: the pipe shared by all opens of this FIFO. */
  fifo: unknown = null;
  /** Unix-domain socket bound to this node (set by the socket layer through kern). */
  socket: unknown = null;

  // In-core attributes (Linux struct inode). @guardedBy lock
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  /** Allocated 512-byte blocks (st_blocks). */
  blocks = 0;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  btime: Timespec;

  constructor(mount: Mount, ino: number, ops: VnodeOps, data: unknown, attrs: NewAttrs, now: Timespec) {
    this.mount = mount;
    this.ino = ino;
    this.ops = ops;
    this.data = data;
    this.id = mount.allocId();
    this.mode = attrs.mode;
    this.uid = attrs.uid;
    this.gid = attrs.gid;
    this.rdev = attrs.rdev;
    this.nlink = (attrs.mode & S_IFMT) === S_IFDIR ? 2 : 1;
    this.size = 0;
    this.atime = this.mtime = this.ctime = this.btime = now;
  }

  get lock(): RwLock {
    return (this.vlock ??= this.isDir
      ? new RwLock(this.mount.k, VDIR_CLASS, `vnode_dir ${this.mount.fstype.name}:${this.ino}`)
      : new RwLock(this.mount.k, VNODE_CLASS, `vnode ${this.mount.fstype.name}:${this.ino}`));
  }

  get type(): number {
    return this.mode & S_IFMT;
  }
  get isDir(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  get isReg(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
  get isLnk(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
  /** The root of its mount (VV_ROOT). */
  get isMountRoot(): boolean {
    return this.mount.root === this;
  }
}

/** Does a read-side VOP on vp go without the vnode lock (FsType.nonblocking or unlockedReads)? */
export function readsUnlocked(vp: Vnode): boolean {
  const t = vp.mount.fstype;
  return t.nonblocking === true || t.unlockedReads === true;
}

/** Take a reference. */
export function vref(vp: Vnode): Vnode {
  vp.usecount++;
  vp.mount.refs++;
  return vp;
}

/**
 * Drop a reference; the last one makes the vnode inactive (lifecycle step 4).
 * An asynchronous inactive (a disk fs freeing blocks) runs on; its failure is
 * logged, since nobody is left to tell.
 */
export function vrele(vp: Vnode): void {
  if (vp.usecount <= 0) vp.mount.k.panic(`vrele: vnode ino ${vp.ino} of ${vp.mount.fstype.name} has usecount ${vp.usecount}`);
  vp.mount.refs--;
  if (--vp.usecount === 0) {
    const r = vp.ops.inactive(vp);
    if (r instanceof Promise) {
      r.catch((e: unknown) => vp.mount.k.log('err', `vnode ${vp.ino} inactive failed: ${String(e)}`));
    }
  }
}

/** Current wall-clock time as a Timespec (nanosecond resolution). */
export function vfsNow(k: Kernel): Timespec {
  const ns = k.hyper.clockRealtime();
  const sec = ns / 1_000_000_000n;
  return { sec: Number(sec), nsec: Number(ns - sec * 1_000_000_000n) };
}

/**
 * Mark vp accessed (Linux touch_atime) with relatime rules: only when atime
 * is not after mtime and ctime, or is a day old; never on MS_NOATIME or
 * read-only mounts, or when the caller opened with O_NOATIME (`noatime`).
 * Takes the vnode lock itself: call without holding it.
 */
export function touchAtime(td: Lwp, vp: Vnode, noatime = false): void | Promise<void> {
  const mp = vp.mount;
  if (noatime || (mp.flags & (MS_NOATIME | MS_RDONLY)) !== 0) return;
  if (vp.isDir && (mp.flags & MS_NODIRATIME) !== 0) return;
  const a = vp.atime;
  if (tsBefore(vp.mtime, a) && tsBefore(vp.ctime, a)) {
    // Only the once-a-day rule is left: compare whole seconds without building a Timespec.
    const nowSec = Number(mp.k.hyper.clockRealtime() / 1_000_000_000n);
    if (nowSec - a.sec < 86400) return;
  }
  if (mp.fstype.nonblocking === true) {
    vp.ops.setattr(vp, td, { atime: vfsNow(mp.k) });
    return;
  }
  return touchAtimeLocked(td, vp);
}

async function touchAtimeLocked(td: Lwp, vp: Vnode): Promise<void> {
  const l = vp.lock.enter(td, 'excl');
  using g = l instanceof Promise ? await l : l;
  const r = vp.ops.setattr(vp, td, { atime: vfsNow(vp.mount.k) });
  if (r instanceof Promise) await r;
}

/** a < b for timespecs. */
export function tsBefore(a: Timespec, b: Timespec): boolean {
  return a.sec < b.sec || (a.sec === b.sec && a.nsec < b.nsec);
}
