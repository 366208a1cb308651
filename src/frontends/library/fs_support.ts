/**
 * The machinery under `anykernel/fs` (fs.ts): operations as generators of
 * system calls and their two drivers (runAsync over `k.sys`, runSync over a
 * sysproxy SyncClient), Node-shaped errors, argument conversion (paths,
 * flag strings, encodings, times), and the Stats, BigIntStats and Dirent
 * classes and `constants` node:fs hands out.
 */
import { Buffer } from 'node:buffer';
import { KernelError, errnoName, strerror } from '../../kern/index.ts';
import * as C from '../../kern/index.ts';
import { errArgValue } from './fs_validate.ts';

// ---- system calls as generator steps --------------------------------------------------

/** One system call an operation needs. */
export interface SysCall {
  readonly name: string;
  readonly args: readonly unknown[];
}
export type Op<T> = Generator<SysCall, T, unknown>;

/** The system calls a facade needs, async (k.sys) or sync (SyncClient.sys). */
export type AnySys = Record<string, (...args: never[]) => unknown>;

export function* sc<T = unknown>(name: string, ...args: unknown[]): Op<T> {
  return (yield { name, args }) as T;
}

/** A step that waits for a value (a user callback's promise) rather than calling the kernel. */
export function* waitFor<T>(v: T | Promise<T>): Op<T> {
  return (yield { name: '', args: [v] }) as T;
}

type Step<T> = IteratorResult<SysCall, T>;

/**
 * Drive an operation over an asynchronous sys (a synchronous one works too).
 * `first` is the operation's first step when the caller already took it
 * (the faces do, to run validation at the call site).
 */
export async function runAsync<T>(sys: AnySys, op: Op<T>, first?: Step<T>): Promise<T> {
  let r = first ?? op.next();
  while (!r.done) {
    const c = r.value;
    let v: unknown;
    let failed = false;
    try {
      if (c.name === '') v = await c.args[0];
      else {
        const f = sys[c.name] as ((...a: unknown[]) => unknown) | undefined;
        if (f === undefined) throw new KernelError(38 /* ENOSYS */, c.name);
        v = await f(...c.args);
      }
    } catch (e) {
      failed = true;
      r = op.throw(e);
    }
    if (!failed) r = op.next(v);
  }
  return r.value;
}

/** Drive an operation over a synchronous sys (every call returns its result). */
export function runSync<T>(sys: AnySys, op: Op<T>, first?: Step<T>): T {
  let r = first ?? op.next();
  while (!r.done) {
    const c = r.value;
    let v: unknown;
    let failed = false;
    try {
      if (c.name === '') {
        v = c.args[0];
        if (v instanceof Promise) throw new TypeError('a synchronous call cannot wait for a promise (an async filter?)');
      } else {
        const f = sys[c.name] as ((...a: unknown[]) => unknown) | undefined;
        if (f === undefined) throw new KernelError(38 /* ENOSYS */, c.name);
        v = f(...c.args);
        if (v instanceof Promise) throw new TypeError(`a synchronous call needs a synchronous sys; ${c.name} returned a promise`);
      }
    } catch (e) {
      failed = true;
      r = op.throw(e);
    }
    if (!failed) r = op.next(v);
  }
  return r.value;
}

// ---- Node-style errors ----------------------------------------------------------------

/** libuv's uv_strerror texts (what Node puts in messages), for the errnos file calls give. */
const UV_MESSAGES: Record<string, string> = {
  E2BIG: 'argument list too long', EACCES: 'permission denied', EAGAIN: 'resource temporarily unavailable',
  EBADF: 'bad file descriptor', EBUSY: 'resource busy or locked', ECANCELED: 'operation canceled',
  EEXIST: 'file already exists', EFAULT: 'bad address in system call argument', EFBIG: 'file too large',
  EINTR: 'interrupted system call', EINVAL: 'invalid argument', EIO: 'i/o error', EISDIR: 'illegal operation on a directory',
  ELOOP: 'too many symbolic links encountered', EMFILE: 'too many open files', EMLINK: 'too many links',
  ENAMETOOLONG: 'name too long', ENFILE: 'file table overflow', ENODEV: 'no such device', ENOENT: 'no such file or directory',
  ENOMEM: 'not enough memory', ENOSPC: 'no space left on device', ENOSYS: 'function not implemented',
  ENOTDIR: 'not a directory', ENOTEMPTY: 'directory not empty', ENOTSUP: 'operation not supported on socket',
  ENOTTY: 'inappropriate ioctl for device', ENXIO: 'no such device or address', EOVERFLOW: 'value too large for defined data type',
  EPERM: 'operation not permitted', EPIPE: 'broken pipe', EROFS: 'read-only file system', ESPIPE: 'invalid seek',
  ESRCH: 'no such process', ETIMEDOUT: 'connection timed out', ETXTBSY: 'text file is busy', EXDEV: 'cross-device link not permitted',
  EDQUOT: 'disk quota exceeded', ESTALE: 'stale file handle',
};

/** A Node SystemError-shaped error (what node:fs rejects with). */
export interface NodeFsError extends Error {
  errno: number;
  code: string;
  syscall: string;
  path?: string;
  dest?: string;
}

/** Build Node's error for a positive errno. */
export function uvException(errnoValue: number, syscall: string, path?: string, dest?: string): NodeFsError {
  // Linux's EOPNOTSUPP and ENOTSUP are one number; libuv names it ENOTSUP.
  const code = errnoValue === 95 ? 'ENOTSUP' : errnoName(errnoValue);
  const desc = UV_MESSAGES[code] ?? strerror(errnoValue).toLowerCase();
  let msg = `${code}: ${desc}, ${syscall}`;
  if (path !== undefined) msg += ` '${path}'`;
  if (dest !== undefined) msg += ` -> '${dest}'`;
  const e = new Error(msg) as NodeFsError;
  e.errno = -errnoValue;
  e.code = code;
  e.syscall = syscall;
  if (path !== undefined) e.path = path;
  if (dest !== undefined) e.dest = dest;
  return e;
}

/** Convert a KernelError to Node's shape (other errors pass through). */
export function toNode(e: unknown, syscall: string, path?: string, dest?: string): unknown {
  if (e instanceof KernelError) return uvException(e.errno, syscall, path, dest);
  return e;
}

/** A call whose failure becomes Node's error for (syscall, path, dest). */
export function* call<T = unknown>(node: [string, string?, string?], name: string, ...args: unknown[]): Op<T> {
  try {
    return yield* sc<T>(name, ...args);
  } catch (e) {
    throw toNode(e, node[0], node[1], node[2]);
  }
}

export function isErr(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

// ---- arguments ----------------------------------------------------------------------------

/** Node's flag strings (lib/internal/fs/utils.js stringToFlags); null and undefined are 'r'. */
export function stringToFlags(flags: unknown, name = 'flags'): number {
  if (typeof flags === 'number') return flags;
  if (flags === null || flags === undefined) return C.O_RDONLY;
  const { O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_SYNC, O_TRUNC, O_WRONLY } = C;
  switch (flags) {
    case 'r': return O_RDONLY;
    case 'rs': case 'sr': return O_RDONLY | O_SYNC;
    case 'r+': return O_RDWR;
    case 'rs+': case 'sr+': return O_RDWR | O_SYNC;
    case 'w': return O_TRUNC | O_CREAT | O_WRONLY;
    case 'wx': case 'xw': return O_TRUNC | O_CREAT | O_WRONLY | O_EXCL;
    case 'w+': return O_TRUNC | O_CREAT | O_RDWR;
    case 'wx+': case 'xw+': return O_TRUNC | O_CREAT | O_RDWR | O_EXCL;
    case 'a': return O_APPEND | O_CREAT | O_WRONLY;
    case 'ax': case 'xa': return O_APPEND | O_CREAT | O_WRONLY | O_EXCL;
    case 'as': case 'sa': return O_APPEND | O_CREAT | O_WRONLY | O_SYNC;
    case 'a+': return O_APPEND | O_CREAT | O_RDWR;
    case 'ax+': case 'xa+': return O_APPEND | O_CREAT | O_RDWR | O_EXCL;
    case 'as+': case 'sa+': return O_APPEND | O_CREAT | O_RDWR | O_SYNC;
  }
  throw errArgValue(name, flags);
}

/** Seconds (a double, as node:fs hands them to libuv) → {sec, nsec}. */
export function toTimespec(s: number): { sec: number; nsec: number } {
  const sec = Math.floor(s);
  return { sec, nsec: Math.round((s - sec) * 1e9) % 1_000_000_000 };
}

// ---- Stats and Dirent -----------------------------------------------------------------------

export interface KStatx {
  mode: number; ino: number; nlink: number; uid: number; gid: number; size: number; blocks: number; blksize: number;
  atime: { sec: number; nsec: number }; mtime: { sec: number; nsec: number }; ctime: { sec: number; nsec: number };
  btime?: { sec: number; nsec: number };
  rdev_major?: number; rdev_minor?: number; dev_major?: number; dev_minor?: number; dev?: number; rdev?: number;
}

function makedev(maj: number, min: number): number {
  return (min & 0xff) + (maj & 0xfff) * 0x100 + Math.floor(min / 0x100) * 0x100000 + Math.floor(maj / 0x1000) * 0x100000000;
}

/** node:fs Stats: numbers, times in ms (fractional) and Dates. */
export class Stats {
  dev: number; ino: number; mode: number; nlink: number; uid: number; gid: number; rdev: number; size: number;
  blksize: number; blocks: number; atimeMs: number; mtimeMs: number; ctimeMs: number; birthtimeMs: number;
  atime: Date; mtime: Date; ctime: Date; birthtime: Date;

  /**
   * From a kernel statx, or — as `new fs.Stats(...)` is still called — node:fs's
   * positional form (dev, mode, nlink, uid, gid, rdev, blksize, ino, size, blocks,
   * atimeMs, mtimeMs, ctimeMs, birthtimeMs).
   */
  constructor(s: KStatx | number, ...rest: number[]) {
    if (typeof s === 'number') {
      const [mode, nlink, uid, gid, rdev, blksize, ino, size, blocks, a, m, c, b] = rest.map((x) => x ?? 0) as number[];
      const ts = (ms: number): { sec: number; nsec: number } => ({ sec: Math.floor(ms / 1e3), nsec: Math.round((ms % 1e3) * 1e6) });
      s = { dev: s, mode: mode!, nlink: nlink!, uid: uid!, gid: gid!, rdev: rdev!, blksize: blksize!, ino: ino!, size: size!, blocks: blocks!,
        atime: ts(a!), mtime: ts(m!), ctime: ts(c!), btime: ts(b!) };
    }
    this.dev = s.dev ?? makedev(s.dev_major ?? 0, s.dev_minor ?? 0);
    this.ino = s.ino;
    this.mode = s.mode;
    this.nlink = s.nlink;
    this.uid = s.uid;
    this.gid = s.gid;
    this.rdev = s.rdev ?? makedev(s.rdev_major ?? 0, s.rdev_minor ?? 0);
    this.size = s.size;
    this.blksize = s.blksize;
    this.blocks = s.blocks;
    const ms = (t: { sec: number; nsec: number }): number => t.sec * 1e3 + t.nsec / 1e6;
    this.atimeMs = ms(s.atime);
    this.mtimeMs = ms(s.mtime);
    this.ctimeMs = ms(s.ctime);
    this.birthtimeMs = ms(s.btime ?? s.ctime);
    // Node: dateFromMs rounds to whole milliseconds.
    this.atime = new Date(Math.round(this.atimeMs));
    this.mtime = new Date(Math.round(this.mtimeMs));
    this.ctime = new Date(Math.round(this.ctimeMs));
    this.birthtime = new Date(Math.round(this.birthtimeMs));
  }
  isFile(): boolean { return (this.mode & C.S_IFMT) === C.S_IFREG; }
  isDirectory(): boolean { return (this.mode & C.S_IFMT) === C.S_IFDIR; }
  isSymbolicLink(): boolean { return (this.mode & C.S_IFMT) === C.S_IFLNK; }
  isFIFO(): boolean { return (this.mode & C.S_IFMT) === C.S_IFIFO; }
  isSocket(): boolean { return (this.mode & C.S_IFMT) === C.S_IFSOCK; }
  isCharacterDevice(): boolean { return (this.mode & C.S_IFMT) === C.S_IFCHR; }
  isBlockDevice(): boolean { return (this.mode & C.S_IFMT) === C.S_IFBLK; }
}

/** node:fs BigIntStats ({ bigint: true }): bigints, plus nanosecond *Ns fields. */
export class BigIntStats {
  dev: bigint; ino: bigint; mode: bigint; nlink: bigint; uid: bigint; gid: bigint; rdev: bigint; size: bigint;
  blksize: bigint; blocks: bigint; atimeMs: bigint; mtimeMs: bigint; ctimeMs: bigint; birthtimeMs: bigint;
  atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint; birthtimeNs: bigint;
  atime: Date; mtime: Date; ctime: Date; birthtime: Date;

  constructor(s: KStatx) {
    const n = new Stats(s);
    this.dev = BigInt(n.dev);
    this.ino = BigInt(n.ino);
    this.mode = BigInt(n.mode);
    this.nlink = BigInt(n.nlink);
    this.uid = BigInt(n.uid);
    this.gid = BigInt(n.gid);
    this.rdev = BigInt(n.rdev);
    this.size = BigInt(n.size);
    this.blksize = BigInt(n.blksize);
    this.blocks = BigInt(n.blocks);
    const ns = (t: { sec: number; nsec: number }): bigint => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
    this.atimeNs = ns(s.atime);
    this.mtimeNs = ns(s.mtime);
    this.ctimeNs = ns(s.ctime);
    this.birthtimeNs = ns(s.btime ?? s.ctime);
    this.atimeMs = this.atimeNs / 1_000_000n;
    this.mtimeMs = this.mtimeNs / 1_000_000n;
    this.ctimeMs = this.ctimeNs / 1_000_000n;
    this.birthtimeMs = this.birthtimeNs / 1_000_000n;
    this.atime = new Date(Number(this.atimeMs));
    this.mtime = new Date(Number(this.mtimeMs));
    this.ctime = new Date(Number(this.ctimeMs));
    this.birthtime = new Date(Number(this.birthtimeMs));
  }
  isFile(): boolean { return (this.mode & BigInt(C.S_IFMT)) === BigInt(C.S_IFREG); }
  isDirectory(): boolean { return (this.mode & BigInt(C.S_IFMT)) === BigInt(C.S_IFDIR); }
  isSymbolicLink(): boolean { return (this.mode & BigInt(C.S_IFMT)) === BigInt(C.S_IFLNK); }
  isFIFO(): boolean { return (this.mode & BigInt(C.S_IFMT)) === BigInt(C.S_IFIFO); }
  isSocket(): boolean { return (this.mode & BigInt(C.S_IFMT)) === BigInt(C.S_IFSOCK); }
  isCharacterDevice(): boolean { return (this.mode & BigInt(C.S_IFMT)) === BigInt(C.S_IFCHR); }
  isBlockDevice(): boolean { return (this.mode & BigInt(C.S_IFMT)) === BigInt(C.S_IFBLK); }
}

/** fs.statfs's result (statfs(2)'s fields node:fs keeps); bigints with `{ bigint: true }`. */
export class StatFs<N extends number | bigint = number> {
  type: N; bsize: N; blocks: N; bfree: N; bavail: N; files: N; ffree: N;

  constructor(s: { type: number; bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number }, bigint: boolean) {
    const v = (x: number): N => (bigint ? BigInt(x) : x) as N;
    this.type = v(s.type);
    this.bsize = v(s.bsize);
    this.blocks = v(s.blocks);
    this.bfree = v(s.bfree);
    this.bavail = v(s.bavail);
    this.files = v(s.files);
    this.ffree = v(s.ffree);
  }
}

/** DT_* to S_IF* for Dirent. */
export const DT_MODE: Record<number, number> = { 1: C.S_IFIFO, 2: C.S_IFCHR, 4: C.S_IFDIR, 6: C.S_IFBLK, 8: C.S_IFREG, 10: C.S_IFLNK, 12: C.S_IFSOCK };

/** node:fs Dirent (readdir withFileTypes). */
export class Dirent {
  name: string;
  parentPath: string;
  /** Deprecated alias of parentPath, still set by Node 20. */
  path: string;
  private readonly fmt: number;

  constructor(name: string, fmt: number, parentPath: string) {
    this.name = name;
    this.fmt = fmt;
    this.parentPath = parentPath;
    this.path = parentPath;
  }
  isFile(): boolean { return this.fmt === C.S_IFREG; }
  isDirectory(): boolean { return this.fmt === C.S_IFDIR; }
  isSymbolicLink(): boolean { return this.fmt === C.S_IFLNK; }
  isFIFO(): boolean { return this.fmt === C.S_IFIFO; }
  isSocket(): boolean { return this.fmt === C.S_IFSOCK; }
  isCharacterDevice(): boolean { return this.fmt === C.S_IFCHR; }
  isBlockDevice(): boolean { return this.fmt === C.S_IFBLK; }
}

/** copyFile modes (uv_fs_copyfile flags, as node:fs numbers them). */
export const COPYFILE_EXCL = 1;
export const COPYFILE_FICLONE = 2;
export const COPYFILE_FICLONE_FORCE = 4;

/** fs.constants (Linux values). */
export const constants = Object.freeze({
  UV_FS_SYMLINK_DIR: 1, UV_FS_SYMLINK_JUNCTION: 2, EXTENSIONLESS_FORMAT_JAVASCRIPT: 0, EXTENSIONLESS_FORMAT_WASM: 1,
  F_OK: C.F_OK, R_OK: C.R_OK, W_OK: C.W_OK, X_OK: C.X_OK,
  O_RDONLY: C.O_RDONLY, O_WRONLY: C.O_WRONLY, O_RDWR: C.O_RDWR, O_CREAT: C.O_CREAT, O_EXCL: C.O_EXCL, O_NOCTTY: C.O_NOCTTY,
  O_TRUNC: C.O_TRUNC, O_APPEND: C.O_APPEND, O_DIRECTORY: C.O_DIRECTORY, O_NOATIME: C.O_NOATIME, O_NOFOLLOW: C.O_NOFOLLOW,
  O_SYNC: C.O_SYNC, O_DSYNC: C.O_DSYNC, O_DIRECT: C.O_DIRECT, O_NONBLOCK: C.O_NONBLOCK,
  S_IFMT: C.S_IFMT, S_IFREG: C.S_IFREG, S_IFDIR: C.S_IFDIR, S_IFCHR: C.S_IFCHR, S_IFBLK: C.S_IFBLK, S_IFIFO: C.S_IFIFO,
  S_IFLNK: C.S_IFLNK, S_IFSOCK: C.S_IFSOCK,
  S_IRWXU: 0o700, S_IRUSR: 0o400, S_IWUSR: 0o200, S_IXUSR: 0o100, S_IRWXG: 0o70, S_IRGRP: 0o40, S_IWGRP: 0o20, S_IXGRP: 0o10,
  S_IRWXO: 0o7, S_IROTH: 0o4, S_IWOTH: 0o2, S_IXOTH: 0o1,
  COPYFILE_EXCL: COPYFILE_EXCL, COPYFILE_FICLONE: COPYFILE_FICLONE, COPYFILE_FICLONE_FORCE: COPYFILE_FICLONE_FORCE,
  UV_FS_COPYFILE_EXCL: COPYFILE_EXCL, UV_FS_COPYFILE_FICLONE: COPYFILE_FICLONE, UV_FS_COPYFILE_FICLONE_FORCE: COPYFILE_FICLONE_FORCE,
  UV_FS_O_FILEMAP: 0, UV_DIRENT_UNKNOWN: 0, UV_DIRENT_FILE: 1, UV_DIRENT_DIR: 2, UV_DIRENT_LINK: 3, UV_DIRENT_FIFO: 4,
  UV_DIRENT_SOCKET: 5, UV_DIRENT_CHAR: 6, UV_DIRENT_BLOCK: 7,
});
