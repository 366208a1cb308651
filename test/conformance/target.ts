/**
 * The conformance suite's view of "something that does file system calls":
 * a Target. The suite (test/conformance/*.test.ts) and the differential test
 * (test/differential) are written once against this interface and run on every
 * registered target (./targets/index.ts): the kernel through the library
 * frontend, the host through node:fs (the reference), and the kernel
 * through the remote, worker and FUSE frontends.
 *
 * Conventions every adapter keeps:
 *   - Linux names, argument order and semantics (open(2), rename(2), ...).
 *   - Failures reject with an object whose `.code` is the errno name
 *     ('ENOENT'); nothing else about the error is compared.
 *   - Paths are passed through untouched. `setup()` makes a fresh, empty
 *     directory (`root`, absolute in the target's namespace, mode 0755) and
 *     makes it the current directory, so tests use relative paths and build
 *     absolute ones as `t.root + '/x'`.
 *   - Data crosses as Uint8Array: `read(fd, n)` returns the bytes read (its
 *     length is read(2)'s return value), `write(fd, data)` returns the count.
 *   - Stat is Linux struct stat without the st_ prefix (docs/ARCHITECTURE.md), times as
 *     {sec, nsec}.
 *
 * `capabilities` say which optional parts a target can do at all; a test that
 * needs a missing capability is skipped on that target, and every such gap
 * is listed with its reason in the DIFFERENCES table of test/README.md.
 */

export interface Timespec {
  sec: number;
  nsec: number;
}

export interface TStat {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
}

export interface TStatfs {
  /** f_type magic (TMPFS_MAGIC 0x01021994 for tmpfs). */
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

/** struct statx (linux/stat.h) without the stx_ prefix. */
export interface TStatx {
  mask: number;
  blksize: number;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  ino: number;
  size: number;
  blocks: number;
  atime: Timespec;
  btime: Timespec;
  ctime: Timespec;
  mtime: Timespec;
  rdev_major: number;
  rdev_minor: number;
  dev_major: number;
  dev_minor: number;
}

/** A utimensat time: a value, UTIME_NOW ('now') or UTIME_OMIT ('omit'). */
export type TimeArg = Timespec | 'now' | 'omit';

export interface Capabilities {
  /** asUser() works: the target can act with other credentials. */
  users: boolean;
  /** mount/umount of a second tmpfs inside root (EROFS, EBUSY, EXDEV tests). */
  mount: boolean;
  /** renameat2 with RENAME_NOREPLACE / RENAME_EXCHANGE. */
  renameat2: boolean;
  /** mknod of character and block devices (needs CAP_MKNOD on a host). */
  mknodDevices: boolean;
  /** The root dir is on a tmpfs (statfs type TMPFS_MAGIC). */
  tmpfsRoot: boolean;
  /**
   * A file system mounted inside root shows its own st_dev and statfs f_type. False on FUSE:
   * FUSE 7.31 has no per-node device field, so everything under the FUSE mount has its dev.
   */
  innerMountIdentity: boolean;
  /**
   * unlink/rmdir of a *missing* name on a read-only mount inside root answers EROFS (Linux
   * do_unlinkat/do_rmdir take mnt_want_write before the last lookup). False on FUSE: the host
   * takes write access to the FUSE mount (read-write), its lookup answers ENOENT, and the server
   * is never asked.
   */
  roMountMissingNameErofs: boolean;
  /**
   * rmdir/unlink answer the directory's permission (EACCES, sticky EPERM) before the victim's
   * type (ENOTDIR/EISDIR), as Linux may_delete() does. False on FUSE without default_permissions:
   * the host's may_delete() grants the permission step (fuse_permission asks nothing) and checks
   * the victim's type itself before RMDIR/UNLINK reaches the server.
   */
  permissionBeforeVictimType: boolean;
  /**
   * open(2)/truncate(2) of a FIFO or device node checks its mode bits (EACCES). False on FUSE
   * without default_permissions: the host opens special files itself (fifo_open, chrdev_open;
   * no FUSE OPEN is sent) and fuse_permission() asks the server only for access(2)/chdir(2), so
   * nobody checks the node's mode.
   */
  specialFileModeChecks: boolean;
  /**
   * Resolving "d/.." needs search permission on d (EACCES). False on FUSE without
   * default_permissions: the host follows ".." itself (follow_dotdot, no LOOKUP is sent) and
   * fuse_permission() grants MAY_EXEC during a walk, so only LOOKUPs of names are checked.
   */
  dotdotSearchCheck: boolean;
  /**
   * access(2) asks the file system the path is on, so W_OK on a read-only mount inside root is
   * EROFS. False on FUSE with default_permissions: the host decides access(2) from the mode bits
   * itself (generic_permission; FUSE_ACCESS is sent only without default_permissions) and does not
   * know that a file system mounted inside the served kernel is read-only.
   */
  accessAsksServer: boolean;
}

export interface MountOpts {
  readonly?: boolean;
  data?: string;
  remount?: boolean;
}

export interface TargetError {
  code: string;
}

/** One target with a fresh root directory, acting with some credentials. */
export interface Target {
  /** Target name, e.g. 'kernel', 'host'. */
  readonly name: string;
  readonly caps: Capabilities;
  /** Absolute path of the fresh test directory in this target's namespace. */
  readonly root: string;

  open(path: string, flags: number, mode?: number): Promise<number>;
  close(fd: number): Promise<void>;
  read(fd: number, n: number): Promise<Uint8Array>;
  write(fd: number, data: Uint8Array | string): Promise<number>;
  pread(fd: number, n: number, offset: number): Promise<Uint8Array>;
  pwrite(fd: number, data: Uint8Array | string, offset: number): Promise<number>;
  lseek(fd: number, offset: number, whence: number): Promise<number>;
  fsync(fd: number): Promise<void>;

  stat(path: string): Promise<TStat>;
  lstat(path: string): Promise<TStat>;
  fstat(fd: number): Promise<TStat>;
  access(path: string, mode: number): Promise<void>;

  mkdir(path: string, mode: number): Promise<void>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** renameat2(AT_FDCWD, from, AT_FDCWD, to, flags); needs caps.renameat2. */
  renameat2(from: string, to: string, flags: number): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  /** Entry names without '.' and '..', sorted. */
  readdir(path: string): Promise<string[]>;

  chmod(path: string, mode: number): Promise<void>;
  fchmod(fd: number, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  lchown(path: string, uid: number, gid: number): Promise<void>;
  fchown(fd: number, uid: number, gid: number): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  /** fallocate(fd, mode, offset, length). */
  fallocate(fd: number, mode: number, offset: number, length: number): Promise<void>;
  /** utimensat(AT_FDCWD, path, [atime, mtime], flags); null times = both UTIME_NOW. */
  utimensat(path: string, times: [TimeArg, TimeArg] | null, flags?: number): Promise<void>;
  /** futimens(fd, times). */
  futimens(fd: number, times: [TimeArg, TimeArg] | null): Promise<void>;

  mknod(path: string, mode: number, dev: number): Promise<void>;
  mkfifo(path: string, mode: number): Promise<void>;
  statfs(path: string): Promise<TStatfs>;
  chdir(path: string): Promise<void>;
  getcwd(): Promise<string>;
  /** umask(2): sets the mask, returns the old one. */
  umask(mask: number): Promise<number>;

  /**
   * Mount a fresh tmpfs on `path` (relative to root), MS_RDONLY when
   * readonly, with tmpfs options `data` (size=, nr_inodes=, mode=); with
   * `remount`, change the flags/options of the tmpfs already there
   * (MS_REMOUNT). Needs caps.mount.
   */
  mountTmpfs(path: string, opts?: MountOpts): Promise<void>;
  /** mount(2) as such: mount(source, path, fstype, flags, data). Needs caps.mount. */
  mount(source: string, path: string, fstype: string, flags: number, data: string): Promise<void>;
  /** umount2(path, 0). */
  umount(path: string): Promise<void>;

  // ---- descriptor-relative (*at) calls: dirfd may be C.AT_FDCWD ----
  openat(dirfd: number, path: string, flags: number, mode?: number): Promise<number>;
  mkdirat(dirfd: number, path: string, mode: number): Promise<void>;
  /** flags: 0 or AT_REMOVEDIR. */
  unlinkat(dirfd: number, path: string, flags: number): Promise<void>;
  renameat(olddirfd: number, from: string, newdirfd: number, to: string): Promise<void>;
  /** flags: 0 or AT_SYMLINK_FOLLOW. */
  linkat(olddirfd: number, existing: string, newdirfd: number, newPath: string, flags: number): Promise<void>;
  symlinkat(target: string, dirfd: number, path: string): Promise<void>;
  readlinkat(dirfd: number, path: string): Promise<string>;
  /** flags: AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH. */
  fstatat(dirfd: number, path: string, flags: number): Promise<TStat>;
  /** flags: AT_EACCESS | AT_SYMLINK_NOFOLLOW (faccessat2). */
  faccessat(dirfd: number, path: string, mode: number, flags: number): Promise<void>;
  fchmodat(dirfd: number, path: string, mode: number): Promise<void>;
  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): Promise<void>;
  fchdir(fd: number): Promise<void>;

  /** readv(2) into buffers of these sizes; returns what each buffer got. */
  readv(fd: number, sizes: number[]): Promise<Uint8Array[]>;
  writev(fd: number, parts: (Uint8Array | string)[]): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  /** flock(2): LOCK_SH 1, LOCK_EX 2, LOCK_NB 4, LOCK_UN 8. */
  flock(fd: number, op: number): Promise<void>;

  /** creat(2) = open(path, O_CREAT|O_WRONLY|O_TRUNC, mode). */
  creat(path: string, mode: number): Promise<number>;
  statx(dirfd: number, path: string, flags: number, mask: number): Promise<TStatx>;
  fstatfs(fd: number): Promise<TStatfs>;
  sync(): Promise<void>;
  syncfs(fd: number): Promise<void>;
  /** pathconf(3) for _PC_NAME_MAX (3), _PC_PATH_MAX (4), _PC_PIPE_BUF (5). */
  pathconf(path: string, name: number): Promise<number>;

  /**
   * The same file system, acting as a process with these credentials (and
   * umask 022, cwd = root). Needs caps.users. Closed by the parent's teardown.
   */
  asUser(uid: number, gid: number, groups?: number[]): Promise<Target>;
  /** Remove the root directory, unmount what the test mounted, end helpers. */
  teardown(): Promise<void>;
}

/** How a target is made: a name, its capabilities, and a fresh instance per test. */
export interface TargetFactory {
  readonly name: string;
  /** False (with a reason) when this target cannot run here at all. */
  available(): Promise<true | string>;
  setup(): Promise<Target>;
}

/** Linux ABI constants the suite uses (numbers, so every target agrees). */
export const C = {
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_ACCMODE: 3, FALLOC_FL_KEEP_SIZE: 1, FALLOC_FL_PUNCH_HOLE: 2, FALLOC_FL_ZERO_RANGE: 0x10, O_CREAT: 0o100, O_EXCL: 0o200, O_TRUNC: 0o1000,
  O_APPEND: 0o2000, O_NONBLOCK: 0o4000, O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000, O_CLOEXEC: 0o2000000, O_PATH: 0o10000000,
  S_IFMT: 0o170000, S_IFSOCK: 0o140000, S_IFLNK: 0o120000, S_IFREG: 0o100000, S_IFBLK: 0o60000,
  S_IFDIR: 0o40000, S_IFCHR: 0o20000, S_IFIFO: 0o10000, S_ISUID: 0o4000, S_ISGID: 0o2000, S_ISVTX: 0o1000,
  F_OK: 0, X_OK: 1, W_OK: 2, R_OK: 4,
  SEEK_SET: 0, SEEK_CUR: 1, SEEK_END: 2,
  AT_FDCWD: -100, AT_SYMLINK_NOFOLLOW: 0x100, AT_REMOVEDIR: 0x200, AT_EACCESS: 0x200, AT_SYMLINK_FOLLOW: 0x400,
  AT_EMPTY_PATH: 0x1000, LOCK_SH: 1, LOCK_EX: 2, LOCK_NB: 4, LOCK_UN: 8,
  RENAME_NOREPLACE: 1, RENAME_EXCHANGE: 2,
  UTIME_NOW: (1 << 30) - 1, UTIME_OMIT: (1 << 30) - 2,
  MS_RDONLY: 1, MS_REMOUNT: 32,
  STATX_BASIC_STATS: 0x7ff, STATX_BTIME: 0x800, _PC_NAME_MAX: 3, _PC_PATH_MAX: 4, _PC_PIPE_BUF: 5,
  TMPFS_MAGIC: 0x01021994,
} as const;

/** makedev(3) for the small numbers tests use (Linux's new encoding). */
export function makedev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
}
