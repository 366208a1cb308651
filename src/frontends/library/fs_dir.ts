/**
 * fs.Dir for `anykernel/fs` (fs.ts): `opendir`/`opendirSync`/
 * `fs.promises.opendir` open a kernel directory descriptor and read it in
 * getdents64 batches, one Dirent at a time — `read()` (promise or callback),
 * `readSync()`, `close()`/`closeSync()`, and `for await` (which closes at the
 * end), with node:fs's ERR_DIR_CLOSED and ERR_DIR_CONCURRENT_OPERATION.
 * Options: `encoding`, `bufferSize` (validated; the kernel sizes batches),
 * `recursive` (subdirectories are read after their parent, as Node does).
 */
import { Buffer } from 'node:buffer';
import * as C from '../../kern/index.ts';
import { type Op, Dirent, call, sc } from './fs_support.ts';
import { type KDirent, direntType, joinPath, readDirBatch } from './fs_ops.ts';
import { errCode, getOptions, pathText, validPath, validateBoolean, validateFunction, validateUint32 } from './fs_validate.ts';

/** How a Dir runs its operations: asynchronously (read/close) and synchronously (readSync/closeSync). */
export interface DirRunners {
  async<T>(op: Op<T>): Promise<T>;
  sync<T>(op: Op<T>): T;
}

function dirClosed(): Error {
  return errCode(new Error('Directory handle was closed'), 'ERR_DIR_CLOSED');
}

/** fs.Dir over a kernel directory descriptor. */
export class Dir {
  readonly #path: string;
  #fd: number;
  readonly #run: DirRunners;
  readonly #encoding: BufferEncoding | 'buffer';
  readonly #recursive: boolean;
  /** Entries read from the kernel, not yet handed out: [directory, entry]. */
  #pending: [string, KDirent][] = [];
  /** Subdirectories still to read (recursive): [path, fd]. */
  #queue: string[] = [];
  #current: string;
  #closed = false;
  #busy = false;

  constructor(fd: number, path: string, run: DirRunners, encoding: BufferEncoding | 'buffer', recursive: boolean) {
    this.#fd = fd;
    this.#path = path;
    this.#current = path;
    this.#run = run;
    this.#encoding = encoding;
    this.#recursive = recursive;
  }

  get path(): string {
    return this.#path;
  }

  *#next(): Op<Dirent | null> {
    for (;;) {
      const head = this.#pending.shift();
      if (head !== undefined) {
        const [dir, e] = head;
        const fmt = yield* direntType(dir, e);
        if (this.#recursive && fmt === C.S_IFDIR) this.#queue.push(joinPath(dir, e.name));
        const name = this.#encoding === 'buffer' ? Buffer.from(e.name) : Buffer.from(e.name).toString(this.#encoding);
        return new Dirent(name as string, fmt, dir);
      }
      const batch = yield* readDirBatch(this.#fd, ['scandir', this.#current]);
      if (batch !== null) {
        for (const e of batch) this.#pending.push([this.#current, e]);
        continue;
      }
      const nextDir = this.#queue.shift();
      if (nextDir === undefined) return null;
      yield* sc('close', this.#fd);
      this.#fd = yield* call<number>(['opendir', nextDir], 'open', nextDir, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC, 0);
      this.#current = nextDir;
    }
  }

  *#closeOp(): Op<void> {
    yield* call(['closedir'], 'close', this.#fd);
  }

  #enter(): void {
    if (this.#closed) throw dirClosed();
    if (this.#busy) throw errCode(new Error('Cannot do synchronous work on directory handle with concurrent asynchronous operations'), 'ERR_DIR_CONCURRENT_OPERATION');
  }

  read(): Promise<Dirent | null>;
  read(cb: (err: Error | null, d?: Dirent | null) => void): void;
  read(cb?: (err: Error | null, d?: Dirent | null) => void): Promise<Dirent | null> | void {
    if (cb !== undefined) validateFunction(cb, 'callback');
    if (this.#closed) throw dirClosed();
    const p = (async () => {
      while (this.#busy) await Promise.resolve();
      this.#busy = true;
      try {
        return await this.#run.async(this.#next());
      } finally {
        this.#busy = false;
      }
    })();
    if (cb === undefined) return p;
    p.then((d) => process.nextTick(() => cb(null, d)), (e: Error) => process.nextTick(() => cb(e)));
  }

  readSync(): Dirent | null {
    this.#enter();
    return this.#run.sync(this.#next());
  }

  close(): Promise<void>;
  close(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): Promise<void> | void {
    if (cb !== undefined) validateFunction(cb, 'callback');
    const p = (async () => {
      if (this.#closed) throw dirClosed();
      this.#closed = true;
      await this.#run.async(this.#closeOp());
    })();
    if (cb === undefined) return p;
    p.then(() => process.nextTick(() => cb(null)), (e: Error) => process.nextTick(() => cb(e)));
  }

  closeSync(): void {
    this.#enter();
    this.#closed = true;
    this.#run.sync(this.#closeOp());
  }

  async *entries(): AsyncGenerator<Dirent> {
    try {
      for (;;) {
        const d = await this.read();
        if (d === null) break;
        yield d;
      }
    } finally {
      if (!this.#closed) await this.close();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Dirent> {
    return this.entries();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) await this.close();
  }
}

/** opendir: validate, open the directory, wrap it. */
export function* opendirOp(p: unknown, options: unknown, run: DirRunners): Op<Dir> {
  const path = validPath(p);
  const o = getOptions(options, { encoding: 'utf8' } as { bufferSize?: unknown; recursive?: unknown });
  if (o.bufferSize !== undefined) validateUint32(o.bufferSize, 'options.bufferSize', true);
  if (o.recursive !== undefined) validateBoolean(o.recursive, 'options.recursive');
  const text = pathText(path);
  // node:fs's opendir errors name no path.
  const fd = yield* call<number>(['opendir'], 'open', path, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC, 0);
  return new Dir(fd, text, run, (o.encoding ?? 'utf8') as BufferEncoding | 'buffer', o.recursive === true);
}
