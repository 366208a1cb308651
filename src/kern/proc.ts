/**
 * Processes and credentials.
 *
 * A Proc is what a system call runs as: credentials, umask, an fd table,
 * file-system state (cwd/root, owned by the VFS faction through `fs`),
 * signal state, children and an exit status. Library callers act as a
 * process (rump's lwproc): `k.lwproc.rfork()` creates one, `switch()` makes
 * it current for `k.sys`, and each handle also has its own bound `sys`.
 *
 * Lifecycle: alive → (exit) zombie, holding only its exit status, until its
 * parent reaps it with wait4 → reaped (removed from the proc table). Orphans
 * are re-parented to the nearest living ancestor marked `subreaper` (Linux
 * PR_SET_CHILD_SUBREAPER), else to the init process (pid 1). Exit closes
 * every fd, drops the fs state, posts SIGCHLD to the parent and wakes its
 * `childq`. `teardownTree` ends a whole tree at once, for servers whose
 * client went away (Linux exit_notify / forget_original_parent).
 *
 * @guardedBy the single virtual CPU: fields change only between awaits.
 */
import type { FdTable } from './file.ts';
import type { Lwp } from './sched.ts';
import { WaitQueue } from './sched.ts';
import { SigState } from './sig.ts';
import type { Ktrace } from './ktrace.ts';
import { Rlimits } from './rlimit.ts';
import type { Kernel } from './kernel.ts';

/** Credentials (struct cred): real, effective and saved ids plus groups. */
export class Cred {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  suid: number;
  sgid: number;
  /** File-system ids (Linux fsuid/fsgid), follow euid/egid unless set. */
  fsuid: number;
  fsgid: number;
  groups: number[];

  constructor(uid = 0, gid = 0, groups: number[] = []) {
    this.uid = this.euid = this.suid = this.fsuid = uid;
    this.gid = this.egid = this.sgid = this.fsgid = gid;
    this.groups = groups.slice();
  }

  clone(): Cred {
    const c = new Cred(this.uid, this.gid, this.groups);
    c.euid = this.euid;
    c.egid = this.egid;
    c.suid = this.suid;
    c.sgid = this.sgid;
    c.fsuid = this.fsuid;
    c.fsgid = this.fsgid;
    return c;
  }

  /** Is gid the effective/fs group or one of the supplementary groups? */
  inGroup(gid: number): boolean {
    return this.fsgid === gid || this.groups.includes(gid);
  }

  get isRoot(): boolean {
    return this.fsuid === 0;
  }
}

/**
 * Per-process file-system state, owned by the VFS faction (kern only knows
 * how to copy and drop it). Shared with CLONE_FS, copied otherwise.
 */
export interface ProcFsState {
  fork(): ProcFsState;
  release(): void;
}

export type ProcState = 'alive' | 'zombie' | 'reaped';

export class Proc {
  readonly pid: number;
  parent: Proc | null;
  readonly children = new Set<Proc>();
  pgid: number;
  sid: number;
  cred: Cred;
  umask = 0o022;
  /** Short command name (comm) and argument vector, for ps and /proc. */
  comm: string;
  argv: string[] = [];
  /**
   * Path of the executable image (what /proc/<pid>/exe reads as), null for a
   * process without one — every library process today, like a Linux kernel
   * thread. Inherited by fork; set by rfork's `exe` option (and later by execve).
   */
  exe: string | null = null;
  /** Environment strings of the running image (set by execve), for /proc and ps. */
  environ: string[] = [];
  fdt: FdTable;
  fs: ProcFsState | null = null;
  readonly sig: SigState;
  state: ProcState = 'alive';
  /** wait(2) status word once a zombie (W_EXITCODE / signal encoding). */
  exitStatus = 0;
  /** Threads of this process currently asleep (signal delivery interrupts them). */
  readonly sleeping = new Set<Lwp>();
  /** The parent sleeps here in wait4 for a child to change state. */
  readonly childq: WaitQueue;
  /** Syscall trace buffer when ktrace is on for this process. */
  ktrace: Ktrace | null = null;
  /** Start time (monotonic ns) for ps and /proc. */
  readonly startNs: bigint;
  /** Resource limits (rlimit.ts): inherited from the parent. */
  rlim: Rlimits;
  /** The real uid this process is counted against for RLIMIT_NPROC (-1: none). */
  chargedUid = -1;
  /** Per-faction extension slots (e.g. 'net' socket state); keyed by faction. */
  readonly ext = new Map<string, unknown>();
  /**
   * Orphaned descendants are re-parented here rather than to init (Linux
   * prctl PR_SET_CHILD_SUBREAPER), so a tree stays whole for its owner.
   */
  subreaper = false;

  constructor(pid: number, parent: Proc | null, cred: Cred, fdt: FdTable, comm: string, startNs: bigint) {
    this.pid = pid;
    this.parent = parent;
    this.cred = cred;
    this.fdt = fdt;
    this.comm = comm;
    this.pgid = parent ? parent.pgid : pid;
    this.sid = parent ? parent.sid : pid;
    this.sig = new SigState(this);
    this.rlim = parent ? parent.rlim.clone() : new Rlimits();
    this.childq = new WaitQueue(`wait:${pid}`);
    this.startNs = startNs;
  }

  get ppid(): number {
    return this.parent ? this.parent.pid : 0;
  }
}

/**
 * End process trees as a unit — what a server does when the client owning
 * them goes away (a hangup of the whole tree): every process reachable from
 * `roots` through children (zombies included), except those `keep` says
 * belong elsewhere (and what is below them), exits with wait status
 * `status`, deepest first, and is then reaped, for nobody is left to wait
 * for it. Returns the pids ended. Bounded by the process table's size.
 */
export async function teardownTree(k: Kernel, roots: Iterable<Proc>, status: number, keep?: (p: Proc) => boolean): Promise<number[]> {
  const order: Proc[] = [];
  const seen = new Set<Proc>();
  const skip = (p: Proc): boolean => seen.has(p) || p.state === 'reaped' || p.pid === 0 || p === k.initproc || keep?.(p) === true;
  // Post-order without recursion (a chain of forks may be deep): a process
  // is pushed after all of its children.
  for (const r of [...roots].reverse()) {
    if (skip(r)) continue;
    seen.add(r);
    const stack: [Proc, Proc[]][] = [[r, [...r.children]]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const c = top[1].pop();
      if (c === undefined) {
        stack.pop();
        order.push(top[0]);
      } else if (!skip(c)) {
        seen.add(c);
        stack.push([c, [...c.children]]);
      }
    }
  }
  for (const p of order) await k.exitProc(p, status);
  for (const p of order) if (p.state === 'zombie') k.reap(p);
  return order.map((p) => p.pid);
}
