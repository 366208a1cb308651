/**
 * fs.promises' FileHandle for `anykernel/fs` (fs.ts): an EventEmitter around
 * one kernel descriptor with node:fs's methods — read (buffer, offsets or an
 * options object), write (buffer or string), readv/writev, readFile,
 * writeFile, appendFile, stat, truncate, chmod, chown, utimes, sync,
 * datasync, close (emits 'close'), createReadStream/createWriteStream (the
 * stream owns the handle and closes it), readLines, readableWebStream and
 * `await using`. Calls on a closed handle fail with EBADF as node:fs's do.
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import { Readable } from 'node:stream';
import { type BigIntStats, type Op, type Stats } from './fs_support.ts';
import { finishRead, ops, readOp, writeFileOp, readvOp, writeOp, writeSyncArgs, writevOp, validateBufferArray } from './fs_ops.ts';
import { validateBuffer, validateObject } from './fs_validate.ts';
import type { StreamClasses } from './fs_streams.ts';

type Run = <T>(op: Op<T>) => Promise<T>;

function closedError(syscall: string): Error {
  const e = new Error('file closed') as Error & { code: string; syscall: string; errno: number };
  e.code = 'EBADF';
  e.syscall = syscall;
  e.errno = -9;
  return e;
}

/** fs.promises FileHandle. */
export class FileHandle extends EventEmitter {
  #fd: number;
  readonly #run: Run;
  readonly #streams: StreamClasses;
  #closing: Promise<void> | null = null;

  constructor(fd: number, run: Run, streams: StreamClasses) {
    super();
    this.#fd = fd;
    this.#run = run;
    this.#streams = streams;
  }

  /** The descriptor, or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  #call<T>(syscall: string, make: (fd: number) => Op<T>): Promise<T> {
    if (this.#fd === -1) return Promise.reject(closedError(syscall));
    return this.#run(make(this.#fd));
  }

  async read(bufferOrOpts?: unknown, offset?: unknown, length?: unknown, position?: unknown): Promise<{ bytesRead: number; buffer: ArrayBufferView }> {
    let buffer = bufferOrOpts;
    if (!ArrayBuffer.isView(buffer)) {
      if (bufferOrOpts !== undefined) validateObject(bufferOrOpts, 'options', true);
      const o = (bufferOrOpts ?? {}) as { buffer?: unknown; offset?: unknown; length?: unknown; position?: unknown };
      buffer = o.buffer ?? Buffer.alloc(16384);
      validateBuffer(buffer);
      offset = o.offset ?? 0;
      length = o.length ?? (buffer as ArrayBufferView).byteLength - (offset as number);
      position = o.position ?? null;
    }
    const buf = buffer as ArrayBufferView;
    if (offset !== null && typeof offset === 'object') {
      const o = offset as { offset?: unknown; length?: unknown; position?: unknown };
      offset = o.offset ?? 0;
      length = o.length ?? buf.byteLength - (offset as number);
      position = o.position ?? null;
    }
    if (length === undefined || length === null) length = buf.byteLength - ((offset as number | null) ?? 0);
    const r = finishRead(this.#fd, buf, offset, length, position);
    if (r.target.byteLength === 0) return { bytesRead: 0, buffer: buf };
    const bytesRead = await this.#call('read', (fd) => readOp(fd, r.target, r.position));
    return { bytesRead, buffer: buf };
  }

  async write(data: unknown, a?: unknown, b?: unknown, c?: unknown): Promise<{ bytesWritten: number; buffer: unknown }> {
    const w = writeSyncArgs(this.#fd === -1 ? 0 : this.#fd, data, a, b, c);
    if (w.data.byteLength === 0 && ArrayBuffer.isView(data)) return { bytesWritten: 0, buffer: data };
    const bytesWritten = await this.#call('write', (fd) => writeOp(fd, w.data, w.position));
    return { bytesWritten, buffer: data };
  }

  async readv(buffers: unknown, position?: unknown): Promise<{ bytesRead: number; buffers: ArrayBufferView[] }> {
    const bufs = validateBufferArray(buffers);
    const bytesRead = await this.#call('read', (fd) => readvOp(fd, bufs, position));
    return { bytesRead, buffers: bufs };
  }

  async writev(buffers: unknown, position?: unknown): Promise<{ bytesWritten: number; buffers: ArrayBufferView[] }> {
    const bufs = validateBufferArray(buffers);
    const bytesWritten = await this.#call('write', (fd) => writevOp(fd, bufs, position));
    return { bytesWritten, buffers: bufs };
  }

  readFile(o?: unknown): Promise<string | Buffer> { return this.#call('read', (fd) => ops.readFile(fd, o)); }
  writeFile(d: unknown, o?: unknown): Promise<void> { return this.#call('write', (fd) => writeFileOp(fd, d, o, 'w', true)); }
  appendFile(d: unknown, o?: unknown): Promise<void> { return this.#call('write', (fd) => writeFileOp(fd, d, o, 'a', true)); }
  stat(o?: unknown): Promise<Stats | BigIntStats> { return this.#call('fstat', (fd) => ops.fstat(fd, o)); }
  truncate(len?: unknown): Promise<void> { return this.#call('ftruncate', (fd) => ops.ftruncate(fd, len)); }
  chmod(mode: unknown): Promise<void> { return this.#call('fchmod', (fd) => ops.fchmod(fd, mode)); }
  chown(uid: unknown, gid: unknown): Promise<void> { return this.#call('fchown', (fd) => ops.fchown(fd, uid, gid)); }
  utimes(a: unknown, m: unknown): Promise<void> { return this.#call('futime', (fd) => ops.futimes(fd, a, m)); }
  sync(): Promise<void> { return this.#call('fsync', (fd) => ops.fsync(fd)); }
  datasync(): Promise<void> { return this.#call('fdatasync', (fd) => ops.fdatasync(fd)); }

  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    if (this.#fd === -1) return Promise.resolve();
    const fd = this.#fd;
    this.#fd = -1;
    this.#closing = this.#run(ops.close(fd)).then(() => {
      this.emit('close');
    });
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  createReadStream(options?: Record<string, unknown>): Readable {
    return new this.#streams.ReadStream(null, { ...options, fd: this });
  }

  createWriteStream(options?: Record<string, unknown>): import('node:stream').Writable {
    return new this.#streams.WriteStream(null, { ...options, fd: this });
  }

  readLines(options?: Record<string, unknown>): Interface {
    return createInterface({ input: this.createReadStream(options), crlfDelay: Infinity });
  }

  readableWebStream(): ReadableStream {
    return Readable.toWeb(this.createReadStream()) as unknown as ReadableStream;
  }
}
