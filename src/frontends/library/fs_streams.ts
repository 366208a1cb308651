/**
 * fs.createReadStream / fs.createWriteStream for `anykernel/fs` (fs.ts):
 * node:stream Readable and Writable over a kernel descriptor, with node:fs's
 * options — `flags`, `mode`, `encoding`, `start`/`end` (inclusive), `fd`
 * (an already open kernel descriptor), `autoClose`, `highWaterMark` — and
 * its events and fields ('open' and 'ready' with the fd, 'close', `path`,
 * `bytesRead`/`bytesWritten`, `pending`).
 *
 * Not supported: the `fs` option (custom implementations), `signal`,
 * `flush`, FileHandle arguments in place of a path.
 */
import { Buffer } from 'node:buffer';
import { Readable, Writable } from 'node:stream';
import type { Op, PathLike } from './fs_support.ts';
import { ops } from './fs_ops.ts';

type Run = <T>(op: Op<T>) => Promise<T>;

export interface ReadStreamOptions {
  flags?: string | number;
  encoding?: BufferEncoding | null;
  fd?: number | null;
  mode?: number;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  end?: number;
  highWaterMark?: number;
}

export interface WriteStreamOptions {
  flags?: string | number;
  encoding?: BufferEncoding | null;
  fd?: number | null;
  mode?: number;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  highWaterMark?: number;
}

function pathOf(p: PathLike | null): string | undefined {
  if (p === null) return undefined;
  return typeof p === 'string' ? p : p instanceof URL ? decodeURIComponent(p.pathname) : Buffer.from(p).toString('utf8');
}

function checkRange(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
    const e = new RangeError(`The value of "${name}" is out of range. It must be >= 0 && <= ${Number.MAX_SAFE_INTEGER}. Received ${v}`) as RangeError & { code: string };
    e.code = 'ERR_OUT_OF_RANGE';
    throw e;
  }
}

/** fs.ReadStream over a kernel file. */
export class KernelReadStream extends Readable {
  fd: number | null;
  readonly path: string | undefined;
  bytesRead = 0;
  private pos: number | null;
  private readonly end: number;
  private readonly run: Run;
  private readonly flags: string | number;
  private readonly mode: number;
  private readonly autoClose: boolean;

  constructor(run: Run, path: PathLike | null, o: ReadStreamOptions = {}) {
    super({ highWaterMark: o.highWaterMark ?? 64 * 1024, encoding: o.encoding ?? undefined, emitClose: o.emitClose ?? true });
    checkRange('start', o.start);
    checkRange('end', o.end);
    if (o.start !== undefined && o.end !== undefined && o.start > o.end) {
      const e = new RangeError(`The value of "start" is out of range. It must be <= "end" (here: ${o.end}). Received ${o.start}`) as RangeError & { code: string };
      e.code = 'ERR_OUT_OF_RANGE';
      throw e;
    }
    this.run = run;
    this.path = pathOf(path);
    this.fd = o.fd ?? null;
    this.pos = o.start ?? null;
    this.end = o.end ?? Infinity;
    this.flags = o.flags ?? 'r';
    this.mode = o.mode ?? 0o666;
    this.autoClose = o.autoClose ?? true;
  }

  get pending(): boolean {
    return this.fd === null;
  }

  override _construct(cb: (e?: Error | null) => void): void {
    if (this.fd !== null) return cb();
    this.run(ops().open(this.path!, this.flags, this.mode)).then((fd) => {
      this.fd = fd;
      this.emit('open', fd);
      this.emit('ready');
      cb();
    }, (e: Error) => cb(e));
  }

  override _read(n: number): void {
    const start = this.pos ?? this.bytesRead;
    const want = Math.min(n, this.end === Infinity ? n : this.end - start + 1);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(want);
    this.run(ops().read(this.fd!, buf, this.pos)).then((got) => {
      if (this.pos !== null) this.pos += got;
      this.bytesRead += got;
      this.push(got === 0 ? null : buf.subarray(0, got));
    }, (e: Error) => this.destroy(e));
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (this.fd === null || !this.autoClose) return cb(err);
    const fd = this.fd;
    this.fd = null;
    this.run(ops().close(fd)).then(() => cb(err), (e: Error) => cb(err ?? e));
  }
}

/** fs.WriteStream over a kernel file. */
export class KernelWriteStream extends Writable {
  fd: number | null;
  readonly path: string | undefined;
  bytesWritten = 0;
  private pos: number | null;
  private readonly run: Run;
  private readonly flags: string | number;
  private readonly mode: number;
  private readonly autoClose: boolean;

  constructor(run: Run, path: PathLike | null, o: WriteStreamOptions = {}) {
    super({ highWaterMark: o.highWaterMark ?? 16 * 1024, decodeStrings: true, defaultEncoding: o.encoding ?? 'utf8', emitClose: o.emitClose ?? true });
    checkRange('start', o.start);
    this.run = run;
    this.path = pathOf(path);
    this.fd = o.fd ?? null;
    this.pos = o.start ?? null;
    this.flags = o.flags ?? 'w';
    this.mode = o.mode ?? 0o666;
    this.autoClose = o.autoClose ?? true;
  }

  get pending(): boolean {
    return this.fd === null;
  }

  override _construct(cb: (e?: Error | null) => void): void {
    if (this.fd !== null) return cb();
    this.run(ops().open(this.path!, this.flags, this.mode)).then((fd) => {
      this.fd = fd;
      this.emit('open', fd);
      this.emit('ready');
      cb();
    }, (e: Error) => cb(e));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const write = async (): Promise<void> => {
      let off = 0;
      while (off < chunk.byteLength) {
        const n = await this.run(ops().write(this.fd!, chunk.subarray(off), this.pos));
        off += n;
        if (this.pos !== null) this.pos += n;
        this.bytesWritten += n;
      }
    };
    write().then(() => cb(), (e: Error) => cb(e));
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (this.fd === null || !this.autoClose) return cb(err);
    const fd = this.fd;
    this.fd = null;
    this.run(ops().close(fd)).then(() => cb(err), (e: Error) => cb(err ?? e));
  }
}
