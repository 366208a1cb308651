/**
 * fs.watch, fs.promises.watch, fs.watchFile and fs.unwatchFile for
 * `anykernel/fs` (fs.ts), built on the kernel's inotify(7) (src/vfs/
 * inotify.ts): a watcher makes an inotify instance, adds watches, and reads
 * events from its descriptor with blocking read(2)s — the kernel wakes it;
 * nothing polls.
 *
 * fs.watch maps events as libuv does (src/unix/linux.c): IN_ATTRIB or
 * IN_MODIFY is 'change', any other bit (create, delete, moves, the watched
 * object's deletion, IN_IGNORED) is 'rename', and the filename is the
 * event's name or, for the watched object itself, its basename. `recursive`
 * watches every directory below (and new ones as they appear), as Node's
 * recursive watch on Linux does, with filenames relative to the root.
 *
 * fs.watchFile keeps node:fs's contract — `listener(curr, prev)` when stat
 * changes, all-zero Stats for a missing file — but learns of changes from an
 * inotify watch on the file's directory (which also sees the file appear)
 * and stats the file only then. `interval` is accepted and not needed.
 *
 * Ordering: node:fs's fs.watch is in place when it returns. Here setting
 * the watches up takes system calls, so the facade's asynchronous calls
 * made after fs.watch() wait until they are in place (a barrier in fs.ts);
 * a `*Sync` call made at once over a worker kernel does not wait, and its
 * change may come before the watch.
 *
 * Which sys the watchers use: the facade's async sys, except over a worker
 * kernel, where they use the worker's async connection (a blocking read on
 * the sync client would block this thread).
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { type AnySys, BigIntStats, Stats, uvException } from './fs_support.ts';
import { abortError, errCode, getOptions, pathText, validPath, validateBoolean, validateFunction, validateUint32 } from './fs_validate.ts';
import { KernelError } from '../../kern/index.ts';

/** inotify(7) constants (Linux values). */
const IN_MODIFY = 0x2;
const IN_ATTRIB = 0x4;
const IN_CLOSE_WRITE = 0x8;
const IN_MOVED_FROM = 0x40;
const IN_MOVED_TO = 0x80;
const IN_CREATE = 0x100;
const IN_DELETE = 0x200;
const IN_DELETE_SELF = 0x400;
const IN_MOVE_SELF = 0x800;
const IN_ISDIR = 0x40000000;
const IN_CLOEXEC = 0o2000000;
/** The mask libuv's fs_event asks for. */
const UV_MASK = IN_ATTRIB | IN_CREATE | IN_MODIFY | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_MOVED_FROM | IN_MOVED_TO;
const READ_SIZE = 64 * 1024;

interface RawEvent { wd: number; mask: number; name: string | null }

function parse(b: Uint8Array): RawEvent[] {
  const out: RawEvent[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let o = 0; o + 16 <= b.byteLength;) {
    const len = dv.getUint32(o + 12, true);
    let name: string | null = null;
    if (len > 0) {
      const raw = b.subarray(o + 16, Math.min(b.byteLength, o + 16 + len));
      const end = raw.indexOf(0);
      name = Buffer.from(end === -1 ? raw : raw.subarray(0, end)).toString('utf8');
    }
    out.push({ wd: dv.getInt32(o, true), mask: dv.getUint32(o + 4, true), name });
    o += 16 + len;
  }
  return out;
}

function basename(p: string): string {
  const t = p.replace(/\/+$/, '');
  return t.slice(t.lastIndexOf('/') + 1);
}

function join(a: string, b: string): string {
  return a === '' ? b : `${a}/${b}`;
}

type Sys = AnySys & Record<string, (...a: unknown[]) => Promise<unknown>>;

/**
 * One inotify instance and its read loop: `onEvent` gets every record; the
 * loop ends at close (which removes the watches, so the sleeping read wakes
 * with IN_IGNORED) and then closes the descriptor.
 */
class InotifyReader {
  readonly sys: Sys;
  fd = -1;
  closed = false;
  readonly wds = new Map<number, string>();
  private done: Promise<void> | null = null;

  constructor(sys: Sys) {
    this.sys = sys;
  }

  async open(): Promise<void> {
    this.fd = (await this.sys['inotify_init1']!(IN_CLOEXEC)) as number;
  }

  async add(path: string, mask: number, tag: string): Promise<number> {
    const wd = (await this.sys['inotify_add_watch']!(this.fd, path, mask)) as number;
    this.wds.set(wd, tag);
    return wd;
  }

  run(onEvent: (e: RawEvent) => void | Promise<void>, onError: (e: unknown) => void): void {
    this.done = (async () => {
      const buf = new Uint8Array(READ_SIZE);
      try {
        while (!this.closed) {
          const n = (await this.sys['read']!(this.fd, buf)) as number;
          if (this.closed) break;
          for (const e of parse(buf.subarray(0, n))) await onEvent(e);
        }
      } catch (e) {
        if (!this.closed) onError(e);
      } finally {
        const fd = this.fd;
        this.fd = -1;
        if (fd >= 0) await this.sys['close']!(fd).catch(() => undefined);
      }
    })();
  }

  /** Stop: remove the watches (waking the read), then let the loop close the descriptor. */
  async close(): Promise<void> {
    if (this.closed) return this.done ?? undefined;
    this.closed = true;
    if (this.fd >= 0) {
      for (const wd of [...this.wds.keys()]) await this.sys['inotify_rm_watch']!(this.fd, wd).catch(() => undefined);
      if (this.done === null) {
        const fd = this.fd;
        this.fd = -1;
        await this.sys['close']!(fd).catch(() => undefined);
      }
    }
    await this.done;
  }
}

/** node:fs's FSWatcher: 'change' (eventType, filename), 'error', 'close'. */
export class FSWatcher extends EventEmitter {
  /** node:fs's handle field, which code reaches into to close a watcher; null once closed. */
  _handle: { close(): void } | null = { close: () => this.close() };
  #reader: InotifyReader | null = null;
  #keepAlive: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  /**
   * Start watching (errors become 'error' events, as node:fs reports asynchronous failures).
   * Resolves when the watches are in place (or setting them up failed).
   */
  start(sys: Sys, path: string, recursive: boolean, encoding: BufferEncoding | 'buffer', persistent: boolean): Promise<void> {
    if (persistent) this.#keepAlive = setInterval(() => undefined, 2 ** 31 - 1);
    const r = new InotifyReader(sys);
    this.#reader = r;
    let ready!: () => void;
    const setUp = new Promise<void>((res) => { ready = res; });
    const encode = (n: string): string | Buffer => (encoding === 'buffer' ? Buffer.from(n) : encoding === 'utf8' ? n : Buffer.from(n).toString(encoding));
    void (async () => {
      try {
        await r.open();
        if (this.#closed) return void (await r.close());
        await r.add(path, UV_MASK, '');
        if (recursive) await this.#addTree(r, path, '');
        if (this.#closed) return void (await r.close());
        r.run(async (e) => {
          if (this.#closed) return;
          const tag = r.wds.get(e.wd);
          if (tag === undefined) return; // stale, or the overflow record (wd -1), as libuv skips them
          const type = (e.mask & ~(IN_ATTRIB | IN_MODIFY)) !== 0 ? 'rename' : 'change';
          const name = e.name !== null ? join(tag, e.name) : tag === '' ? basename(path) : tag;
          if (recursive && e.name !== null && (e.mask & (IN_CREATE | IN_MOVED_TO)) !== 0 && (e.mask & IN_ISDIR) !== 0) {
            await this.#addTree(r, `${path}/${join(tag, e.name)}`, join(tag, e.name), true).catch(() => undefined);
          }
          this.emit('change', type, encode(name));
        }, (err) => this.#fail(err, path));
        ready();
      } catch (err) {
        ready();
        await r.close().catch(() => undefined);
        this.#fail(err, path);
      }
    })();
    return setUp;
  }

  async #addTree(r: InotifyReader, dir: string, rel: string, self = false): Promise<void> {
    if (self) await r.add(dir, UV_MASK, rel);
    const fd = (await r.sys['open']!(dir, 0o200000 | 0o2000000, 0)) as number; // O_DIRECTORY | O_CLOEXEC
    try {
      for (;;) {
        const ents = (await r.sys['getdents64']!(fd, 32768)) as { name: string; type: number }[];
        if (ents.length === 0) break;
        for (const e of ents) {
          if (e.name === '.' || e.name === '..' || e.type !== 4) continue;
          await this.#addTree(r, `${dir}/${e.name}`, join(rel, e.name), true);
        }
      }
    } finally {
      await r.sys['close']!(fd);
    }
  }

  #fail(err: unknown, path: string): void {
    if (this.#closed) return;
    const e = err instanceof KernelError ? Object.assign(uvException(err.errno, 'watch', path), { filename: path }) : err;
    this.emit('error', e);
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this._handle = null;
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
    const r = this.#reader;
    void (r === null ? Promise.resolve() : r.close()).then(() => process.nextTick(() => this.emit('close')));
  }

  ref(): this {
    this.#keepAlive?.ref();
    return this;
  }

  unref(): this {
    this.#keepAlive?.unref();
    return this;
  }
}

// ---- watchFile ------------------------------------------------------------------------------

const ZERO = new Stats({
  mode: 0, ino: 0, nlink: 0, uid: 0, gid: 0, size: 0, blocks: 0, blksize: 0, atime: { sec: 0, nsec: 0 }, mtime: { sec: 0, nsec: 0 },
  ctime: { sec: 0, nsec: 0 }, btime: { sec: 0, nsec: 0 }, dev: 0, rdev: 0,
});

function same(a: Stats | BigIntStats, b: Stats | BigIntStats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mode === b.mode && a.nlink === b.nlink && a.uid === b.uid && a.gid === b.gid &&
    a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.dev === b.dev;
}

type StatFn = (p: string, o: { bigint: boolean }, cb: (e: unknown, s?: Stats | BigIntStats) => void) => void;
const ZERO_BIG = new BigIntStats({
  mode: 0, ino: 0, nlink: 0, uid: 0, gid: 0, size: 0, blocks: 0, blksize: 0, atime: { sec: 0, nsec: 0 }, mtime: { sec: 0, nsec: 0 },
  ctime: { sec: 0, nsec: 0 }, btime: { sec: 0, nsec: 0 }, dev: 0, rdev: 0,
});

/** node:fs's StatWatcher, told of changes by inotify on the file's directory. */
class StatWatcher extends EventEmitter {
  #reader: InotifyReader | null = null;
  #keepAlive: ReturnType<typeof setInterval> | null = null;
  #prev: Stats | BigIntStats | null = null;
  #checking: Promise<void> = Promise.resolve();

  /** Start; resolves once the file was first checked and its directory is watched. */
  start(sys: Sys, stat: StatFn, path: string, persistent: boolean, bigint: boolean): Promise<void> {
    if (persistent) this.#keepAlive = setInterval(() => undefined, 2 ** 31 - 1);
    const zero = bigint ? ZERO_BIG : ZERO;
    const check = (): Promise<void> => new Promise((res) => stat(path, { bigint }, (e, s) => {
      const curr = e ? zero : s!;
      const prev = this.#prev;
      this.#prev = curr;
      if (prev === null) {
        if (e) this.emit('change', curr, zero); // a missing file is reported once, as node:fs does
      } else if (!same(curr, prev)) this.emit('change', curr, prev);
      res();
    }));
    const slash = path.replace(/\/+$/, '').lastIndexOf('/');
    const dir = slash <= 0 ? (slash === 0 ? '/' : '.') : path.slice(0, slash);
    const name = basename(path);
    const r = new InotifyReader(sys);
    this.#reader = r;
    return (async () => {
      await check();
      try {
        await r.open();
        await r.add(dir, IN_ATTRIB | IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO, '');
        r.run((e) => {
          if (e.name === name || e.name === null) this.#checking = this.#checking.then(check);
        }, () => undefined);
      } catch {
        await r.close().catch(() => undefined); // no directory to watch: nothing can change there
      }
    })();
  }

  stop(): void {
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
    void this.#reader?.close();
    process.nextTick(() => this.emit('stop')); // node:fs emits 'stop' on the next tick
  }

  ref(): this { this.#keepAlive?.ref(); return this; }
  unref(): this { this.#keepAlive?.unref(); return this; }
}

// ---- the module's functions -----------------------------------------------------------------

export interface Watchers {
  watch(...a: unknown[]): FSWatcher;
  watchFile(...a: unknown[]): StatWatcher;
  unwatchFile(...a: unknown[]): void;
  promisesWatch(...a: unknown[]): AsyncIterable<{ eventType: string; filename: string | Buffer }>;
}

function unavailable(): Error {
  return errCode(new TypeError('fs.watch needs an asynchronous kernel connection to read inotify events; this facade has only a synchronous one'),
    'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM');
}

type WatchOpts = { persistent?: unknown; recursive?: unknown; encoding?: BufferEncoding | 'buffer' | null; signal?: AbortSignal };

/**
 * The watch family over a facade: `watchSys` is the async sys watchers read
 * events with (null: none), `exists` a synchronous existence check when the
 * facade has one (node:fs throws ENOENT from fs.watch at once).
 */
export function makeWatchers(
  fsObj: Record<string, unknown>, watchSys: (() => AnySys) | null, existsSync: ((p: string) => boolean) | null, hold: (setUp: Promise<void>) => void,
): Watchers {
  const watch = (filename: unknown, options?: unknown, listener?: unknown): FSWatcher => {
    const path = pathText(validPath(filename, 'filename'));
    let l = listener;
    let o = options;
    if (typeof options === 'function') {
      l = options;
      o = undefined;
    }
    const opts = getOptions(o, { persistent: true, recursive: false, encoding: 'utf8' } as WatchOpts);
    if (opts.persistent === undefined) opts.persistent = true;
    if (opts.recursive === undefined) opts.recursive = false;
    validateBoolean(opts.persistent, 'options.persistent');
    validateBoolean(opts.recursive, 'options.recursive');
    if (watchSys === null) throw unavailable();
    if (existsSync !== null && !existsSync(path)) throw Object.assign(uvException(2, 'watch', path), { filename: path });
    const w = new FSWatcher();
    if (l !== undefined && l !== null) {
      validateFunction(l, 'listener');
      w.on('change', l as (...a: unknown[]) => void);
    }
    hold(w.start(watchSys() as Sys, path, opts.recursive, (opts.encoding ?? 'utf8') as BufferEncoding | 'buffer', opts.persistent));
    if (opts.signal !== undefined) {
      if (opts.signal.aborted) process.nextTick(() => w.close());
      else opts.signal.addEventListener('abort', () => w.close(), { once: true });
    }
    return w;
  };

  const statWatchers = new Map<string, StatWatcher>();
  const watchFile = (filename: unknown, options: unknown, listener?: unknown): StatWatcher => {
    const path = pathText(validPath(filename, 'filename'));
    let o = options as { interval?: number; persistent?: boolean; bigint?: boolean } | undefined;
    let l = listener;
    if (typeof options === 'function') {
      l = options;
      o = undefined;
    }
    validateFunction(l, 'listener');
    const opts = { interval: 5007, persistent: true, ...(o ?? {}) };
    validateUint32(opts.interval, 'interval');
    validateBoolean(opts.persistent, 'persistent');
    if (watchSys === null) throw unavailable();
    let w = statWatchers.get(path);
    if (w === undefined) {
      w = new StatWatcher();
      hold(w.start(watchSys() as Sys, fsObj['stat'] as StatFn, path, opts.persistent, opts.bigint === true));
      statWatchers.set(path, w);
    }
    w.addListener('change', l as (...a: unknown[]) => void);
    return w;
  };

  const unwatchFile = (filename: unknown, listener?: unknown): void => {
    const path = pathText(validPath(filename, 'filename'));
    const w = statWatchers.get(path);
    if (w === undefined) return;
    if (typeof listener === 'function') w.removeListener('change', listener as (...a: unknown[]) => void);
    else w.removeAllListeners('change');
    if (w.listenerCount('change') === 0) {
      w.stop();
      statWatchers.delete(path);
    }
  };

  /** fs.promises.watch: an async iterator of { eventType, filename }; `signal` ends it with an AbortError. */
  const promisesWatch = (filename: unknown, options?: unknown): AsyncIterable<{ eventType: string; filename: string | Buffer }> => {
    const path = pathText(validPath(filename, 'filename'));
    const opts = getOptions(options, {} as WatchOpts);
    if (opts.persistent !== undefined) validateBoolean(opts.persistent, 'options.persistent');
    if (opts.recursive !== undefined) validateBoolean(opts.recursive, 'options.recursive');
    if (watchSys === null) throw unavailable();
    return {
      [Symbol.asyncIterator]() {
        const queue: { eventType: string; filename: string | Buffer }[] = [];
        const waiting: { res: (v: IteratorResult<{ eventType: string; filename: string | Buffer }>) => void; rej: (e: unknown) => void }[] = [];
        let failure: unknown = null;
        let ended = false;
        const w = new FSWatcher();
        let aborted = false;
        const settle = (): void => {
          while (waiting.length > 0 && (queue.length > 0 || failure !== null || ended)) {
            const x = waiting.shift()!;
            // Once aborted, node:fs's iterator throws, whatever is still queued.
            if (aborted) x.rej(failure);
            else if (queue.length > 0) x.res({ value: queue.shift()!, done: false });
            else if (failure !== null) x.rej(failure);
            else x.res({ value: undefined, done: true });
          }
        };
        w.on('change', (eventType: string, f: string | Buffer) => {
          queue.push({ eventType, filename: f });
          settle();
        });
        w.on('error', (e: unknown) => {
          failure = e;
          settle();
        });
        const signal = opts.signal;
        if (signal?.aborted === true) {
          failure = abortError(signal);
          aborted = true;
        } else {
          hold(w.start(watchSys() as Sys, path, opts.recursive === true, (opts.encoding ?? 'utf8') as BufferEncoding | 'buffer', opts.persistent !== false));
          signal?.addEventListener('abort', () => {
            failure = abortError(signal);
            aborted = true;
            w.close();
            settle();
          }, { once: true });
        }
        return {
          next: () => new Promise((res, rej) => {
            waiting.push({ res, rej });
            settle();
          }),
          return: async () => {
            ended = true;
            w.close();
            settle();
            return { value: undefined, done: true as const };
          },
        };
      },
    };
  };
  return { watch, watchFile, unwatchFile, promisesWatch };
}
