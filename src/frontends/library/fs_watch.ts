/**
 * fs.watchFile / fs.unwatchFile and fs.watch / fs.promises.watch for
 * `anykernel/fs` (fs.ts).
 *
 * watchFile is what node:fs's is: a StatWatcher that stats the file every
 * `interval` ms (default 5007) through the facade and calls
 * `listener(curr, prev)` when anything stat(2) reports changed (a missing
 * file reads as all-zero Stats, as libuv's fs_poll reports it).
 *
 * fs.watch needs change events from the kernel (inotify); a kernel without
 * them answers with ERR_FEATURE_UNAVAILABLE_ON_PLATFORM, never with events
 * from the host.
 */
import { EventEmitter } from 'node:events';
import { Stats } from './fs_support.ts';
import { errCode, getOptions, validPath, pathText, validateFunction, validateUint32, validateBoolean } from './fs_validate.ts';
import type { Backend } from './fs.ts';

type Listener = (curr: Stats, prev: Stats) => void;
type StatCb = (p: string, o: { bigint?: boolean }, cb: (e: unknown, s?: Stats) => void) => void;

const ZERO = new Stats({ mode: 0, ino: 0, nlink: 0, uid: 0, gid: 0, size: 0, blocks: 0, blksize: 0, atime: { sec: 0, nsec: 0 }, mtime: { sec: 0, nsec: 0 }, ctime: { sec: 0, nsec: 0 }, btime: { sec: 0, nsec: 0 }, dev: 0, rdev: 0 });

function same(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mode === b.mode && a.nlink === b.nlink && a.uid === b.uid && a.gid === b.gid &&
    a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.dev === b.dev;
}

/** node:fs's StatWatcher: polls stat and emits 'change' (curr, prev). */
class StatWatcher extends EventEmitter {
  #timer: ReturnType<typeof setInterval> | null = null;
  #prev: Stats | null = null;
  #busy = false;

  start(stat: StatCb, path: string, interval: number, persistent: boolean): void {
    const tick = (): void => {
      if (this.#busy) return;
      this.#busy = true;
      stat(path, {}, (e, s) => {
        this.#busy = false;
        if (this.#timer === null) return;
        const curr = e ? ZERO : s!;
        const prev = this.#prev;
        this.#prev = curr;
        if (prev === null) {
          // The first result is the baseline; a missing file is reported once, as node:fs does.
          if (e) this.emit('change', curr, ZERO);
          return;
        }
        if (!same(curr, prev)) this.emit('change', curr, prev);
      });
    };
    this.#timer = setInterval(tick, interval);
    if (!persistent) this.#timer.unref();
    tick();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.emit('stop');
  }

  ref(): this { this.#timer?.ref(); return this; }
  unref(): this { this.#timer?.unref(); return this; }
}

export interface Watchers {
  watch(...a: unknown[]): unknown;
  watchFile(...a: unknown[]): unknown;
  unwatchFile(...a: unknown[]): void;
  promisesWatch(...a: unknown[]): AsyncIterable<unknown>;
}

function unavailable(): Error {
  return errCode(new TypeError('fs.watch needs change events from the kernel, and this kernel has none (inotify)'), 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM');
}

/** The watch family over a facade (`fsObj.stat` is used by watchFile). */
export function makeWatchers(fsObj: Record<string, unknown>, be: Backend): Watchers {
  void be;
  const watchers = new Map<string, StatWatcher>();
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
    let w = watchers.get(path);
    if (w === undefined) {
      w = new StatWatcher();
      w.start(fsObj['stat'] as StatCb, path, opts.interval, opts.persistent);
      watchers.set(path, w);
    }
    w.addListener('change', l as Listener);
    return w;
  };
  const unwatchFile = (filename: unknown, listener?: unknown): void => {
    const path = pathText(validPath(filename, 'filename'));
    const w = watchers.get(path);
    if (w === undefined) return;
    if (typeof listener === 'function') w.removeListener('change', listener as Listener);
    else w.removeAllListeners('change');
    if (w.listenerCount('change') === 0) {
      w.stop();
      watchers.delete(path);
    }
  };
  const watch = (filename: unknown, options?: unknown, listener?: unknown): never => {
    validPath(filename, 'filename');
    getOptions(typeof options === 'function' ? undefined : options, {});
    void listener;
    throw unavailable();
  };
  const promisesWatch = (filename: unknown, options?: unknown): AsyncIterable<unknown> => {
    validPath(filename, 'filename');
    getOptions(options, {});
    return {
      [Symbol.asyncIterator]() {
        return { next: () => Promise.reject(unavailable()) };
      },
    };
  };
  return { watch, watchFile, unwatchFile, promisesWatch };
}
