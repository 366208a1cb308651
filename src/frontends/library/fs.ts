/**
 * `anykernel/fs`: a node:fs-compatible module object over a kernel's VFS, so
 * existing Node code (and libraries written against node:fs) runs on a
 * kernel unchanged — and never on the host's disk:
 *
 *     import { boot } from 'anykernel';
 *     import { createFs } from 'anykernel/fs';
 *     const k = await boot();
 *     const fs = createFs(k);                  // callbacks, promises, streams
 *     await fs.promises.writeFile('/hello', 'hi\n');
 *     fs.readFile('/hello', 'utf8', (err, s) => ...);
 *
 *     const wk = await startWorkerKernel();   // a kernel in a worker_thread
 *     const sfs = createFs(wk);                // ... and readFileSync & co too
 *
 * The object has every name node:fs has — each `*Sync` function, `promises`,
 * streams, `opendir`/`Dir`, `cp`, `statfs`, `watch` (on the kernel's
 * inotify, fs_watch.ts), `readv`/`writev`,
 * `constants` and the classes. One implementation serves all three faces:
 * each operation is a generator that yields the system calls it needs
 * (fs_ops.ts) and is driven asynchronously (callbacks, promises) or
 * synchronously (`*Sync`). Validation runs before the first system call, at
 * the call site, with node:fs's error codes and messages (fs_validate.ts).
 *
 * Where the calls go (`createFs(src)`):
 * - a WorkerKernel (`startWorkerKernel()`): one SyncClient (a process of its
 *   own) serves every face, so a descriptor from `openSync` works with
 *   `fs.read` and the other way round. A kernel call that sleeps (a read on
 *   an empty FIFO) blocks the calling thread, from either face.
 * - a SyncClient: the same, over that client.
 * - a BootedKernel, ProcHandle, RemoteKernel or any `{ sys }`: callbacks,
 *   promises and streams; the `*Sync` functions throw ERR_ANYKERNEL_NO_SYNC
 *   (after validating their arguments) saying how to get a synchronous
 *   kernel. An in-process kernel cannot answer synchronously: its system
 *   calls are async functions, and JavaScript cannot wait for a promise
 *   without returning to the event loop, even for a tmpfs call that never
 *   suspends.
 *
 * Errors from the kernel look like node:fs's: an Error whose message is
 * `ENOENT: no such file or directory, open '/x'`, with `code`, a NEGATIVE
 * `errno` (libuv's convention), `syscall` (Node's name for the call),
 * `path` and `dest`.
 */
import { Buffer } from 'node:buffer';
import { promisify } from 'node:util';
import {
  type AnySys, type NodeFsError, type Op, BigIntStats, Dirent, StatFs, Stats, constants, runAsync, runSync,
} from './fs_support.ts';
import { ops, realpathOp, writeFileOp, finishRead, readOp, readSyncArgs, readvOp, validateBufferArray, writeOp, writeSyncArgs, writevOp, type OpName } from './fs_ops.ts';
import { errCode, toUnixTimestamp, validFd, validPath, validateBuffer, validateFunction, validateInteger, validateObject, errArgType } from './fs_validate.ts';
import { FileHandle } from './fs_filehandle.ts';
import { Dir, opendirOp, type DirRunners } from './fs_dir.ts';
import { cpOp } from './fs_cp.ts';
import { makeStreamClasses, type StreamClasses } from './fs_streams.ts';
import { makeWatchers } from './fs_watch.ts';

export { FileHandle } from './fs_filehandle.ts';
export { Dir } from './fs_dir.ts';
export {
  BigIntStats, Dirent, StatFs, Stats, constants, runAsync, runSync, stringToFlags, uvException, type AnySys, type NodeFsError,
  type SysCall,
} from './fs_support.ts';

/** Anything with a `sys` (BootedKernel, ProcHandle, RemoteKernel), or a sys object itself. */
export type SysSource = { sys: unknown } | AnySys;
/** What createFs accepts: a SysSource, a WorkerKernel (`syncClient()`), or a SyncClient. */
export type FsSource = SysSource | { syncClient(): { sys: unknown } };

export interface CreateFsOptions {
  /**
   * A synchronous sys for the `*Sync` functions (a SyncClient or its `sys`).
   * Descriptors are per process: pass one of the same process as `src`
   * only if you mix sync and async calls on one descriptor.
   */
  sync?: SysSource;
}

/** The faces' access to the kernel. */
export interface Backend {
  /** The sys async calls go through (read per call: BootedKernel.sys follows lwproc switches). */
  async(): AnySys;
  /** The sys sync calls go through, or null when the source has none. */
  sync: (() => AnySys) | null;
  /** An async sys watchers may block reading inotify events on, or null. */
  watch: (() => AnySys) | null;
  /**
   * How callbacks are called: from the event loop's check phase, as libuv's
   * completions run from the loop, so timers get their turn between one I/O
   * and the next even when the kernel answered at once (a stream reading a
   * file a timer appends to sees the appends, as with node:fs). Under a host
   * that models time (SimHost), through its own scheduler.
   */
  later(f: () => void): void;
}

/** A kernel on a host that models time (SimHost has outside()). */
function simHyper(src: FsSource): { schedule(f: () => void): void } | null {
  const h = (src as { hyper?: { schedule?: unknown; outside?: unknown } }).hyper;
  return h !== undefined && typeof h.outside === 'function' && typeof h.schedule === 'function' ? (h as { schedule(f: () => void): void }) : null;
}

function sysOf(src: SysSource): AnySys {
  const s = (src as { sys?: unknown }).sys;
  return (s !== undefined ? s : src) as AnySys;
}

function isSyncClient(src: object): boolean {
  return 'welcome' in src && typeof (src as { call?: unknown }).call === 'function' && 'sys' in src;
}

function backendOf(src: FsSource, o: CreateFsOptions): Backend {
  if (typeof (src as { syncClient?: unknown }).syncClient === 'function') {
    let sys: AnySys | null = null;
    const get = (): AnySys => (sys ??= sysOf((src as { syncClient(): SysSource }).syncClient()));
    return { async: get, sync: get, watch: () => sysOf(src as SysSource), later: setImmediate };
  }
  if (isSyncClient(src)) {
    const sys = sysOf(src as SysSource);
    return { async: () => sys, sync: () => sys, watch: null, later: setImmediate };
  }
  const sync = o.sync !== undefined ? sysOf(o.sync) : null;
  const async = (): AnySys => sysOf(src as SysSource);
  const sim = simHyper(src);
  return { async, sync: sync === null ? null : () => sync, watch: async, later: sim !== null ? (f) => sim.schedule(f) : setImmediate };
}

function noSync(name: string): Error {
  return errCode(new Error(
    `fs.${name}() needs a kernel that answers synchronously, and this one is in-process (its system calls are asynchronous). ` +
    'Run the kernel in a worker — const wk = await startWorkerKernel(); const fs = createFs(wk) — or pass ' +
    '{ sync: wk.syncClient() } to createFs; or use the callback or promise form.'), 'ERR_ANYKERNEL_NO_SYNC');
}

/** How the callback form finds its callback and in which order it validates (as lib/fs.js does). */
interface CbSpec {
  /** Parameters including the callback. */
  arity: number;
  /** The callback is checked before the other arguments. */
  first: boolean;
  /** `callback ||= options` (readFile, writeFile, appendFile). */
  orOptions?: boolean;
  /** With fewer arguments than this, the last one is the callback (open's `arguments.length < 3`). */
  short?: number;
}

const CB: Record<Exclude<OpName, 'exists' | 'readv' | 'writev'>, CbSpec> = {
  access: { arity: 3, first: false },
  appendFile: { arity: 4, first: true, orOptions: true },
  chmod: { arity: 3, first: false },
  chown: { arity: 4, first: true },
  close: { arity: 2, first: false },
  copyFile: { arity: 4, first: false },
  fchmod: { arity: 3, first: false },
  fchown: { arity: 4, first: false },
  fdatasync: { arity: 2, first: false },
  fstat: { arity: 3, first: false },
  fsync: { arity: 2, first: false },
  ftruncate: { arity: 3, first: false },
  futimes: { arity: 4, first: false },
  lchown: { arity: 4, first: true },
  link: { arity: 3, first: true },
  lstat: { arity: 3, first: true },
  lutimes: { arity: 4, first: true },
  mkdir: { arity: 3, first: true },
  mkdtemp: { arity: 3, first: true },
  open: { arity: 4, first: false, short: 3 },
  readdir: { arity: 3, first: true },
  readFile: { arity: 3, first: true, orOptions: true },
  readlink: { arity: 3, first: true },
  realpath: { arity: 3, first: true },
  rename: { arity: 3, first: true },
  rm: { arity: 3, first: false },
  rmdir: { arity: 3, first: true },
  stat: { arity: 3, first: true },
  statfs: { arity: 3, first: true },
  symlink: { arity: 4, first: true },
  truncate: { arity: 3, first: false },
  unlink: { arity: 2, first: true },
  utimes: { arity: 4, first: true },
  writeFile: { arity: 4, first: true, orOptions: true },
};

type Cb = (...a: unknown[]) => void;


/** Split a callback call's arguments into (operation arguments, callback). */
function splitCb(args: unknown[], spec: CbSpec): [unknown[], unknown] {
  const n = args.length;
  if (n > 0 && typeof args[n - 1] === 'function') return [args.slice(0, Math.min(n - 1, spec.arity - 1)), args[n - 1]];
  if (spec.short !== undefined && n < spec.short) return [args.slice(0, n - 1), args[n - 1]];
  if (spec.orOptions === true) return [args.slice(0, spec.arity - 2), args[spec.arity - 1] ?? args[spec.arity - 2]];
  return [args.slice(0, spec.arity - 1), args[spec.arity - 1]];
}

let truncateWarned = false;
/** DEP0081: fs.truncate with a descriptor. */
function warnTruncateFd(p: unknown): void {
  if (typeof p !== 'number' || truncateWarned) return;
  truncateWarned = true;
  process.emitWarning('Using fs.truncate with a file descriptor is deprecated. Please use fs.ftruncate with a file descriptor instead.',
    'DeprecationWarning', 'DEP0081');
}

/** The module object: the same shape as node:fs. */
export type FsApi = typeof import('node:fs') & { promises: typeof import('node:fs/promises') };

/** A node:fs-compatible module object over a kernel. */
export function createFs(src: FsSource, o: CreateFsOptions = {}): FsApi {
  const be = backendOf(src, o);
  const later = be.later;
  const fs: Record<string, unknown> = {};

  /** Watches being set up: asynchronous calls wait for them, so a change made after fs.watch() is seen. */
  const settingUp = new Set<Promise<void>>();
  const runA = <T>(op: Op<T>, first?: IteratorResult<unknown, T>): Promise<T> =>
    settingUp.size === 0 ? runAsync(be.async(), op, first as never) : Promise.all(settingUp).then(() => runAsync(be.async(), op, first as never));
  const runS = <T>(name: string, op: Op<T>): T => {
    const first = op.next();
    if (first.done === true) return first.value;
    if (be.sync === null) throw noSync(name);
    return runSync(be.sync(), op, first);
  };
  /** Start an operation at the call site (validation throws here), finish it asynchronously. */
  const start = <T>(op: Op<T>): Promise<T> => {
    const first = op.next();
    return first.done === true ? Promise.resolve(first.value) : runA(op, first);
  };
  const deliver = (p: Promise<unknown>, cb: Cb): void => {
    p.then((v) => later(() => (v === undefined ? cb(null) : cb(null, v))), (e: unknown) => later(() => cb(e)));
  };

  // ---- callbacks and *Sync, table-driven -----------------------------------------------------
  for (const [name, spec] of Object.entries(CB) as [keyof typeof CB, CbSpec][]) {
    const f = ops[name] as (...a: unknown[]) => Op<unknown>;
    fs[name] = function (...args: unknown[]): void {
      const [a, cb] = splitCb(args, spec);
      if (spec.first) validateFunction(cb, 'cb');
      if (name === 'truncate') warnTruncateFd(a[0]);
      if (name === 'stat' || name === 'lstat' || name === 'fstat') a[1] = asyncStatOpts(a[1]);
      const op = f(...a);
      const first = op.next();
      if (!spec.first) validateFunction(cb, 'cb');
      deliver(first.done === true ? Promise.resolve(first.value) : runA(op, first), cb as Cb);
    };
    fs[`${name}Sync`] = (...args: unknown[]) => runS(`${name}Sync`, f(...args));
  }
  fs['exists'] = function exists(p: unknown, cb: unknown): void {
    validateFunction(cb, 'cb');
    const op = ops.exists(p);
    start(op).then((b) => later(() => (cb as Cb)(b)), () => later(() => (cb as Cb)(false)));
  };
  Object.defineProperty(fs['exists'], promisify.custom, {
    value: (p: unknown) => new Promise((res) => (fs['exists'] as (p: unknown, cb: Cb) => void)(p, res)),
  });
  fs['existsSync'] = (p: unknown): boolean => {
    try {
      return runS('existsSync', ops.exists(p));
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_ANYKERNEL_NO_SYNC') throw e;
      return false;
    }
  };

  // ---- read / write / readv / writev: node:fs's overloads -----------------------------------
  fs['read'] = function read(fdArg: unknown, buffer: unknown, offOrOpts?: unknown, length?: unknown, position?: unknown, callback?: unknown): void {
    const fd = validFd(fdArg);
    let offset = offOrOpts;
    let cb = callback;
    let buf = buffer;
    const n = arguments.length;
    if (n <= 4) {
      let params: unknown = null;
      if (n === 4) {
        validateObject(offOrOpts, 'options', true);
        cb = length;
        params = offOrOpts;
      } else if (n === 3) {
        if (!ArrayBuffer.isView(buffer)) {
          params = buffer;
          buf = (buffer as { buffer?: unknown } | null)?.buffer ?? Buffer.alloc(16384);
        }
        cb = offOrOpts;
      } else {
        cb = buffer;
        buf = Buffer.alloc(16384);
      }
      if (params !== undefined) validateObject(params, 'options', true);
      const p = (params ?? {}) as { offset?: unknown; length?: unknown; position?: unknown };
      offset = p.offset === undefined ? 0 : p.offset;
      length = p.length !== undefined ? p.length : ArrayBuffer.isView(buf) ? buf.byteLength - (offset as number) : undefined;
      position = p.position === undefined ? null : p.position;
    }
    validateBuffer(buf);
    validateFunction(cb, 'cb');
    const r = finishRead(fd, buf, offset, length, position);
    const done = cb as Cb;
    if (r.target.byteLength === 0) {
      process.nextTick(() => done(null, 0, buf));
      return;
    }
    runA(readOp(r.fd, r.target, r.position)).then((got) => later(() => done(null, got, buf)), (e: unknown) => later(() => done(e)));
  };
  Object.defineProperty(fs['read'], promisify.custom, {
    value: (...args: unknown[]) => new Promise((res, rej) => (fs['read'] as Cb)(...args, (e: unknown, bytesRead: number, buffer: unknown) => (e ? rej(e) : res({ bytesRead, buffer })))),
  });
  fs['readSync'] = function readSync(fd: unknown, buffer: unknown, offOrOpts?: unknown, length?: unknown, position?: unknown): number {
    const r = readSyncArgs(fd, buffer, offOrOpts, length, position, arguments.length);
    if (r.target.byteLength === 0) return 0;
    return runS('readSync', readOp(r.fd, r.target, r.position));
  };
  fs['write'] = function write(fdArg: unknown, buffer: unknown, offOrOpts?: unknown, length?: unknown, position?: unknown, callback?: unknown): void {
    const fd = validFd(fdArg);
    let cb: unknown;
    let w;
    if (ArrayBuffer.isView(buffer)) {
      cb = callback || position || length || offOrOpts; // eslint-disable-line @typescript-eslint/prefer-nullish-coalescing
      validateFunction(cb, 'cb');
      if (typeof offOrOpts !== 'object' && typeof offOrOpts !== 'function' && offOrOpts !== undefined && offOrOpts !== null) validateInteger(offOrOpts, 'offset', 0);
      const off = typeof offOrOpts === 'function' ? undefined : offOrOpts;
      const len = typeof length === 'function' ? undefined : length;
      const pos = typeof position === 'function' ? undefined : position;
      w = writeSyncArgs(fd, buffer, off, len, pos);
    } else {
      if (typeof buffer !== 'string') throw errArgType('buffer', ['string', 'Buffer', 'TypedArray', 'DataView'], buffer);
      let pos: unknown = offOrOpts;
      let enc: unknown = length;
      cb = position;
      if (typeof offOrOpts === 'function') [cb, pos, enc] = [offOrOpts, null, 'utf8'];
      else if (typeof length === 'function') [cb, enc] = [length, 'utf8'];
      w = writeSyncArgs(fd, buffer, pos, enc ?? 'utf8', null);
      validateFunction(cb, 'cb');
    }
    const done = cb as Cb;
    const data = w.buffer;
    runA(writeOp(w.fd, w.data, w.position)).then((n) => later(() => done(null, n, data)), (e: unknown) => later(() => done(e)));
  };
  Object.defineProperty(fs['write'], promisify.custom, {
    value: (...args: unknown[]) => new Promise((res, rej) => (fs['write'] as Cb)(...args, (e: unknown, bytesWritten: number, buffer: unknown) => (e ? rej(e) : res({ bytesWritten, buffer })))),
  });
  fs['writeSync'] = (fd: unknown, buffer: unknown, offOrOpts?: unknown, length?: unknown, position?: unknown): number => {
    const w = writeSyncArgs(fd, buffer, offOrOpts, length, position);
    return runS('writeSync', writeOp(w.fd, w.data, w.position));
  };
  for (const [name, opf, key] of [['readv', readvOp, 'bytesRead'], ['writev', writevOp, 'bytesWritten']] as const) {
    fs[name] = (fdArg: unknown, buffers: unknown, position?: unknown, callback?: unknown): void => {
      const fd = validFd(fdArg);
      validateBufferArray(buffers);
      const cb = (typeof position === 'function' ? position : callback) as Cb;
      validateFunction(cb, 'cb');
      const pos = typeof position === 'function' ? null : position;
      runA(opf(fd, buffers, pos)).then((n) => later(() => cb(null, n, buffers)), (e: unknown) => later(() => cb(e)));
    };
    Object.defineProperty(fs[name], promisify.custom, {
      value: (...args: unknown[]) => new Promise((res, rej) => (fs[name] as Cb)(...args, (e: unknown, n: number, buffers: unknown) => (e ? rej(e) : res({ [key]: n, buffers })))),
    });
    fs[`${name}Sync`] = (fd: unknown, buffers: unknown, position?: unknown): number => runS(`${name}Sync`, opf(fd, buffers, position));
  }

  // ---- the rest of node:fs's functions -------------------------------------------------------
  const dirRunners: DirRunners = { async: (op) => runA(op), sync: (op) => runS('Dir.readSync', op) };
  (fs['realpath'] as { native?: unknown }).native = (p: unknown, options: unknown, callback?: unknown): void => {
    const cb = typeof options === 'function' ? options : callback;
    validateFunction(cb, 'cb');
    deliver(start(realpathOp(p, typeof options === 'function' ? undefined : options, true)), cb as Cb);
  };
  (fs['realpathSync'] as { native?: unknown }).native = (p: unknown, options?: unknown) => runS('realpathSync.native', realpathOp(p, options, true));
  // Linux's node:fs has no lchmod (there is no lchmod(2)); the names exist and are undefined.
  fs['lchmod'] = undefined;
  fs['lchmodSync'] = undefined;

  fs['opendir'] = function opendir(p: unknown, options: unknown, callback?: unknown): void {
    const cb = typeof options === 'function' ? options : callback;
    validateFunction(cb, 'callback');
    const opt = typeof options === 'function' ? undefined : options;
    deliver(start(opendirOp(p, opt, dirRunners)), cb as Cb);
  };
  fs['opendirSync'] = (p: unknown, options?: unknown) => runS('opendirSync', opendirOp(p, options, dirRunners));
  fs['cp'] = function cp(s: unknown, d: unknown, options: unknown, callback?: unknown): void {
    const cb = typeof options === 'function' ? options : callback;
    validateFunction(cb, 'cb');
    deliver(start(cpOp(s, d, typeof options === 'function' ? undefined : options)), cb as Cb);
  };
  fs['cpSync'] = (s: unknown, d: unknown, options?: unknown) => runS('cpSync', cpOp(s, d, options));
  fs['openAsBlob'] = async (p: unknown, options?: unknown): Promise<Blob> => {
    validPath(p);
    if (options !== undefined) validateObject(options, 'options');
    const type = (options as { type?: string } | undefined)?.type ?? '';
    const bytes = await runA(ops.readFile(p, null)) as Buffer;
    return new Blob([bytes], { type });
  };
  fs['_toUnixTimestamp'] = toUnixTimestamp;

  // ---- classes, constants, streams, watchers, promises -----------------------------------------
  Object.assign(fs, { constants, F_OK: constants.F_OK, R_OK: constants.R_OK, W_OK: constants.W_OK, X_OK: constants.X_OK });
  Object.assign(fs, { Stats, BigIntStats, StatFs, Dirent, Dir });
  const streams: StreamClasses = makeStreamClasses(fs);
  Object.assign(fs, {
    ReadStream: streams.ReadStream, WriteStream: streams.WriteStream,
    FileReadStream: streams.ReadStream, FileWriteStream: streams.WriteStream,
    // Plain functions, not arrows: code calls `new fs.createReadStream(...)` and gets the stream.
    createReadStream: function createReadStream(p: unknown, opts?: unknown) { return new streams.ReadStream(p, opts); },
    createWriteStream: function createWriteStream(p: unknown, opts?: unknown) { return new streams.WriteStream(p, opts); },
  });
  const hold = (p: Promise<void>): void => {
    settingUp.add(p);
    void p.finally(() => settingUp.delete(p));
  };
  const watchers = makeWatchers(fs, be.watch, be.sync === null ? null : (p) => (fs['existsSync'] as (p: string) => boolean)(p), hold);
  Object.assign(fs, { watch: watchers.watch, watchFile: watchers.watchFile, unwatchFile: watchers.unwatchFile });
  fs['promises'] = makePromises(runA, dirRunners, streams, watchers.promisesWatch);
  return fs as unknown as FsApi;
}

/** Node's async stat ignores throwIfNoEntry (a missing file is an error there). */
function asyncStatOpts(o: unknown): unknown {
  if (o === null || typeof o !== 'object') return o;
  return { bigint: (o as { bigint?: unknown }).bigint };
}

type RunA = <T>(op: Op<T>) => Promise<T>;

/** fs.promises: the same operations, rejecting on bad arguments; open gives a FileHandle. */
function makePromises(runA: RunA, dirRunners: DirRunners, streams: StreamClasses, watch: unknown): Record<string, unknown> {
  const p: Record<string, unknown> = { constants };
  const names = [
    'access', 'copyFile', 'rename', 'truncate', 'rm', 'rmdir', 'mkdir', 'readdir', 'readlink', 'symlink', 'lstat', 'stat', 'statfs',
    'link', 'unlink', 'chmod', 'lchown', 'chown', 'utimes', 'lutimes', 'realpath', 'mkdtemp', 'writeFile', 'appendFile', 'readFile',
  ] as const;
  for (const name of names) {
    const f = ops[name] as (...a: unknown[]) => Op<unknown>;
    p[name] = async (...args: unknown[]) => {
      if (name === 'readFile' || name === 'writeFile' || name === 'appendFile') {
        if (args[0] instanceof FileHandle) args[0] = args[0].fd;
        else if (typeof args[0] === 'number') throw errArgType('path', ['string', 'Buffer', 'URL', 'FileHandle'], args[0]);
      }
      if (name === 'truncate' && typeof args[0] === 'number') throw errArgType('path', ['string', 'Buffer', 'URL'], args[0]);
      if (name === 'stat' || name === 'lstat') args[1] = asyncStatOpts(args[1]);
      // fs.promises.realpath is realpath(3), as realpath.native.
      if (name === 'realpath') return runA(realpathOp(args[0], args[1], true));
      // fs.promises.writeFile and appendFile also take iterables and streams of chunks.
      if (name === 'writeFile' || name === 'appendFile') return runA(writeFileOp(args[0], args[1], args[2], name === 'writeFile' ? 'w' : 'a', true));
      return runA(f(...args));
    };
  }
  p['lchmod'] = async () => {
    throw errCode(new Error('The lchmod() method is not implemented'), 'ERR_METHOD_NOT_IMPLEMENTED');
  };
  p['open'] = async (path: unknown, flags?: unknown, mode?: unknown) => new FileHandle(await runA(ops.open(path, flags, mode)), runA, streams);
  p['opendir'] = async (path: unknown, options?: unknown) => runA(opendirOp(path, options, dirRunners));
  p['cp'] = async (s: unknown, d: unknown, options?: unknown) => runA(cpOp(s, d, options));
  p['watch'] = watch;
  return p;
}

// ---- compatibility -------------------------------------------------------------------------

/**
 * The module object over a synchronous sys (a SyncClient or its `sys`):
 * `createFs(syncClient)` under its older name.
 */
export function createFsSync(src: SysSource): FsApi {
  const sys = sysOf(src);
  return createFs({ sys } as SysSource, { sync: { sys } as SysSource });
}

