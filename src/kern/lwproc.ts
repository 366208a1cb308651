/**
 * Process contexts for library callers (rump_lwproc(3)): create a process
 * with given credentials, make it current for `k.sys`, or hold a handle
 * whose own `sys` always acts as that process.
 *
 * rfork's fd modes follow rump's RUMP_RFFD_*: 'copy' (fork-style copy),
 * 'share' (one table for both), 'clean' (start with no descriptors).
 * `exe` names the child's executable image (/proc/<pid>/exe); without it
 * the child inherits the parent's, as fork does.
 * `CredProcs` keeps one process per outside caller's credentials for
 * server frontends.
 * Credentials: a process may create children with its own credentials;
 * different ones need euid 0 in the parent (otherwise EPERM) — a client
 * cannot raise its credentials this way.
 */
import { EINVAL, EPERM, err } from './errno.ts';
import { Cred, type Proc, teardownTree } from './proc.ts';
import { Lwp } from './sched.ts';
import { buildSys, type ProcRef } from './syscall.ts';
import type { Kernel } from './kernel.ts';

export interface RforkOpts {
  /** Parent process (default: the library's current process). */
  parent?: Proc;
  fd?: 'copy' | 'share' | 'clean';
  uid?: number;
  gid?: number;
  groups?: number[];
  comm?: string;
  /**
   * Path of the executable image for /proc/<pid>/exe (absolute, no NUL:
   * else EINVAL); default: the parent's (null — no image — for library processes).
   */
  exe?: string;
}

/** A process as the library sees it: its pid and a `sys` bound to it. */
export class ProcHandle {
  readonly proc: Proc;
  readonly sys: Record<string, (...args: unknown[]) => Promise<unknown>>;

  constructor(k: Kernel, proc: Proc) {
    this.proc = proc;
    const ref: ProcRef = { proc };
    this.sys = buildSys(k, ref);
  }

  get pid(): number {
    return this.proc.pid;
  }
}

export function rfork(k: Kernel, opts: RforkOpts = {}): Proc {
  const parent = opts.parent ?? k.cur.proc;
  const pc = parent.cred;
  let cred: Cred;
  if (opts.uid === undefined && opts.gid === undefined && opts.groups === undefined) cred = pc.clone();
  else {
    const uid = opts.uid ?? pc.uid;
    const gid = opts.gid ?? pc.gid;
    const groups = opts.groups ?? pc.groups;
    const same = uid === pc.uid && uid === pc.euid && gid === pc.gid && gid === pc.egid &&
      groups.length === pc.groups.length && groups.every((g) => pc.groups.includes(g));
    if (!same && pc.euid !== 0) throw err(EPERM);
    for (const v of [uid, gid, ...groups]) if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe) throw err(22 /* EINVAL */);
    cred = new Cred(uid, gid, [...new Set(groups)].sort((a, b) => a - b));
  }
  if (opts.exe !== undefined && (typeof opts.exe !== 'string' || !opts.exe.startsWith('/') || opts.exe.includes('\0'))) {
    throw err(EINVAL);
  }
  const p = k.newProc(parent, cred, opts.fd ?? 'copy', opts.comm);
  if (opts.exe !== undefined) p.exe = opts.exe;
  return p;
}

export interface CredProcsOpts {
  /** Command name of the processes (ps, /proc). */
  comm: string;
  /** Parent of the processes (default: proc0, the kernel's own). */
  parent?: Proc;
  /** umask of the processes (default: the parent's). */
  umask?: number;
}

/**
 * Kernel processes that run calls for outside callers, one per credential
 * set (uid, gid, supplementary groups): how a server frontend runs each
 * request as its caller, so the kernel's own permission checks and new
 * files' owners apply (rump's p2k runs each puffs request on an lwp with
 * the caller's credentials the same way). Processes start with no
 * descriptors; one that died is made again on next use.
 */
export class CredProcs {
  readonly k: Kernel;
  private readonly opts: CredProcsOpts;
  private readonly procs = new Map<string, Proc>();

  constructor(k: Kernel, opts: CredProcsOpts) {
    this.k = k;
    this.opts = opts;
  }

  /** How many processes are cached. */
  get size(): number {
    return this.procs.size;
  }

  /** The process for this credential set (made by rfork from the parent, which must be allowed to). */
  proc(uid: number, gid: number, groups: readonly number[]): Proc {
    const key = `${uid}:${gid}:${groups.join(',')}`;
    let p = this.procs.get(key);
    if (p !== undefined && p.state === 'alive') return p;
    p = rfork(this.k, { parent: this.opts.parent ?? this.k.proc0, uid, gid, groups: [...groups], fd: 'clean', comm: this.opts.comm });
    if (this.opts.umask !== undefined) p.umask = this.opts.umask;
    this.procs.set(key, p);
    return p;
  }

  /** A thread of p to run one call on; `name` shows in lockdep and trace reports. */
  thread(p: Proc, name: string): Lwp {
    return new Lwp(this.k, p, name);
  }

  /** End every process (and whatever it forked) and reap it. */
  async close(): Promise<void> {
    const ps = [...this.procs.values()];
    this.procs.clear();
    await teardownTree(this.k, ps, 0);
  }
}
