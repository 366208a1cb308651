/**
 * Resource limits (getrlimit(2), setrlimit(2), prlimit(2)) and the
 * per-user process count behind RLIMIT_NPROC.
 *
 * Every process has a soft (`cur`) and a hard (`max`) limit per resource,
 * inherited on fork and kept across execve. Anyone may lower either or move
 * the soft limit up to the hard one; raising a hard limit needs privilege
 * (CAP_SYS_RESOURCE on Linux, euid 0 here). RLIM_INFINITY is `Infinity` in
 * the library API.
 *
 * What is enforced, and where:
 *   RLIMIT_NOFILE  the fd table's limit (file.ts FdTable.limit mirrors `cur`): EMFILE.
 *   RLIMIT_NPROC   fork/rfork by an unprivileged caller when the child's real
 *                  user already has that many processes (zombies count until
 *                  reaped, as in Linux's copy_process): EAGAIN.
 *   RLIMIT_FSIZE   writes, truncates and fallocate that would grow a file past
 *                  it: SIGXFSZ, then EFBIG (Linux generic_write_check_limits,
 *                  inode_newsize_ok); a write that straddles it is shortened.
 * The others are stored and reported (/proc/PID/limits) but not enforced.
 *
 * @guardedBy the single virtual CPU: limits change only inside system calls.
 */
import { EAGAIN, EFBIG, EINVAL, EPERM, ESRCH, err } from './errno.ts';
import { SIGXFSZ } from './constants.ts';
import { psignal } from './sig_post.ts';
import type { Kernel } from './kernel.ts';
import type { Proc } from './proc.ts';

export const RLIMIT_CPU = 0;
export const RLIMIT_FSIZE = 1;
export const RLIMIT_DATA = 2;
export const RLIMIT_STACK = 3;
export const RLIMIT_CORE = 4;
export const RLIMIT_RSS = 5;
export const RLIMIT_NPROC = 6;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_AS = 9;
export const RLIMIT_LOCKS = 10;
export const RLIMIT_SIGPENDING = 11;
export const RLIMIT_MSGQUEUE = 12;
export const RLIMIT_NICE = 13;
export const RLIMIT_RTPRIO = 14;
export const RLIMIT_RTTIME = 15;
export const RLIM_NLIMITS = 16;
export const RLIM_INFINITY = Infinity;

/** Linux's fs.nr_open: no RLIMIT_NOFILE may go above it, even for root (EPERM). */
export const NR_OPEN = 1 << 20;

export interface Rlimit {
  cur: number;
  max: number;
}

/** Names and units as /proc/PID/limits prints them (fs/proc/base.c lnames[]). */
const LNAMES: readonly [string, string][] = [
  ['Max cpu time', 'seconds'],
  ['Max file size', 'bytes'],
  ['Max data size', 'bytes'],
  ['Max stack size', 'bytes'],
  ['Max core file size', 'bytes'],
  ['Max resident set', 'bytes'],
  ['Max processes', 'processes'],
  ['Max open files', 'files'],
  ['Max locked memory', 'bytes'],
  ['Max address space', 'bytes'],
  ['Max file locks', 'locks'],
  ['Max pending signals', 'signals'],
  ['Max msgqueue size', 'bytes'],
  ['Max nice priority', ''],
  ['Max realtime priority', ''],
  ['Max realtime timeout', 'us'],
];

/** One process's limits: soft and hard value per resource. */
export class Rlimits {
  readonly cur = new Float64Array(RLIM_NLIMITS).fill(Infinity);
  readonly max = new Float64Array(RLIM_NLIMITS).fill(Infinity);

  clone(): Rlimits {
    const r = new Rlimits();
    r.cur.set(this.cur);
    r.max.set(this.max);
    return r;
  }

  get(resource: number): Rlimit {
    return { cur: this.cur[resource]!, max: this.max[resource]! };
  }

  /** Set without checks (boot defaults, frontends configuring a process they created). */
  force(resource: number, cur: number, max: number): void {
    this.cur[resource] = cur;
    this.max[resource] = max;
  }
}

/**
 * The limits init starts with, as Linux's INIT_RLIMITS with the values a
 * typical distribution sets: 8 MiB soft stack, no core files, 1024/4096 open
 * files, 8 MiB of locked memory, 819200 bytes of message queues; RLIMIT_NPROC
 * and RLIMIT_SIGPENDING from the memory the kernel may use (Linux: max_threads/2,
 * a thread per 32 pages; here one process per 128 KiB of memlimit, within
 * 64..32768), overridable with the host parameters `rlimit_nproc` and
 * `rlimit_nofile` ("SOFT" or "SOFT:HARD", "unlimited" allowed).
 */
export function initRlimits(k: Kernel): Rlimits {
  const r = new Rlimits();
  const mem = Number(k.hyper.getParam('memlimit') ?? '0');
  const nproc = Number.isFinite(mem) && mem > 0 ? Math.max(64, Math.min(32768, Math.floor(mem / (128 * 1024)))) : 4096;
  r.force(RLIMIT_STACK, 8 << 20, Infinity);
  r.force(RLIMIT_CORE, 0, Infinity);
  r.force(RLIMIT_NPROC, nproc, nproc);
  r.force(RLIMIT_NOFILE, 1024, 4096);
  r.force(RLIMIT_MEMLOCK, 8 << 20, 8 << 20);
  r.force(RLIMIT_SIGPENDING, nproc, nproc);
  r.force(RLIMIT_MSGQUEUE, 819200, 819200);
  r.force(RLIMIT_NICE, 0, 0);
  r.force(RLIMIT_RTPRIO, 0, 0);
  for (const [param, res] of [['rlimit_nproc', RLIMIT_NPROC], ['rlimit_nofile', RLIMIT_NOFILE]] as const) {
    const v = k.hyper.getParam(param);
    if (v === undefined) continue;
    const lim = parseRlimitSpec(v);
    if (lim === null || (res === RLIMIT_NOFILE && lim.max > NR_OPEN)) {
      k.log('warning', `host parameter ${param}=${JSON.stringify(v)} ignored: want SOFT or SOFT:HARD with SOFT <= HARD${res === RLIMIT_NOFILE ? ` <= ${NR_OPEN}` : ''}`);
      continue;
    }
    r.force(res, lim.cur, lim.max);
  }
  return r;
}

/** "N", "N:M", "unlimited" (as prlimit(1) takes them) → a limit, or null when malformed. */
export function parseRlimitSpec(s: string): Rlimit | null {
  const one = (t: string): number | null => {
    if (t === 'unlimited' || t === 'infinity') return Infinity;
    if (!/^\d+$/.test(t)) return null;
    const n = Number(t);
    return Number.isSafeInteger(n) ? n : null;
  };
  const parts = s.split(':');
  if (parts.length > 2) return null;
  const cur = one(parts[0]!);
  const max = parts.length === 2 ? one(parts[1]!) : cur;
  if (cur === null || max === null || cur > max) return null;
  return { cur, max };
}

/**
 * May `caller` read or change `target`'s limits? Linux check_prlimit_permission:
 * the same process, or every real/effective/saved id of the target equal to
 * the caller's real uid and gid, or CAP_SYS_RESOURCE.
 */
function mayPrlimit(caller: Proc, target: Proc): boolean {
  if (caller === target) return true;
  const c = caller.cred, t = target.cred;
  if (c.euid === 0) return true;
  return c.uid === t.uid && c.uid === t.euid && c.uid === t.suid && c.gid === t.gid && c.gid === t.egid && c.gid === t.sgid;
}

function validLimitValue(v: unknown): v is number {
  return typeof v === 'number' && (v === Infinity || (Number.isInteger(v) && v >= 0));
}

/**
 * prlimit(2) (and getrlimit/setrlimit on the caller): answer the old limit,
 * install `next` when given. Order of checks as Linux do_prlimit: resource
 * (EINVAL), target lookup and permission (ESRCH, EPERM), cur > max (EINVAL),
 * raising the hard limit without privilege or RLIMIT_NOFILE above nr_open (EPERM).
 */
export function prlimit(k: Kernel, caller: Proc, pid: number, resource: number, next?: unknown): Rlimit {
  if (!Number.isInteger(resource) || resource < 0 || resource >= RLIM_NLIMITS) throw err(EINVAL);
  let target = caller;
  if (pid !== 0) {
    const p = k.procs.get(pid);
    if (p === undefined || p.state !== 'alive' || pid === 0) throw err(ESRCH);
    target = p;
  }
  if (!mayPrlimit(caller, target)) throw err(EPERM);
  const old = target.rlim.get(resource);
  if (next === undefined || next === null) return old;
  if (typeof next !== 'object') throw err(EINVAL);
  const { cur, max } = next as { cur?: unknown; max?: unknown };
  if (!validLimitValue(cur) || !validLimitValue(max)) throw err(EINVAL);
  if (cur > max) throw err(EINVAL);
  if (max > old.max && caller.cred.euid !== 0) throw err(EPERM);
  if (resource === RLIMIT_NOFILE && max > NR_OPEN) throw err(EPERM);
  setRlimit(target, resource, cur, max);
  return old;
}

/**
 * Install a limit without the permission checks (a frontend configuring a
 * process it created, e.g. a server's per-connection RLIMIT_NOFILE).
 */
export function setRlimit(p: Proc, resource: number, cur: number, max: number): void {
  p.rlim.force(resource, cur, max);
  if (resource === RLIMIT_NOFILE) p.fdt.limit = cur === Infinity ? NR_OPEN : cur;
}

// ---- RLIMIT_NPROC: processes per real user --------------------------------------------

/**
 * May `parent` create a child whose real uid is `uid`? Linux copy_process:
 * refused with EAGAIN when that user already has RLIMIT_NPROC processes, unless
 * the user is root or the caller has CAP_SYS_RESOURCE/CAP_SYS_ADMIN.
 */
export function checkNproc(k: Kernel, parent: Proc, uid: number): void {
  if (uid === 0 || parent.cred.euid === 0 || parent.pid === 0) return;
  if ((k.nprocByUid.get(uid) ?? 0) >= parent.rlim.cur[RLIMIT_NPROC]!) throw err(EAGAIN);
}

/** Count p against its real user (from creation until it is reaped). */
export function chargeProc(k: Kernel, p: Proc): void {
  p.chargedUid = p.cred.uid;
  k.nprocByUid.set(p.chargedUid, (k.nprocByUid.get(p.chargedUid) ?? 0) + 1);
}

export function unchargeProc(k: Kernel, p: Proc): void {
  const uid = p.chargedUid;
  if (uid < 0) return;
  const n = (k.nprocByUid.get(uid) ?? 0) - 1;
  if (n > 0) k.nprocByUid.set(uid, n);
  else k.nprocByUid.delete(uid);
  p.chargedUid = -1;
}

/** The real uid changed (setuid and friends): move the charge, as commit_creds does. */
export function rechargeProc(k: Kernel, p: Proc): void {
  if (p.chargedUid === p.cred.uid || p.chargedUid < 0) return;
  unchargeProc(k, p);
  chargeProc(k, p);
}

// ---- RLIMIT_FSIZE ------------------------------------------------------------------------

/**
 * How many of `count` bytes may be written at `pos` of a regular file
 * (Linux generic_write_check_limits): all of them below the limit, the part
 * below it when the write straddles it, and none at or past it — then the
 * writer gets SIGXFSZ and the call fails with EFBIG.
 */
export function fsizeWritable(k: Kernel, p: Proc, pos: number, count: number): number {
  const limit = p.rlim.cur[RLIMIT_FSIZE]!;
  if (limit === Infinity || count === 0) return count;
  if (pos >= limit) fsizeExceeded(k, p);
  return Math.min(count, limit - pos);
}

/** A file may not grow to `newSize` (Linux inode_newsize_ok): SIGXFSZ and EFBIG. */
export function fsizeCheckGrow(k: Kernel, p: Proc, oldSize: number, newSize: number): void {
  if (newSize <= oldSize) return;
  const limit = p.rlim.cur[RLIMIT_FSIZE]!;
  if (limit !== Infinity && newSize > limit) fsizeExceeded(k, p);
}

function fsizeExceeded(k: Kernel, p: Proc): never {
  psignal(k, p, SIGXFSZ);
  throw err(EFBIG);
}

// ---- /proc/PID/limits ----------------------------------------------------------------------

/** The text of /proc/PID/limits, in Linux's layout (proc_pid_limits). */
export function formatLimits(r: Rlimits): string {
  const val = (v: number): string => (v === Infinity ? 'unlimited' : String(v));
  let s = `${'Limit'.padEnd(25)} ${'Soft Limit'.padEnd(20)} ${'Hard Limit'.padEnd(20)} ${'Units'.padEnd(10)}\n`;
  for (let i = 0; i < RLIM_NLIMITS; i++) {
    const [name, unit] = LNAMES[i]!;
    s += `${name.padEnd(25)} ${val(r.cur[i]!).padEnd(20)} ${val(r.max[i]!).padEnd(20)} `;
    s += unit === '' ? '\n' : `${unit.padEnd(10)}\n`;
  }
  return s;
}
