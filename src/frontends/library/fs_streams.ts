/**
 * fs.ReadStream / fs.WriteStream for `anykernel/fs` (fs.ts), built as
 * node:fs builds them (lib/internal/fs/streams.js): function constructors
 * (callable without `new`, and `.apply`-able by subclasses written the old
 * way, as graceful-fs writes them) whose I/O goes through a module object —
 * `options.fs`, or the facade itself — looked up per call: `fs.open`,
 * `fs.read`, `fs.write`, `fs.writev`, `fs.close`, `fs.fsync`. Patching those
 * on the facade changes what the streams do, as with node:fs. A patched
 * `stream.open()` is honoured the same way node:fs honours it.
 *
 * Options: flags, encoding, fd (a descriptor or a FileHandle), mode,
 * autoClose, emitClose, start, end (inclusive), highWaterMark, flush, fs,
 * signal. Reading stops at end of file: a file that grows is read up to
 * where read(2) says the end is at that moment, as node:fs does.
 */
import { Buffer } from 'node:buffer';
import { Readable, Writable, finished } from 'node:stream';
import { errCode, errRange, getOptions, validPath, validateFunction, validateInteger, validateBoolean, pathText } from './fs_validate.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Cb = (...a: any[]) => void;
type FsLike = Record<string, unknown>;

/** What a FileHandle gives a stream: its descriptor, I/O and close (node:fs streams use them for a FileHandle). */
interface HandleLike {
  fd: number;
  close(): Promise<void>;
  read(b: Buffer, off: number, len: number, pos: number | null): Promise<{ bytesRead: number }>;
  write(b: Buffer, off: number, len: number, pos: number | null): Promise<{ bytesWritten: number }>;
  writev(bs: Buffer[], pos: number | null): Promise<{ bytesWritten: number }>;
}

const kFs = Symbol('kFs');
const kIo = Symbol('kIsPerformingIO');
const kIoDone = Symbol('kIoDone');
const kHandle = Symbol('kHandle');

export interface StreamClasses {
  ReadStream: new (path: unknown, options?: unknown) => Readable & Record<string, unknown>;
  WriteStream: new (path: unknown, options?: unknown) => Writable & Record<string, unknown>;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Self = any;

function isHandle(fd: unknown): fd is HandleLike {
  return typeof fd === 'object' && fd !== null && typeof (fd as HandleLike).close === 'function' && typeof (fd as HandleLike).fd === 'number';
}

function common(self: Self, path: unknown, o: Record<string, unknown>, defFs: FsLike, flagsDef: string, needed: string[]): void {
  const fsObj = (o['fs'] ?? defFs) as FsLike;
  self[kFs] = fsObj;
  self[kIo] = false;
  const fd = o['fd'] ?? null;
  if (isHandle(fd)) {
    if (o['fs'] !== undefined) throw errCode(new Error('The FileHandle with fs method is not implemented'), 'ERR_METHOD_NOT_IMPLEMENTED');
    self[kHandle] = fd;
    self.fd = fd.fd;
    // A handle closed from outside closes the stream (node:fs listens the same way).
    (fd as unknown as { on?(ev: string, f: () => void): void }).on?.('close', () => self.close());
  } else {
    if (fd !== null) validateInteger(fd, 'fd', 0, 2147483647);
    self.fd = fd;
  }
  // An options.fs must have what the stream will call (writev is optional, but a function when given).
  if (o['fs'] !== undefined && fsObj['writev'] !== undefined && fsObj['writev'] !== null && needed.includes('write')) {
    validateFunction(fsObj['writev'], 'options.fs.writev');
  }
  if (self.fd === null) {
    for (const n of needed) validateFunction(fsObj[n], `options.fs.${n}`);
    self.path = pathText(validPath(path));
  } else {
    self.path = undefined;
  }
  self.flags = o['flags'] === undefined ? flagsDef : o['flags'];
  self.mode = o['mode'] === undefined ? 0o666 : o['mode'];
  self.start = o['start'];
  if (self.start !== undefined) validateInteger(self.start, 'start', 0);
  self.pos = self.start;
  self.flush = o['flush'] === undefined ? false : o['flush'];
  validateBoolean(self.flush, 'options.flush');
}

/** errorOrDestroy: a stream with autoDestroy off (autoClose: false) reports the error and stays open. */
function errorOrDestroy(stream: Self, err: unknown): void {
  const st = stream._readableState ?? stream._writableState;
  if (st?.autoDestroy !== false) stream.destroy(err);
  else process.nextTick(() => stream.emit('error', err));
}

function construct(this: Self, callback: (e?: unknown) => void): void {
  const stream = this;
  if (typeof stream.fd === 'number') {
    callback();
    return;
  }
  if (stream.open !== openRead && stream.open !== openWrite) {
    // A patched open(): wait for its 'open' (or 'error') event.
    const orgEmit = stream.emit;
    stream.emit = function (this: Self, ...args: unknown[]) {
      if (args[0] === 'open') {
        this.emit = orgEmit;
        callback();
        return Reflect.apply(orgEmit, this, args);
      }
      if (args[0] === 'error') {
        this.emit = orgEmit;
        callback(args[1]);
        return true;
      }
      return Reflect.apply(orgEmit, this, args);
    };
    stream.open();
    return;
  }
  (stream[kFs].open as Cb)(stream.path, stream.flags, stream.mode, (er: unknown, fd: number) => {
    if (er) callback(er);
    else {
      stream.fd = fd;
      callback();
      stream.emit('open', stream.fd);
      stream.emit('ready');
    }
  });
}

function closeStream(stream: Self, err: unknown, cb: (e: unknown) => void): void {
  const handle = stream[kHandle] as HandleLike | undefined;
  if (handle !== undefined) {
    stream.fd = null;
    handle.close().then(() => cb(err), (e: unknown) => cb(err ?? e));
    return;
  }
  // node:fs's own test: a descriptor 0 counts as none (lib/internal/fs/streams.js close()).
  if (!stream.fd) {
    cb(err);
    return;
  }
  const fsObj = stream[kFs];
  if (stream.flush === true && typeof fsObj.fsync === 'function') {
    (fsObj.fsync as Cb)(stream.fd, (er: unknown) => {
      if (er) cb(er);
      else {
        (fsObj.close as Cb)(stream.fd, (er2: unknown) => cb(er2 ?? err));
        stream.fd = null;
      }
    });
    return;
  }
  // The module's close is called with the descriptor still set, which is cleared after (as node:fs does).
  (fsObj.close as Cb)(stream.fd, (er: unknown) => cb(er ?? err));
  stream.fd = null;
}

function destroyImpl(this: Self, err: unknown, cb: (e: unknown) => void): void {
  if (this[kIo]) this.once(kIoDone, (er: unknown) => closeStream(this, err ?? er, cb));
  else closeStream(this, err, cb);
}

function closeMethod(this: Self, cb?: Cb): void {
  if (typeof cb === 'function') finished(this, cb);
  this.destroy();
}

/** copyObject: own and inherited enumerable options, as node:fs reads them. */
function copyOptions(src: object): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k in src) o[k] = (src as Record<string, unknown>)[k];
  return o;
}

/** instanceof without narrowing (the constructors below are plain functions). */
function isInstance(x: unknown, ctor: (...a: never[]) => unknown): boolean {
  return x instanceof ctor;
}

const warned = new Set<string>();
/** DEP0135, once per process as util.deprecate warns. */
function dep0135(what: string): void {
  if (warned.has(what)) return;
  warned.add(what);
  process.emitWarning(`${what}.prototype.open() is deprecated`, 'DeprecationWarning', 'DEP0135');
}

/** The prototype `open` node:fs has: deprecated, a no-op (opening happens in _construct); code may patch it. */
function openRead(): void { dep0135('ReadStream'); }
function openWrite(): void { dep0135('WriteStream'); }

/** ReadStream and WriteStream classes whose default module object is `fsObj`. */
export function makeStreamClasses(fsObj: FsLike): StreamClasses {
  /** The prototype chain and the accessors Node's fs streams add over Readable / Writable. */
  function inheritStream(ctor: Function, base: Function, state: '_readableState' | '_writableState'): void {
    Object.setPrototypeOf(ctor.prototype, base.prototype);
    Object.setPrototypeOf(ctor, base);
    Object.defineProperty(ctor.prototype, 'pending', { get(this: Self) { return this.fd === null; }, configurable: true });
    Object.defineProperty(ctor.prototype, 'autoClose', {
      get(this: Self) { return this[state].autoDestroy; },
      set(this: Self, v: boolean) { this[state].autoDestroy = v; },
      configurable: true,
    });
  }

  function ReadStream(this: Self, path: unknown, options?: unknown): Self {
    const self: Self = this;
    if (!isInstance(self, ReadStream)) return new (ReadStream as unknown as new (p: unknown, o: unknown) => unknown)(path, options);
    const o = copyOptions(getOptions(options, {}));
    if (o['highWaterMark'] === undefined) o['highWaterMark'] = 64 * 1024;
    if (o['autoDestroy'] === undefined) o['autoDestroy'] = o['autoClose'] === undefined ? true : o['autoClose'];
    common(self, path, o, fsObj, 'r', ['open', 'read', 'close']);
    const end = o['end'];
    if (end === undefined || end === Infinity) self.end = Infinity;
    else {
      validateInteger(end, 'end', 0);
      self.end = end;
      if (self.start !== undefined && self.start > self.end) throw errRange('start', `<= "end" (here: ${self.end})`, self.start);
    }
    self.bytesRead = 0;
    Reflect.apply(Readable, self, [o]);
    return self;
  }
  inheritStream(ReadStream, Readable, '_readableState');
  Object.assign(ReadStream.prototype, {
    open: openRead,
    _construct: construct,
    _read(this: Self, n: number): void {
      const want = this.pos !== undefined ? Math.min(this.end - this.pos + 1, n) : Math.min(this.end - this.bytesRead + 1, n);
      if (want <= 0) {
        this.push(null);
        return;
      }
      const buf = Buffer.allocUnsafeSlow(want);
      this[kIo] = true;
      const handle = this[kHandle] as HandleLike | undefined;
      const read = handle !== undefined
        ? (cb: Cb) => handle.read(buf, 0, want, this.pos ?? null).then((r) => cb(null, r.bytesRead, buf), (e: unknown) => cb(e))
        : (cb: Cb) => (this[kFs].read as Cb)(this.fd, buf, 0, want, this.pos ?? null, cb);
      read((er: unknown, bytesRead: number, b: Buffer) => {
        this[kIo] = false;
        if (this.destroyed) {
          this.emit(kIoDone, er);
          return;
        }
        if (er) {
          errorOrDestroy(this, er);
          return;
        }
        if (bytesRead > 0) {
          if (this.pos !== undefined) this.pos += bytesRead;
          this.bytesRead += bytesRead;
          this.push(bytesRead !== b.length ? Buffer.from(b.subarray(0, bytesRead)) : b);
        } else this.push(null);
      });
    },
    _destroy: destroyImpl,
    close: closeMethod,
  });

  function WriteStream(this: Self, path: unknown, options?: unknown): Self {
    const self: Self = this;
    if (!isInstance(self, WriteStream)) return new (WriteStream as unknown as new (p: unknown, o: unknown) => unknown)(path, options);
    const o = copyOptions(getOptions(options, {}));
    o['decodeStrings'] = true;
    if (o['autoDestroy'] === undefined) o['autoDestroy'] = o['autoClose'] === undefined ? true : o['autoClose'];
    common(self, path, o, fsObj, 'w', ['open', 'write', 'close']);
    self.bytesWritten = 0;
    Reflect.apply(Writable, self, [o]);
    if (o['encoding'] !== undefined && o['encoding'] !== null) self.setDefaultEncoding(o['encoding']);
    return self;
  }
  inheritStream(WriteStream, Writable, '_writableState');
  Object.assign(WriteStream.prototype, {
    open: openWrite,
    _construct: construct,
    _write(this: Self, data: Buffer, _enc: string, cb: (e?: unknown) => void): void {
      this[kIo] = true;
      const handle = this[kHandle] as HandleLike | undefined;
      const write = handle !== undefined
        ? (cb: Cb) => handle.write(data, 0, data.length, this.pos ?? null).then((r) => cb(null, r.bytesWritten), (e: unknown) => cb(e))
        : (cb: Cb) => (this[kFs].write as Cb)(this.fd, data, 0, data.length, this.pos ?? null, cb);
      write((er: unknown, bytes: number) => {
        this[kIo] = false;
        if (this.destroyed) {
          cb(er);
          this.emit(kIoDone, er);
          return;
        }
        if (er) return cb(er);
        this.bytesWritten += bytes;
        cb();
      });
      if (this.pos !== undefined) this.pos += data.length;
    },
    _writev(this: Self, chunks: { chunk: Buffer }[], cb: (e?: unknown) => void): void {
      const data = chunks.map((c) => c.chunk);
      const size = data.reduce((a, b) => a + b.length, 0);
      this[kIo] = true;
      const writev = this[kFs].writev as Cb | undefined;
      const done = (er: unknown, bytes: number): void => {
        this[kIo] = false;
        if (this.destroyed) {
          cb(er);
          this.emit(kIoDone, er);
          return;
        }
        if (er) return cb(er);
        this.bytesWritten += bytes;
        cb();
      };
      const handle = this[kHandle] as HandleLike | undefined;
      if (handle !== undefined) handle.writev(data, this.pos ?? null).then((r) => done(null, r.bytesWritten), (e: unknown) => done(e, 0));
      else if (typeof writev === 'function') writev(this.fd, data, this.pos ?? null, done);
      else (this[kFs].write as Cb)(this.fd, Buffer.concat(data), 0, size, this.pos ?? null, done);
      if (this.pos !== undefined) this.pos += size;
    },
    _destroy: destroyImpl,
    close(this: Self, cb?: Cb): void {
      if (cb) {
        if (this.closed) {
          process.nextTick(cb);
          return;
        }
        this.on('close', cb);
      }
      if (!this.autoClose) this.on('finish', this.destroy);
      this.end();
    },
    destroySoon: Writable.prototype.end,
  });
  return { ReadStream, WriteStream } as unknown as StreamClasses;
}
