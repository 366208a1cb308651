/**
 * The node:fs operations of `anykernel/fs` (fs.ts), each written once as a
 * generator of system calls (fs_support.ts): readFile/writeFile over
 * open/read/write/close, readdir over getdents64, mkdir -p, rm -r, copyFile,
 * a userland realpath(3), and the rest. `ops()` is the table the three
 * faces (promises, callbacks, sync) are built from.
 */
import { Buffer } from 'node:buffer';
import { KernelError } from '../../kern/index.ts';
import * as C from '../../kern/index.ts';
import {
  type Encoding, type KStatx, type NodeFsError, type Op, type Opts, type PathLike, BigIntStats, DT_MODE, Dirent, Stats, call, decode, isErr,
  modeNum, opts, sc, COPYFILE_EXCL, COPYFILE_FICLONE_FORCE, stringToFlags, toBytes, toNode, toPath, toTimespec, uvException,
} from './fs_support.ts';

// ---- the operations ------------------------------------------------------------------------

const AT_FDCWD = C.AT_FDCWD;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_ALL = 0xfff;
const CHUNK = 64 * 1024;

export function* statOp(path: string, follow: boolean, bigint: boolean, syscall: string): Op<Stats | BigIntStats> {
  const s = yield* call<KStatx>([syscall, path], 'statx', AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, STATX_ALL);
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

export type ReadFileOpts = { encoding?: Encoding; flag?: string | number };
export function* readFileOp(p: PathLike | number, o: Opts<ReadFileOpts>): Op<string | Buffer> {
  const { encoding, flag } = opts<ReadFileOpts>(o);
  if (typeof p === 'number') return decode(yield* readAllFd(p), encoding);
  const path = toPath(p);
  const bytes = yield* withFd(path, stringToFlags(flag, 'r'), 0o666, readAllFd);
  return decode(bytes, encoding);
}

export type WriteFileOpts = { encoding?: Encoding; mode?: number | string; flag?: string | number };
export function* writeFileOp(p: PathLike | number, data: string | ArrayBufferView, o: Opts<WriteFileOpts>, defFlag: string): Op<void> {
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
export function readArgs(buffer: ArrayBufferView, offset?: number | null, length?: number | null, position?: number | bigint | null): [Uint8Array, number | null] {
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

export function* readOp(fd: number, target: Uint8Array, pos: number | null): Op<number> {
  return pos === null ? yield* call<number>(['read'], 'read', fd, target) : yield* call<number>(['read'], 'pread', fd, target, pos);
}

export function* writeOp(fd: number, data: Uint8Array, pos: number | null): Op<number> {
  return pos === null ? yield* call<number>(['write'], 'write', fd, data) : yield* call<number>(['write'], 'pwrite', fd, data, pos);
}

// ---- the table of operations -----------------------------------------------------------------

/** Builds each operation once; the faces only choose how to run it. */
export function ops() {
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

export type OpTable = ReturnType<typeof ops>;
export type Promisified<T> = { [K in keyof T]: T[K] extends (...a: infer A) => Op<infer R> ? (...a: A) => Promise<R> : never };
export type Syncified<T> = { [K in keyof T]: T[K] extends (...a: infer A) => Op<infer R> ? (...a: A) => R : never };
