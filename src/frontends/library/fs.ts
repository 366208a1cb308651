/**
 * `anykernel/fs`: a node:fs-compatible facade over a kernel's VFS, so
 * existing Node code (and libraries written against node:fs) runs on a
 * kernel unchanged:
 *
 *     import { boot } from 'anykernel';
 *     import { createFs } from 'anykernel/fs';
 *     const k = await boot();
 *     const fs = createFs(k);                        // acts as k's current process
 *     await fs.promises.writeFile('/hello', 'hi\n');
 *     fs.readFile('/hello', 'utf8', (err, s) => ...);
 *     const sfs = createFsSync(wk.syncClient());     // readFileSync & co over a worker kernel
 *
 * One implementation serves all three APIs: each operation is a generator
 * that yields the system calls it needs (`{ name, args }`) and is driven
 * either asynchronously (promises and callbacks, over `k.sys` or any object
 * with the same methods — a ProcHandle, a sysproxy RemoteKernel) or
 * synchronously (over a sysproxy SyncClient's `sys`, whose calls block).
 *
 * Errors look like Node's: an Error whose message is
 * `ENOENT: no such file or directory, open '/x'`, with `code`, a NEGATIVE
 * `errno` (-2, libuv's convention), `syscall` (Node's name for the call:
 * 'scandir' for readdir, 'copyfile', 'utime' ...), `path` and `dest`.
 *
 * Covered (promises / callback / sync): readFile, writeFile, appendFile,
 * readdir (withFileTypes, recursive), stat/lstat (bigint too), mkdir
 * (recursive), mkdtemp, rm (recursive, force), rmdir, unlink, rename,
 * copyFile (COPYFILE_EXCL), link, symlink, readlink, realpath, chmod, chown,
 * lchown, utimes, lutimes, truncate, access, exists (callback/sync), open →
 * FileHandle (promises) or fd (callback/sync) with read, write, fstat,
 * ftruncate, fsync, fdatasync, close; `constants`, `Stats`, `BigIntStats`,
 * `Dirent`.
 *
 * Not covered: streams (createReadStream/createWriteStream), watch/watchFile,
 * opendir/Dir, cp, statfs, readv/writev, the `signal` option (AbortSignal),
 * file: URLs with a host. copyFile's COPYFILE_FICLONE_FORCE answers ENOSYS
 * like Linux without reflinks.
 */
import { Buffer } from 'node:buffer';
import { KernelError, errnoName, strerror } from '../../kern/errno.ts';
import * as C from '../../kern/constants.ts';

// ---- system calls as generator steps --------------------------------------------------

/** One system call an operation needs. */
export interface SysCall {
  readonly name: string;
  readonly args: readonly unknown[];
}
type Op<T> = Generator<SysCall, T, unknown>;

/** The system calls a facade needs, async (k.sys) or sync (SyncClient.sys). */
export type AnySys = Record<string, (...args: never[]) => unknown>;

function* sc<T = unknown>(name: string, ...args: unknown[]): Op<T> {
  return (yield { name, args }) as T;
}

/** Drive an operation over an asynchronous sys. */
export async function runAsync<T>(sys: AnySys, op: Op<T>): Promise<T> {
  let r = op.next();
  while (!r.done) {
    const call = r.value;
    let v: unknown;
    let failed = false;
    try {
      const f = sys[call.name] as ((...a: unknown[]) => unknown) | undefined;
      if (f === undefined) throw new KernelError(38 /* ENOSYS */, call.name);
      v = await f(...call.args);
    } catch (e) {
      failed = true;
      r = op.throw(e);
    }
    if (!failed) r = op.next(v);
  }
  return r.value;
}

/** Drive an operation over a synchronous sys (every call returns its result). */
export function runSync<T>(sys: AnySys, op: Op<T>): T {
  let r = op.next();
  while (!r.done) {
    const call = r.value;
    let v: unknown;
    let failed = false;
    try {
      const f = sys[call.name] as ((...a: unknown[]) => unknown) | undefined;
      if (f === undefined) throw new KernelError(38 /* ENOSYS */, call.name);
      v = f(...call.args);
      if (v instanceof Promise) throw new TypeError(`createFsSync needs a synchronous sys; ${call.name} returned a promise`);
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
function toNode(e: unknown, syscall: string, path?: string, dest?: string): unknown {
  if (e instanceof KernelError) return uvException(e.errno, syscall, path, dest);
  return e;
}

/** A call whose failure becomes Node's error for (syscall, path, dest). */
function* call<T = unknown>(node: [string, string?, string?], name: string, ...args: unknown[]): Op<T> {
  try {
    return yield* sc<T>(name, ...args);
  } catch (e) {
    throw toNode(e, node[0], node[1], node[2]);
  }
}

function isErr(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

function invalidArg(name: string, what: string, v: unknown): TypeError {
  const e = new TypeError(`The "${name}" argument must be ${what}. Received ${typeof v === 'string' ? `'${v}'` : String(v)}`) as TypeError & { code: string };
  e.code = 'ERR_INVALID_ARG_TYPE';
  return e;
}

// ---- arguments ----------------------------------------------------------------------------

export type PathLike = string | Uint8Array | URL;
type Encoding = BufferEncoding | 'buffer' | null | undefined;

function toPath(p: PathLike, name = 'path'): string {
  if (typeof p === 'string') return p;
  if (p instanceof Uint8Array) return Buffer.from(p).toString('utf8');
  if (p instanceof URL) {
    if (p.protocol !== 'file:') throw invalidArg(name, 'of type string or an instance of Buffer or URL', p);
    if (p.hostname !== '') throw new TypeError(`File URL host must be "localhost" or empty`);
    return decodeURIComponent(p.pathname);
  }
  throw invalidArg(name, 'of type string or an instance of Buffer or URL', p);
}

/** Node's flag strings (lib/internal/fs/utils.js stringToFlags). */
export function stringToFlags(flags: string | number | undefined, def = 'r'): number {
  if (typeof flags === 'number') return flags;
  const { O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_SYNC, O_TRUNC, O_WRONLY } = C;
  switch (flags ?? def) {
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
  const e = new TypeError(`The value "${String(flags)}" is invalid for option "flags"`) as TypeError & { code: string };
  e.code = 'ERR_INVALID_ARG_VALUE';
  throw e;
}

function modeNum(m: number | string | undefined, def: number): number {
  if (m === undefined) return def;
  if (typeof m === 'number') return m;
  if (/^[0-7]+$/.test(m)) return parseInt(m, 8);
  throw invalidArg('mode', 'a 32-bit unsigned integer or an octal string', m);
}

type Opts<T> = T | BufferEncoding | null | undefined;
function opts<T extends object>(o: Opts<T>, encodingKey = true): Partial<T> & { encoding?: Encoding } {
  if (o === null || o === undefined) return {};
  if (typeof o === 'string') return (encodingKey ? { encoding: o } : {}) as Partial<T> & { encoding?: Encoding };
  return o as Partial<T> & { encoding?: Encoding };
}

function toBytes(data: string | ArrayBufferView, encoding: Encoding): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, (encoding === 'buffer' || encoding == null ? 'utf8' : encoding));
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw invalidArg('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}

function decode(b: Uint8Array, encoding: Encoding): string | Buffer {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return encoding === null || encoding === undefined || encoding === 'buffer' ? buf : buf.toString(encoding);
}

/** utimes arguments: seconds (number), numeric strings, or Dates → {sec, nsec}. */
function toTimespec(t: number | string | Date, name: string): { sec: number; nsec: number } {
  let s: number;
  if (t instanceof Date) s = t.getTime() / 1000;
  else if (typeof t === 'number') s = t;
  else if (typeof t === 'string' && t.trim() !== '' && Number.isFinite(Number(t))) s = Number(t);
  else throw invalidArg(name, 'of type number or an instance of Date', t);
  if (!Number.isFinite(s)) s = Date.now() / 1000; // Node: non-finite means now
  const sec = Math.floor(s);
  return { sec, nsec: Math.round((s - sec) * 1e9) % 1_000_000_000 };
}

// ---- Stats and Dirent -----------------------------------------------------------------------

interface KStatx {
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

  constructor(s: KStatx) {
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

/** DT_* to S_IF* for Dirent. */
const DT_MODE: Record<number, number> = { 1: C.S_IFIFO, 2: C.S_IFCHR, 4: C.S_IFDIR, 6: C.S_IFBLK, 8: C.S_IFREG, 10: C.S_IFLNK, 12: C.S_IFSOCK };

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

// ---- the operations ------------------------------------------------------------------------

const AT_FDCWD = C.AT_FDCWD;
/** copyFile modes (uv_fs_copyfile flags, as node:fs numbers them). */
const COPYFILE_EXCL = 1;
const COPYFILE_FICLONE = 2;
const COPYFILE_FICLONE_FORCE = 4;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_ALL = 0xfff;
const CHUNK = 64 * 1024;

function* statOp(path: string, follow: boolean, bigint: boolean, syscall: string): Op<Stats | BigIntStats> {
  const s = yield* call<KStatx>([syscall, path], 'statx', AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, STATX_ALL);
  return bigint ? new BigIntStats(s) : new Stats(s);
}

function* fstatOp(fd: number, bigint: boolean): Op<Stats | BigIntStats> {
  let s: KStatx;
  try {
    s = yield* sc<KStatx>('statx', fd, '', AT_EMPTY_PATH, STATX_ALL);
  } catch {
    s = yield* call<KStatx>(['fstat'], 'fstat', fd);
  }
  return bigint ? new BigIntStats(s) : new Stats(s);
}

function* readAllFd(fd: number): Op<Uint8Array> {
  const st = yield* call<KStatx>(['fstat'], 'fstat', fd);
  // Files that say size 0 (procfs, devices) are read until EOF in chunks.
  const chunks: Uint8Array[] = [];
  let total = 0;
  let want = st.size > 0 && (st.mode & C.S_IFMT) === C.S_IFREG ? st.size : CHUNK;
  for (;;) {
    const b = new Uint8Array(Math.max(want, 1));
    const n = yield* call<number>(['read'], 'read', fd, b);
    if (n === 0) break;
    chunks.push(n === b.byteLength ? b : b.subarray(0, n));
    total += n;
    want = CHUNK;
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

function* withFd<T>(path: string, flags: number, mode: number, body: (fd: number) => Op<T>): Op<T> {
  const fd = yield* call<number>(['open', path], 'open', path, flags | C.O_CLOEXEC, mode);
  let result: T;
  try {
    result = yield* body(fd);
  } catch (e) {
    try {
      yield* sc('close', fd);
    } catch {
      /* the first error wins */
    }
    throw e;
  }
  yield* call(['close'], 'close', fd);
  return result;
}

function* writeAllFd(fd: number, data: Uint8Array, position: number | null): Op<void> {
  let off = 0;
  while (off < data.byteLength) {
    const part = data.subarray(off, Math.min(data.byteLength, off + 1024 * 1024));
    const n = position === null
      ? yield* call<number>(['write'], 'write', fd, part)
      : yield* call<number>(['write'], 'pwrite', fd, part, position + off);
    if (n === 0) throw uvException(5, 'write');
    off += n;
  }
}

type ReadFileOpts = { encoding?: Encoding; flag?: string | number };
function* readFileOp(p: PathLike | number, o: Opts<ReadFileOpts>): Op<string | Buffer> {
  const { encoding, flag } = opts<ReadFileOpts>(o);
  if (typeof p === 'number') return decode(yield* readAllFd(p), encoding);
  const path = toPath(p);
  const bytes = yield* withFd(path, stringToFlags(flag, 'r'), 0o666, readAllFd);
  return decode(bytes, encoding);
}

type WriteFileOpts = { encoding?: Encoding; mode?: number | string; flag?: string | number };
function* writeFileOp(p: PathLike | number, data: string | ArrayBufferView, o: Opts<WriteFileOpts>, defFlag: string): Op<void> {
  const { encoding, mode, flag } = opts<WriteFileOpts>(o);
  const bytes = toBytes(data, encoding);
  if (typeof p === 'number') return yield* writeAllFd(p, bytes, null);
  const path = toPath(p);
  yield* withFd(path, stringToFlags(flag, defFlag), modeNum(mode, 0o666), (fd) => writeAllFd(fd, bytes, null));
}

type ReaddirOpts = { encoding?: Encoding; withFileTypes?: boolean; recursive?: boolean };
interface KDirent { ino: number; off: number; type: number; name: string }

function* listDir(path: string): Op<KDirent[]> {
  const fd = yield* call<number>(['scandir', path], 'open', path, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC, 0);
  const out: KDirent[] = [];
  try {
    for (;;) {
      const ents = yield* call<KDirent[]>(['scandir', path], 'getdents64', fd, 32768);
      if (ents.length === 0) break;
      for (const e of ents) if (e.name !== '.' && e.name !== '..') out.push(e);
    }
  } finally {
    yield* sc('close', fd);
  }
  return out;
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

function* direntType(dir: string, e: KDirent): Op<number> {
  const t = DT_MODE[e.type];
  if (t !== undefined) return t;
  // DT_UNKNOWN: ask lstat, as Node does.
  const s = yield* call<KStatx>(['lstat', joinPath(dir, e.name)], 'statx', AT_FDCWD, joinPath(dir, e.name), AT_SYMLINK_NOFOLLOW, 1);
  return s.mode & C.S_IFMT;
}

function* readdirOp(p: PathLike, o: Opts<ReaddirOpts>): Op<(string | Buffer | Dirent)[]> {
  const { encoding, withFileTypes, recursive } = opts<ReaddirOpts>(o);
  const root = toPath(p);
  const out: (string | Buffer | Dirent)[] = [];
  const queue: [string, string][] = [[root, '']];
  while (queue.length > 0) {
    const [dir, rel] = queue.shift()!;
    for (const e of yield* listDir(dir)) {
      const relName = rel === '' ? e.name : `${rel}/${e.name}`;
      const needType = withFileTypes === true || recursive === true;
      const fmt = needType ? yield* direntType(dir, e) : 0;
      if (withFileTypes === true) out.push(new Dirent(e.name, fmt, dir));
      else out.push(encoding === 'buffer' ? Buffer.from(relName) : relName);
      if (recursive === true && fmt === C.S_IFDIR) queue.push([joinPath(dir, e.name), relName]);
    }
  }
  return out;
}

type MkdirOpts = { recursive?: boolean; mode?: number | string };
function* mkdirOp(p: PathLike, o: MkdirOpts | number | string | undefined | null): Op<string | undefined> {
  const { recursive, mode: m } = typeof o === 'object' && o !== null ? o : { recursive: false, mode: o ?? undefined };
  const path = toPath(p);
  const mode = modeNum(m as number | string | undefined, 0o777);
  if (recursive !== true) {
    yield* call(['mkdir', path], 'mkdir', path, mode);
    return undefined;
  }
  return yield* mkdirp(path, mode, path);
}

/** mkdir -p: the first directory created, or undefined when it all existed (Node's contract). */
function* mkdirp(path: string, mode: number, orig: string): Op<string | undefined> {
  try {
    yield* sc('mkdir', path, mode);
    return path;
  } catch (e) {
    if (e instanceof KernelError && e.code === 'EEXIST') {
      const s = yield* call<KStatx>(['mkdir', orig], 'statx', AT_FDCWD, path, 0, 1);
      if ((s.mode & C.S_IFMT) !== C.S_IFDIR) throw uvException(17, 'mkdir', orig);
      return undefined;
    }
    if (e instanceof KernelError && e.code === 'ENOENT') {
      const trimmed = path.replace(/\/+$/, '');
      const slash = trimmed.lastIndexOf('/');
      if (slash <= 0 && !trimmed.includes('/')) throw toNode(e, 'mkdir', orig);
      const parent = slash === 0 ? '/' : trimmed.slice(0, slash);
      const first = yield* mkdirp(parent, mode, orig);
      yield* call(['mkdir', orig], 'mkdir', path, mode);
      return first ?? path;
    }
    throw toNode(e, 'mkdir', orig);
  }
}

type RmOpts = { recursive?: boolean; force?: boolean };
function* rmOp(p: PathLike, o: RmOpts | undefined | null): Op<void> {
  const path = toPath(p);
  const { recursive, force } = o ?? {};
  let s: KStatx;
  try {
    s = yield* call<KStatx>(['lstat', path], 'statx', AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 1);
  } catch (e) {
    if (force === true && isErr(e, 'ENOENT')) return;
    throw toNodeRm(e, path);
  }
  if ((s.mode & C.S_IFMT) === C.S_IFDIR) {
    if (recursive !== true) {
      const e = new Error(`Path is a directory: rm returned EISDIR (is a directory) ${path}`) as NodeFsError;
      e.code = 'ERR_FS_EISDIR';
      e.errno = 21;
      e.syscall = 'rm';
      e.path = path;
      throw e;
    }
    yield* rmTree(path);
    return;
  }
  yield* call(['rm', path], 'unlink', path);
}

function toNodeRm(e: unknown, path: string): unknown {
  if (typeof e === 'object' && e !== null && (e as NodeFsError).syscall === 'lstat') (e as NodeFsError).syscall = 'lstat';
  return e instanceof KernelError ? toNode(e, 'rm', path) : e;
}

function* rmTree(dir: string): Op<void> {
  for (const e of yield* listDir(dir)) {
    const child = joinPath(dir, e.name);
    const fmt = yield* direntType(dir, e);
    if (fmt === C.S_IFDIR) yield* rmTree(child);
    else yield* call(['rm', child], 'unlink', child);
  }
  yield* call(['rmdir', dir], 'rmdir', dir);
}

function* copyFileOp(src: PathLike, dst: PathLike, mode = 0): Op<void> {
  const s = toPath(src, 'src');
  const d = toPath(dst, 'dest');
  if ((mode & COPYFILE_FICLONE_FORCE) !== 0) throw uvException(38, 'copyfile', s, d);
  const node: [string, string, string] = ['copyfile', s, d];
  const inFd = yield* call<number>(node, 'open', s, C.O_RDONLY | C.O_CLOEXEC, 0);
  try {
    const st = yield* call<KStatx>(node, 'fstat', inFd);
    if ((st.mode & C.S_IFMT) === C.S_IFDIR) throw uvException(21, 'copyfile', s, d);
    const flags = C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_CLOEXEC | ((mode & COPYFILE_EXCL) !== 0 ? C.O_EXCL : 0);
    const outFd = yield* call<number>(node, 'open', d, flags, st.mode & 0o7777);
    try {
      // uv_fs_copyfile: the destination gets the source's mode.
      yield* call(node, 'fchmod', outFd, st.mode & 0o7777);
      const b = new Uint8Array(CHUNK);
      for (;;) {
        const n = yield* call<number>(node, 'read', inFd, b);
        if (n === 0) break;
        let o = 0;
        while (o < n) o += yield* call<number>(node, 'write', outFd, b.subarray(o, n));
      }
    } finally {
      yield* sc('close', outFd);
    }
  } finally {
    yield* sc('close', inFd);
  }
}

/** realpath(3): every symlink resolved, '.' and '..' folded, the result exists. */
function* realpathOp(p: PathLike): Op<string> {
  const orig = toPath(p);
  const node: [string, string] = ['realpath', orig];
  let rest = orig.split('/');
  let parts: string[] = [];
  if (!orig.startsWith('/')) {
    const cwd = yield* call<string>(node, 'getcwd');
    parts = cwd.split('/').filter((x) => x !== '');
  }
  let links = 0;
  while (rest.length > 0) {
    const c = rest.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      parts.pop();
      continue;
    }
    const candidate = '/' + [...parts, c].join('/');
    const s = yield* call<KStatx>(node, 'statx', AT_FDCWD, candidate, AT_SYMLINK_NOFOLLOW, 1);
    if ((s.mode & C.S_IFMT) === C.S_IFLNK) {
      if (++links > C.SYMLOOP_MAX) throw uvException(40, 'realpath', orig);
      const t = yield* call<string>(node, 'readlink', candidate);
      if (t.startsWith('/')) parts = [];
      rest = [...t.split('/'), ...rest];
      continue;
    }
    if (rest.some((x) => x !== '' && x !== '.') && (s.mode & C.S_IFMT) !== C.S_IFDIR) throw uvException(20, 'realpath', orig);
    parts.push(c);
  }
  return '/' + parts.join('/');
}

function* mkdtempOp(prefix: string): Op<string> {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  for (let tries = 0; tries < 100; tries++) {
    const rnd = new Uint8Array(6);
    globalThis.crypto.getRandomValues(rnd);
    const path = prefix + [...rnd].map((x) => chars[x % chars.length]).join('');
    try {
      yield* sc('mkdir', path, 0o700);
      return path;
    } catch (e) {
      if (!(e instanceof KernelError) || e.code !== 'EEXIST') throw toNode(e, 'mkdtemp', `${prefix}XXXXXX`);
    }
  }
  throw uvException(17, 'mkdtemp', `${prefix}XXXXXX`);
}

function* truncateOp(p: PathLike | number, len = 0): Op<void> {
  if (typeof p === 'number') return void (yield* call(['ftruncate'], 'ftruncate', p, len));
  const path = toPath(p);
  // Node's promises.truncate opens 'r+' and calls ftruncate.
  yield* withFd(path, C.O_RDWR, 0, function* (fd) {
    yield* call(['ftruncate'], 'ftruncate', fd, len);
  });
}

function* existsOp(p: PathLike): Op<boolean> {
  try {
    yield* sc('access', toPath(p), C.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** The read/write argument forms node:fs accepts. */
function readArgs(buffer: ArrayBufferView, offset?: number | null, length?: number | null, position?: number | bigint | null): [Uint8Array, number | null] {
  const u8 = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const off = offset ?? 0;
  const len = length ?? u8.byteLength - off;
  if (off < 0 || off > u8.byteLength) throw rangeErr('offset', off, u8.byteLength);
  if (len < 0 || off + len > u8.byteLength) throw rangeErr('length', len, u8.byteLength - off);
  const pos = position === null || position === undefined || (typeof position === 'number' && position < 0) ? null : Number(position);
  return [u8.subarray(off, off + len), pos];
}

function rangeErr(name: string, v: number, max: number): RangeError {
  const e = new RangeError(`The value of "${name}" is out of range. It must be >= 0 && <= ${max}. Received ${v}`) as RangeError & { code: string };
  e.code = 'ERR_OUT_OF_RANGE';
  return e;
}

function* readOp(fd: number, target: Uint8Array, pos: number | null): Op<number> {
  return pos === null ? yield* call<number>(['read'], 'read', fd, target) : yield* call<number>(['read'], 'pread', fd, target, pos);
}

function* writeOp(fd: number, data: Uint8Array, pos: number | null): Op<number> {
  return pos === null ? yield* call<number>(['write'], 'write', fd, data) : yield* call<number>(['write'], 'pwrite', fd, data, pos);
}

// ---- the three faces -------------------------------------------------------------------------

/** Builds each operation once; the faces only choose how to run it. */
function ops() {
  return {
    readFile: (p: PathLike | number, o?: Opts<ReadFileOpts>) => readFileOp(p, o),
    writeFile: (p: PathLike | number, d: string | ArrayBufferView, o?: Opts<WriteFileOpts>) => writeFileOp(p, d, o, 'w'),
    appendFile: (p: PathLike | number, d: string | ArrayBufferView, o?: Opts<WriteFileOpts>) => writeFileOp(p, d, o, 'a'),
    readdir: (p: PathLike, o?: Opts<ReaddirOpts>) => readdirOp(p, o),
    stat: (p: PathLike, o?: { bigint?: boolean }) => statOp(toPath(p), true, o?.bigint === true, 'stat'),
    lstat: (p: PathLike, o?: { bigint?: boolean }) => statOp(toPath(p), false, o?.bigint === true, 'lstat'),
    fstat: (fd: number, o?: { bigint?: boolean }) => fstatOp(fd, o?.bigint === true),
    mkdir: (p: PathLike, o?: MkdirOpts | number | string | null) => mkdirOp(p, o),
    mkdtemp: (prefix: string) => mkdtempOp(prefix),
    rm: (p: PathLike, o?: RmOpts | null) => rmOp(p, o),
    *rmdir(p: PathLike, o?: { recursive?: boolean }): Op<void> {
      const path = toPath(p);
      if (o?.recursive === true) return yield* rmOp(path, { recursive: true });
      yield* call(['rmdir', path], 'rmdir', path);
    },
    *unlink(p: PathLike): Op<void> { const path = toPath(p); yield* call(['unlink', path], 'unlink', path); },
    *rename(a: PathLike, b: PathLike): Op<void> {
      const [x, y] = [toPath(a, 'oldPath'), toPath(b, 'newPath')];
      yield* call(['rename', x, y], 'rename', x, y);
    },
    copyFile: (a: PathLike, b: PathLike, mode?: number) => copyFileOp(a, b, mode ?? 0),
    *link(a: PathLike, b: PathLike): Op<void> {
      const [x, y] = [toPath(a, 'existingPath'), toPath(b, 'newPath')];
      yield* call(['link', x, y], 'link', x, y);
    },
    *symlink(target: PathLike, p: PathLike, _type?: string | null): Op<void> {
      const [t, l] = [toPath(target, 'target'), toPath(p)];
      yield* call(['symlink', t, l], 'symlink', t, l);
    },
    *readlink(p: PathLike, o?: Opts<{ encoding?: Encoding }>): Op<string | Buffer> {
      const path = toPath(p);
      const s = yield* call<string>(['readlink', path], 'readlink', path);
      const enc = opts(o).encoding;
      return enc === 'buffer' ? Buffer.from(s) : s;
    },
    realpath: (p: PathLike, _o?: unknown) => realpathOp(p),
    *chmod(p: PathLike, mode: number | string): Op<void> { const path = toPath(p); yield* call(['chmod', path], 'chmod', path, modeNum(mode, 0)); },
    *fchmod(fd: number, mode: number | string): Op<void> { yield* call(['fchmod'], 'fchmod', fd, modeNum(mode, 0)); },
    *chown(p: PathLike, uid: number, gid: number): Op<void> { const path = toPath(p); yield* call(['chown', path], 'chown', path, uid, gid); },
    *lchown(p: PathLike, uid: number, gid: number): Op<void> { const path = toPath(p); yield* call(['lchown', path], 'lchown', path, uid, gid); },
    *fchown(fd: number, uid: number, gid: number): Op<void> { yield* call(['fchown'], 'fchown', fd, uid, gid); },
    *utimes(p: PathLike, a: number | string | Date, m: number | string | Date): Op<void> {
      const path = toPath(p);
      yield* call(['utime', path], 'utimensat', AT_FDCWD, path, [toTimespec(a, 'atime'), toTimespec(m, 'mtime')], 0);
    },
    *lutimes(p: PathLike, a: number | string | Date, m: number | string | Date): Op<void> {
      const path = toPath(p);
      yield* call(['lutime', path], 'utimensat', AT_FDCWD, path, [toTimespec(a, 'atime'), toTimespec(m, 'mtime')], AT_SYMLINK_NOFOLLOW);
    },
    *futimes(fd: number, a: number | string | Date, m: number | string | Date): Op<void> {
      yield* call(['futime'], 'futimens', fd, [toTimespec(a, 'atime'), toTimespec(m, 'mtime')]);
    },
    truncate: (p: PathLike | number, len?: number) => truncateOp(p, len ?? 0),
    *ftruncate(fd: number, len?: number): Op<void> { yield* call(['ftruncate'], 'ftruncate', fd, len ?? 0); },
    *access(p: PathLike, mode?: number): Op<void> { const path = toPath(p); yield* call(['access', path], 'access', path, mode ?? C.F_OK); },
    exists: (p: PathLike) => existsOp(p),
    *open(p: PathLike, flags?: string | number, mode?: number | string): Op<number> {
      const path = toPath(p);
      return yield* call<number>(['open', path], 'open', path, stringToFlags(flags, 'r') | C.O_CLOEXEC, modeNum(mode, 0o666));
    },
    *close(fd: number): Op<void> { yield* call(['close'], 'close', fd); },
    *fsync(fd: number): Op<void> { yield* call(['fsync'], 'fsync', fd); },
    *fdatasync(fd: number): Op<void> { yield* call(['fdatasync'], 'fdatasync', fd); },
    read: (fd: number, target: Uint8Array, pos: number | null) => readOp(fd, target, pos),
    write: (fd: number, data: Uint8Array, pos: number | null) => writeOp(fd, data, pos),
  };
}

type OpTable = ReturnType<typeof ops>;
type Promisified<T> = { [K in keyof T]: T[K] extends (...a: infer A) => Op<infer R> ? (...a: A) => Promise<R> : never };
type Syncified<T> = { [K in keyof T]: T[K] extends (...a: infer A) => Op<infer R> ? (...a: A) => R : never };

/** fs.promises FileHandle. */
export class FileHandle {
  readonly fd: number;
  private readonly run: <T>(op: Op<T>) => Promise<T>;
  private closed = false;

  constructor(fd: number, run: <T>(op: Op<T>) => Promise<T>) {
    this.fd = fd;
    this.run = run;
  }

  async read(
    buffer?: ArrayBufferView | { buffer?: ArrayBufferView; offset?: number; length?: number; position?: number | bigint | null },
    offset?: number | null, length?: number | null, position?: number | bigint | null,
  ): Promise<{ bytesRead: number; buffer: ArrayBufferView }> {
    let buf: ArrayBufferView;
    if (buffer === undefined || !ArrayBuffer.isView(buffer)) {
      const o = (buffer ?? {}) as { buffer?: ArrayBufferView; offset?: number; length?: number; position?: number | bigint | null };
      buf = o.buffer ?? Buffer.alloc(16384);
      [offset, length, position] = [o.offset, o.length, o.position];
    } else buf = buffer;
    const [target, pos] = readArgs(buf, offset, length, position);
    const bytesRead = await this.run(readOp(this.fd, target, pos));
    return { bytesRead, buffer: buf };
  }

  async write(data: string | ArrayBufferView, a?: number | null | BufferEncoding, b?: number | null | BufferEncoding, c?: number | null): Promise<{ bytesWritten: number; buffer: string | ArrayBufferView }> {
    if (typeof data === 'string') {
      const pos = typeof a === 'number' ? a : null;
      const enc = (typeof b === 'string' ? b : 'utf8') as BufferEncoding;
      const bytesWritten = await this.run(writeOp(this.fd, Buffer.from(data, enc), pos));
      return { bytesWritten, buffer: data };
    }
    const [src, pos] = readArgs(data, a as number | null | undefined, b as number | null | undefined, c);
    const bytesWritten = await this.run(writeOp(this.fd, src, pos));
    return { bytesWritten, buffer: data };
  }

  readFile(o?: Opts<ReadFileOpts>): Promise<string | Buffer> { return this.run(readFileOp(this.fd, o)); }
  writeFile(d: string | ArrayBufferView, o?: Opts<WriteFileOpts>): Promise<void> { return this.run(writeFileOp(this.fd, d, o, 'w')); }
  appendFile(d: string | ArrayBufferView, o?: Opts<WriteFileOpts>): Promise<void> { return this.run(writeFileOp(this.fd, d, o, 'a')); }
  stat(o?: { bigint?: boolean }): Promise<Stats | BigIntStats> { return this.run(fstatOp(this.fd, o?.bigint === true)); }
  truncate(len = 0): Promise<void> { return this.run(ops().ftruncate(this.fd, len)); }
  chmod(mode: number | string): Promise<void> { return this.run(ops().fchmod(this.fd, mode)); }
  chown(uid: number, gid: number): Promise<void> { return this.run(ops().fchown(this.fd, uid, gid)); }
  utimes(a: number | string | Date, m: number | string | Date): Promise<void> { return this.run(ops().futimes(this.fd, a, m)); }
  sync(): Promise<void> { return this.run(ops().fsync(this.fd)); }
  datasync(): Promise<void> { return this.run(ops().fdatasync(this.fd)); }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.run(ops().close(this.fd));
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** fs.constants (Linux values). */
export const constants = Object.freeze({
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

/** node:fs's overloads where the result type depends on options. */
interface Overloads<W extends 'async' | 'sync'> {
  readFile(p: PathLike | number, o: BufferEncoding | { encoding: BufferEncoding; flag?: string | number }): W extends 'async' ? Promise<string> : string;
  readFile(p: PathLike | number, o?: { encoding?: null | 'buffer'; flag?: string | number } | null): W extends 'async' ? Promise<Buffer> : Buffer;
  stat(p: PathLike, o: { bigint: true }): W extends 'async' ? Promise<BigIntStats> : BigIntStats;
  stat(p: PathLike, o?: { bigint?: false }): W extends 'async' ? Promise<Stats> : Stats;
  lstat(p: PathLike, o: { bigint: true }): W extends 'async' ? Promise<BigIntStats> : BigIntStats;
  lstat(p: PathLike, o?: { bigint?: false }): W extends 'async' ? Promise<Stats> : Stats;
}

export type PromisesApi = Omit<Promisified<OpTable>, 'open' | 'exists' | 'read' | 'write' | 'close' | 'fstat' | 'fsync' | 'fdatasync' | 'ftruncate' | 'fchmod' | 'fchown' | 'futimes' | 'readFile' | 'stat' | 'lstat'> & Overloads<'async'> & {
  open(p: PathLike, flags?: string | number, mode?: number | string): Promise<FileHandle>;
  constants: typeof constants;
};

type Callback<R> = (err: NodeFsError | null, result?: R) => void;
/** The callback form of each operation: the same arguments plus a trailing callback. */
export type CallbackApi = {
  [K in Exclude<keyof OpTable, 'exists' | 'read' | 'write'>]: (...args: unknown[]) => void;
} & {
  exists(p: PathLike, cb: (exists: boolean) => void): void;
  read(fd: number, buffer: ArrayBufferView, offset: number, length: number, position: number | bigint | null, cb: (err: NodeFsError | null, bytesRead?: number, buffer?: ArrayBufferView) => void): void;
  write(fd: number, buffer: ArrayBufferView | string, ...rest: unknown[]): void;
};

export type SyncApi = {
  [K in Exclude<keyof Syncified<OpTable>, 'readFile' | 'stat' | 'lstat'> as `${K & string}Sync`]: Syncified<OpTable>[K];
} & {
  readFileSync: Overloads<'sync'>['readFile'];
  statSync: Overloads<'sync'>['stat'];
  lstatSync: Overloads<'sync'>['lstat'];
  readSync(fd: number, buffer: ArrayBufferView, offset?: number | null, length?: number | null, position?: number | bigint | null): number;
  writeSync(fd: number, buffer: ArrayBufferView | string, offset?: number | null, length?: number | null, position?: number | null): number;
  constants: typeof constants;
  Stats: typeof Stats;
  BigIntStats: typeof BigIntStats;
  Dirent: typeof Dirent;
};

export type FsApi = CallbackApi & {
  promises: PromisesApi;
  constants: typeof constants;
  Stats: typeof Stats;
  BigIntStats: typeof BigIntStats;
  Dirent: typeof Dirent;
};

/** Anything with a `sys` (BootedKernel, ProcHandle, RemoteKernel), or a sys object itself. */
export type SysSource = { sys: unknown } | AnySys;

function sysOf(src: SysSource): AnySys {
  const s = (src as { sys?: unknown }).sys;
  // BootedKernel.sys is a getter that follows lwproc switches: read it per call.
  return (s !== undefined ? s : src) as AnySys;
}

/** A node:fs-compatible object (callbacks + `promises`) over a kernel. */
export function createFs(src: SysSource): FsApi {
  const run = <T>(op: Op<T>): Promise<T> => runAsync(sysOf(src), op);
  const table = ops();
  const promises: Record<string, unknown> = { constants };
  for (const [name, f] of Object.entries(table) as [string, (...a: unknown[]) => Op<unknown>][]) {
    promises[name] = (...a: unknown[]) => {
      try {
        return run(f(...a));
      } catch (e) {
        return Promise.reject(e);
      }
    };
  }
  promises['open'] = async (p: PathLike, flags?: string | number, mode?: number | string) => new FileHandle(await run(table.open(p, flags, mode)), run);
  for (const k of ['exists', 'read', 'write', 'close', 'fstat', 'fsync', 'fdatasync', 'ftruncate', 'fchmod', 'fchown', 'futimes']) delete promises[k];

  const api: Record<string, unknown> = { promises, constants, Stats, BigIntStats, Dirent };
  const takeCb = (name: string, args: unknown[]): Callback<unknown> => {
    const cb = args.pop();
    if (typeof cb !== 'function') throw invalidArg('cb', 'of type function', cb);
    void name;
    return cb as Callback<unknown>;
  };
  for (const [name, f] of Object.entries(table) as [string, (...a: unknown[]) => Op<unknown>][]) {
    if (name === 'exists' || name === 'read' || name === 'write') continue;
    api[name] = (...args: unknown[]) => {
      const cb = takeCb(name, args);
      let p: Promise<unknown>;
      try {
        p = run(f(...args));
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then((v) => cb(null, v), (e: NodeFsError) => cb(e));
    };
  }
  api['exists'] = (p: PathLike, cb: (b: boolean) => void) => {
    run(table.exists(p)).then(cb, () => cb(false));
  };
  api['read'] = (fd: number, buffer: ArrayBufferView, ...rest: unknown[]) => {
    const cb = takeCb('read', rest) as unknown as (e: NodeFsError | null, n?: number, b?: ArrayBufferView) => void;
    let p: Promise<number>;
    try {
      const [target, pos] = readArgs(buffer, rest[0] as number, rest[1] as number, rest[2] as number | null);
      p = run(table.read(fd, target, pos));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then((n) => cb(null, n, buffer), (e: NodeFsError) => cb(e));
  };
  api['write'] = (fd: number, data: ArrayBufferView | string, ...rest: unknown[]) => {
    const cb = takeCb('write', rest) as unknown as (e: NodeFsError | null, n?: number, b?: ArrayBufferView | string) => void;
    let p: Promise<number>;
    try {
      if (typeof data === 'string') {
        const pos = typeof rest[0] === 'number' ? rest[0] : null;
        p = run(table.write(fd, Buffer.from(data, (typeof rest[1] === 'string' ? rest[1] : 'utf8') as BufferEncoding), pos));
      } else {
        const [src2, pos] = readArgs(data, rest[0] as number, rest[1] as number, rest[2] as number | null);
        p = run(table.write(fd, src2, pos));
      }
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then((n) => cb(null, n, data), (e: NodeFsError) => cb(e));
  };
  return api as unknown as FsApi;
}

/**
 * The synchronous API (readFileSync, statSync, ...) over a synchronous sys:
 * a sysproxy SyncClient (`startWorkerKernel().syncClient()` in
 * src/frontends/sysproxy/worker.ts), whose calls block this thread until the
 * kernel in the worker answers.
 */
export function createFsSync(src: SysSource): SyncApi {
  const run = <T>(op: Op<T>): T => runSync(sysOf(src), op);
  const table = ops();
  const api: Record<string, unknown> = { constants, Stats, BigIntStats, Dirent };
  for (const [name, f] of Object.entries(table) as [string, (...a: unknown[]) => Op<unknown>][]) {
    api[`${name}Sync`] = (...a: unknown[]) => run(f(...a));
  }
  api['readSync'] = (fd: number, buffer: ArrayBufferView, offset?: number | null, length?: number | null, position?: number | bigint | null) => {
    const [target, pos] = readArgs(buffer, offset, length, position);
    return run(table.read(fd, target, pos));
  };
  api['writeSync'] = (fd: number, data: ArrayBufferView | string, a?: number | null, b?: number | null, c?: number | null) => {
    if (typeof data === 'string') return run(table.write(fd, Buffer.from(data), typeof a === 'number' ? a : null));
    const [src2, pos] = readArgs(data, a, b, c);
    return run(table.write(fd, src2, pos));
  };
  return api as unknown as SyncApi;
}
