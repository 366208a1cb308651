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

const NGROUPS_MAX = 65536;
/** -1 as an id means "leave unchanged" in setre*id/setres*id. */
const KEEP = -1;

function idOk(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= 0xfffffffe;
}

function privileged(c: Cred): boolean {
  return c.euid === 0;
}

function setresuid(td: Lwp, r: number, e: number, s: number): number {
  const c = td.proc.cred;
  for (const v of [r, e, s]) if (v !== KEEP && !idOk(v)) throw err(EINVAL);
  if (!privileged(c)) {
    const allowed = (v: number): boolean => v === KEEP || v === c.uid || v === c.euid || v === c.suid;
    if (!allowed(r) || !allowed(e) || !allowed(s)) throw err(EPERM);
  }
  const n = c.clone();
  if (r !== KEEP) n.uid = r;
  if (e !== KEEP) n.euid = e;
  if (s !== KEEP) n.suid = s;
  n.fsuid = n.euid;
  td.proc.cred = n;
  return 0;
}

function setresgid(td: Lwp, r: number, e: number, s: number): number {
  const c = td.proc.cred;
  for (const v of [r, e, s]) if (v !== KEEP && !idOk(v)) throw err(EINVAL);
  if (!privileged(c)) {
    const allowed = (v: number): boolean => v === KEEP || v === c.gid || v === c.egid || v === c.sgid;
    if (!allowed(r) || !allowed(e) || !allowed(s)) throw err(EPERM);
  }
  const n = c.clone();
  if (r !== KEEP) n.gid = r;
  if (e !== KEEP) n.egid = e;
  if (s !== KEEP) n.sgid = s;
  n.fsgid = n.egid;
  td.proc.cred = n;
  return 0;
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
  defineSyscall('setuid', 105, ['int'], (td, uid: number) => {
    if (!idOk(uid)) throw err(EINVAL);
    const c = td.proc.cred;
    if (privileged(c)) return setresuid(td, uid, uid, uid);
    if (uid !== c.uid && uid !== c.suid) throw err(EPERM);
    return setresuid(td, KEEP, uid, KEEP);
  }),
  defineSyscall('setgid', 106, ['int'], (td, gid: number) => {
    if (!idOk(gid)) throw err(EINVAL);
    const c = td.proc.cred;
    if (privileged(c)) return setresgid(td, gid, gid, gid);
    if (gid !== c.gid && gid !== c.sgid) throw err(EPERM);
    return setresgid(td, KEEP, gid, KEEP);
  }),
  defineSyscall('setreuid', 113, ['int', 'int'], (td, r: number, e: number) => {
    const c = td.proc.cred;
    if (!privileged(c)) {
      if (r !== KEEP && r !== c.uid && r !== c.euid) throw err(EPERM);
      if (e !== KEEP && e !== c.uid && e !== c.euid && e !== c.suid) throw err(EPERM);
    }
    // Linux: the saved id becomes the new euid if ruid is set or euid moves off ruid.
    const newE = e === KEEP ? c.euid : e;
    const sv = r !== KEEP || (e !== KEEP && e !== c.uid) ? newE : KEEP;
    for (const v of [r, e]) if (v !== KEEP && !idOk(v)) throw err(EINVAL);
    const n = c.clone();
    if (r !== KEEP) n.uid = r;
    if (e !== KEEP) n.euid = e;
    if (sv !== KEEP) n.suid = sv;
    n.fsuid = n.euid;
    td.proc.cred = n;
    return 0;
  }),
  defineSyscall('setregid', 114, ['int', 'int'], (td, r: number, e: number) => {
    const c = td.proc.cred;
    if (!privileged(c)) {
      if (r !== KEEP && r !== c.gid && r !== c.egid) throw err(EPERM);
      if (e !== KEEP && e !== c.gid && e !== c.egid && e !== c.sgid) throw err(EPERM);
    }
    const newE = e === KEEP ? c.egid : e;
    const s = r !== KEEP || (e !== KEEP && e !== c.gid) ? newE : KEEP;
    for (const v of [r, e]) if (v !== KEEP && !idOk(v)) throw err(EINVAL);
    const n = c.clone();
    if (r !== KEEP) n.gid = r;
    if (e !== KEEP) n.egid = e;
    if (s !== KEEP) n.sgid = s;
    n.fsgid = n.egid;
    td.proc.cred = n;
    return 0;
  }),
  defineSyscall('setresuid', 117, ['int', 'int', 'int'], setresuid),
  defineSyscall('setresgid', 119, ['int', 'int', 'int'], setresgid),
  defineSyscall('setfsuid', 122, ['int'], (td, uid: number) => {
    const c = td.proc.cred;
    const old = c.fsuid;
    if (idOk(uid) && (privileged(c) || uid === c.uid || uid === c.euid || uid === c.suid || uid === c.fsuid)) {
      const n = c.clone();
      n.fsuid = uid;
      td.proc.cred = n;
    }
    return old;
  }),
  defineSyscall('setfsgid', 123, ['int'], (td, gid: number) => {
    const c = td.proc.cred;
    const old = c.fsgid;
    if (idOk(gid) && (privileged(c) || gid === c.gid || gid === c.egid || gid === c.sgid || gid === c.fsgid)) {
      const n = c.clone();
      n.fsgid = gid;
      td.proc.cred = n;
    }
    return old;
  }),
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
