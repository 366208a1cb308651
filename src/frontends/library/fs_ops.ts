/**
 * The node:fs operations of `anykernel/fs` (fs.ts), each written once as a
 * generator of system calls (fs_support.ts) with node:fs's synchronous
 * signature (`readFileSync`'s arguments, no callback). Everything an
 * operation does before its first `yield` — argument validation with
 * node:fs's codes and messages (fs_validate.ts) — runs at the call site, so
 * the callback and sync faces throw and the promises face rejects before any
 * system call, as node:fs does. `ops` is the table the faces are built from.
 *
 * Userland parts, as libuv and Node have them: readFile/writeFile over
 * open/read/write/close, readdir over getdents64, mkdir -p, rm -r, copyFile,
 * cp, realpath(3), mkdtemp(3).
 */
import { Buffer } from 'node:buffer';
import { KernelError } from '../../kern/index.ts';
import * as C from '../../kern/index.ts';
import {
  type KStatx, type NodeFsError, type Op, BigIntStats, DT_MODE, Dirent, StatFs, Stats, call, isErr, sc, COPYFILE_EXCL,
  COPYFILE_FICLONE_FORCE, stringToFlags, toNode, toTimespec, uvException, waitFor,
} from './fs_support.ts';
import {
  abortError, errArgType, errArgValue, errCode, getOptions, pathText, toUnixTimestamp, validFd, validMode, validPath,
  validateBoolean, validateBuffer, validateInteger, validateObject, validateOffsetLengthRead, validateOffsetLengthWrite,
  validatePosition,
} from './fs_validate.ts';

const AT_FDCWD = C.AT_FDCWD;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_ALL = 0xfff;
const CHUNK = 64 * 1024;
const MAX_USER_ID = 2 ** 32 - 1;

type KPath = string | Uint8Array;
export type Encoding = BufferEncoding | 'buffer' | null | undefined;

/** A path or name in the encoding asked for (node:fs's `encoding: 'buffer'`). */
function encodeName(s: string, enc: Encoding): string | Buffer {
  if (enc === 'buffer') return Buffer.from(s);
  if (enc === undefined || enc === null || enc === 'utf8' || enc === 'utf-8') return s;
  return Buffer.from(s).toString(enc);
}

function decode(b: Uint8Array, encoding: Encoding): string | Buffer {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return encoding === null || encoding === undefined || encoding === 'buffer' ? buf : buf.toString(encoding);
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal);
}

/** An already aborted signal fails the operation asynchronously (after validation), as node:fs does. */
function* abortPoint(signal: AbortSignal | undefined): Op<void> {
  if (signal === undefined) return;
  yield* waitFor(null);
  checkAborted(signal);
}

// ---- stat ---------------------------------------------------------------------------------

export function* statOp(path: KPath, follow: boolean, bigint: boolean, syscall: string, throwIfNoEntry = true): Op<Stats | BigIntStats | undefined> {
  let s: KStatx;
  try {
    s = yield* call<KStatx>([syscall, pathText(path)], 'statx', AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, STATX_ALL);
  } catch (e) {
    if (!throwIfNoEntry && isErr(e, 'ENOENT')) return undefined;
    throw e;
  }
  return bigint ? new BigIntStats(s) : new Stats(s);
}

export function* fstatOp(fd: number, bigint: boolean): Op<Stats | BigIntStats> {
  let s: KStatx;
  try {
    s = yield* sc<KStatx>('statx', fd, '', AT_EMPTY_PATH, STATX_ALL);
  } catch {
    s = yield* call<KStatx>(['fstat'], 'fstat', fd);
  }
  return bigint ? new BigIntStats(s) : new Stats(s);
}

function statOpts(o: unknown): { bigint: boolean; throwIfNoEntry: boolean } {
  const x = (o ?? {}) as { bigint?: unknown; throwIfNoEntry?: unknown };
  return { bigint: x.bigint === true, throwIfNoEntry: x.throwIfNoEntry !== false };
}

// ---- whole-file reads and writes ------------------------------------------------------------

function* readAllFd(fd: number, signal?: AbortSignal): Op<Uint8Array> {
  const st = yield* call<KStatx>(['fstat'], 'fstat', fd);
  if ((st.mode & C.S_IFMT) === C.S_IFDIR) throw uvException(21, 'read');
  // Files that say size 0 (procfs, devices) are read until EOF in chunks.
  const chunks: Uint8Array[] = [];
  let total = 0;
  let want = st.size > 0 && (st.mode & C.S_IFMT) === C.S_IFREG ? st.size : CHUNK;
  for (;;) {
    checkAborted(signal);
    const b = new Uint8Array(Math.max(want, 1));
    const n = yield* call<number>(['read'], 'read', fd, b);
    if (n === 0) break;
    chunks.push(n === b.byteLength ? b : b.subarray(0, n));
    total += n;
    if (total > 2 ** 31 - 1) throw errCode(new RangeError(`File size (${total}) is greater than 2 GiB`), 'ERR_FS_FILE_TOO_LARGE');
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

export function* withFd<T>(path: KPath, flags: number, mode: number, body: (fd: number) => Op<T>, syscall = 'open'): Op<T> {
  const fd = yield* call<number>([syscall, pathText(path)], 'open', path, flags | C.O_CLOEXEC, mode);
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

function* writeAllFd(fd: number, data: Uint8Array, position: number | null, signal?: AbortSignal): Op<void> {
  let off = 0;
  while (off < data.byteLength) {
    checkAborted(signal);
    const part = data.subarray(off, Math.min(data.byteLength, off + 1024 * 1024));
    const n = position === null
      ? yield* call<number>(['write'], 'write', fd, part)
      : yield* call<number>(['write'], 'pwrite', fd, part, position + off);
    if (n === 0) throw uvException(5, 'write');
    off += n;
  }
}

/** isFd: node:fs treats an int32 where a path goes as a descriptor. */
function isFd(p: unknown): p is number {
  return typeof p === 'number' && (p | 0) === p;
}

export function* readFileOp(p: unknown, options: unknown): Op<string | Buffer> {
  const o = getOptions(options, { flag: 'r' as string | number });
  const signal = o.signal;
  if (isFd(p)) {
    yield* abortPoint(signal);
    return decode(yield* readAllFd(validFd(p, 'fd'), signal), o.encoding);
  }
  const flags = stringToFlags(o.flag, 'flags');
  const path = validPath(p);
  yield* abortPoint(signal);
  const bytes = yield* withFd(path, flags, 0o666, (fd) => readAllFd(fd, signal));
  return decode(bytes, o.encoding);
}

/** Bytes for writeFile/appendFile data: a view, or a string in the options' encoding. */
function dataBytes(data: unknown, encoding: Encoding): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data !== 'string') throw errArgType('data', ['string', 'Buffer', 'TypedArray', 'DataView'], data);
  return Buffer.from(data, encoding === 'buffer' || encoding === null || encoding === undefined ? 'utf8' : encoding);
}

/** fs.promises.writeFile's data may also be an (async) iterable of chunks, a stream among them. */
function isIterableData(d: unknown): d is Iterable<unknown> | AsyncIterable<unknown> {
  return typeof d === 'object' && d !== null && !ArrayBuffer.isView(d) &&
    (typeof (d as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' || typeof (d as Iterable<unknown>)[Symbol.iterator] === 'function');
}

export function* writeFileOp(p: unknown, data: unknown, options: unknown, defFlag: 'w' | 'a', iterables = false): Op<void> {
  const o = getOptions(options, { encoding: 'utf8' as Encoding, mode: 0o666 as number | string, flag: defFlag as string | number, flush: false });
  if (o.flush !== undefined) validateBoolean(o.flush, 'options.flush');
  if (iterables && isIterableData(data)) return yield* writeChunks(p, data, o, defFlag);
  const bytes = dataBytes(data, o.encoding);
  const signal = o.signal;
  if (isFd(p)) {
    yield* abortPoint(signal);
    return yield* writeAllFd(validFd(p, 'fd'), bytes, null, signal);
  }
  const flag = defFlag === 'a' && (o.flag === undefined || o.flag === null || o.flag === '') ? 'a' : o.flag || defFlag;
  const path = validPath(p);
  const flags = stringToFlags(flag);
  const mode = validMode(o.mode, 'mode', 0o666);
  yield* abortPoint(signal);
  yield* withFd(path, flags, mode, function* (fd) {
    yield* writeAllFd(fd, bytes, null, signal);
    if (o.flush === true) yield* call(['fsync'], 'fsync', fd);
  });
}

/** writeFile from an iterable: each chunk (a string in the options' encoding, or bytes) written in turn. */
function* writeChunks(p: unknown, data: Iterable<unknown> | AsyncIterable<unknown>, o: { encoding?: Encoding | null; mode?: number | string; flag?: string | number; signal?: AbortSignal }, defFlag: 'w' | 'a'): Op<void> {
  const it = Symbol.asyncIterator in data ? (data as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (data as Iterable<unknown>)[Symbol.iterator]();
  const body = function* (fd: number): Op<void> {
    for (;;) {
      const r = (yield* waitFor(it.next())) as IteratorResult<unknown>;
      if (r.done === true) break;
      checkAborted(o.signal);
      yield* writeAllFd(fd, dataBytes(r.value, o.encoding), null, o.signal);
    }
  };
  if (isFd(p)) return yield* body(validFd(p, 'fd'));
  const path = validPath(p);
  yield* withFd(path, stringToFlags(o.flag || defFlag), validMode(o.mode, 'mode', 0o666), body);
}

// ---- directories ----------------------------------------------------------------------------

export interface KDirent { ino: number; off: number; type: number; name: string }

/** One getdents64 batch without '.' and '..' (possibly empty), or null at the end of the directory. */
export function* readDirBatch(fd: number, node: [string, string?]): Op<KDirent[] | null> {
  const ents = yield* call<KDirent[]>(node, 'getdents64', fd, 32768);
  if (ents.length === 0) return null;
  return ents.filter((e) => e.name !== '.' && e.name !== '..');
}

function* listDir(path: KPath): Op<KDirent[]> {
  const node: [string, string] = ['scandir', pathText(path)];
  const fd = yield* call<number>(node, 'open', path, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC, 0);
  const out: KDirent[] = [];
  try {
    for (let b = yield* readDirBatch(fd, node); b !== null; b = yield* readDirBatch(fd, node)) out.push(...b);
  } finally {
    yield* sc('close', fd);
  }
  return out;
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** A directory entry's S_IF* format; DT_UNKNOWN asks lstat, as Node does. */
export function* direntType(dir: string, e: KDirent): Op<number> {
  const t = DT_MODE[e.type];
  if (t !== undefined) return t;
  const p = joinPath(dir, e.name);
  const s = yield* call<KStatx>(['lstat', p], 'statx', AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, 1);
  return s.mode & C.S_IFMT;
}

function* readdirOp(p: unknown, options: unknown): Op<(string | Buffer | Dirent)[]> {
  const o = getOptions(options, {} as { withFileTypes?: boolean; recursive?: boolean });
  const path = validPath(p);
  if (o.recursive !== undefined) validateBoolean(o.recursive, 'options.recursive');
  const root = pathText(path);
  const out: (string | Buffer | Dirent)[] = [];
  const queue: [string, string][] = [[root, '']];
  const withTypes = o.withFileTypes === true;
  while (queue.length > 0) {
    const [dir, rel] = queue.shift()!;
    for (const e of yield* listDir(dir)) {
      const relName = rel === '' ? e.name : `${rel}/${e.name}`;
      const fmt = withTypes || o.recursive === true ? yield* direntType(dir, e) : 0;
      if (withTypes) out.push(new Dirent(encodeName(e.name, o.encoding) as string, fmt, dir));
      else out.push(encodeName(relName, o.encoding));
      if (o.recursive === true && fmt === C.S_IFDIR) queue.push([joinPath(dir, e.name), relName]);
    }
  }
  return out;
}

function* mkdirOp(p: unknown, options: unknown): Op<string | undefined> {
  let mode = 0o777;
  let recursive: unknown = false;
  if (typeof options === 'number' || typeof options === 'string') mode = validMode(options, 'mode');
  else if (options !== null && options !== undefined && typeof options === 'object') {
    const o = options as { recursive?: unknown; mode?: unknown };
    if (o.recursive !== undefined) recursive = o.recursive;
    if (o.mode !== undefined) mode = validMode(o.mode, 'mode');
  }
  const path = validPath(p);
  validateBoolean(recursive, 'options.recursive');
  const text = pathText(path);
  if (!recursive) {
    yield* call(['mkdir', text], 'mkdir', path, mode);
    return undefined;
  }
  const first = yield* mkdirp(text, mode, text);
  return first;
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

function* mkdtempOp(prefix: unknown, options: unknown): Op<string | Buffer> {
  const o = getOptions(options, {});
  const pre = pathText(validPath(prefix, 'prefix'));
  if (pre.endsWith('X')) warnOnce('mkdtemp-X', 'mkdtemp() templates ending with X are not portable. For details see: https://nodejs.org/api/fs.html', 'Warning');
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  for (let tries = 0; tries < 100; tries++) {
    const rnd = new Uint8Array(6);
    globalThis.crypto.getRandomValues(rnd);
    const path = pre + [...rnd].map((x) => chars[x % chars.length]).join('');
    try {
      yield* sc('mkdir', path, 0o700);
      return encodeName(path, o.encoding);
    } catch (e) {
      if (!(e instanceof KernelError) || e.code !== 'EEXIST') throw toNode(e, 'mkdtemp', `${pre}XXXXXX`);
    }
  }
  throw uvException(17, 'mkdtemp', `${pre}XXXXXX`);
}

type RmOpts = { recursive?: boolean; force?: boolean; maxRetries?: number; retryDelay?: number };
function rmOptions(o: unknown): RmOpts {
  if (o === undefined || o === null) return {};
  validateObject(o, 'options');
  const r = o as RmOpts;
  if (r.force !== undefined) validateBoolean(r.force, 'options.force');
  if (r.recursive !== undefined) validateBoolean(r.recursive, 'options.recursive');
  if (r.maxRetries !== undefined) validateInteger(r.maxRetries, 'options.maxRetries', 0);
  if (r.retryDelay !== undefined) validateInteger(r.retryDelay, 'options.retryDelay', 0);
  return r;
}

function* rmOp(p: unknown, options: unknown): Op<void> {
  const path = pathText(validPath(p));
  const { recursive, force } = rmOptions(options);
  let s: KStatx;
  try {
    s = yield* call<KStatx>(['lstat', path], 'statx', AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 1);
  } catch (e) {
    if (force === true && isErr(e, 'ENOENT')) return;
    throw e;
  }
  if ((s.mode & C.S_IFMT) === C.S_IFDIR) {
    if (recursive !== true) {
      const e = errCode(new Error(`Path is a directory: rm returned EISDIR (is a directory) ${path}`), 'ERR_FS_EISDIR') as unknown as NodeFsError;
      e.name = 'SystemError';
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

function* rmTree(dir: string): Op<void> {
  for (const e of yield* listDir(dir)) {
    const child = joinPath(dir, e.name);
    const fmt = yield* direntType(dir, e);
    if (fmt === C.S_IFDIR) yield* rmTree(child);
    else yield* call(['rm', child], 'unlink', child);
  }
  yield* call(['rmdir', dir], 'rmdir', dir);
}

const warnedOnce = new Set<string>();
/** A warning node:fs gives once per process. */
function warnOnce(code: string, message: string, type = 'DeprecationWarning'): void {
  if (warnedOnce.has(code)) return;
  warnedOnce.add(code);
  process.emitWarning(message, type, code === 'mkdtemp-X' ? undefined : code);
}

function* rmdirOp(p: unknown, options: unknown): Op<void> {
  const path = validPath(p);
  const o = (options ?? {}) as { recursive?: unknown };
  const text = pathText(path);
  if (o.recursive === true) {
    warnOnce('DEP0147', 'In future versions of Node.js, fs.rmdir(path, { recursive: true }) will be removed. Use fs.rm(path, { recursive: true }) instead');
    rmOptions(options);
    // A path that is not a directory gets rmdir(2)'s own answer (ENOTDIR), as node:fs does.
    const s = yield* call<KStatx>(['rmdir', text], 'statx', AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 1);
    if ((s.mode & C.S_IFMT) === C.S_IFDIR) return yield* rmTree(text);
  }
  yield* call(['rmdir', text], 'rmdir', path);
}

// ---- copies ---------------------------------------------------------------------------------

export function* copyFileOp(src: unknown, dst: unknown, modeArg: unknown): Op<void> {
  const s = validPath(src, 'src');
  const d = validPath(dst, 'dest');
  const mode = modeArg === undefined || modeArg === null ? 0 : copyMode(modeArg);
  const [st, dt] = [pathText(s), pathText(d)];
  if ((mode & COPYFILE_FICLONE_FORCE) !== 0) throw uvException(38, 'copyfile', st, dt);
  yield* copyData(st, dt, (mode & COPYFILE_EXCL) !== 0);
}

function copyMode(m: unknown): number {
  if (typeof m !== 'number' || !Number.isInteger(m)) {
    throw errCode(new TypeError('mode must be int32 or null/undefined'), 'ERR_INVALID_ARG_TYPE');
  }
  if (m < 0 || m > 7) throw errCode(new RangeError('mode is out of range: >= 0 && <= 7'), 'ERR_OUT_OF_RANGE');
  return m;
}

export function* copyData(s: string, d: string, excl: boolean): Op<void> {
  const node: [string, string, string] = ['copyfile', s, d];
  const inFd = yield* call<number>(node, 'open', s, C.O_RDONLY | C.O_CLOEXEC, 0);
  try {
    const st = yield* call<KStatx>(node, 'fstat', inFd);
    if ((st.mode & C.S_IFMT) === C.S_IFDIR) throw uvException(21, 'copyfile', s, d);
    const flags = C.O_WRONLY | C.O_CREAT | C.O_TRUNC | C.O_CLOEXEC | (excl ? C.O_EXCL : 0);
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

// ---- paths ----------------------------------------------------------------------------------

/** realpath(3): every symlink resolved, '.' and '..' folded, the result exists. */
export function* realpathOp(p: unknown, options: unknown, native = false): Op<string | Buffer> {
  const o = getOptions(options, {});
  // node:fs's JavaScript realpath stringifies what is neither a path nor a URL.
  const orig = pathText(validPath(native || typeof p === 'string' || p instanceof Uint8Array || p instanceof URL ? p : String(p)));
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
    // The JavaScript realpath reports the lstat that failed; realpath.native, realpath(3)'s failure.
    const s = yield* call<KStatx>(native ? node : ['lstat', candidate], 'statx', AT_FDCWD, candidate, AT_SYMLINK_NOFOLLOW, 1);
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
  return encodeName('/' + parts.join('/'), o.encoding);
}

function* readlinkOp(p: unknown, options: unknown): Op<string | Buffer> {
  const o = getOptions(options, {});
  const path = validPath(p, 'oldPath');
  const s = yield* call<string>(['readlink', pathText(path)], 'readlink', path);
  return encodeName(s, o.encoding);
}

function* truncateOp(p: unknown, len: unknown): Op<void> {
  if (typeof p === 'number') return yield* ftruncateOp(p, len);
  const l = len === undefined || len === null ? 0 : len;
  validateInteger(l, 'len');
  const path = validPath(p);
  // Node's truncate opens 'r+' and calls ftruncate.
  yield* withFd(path, C.O_RDWR, 0, function* (fd) {
    yield* call(['ftruncate'], 'ftruncate', fd, Math.max(0, l));
  });
}

function* ftruncateOp(fdArg: unknown, len: unknown): Op<void> {
  const fd = validFd(fdArg);
  const l = len === undefined || len === null ? 0 : len;
  validateInteger(l, 'len');
  yield* call(['ftruncate'], 'ftruncate', fd, Math.max(0, l));
}

function* accessOp(p: unknown, modeArg: unknown): Op<void> {
  const path = validPath(p);
  const mode = modeArg === undefined || modeArg === null ? C.F_OK : accessMode(modeArg);
  yield* call(['access', pathText(path)], 'access', path, mode);
}

function accessMode(m: unknown): number {
  if (typeof m !== 'number' || !Number.isInteger(m)) throw errCode(new TypeError('mode must be int32 or null/undefined'), 'ERR_INVALID_ARG_TYPE');
  if (m < 0 || m > 7) throw errCode(new RangeError('mode is out of range: >= 0 && <= 7'), 'ERR_OUT_OF_RANGE');
  return m;
}

function* existsOp(p: unknown): Op<boolean> {
  let path: KPath;
  try {
    path = validPath(p);
  } catch {
    return false;
  }
  try {
    yield* sc('access', path, C.F_OK);
    return true;
  } catch {
    return false;
  }
}

export function* openOp(p: unknown, flags: unknown, mode: unknown): Op<number> {
  const path = validPath(p);
  const fl = stringToFlags(flags as string | number | undefined);
  const m = validMode(mode, 'mode', 0o666);
  return yield* call<number>(['open', pathText(path)], 'open', path, fl | C.O_CLOEXEC, m);
}

function times(a: unknown, m: unknown, names: [string, string] = ['time', 'time']): [{ sec: number; nsec: number }, { sec: number; nsec: number }] {
  return [toTimespec(toUnixTimestamp(a, names[0])), toTimespec(toUnixTimestamp(m, names[1]))];
}

// ---- descriptors ------------------------------------------------------------------------------

export function* readOp(fd: number, target: Uint8Array, pos: number | bigint | null): Op<number> {
  return pos === null || pos === -1 || pos === -1n
    ? yield* call<number>(['read'], 'read', fd, target)
    : yield* call<number>(['read'], 'pread', fd, target, pos);
}

export function* writeOp(fd: number, data: Uint8Array, pos: number | bigint | null): Op<number> {
  return pos === null || (typeof pos === 'number' && pos < 0)
    ? yield* call<number>(['write'], 'write', fd, data)
    : yield* call<number>(['write'], 'pwrite', fd, data, pos);
}

/** Parsed read arguments: the bytes to fill and where (null: the file offset). */
export interface ReadArgs { fd: number; buffer: ArrayBufferView; target: Uint8Array; position: number | bigint | null }

function u8(b: ArrayBufferView): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * fs.readSync(fd, buffer, offset?, length?, position?) and
 * fs.readSync(fd, buffer, { offset, length, position }): Node's checks in
 * Node's order. `length` 0 gives a zero-length target (no system call).
 */
export function readSyncArgs(fdArg: unknown, buffer: unknown, offOrOpts: unknown, lengthArg: unknown, posArg: unknown, nargs: number): ReadArgs {
  const fd = validFd(fdArg);
  validateBuffer(buffer);
  let offset = offOrOpts;
  let length = lengthArg;
  let position = posArg;
  if (nargs <= 3 || (typeof offOrOpts === 'object' && offOrOpts !== null)) {
    if (offOrOpts !== undefined) validateObject(offOrOpts, 'options', true);
    const o = (offOrOpts ?? {}) as { offset?: unknown; length?: unknown; position?: unknown };
    offset = o.offset ?? 0;
    length = o.length ?? buffer.byteLength - (offset as number);
    position = o.position ?? null;
  }
  return finishRead(fd, buffer, offset, length, position);
}

export function finishRead(fd: number, buffer: ArrayBufferView, offsetArg: unknown, lengthArg: unknown, positionArg: unknown): ReadArgs {
  let offset = 0;
  if (offsetArg !== undefined && offsetArg !== null) {
    validateInteger(offsetArg, 'offset', 0);
    offset = offsetArg;
  }
  const length = (lengthArg as number) | 0;
  if (length === 0) return { fd, buffer, target: u8(buffer).subarray(0, 0), position: null };
  if (buffer.byteLength === 0) throw errArgValue('buffer', buffer, 'is empty and cannot be written');
  validateOffsetLengthRead(offset, length, buffer.byteLength);
  const position = positionArg === null || positionArg === undefined ? -1 : positionArg;
  validatePosition(position, 'position', length);
  return { fd, buffer, target: u8(buffer).subarray(offset, offset + length), position: position === -1 || position === -1n ? null : (position as number | bigint) };
}

/** Parsed write arguments. */
export interface WriteArgs { fd: number; buffer: ArrayBufferView | string; data: Uint8Array; position: number | null }

/** fs.writeSync(fd, buffer, offset?, length?, position?) / (fd, buffer, { ... }) / (fd, string, position?, encoding?). */
export function writeSyncArgs(fdArg: unknown, buffer: unknown, offOrOpts: unknown, lengthArg: unknown, posArg: unknown): WriteArgs {
  const fd = validFd(fdArg);
  if (ArrayBuffer.isView(buffer)) {
    let offset = offOrOpts;
    let length = lengthArg;
    let position = posArg;
    if (typeof offOrOpts === 'object' && offOrOpts !== null) {
      const o = offOrOpts as { offset?: unknown; length?: unknown; position?: unknown };
      offset = o.offset ?? 0;
      length = o.length ?? buffer.byteLength - (offset as number);
      position = o.position ?? null;
    }
    if (position === undefined) position = null;
    let off = 0;
    if (offset !== null && offset !== undefined) {
      validateInteger(offset, 'offset', 0);
      off = offset;
    }
    const len = typeof length === 'number' ? length : buffer.byteLength - off;
    validateOffsetLengthWrite(off, len, buffer.byteLength);
    return { fd, buffer, data: u8(buffer).subarray(off, off + len), position: typeof position === 'number' ? position : null };
  }
  if (typeof buffer !== 'string') throw errArgType('buffer', ['string', 'Buffer', 'TypedArray', 'DataView'], buffer);
  const enc = stringEncoding(buffer, lengthArg);
  return { fd, buffer, data: Buffer.from(buffer, enc), position: typeof offOrOpts === 'number' ? offOrOpts : null };
}

/** validateEncoding: only hex's length is checked; an unknown encoding means utf8 (as the binding parses it). */
function stringEncoding(s: string, enc: unknown): BufferEncoding {
  const e = typeof enc === 'string' && Buffer.isEncoding(enc) ? enc : 'utf8';
  if (e.toLowerCase() === 'hex' && s.length % 2 !== 0) throw errArgValue('encoding', enc, `is invalid for data of length ${s.length}`);
  return e;
}

export function validateBufferArray(buffers: unknown, name = 'buffers'): ArrayBufferView[] {
  if (!Array.isArray(buffers)) throw errArgType(name, 'ArrayBufferView[]', buffers);
  for (const b of buffers) if (!ArrayBuffer.isView(b)) throw errArgType(name, 'ArrayBufferView[]', buffers);
  return buffers as ArrayBufferView[];
}

export function* readvOp(fdArg: unknown, buffersArg: unknown, position: unknown): Op<number> {
  const fd = validFd(fdArg);
  const buffers = validateBufferArray(buffersArg);
  const pos = typeof position === 'number' ? position : null;
  const iov = buffers.map(u8);
  return pos === null ? yield* call<number>(['read'], 'readv', fd, iov) : yield* call<number>(['read'], 'preadv', fd, iov, pos);
}

export function* writevOp(fdArg: unknown, buffersArg: unknown, position: unknown): Op<number> {
  const fd = validFd(fdArg);
  const buffers = validateBufferArray(buffersArg);
  const pos = typeof position === 'number' ? position : null;
  const iov = buffers.map(u8);
  if (iov.length === 0) return 0;
  return pos === null ? yield* call<number>(['write'], 'writev', fd, iov) : yield* call<number>(['write'], 'pwritev', fd, iov, pos);
}

function* statfsOp(p: unknown, options: unknown): Op<StatFs<number> | StatFs<bigint>> {
  const path = validPath(p);
  const s = yield* call<{ type: number; bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number }>(
    ['statfs', pathText(path)], 'statfs', path);
  return (options as { bigint?: boolean } | undefined)?.bigint === true ? new StatFs<bigint>(s, true) : new StatFs<number>(s, false);
}

// ---- the table ------------------------------------------------------------------------------

/**
 * Every operation by node:fs's sync name (without `Sync`), with node:fs's
 * sync argument list. The faces (fs.ts) add callbacks and promises.
 */
export const ops = {
  access: (p: unknown, mode?: unknown) => accessOp(p, mode),
  appendFile: (p: unknown, d: unknown, o?: unknown) => writeFileOp(p, d, o, 'a'),
  chmod: function* (p: unknown, mode: unknown): Op<void> {
    const path = validPath(p);
    const m = validMode(mode, 'mode');
    yield* call(['chmod', pathText(path)], 'chmod', path, m);
  },
  chown: function* (p: unknown, uid: unknown, gid: unknown): Op<void> {
    const path = validPath(p);
    validateInteger(uid, 'uid', -1, MAX_USER_ID);
    validateInteger(gid, 'gid', -1, MAX_USER_ID);
    yield* call(['chown', pathText(path)], 'chown', path, uid, gid);
  },
  close: function* (fdArg: unknown): Op<void> {
    const fd = validFd(fdArg);
    yield* call(['close'], 'close', fd);
  },
  copyFile: (a: unknown, b: unknown, mode?: unknown) => copyFileOp(a, b, mode),
  exists: (p: unknown) => existsOp(p),
  fchmod: function* (fdArg: unknown, mode: unknown): Op<void> {
    const fd = validFd(fdArg);
    const m = validMode(mode, 'mode');
    yield* call(['fchmod'], 'fchmod', fd, m);
  },
  fchown: function* (fdArg: unknown, uid: unknown, gid: unknown): Op<void> {
    const fd = validFd(fdArg);
    validateInteger(uid, 'uid', -1, MAX_USER_ID);
    validateInteger(gid, 'gid', -1, MAX_USER_ID);
    yield* call(['fchown'], 'fchown', fd, uid, gid);
  },
  fdatasync: function* (fdArg: unknown): Op<void> {
    const fd = validFd(fdArg);
    yield* call(['fdatasync'], 'fdatasync', fd);
  },
  fstat: function* (fdArg: unknown, o?: unknown): Op<Stats | BigIntStats> {
    const fd = validFd(fdArg);
    return yield* fstatOp(fd, statOpts(o).bigint);
  },
  fsync: function* (fdArg: unknown): Op<void> {
    const fd = validFd(fdArg);
    yield* call(['fsync'], 'fsync', fd);
  },
  ftruncate: (fd: unknown, len?: unknown) => ftruncateOp(fd, len),
  futimes: function* (fdArg: unknown, a: unknown, m: unknown): Op<void> {
    const fd = validFd(fdArg);
    yield* call(['futime'], 'futimens', fd, times(a, m, ['atime', 'mtime']));
  },
  lchown: function* (p: unknown, uid: unknown, gid: unknown): Op<void> {
    const path = validPath(p);
    validateInteger(uid, 'uid', -1, MAX_USER_ID);
    validateInteger(gid, 'gid', -1, MAX_USER_ID);
    yield* call(['lchown', pathText(path)], 'lchown', path, uid, gid);
  },
  link: function* (a: unknown, b: unknown): Op<void> {
    const x = validPath(a, 'existingPath');
    const y = validPath(b, 'newPath');
    yield* call(['link', pathText(x), pathText(y)], 'link', x, y);
  },
  lstat: function* (p: unknown, o?: unknown): Op<Stats | BigIntStats | undefined> {
    const path = validPath(p);
    const so = statOpts(o);
    return yield* statOp(path, false, so.bigint, 'lstat', so.throwIfNoEntry);
  },
  lutimes: function* (p: unknown, a: unknown, m: unknown): Op<void> {
    const path = validPath(p);
    yield* call(['lutime', pathText(path)], 'utimensat', AT_FDCWD, path, times(a, m), AT_SYMLINK_NOFOLLOW);
  },
  mkdir: (p: unknown, o?: unknown) => mkdirOp(p, o),
  mkdtemp: (prefix: unknown, o?: unknown) => mkdtempOp(prefix, o),
  open: (p: unknown, flags?: unknown, mode?: unknown) => openOp(p, flags, mode),
  readdir: (p: unknown, o?: unknown) => readdirOp(p, o),
  readFile: (p: unknown, o?: unknown) => readFileOp(p, o),
  readlink: (p: unknown, o?: unknown) => readlinkOp(p, o),
  realpath: (p: unknown, o?: unknown) => realpathOp(p, o),
  rename: function* (a: unknown, b: unknown): Op<void> {
    const x = validPath(a, 'oldPath');
    const y = validPath(b, 'newPath');
    yield* call(['rename', pathText(x), pathText(y)], 'rename', x, y);
  },
  rm: (p: unknown, o?: unknown) => rmOp(p, o),
  rmdir: (p: unknown, o?: unknown) => rmdirOp(p, o),
  stat: function* (p: unknown, o?: unknown): Op<Stats | BigIntStats | undefined> {
    const path = validPath(p);
    const so = statOpts(o);
    return yield* statOp(path, true, so.bigint, 'stat', so.throwIfNoEntry);
  },
  statfs: (p: unknown, o?: unknown) => statfsOp(p, o),
  symlink: function* (target: unknown, p: unknown, type?: unknown): Op<void> {
    if (typeof type === 'string' && type !== 'dir' && type !== 'file' && type !== 'junction') {
      throw errCode(new Error(`Symlink type must be one of "dir", "file", or "junction". Received "${type}"`), 'ERR_FS_INVALID_SYMLINK_TYPE');
    }
    const t = validPath(target, 'target');
    const l = validPath(p);
    yield* call(['symlink', pathText(t), pathText(l)], 'symlink', t, l);
  },
  truncate: (p: unknown, len?: unknown) => truncateOp(p, len),
  unlink: function* (p: unknown): Op<void> {
    const path = validPath(p);
    yield* call(['unlink', pathText(path)], 'unlink', path);
  },
  utimes: function* (p: unknown, a: unknown, m: unknown): Op<void> {
    const path = validPath(p);
    yield* call(['utime', pathText(path)], 'utimensat', AT_FDCWD, path, times(a, m), 0);
  },
  writeFile: (p: unknown, d: unknown, o?: unknown) => writeFileOp(p, d, o, 'w'),
  readv: (fd: unknown, b: unknown, pos?: unknown) => readvOp(fd, b, pos),
  writev: (fd: unknown, b: unknown, pos?: unknown) => writevOp(fd, b, pos),
} satisfies Record<string, (...a: never[]) => Op<unknown>>;

export type OpName = keyof typeof ops;
