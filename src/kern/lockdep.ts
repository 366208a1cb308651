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
 * Reports go to dmesg at level 'err' and to `reports` (structured). In
 * strict mode each report is followed by `k.panic(message)`.
 *
 * Switching it on (read once, in the Kernel constructor, from the
 * `lockdep` host parameter — `getParam('lockdep')`):
 *   unset, '1', 'on'   on, reporting (the default: tests get it for free)
 *   'strict'           on, and every report panics
 *   'fast'             on, reporting, but a stack is captured only when a
 *                      new order edge or a report needs it: held locks keep
 *                      no site, so a report names the two acquisitions that
 *                      form the cycle but not where the held locks were taken
 *   '0', 'off'         off: `k.lockdep` is null, locks skip all of this
 * Off, locks still check ownership (release by a non-owner or a double
 * release panics) but record no sites, no graph and no held lists.
 *
 * Cost when on: one `new Error()` per acquisition (V8 captures the frames
 * then and formats them lazily, only when a report prints them) — a few µs,
 * most of lockdep's cost — plus a graph lookup per lock already held, and a
 * breadth-first search only the first time a new class pair is seen. In
 * 'fast' mode the steady state (no new class pairs) captures nothing.
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
}

export type HeldMode = 'excl' | 'shared';

/** One lock a thread holds. */
interface Held {
  readonly lock: LockdepLock;
  /** Graph node: class name, plus "/n" for subclass n > 0. */
  readonly key: string;
  readonly mode: HeldMode;
  /** Where it was acquired (frames captured, formatted lazily); null in fast mode. */
  readonly site: Error | null;
}

/** A recorded order: `to` was acquired while `from` was held. */
interface Edge {
  readonly from: string;
  readonly to: string;
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

export type LockdepReportKind = 'order-cycle' | 'recursive' | 'bad-unlock' | 'held-at-return';

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
   * order-cycle only: the earlier recorded path from the wanted class back
   * to the held class (each edge with both of its sites).
   */
  cycle: LockdepEdge[];
  /** The whole report as printed to dmesg. */
  message: string;
}

/** Most reports kept; later ones only count. */
const MAX_REPORTS = 1000;

export class Lockdep {
  readonly k: Kernel;
  /** Panic after every report. */
  strict: boolean;
  /** Capture stacks only for new edges and reports (lockdep=fast). */
  readonly fast: boolean;
  readonly reports: LockdepReport[] = [];
  /** Reports not kept because `reports` was full. */
  droppedReports = 0;
  /** Every class seen, by name. */
  readonly classes = new Map<string, LockClass>();
  /** The order graph: from → (to → first edge seen). */
  private readonly edges = new Map<string, Map<string, Edge>>();
  /** Held locks per thread; a thread is here only while it holds something. */
  private readonly held = new Map<Lwp, Held[]>();
  /** Cycle reports already made, "from->to", so a loop reports once. */
  private readonly reported = new Set<string>();

  constructor(k: Kernel, strict = false, fast = false) {
    this.k = k;
    this.strict = strict;
    this.fast = fast;
  }

  /** Build the validator the `lockdep` host parameter asks for (null = off). */
  static fromParam(k: Kernel): Lockdep | null {
    const v = k.hyper.getParam('lockdep');
    if (v === '0' || v === 'off') return null;
    if (v === 'strict') return new Lockdep(k, true);
    if (v === 'fast') return new Lockdep(k, false, true);
    if (v !== undefined && v !== '1' && v !== 'on') k.log('warning', `lockdep: unknown lockdep=${JSON.stringify(v)}, using on (reporting)`);
    return new Lockdep(k, false);
  }

  // ---- the hooks locks call ---------------------------------------------------

  /**
   * Called by a lock before it may block (or before a trylock). Checks
   * recursion and, unless `trylock`, the order against every held lock
   * (a trylock cannot deadlock, so like Linux it adds no edges itself; the
   * lock, once held, orders later acquisitions). Returns the site token
   * to hand to `acquired` (null in fast mode unless one was needed).
   */
  acquire(td: Lwp, lock: LockdepLock, mode: HeldMode, subclass: number, trylock: boolean): Error | null {
    let site: Error | null = this.fast ? null : new Error('lockdep site');
    const need = (): Error => (site ??= new Error('lockdep site'));
    this.classes.set(lock.lockClass.name, lock.lockClass);
    if (trylock) return site;
    const key = nodeKey(lock.lockClass, subclass);
    const held = this.held.get(td);
    if (held === undefined) return site;
    for (const h of held) {
      if (h.lock === lock) {
        this.report('recursive', td, lock, key, need(), held, [],
          `recursive locking: ${threadName(td)} acquires ${lock.kind} ${lock.name} (${mode}) which it already holds (${h.mode}) — a certain deadlock`);
        continue;
      }
      if (h.key === key) {
        this.report('recursive', td, lock, key, need(), held, [],
          `possible recursive locking: ${threadName(td)} acquires ${lock.kind} ${lock.name} of class ${key} while holding ${h.lock.name} of the same class (annotate nesting with a subclass)`);
        continue;
      }
      this.addEdge(td, h, lock, key, need, held);
    }
    return site;
  }

  /** Called by a lock once td owns it. */
  acquired(td: Lwp, lock: LockdepLock, mode: HeldMode, subclass: number, site: Error | null): void {
    let held = this.held.get(td);
    if (held === undefined) {
      held = [];
      this.held.set(td, held);
    }
    held.push({ lock, key: nodeKey(lock.lockClass, subclass), mode, site });
  }

  /**
   * Called by a lock when td releases it. Returns false (after reporting)
   * when td does not hold it. Release order need not be LIFO.
   */
  release(td: Lwp, lock: LockdepLock): boolean {
    const held = this.held.get(td);
    if (held !== undefined) {
      for (let i = held.length - 1; i >= 0; i--) {
        if (held[i]!.lock !== lock) continue;
        held.splice(i, 1);
        if (held.length === 0) this.held.delete(td);
        return true;
      }
    }
    this.report('bad-unlock', td, lock, lock.lockClass.name, new Error('lockdep site'), held ?? [], [],
      `bad unlock balance: ${threadName(td)} releases ${lock.kind} ${lock.name} which it does not hold`);
    return false;
  }

  // ---- queries --------------------------------------------------------------------

  /** Does td hold lock (as recorded)? */
  holds(td: Lwp, lock: LockdepLock): boolean {
    return this.held.get(td)?.some((h) => h.lock === lock) ?? false;
  }

  /** The locks td holds, oldest first, "mutex A (class A) at fn (file:line)". */
  heldBy(td: Lwp): string[] {
    return (this.held.get(td) ?? []).map(describeHeld);
  }

  /** Every held lock with its holder, for the kernel's leak report. */
  heldLocks(): string[] {
    const out: string[] = [];
    for (const [td, held] of this.held) for (const h of held) out.push(`${threadName(td)}: ${describeHeld(h)}`);
    return out;
  }

  /**
   * Report (and in strict mode panic) if td still holds locks at a point
   * where it must hold none: a system call returning, a thread exiting.
   * Returns true when nothing is held.
   */
  assertNoneHeld(td: Lwp, when = 'syscall return'): boolean {
    const held = this.held.get(td);
    if (held === undefined || held.length === 0) return true;
    this.report('held-at-return', td, null, '', new Error('lockdep site'), held, [],
      `${threadName(td)} still holds ${held.length} lock(s) at ${when}`);
    return false;
  }

  /** The recorded order edges, "A -> B" (for tests and a /proc view). */
  orderEdges(): string[] {
    const out: string[] = [];
    for (const [from, m] of this.edges) for (const to of m.keys()) out.push(`${from} -> ${to}`);
    return out;
  }

  // ---- the graph ------------------------------------------------------------------

  private addEdge(td: Lwp, h: Held, lock: LockdepLock, key: string, need: () => Error, held: Held[]): void {
    let out = this.edges.get(h.key);
    if (out?.has(key)) return;
    const site = need();
    // Adding h.key → key closes a cycle iff key →* h.key is already recorded.
    const path = this.findPath(key, h.key);
    if (path !== null) {
      const id = `${h.key}->${key}`;
      if (this.reported.has(id)) return;
      this.reported.add(id);
      const cycle = path.map(showEdge);
      const lines = [
        `possible circular locking dependency: ${[h.key, key, ...path.map((e) => e.to)].join(' -> ')} (no deadlock happened in this run, but these paths can deadlock)`,
        `  ${threadName(td)} is acquiring ${lock.kind} ${lock.name} (class ${key}) at ${formatSite(site)}`,
        `  while holding ${h.lock.kind} ${h.lock.name} (class ${h.key}), acquired at ${formatSite(h.site)}`,
        `  but the opposite order was recorded earlier:`,
        ...cycle.flatMap((e) => [
          `    ${e.from} -> ${e.to}, by ${e.thread}:`,
          `      ${e.to} acquired at ${e.acquireSite}`,
          `      while holding ${e.from}, acquired at ${e.heldSite}`,
        ]),
      ];
      this.report('order-cycle', td, lock, key, site, held, cycle, lines.join('\n'));
      return; // the graph stays acyclic; the same pair is not reported twice
    }
    if (out === undefined) {
      out = new Map();
      this.edges.set(h.key, out);
    }
    out.set(key, { from: h.key, to: key, heldSite: h.site, acquireSite: site, thread: threadName(td) });
  }

  /** Breadth-first path from → … → to in the order graph, or null. Bounded by the number of edges. */
  private findPath(from: string, to: string): Edge[] | null {
    const via = new Map<string, Edge | null>([[from, null]]);
    const queue = [from];
    for (let i = 0; i < queue.length; i++) {
      const n = queue[i]!;
      if (n === to) {
        const path: Edge[] = [];
        for (let e = via.get(n)!; e !== null; e = via.get(e.from)!) path.push(e);
        return path.reverse();
      }
      for (const [next, e] of this.edges.get(n) ?? []) {
        if (via.has(next)) continue;
        via.set(next, e);
        queue.push(next);
      }
    }
    return null;
  }

  // ---- reporting ------------------------------------------------------------------

  private report(
    kind: LockdepReportKind, td: Lwp, lock: LockdepLock | null, key: string, site: Error, held: Held[], cycle: LockdepEdge[], headline: string,
  ): void {
    const heldOut = held.map((h) => ({ lock: h.lock.name, lockClass: h.key, site: formatSite(h.site) }));
    const at = formatSite(site);
    const lines = [`lockdep: ${headline}`];
    if (kind !== 'order-cycle') lines.push(`  at ${at}`);
    if (heldOut.length > 0 && kind !== 'order-cycle') {
      lines.push(`  locks held by ${threadName(td)}:`);
      for (const h of held) lines.push(`    ${describeHeld(h)}`);
    }
    const message = lines.join('\n');
    const r: LockdepReport = { kind, thread: threadName(td), lock: lock?.name ?? '', lockClass: key, site: at, held: heldOut, cycle, message };
    if (this.reports.length < MAX_REPORTS) this.reports.push(r);
    else this.droppedReports++;
    this.k.log('err', message);
    if (this.strict) this.k.panic(message);
  }
}

// ---- helpers ------------------------------------------------------------------------

function nodeKey(cls: LockClass, subclass: number): string {
  return subclass === 0 ? cls.name : `${cls.name}/${subclass}`;
}

export function threadName(td: Lwp): string {
  return `${td.name}[${td.tid}]`;
}

function describeHeld(h: Held): string {
  return `${h.lock.kind} ${h.lock.name} (class ${h.key}${h.mode === 'shared' ? ', shared' : ''}) acquired at ${formatSite(h.site)}`;
}

function showEdge(e: Edge): LockdepEdge {
  return { from: e.from, to: e.to, heldSite: formatSite(e.heldSite), acquireSite: formatSite(e.acquireSite), thread: e.thread };
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
  if (e === null) return '<site not recorded: lockdep=fast>';
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
