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
 * Files: fs_support.ts (the generator drivers, errors, arguments, Stats and
 * Dirent), fs_ops.ts (the operations), fs_streams.ts (read/write streams),
 * this file (the three faces).
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
 * Streams: createReadStream/createWriteStream (fs_streams.ts, callback face).
 *
 * Not covered: watch/watchFile,
 * opendir/Dir, cp, statfs, readv/writev, the `signal` option (AbortSignal),
 * file: URLs with a host. copyFile's COPYFILE_FICLONE_FORCE answers ENOSYS
 * like Linux without reflinks.
 */
import { Buffer } from 'node:buffer';
import {
  type AnySys, type NodeFsError, type Op, type Opts, type PathLike, BigIntStats, Dirent, Stats, constants, invalidArg, runAsync, runSync,
} from './fs_support.ts';
import {
  type OpTable, type Promisified, type ReadFileOpts, type Syncified, type WriteFileOpts, fstatOp, ops, readArgs, readFileOp,
  readOp, writeFileOp, writeOp,
} from './fs_ops.ts';
import { KernelReadStream, KernelWriteStream, type ReadStreamOptions, type WriteStreamOptions } from './fs_streams.ts';

export { KernelReadStream, KernelWriteStream, type ReadStreamOptions, type WriteStreamOptions } from './fs_streams.ts';
export {
  BigIntStats, Dirent, Stats, constants, runAsync, runSync, stringToFlags, uvException, type AnySys, type NodeFsError,
  type PathLike, type SysCall,
} from './fs_support.ts';

// ---- the three faces -------------------------------------------------------------------------

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
  createReadStream(path: PathLike | null, o?: BufferEncoding | ReadStreamOptions): KernelReadStream;
  createWriteStream(path: PathLike | null, o?: BufferEncoding | WriteStreamOptions): KernelWriteStream;
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
  api['createReadStream'] = (p: PathLike | null, o?: BufferEncoding | ReadStreamOptions) =>
    new KernelReadStream(run, p, typeof o === 'string' ? { encoding: o } : o);
  api['createWriteStream'] = (p: PathLike | null, o?: BufferEncoding | WriteStreamOptions) =>
    new KernelWriteStream(run, p, typeof o === 'string' ? { encoding: o } : o);
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
