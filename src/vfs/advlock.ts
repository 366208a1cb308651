/**
 * Advisory file locks: POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW,
 * fcntl(2) "Advisory record locking") and BSD whole-file locks (flock(2)).
 * The two kinds never interact, as on Linux.
 *
 * POSIX locks belong to a *process* (owner = pid) and cover byte ranges
 * [start, end] (end = Infinity for "to EOF and beyond"). A process's locks
 * never conflict with each other: a new lock replaces, splits or merges its
 * own overlapping ones. A read lock conflicts with another owner's write
 * lock; a write lock with any other owner's lock. F_SETLK answers EAGAIN on
 * conflict (Linux; POSIX also allows EACCES); F_SETLKW sleeps
 * interruptibly (EINTR) and answers EDEADLK when sleeping would close a
 * cycle of processes each waiting for a lock the next one holds (Linux
 * posix_locks_deadlock, searched breadth-first here). A process loses all
 * its locks on a file when it closes *any* descriptor for that file, and
 * all its locks at exit (fcntl(2) NOTES "the locks are released when...").
 *
 * flock locks belong to an *open file description*: shared or exclusive,
 * conversion drops the old lock first (non-atomic, as documented in
 * flock(2)), LOCK_NB answers EWOULDBLOCK (= EAGAIN), and the lock goes when
 * the description's last reference is closed.
 *
 * @guardedBy the single virtual CPU: each check-and-apply runs without awaiting.
 *
 * Not supported: open file description locks (F_OFD_*), mandatory locking,
 * leases (F_SETLEASE), lock limits (ENOLCK).
 */
import type { Kernel } from '../kern/kernel.ts';
import type { Lwp } from '../kern/sched.ts';
import type { File } from '../kern/file.ts';
import { WaitQueue } from '../kern/sched.ts';
import { EAGAIN, EBADF, EDEADLK, EINTR, EINVAL, EOVERFLOW, err } from '../kern/errno.ts';
import { F_RDLCK, F_UNLCK, F_WRLCK, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, SEEK_CUR, SEEK_END, SEEK_SET } from '../kern/constants.ts';
import type { Vnode } from './vnode.ts';

export interface PosixLock {
  owner: number;
  type: number;
  start: number;
  end: number;
}

interface FlockLock {
  owner: File;
  excl: boolean;
}

/** The locks on one vnode. */
export class AdvLockState {
  posix: PosixLock[] = [];
  flocks: FlockLock[] = [];
  readonly q = new WaitQueue('advlock');
}

/** Per-kernel bookkeeping: who holds locks where, and who waits for what. */
export class AdvLocks {
  private readonly k: Kernel;
  /** Vnodes on which each pid holds POSIX locks. */
  private readonly byOwner = new Map<number, Set<Vnode>>();
  /** What each sleeping F_SETLKW waits for. */
  private readonly waiting = new Map<number, { vp: Vnode; req: PosixLock }>();

  constructor(k: Kernel) {
    this.k = k;
  }

  private state(vp: Vnode): AdvLockState {
    return (vp.advlocks ??= new AdvLockState());
  }

  private conflicts(st: AdvLockState, req: PosixLock): PosixLock[] {
    const out: PosixLock[] = [];
    for (const l of st.posix) {
      if (l.owner === req.owner) continue;
      if (l.end < req.start || l.start > req.end) continue;
      if (l.type === F_WRLCK || req.type === F_WRLCK) out.push(l);
    }
    return out;
  }

  /** Would `me` waiting for `blockers` close a wait-for cycle? */
  private deadlocks(me: number, blockers: PosixLock[]): boolean {
    const seen = new Set<number>();
    const todo = blockers.map((b) => b.owner);
    while (todo.length > 0) {
      const pid = todo.pop()!;
      if (pid === me) return true;
      if (seen.has(pid)) continue;
      seen.add(pid);
      const w = this.waiting.get(pid);
      if (w === undefined || w.vp.advlocks === null) continue;
      for (const b of this.conflicts(w.vp.advlocks, w.req)) todo.push(b.owner);
    }
    return false;
  }

  /** Replace owner's locks over [start, end] with `type` (F_UNLCK removes). */
  private apply(vp: Vnode, st: AdvLockState, req: PosixLock): void {
    const kept: PosixLock[] = [];
    let { start, end } = req;
    for (const l of st.posix) {
      if (l.owner !== req.owner) {
        kept.push(l);
        continue;
      }
      // Adjacent or overlapping lock of the same type: merge into the new one.
      const touches = l.end >= start - 1 && l.start <= end + 1;
      if (req.type !== F_UNLCK && l.type === req.type && touches) {
        start = Math.min(start, l.start);
        end = Math.max(end, l.end);
        continue;
      }
      if (l.end < start || l.start > end) {
        kept.push(l);
        continue;
      }
      // Overlapping lock of another type (or an unlock): keep what sticks out.
      if (l.start < start) kept.push({ owner: l.owner, type: l.type, start: l.start, end: start - 1 });
      if (l.end > end) kept.push({ owner: l.owner, type: l.type, start: end + 1, end: l.end });
    }
    if (req.type !== F_UNLCK) kept.push({ owner: req.owner, type: req.type, start, end });
    kept.sort((a, b) => a.start - b.start);
    st.posix = kept;
    let set = this.byOwner.get(req.owner);
    if (kept.some((l) => l.owner === req.owner)) {
      if (set === undefined) this.byOwner.set(req.owner, (set = new Set()));
      set.add(vp);
    } else if (set !== undefined) {
      set.delete(vp);
      if (set.size === 0) this.byOwner.delete(req.owner);
    }
    st.q.wakeup(this.k);
  }

  /** F_GETLK: the first lock that would block req, or null. */
  getlk(vp: Vnode, req: PosixLock): PosixLock | null {
    if (vp.advlocks === null) return null;
    return this.conflicts(vp.advlocks, req)[0] ?? null;
  }

  /** F_SETLK / F_SETLKW. */
  async setlk(td: Lwp, vp: Vnode, req: PosixLock, wait: boolean): Promise<void> {
    const st = this.state(vp);
    for (;;) {
      if (req.type === F_UNLCK) {
        this.apply(vp, st, req);
        return;
      }
      const blockers = this.conflicts(st, req);
      if (blockers.length === 0) {
        this.apply(vp, st, req);
        return;
      }
      if (!wait) throw err(EAGAIN);
      if (this.deadlocks(req.owner, blockers)) throw err(EDEADLK);
      this.waiting.set(req.owner, { vp, req });
      let why;
      try {
        why = await st.q.sleep(td, { intr: true });
      } finally {
        this.waiting.delete(req.owner);
      }
      if (why === 'intr') throw err(EINTR);
    }
  }

  /** Drop every POSIX lock pid holds on vp (close of any fd for it). */
  releaseOwnerOn(vp: Vnode, pid: number): void {
    const st = vp.advlocks;
    if (st === null || !st.posix.some((l) => l.owner === pid)) return;
    this.apply(vp, st, { owner: pid, type: F_UNLCK, start: 0, end: Infinity });
  }

  /** Drop every POSIX lock of pid (exit). */
  releaseOwner(pid: number): void {
    const set = this.byOwner.get(pid);
    if (set === undefined) return;
    for (const vp of [...set]) this.releaseOwnerOn(vp, pid);
  }

  /** flock(2) on behalf of open file description fp. */
  async flock(td: Lwp, vp: Vnode, fp: File, op: number): Promise<void> {
    const nb = (op & LOCK_NB) !== 0;
    const what = op & ~LOCK_NB;
    if (what !== LOCK_SH && what !== LOCK_EX && what !== LOCK_UN) throw err(EINVAL);
    const st = this.state(vp);
    const mine = st.flocks.findIndex((l) => l.owner === fp);
    const excl = what === LOCK_EX;
    if (mine >= 0) {
      if (what !== LOCK_UN && st.flocks[mine]!.excl === excl) return;
      st.flocks.splice(mine, 1);
      st.q.wakeup(this.k);
    }
    if (what === LOCK_UN) return;
    for (;;) {
      const blocked = st.flocks.some((l) => l.owner !== fp && (l.excl || excl));
      if (!blocked) {
        st.flocks.push({ owner: fp, excl });
        return;
      }
      if (nb) throw err(EAGAIN); // EWOULDBLOCK
      const why = await st.q.sleep(td, { intr: true });
      if (why === 'intr') throw err(EINTR);
    }
  }

  /** The description fp's last reference went: drop its flock lock. */
  releaseFlock(vp: Vnode, fp: File): void {
    const st = vp.advlocks;
    if (st === null) return;
    const i = st.flocks.findIndex((l) => l.owner === fp);
    if (i < 0) return;
    st.flocks.splice(i, 1);
    st.q.wakeup(this.k);
  }
}

/** struct flock as library callers pass it to fcntl (fields without the l_ prefix). */
export interface Flock {
  type: number;
  whence: number;
  start: number;
  len: number;
  pid: number;
}

/** Turn a struct flock into an absolute range for owner (fcntl(2) rules for l_whence/l_len). */
export function flockToRange(arg: unknown, fp: File, vp: Vnode, owner: number): PosixLock {
  const a = arg as Partial<Flock>;
  const type = a.type;
  if (type !== F_RDLCK && type !== F_WRLCK && type !== F_UNLCK) throw err(EINVAL);
  const whence = a.whence ?? SEEK_SET;
  const start = a.start ?? 0;
  const len = a.len ?? 0;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(len)) throw err(EINVAL);
  let base: number;
  if (whence === SEEK_SET) base = 0;
  else if (whence === SEEK_CUR) base = fp.offset;
  else if (whence === SEEK_END) base = vp.size;
  else throw err(EINVAL);
  let s = base + start;
  let e: number;
  if (len > 0) e = s + len - 1;
  else if (len === 0) e = Infinity;
  else {
    // "If l_len is negative, the interval described by lock covers bytes l_start+l_len up to and including l_start-1."
    e = s - 1;
    s = s + len;
  }
  if (s < 0) throw err(EINVAL);
  if (!Number.isSafeInteger(s) || (e !== Infinity && !Number.isSafeInteger(e))) throw err(EOVERFLOW);
  return { owner, type, start: s, end: e };
}

/** fcntl(F_GETLK/F_SETLK/F_SETLKW) for a vnode file. */
export async function vnodeAdvlock(locks: AdvLocks, td: Lwp, fp: File, vp: Vnode, op: 'getlk' | 'setlk' | 'setlkw', arg: unknown): Promise<unknown> {
  const req = flockToRange(arg, fp, vp, td.proc.pid);
  const a = arg as Flock;
  if (op === 'getlk') {
    if (req.type === F_UNLCK) throw err(EINVAL);
    const l = locks.getlk(vp, req);
    if (l === null) a.type = F_UNLCK;
    else {
      a.type = l.type;
      a.whence = SEEK_SET;
      a.start = l.start;
      a.len = l.end === Infinity ? 0 : l.end - l.start + 1;
      a.pid = l.owner;
    }
    return a;
  }
  // fcntl(2) EBADF: "the type of lock (F_RDLCK/F_WRLCK) does not match the open mode".
  if (req.type === F_RDLCK && !fp.readable) throw err(EBADF);
  if (req.type === F_WRLCK && !fp.writable) throw err(EBADF);
  await locks.setlk(td, vp, req, op === 'setlkw');
  return 0;
}
