/**
 * Process identity system calls (kern_prot.c): pids, user and group ids,
 * supplementary groups, umask. Rules follow Linux credentials(7): a process
 * with euid 0 holds CAP_SETUID/CAP_SETGID and may set any id; others may only
 * move between their real, effective and saved ids. The fs ids follow the
 * effective ids.
 */
import { EINVAL, EPERM, err } from './errno.ts';
import { defineSyscall } from './syscall.ts';
import type { Cred } from './proc.ts';
import type { Lwp } from './sched.ts';
import { rechargeProc } from './rlimit.ts';

const NGROUPS_MAX = 65536;
/** -1 as an id means "leave unchanged" in setre*id/setres*id. */
const KEEP = -1;

function idOk(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= 0xfffffffe;
}

function privileged(c: Cred): boolean {
  return c.euid === 0;
}

/**
 * The user ids and the group ids follow the same rules; one accessor per
 * kind lets setuid/setreuid/setresuid/setfsuid and their gid twins share
 * their code (credentials(7), setresuid(2), setreuid(2), setfsuid(2)).
 */
interface IdKind {
  /** [real, effective, saved, fs] */
  get(c: Cred): [number, number, number, number];
  set(c: Cred, r: number, e: number, s: number, fs: number): void;
}
const UIDS: IdKind = {
  get: (c) => [c.uid, c.euid, c.suid, c.fsuid],
  set: (c, r, e, s, fs) => { c.uid = r; c.euid = e; c.suid = s; c.fsuid = fs; },
};
const GIDS: IdKind = {
  get: (c) => [c.gid, c.egid, c.sgid, c.fsgid],
  set: (c, r, e, s, fs) => { c.gid = r; c.egid = e; c.sgid = s; c.fsgid = fs; },
};

/** Install new ids (KEEP leaves one as it is); the fs id follows the effective id. */
function commitIds(td: Lwp, kind: IdKind, r: number, e: number, s: number): number {
  const n = td.proc.cred.clone();
  const [or, oe, os] = kind.get(n);
  const ne = e === KEEP ? oe : e;
  kind.set(n, r === KEEP ? or : r, ne, s === KEEP ? os : s, ne);
  td.proc.cred = n;
  rechargeProc(td.k, td.proc); // a new real uid is counted against its own RLIMIT_NPROC
  return 0;
}

/** setresuid(2)/setresgid(2): unprivileged callers may only pick among their current ids. */
function setres(td: Lwp, kind: IdKind, r: number, e: number, s: number): number {
  const c = td.proc.cred;
  for (const v of [r, e, s]) if (v !== KEEP && !idOk(v)) throw err(EINVAL);
  if (!privileged(c)) {
    const [pr, pe, ps] = kind.get(c);
    const allowed = (v: number): boolean => v === KEEP || v === pr || v === pe || v === ps;
    if (!allowed(r) || !allowed(e) || !allowed(s)) throw err(EPERM);
  }
  // Linux returns early when nothing would change — and then the fs id is
  // left alone too (kernel/sys.c __sys_setresuid).
  const [cr, ce, cs, cfs] = kind.get(c);
  if ((r === KEEP || r === cr) && (e === KEEP || (e === ce && e === cfs)) && (s === KEEP || s === cs)) return 0;
  return commitIds(td, kind, r, e, s);
}

/**
 * setreuid(2)/setregid(2): the real id may become the effective one; the
 * effective id may become the real or saved one. The saved id becomes the new
 * effective id when the real id is set or the effective id moves off the real one.
 */
function setre(td: Lwp, kind: IdKind, r: number, e: number): number {
  const c = td.proc.cred;
  for (const v of [r, e]) if (v !== KEEP && !idOk(v)) throw err(EINVAL);
  const [cr, ce, cs] = kind.get(c);
  if (!privileged(c)) {
    if (r !== KEEP && r !== cr && r !== ce) throw err(EPERM);
    if (e !== KEEP && e !== cr && e !== ce && e !== cs) throw err(EPERM);
  }
  const newE = e === KEEP ? ce : e;
  const sv = r !== KEEP || (e !== KEEP && e !== cr) ? newE : KEEP;
  return commitIds(td, kind, r, e, sv);
}

/** setuid(2)/setgid(2): privileged callers set all three; others only the effective id. */
function setOne(td: Lwp, kind: IdKind, id: number): number {
  if (!idOk(id)) throw err(EINVAL);
  const c = td.proc.cred;
  if (privileged(c)) return commitIds(td, kind, id, id, id);
  const [cr, , cs] = kind.get(c);
  if (id !== cr && id !== cs) throw err(EPERM);
  return commitIds(td, kind, KEEP, id, KEEP);
}

/** setfsuid(2)/setfsgid(2): always returns the previous fs id; changes it only when allowed. */
function setfs(td: Lwp, kind: IdKind, id: number): number {
  const c = td.proc.cred;
  const [cr, ce, cs, cfs] = kind.get(c);
  if (idOk(id) && (privileged(c) || id === cr || id === ce || id === cs || id === cfs)) {
    const n = c.clone();
    kind.set(n, cr, ce, cs, id);
    td.proc.cred = n;
  }
  return cfs;
}

export const protSyscalls = [
  defineSyscall('getpid', 39, [], (td) => td.proc.pid),
  defineSyscall('getppid', 110, [], (td) => td.proc.ppid),
  defineSyscall('gettid', 186, [], (td) => td.tid),
  defineSyscall('getuid', 102, [], (td) => td.proc.cred.uid),
  defineSyscall('geteuid', 107, [], (td) => td.proc.cred.euid),
  defineSyscall('getgid', 104, [], (td) => td.proc.cred.gid),
  defineSyscall('getegid', 108, [], (td) => td.proc.cred.egid),
  defineSyscall('getresuid', 118, [], (td): [number, number, number] => {
    const c = td.proc.cred;
    return [c.uid, c.euid, c.suid];
  }),
  defineSyscall('getresgid', 120, [], (td): [number, number, number] => {
    const c = td.proc.cred;
    return [c.gid, c.egid, c.sgid];
  }),
  defineSyscall('setuid', 105, ['int'], (td, uid: number) => setOne(td, UIDS, uid)),
  defineSyscall('setgid', 106, ['int'], (td, gid: number) => setOne(td, GIDS, gid)),
  defineSyscall('setreuid', 113, ['int', 'int'], (td, r: number, e: number) => setre(td, UIDS, r, e)),
  defineSyscall('setregid', 114, ['int', 'int'], (td, r: number, e: number) => setre(td, GIDS, r, e)),
  defineSyscall('setresuid', 117, ['int', 'int', 'int'], (td, r: number, e: number, sv: number) => setres(td, UIDS, r, e, sv)),
  defineSyscall('setresgid', 119, ['int', 'int', 'int'], (td, r: number, e: number, sv: number) => setres(td, GIDS, r, e, sv)),
  defineSyscall('setfsuid', 122, ['int'], (td, uid: number) => setfs(td, UIDS, uid)),
  defineSyscall('setfsgid', 123, ['int'], (td, gid: number) => setfs(td, GIDS, gid)),
  defineSyscall('getgroups', 115, [], (td) => td.proc.cred.groups.slice()),
  defineSyscall('setgroups', 116, ['ints'], (td, groups: number[]) => {
    if (groups.length > NGROUPS_MAX) throw err(EINVAL);
    for (const g of groups) if (!idOk(g)) throw err(EINVAL);
    if (!privileged(td.proc.cred)) throw err(EPERM);
    const n = td.proc.cred.clone();
    n.groups = [...new Set(groups)].sort((a, b) => a - b);
    td.proc.cred = n;
    return 0;
  }),
  defineSyscall('umask', 95, ['uint'], (td, mask: number) => {
    const old = td.proc.umask;
    td.proc.umask = mask & 0o777;
    return old;
  }),
  defineSyscall('getpgid', 121, ['int'], (td, pid: number) => {
    if (pid === 0) return td.proc.pgid;
    const p = td.k.procs.get(pid);
    if (!p || p.state === 'reaped' || p.pid === 0) throw err(3 /* ESRCH */);
    return p.pgid;
  }),
  defineSyscall('getsid', 124, ['int'], (td, pid: number) => {
    if (pid === 0) return td.proc.sid;
    const p = td.k.procs.get(pid);
    if (!p || p.state === 'reaped' || p.pid === 0) throw err(3 /* ESRCH */);
    return p.sid;
  }),
  defineSyscall('setsid', 112, [], (td) => {
    const p = td.proc;
    for (const q of td.k.procs.values()) if (q.pgid === p.pid && q !== p) throw err(EPERM);
    if (p.pgid === p.pid) throw err(EPERM);
    p.sid = p.pid;
    p.pgid = p.pid;
    return p.pid;
  }),
  defineSyscall('setpgid', 109, ['int', 'int'], (td, pid: number, pgid: number) => {
    if (pgid < 0) throw err(EINVAL);
    const p = pid === 0 ? td.proc : td.k.procs.get(pid);
    if (!p || p.state !== 'alive' || (p !== td.proc && p.parent !== td.proc)) throw err(3 /* ESRCH */);
    if (p.sid !== td.proc.sid || p.sid === p.pid) throw err(EPERM);
    const target = pgid === 0 ? p.pid : pgid;
    if (target !== p.pid) {
      let found = false;
      for (const q of td.k.procs.values()) if (q.pgid === target && q.sid === p.sid && q.state === 'alive') found = true;
      if (!found) throw err(EPERM);
    }
    p.pgid = target;
    return 0;
  }),
] as const;
