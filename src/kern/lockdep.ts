/**
 * lockdep: the lock-order validator (after Linux kernel/locking/lockdep.c).
 *
 * Locks belong to *classes* (`new LockClass('vnode')`): every vnode lock is
 * one class, every pipe lock another. lockdep does not reason about lock
 * instances but about the order in which classes are taken. Whenever a
 * thread acquires a lock of class B while holding one of class A, the edge
 * A → B goes into a per-kernel graph, remembering where both were acquired
 * (the *sites*). If some later acquisition would add an edge that closes a
 * cycle (B held, A wanted, while A → … → B is already recorded), the two
 * code paths can deadlock against each other, whether or not they happened
 * to in this run, and lockdep reports it with both acquisition sites.
 *
 * The published lock order (lock_order.ts, explained in README.md) is
 * checked too: an acquisition that goes up that list is reported the first
 * time it happens ('order-violation'), even before any code path has taken
 * the two classes the other way; classes not on the list are ordered by
 * observation alone.
 *
 * It also reports:
 *   - recursive locking: taking a lock the thread already holds (a certain
 *     self-deadlock), or a second lock of the same class without a
 *     `subclass` annotation (Linux "possible recursive locking detected";
 *     nest two vnodes as subclass 0 and 1, like mutex_lock_nested());
 *   - releasing a lock the thread does not hold;
 *   - locks still held when a system call returns or a kernel thread exits
 *     (`assertNoneHeld`), and every held lock for the kernel's leak report
 *     (`heldLocks`).
 *
 * Every acquisition feeds it — the uncontended one that never sleeps as
 * much as the one that waits — because locks call `acquire` before they
 * decide whether to sleep. Only a trylock adds no edge *into* itself (it
 * cannot deadlock), but it is held like any other lock, so what is taken
 * under it is ordered after it.
 *
 * Reports go to dmesg at level 'err' and to `reports` (structured). In
 * strict mode each report is followed by `k.panic(message)`.
 *
 * Switching it on (read once, in the Kernel constructor, from the
 * `lockdep` host parameter — `getParam('lockdep')`; the hosts choose the
 * default, see src/kern/README.md): a comma-separated list of
 *   'on' ('1')    validate and report (unset means on)
 *   'strict'      on, and every report panics
 *   'full'        on, and every acquisition records where it happened, so a
 *                 report also says where each *held* lock was taken
 *   'off' ('0')   off: `k.lockdep` is null, locks skip all of this
 * Off, locks still check ownership (release by a non-owner or a double
 * release panics) but record no sites, no graph and no held lists.
 *
 * Cost when on: per acquisition, one Map lookup per lock already held (is
 * this class pair known?) and a push on the thread's held stack (arrays
 * reused, no allocation). A class pair seen for the first time captures a
 * stack (`new Error()`, a few µs; V8 formats it only if a report prints
 * it) and runs a breadth-first search for a cycle. So a report always
 * names both acquisitions that form the cycle; where the locks the thread
 * was already holding were taken is known only under 'full', which pays
 * the stack capture on every acquisition.
 *
 * Read-write locks are tracked like mutexes, shared and exclusive alike:
 * with writer preference (lock.ts) a reader can block behind a waiting
 * writer, so read-after-read inversions are real deadlocks too.
 * Semaphores have no owner and are not tracked (as in Linux).
 *
 * @guardedBy the single virtual CPU: every method runs to completion
 * without awaiting.
 *
 * Not supported: Linux's irq-context state tracking (there are no
 * interrupts, only upcalls, which may not sleep), lock chains cached by
 * hash, and turning itself off after the first report.
 */
import type { Kernel } from './kernel.ts';
import type { Lwp } from './sched.ts';
import { LOCK_ORDER } from './lock_order.ts';

/**
 * A lock class: the unit lockdep orders. Immutable, so a module may keep
 * its classes as constants shared by several kernels; the order graph is
 * per kernel. Classes are identified by name: two LockClass objects with
 * the same name are the same class.
 */
export class LockClass {
  readonly name: string;
  /** What the locks of this class protect (for the published lock order). */
  readonly description: string;

  constructor(name: string, description = '') {
    if (name.length === 0 || name.includes('/')) throw new RangeError(`bad lock class name ${JSON.stringify(name)}`);
    this.name = name;
    this.description = description;
  }
}

/** What lockdep needs from a lock instance (Mutex and RwLock implement it). */
export interface LockdepLock {
  /** Instance name, e.g. "vnode 12". */
  readonly name: string;
  readonly lockClass: LockClass;
  /** 'mutex' | 'rwlock', for messages. */
  readonly kind: string;
  /** lockdep's id for `lockClass` in the lock's kernel, cached on first acquisition; -1 before. */
  lockdepClass: number;
}

export type HeldMode = 'excl' | 'shared';

/**
 * The locks one thread holds, oldest first, as parallel arrays (lock, class
 * node, mode, site). Hung on `Lwp.held` while the thread holds anything and
 * returned to a small per-kernel pool when it holds nothing, so steady-state
 * acquisition allocates nothing here.
 * @guardedBy the single virtual CPU
 */
export class HeldStack {
  n = 0;
  /** The thread it hangs on (null while spare). */
  td: Lwp | null = null;
  /** Its index in Lockdep's in-use list while it hangs on a thread. */
  slot = -1;
  readonly locks: (LockdepLock | null)[] = [];
  /** Class node: class id × SUBCLASSES + subclass. */
  readonly nodes: number[] = [];
  readonly shared: boolean[] = [];
  /** Where each was acquired (frames captured, formatted lazily); null unless captured. */
  readonly sites: (Error | null)[] = [];

  push(lock: LockdepLock, node: number, shared: boolean, site: Error | null): void {
    const i = this.n++;
    this.locks[i] = lock;
    this.nodes[i] = node;
    this.shared[i] = shared;
    this.sites[i] = site;
  }

  /** Drop entry i (release order need not be LIFO). */
  remove(i: number): void {
    const last = --this.n;
    for (let j = i; j < last; j++) {
      this.locks[j] = this.locks[j + 1]!;
      this.nodes[j] = this.nodes[j + 1]!;
      this.shared[j] = this.shared[j + 1]!;
      this.sites[j] = this.sites[j + 1]!;
    }
    this.locks[last] = null;
    this.sites[last] = null;
  }
}

/** A recorded order: class node `to` was acquired while `from` was held. */
interface Edge {
  readonly from: number;
  readonly to: number;
  readonly heldSite: Error | null;
  readonly acquireSite: Error;
  readonly thread: string;
}

/** An edge as a report shows it. */
export interface LockdepEdge {
  from: string;
  to: string;
  /** Where the `from` lock had been acquired. */
  heldSite: string;
  /** Where the `to` lock was acquired while `from` was held. */
  acquireSite: string;
  thread: string;
}

export type LockdepReportKind = 'order-cycle' | 'order-violation' | 'recursive' | 'bad-unlock' | 'held-at-return';

export interface LockdepReport {
  kind: LockdepReportKind;
  /** The thread that triggered it, "name[tid]". */
  thread: string;
  /** The lock being acquired/released (instance name), or '' for held-at-return. */
  lock: string;
  /** Its class node (class name, "/n" for a subclass). */
  lockClass: string;
  /** Where the triggering operation happened ("fn (file:line)"). */
  site: string;
  /** Locks the thread held at that moment, with where each was acquired. */
  held: { lock: string; lockClass: string; site: string }[];
  /**
   * order-cycle: the earlier recorded path from the wanted class back to the
   * held class (each edge with both of its sites); order-violation: the one
   * edge that goes up the published order, with both of its sites.
   */
  cycle: LockdepEdge[];
  /** The whole report as printed to dmesg. */
  message: string;
}

/** Most reports kept; later ones only count. */
const MAX_REPORTS = 1000;
/** Nesting levels per class (lock.ts checks 0..7), as Linux MAX_LOCKDEP_SUBCLASSES. */
export const SUBCLASSES = 8;
/** Distinct class names per kernel (Linux MAX_LOCKDEP_KEYS); more means names are built dynamically. */
const MAX_CLASSES = 8192;
/** Edge keys: from × NODE_SPAN + to (nodes < MAX_CLASSES × SUBCLASSES < NODE_SPAN). */
const NODE_SPAN = 1 << 16;
/** Spare held stacks kept for reuse. */
const POOL = 64;
const SITE = 'lockdep site';

export class Lockdep {
  readonly k: Kernel;
  /** Panic after every report. */
  strict: boolean;
  /** Capture a site for every acquisition, not only for new order edges and reports (lockdep=full). */
  readonly full: boolean;
  readonly reports: LockdepReport[] = [];
  /** Reports not kept because `reports` was full. */
  droppedReports = 0;
  /** Every class seen, by name. */
  readonly classes = new Map<string, LockClass>();
  /** Class id → name (ids are per kernel, in order of first acquisition). */
  private readonly classNames: string[] = [];
  private readonly classIds = new Map<string, number>();
  /** The order graph: edge key (from × NODE_SPAN + to) → the first edge seen for that class pair. */
  private readonly edges = new Map<number, Edge>();
  /** Successors of each class node, for the cycle search. */
  private readonly succ = new Map<number, number[]>();
  /** The held stacks of threads holding at least one lock (for the leak report); unordered. */
  private readonly inUse: HeldStack[] = [];
  private readonly spare: HeldStack[] = [];
  /** Cycle reports already made, by edge key, so a loop reports once. */
  private readonly reported = new Set<number>();
  /** Published rank (LOCK_ORDER index, -1 unlisted) per class node. */
  private readonly ranks: number[] = [];
  /** The published order (LOCK_ORDER unless a test gives its own). */
  private readonly order: readonly string[];

  constructor(k: Kernel, strict = false, full = false, order: readonly string[] = LOCK_ORDER) {
    this.k = k;
    this.strict = strict;
    this.full = full;
    this.order = order;
  }

  /**
   * Build the validator the `lockdep` host parameter asks for (null = off):
   * a comma-separated list of `on` (or `1`), `strict`, `full`; or `off`/`0`.
   */
  static fromParam(k: Kernel): Lockdep | null {
    const v = k.hyper.getParam('lockdep');
    if (v === undefined) return new Lockdep(k);
    if (v === '0' || v === 'off') return null;
    let strict = false;
    let full = false;
    for (const w of v.split(',')) {
      const word = w.trim();
      if (word === 'strict') strict = true;
      else if (word === 'full') full = true;
      else if (word !== 'on' && word !== '1' && word !== 'fast') {
        k.log('warning', `lockdep: unknown lockdep=${JSON.stringify(v)} (want off, on, strict, full or a comma list of them); using on`);
      }
    }
    return new Lockdep(k, strict, full);
  }

  // ---- the hooks locks call ---------------------------------------------------

  /**
   * Called by a lock for every acquisition, before it may block, on the
   * uncontended path too. Checks recursion and records an order edge from
   * every lock td holds — unless `trylock`: a trylock cannot deadlock, so
   * like Linux it gets no edge into it, but once held it orders later
   * acquisitions. An edge seen before costs one Map lookup per held lock;
   * a new one captures a site and searches for a cycle. Returns the site
   * to hand to `acquired` (null unless captured).
   */
  acquire(td: Lwp, lock: LockdepLock, mode: HeldMode, subclass: number, trylock: boolean): Error | null {
    let site: Error | null = this.full ? new Error(SITE) : null;
    const node = this.nodeOf(lock, subclass);
    const held = td.held;
    if (held === null || trylock) return site;
    for (let i = 0; i < held.n; i++) {
      const hn = held.nodes[i]!;
      if (held.locks[i] === lock) {
        site ??= new Error(SITE);
        this.report('recursive', td, lock, node, site, [],
          `recursive locking: ${threadName(td)} acquires ${lock.kind} ${lock.name} (${mode}) which it already holds (${held.shared[i] ? 'shared' : 'excl'}) — a certain deadlock`);
        continue;
      }
      if (hn === node) {
        site ??= new Error(SITE);
        this.report('recursive', td, lock, node, site, [],
          `possible recursive locking: ${threadName(td)} acquires ${lock.kind} ${lock.name} of class ${this.nodeName(node)} while holding ${held.locks[i]!.name} of the same class (annotate nesting with a subclass)`);
        continue;
      }
      if (this.edges.has(hn * NODE_SPAN + node)) continue;
      site ??= new Error(SITE);
      this.addEdge(td, held, i, lock, node, site);
    }
    return site;
  }

  /** Called by a lock once td owns it. */
  acquired(td: Lwp, lock: LockdepLock, mode: HeldMode, subclass: number, site: Error | null): void {
    let held = td.held;
    if (held === null) {
      held = this.spare.pop() ?? new HeldStack();
      held.td = td;
      held.slot = this.inUse.length;
      this.inUse.push(held);
      td.held = held;
    }
    held.push(lock, this.nodeOf(lock, subclass), mode === 'shared', site);
  }

  /**
   * Called by a lock when td releases it. Returns false (after reporting)
   * when td does not hold it. Release order need not be LIFO.
   */
  release(td: Lwp, lock: LockdepLock): boolean {
    const held = td.held;
    if (held !== null) {
      for (let i = held.n - 1; i >= 0; i--) {
        if (held.locks[i] !== lock) continue;
        held.remove(i);
        if (held.n === 0) this.retire(td, held);
        return true;
      }
    }
    this.report('bad-unlock', td, lock, this.nodeOf(lock, 0), new Error(SITE), [],
      `bad unlock balance: ${threadName(td)} releases ${lock.kind} ${lock.name} which it does not hold`);
    return false;
  }

  /** td holds nothing any more: unhook its stack, keep it for reuse. */
  private retire(td: Lwp, held: HeldStack): void {
    td.held = null;
    const last = this.inUse.pop()!;
    if (last !== held) {
      this.inUse[held.slot] = last;
      last.slot = held.slot;
    }
    held.td = null;
    held.slot = -1;
    if (this.spare.length < POOL) this.spare.push(held);
  }

  // ---- queries --------------------------------------------------------------------

  /** Does td hold lock (as recorded)? */
  holds(td: Lwp, lock: LockdepLock): boolean {
    const held = td.held;
    if (held === null) return false;
    for (let i = 0; i < held.n; i++) if (held.locks[i] === lock) return true;
    return false;
  }

  /** The locks td holds, oldest first, "mutex A (class A) acquired at fn (file:line)". */
  heldBy(td: Lwp): string[] {
    const held = td.held;
    const out: string[] = [];
    if (held !== null) for (let i = 0; i < held.n; i++) out.push(this.describeHeld(held, i));
    return out;
  }

  /** Every held lock with its holder, for the kernel's leak report. */
  heldLocks(): string[] {
    const out: string[] = [];
    for (const held of this.inUse) for (const h of this.heldBy(held.td!)) out.push(`${threadName(held.td!)}: ${h}`);
    return out;
  }

  /**
   * Report (and in strict mode panic) if td still holds locks at a point
   * where it must hold none: a system call returning, a thread exiting.
   * Returns true when nothing is held.
   */
  assertNoneHeld(td: Lwp, when = 'syscall return'): boolean {
    const held = td.held;
    if (held === null || held.n === 0) return true;
    this.report('held-at-return', td, null, -1, new Error(SITE), [],
      `${threadName(td)} still holds ${held.n} lock(s) at ${when}`);
    return false;
  }

  /** The recorded order edges, "A -> B" (for tests and a /proc view). */
  orderEdges(): string[] {
    const out: string[] = [];
    for (const e of this.edges.values()) out.push(`${this.nodeName(e.from)} -> ${this.nodeName(e.to)}`);
    return out;
  }

  /** Class node name: the class name, plus "/n" for subclass n > 0. */
  nodeName(node: number): string {
    const sub = node % SUBCLASSES;
    const name = this.classNames[(node - sub) / SUBCLASSES] ?? '?';
    return sub === 0 ? name : `${name}/${sub}`;
  }

  // ---- the graph ------------------------------------------------------------------

  private nodeOf(lock: LockdepLock, subclass: number): number {
    let id = lock.lockdepClass;
    // The cached id is this validator's only if its name matches (a kernel may get a new Lockdep).
    if (id < 0 || this.classNames[id] !== lock.lockClass.name) {
      const cls = lock.lockClass;
      let known = this.classIds.get(cls.name);
      if (known === undefined) {
        known = this.classNames.length;
        if (known >= MAX_CLASSES) this.k.panic(`lockdep: more than ${MAX_CLASSES} lock classes (is a class name built per instance? ${cls.name})`);
        this.classNames.push(cls.name);
        this.classIds.set(cls.name, known);
        this.classes.set(cls.name, cls);
      }
      id = known;
      lock.lockdepClass = id;
    }
    return id * SUBCLASSES + subclass;
  }

  /** The node's place in the published order, or -1. */
  private rank(node: number): number {
    let r = this.ranks[node];
    if (r === undefined) {
      r = this.order.indexOf(this.nodeName(node));
      this.ranks[node] = r;
    }
    return r;
  }

  private addEdge(td: Lwp, held: HeldStack, i: number, lock: LockdepLock, node: number, site: Error): void {
    const from = held.nodes[i]!;
    const key = from * NODE_SPAN + node;
    // Adding from → node closes a cycle iff node →* from is already recorded.
    const path = this.findPath(node, from);
    if (path !== null) {
      if (this.reported.has(key)) return;
      this.reported.add(key);
      const cycle = path.map((e) => this.showEdge(e));
      const h = held.locks[i]!;
      const lines = [
        `possible circular locking dependency: ${[from, node, ...path.map((e) => e.to)].map((n) => this.nodeName(n)).join(' -> ')} (no deadlock happened in this run, but these paths can deadlock)`,
        `  ${threadName(td)} is acquiring ${lock.kind} ${lock.name} (class ${this.nodeName(node)}) at ${formatSite(site)}`,
        `  while holding ${h.kind} ${h.name} (class ${this.nodeName(from)}), acquired at ${formatSite(held.sites[i]!)}`,
        `  but the opposite order was recorded earlier:`,
        ...cycle.flatMap((e) => [
          `    ${e.from} -> ${e.to}, by ${e.thread}:`,
          `      ${e.to} acquired at ${e.acquireSite}`,
          `      while holding ${e.from}, acquired at ${e.heldSite}`,
        ]),
      ];
      this.report('order-cycle', td, lock, node, site, cycle, lines.join('\n'));
      return; // the graph stays acyclic; the same pair is not reported twice
    }
    const rf = this.rank(from), rt = this.rank(node);
    if (rf >= 0 && rt >= 0 && rf >= rt) {
      // Against the published order: a report now, although no run has taken the two the other way yet.
      if (this.reported.has(key)) return;
      this.reported.add(key);
      const h = held.locks[i]!;
      const edge = this.showEdge({ from, to: node, heldSite: held.sites[i]!, acquireSite: site, thread: threadName(td) });
      this.report('order-violation', td, lock, node, site, [edge], [
        `lock order violation: ${this.nodeName(from)} -> ${this.nodeName(node)} goes up the published lock order (src/kern/lock_order.ts: ${this.nodeName(node)} comes before ${this.nodeName(from)})`,
        `  ${threadName(td)} is acquiring ${lock.kind} ${lock.name} (class ${this.nodeName(node)}) at ${edge.acquireSite}`,
        `  while holding ${h.kind} ${h.name} (class ${this.nodeName(from)}), acquired at ${edge.heldSite}`,
      ].join('\n'));
      return; // not recorded: the graph keeps only orders the list allows
    }
    this.edges.set(key, { from, to: node, heldSite: held.sites[i]!, acquireSite: site, thread: threadName(td) });
    let out = this.succ.get(from);
    if (out === undefined) {
      out = [];
      this.succ.set(from, out);
    }
    out.push(node);
  }

  /** Breadth-first path from → … → to in the order graph, or null. Bounded by the number of edges. */
  private findPath(from: number, to: number): Edge[] | null {
    const via = new Map<number, Edge | null>([[from, null]]);
    const queue = [from];
    for (let i = 0; i < queue.length; i++) {
      const n = queue[i]!;
      if (n === to) {
        const path: Edge[] = [];
        for (let e = via.get(n)!; e !== null; e = via.get(e.from)!) path.push(e);
        return path.reverse();
      }
      for (const next of this.succ.get(n) ?? []) {
        if (via.has(next)) continue;
        via.set(next, this.edges.get(n * NODE_SPAN + next)!);
        queue.push(next);
      }
    }
    return null;
  }

  // ---- reporting ------------------------------------------------------------------

  private report(
    kind: LockdepReportKind, td: Lwp, lock: LockdepLock | null, node: number, site: Error, cycle: LockdepEdge[], headline: string,
  ): void {
    const held = td.held;
    const heldOut: LockdepReport['held'] = [];
    if (held !== null) {
      for (let i = 0; i < held.n; i++) heldOut.push({ lock: held.locks[i]!.name, lockClass: this.nodeName(held.nodes[i]!), site: formatSite(held.sites[i]!) });
    }
    const at = formatSite(site);
    const lines = [`lockdep: ${headline}`];
    const ordered = kind === 'order-cycle' || kind === 'order-violation';
    if (!ordered) lines.push(`  at ${at}`);
    if (heldOut.length > 0 && !ordered) {
      lines.push(`  locks held by ${threadName(td)}:`);
      for (const h of this.heldBy(td)) lines.push(`    ${h}`);
    }
    const message = lines.join('\n');
    const r: LockdepReport = {
      kind, thread: threadName(td), lock: lock?.name ?? '', lockClass: node < 0 ? '' : this.nodeName(node), site: at, held: heldOut, cycle, message,
    };
    if (this.reports.length < MAX_REPORTS) this.reports.push(r);
    else this.droppedReports++;
    this.k.log('err', message);
    if (this.strict) this.k.panic(message);
  }

  private describeHeld(held: HeldStack, i: number): string {
    const l = held.locks[i]!;
    return `${l.kind} ${l.name} (class ${this.nodeName(held.nodes[i]!)}${held.shared[i] ? ', shared' : ''}) acquired at ${formatSite(held.sites[i]!)}`;
  }

  private showEdge(e: Edge): LockdepEdge {
    return { from: this.nodeName(e.from), to: this.nodeName(e.to), heldSite: formatSite(e.heldSite), acquireSite: formatSite(e.acquireSite), thread: e.thread };
  }
}

// ---- helpers ------------------------------------------------------------------------

export function threadName(td: Lwp): string {
  return `${td.name}[${td.tid}]`;
}

/** Frames inside the lock machinery, skipped when naming a site. */
const INTERNAL = /[/\\]kern[/\\]lock(dep)?\.ts$/;
/** "    at fn (file:line:col)", "    at async fn (file:line:col)" or "    at file:line:col". */
const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/;

/** Frames a site shows: the acquiring line and its callers (a wrapper like vlock() is not the whole story). */
const SITE_FRAMES = 3;

/**
 * A captured stack as a short site: the first SITE_FRAMES frames outside
 * lock.ts/lockdep.ts, innermost first, "fn (src/dir/file.ts:line) < caller
 * (file:line) < ...", paths cut to start at src/, test/, bench/ or tools/
 * when they can be.
 */
export function formatSite(e: Error | null): string {
  if (e === null) return '<site not recorded: lockdep=full records it>';
  const stack = e.stack ?? '';
  const out: string[] = [];
  for (const line of stack.split('\n').slice(1)) {
    const m = FRAME.exec(line);
    if (m === null) continue;
    const file = m[2]!.replace(/^file:\/\//, '');
    if (INTERNAL.test(file) || file.startsWith('node:') || file.includes('/node_modules/')) continue;
    const where = `${shortPath(file)}:${m[3]}`;
    out.push(m[1] ? `${m[1]} (${where})` : where);
    if (out.length === SITE_FRAMES) break;
  }
  return out.length > 0 ? out.join(' < ') : '<unknown site>';
}

function shortPath(file: string): string {
  for (const dir of ['/src/', '/test/', '/bench/', '/tools/']) {
    const i = file.lastIndexOf(dir);
    if (i >= 0) return file.slice(i + 1);
  }
  return file;
}
