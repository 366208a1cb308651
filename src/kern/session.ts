/**
 * Sessions, process groups and job control (POSIX.1-2017 §11.1 "General
 * Terminal Interface": controlling terminal, process groups, job control).
 *
 * A Proc carries its `sid` and `pgid` (setsid/setpgid in sys_prot.ts, spawn
 * attributes in exec.ts). This file adds what connects them to terminals:
 *
 *   - the controlling terminal of each session (`SessionTable.ctty`), which a
 *     tty driver in src/dev sets with TIOCSCTTY or on first open by a session
 *     leader; the terminal keeps its foreground process group;
 *   - the job-control checks a terminal makes on read, write and tcsetpgrp
 *     from a background group (SIGTTIN / SIGTTOU, or EIO for an orphaned
 *     group or an ignored/blocked signal — the rules of tty_check_change and
 *     n_tty_read in Linux, POSIX §11.1.4);
 *   - orphaned process groups (POSIX _exit(): when an exit orphans a group
 *     with a stopped member, every member gets SIGHUP then SIGCONT);
 *   - the controlling process's exit: SIGHUP to the terminal's foreground
 *     group and the terminal loses its session.
 *
 * Terminals are `Ctty` objects (an interface: kern imports no driver).
 *
 * @guardedBy the single virtual CPU: fields change only between awaits.
 */
import { EIO, EINTR, ENOTTY, EPERM, err } from './errno.ts';
import { SIGCONT, SIGHUP, SIGTTIN, SIGTTOU } from './constants.ts';
import type { Kernel } from './kernel.ts';
import type { Proc } from './proc.ts';
import type { Lwp } from './sched.ts';
import { killpg } from './sig_post.ts';
import { sigbit } from './sig.ts';

/** What kern needs of a terminal. */
export interface Ctty {
  readonly name: string;
  /** Foreground process group (tcgetpgrp); 0 when none. */
  pgrp: number;
  /** Session this terminal controls, or 0. */
  sid: number;
}

export class SessionTable {
  /** Session id → its controlling terminal. */
  readonly ctty = new Map<number, Ctty>();
}

export function sessions(k: Kernel): SessionTable {
  let t = k.lookup<SessionTable>('sessions');
  if (t === undefined) {
    t = new SessionTable();
    k.provide('sessions', t);
    k.procHooks.push({ exit: (p) => sessionExit(k, p) });
  }
  return t;
}

/** The controlling terminal of p's session, if it has one. */
export function cttyOf(k: Kernel, p: Proc): Ctty | null {
  return sessions(k).ctty.get(p.sid) ?? null;
}

/**
 * TIOCSCTTY and the implicit acquisition on open (Linux tiocsctty and
 * tty_open's O_NOCTTY rule): only a session leader without a terminal may
 * take one, and only a terminal no other session controls — unless root
 * asks to steal it (`force`).
 */
export function setCtty(k: Kernel, p: Proc, tty: Ctty, force: boolean): void {
  const t = sessions(k);
  if (p.sid !== p.pid) throw err(EPERM);
  const mine = t.ctty.get(p.sid);
  if (mine === tty) return;
  if (mine !== undefined) throw err(EPERM);
  if (tty.sid !== 0 && tty.sid !== p.sid) {
    if (!force || p.cred.euid !== 0) throw err(EPERM);
    t.ctty.delete(tty.sid);
  }
  tty.sid = p.sid;
  tty.pgrp = p.pgid;
  t.ctty.set(p.sid, tty);
}

/** May open() make this terminal p's controlling terminal? (leader, none yet, terminal free) */
export function maybeAcquireCtty(k: Kernel, p: Proc, tty: Ctty): void {
  if (p.sid === p.pid && tty.sid === 0 && !sessions(k).ctty.has(p.sid)) setCtty(k, p, tty, false);
}

/** TIOCNOTTY: give up the controlling terminal (the leader also hangs up its foreground group). */
export function dropCtty(k: Kernel, p: Proc, tty: Ctty): void {
  const t = sessions(k);
  if (t.ctty.get(p.sid) !== tty) throw err(ENOTTY);
  if (p.sid === p.pid) disassociate(k, tty);
}

function disassociate(k: Kernel, tty: Ctty): void {
  const fg = tty.pgrp;
  sessions(k).ctty.delete(tty.sid);
  tty.sid = 0;
  tty.pgrp = 0;
  if (fg > 0) {
    killpg(k, fg, SIGHUP);
    killpg(k, fg, SIGCONT);
  }
}

/**
 * Is process group `pgid` orphaned? POSIX: "a process group in which the
 * parent of every member is either itself a member of the group or is not a
 * member of the group's session". `dying` is a process that is exiting and
 * no longer counts (its children will have init as parent).
 */
export function isOrphanedPgrp(k: Kernel, pgid: number, dying: Proc | null = null): boolean {
  for (const q of k.procs.values()) {
    if (q.pgid !== pgid || q.state !== 'alive' || q === dying || q.pid === 0) continue;
    let parent = q.parent;
    if (parent === null || parent === dying || parent.state !== 'alive') parent = k.initproc ?? null;
    if (parent !== null && parent.pgid !== pgid && parent.sid === q.sid) return false;
  }
  return true;
}

function hasStopped(k: Kernel, pgid: number, dying: Proc): boolean {
  for (const q of k.procs.values()) if (q.pgid === pgid && q !== dying && q.state === 'alive' && q.sig.stopped) return true;
  return false;
}

/** The exit hook: controlling-process hangup, then orphaned groups with stopped members. */
function sessionExit(k: Kernel, p: Proc): void {
  if (k.shuttingDown) return;
  const t = sessions(k);
  if (p.sid === p.pid) {
    const tty = t.ctty.get(p.sid);
    if (tty !== undefined) disassociate(k, tty);
  }
  // The groups this exit can orphan: p's own, and those of its children (POSIX _exit()).
  const groups = new Set<number>([p.pgid]);
  for (const c of p.children) if (c.state === 'alive') groups.add(c.pgid);
  for (const g of groups) {
    if (!hasStopped(k, g, p) || !isOrphanedPgrp(k, g, p)) continue;
    killpg(k, g, SIGHUP);
    killpg(k, g, SIGCONT);
  }
}

/** Is the signal ignored or blocked by p (then job control answers EIO instead of stopping)? */
function ignoredOrBlocked(p: Proc, sig: number): boolean {
  return p.sig.actions[sig]!.handler === 1 || (p.sig.mask & sigbit(sig)) !== 0n;
}

/**
 * Job control for a read from terminal `tty` (POSIX §11.1.4): a process of
 * a background group of the terminal's session gets SIGTTIN sent to its
 * group and waits until continued, then the caller checks again; EIO when
 * SIGTTIN is ignored or blocked or the group is orphaned. Returns when the
 * caller may read. A process not in the terminal's session reads freely.
 */
export async function ttyCheckRead(td: Lwp, tty: Ctty): Promise<void> {
  await jobCheck(td, tty, SIGTTIN, true);
}

/**
 * Job control for a write with TOSTOP set, and for calls that change the
 * terminal (tcsetpgrp, tcsetattr): SIGTTOU for a background group unless it
 * is ignored or blocked — then the write goes ahead (POSIX: "the process is
 * allowed to write"); EIO for an orphaned group.
 */
export async function ttyCheckWrite(td: Lwp, tty: Ctty): Promise<void> {
  await jobCheck(td, tty, SIGTTOU, false);
}

async function jobCheck(td: Lwp, tty: Ctty, sig: number, ignoredIsEio: boolean): Promise<void> {
  const k = td.k, p = td.proc;
  for (let rounds = 0; rounds < 1000; rounds++) {
    if (tty.sid === 0 || p.sid !== tty.sid || p.pgid === tty.pgrp || tty.pgrp === 0) return;
    if (ignoredOrBlocked(p, sig)) {
      if (ignoredIsEio) throw err(EIO);
      return;
    }
    if (isOrphanedPgrp(k, p.pgid)) throw err(EIO);
    killpg(k, p.pgid, sig);
    if (p.state !== 'alive') throw err(EINTR);
    if (!p.sig.stopped) throw err(EINTR); // a handler caught it: the call is interrupted
    await p.sig.whenContinued();
    if (p.state !== 'alive') throw err(EINTR);
  }
  throw err(EIO);
}

/** tcsetpgrp / TIOCSPGRP: `pgid` must be a group of the caller's session, the terminal its controlling one. */
export async function ttySetPgrp(td: Lwp, tty: Ctty, pgid: number): Promise<void> {
  const k = td.k, p = td.proc;
  if (tty.sid === 0 || tty.sid !== p.sid) throw err(ENOTTY);
  await ttyCheckWrite(td, tty);
  if (!Number.isInteger(pgid) || pgid <= 0) throw err(22 /* EINVAL */);
  let found = false;
  for (const q of k.procs.values()) if (q.pgid === pgid && q.state === 'alive' && q.pid !== 0) {
    if (q.sid !== p.sid) throw err(EPERM);
    found = true;
  }
  if (!found) throw err(EPERM);
  tty.pgrp = pgid;
}
