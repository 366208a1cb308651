/**
 * poll(2), ppoll(2), select(2), pselect6(2): wait until one of several files
 * is ready, over any file type.
 *
 * Every FileOps must implement `poll(fp, td, events)` (the ready mask right
 * now) and `pollQueues(fp)` (the WaitQueues its state changes wake). That is
 * the whole contract: a file type that is always ready (regular files and
 * directories, poll(2): "always readable and writable") returns
 * POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM and no queues. The loop here scans
 * every fd, and if nothing is ready sleeps on the union of their queues with
 * `sleepOn` (sched.ts) until one is woken, the timeout passes or a signal
 * arrives, then scans again (a wakeup only says "look again").
 *
 * Library forms. The C calls fill out-arrays, so (docs/ARCHITECTURE.md) they return them:
 *   k.sys.poll(fds: {fd, events}[], timeoutMs)            → { n, fds: {fd, events, revents}[] }
 *   k.sys.ppoll(fds, tmo: {sec, nsec} | null, sigmask?: SigmaskArg) → { n, fds }
 *   k.sys.select(nfds, readfds, writefds, exceptfds, tmo: {sec, usec} | null)
 *       → { n, readfds: number[], writefds: number[], exceptfds: number[], timeout: {sec, usec} | null }
 *   k.sys.pselect6(nfds, readfds, writefds, exceptfds, tmo: {sec, nsec} | null, sigmask?: SigmaskArg)
 *       → { n, readfds, writefds, exceptfds, timeout: {sec, nsec} | null }
 * `n` is the C return value (entries with nonzero revents; bits set in the
 * three sets). fd sets are arrays (or Sets) of fd numbers; null/undefined is
 * an empty set. The returned timeout is the time left, as Linux writes back.
 *
 * Linux rules kept here: a negative fd in poll is ignored (revents 0); an fd
 * that is not open (or is O_PATH) gets POLLNVAL and the call still succeeds;
 * revents only ever holds requested events plus POLLERR|POLLHUP|POLLNVAL;
 * nfds above RLIMIT_NOFILE is EINVAL; timeout < 0 waits forever, 0 only
 * looks. select: a closed fd in a set is EBADF, nfds < 0 is EINVAL, and nfds
 * above the fd-table size is clamped to it (Linux core_sys_select), and fds in
 * a set at or above nfds are not looked at. A signal ends the wait with EINTR.
 *
 * Not supported: restarting after a handler with SA_RESTART (poll and
 * select never restart on Linux either, they return EINTR; ERESTARTNOHAND is
 * the signal code's), POLLRDBAND/POLLWRBAND priority data (no file type has
 * it), ppoll's write-back of the time left. Signal masks are per process
 * here (sig.ts), not per thread: two ppoll/pselect6/sigsuspend calls of one
 * process at the same time share one mask and one saved mask.
 */
import { EBADF, EFAULT, EINTR, EINVAL, err, KernelError } from './errno.ts';
import { O_PATH, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDBAND, POLLRDNORM, POLLWRBAND, POLLWRNORM } from './constants.ts';
import { defineSyscall } from './syscall.ts';
import { sleepOn, type Lwp, type WaitQueue } from './sched.ts';
import { SIG_UNBLOCKABLE } from './sig.ts';
import { parseSigset } from './sys_sig.ts';
import { deliver, issig } from './sig_post.ts';
import { nsToTimespec, timespecToNs } from './sys_time.ts';
import type { Timespec } from './file.ts';

export interface PollFd {
  fd: number;
  events: number;
}
export interface PollFdResult extends PollFd {
  revents: number;
}
export interface PollResult {
  /** Entries with nonzero revents (poll's return value). */
  n: number;
  fds: PollFdResult[];
}
export interface Timeval {
  sec: number;
  usec: number;
}
/** A temporary signal mask: a bigint set (bit n-1 for signal n) or a list of signal numbers. */
export type SigmaskArg = bigint | readonly number[] | null;
export type FdSetArg = readonly number[] | ReadonlySet<number> | null | undefined;
export interface SelectResult<T> {
  /** Bits set across the three sets (select's return value). */
  n: number;
  readfds: number[];
  writefds: number[];
  exceptfds: number[];
  /** Time left of the timeout (null when there was none). */
  timeout: T | null;
}

// fs/select.c: what counts as ready for each select set.
const POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const POLLOUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const POLLEX_SET = POLLPRI;
/** Always reported, requested or not (poll(2) revents). */
const POLL_ALWAYS = POLLERR | POLLHUP | POLLNVAL;

/**
 * One pass of poll: fill revents for each entry, add the queues of the files
 * looked at to `queues` (when given), return how many entries are ready.
 */
function pollScan(td: Lwp, fds: readonly PollFd[], revents: number[], queues: Set<WaitQueue> | null): number {
  const fdt = td.proc.fdt;
  let n = 0;
  for (let i = 0; i < fds.length; i++) {
    const { fd, events } = fds[i]!;
    // poll(2): "If this field is negative, then the corresponding events field is
    // ignored and the revents field returns zero."
    if (fd < 0) {
      revents[i] = 0;
      continue;
    }
    const fp = fdt.peek(fd);
    // poll(2) POLLNVAL: "Invalid request: fd not open". O_PATH files are not pollable (fdget fails).
    if (fp === undefined || (fp.flags & O_PATH) !== 0) {
      revents[i] = POLLNVAL;
      n++;
      continue;
    }
    const r = fp.ops.poll(fp, td, events) & (events | POLL_ALWAYS);
    revents[i] = r;
    if (r !== 0) n++;
    if (queues !== null) for (const q of fp.ops.pollQueues(fp)) queues.add(q);
  }
  return n;
}

/**
 * The wait loop shared by all four calls: scan; if nothing is ready, sleep on
 * the queues the scan collected until a wakeup, the deadline or a signal;
 * scan again. timeoutNs: null waits forever, 0n only looks. Returns the last
 * scan's count and the monotonic deadline (for the time-left answer).
 */
async function waitLoop(
  td: Lwp, timeoutNs: bigint | null, scanOnce: (queues: Set<WaitQueue> | null) => number,
): Promise<{ n: number; deadline: bigint | null }> {
  const k = td.k;
  const deadline = timeoutNs === null ? null : k.hyper.clockMonotonic() + timeoutNs;
  for (;;) {
    const queues = new Set<WaitQueue>();
    const n = scanOnce(timeoutNs === 0n ? null : queues);
    if (n > 0 || timeoutNs === 0n) return { n, deadline };
    let left: bigint | undefined;
    if (deadline !== null) {
      left = deadline - k.hyper.clockMonotonic();
      if (left <= 0n) return { n: 0, deadline };
    }
    const why = await sleepOn(td, [...queues], left === undefined ? { intr: true } : { intr: true, timeoutNs: left });
    // poll(2)/select(2) EINTR: "A signal occurred before any requested event".
    if (why === 'intr') throw err(EINTR);
    // Linux do_poll/do_select look once more after the timer fires before answering 0.
    if (why === 'timeout') return { n: scanOnce(null), deadline };
  }
}

function timeLeft(td: Lwp, deadline: bigint | null): bigint | null {
  if (deadline === null) return null;
  const left = deadline - td.k.hyper.clockMonotonic();
  return left > 0n ? left : 0n;
}

/** Validate a pollfd array: EFAULT for a malformed one, EINVAL above RLIMIT_NOFILE. */
function pollFdsArg(td: Lwp, v: unknown): PollFd[] {
  if (!Array.isArray(v)) throw err(EFAULT);
  // poll(2) EINVAL: "The nfds value exceeds the RLIMIT_NOFILE value."
  if (v.length > td.proc.fdt.limit) throw err(EINVAL);
  const out: PollFd[] = [];
  for (const e of v as unknown[]) {
    if (typeof e !== 'object' || e === null) throw err(EFAULT);
    const { fd, events } = e as { fd?: unknown; events?: unknown };
    if (typeof fd !== 'number' || !Number.isInteger(fd)) throw err(EFAULT);
    if (events !== undefined && (typeof events !== 'number' || !Number.isInteger(events))) throw err(EFAULT);
    // struct pollfd.events is a short.
    out.push({ fd, events: ((events as number | undefined) ?? 0) & 0xffff });
  }
  return out;
}

/** A sigmask argument: null/undefined for none, else a set as sigprocmask takes it (bigint or signal list). */
function sigmaskArg(v: unknown): bigint | null {
  if (v === undefined || v === null) return null;
  return parseSigset(v);
}

/**
 * Run fn with the signal mask replaced (ppoll/pselect6: "atomically sets the
 * signal mask ... waits ... restores the signal mask"). SIGKILL and SIGSTOP
 * stay unblocked.
 *
 * When the wait ends with EINTR, Linux keeps the temporary mask until the
 * handler of the signal that ended it has run (TIF_RESTORE_SIGMASK), so the
 * signal the caller unblocked just for the wait does get delivered. This
 * follows sigsuspend in sys_sig.ts: the old mask sits in `suspendSaved`
 * while the handlers run under the temporary one, then comes back.
 */
async function withSigmask<T>(td: Lwp, mask: bigint | null, fn: () => Promise<T>): Promise<T> {
  if (mask === null) return fn();
  const k = td.k, p = td.proc, s = p.sig;
  const old = s.mask;
  s.mask = mask & ~SIG_UNBLOCKABLE;
  s.suspendSaved = old;
  issig(k, p); // signals the temporary mask lets in end the wait at once
  try {
    return await fn();
  } catch (e) {
    if (e instanceof KernelError && e.errno === EINTR) {
      const handlers = deliver(k, p);
      if (s.suspendSaved !== null) {
        s.mask = s.suspendSaved;
        s.suspendSaved = null;
      }
      await Promise.all(handlers);
    }
    throw e;
  } finally {
    if (s.suspendSaved !== null) {
      s.mask = s.suspendSaved;
      s.suspendSaved = null;
      issig(k, p); // the old mask may let in what the temporary one held back
    }
  }
}

async function doPoll(td: Lwp, fdsArg: unknown, timeoutNs: bigint | null): Promise<PollResult> {
  const fds = pollFdsArg(td, fdsArg);
  const revents: number[] = new Array<number>(fds.length).fill(0);
  const { n } = await waitLoop(td, timeoutNs, (queues) => pollScan(td, fds, revents, queues));
  return { n, fds: fds.map((e, i) => ({ fd: e.fd, events: e.events, revents: revents[i]! })) };
}

/**
 * An fd set argument as a sorted list of distinct fds below nfds; EBADF for a
 * non-fd. A bitmap cannot name more fds than the table holds, so a longer
 * list is EINVAL (this bounds the work a call can ask for).
 */
function fdSetArg(v: unknown, nfds: number, limit: number): number[] {
  if (v === undefined || v === null) return [];
  let items: unknown[];
  if (Array.isArray(v)) items = v;
  else if (v instanceof Set) items = [...(v as Set<unknown>)];
  else throw err(EFAULT);
  if (items.length > limit) throw err(EINVAL);
  const out = new Set<number>();
  for (const fd of items) {
    // A bitmap cannot name a negative fd; a list can, and it is no descriptor.
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) throw err(EBADF);
    if (fd < nfds) out.add(fd);
  }
  return [...out].sort((a, b) => a - b);
}

async function doSelect(
  td: Lwp, nfds: number, r: unknown, w: unknown, x: unknown, timeoutNs: bigint | null,
): Promise<{ n: number; readfds: number[]; writefds: number[]; exceptfds: number[]; left: bigint | null }> {
  // select(2) EINVAL: "nfds is negative". Linux clamps a large nfds to the table size.
  if (nfds < 0) throw err(EINVAL);
  const fdt = td.proc.fdt;
  const n = Math.min(nfds, fdt.limit);
  const sets = [fdSetArg(r, n, fdt.limit), fdSetArg(w, n, fdt.limit), fdSetArg(x, n, fdt.limit)];
  const member = sets.map((a) => new Set(a));
  const wants = [POLLIN_SET, POLLOUT_SET, POLLEX_SET];
  // One poll entry per fd, asking for the union of what its sets want.
  const byFd = new Map<number, number>();
  for (let s = 0; s < 3; s++) for (const fd of sets[s]!) byFd.set(fd, (byFd.get(fd) ?? 0) | wants[s]!);
  const entries: PollFd[] = [];
  for (const [fd, events] of byFd) {
    // select(2) EBADF: "An invalid file descriptor was given in one of the sets".
    const fp = fdt.peek(fd);
    if (fp === undefined || (fp.flags & O_PATH) !== 0) throw err(EBADF);
    entries.push({ fd, events });
  }
  // select counts bits, not fds: an fd ready for reading and writing counts twice.
  let out: number[][] = [[], [], []];
  const selectScan = (queues: Set<WaitQueue> | null): number => {
    out = [[], [], []];
    let bits = 0;
    for (const { fd, events } of entries) {
      const fp = fdt.peek(fd);
      if (fp === undefined) continue; // closed by another thread while we slept: not ready
      const rv = fp.ops.poll(fp, td, events) & (events | POLL_ALWAYS);
      for (let s = 0; s < 3; s++) {
        if ((rv & wants[s]!) !== 0 && member[s]!.has(fd)) {
          out[s]!.push(fd);
          bits++;
        }
      }
      if (queues !== null) for (const q of fp.ops.pollQueues(fp)) queues.add(q);
    }
    return bits;
  };
  const { n: bits, deadline } = await waitLoop(td, timeoutNs, selectScan);
  return { n: bits, readfds: out[0]!, writefds: out[1]!, exceptfds: out[2]!, left: timeLeft(td, deadline) };
}

/** select's struct timeval: EINVAL when negative; microseconds past a second carry over. */
function timevalArg(v: unknown): bigint | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object') throw err(EFAULT);
  const { sec, usec } = v as { sec?: unknown; usec?: unknown };
  if (typeof sec !== 'number' || typeof usec !== 'number' || !Number.isInteger(sec) || !Number.isInteger(usec)) throw err(EINVAL);
  if (sec < 0 || usec < 0) throw err(EINVAL);
  return BigInt(sec) * 1_000_000_000n + BigInt(usec) * 1000n;
}

function tsArg(v: unknown): bigint | null {
  return v === undefined || v === null ? null : timespecToNs(v);
}

function nsToTimeval(ns: bigint): Timeval {
  const ts = nsToTimespec(ns);
  return { sec: ts.sec, usec: Math.floor(ts.nsec / 1000) };
}

export const pollSyscalls = [
  defineSyscall('poll', 7, ['any', 'int'], (td, fds: readonly PollFd[], timeoutMs: number): Promise<PollResult> =>
    doPoll(td, fds, timeoutMs < 0 ? null : BigInt(timeoutMs) * 1_000_000n)),
  defineSyscall('ppoll', 271, ['any', 'any?', 'any?'],
    (td, fds: readonly PollFd[], tmo?: Timespec | null, sigmask?: SigmaskArg): Promise<PollResult> => {
      const timeoutNs = tsArg(tmo);
      const mask = sigmaskArg(sigmask);
      return withSigmask(td, mask, () => doPoll(td, fds, timeoutNs));
    }),
  defineSyscall('select', 23, ['int', 'any?', 'any?', 'any?', 'any?'],
    async (td, nfds: number, readfds?: FdSetArg, writefds?: FdSetArg, exceptfds?: FdSetArg, tmo?: Timeval | null): Promise<SelectResult<Timeval>> => {
      const timeoutNs = timevalArg(tmo);
      const r = await doSelect(td, nfds, readfds, writefds, exceptfds, timeoutNs);
      return { n: r.n, readfds: r.readfds, writefds: r.writefds, exceptfds: r.exceptfds, timeout: r.left === null ? null : nsToTimeval(r.left) };
    }),
  defineSyscall('pselect6', 270, ['int', 'any?', 'any?', 'any?', 'any?', 'any?'],
    (td, nfds: number, readfds?: FdSetArg, writefds?: FdSetArg, exceptfds?: FdSetArg, tmo?: Timespec | null, sigmask?: SigmaskArg): Promise<SelectResult<Timespec>> => {
      const timeoutNs = tsArg(tmo);
      const mask = sigmaskArg(sigmask);
      return withSigmask(td, mask, async () => {
        const r = await doSelect(td, nfds, readfds, writefds, exceptfds, timeoutNs);
        return { n: r.n, readfds: r.readfds, writefds: r.writefds, exceptfds: r.exceptfds, timeout: r.left === null ? null : nsToTimespec(r.left) };
      });
    }),
] as const;
