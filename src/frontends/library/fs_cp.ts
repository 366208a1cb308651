/**
 * fs.cp / fs.cpSync / fs.promises.cp for `anykernel/fs` (fs.ts): a
 * recursive copy inside the kernel, with node:fs's options — `recursive`,
 * `force` (default true), `errorOnExist`, `filter` (may return a promise in
 * the async forms), `dereference`, `preserveTimestamps`, `verbatimSymlinks`,
 * `mode` (copyFile's flags) — and its ERR_FS_CP_* and ERR_FS_EISDIR errors.
 * Symlinks are copied as links; a relative target is made absolute against
 * the source's directory unless `verbatimSymlinks`, as Node does.
 */
import * as C from '../../kern/index.ts';
import { type KStatx, type Op, call, isErr, waitFor, type NodeFsError } from './fs_support.ts';
import { copyData, joinPath, readDirBatch } from './fs_ops.ts';
import { errArgType, errCode, pathText, validPath, validateBoolean, validateFunction, validateObject } from './fs_validate.ts';

const AT_FDCWD = C.AT_FDCWD;
const AT_SYMLINK_NOFOLLOW = 0x100;

interface CpOptions {
  dereference: boolean; errorOnExist: boolean; force: boolean; preserveTimestamps: boolean; recursive: boolean;
  verbatimSymlinks: boolean; mode: number; filter?: (src: string, dest: string) => boolean | Promise<boolean>;
}

function cpOptions(o: unknown): CpOptions {
  const r: CpOptions = { dereference: false, errorOnExist: false, force: true, preserveTimestamps: false, recursive: false, verbatimSymlinks: false, mode: 0 };
  if (o === undefined || o === null) return r;
  validateObject(o, 'options');
  const x = o as Record<string, unknown>;
  for (const k of ['dereference', 'errorOnExist', 'force', 'preserveTimestamps', 'recursive', 'verbatimSymlinks'] as const) {
    if (x[k] !== undefined) {
      validateBoolean(x[k], `options.${k}`);
      r[k] = x[k];
    }
  }
  if (x['filter'] !== undefined) {
    validateFunction(x['filter'], 'options.filter');
    r.filter = x['filter'] as CpOptions['filter'];
  }
  if (x['mode'] !== undefined) {
    if (typeof x['mode'] !== 'number') throw errArgType('options.mode', 'number', x['mode']);
    r.mode = x['mode'];
  }
  if (r.dereference && r.verbatimSymlinks) {
    throw errCode(new TypeError('The property \'options.dereference\' and \'options.verbatimSymlinks\' cannot be both true'), 'ERR_INCOMPATIBLE_OPTION_PAIR');
  }
  return r;
}

/** The prefix of each ERR_FS_CP_* message (lib/internal/errors.js). */
const CP_PREFIX: Record<string, string> = {
  ERR_FS_CP_DIR_TO_NON_DIR: 'Cannot overwrite directory with non-directory',
  ERR_FS_CP_EEXIST: 'Target already exists',
  ERR_FS_CP_EINVAL: 'Invalid src or dest',
  ERR_FS_CP_FIFO_PIPE: 'Cannot copy a FIFO pipe',
  ERR_FS_CP_NON_DIR_TO_DIR: 'Cannot overwrite non-directory with directory',
  ERR_FS_CP_SOCKET: 'Cannot copy a socket file',
  ERR_FS_CP_UNKNOWN: 'Cannot copy an unknown file type',
  ERR_FS_EISDIR: 'Path is a directory',
};

/** Node's SystemError for cp: `<prefix>: cp returned <CODE> (<message>) <path>`. */
function cpError(code: string, errno: number, ecode: string, message: string, path: string): NodeFsError {
  const e = errCode(new Error(`${CP_PREFIX[code]}: cp returned ${ecode} (${message}) ${path}`), code) as unknown as NodeFsError;
  e.name = 'SystemError';
  e.syscall = 'cp';
  e.path = path;
  e.errno = errno;
  return e;
}

function* lstatMaybe(path: string, follow: boolean): Op<KStatx | null> {
  try {
    return yield* call<KStatx>([follow ? 'stat' : 'lstat', path], 'statx', AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, 0xfff);
  } catch (e) {
    if (isErr(e, 'ENOENT')) return null;
    throw e;
  }
}

const fmt = (s: KStatx): number => s.mode & C.S_IFMT;

function dirname(p: string): string {
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function resolve(dir: string, t: string): string {
  return t.startsWith('/') ? t : joinPath(dir, t);
}

/** cp(src, dest, options): the whole copy, `sync` forbids an async filter. */
export function* cpOp(srcArg: unknown, destArg: unknown, options: unknown): Op<void> {
  const o = cpOptions(options);
  const src = pathText(validPath(srcArg, 'src'));
  const dest = pathText(validPath(destArg, 'dest'));
  if (src === dest) throw cpError('ERR_FS_CP_EINVAL', 22, 'EINVAL', 'src and dest cannot be the same', dest);
  if (dest.startsWith(src.endsWith('/') ? src : `${src}/`)) {
    throw cpError('ERR_FS_CP_EINVAL', 22, 'EINVAL', `cannot copy ${src} to a subdirectory of self ${dest}`, dest);
  }
  yield* cpEntry(src, dest, o);
}

function* cpEntry(src: string, dest: string, o: CpOptions): Op<void> {
  if (o.filter !== undefined && !(yield* waitFor(o.filter(src, dest)))) return;
  const s = yield* lstatMaybe(src, o.dereference);
  if (s === null) yield* call(['cp', src], 'statx', AT_FDCWD, src, AT_SYMLINK_NOFOLLOW, 1); // ENOENT, Node's way
  const st = s!;
  const d = yield* lstatMaybe(dest, false);
  if (fmt(st) === C.S_IFDIR) {
    if (!o.recursive) throw cpError('ERR_FS_EISDIR', 21, 'EISDIR', `${src} is a directory (not copied)`, src);
    if (d !== null && fmt(d) !== C.S_IFDIR) throw cpError('ERR_FS_CP_DIR_TO_NON_DIR', 21, 'EISDIR', `cannot overwrite non-directory ${dest} with directory ${src}`, dest);
    if (d === null) yield* call(['cp', dest], 'mkdir', dest, st.mode & 0o7777);
    const fd = yield* call<number>(['opendir', src], 'open', src, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC, 0);
    const names: string[] = [];
    try {
      for (let b = yield* readDirBatch(fd, ['scandir', src]); b !== null; b = yield* readDirBatch(fd, ['scandir', src])) names.push(...b.map((e) => e.name));
    } finally {
      yield* call(['close'], 'close', fd);
    }
    for (const n of names) yield* cpEntry(joinPath(src, n), joinPath(dest, n), o);
    return;
  }
  if (d !== null && fmt(d) === C.S_IFDIR && fmt(st) !== C.S_IFDIR) {
    throw cpError('ERR_FS_CP_NON_DIR_TO_DIR', 20, 'ENOTDIR', `cannot overwrite directory ${dest} with non-directory ${src}`, dest);
  }
  if (d !== null) {
    if (!o.force) {
      if (o.errorOnExist) throw cpError('ERR_FS_CP_EEXIST', 17, 'EEXIST', `${dest} already exists`, dest);
      return;
    }
    yield* call(['cp', dest], 'unlink', dest);
  }
  if (fmt(st) === C.S_IFLNK) {
    let t = yield* call<string>(['readlink', src], 'readlink', src);
    if (!o.verbatimSymlinks) t = resolve(dirname(src), t);
    yield* call(['symlink', t, dest], 'symlink', t, dest);
    return;
  }
  if (fmt(st) === C.S_IFIFO) throw cpError('ERR_FS_CP_FIFO_PIPE', 22, 'EINVAL', `cannot copy a FIFO pipe: ${dest}`, dest);
  if (fmt(st) === C.S_IFSOCK) throw cpError('ERR_FS_CP_SOCKET', 22, 'EINVAL', `cannot copy a socket file: ${dest}`, dest);
  if (fmt(st) !== C.S_IFREG) throw cpError('ERR_FS_CP_UNKNOWN', 22, 'EINVAL', `cannot copy an unknown file type: ${dest}`, dest);
  yield* copyData(src, dest, (o.mode & 1) !== 0);
  if (o.preserveTimestamps) {
    yield* call(['utime', dest], 'utimensat', AT_FDCWD, dest, [st.atime, st.mtime], 0);
  }
}
