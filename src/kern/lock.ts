/**
 * Sleeping locks: Mutex, RwLock, CondVar and a counting Semaphore
 * (NetBSD mutex(9), rwlock(9), condvar(9); Linux mutex, rw_semaphore,
 * wait_event, semaphore).
 *
 * One kernel is one virtual CPU and a thread runs until it awaits, so a
 * lock matters only across awaits — but there it matters: a vnode stays
 * locked across a disk read. Every primitive here is a per-Kernel object
 * built on WaitQueue.sleep (sched.ts), so waiting goes through the one
 * sleep/wakeup path: signals interrupt it, the host orders wakeups, the sim
 * host can explore interleavings.
 *
 *     using g = await m.acquire(td);               // released at scope end,
 *     ...                                          // also when it throws
 *     using r = await tree.acquireShared(td);
 *     while (!ready) await cv.wait(td, m);          // drops and retakes m
 *     using s = await sem.acquire(td, { intr: true });
 *
 *     const e = vp.lock.enter(td, 'excl');          // hot paths: no await
 *     using g = e instanceof Promise ? await e : e; // unless it must sleep
 *
 * Acquisition returns a guard (a Disposable). `guard.release()` releases
 * early; the `using` disposal after that is a no-op. Calling `release()`
 * twice, releasing a lock one does not own, or releasing it from another
 * thread is a broken invariant: `k.panic` with the lock's state.
 * `enter` (mutex_enter(9), rw_enter(9)) is the same blocking acquisition as
 * `acquire*` without the microtask turn an `await` of a ready value costs:
 * it returns the guard itself when the lock is free and a promise only when
 * the thread must sleep. Use it, not a trylock, as a fast path.
 *
 * Waiting and wakeup. Waiters queue FIFO, each on its own WaitQueue, and a
 * release *hands the lock over* to the oldest eligible waiter (it becomes
 * the owner before it even runs), so a thread that keeps re-locking cannot
 * barge past sleepers and starve them. A waiter whose sleep ends by signal
 * or timeout leaves the queue; if the lock was handed to it in the same
 * instant it keeps the lock and the acquisition succeeds.
 *
 * Options on every blocking acquisition:
 *   intr       a signal to the thread's process (or td.interrupt()) ends the
 *              wait with EINTR (Linux mutex_lock_interruptible, NetBSD
 *              cv_wait_sig); without it the sleep is uninterruptible.
 *   timeoutNs  relative; the wait ends with ETIMEDOUT (ETIMEDOUT as in
 *              sem_timedwait(3) / pthread_mutex_timedlock(3)).
 *   subclass   lockdep nesting level for taking two locks of one class
 *              (parent then child vnode: subclass 0 then 1), like Linux
 *              mutex_lock_nested().
 *
 * RwLock policy: writer preference on admission — once a writer waits, new
 * readers queue behind it, so a stream of readers cannot starve writers.
 * When a writer releases, every reader then waiting is admitted as one
 * batch before the next writer, so a stream of writers cannot starve
 * readers either (phase-fair, like Linux rwsem handoff).
 *
 * Lock classes and lockdep: Mutex and RwLock belong to a LockClass
 * (lockdep.ts). When `k.lockdep` is on they report every acquisition —
 * before deciding whether to sleep, so the uncontended ones too — and
 * every release to it (order graph, held stacks); when it is off they
 * only keep their owner and allocate nothing but the guard. Semaphores and
 * condition variables have no owner and are not tracked (a CondVar's mutex
 * is, including its drop and retake).
 *
 * @guardedBy the single virtual CPU: state changes only between awaits,
 * and every check-then-sleep below is synchronous up to the sleep.
 *
 * Not supported: recursive mutexes (a recursive acquisition panics — it
 * would deadlock), rwlock upgrade/downgrade (taking the write side while
 * holding the read side panics for the same reason), priority inheritance
 * (there are no priorities), spin locks (one virtual CPU needs none).
 */
import type { Kernel } from './kernel.ts';
import { type Lwp, type WakeReason, WaitQueue } from './sched.ts';
import { EINTR, EINVAL, EOVERFLOW, ETIMEDOUT, err } from './errno.ts';
import { LockClass, threadName, type HeldMode, type LockdepLock } from './lockdep.ts';

export { LockClass } from './lockdep.ts';

/** Options of a blocking acquisition (see the file comment). */
export interface LockOpts {
  intr?: boolean;
  timeoutNs?: bigint;
  subclass?: number;
}

/** A held lock or semaphore count; `using` releases it at scope end. */
export interface LockGuard extends Disposable {
  /** Release now; the later disposal does nothing. A second release() panics. */
  release(): void;
  /** True once released. */
  readonly released: boolean;
}

/** What a guard releases: a Mutex or RwLock (as td), or a Semaphore (n units). */
interface Releasable {
  /** Release for td (locks) or give back n units (semaphores). */
  releaseFor(td: Lwp | null, n: number): void;
  /** A guard released twice: panic with the lock's state. */
  releasedTwice(td: Lwp | null): never;
}

/** One allocation per acquisition: no closures. */
class Guard implements LockGuard {
  private spent = false;
  private readonly lock: Releasable;
  private readonly td: Lwp | null;
  private readonly n: number;

  constructor(lock: Releasable, td: Lwp | null, n: number) {
    this.lock = lock;
    this.td = td;
    this.n = n;
  }

  get released(): boolean {
    return this.spent;
  }

  release(): void {
    if (this.spent) this.lock.releasedTwice(this.td);
    this.spent = true;
    this.lock.releaseFor(this.td, this.n);
  }

  [Symbol.dispose](): void {
    if (!this.spent) this.release();
  }
}

/** One queued waiter. It sleeps on its own queue; a grant sets `granted` and wakes it. */
class Waiter {
  readonly td: Lwp;
  readonly q: WaitQueue;
  readonly mode: HeldMode;
  /** Semaphore units wanted. */
  readonly n: number;
  readonly subclass: number;
  readonly site: Error | null;
  granted = false;

  constructor(td: Lwp, qname: string, mode: HeldMode, n: number, subclass: number, site: Error | null) {
    this.td = td;
    this.q = new WaitQueue(qname);
    this.mode = mode;
    this.n = n;
    this.subclass = subclass;
    this.site = site;
  }

  grant(k: Kernel): void {
    this.granted = true;
    this.q.wakeup(k);
  }
}

/**
 * Queue w on `queue` and sleep until it is granted or the sleep ends by
 * signal/timeout. A grant wins over a simultaneous signal or timeout.
 * Throws EINTR / ETIMEDOUT after removing w; `onGiveUp` runs first so the
 * lock can admit whoever w was holding back.
 */
async function waitForGrant(queue: Set<Waiter>, w: Waiter, opts: LockOpts | undefined, onGiveUp?: () => void): Promise<void> {
  queue.add(w);
  const sleepOpts = { intr: opts?.intr ?? false, ...(opts?.timeoutNs !== undefined ? { timeoutNs: opts.timeoutNs } : {}) };
  for (;;) {
    const why: WakeReason = await w.q.sleep(w.td, sleepOpts);
    if (w.granted) return;
    if (why === 'woken') continue; // nothing but a grant wakes a private queue; be safe
    queue.delete(w);
    onGiveUp?.();
    throw err(why === 'intr' ? EINTR : ETIMEDOUT);
  }
}

function first<T>(s: Set<T>): T | undefined {
  for (const v of s) return v;
  return undefined;
}

function checkSubclass(k: Kernel, lock: string, sub: number): number {
  if (!Number.isInteger(sub) || sub < 0 || sub > 7) k.panic(`${lock}: lockdep subclass ${sub} (must be an integer 0..7)`);
  return sub;
}

function toClass(cls: LockClass | string): LockClass {
  return typeof cls === 'string' ? new LockClass(cls) : cls;
}

// ---- Mutex --------------------------------------------------------------------------

/**
 * A sleeping mutual-exclusion lock with an owner (NetBSD mutex(9) adaptive
 * mutex, Linux struct mutex).
 */
export class Mutex implements LockdepLock, Releasable {
  readonly k: Kernel;
  readonly lockClass: LockClass;
  readonly name: string;
  readonly kind = 'mutex';
  /** @internal lockdep's class id (lockdep.ts). */
  lockdepClass = -1;
  /** The holder. @guardedBy the single virtual CPU */
  private holder: Lwp | null = null;
  /** The holder's lockdep subclass (kept so CondVar.wait retakes it the same way). */
  private holderSubclass = 0;
  /** FIFO of sleepers. @guardedBy the single virtual CPU */
  private readonly waiters = new Set<Waiter>();

  constructor(k: Kernel, cls: LockClass | string, name?: string) {
    this.k = k;
    this.lockClass = toClass(cls);
    this.name = name ?? this.lockClass.name;
  }

  get owner(): Lwp | null {
    return this.holder;
  }

  /** Threads waiting for it. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Does td hold it (mutex_owned(9))? */
  owned(td: Lwp): boolean {
    return this.holder === td;
  }

  /** KASSERT(mutex_owned(m)): panic unless td holds it. */
  assertOwned(td: Lwp): void {
    if (this.holder !== td) this.k.panic(`${this.state()}: ${threadName(td)} was expected to hold it`);
  }

  /** Take the lock, sleeping uninterruptibly (unless opts.intr) until it is free. */
  acquire(td: Lwp, opts?: LockOpts): Promise<LockGuard> {
    const g = this.enter(td, opts);
    return g instanceof Promise ? g : Promise.resolve(g);
  }

  /**
   * acquire without the extra turn (mutex_enter(9)): the guard itself when
   * the lock is free, a promise of it only when td must sleep. Hot paths
   * write `const e = m.enter(td); using g = e instanceof Promise ? await e : e;`
   * because an await of a value that is already there still suspends the
   * caller for a microtask turn. lockdep sees both paths alike.
   */
  enter(td: Lwp, opts?: LockOpts): LockGuard | Promise<LockGuard> {
    const sub = opts?.subclass === undefined ? 0 : checkSubclass(this.k, this.name, opts.subclass);
    const ld = this.k.lockdep;
    const site = ld === null ? null : ld.acquire(td, this, 'excl', sub, false);
    if (this.holder === td) this.k.panic(`${this.state()}: recursive acquisition by ${threadName(td)} would deadlock`);
    if (this.holder === null && this.waiters.size === 0) {
      this.take(td, sub, site);
      return new Guard(this, td, 1);
    }
    return this.sleepFor(td, sub, site, opts);
  }

  /** acquire with intr: a signal ends the wait with EINTR (mutex_lock_interruptible). */
  acquireIntr(td: Lwp, opts?: Omit<LockOpts, 'intr'>): Promise<LockGuard> {
    return this.acquire(td, { ...opts, intr: true });
  }

  /** Take it only if free and nobody waits; null otherwise (mutex_tryenter(9)). */
  tryAcquire(td: Lwp, subclass = 0): LockGuard | null {
    const sub = checkSubclass(this.k, this.name, subclass);
    if (this.holder !== null || this.waiters.size > 0) return null;
    const site = this.k.lockdep?.acquire(td, this, 'excl', sub, true) ?? null;
    this.take(td, sub, site);
    return new Guard(this, td, 1);
  }

  /** Release (mutex_exit(9)); hands the lock to the oldest waiter. Panics unless td holds it. */
  release(td: Lwp): void {
    if (this.holder !== td) {
      this.k.lockdep?.release(td, this);
      this.k.panic(`${this.state()}: released by ${threadName(td)}, which does not hold it`);
    }
    this.k.lockdep?.release(td, this);
    this.holder = null;
    const next = first(this.waiters);
    if (next === undefined) return;
    this.waiters.delete(next);
    this.take(next.td, next.subclass, next.site);
    next.grant(this.k);
  }

  /** "mutex NAME (class C) owned by X, N waiting" — for panics and debugging. */
  state(): string {
    return `mutex ${this.name} (class ${this.lockClass.name}) ${this.holder ? `owned by ${threadName(this.holder)}` : 'free'}, ${this.waiters.size} waiting`;
  }

  /** @internal CondVar.wait: the subclass the holder took it with. */
  heldSubclass(): number {
    return this.holderSubclass;
  }

  /** @internal Guard */
  releaseFor(td: Lwp | null): void {
    this.release(td!);
  }

  /** @internal Guard */
  releasedTwice(td: Lwp | null): never {
    return this.k.panic(`${this.state()}: guard of ${threadName(td!)} released twice`);
  }

  private async sleepFor(td: Lwp, sub: number, site: Error | null, opts: LockOpts | undefined): Promise<LockGuard> {
    await waitForGrant(this.waiters, new Waiter(td, `mutex:${this.name}`, 'excl', 1, sub, site), opts);
    return new Guard(this, td, 1);
  }

  private take(td: Lwp, sub: number, site: Error | null): void {
    this.holder = td;
    this.holderSubclass = sub;
    this.k.lockdep?.acquired(td, this, 'excl', sub, site);
  }
}

// ---- RwLock -------------------------------------------------------------------------

/**
 * A readers-writer lock (NetBSD rwlock(9), Linux rw_semaphore): many
 * shared holders or one exclusive holder. Policy in the file comment.
 */
export class RwLock implements LockdepLock, Releasable {
  readonly k: Kernel;
  readonly lockClass: LockClass;
  readonly name: string;
  readonly kind = 'rwlock';
  /** @internal lockdep's class id (lockdep.ts). */
  lockdepClass = -1;
  /** The exclusive holder. @guardedBy the single virtual CPU */
  private writer: Lwp | null = null;
  /** The shared holders. @guardedBy the single virtual CPU */
  private readonly readerSet = new Set<Lwp>();
  /** FIFO of sleepers of both kinds. @guardedBy the single virtual CPU */
  private readonly waiters = new Set<Waiter>();
  /** How many of `waiters` want it exclusive. */
  private writersWaiting = 0;

  constructor(k: Kernel, cls: LockClass | string, name?: string) {
    this.k = k;
    this.lockClass = toClass(cls);
    this.name = name ?? this.lockClass.name;
  }

  get owner(): Lwp | null {
    return this.writer;
  }

  get readers(): number {
    return this.readerSet.size;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** Held by td: 'excl', 'shared' or null (rw_lock_held(9)). */
  heldBy(td: Lwp): HeldMode | null {
    return this.writer === td ? 'excl' : this.readerSet.has(td) ? 'shared' : null;
  }

  /** Take it shared (rw_enter(RW_READER), down_read). */
  acquireShared(td: Lwp, opts?: LockOpts): Promise<LockGuard> {
    const g = this.enter(td, 'shared', opts);
    return g instanceof Promise ? g : Promise.resolve(g);
  }

  /** Take it exclusive (rw_enter(RW_WRITER), down_write). */
  acquireExclusive(td: Lwp, opts?: LockOpts): Promise<LockGuard> {
    const g = this.enter(td, 'excl', opts);
    return g instanceof Promise ? g : Promise.resolve(g);
  }

  /**
   * rw_enter(9) without the extra turn: the guard itself when td gets the
   * lock at once, a promise of it only when td must sleep (see Mutex.enter).
   */
  enter(td: Lwp, mode: HeldMode, opts?: LockOpts): LockGuard | Promise<LockGuard> {
    const sub = opts?.subclass === undefined ? 0 : checkSubclass(this.k, this.name, opts.subclass);
    const ld = this.k.lockdep;
    const site = ld === null ? null : ld.acquire(td, this, mode, sub, false);
    if (this.writer === td || this.readerSet.has(td)) {
      this.k.panic(`${this.state()}: ${threadName(td)} takes it ${mode} while holding it ${this.heldBy(td)} — would deadlock`);
    }
    if (this.canEnter(mode)) {
      this.take(td, mode, sub, site);
      return new Guard(this, td, 1);
    }
    return this.sleepFor(td, mode, sub, site, opts);
  }

  /** rw_tryenter(RW_READER): shared if no writer holds or waits, else null. */
  tryAcquireShared(td: Lwp, subclass = 0): LockGuard | null {
    return this.tryEnter(td, 'shared', subclass);
  }

  /** rw_tryenter(RW_WRITER): exclusive if completely free, else null. */
  tryAcquireExclusive(td: Lwp, subclass = 0): LockGuard | null {
    return this.tryEnter(td, 'excl', subclass);
  }

  /** Release whichever side td holds (rw_exit(9)). Panics if it holds neither. */
  release(td: Lwp): void {
    if (this.writer === td) {
      this.k.lockdep?.release(td, this);
      this.writer = null;
      this.dispatch(true);
      return;
    }
    if (this.readerSet.has(td)) {
      this.k.lockdep?.release(td, this);
      this.readerSet.delete(td);
      if (this.readerSet.size === 0) this.dispatch(false);
      return;
    }
    this.k.lockdep?.release(td, this);
    this.k.panic(`${this.state()}: released by ${threadName(td)}, which holds neither side`);
  }

  state(): string {
    const who = this.writer ? `write-held by ${threadName(this.writer)}` : this.readerSet.size > 0 ? `read-held by ${[...this.readerSet].map(threadName).join(', ')}` : 'free';
    return `rwlock ${this.name} (class ${this.lockClass.name}) ${who}, ${this.waiters.size} waiting (${this.writersWaiting} writers)`;
  }

  private canEnter(mode: HeldMode): boolean {
    if (this.writer !== null) return false;
    if (mode === 'shared') return this.writersWaiting === 0; // writer preference on admission
    return this.readerSet.size === 0 && this.waiters.size === 0;
  }

  private tryEnter(td: Lwp, mode: HeldMode, subclass: number): LockGuard | null {
    const sub = checkSubclass(this.k, this.name, subclass);
    if (this.heldBy(td) !== null || !this.canEnter(mode)) return null;
    const site = this.k.lockdep?.acquire(td, this, mode, sub, true) ?? null;
    this.take(td, mode, sub, site);
    return new Guard(this, td, 1);
  }

  private async sleepFor(td: Lwp, mode: HeldMode, sub: number, site: Error | null, opts: LockOpts | undefined): Promise<LockGuard> {
    const w = new Waiter(td, `rwlock:${this.name}`, mode, 1, sub, site);
    if (mode === 'excl') this.writersWaiting++;
    // A writer that gives up may have been all that held readers back.
    await waitForGrant(this.waiters, w, opts, () => {
      if (mode === 'excl') {
        this.writersWaiting--;
        this.dispatch(false);
      }
    });
    return new Guard(this, td, 1);
  }

  /**
   * Hand the lock to waiters after a release. After a writer (readersFirst)
   * every waiting reader goes in as a batch; otherwise the oldest writer
   * goes first, and readers only when no writer waits.
   */
  private dispatch(readersFirst: boolean): void {
    if (this.writer !== null) return;
    const readersWaiting = this.waiters.size - this.writersWaiting;
    if (readersFirst && readersWaiting > 0) {
      this.admitReaders();
      return;
    }
    if (this.writersWaiting > 0) {
      if (this.readerSet.size > 0) return;
      for (const w of this.waiters) {
        if (w.mode !== 'excl') continue;
        this.waiters.delete(w);
        this.writersWaiting--;
        this.take(w.td, 'excl', w.subclass, w.site);
        w.grant(this.k);
        return;
      }
    }
    if (readersWaiting > 0) this.admitReaders();
  }

  private admitReaders(): void {
    for (const w of [...this.waiters]) {
      if (w.mode !== 'shared') continue;
      this.waiters.delete(w);
      this.take(w.td, 'shared', w.subclass, w.site);
      w.grant(this.k);
    }
  }

  private take(td: Lwp, mode: HeldMode, sub: number, site: Error | null): void {
    if (mode === 'excl') this.writer = td;
    else this.readerSet.add(td);
    this.k.lockdep?.acquired(td, this, mode, sub, site);
  }

  /** @internal Guard */
  releaseFor(td: Lwp | null): void {
    this.release(td!);
  }

  /** @internal Guard */
  releasedTwice(td: Lwp | null): never {
    return this.k.panic(`${this.state()}: guard of ${threadName(td!)} released twice`);
  }
}

// ---- CondVar ------------------------------------------------------------------------

/**
 * A condition variable (NetBSD condvar(9), pthread_cond_wait(3)): wait
 * atomically drops the mutex and sleeps, then retakes the mutex before
 * returning. Always recheck the condition in a loop: wakeups may be
 * spurious and another thread may get the mutex first.
 *
 *     using g = await m.acquire(td);
 *     while (q.length === 0) {
 *       if (await cv.wait(td, m, { intr: true }) === 'intr') throw err(EINTR);
 *     }
 */
export class CondVar {
  readonly k: Kernel;
  readonly name: string;
  private readonly q: WaitQueue;

  constructor(k: Kernel, name: string) {
    this.k = k;
    this.name = name;
    this.q = new WaitQueue(`cv:${name}`);
  }

  get waiting(): number {
    return this.q.size;
  }

  /**
   * Release m (which td must hold), sleep until signalled, interrupted
   * (opts.intr) or timed out, and retake m — uninterruptibly, as
   * cv_wait_sig(9) and pthread_cond_timedwait(3) do — before returning why
   * the sleep ended. The caller turns 'intr' into EINTR/ERESTART and
   * 'timeout' into ETIMEDOUT as its system call requires.
   */
  async wait(td: Lwp, m: Mutex, opts?: { intr?: boolean; timeoutNs?: bigint }): Promise<WakeReason> {
    if (!m.owned(td)) this.k.panic(`cv ${this.name}: wait by ${threadName(td)} without holding ${m.state()}`);
    const sub = m.heldSubclass();
    m.release(td);
    // No await between the release and the sleep: a signal() cannot slip in between.
    const why = await this.q.sleep(td, opts);
    const g = await m.acquire(td, { subclass: sub });
    void g; // the caller's own guard (or explicit release) still releases m
    return why;
  }

  /** Wake one waiter (cv_signal(9), pthread_cond_signal(3)). */
  signal(): void {
    this.q.wakeupOne(this.k);
  }

  /** Wake every waiter (cv_broadcast(9)). */
  broadcast(): void {
    this.q.wakeup(this.k);
  }
}

// ---- Semaphore ----------------------------------------------------------------------

/** Largest semaphore value (Linux SEM_VALUE_MAX, sem_post(3) EOVERFLOW beyond it). */
export const SEM_VALUE_MAX = 0x7fff_ffff;

/**
 * A counting semaphore (Linux struct semaphore, Dijkstra's P/V). No owner:
 * any thread may release. Waiters are served strictly FIFO: a request for
 * many units at the head holds back later small ones, so it is not starved.
 */
export class Semaphore implements Releasable {
  readonly k: Kernel;
  readonly name: string;
  /** Units available. @guardedBy the single virtual CPU */
  private count: number;
  private readonly waiters = new Set<Waiter>();

  /** @throws EINVAL unless 0 <= initial <= SEM_VALUE_MAX (sem_init(3)). */
  constructor(k: Kernel, initial: number, name: string) {
    if (!Number.isSafeInteger(initial) || initial < 0 || initial > SEM_VALUE_MAX) throw err(EINVAL);
    this.k = k;
    this.count = initial;
    this.name = name;
  }

  get value(): number {
    return this.count;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Take n units (default 1), sleeping until they are available
   * (sem_wait(3), down()); the guard gives them back.
   * @throws EINVAL for n not an integer in 1..SEM_VALUE_MAX; EINTR; ETIMEDOUT
   */
  acquire(td: Lwp, opts?: { intr?: boolean; timeoutNs?: bigint; n?: number }): Promise<LockGuard> {
    const n = opts?.n ?? 1;
    if (!validUnits(n)) return Promise.reject(err(EINVAL));
    if (this.waiters.size === 0 && this.count >= n) {
      this.count -= n;
      return Promise.resolve(this.guard(n));
    }
    return this.sleepFor(td, n, opts);
  }

  /** Take n units if available now and nobody waits (sem_trywait(3)); null otherwise. @throws EINVAL */
  tryAcquire(n = 1): LockGuard | null {
    if (!validUnits(n)) throw err(EINVAL);
    if (this.waiters.size > 0 || this.count < n) return null;
    this.count -= n;
    return this.guard(n);
  }

  /**
   * Give back n units (sem_post(3), up()) and wake the waiters they satisfy.
   * @throws EINVAL for a bad n; EOVERFLOW when the value would pass SEM_VALUE_MAX
   */
  release(n = 1): void {
    if (!validUnits(n)) throw err(EINVAL);
    if (this.count + n > SEM_VALUE_MAX) throw err(EOVERFLOW);
    this.count += n;
    this.dispatch();
  }

  private async sleepFor(td: Lwp, n: number, opts: { intr?: boolean; timeoutNs?: bigint } | undefined): Promise<LockGuard> {
    // If the head gives up, the units it was waiting for may satisfy those behind it.
    await waitForGrant(this.waiters, new Waiter(td, `sem:${this.name}`, 'excl', n, 0, null), opts, () => this.dispatch());
    return this.guard(n);
  }

  private dispatch(): void {
    for (const w of this.waiters) {
      if (w.n > this.count) return;
      this.count -= w.n;
      this.waiters.delete(w);
      w.grant(this.k);
    }
  }

  private guard(n: number): LockGuard {
    return new Guard(this, null, n);
  }

  /** @internal Guard */
  releaseFor(_td: Lwp | null, n: number): void {
    this.release(n);
  }

  /** @internal Guard */
  releasedTwice(): never {
    return this.k.panic(`semaphore ${this.name} (value ${this.count}): guard released twice`);
  }
}

function validUnits(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && n <= SEM_VALUE_MAX;
}
