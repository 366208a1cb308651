/**
 * The Kernel object: one instance of the whole kernel. Everything hangs off
 * it — there is no process-global kernel state — so several kernels live in
 * one Node process (two TCP stacks over a simulated wire, a test's reference
 * kernel beside the one under test).
 *
 * Boot (see component.ts for phases):
 *   new Kernel(hyper) → proc0 (the kernel itself, pid 0) and the base
 *   services exist → components init in phase order → init process (pid 1),
 *   the library caller's default process, is created → k.sys is built.
 *
 * Shutdown runs component shutdowns in reverse, exits every process, and
 * returns a leak report (open files, held locks, live kernel threads,
 * processes) like a teaching kernel that checks for leaks at halt.
 */
import { DEFAULT_POOL_MAX, PagePool } from './pagepool.ts';
import type { Hypercalls } from '../hyper/types.ts';
import { type Component, orderComponents } from './component.ts';
import { Cred, Proc } from './proc.ts';
import { FdTable } from './file.ts';
import { MsgBuf, type LogLevel } from './msgbuf.ts';
import { SysctlTree } from './sysctl.ts';
import { SyscallTable, buildSys, type ProcRef } from './syscall.ts';
import { Lwp, WaitQueue } from './sched.ts';
import { EAGAIN, ENOMEM, err } from './errno.ts';
import { Lockdep } from './lockdep.ts';
import { sigExit } from './sig_post.ts';
import { MemAccount, PROC_COST } from './memacct.ts';
import { RLIMIT_NOFILE, chargeProc, checkNproc, initRlimits, unchargeProc } from './rlimit.ts';

export const PID_MAX = 4_194_304;

/** A running kernel thread (kthread_create). */
export interface KThread {
  readonly name: string;
  readonly td: Lwp;
  readonly done: Promise<void>;
}

export interface LeakReport {
  /** Descriptors still open, per pid: "pid 3: fd 4 (pipe)". */
  openFiles: string[];
  /** Locks still held, with the holder. */
  heldLocks: string[];
  /** Kernel threads still running. */
  liveThreads: string[];
  /** Processes other than init still alive or unreaped. */
  processes: string[];
  /** Everything the subsystems reported (vnodes still referenced...). */
  other: string[];
  /** True when every list is empty. */
  clean: boolean;
}

/** A subsystem's contribution to the leak report, registered at init. */
export type LeakCheck = (k: Kernel) => string[];

/** Hooks factions install to follow process lifecycles (kern knows no factions). */
export interface ProcHooks {
  fork?(parent: Proc, child: Proc): void;
  exit?(p: Proc): void | Promise<void>;
}

export class Kernel {
  readonly hyper: Hypercalls;
  readonly syscalls = new SyscallTable();
  readonly sysctl = new SysctlTree();
  readonly msgbuf = new MsgBuf();
  readonly procs = new Map<number, Proc>();
  /** What the kernel's subsystems hold, against the memory limit (memacct.ts). */
  readonly mem: MemAccount;
  /** Processes per real uid, alive or zombie (RLIMIT_NPROC; rlimit.ts). */
  readonly nprocByUid = new Map<number, number>();
  readonly proc0: Proc;
  /** The init process (pid 1): the library caller's first process, reaper of orphans. */
  initproc!: Proc;
  readonly components = new Map<string, Component>();
  readonly procHooks: ProcHooks[] = [];
  readonly leakChecks: LeakCheck[] = [];
  readonly kthreads = new Set<KThread>();
  /** Monotonic ns at boot; uptime is measured from here. */
  readonly bootNs: bigint;
  /** Faction registries (interfaces defined in kern, filled by factions). */
  readonly registry = new Map<string, unknown>();
  /** Pages for file data (pagepool.ts); free pages kept up to the host parameter pagepool_max (bytes). */
  readonly pages: PagePool;
  /** Lock-order validator (lockdep.ts), null when off: the host parameter `lockdep`, read in the constructor (defaults: README). */
  lockdep: Lockdep | null = null;
  private nextPid = 1;
  private bootDone = false;
  shuttingDown = false;
  /** The current process of library callers (rump's curlwp's process). */
  readonly cur: ProcRef;
  /** System calls as the current library process (rebuilt when factions register). */
  sys: Record<string, (...args: unknown[]) => Promise<unknown>> = Object.create(null);

  constructor(hyper: Hypercalls) {
    this.hyper = hyper;
    this.bootNs = hyper.clockMonotonic();
    this.mem = new MemAccount(Number(hyper.getParam('memlimit') ?? '0'));
    this.proc0 = new Proc(0, null, new Cred(0, 0), new FdTable(), 'kernel', this.bootNs);
    this.proc0.rlim = initRlimits(this);
    this.proc0.fdt.limit = this.proc0.rlim.cur[RLIMIT_NOFILE]!;
    this.procs.set(0, this.proc0);
    this.cur = { proc: this.proc0 };
    this.lockdep = Lockdep.fromParam(this);
    const poolMax = Number(hyper.getParam('pagepool_max') ?? DEFAULT_POOL_MAX);
    this.pages = new PagePool(Number.isFinite(poolMax) && poolMax >= 0 ? poolMax : DEFAULT_POOL_MAX);
  }

  /** Initialise the given components in order, then create init (pid 1). */
  async boot(comps: readonly Component[]): Promise<void> {
    if (this.bootDone) throw new Error('kernel already booted');
    for (const c of orderComponents(comps)) {
      this.components.set(c.name, c);
      await c.init(this);
    }
    const init = this.newProc(this.proc0, new Cred(0, 0), 'copy', 'init');
    // init leads its own session and process group (Linux: pid 1, pgid 1, sid 1).
    init.pgid = init.pid;
    init.sid = init.pid;
    this.initproc = init;
    this.cur.proc = init;
    this.sys = buildSys(this, this.cur);
    this.bootDone = true;
    this.log('info', `anykernel booted on ${this.hyper.hostName} host with ${[...this.components.keys()].join(', ')}`);
  }

  // ---- messages and panics -------------------------------------------------

  log(level: LogLevel, text: string): void {
    this.msgbuf.add({ ns: this.hyper.clockMonotonic() - this.bootNs, level, text });
  }

  /** A broken invariant: log it with the kernel's state and stop. */
  panic(msg: string): never {
    this.log('emerg', `panic: ${msg}`);
    return this.hyper.panic(msg);
  }

  /** Uptime in ns. */
  uptimeNs(): bigint {
    return this.hyper.clockMonotonic() - this.bootNs;
  }

  // ---- processes -------------------------------------------------------------

  private allocPid(): number {
    for (let tries = 0; tries < PID_MAX; tries++) {
      const pid = this.nextPid;
      this.nextPid = pid + 1 >= PID_MAX ? 2 : pid + 1;
      if (!this.procs.has(pid)) return pid;
    }
    throw err(EAGAIN);
  }

  /**
   * Create a process as a child of `parent` (fork / rump_lwproc_rfork).
   * fdMode: 'copy' duplicates the fd table, 'share' shares it, 'clean'
   * starts empty. Credentials are given (already checked by the caller).
   */
  newProc(parent: Proc, cred: Cred, fdMode: 'copy' | 'share' | 'clean', comm?: string): Proc {
    checkNproc(this, parent, cred.uid);
    // fork(2) ENOMEM: "failed to allocate the necessary kernel structures because memory is tight".
    if (!this.mem.charge('procs', PROC_COST)) throw err(ENOMEM);
    let pid: number;
    try {
      pid = this.allocPid();
    } catch (e) {
      this.mem.uncharge('procs', PROC_COST);
      throw e;
    }
    let fdt: FdTable;
    if (fdMode === 'share') {
      fdt = parent.fdt;
      fdt.refs++;
    } else if (fdMode === 'copy') fdt = parent.fdt.fork();
    else fdt = new FdTable(parent.fdt.limit);
    const p = new Proc(pid, parent, cred, fdt, comm ?? parent.comm, this.hyper.clockMonotonic());
    p.umask = parent.umask;
    p.argv = parent.argv.slice();
    p.exe = parent.exe;
    p.sig.copyFrom(parent.sig);
    if (parent.fs) p.fs = parent.fs.fork();
    parent.children.add(p);
    this.procs.set(pid, p);
    chargeProc(this, p);
    for (const h of this.procHooks) h.fork?.(parent, p);
    return p;
  }

  /**
   * Terminate a process: close its files, drop its fs state, hand its
   * children to init, become a zombie and tell the parent (SIGCHLD is posted
   * by the signal code through the 'exit' hook).
   * @param status wait(2) status word
   */
  async exitProc(p: Proc, status: number): Promise<void> {
    if (p.state !== 'alive') return;
    p.state = 'zombie';
    p.exitStatus = status;
    for (const td of [...p.sleeping]) td.interrupt();
    if (--p.fdt.refs === 0) await p.fdt.closeAll(null);
    p.fs?.release();
    p.fs = null;
    for (const h of this.procHooks) await h.exit?.(p);
    const reaper = this.findReaper(p);
    for (const c of p.children) {
      c.parent = reaper;
      reaper.children.add(c);
      if (c.state === 'zombie') reaper.childq.wakeup(this);
    }
    p.children.clear();
    sigExit(this, p); // SIGCHLD to the parent, alarm off, auto-reap (sig_post.ts)
    p.parent?.childq.wakeup(this);
    if (this.cur.proc === p && p !== this.initproc) this.cur.proc = this.initproc;
  }

  /**
   * Who adopts the children of exiting p (Linux find_new_reaper): the
   * nearest living ancestor marked as a child subreaper, else init.
   */
  private findReaper(p: Proc): Proc {
    let a = p.parent;
    for (let n = 0; a !== null && n < PID_MAX; n++, a = a.parent) {
      if (a.subreaper && a.state === 'alive' && a !== p) return a;
    }
    return this.initproc && this.initproc !== p ? this.initproc : this.proc0;
  }

  /** Remove a zombie from the table (after wait4 collected it). */
  reap(p: Proc): void {
    if (p.state !== 'zombie') this.panic(`reaping pid ${p.pid} in state ${p.state}`);
    p.state = 'reaped';
    unchargeProc(this, p);
    this.mem.uncharge('procs', PROC_COST);
    p.parent?.children.delete(p);
    this.procs.delete(p.pid);
  }

  // ---- kernel threads ----------------------------------------------------------

  /** Start a kernel thread running fn (kthread_create). It runs on proc0. */
  kthreadCreate(name: string, fn: (td: Lwp) => Promise<void>): KThread {
    const td = new Lwp(this, this.proc0, name);
    let kt: KThread;
    const done = new Promise<void>((resolve) => this.hyper.schedule(resolve))
      .then(() => fn(td))
      .catch((e: unknown) => {
        this.log('err', `kthread ${name} died: ${e instanceof Error ? e.message : String(e)}`);
      })
      .finally(() => {
        this.lockdep?.assertNoneHeld(td, `exit of kthread ${name}`);
        this.kthreads.delete(kt);
      });
    kt = { name, td, done };
    this.kthreads.add(kt);
    return kt;
  }

  // ---- registries ---------------------------------------------------------------

  /** Register a faction-provided service under a name (e.g. 'vfs'). */
  provide<T>(name: string, service: T): void {
    if (this.registry.has(name)) throw new Error(`service ${name} provided twice`);
    this.registry.set(name, service);
  }

  lookup<T>(name: string): T | undefined {
    return this.registry.get(name) as T | undefined;
  }

  /** Rebuild k.sys after late registrations (used by components added after boot). */
  rebuildSys(): void {
    this.sys = buildSys(this, this.cur);
  }

  // ---- shutdown ------------------------------------------------------------------

  /** What is still held right now. */
  leakReport(): LeakReport {
    const openFiles: string[] = [];
    const processes: string[] = [];
    for (const p of this.procs.values()) {
      if (p.pid === 0) continue;
      if (p !== this.initproc) processes.push(`pid ${p.pid} (${p.comm}) ${p.state}`);
      if (p.state === 'alive') for (const [fd, f] of p.fdt.entries()) openFiles.push(`pid ${p.pid}: fd ${fd} (${f.ops.type})`);
    }
    const heldLocks = this.lockdep ? this.lockdep.heldLocks() : [];
    const liveThreads = [...this.kthreads].map((t) => t.name);
    const other: string[] = [];
    for (const c of this.leakChecks) other.push(...c(this));
    const clean = openFiles.length + heldLocks.length + liveThreads.length + processes.length + other.length === 0;
    return { openFiles, heldLocks, liveThreads, processes, other, clean };
  }

  /**
   * Halt: take the leak report first (what the caller left open), then exit
   * every process, shut components down in reverse order and stop.
   */
  async shutdown(): Promise<LeakReport> {
    const report = this.leakReport();
    this.shuttingDown = true;
    const procs = [...this.procs.values()].filter((p) => p.pid !== 0).sort((a, b) => b.pid - a.pid);
    for (const p of procs) await this.exitProc(p, 0);
    const comps = [...this.components.values()].reverse();
    for (const c of comps) await c.shutdown?.(this);
    this.log('info', 'halted');
    this.hyper.exit(0);
    return report;
  }
}

export { WaitQueue };
