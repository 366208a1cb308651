/**
 * procfs: the process file system on /proc (proc(5), Linux fs/proc/).
 *
 * What it shows:
 *   /proc/<pid>/          one directory per process in the proc table (live
 *                         and zombie; pid 0, the kernel, is not shown), owned
 *                         by the process's effective uid/gid, mode 0555
 *     status              proc(5) /proc/pid/status, Linux's field order
 *     stat                the one-line /proc/pid/stat (52 fields; times in
 *                         clock ticks of USER_HZ 100 since boot)
 *     cmdline             argv, each argument NUL-terminated (empty for a zombie)
 *     comm                the command name + "\n"; the process itself may
 *                         write it (truncated to 15 bytes, TASK_COMM_LEN)
 *     fd/                 mode 0500: one symlink per open descriptor, whose
 *                         target is the file's path, or `pipe:[ino]`,
 *                         `socket:[ino]`, `anon_inode:[eventfd]` as on Linux
 *     cwd, root           symlinks to the process's directories
 *     exe                 symlink (lrwxrwxrwx) to the executable image's path
 *                         (Proc.exe: set by rfork's `exe` option, later by
 *                         execve; inherited by fork). A process without an
 *                         image — every library process by default, like a
 *                         Linux kernel thread — still lists it, but readlink
 *                         and following it answer ENOENT. Following it
 *                         resolves the path again from the caller's root,
 *                         as for the other links (not a magic link to the file)
 *   /proc/self            symlink to the caller's pid (the Lwp passed to readlink)
 *   /proc/mounts          `source target fstype opts 0 0` per mount visible
 *                         under the caller's root (space, tab, newline and
 *                         backslash escaped as \040 \011 \012 \134)
 *   /proc/meminfo         the kernel's memory account (memacct.ts) in Linux's layout
 *   /proc/uptime          "<seconds since boot> <idle seconds>" with two decimals
 *   /proc/sys/...         the sysctl tree (src/kern/sysctl.ts), dots as
 *                         slashes: reading gives the value + "\n"; writing
 *                         sets it (the value is parsed as the node's type —
 *                         a number node takes an integer — and the node's own
 *                         validation runs: EINVAL on a bad value). Modes say
 *                         who may write: 0644 root-only nodes, 0666 nodes
 *                         anyone may set, 0444 read-only ones; open(2) for
 *                         writing then fails with EACCES for anyone else, root
 *                         included for read-only nodes (Linux
 *                         proc_sys_permission ignores root's override).
 *
 * Contents are generated when a file is opened and that snapshot is what
 * every read of the open file description sees (Linux's seq_file keeps the
 * same promise per read position), so a reader never sees a torn status.
 * Each lookup makes a fresh vnode (inode numbers are stable: derived from
 * the pid and the entry), so two opens have two snapshots; vnodes hold
 * nothing the proc table does not.
 *
 * Writes anywhere else: open for writing answers EACCES; chmod and chown
 * EPERM (proc_setattr); creating a file EACCES (vfs_create with no
 * ->create), mkdir, symlink, link, unlink, rmdir and rename EPERM (no inode
 * op). A truncation from O_TRUNC is ignored, as on Linux.
 *
 * Permissions beyond mode bits (Linux ptrace_may_access): reading another
 * user's fd/, cwd, root or exe link needs root: EACCES otherwise.
 *
 * Paths of open files: directories are named by walking '..' (exact);
 * other files by a bounded search of their mount for their inode (the first
 * hard link found; files whose name is not found within the budget, or that
 * were unlinked, read as "(deleted)"); the name found is remembered per
 * vnode and re-checked by one walk before it is used again. The fd links are ordinary symlinks,
 * not Linux's "magic" ones: opening /proc/self/fd/N resolves the target path
 * again (a pipe's `pipe:[ino]` does not resolve).
 *
 * Not supported: task/, maps, environ, limits, io, ns/, the /proc/net,
 * /proc/meminfo, /proc/cpuinfo, /proc/filesystems and /proc/loadavg files,
 * thread-self, hidepid=. The idle
 * time in /proc/uptime is always 0.00 (idle time is not accounted).
 *
 * @guardedBy the single virtual CPU: every VOP reads the proc table without
 * awaiting in between, except the path walks, which re-check what they find.
 */
import { procNetFiles } from '../kern/sockhooks.ts';
import { formatLimits } from '../kern/rlimit.ts';
import type { Kernel } from '../kern/kernel.ts';
import { Lwp } from '../kern/sched.ts';
import type { Proc } from '../kern/proc.ts';
import type { File } from '../kern/file.ts';
import { Phase, type Component } from '../kern/component.ts';
import { EACCES, EINVAL, ENOENT, EPERM, err } from '../kern/errno.ts';
import { O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY, S_IFDIR, S_IFLNK, S_IFREG } from '../kern/constants.ts';
import type { SysctlValue } from '../kern/sysctl.ts';
import { vfsOf } from './vfs.ts';
import { type FsState, fileVnode, lookupLocked } from './namei.ts';
import { SEARCH_BUDGET, dirPath, readdirLocked } from './vfs_getcwd.ts';
import { bootDir } from './devfs.ts';
import {
  DT_DIR, DT_LNK, DT_REG, type DirEmit, type FsType, type Mount, MS_NODEV, MS_NOEXEC, MS_NOSUID, type NewAttrs,
  type SetAttrs, type Statfs, type VfsOps, Vnode, type VnodeOps, vfsNow, vref, vrele, MS_RDONLY, MS_SYNCHRONOUS,
  MS_DIRSYNC, MS_MANDLOCK, MS_NOATIME, MS_NODIRATIME, MS_STRICTATIME, MS_NOSYMFOLLOW, MS_LAZYTIME,
} from './vnode.ts';

export const PROC_SUPER_MAGIC = 0x9fa0;
/** USER_HZ: the unit of times in /proc/pid/stat. */
const USER_HZ = 100;

// ---- nodes ------------------------------------------------------------------------

type PidFile = 'status' | 'stat' | 'cmdline' | 'comm' | 'limits';
type PidLink = 'cwd' | 'root' | 'exe';

/** What a procfs vnode stands for. */
type PNode =
  | { kind: 'root' }
  | { kind: 'self' }
  | { kind: 'mounts' }
  | { kind: 'uptime' }
  | { kind: 'meminfo' }
  | { kind: 'piddir'; pid: number }
  | { kind: 'pidfile'; pid: number; name: PidFile }
  | { kind: 'pidlink'; pid: number; name: PidLink }
  | { kind: 'fddir'; pid: number }
  | { kind: 'fdlink'; pid: number; fd: number }
  /** A directory of the sysctl tree: '' is /proc/sys itself, else a dotted prefix. */
  | { kind: 'sysdir'; path: string }
  | { kind: 'sysfile'; name: string }
  /** /proc/net and its files, generated by whoever registered them (kern/sockhooks.ts). */
  | { kind: 'netdir' }
  | { kind: 'netfile'; name: string };

/** vp.data of a procfs vnode. */
interface PData {
  readonly node: PNode;
  /** Contents generated at open (regular files). @guardedBy single virtual CPU */
  snap: Uint8Array | null;
}

/** Per-mount state: sysctl inode numbers (the tree is finite). */
interface ProcMount {
  readonly sysIno: Map<string, number>;
}

const PID_FILES: readonly PidFile[] = ['status', 'stat', 'cmdline', 'comm', 'limits'];
const PID_LINKS: readonly PidLink[] = ['cwd', 'root', 'exe'];
const TOP: readonly [string, PNode][] = [
  ['self', { kind: 'self' }], ['mounts', { kind: 'mounts' }], ['uptime', { kind: 'uptime' }], ['meminfo', { kind: 'meminfo' }], ['sys', { kind: 'sysdir', path: '' }],
  ['net', { kind: 'netdir' }],
];
const PID_SUB: Record<PidFile | PidLink | 'fd', number> = { status: 1, stat: 2, cmdline: 3, comm: 4, fd: 5, cwd: 6, root: 7, exe: 8, limits: 9 };

function pd(vp: Vnode): PData {
  return vp.data as PData;
}

/** Inode numbers: 1 root, small ones for /proc's own entries, per-pid blocks of 2^24. */
function inoOf(mp: Mount, n: PNode): number {
  switch (n.kind) {
    case 'root': return 1;
    case 'self': return 2;
    case 'mounts': return 3;
    case 'uptime': return 4;
    case 'meminfo': return 5;
    case 'netdir': return 6;
    case 'netfile': return 0x40 + Math.max(0, [...procNetFiles(mp.k).keys()].indexOf(n.name));
    case 'piddir': return (n.pid + 1) * 0x1000000;
    case 'pidfile':
    case 'pidlink': return (n.pid + 1) * 0x1000000 + PID_SUB[n.name];
    case 'fddir': return (n.pid + 1) * 0x1000000 + PID_SUB.fd;
    case 'fdlink': return (n.pid + 1) * 0x1000000 + 0x10000 + n.fd;
    case 'sysdir':
    case 'sysfile': {
      if (n.kind === 'sysdir' && n.path === '') return 5;
      const key = (n.kind === 'sysdir' ? 'd:' : 'f:') + (n.kind === 'sysdir' ? n.path : n.name);
      const m = (mp.fsdata as ProcMount).sysIno;
      let ino = m.get(key);
      if (ino === undefined) {
        ino = 0x100 + m.size;
        m.set(key, ino);
      }
      return ino;
    }
  }
}

/** The process behind a pid node, if it is still in the table (zombies included). */
function procOf(k: Kernel, pid: number): Proc | null {
  const p = k.procs.get(pid);
  return p === undefined || pid === 0 || p.state === 'reaped' ? null : p;
}

/** Type and permission bits, owner, for a node (Linux's choices). */
function attrsOf(k: Kernel, n: PNode): NewAttrs {
  const own = (pid: number): [number, number] => {
    const p = procOf(k, pid);
    return p === null ? [0, 0] : [p.cred.euid, p.cred.egid];
  };
  switch (n.kind) {
    case 'root': return { mode: S_IFDIR | 0o555, uid: 0, gid: 0, rdev: 0 };
    case 'self': return { mode: S_IFLNK | 0o777, uid: 0, gid: 0, rdev: 0 };
    case 'mounts':
    case 'meminfo':
    case 'uptime': return { mode: S_IFREG | 0o444, uid: 0, gid: 0, rdev: 0 };
    case 'piddir': { const [uid, gid] = own(n.pid); return { mode: S_IFDIR | 0o555, uid, gid, rdev: 0 }; }
    case 'pidfile': {
      const [uid, gid] = own(n.pid);
      return { mode: S_IFREG | (n.name === 'comm' ? 0o644 : 0o444), uid, gid, rdev: 0 };
    }
    case 'pidlink': { const [uid, gid] = own(n.pid); return { mode: S_IFLNK | 0o777, uid, gid, rdev: 0 }; }
    case 'fddir': { const [uid, gid] = own(n.pid); return { mode: S_IFDIR | 0o500, uid, gid, rdev: 0 }; }
    case 'fdlink': {
      // Linux proc_fd_link modes: lr-x for read-only, l-wx for write-only, lrwx for both.
      const [uid, gid] = own(n.pid);
      const fp = procOf(k, n.pid)?.fdt.peek(n.fd);
      const acc = fp === undefined ? O_RDWR : fp.flags & O_ACCMODE;
      const perm = acc === O_RDONLY ? 0o500 : acc === O_WRONLY ? 0o300 : 0o700;
      return { mode: S_IFLNK | perm, uid, gid, rdev: 0 };
    }
    case 'sysdir': case 'netdir': return { mode: S_IFDIR | 0o555, uid: 0, gid: 0, rdev: 0 };
    case 'netfile': return { mode: S_IFREG | 0o444, uid: 0, gid: 0, rdev: 0 };
    case 'sysfile': {
      const node = k.sysctl.node(n.name);
      const perm = node?.set === undefined ? 0o444 : (node.rootOnly ?? true) ? 0o644 : 0o666;
      return { mode: S_IFREG | perm, uid: 0, gid: 0, rdev: 0 };
    }
  }
}

/** A fresh, referenced vnode for n (see the file comment: one per lookup). */
function mkVnode(mp: Mount, n: PNode): Vnode {
  const vp = new Vnode(mp, inoOf(mp, n), procVnodeOps, { node: n, snap: null } satisfies PData, attrsOf(mp.k, n), vfsNow(mp.k));
  return vref(vp);
}

// ---- sysctl mirror ---------------------------------------------------------------------

/** Immediate children of a sysctl directory: name → leaf (full sysctl name) or dir (prefix). */
function sysChildren(k: Kernel, prefix: string): Map<string, { leaf: boolean; full: string }> {
  const out = new Map<string, { leaf: boolean; full: string }>();
  for (const name of k.sysctl.list(prefix)) {
    if (name === prefix) continue;
    const rest = prefix === '' ? name : name.slice(prefix.length + 1);
    const dot = rest.indexOf('.');
    const child = dot < 0 ? rest : rest.slice(0, dot);
    const full = prefix === '' ? child : `${prefix}.${child}`;
    if (dot < 0) out.set(child, { leaf: true, full });
    else if (!out.has(child)) out.set(child, { leaf: false, full });
  }
  return out;
}

/** Parse a written value as the node's current type (proc_dointvec / proc_dostring). */
function parseSysctl(current: SysctlValue, text: string): SysctlValue {
  const t = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (typeof current === 'number') {
    const s = t.trim();
    if (!/^[+-]?\d+$/.test(s)) throw err(EINVAL);
    const n = Number(s);
    if (!Number.isSafeInteger(n)) throw err(EINVAL);
    return n;
  }
  return t;
}

// ---- paths of vnodes ---------------------------------------------------------------------

/** Path of a directory relative to `root` by walking '..'; null when it is not below root or cannot be named. */
async function dirPathOrNull(td: Lwp, dir: Vnode, root: Vnode): Promise<string | null> {
  try {
    const r = await dirPath(td, dir, root);
    return r.reachable ? r.path : null;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e; // ENAMETOOLONG: readlink answers it, as Linux's d_path does
  }
}

/** Relative path of a non-directory inside its mount, by a bounded breadth-first search. */
async function searchMount(td: Lwp, vp: Vnode): Promise<string | null> {
  const queue: [Vnode, string][] = [[vref(vp.mount.root), '']];
  let visited = 0;
  try {
    while (queue.length > 0) {
      const [d, rel] = queue.shift()!;
      try {
        const subdirs: string[] = [];
        let found: string | null = null;
        let cookie = 0;
        for (;;) {
          let last = cookie;
          const eof = await readdirLocked(td, d, cookie, (ino, type, name, next) => {
            last = next;
            if (++visited > SEARCH_BUDGET) return false;
            if (name === '.' || name === '..') return true;
            if (ino === vp.ino && type !== DT_DIR) {
              found = name;
              return false;
            }
            if (type === DT_DIR) subdirs.push(name);
            return true;
          });
          if (found !== null) return `${rel}/${found}`;
          if (eof || last === cookie || visited > SEARCH_BUDGET) break;
          cookie = last;
        }
        if (visited > SEARCH_BUDGET) return null;
        for (const name of subdirs) {
          const c = await lookupLocked(td, d, name);
          if (c === null) continue;
          if (!c.isDir || c.mountedHere !== null) vrele(c);
          else queue.push([c, `${rel}/${name}`]);
        }
      } finally {
        vrele(d);
      }
    }
    return null;
  } finally {
    for (const [d] of queue) vrele(d);
  }
}

/** The caller's root directory (the global root for kernel threads). */
function callerRoot(k: Kernel, td: Lwp | null): Vnode | null {
  const fs = (td?.proc.fs ?? null) as FsState | null;
  if (fs !== null) return fs.root;
  return vfsOf(k).rootMount?.root ?? null;
}

/**
 * Names found for non-directories, per kernel: the last path inside its
 * mount where each vnode was found. Reused only after checking that the
 * path still leads to the vnode (a walk of its depth), so `ls -l
 * /proc/self/fd` does not search the mount once per descriptor.
 */
function nameCache(k: Kernel): WeakMap<Vnode, string> {
  let c = k.lookup<WeakMap<Vnode, string>>('procfs.names');
  if (c === undefined) {
    c = new WeakMap();
    k.provide('procfs.names', c);
  }
  return c;
}

/** Does `rel` ('/a/b' inside vp's mount) still name vp? */
async function stillNames(td: Lwp, vp: Vnode, rel: string): Promise<boolean> {
  let cur = vref(vp.mount.root);
  try {
    for (const part of rel.split('/').filter((x) => x !== '')) {
      if (!cur.isDir || cur.mountedHere !== null) return false;
      const next = await lookupLocked(td, cur, part);
      vrele(cur);
      cur = next as Vnode;
      if (next === null) return false;
    }
    return cur === vp;
  } finally {
    if (cur !== null) vrele(cur);
  }
}

/**
 * A Linux d_path-style name for vp as seen from the caller's root. The walks
 * lock each vnode they read (vfs_getcwd.ts); without a calling thread they
 * lock as a kernel-context one.
 */
export async function vnodePath(k: Kernel, td: Lwp | null, vp: Vnode): Promise<string> {
  const root = callerRoot(k, td);
  if (root === null) return '(unreachable)';
  if (vp.nlink === 0) return '(deleted)';
  const t = td ?? new Lwp(k, k.proc0, 'procfs');
  if (vp.isDir) return (await dirPathOrNull(t, vp, root)) ?? '(unreachable)';
  return nonDirPath(k, t, vp, root);
}

/**
 * The path of a non-directory from `root`, or "(deleted)" / "(unreachable)".
 * A non-directory mount root (a host file etfs mounted on a file) is named by
 * the file it covers, as Linux's d_path names a file bind mount by its mount point.
 */
async function nonDirPath(k: Kernel, td: Lwp, vp: Vnode, root: Vnode): Promise<string> {
  while (vp.isMountRoot) {
    const cov = vp.mount.covered;
    if (cov === null) return '(unreachable)';
    vp = cov;
  }
  const cache = nameCache(k);
  const known = cache.get(vp);
  let rel = known !== undefined && (await stillNames(td, vp, known)) ? known : await searchMount(td, vp);
  if (rel === null) return '(deleted)';
  cache.set(vp, rel);
  const base = await dirPathOrNull(td, vp.mount.root, root);
  if (base === null) return '(unreachable)';
  rel = base === '/' ? rel : base + rel;
  return rel;
}

/** What /proc/<pid>/fd/<n> reads as. */
async function fileName(k: Kernel, td: Lwp | null, fp: File): Promise<string> {
  const vp = fileVnode(fp) ?? vfsOf(k).specials.get(fp) ?? null;
  if (vp !== null) return vnodePath(k, td, vp);
  const ino = (fp.data as { ino?: unknown } | null)?.ino;
  switch (fp.ops.type) {
    case 'pipe': return `pipe:[${typeof ino === 'number' ? ino : 0}]`;
    case 'socket': return `socket:[${typeof ino === 'number' ? ino : 0}]`;
    case 'event': return 'anon_inode:[eventfd]';
    default: return `anon_inode:[${fp.ops.type}]`;
  }
}

// ---- generated contents --------------------------------------------------------------------

const hex16 = (v: bigint): string => v.toString(16).padStart(16, '0');

function procState(td: Lwp | null, p: Proc): [string, string] {
  if (p.state === 'zombie') return ['Z', 'Z (zombie)'];
  if (p.sig.stopped) return ['T', 'T (stopped)'];
  if (td !== null && td.proc === p) return ['R', 'R (running)'];
  return ['S', 'S (sleeping)'];
}

/** Signal sets for status: ignored and caught from the actions. */
function sigSets(p: Proc): { ign: bigint; cgt: bigint } {
  let ign = 0n;
  let cgt = 0n;
  p.sig.actions.forEach((a, i) => {
    if (i === 0) return;
    const bit = 1n << BigInt(i - 1);
    if (a.handler === 1) ign |= bit;
    else if (a.handler !== 0) cgt |= bit;
  });
  return { ign, cgt };
}

function fdSize(p: Proc): number {
  let max = 0;
  if (p.state === 'alive') for (const [fd] of p.fdt.entries()) max = Math.max(max, fd + 1);
  let n = 64; // Linux NR_OPEN_DEFAULT
  while (n < max) n *= 2;
  return n;
}

/** proc(5) /proc/pid/status (fs/proc/array.c task_state and friends). */
function statusText(td: Lwp | null, p: Proc): string {
  const c = p.cred;
  const { ign, cgt } = sigSets(p);
  const [, state] = procState(td, p);
  return [
    `Name:\t${p.comm.slice(0, 15)}`,
    `Umask:\t${p.umask.toString(8).padStart(4, '0')}`,
    `State:\t${state}`,
    `Tgid:\t${p.pid}`,
    'Ngid:\t0',
    `Pid:\t${p.pid}`,
    `PPid:\t${p.ppid}`,
    'TracerPid:\t0',
    `Uid:\t${c.uid}\t${c.euid}\t${c.suid}\t${c.fsuid}`,
    `Gid:\t${c.gid}\t${c.egid}\t${c.sgid}\t${c.fsgid}`,
    `FDSize:\t${fdSize(p)}`,
    `Groups:\t${c.groups.join(' ')}`,
    `NStgid:\t${p.pid}`,
    `NSpid:\t${p.pid}`,
    `NSpgid:\t${p.pgid}`,
    `NSsid:\t${p.sid}`,
    `Threads:\t${p.state === 'zombie' ? 0 : 1}`,
    `SigQ:\t0/${p.fdt.limit}`,
    `SigPnd:\t${hex16(p.sig.pending)}`,
    `ShdPnd:\t${hex16(0n)}`,
    `SigBlk:\t${hex16(p.sig.mask)}`,
    `SigIgn:\t${hex16(ign)}`,
    `SigCgt:\t${hex16(cgt)}`,
  ].join('\n') + '\n';
}

/** proc(5) /proc/pid/stat: 52 space-separated fields. */
function statText(k: Kernel, td: Lwp | null, p: Proc): string {
  const [st] = procState(td, p);
  const start = Number((p.startNs - k.bootNs) / BigInt(1_000_000_000 / USER_HZ));
  const f: (string | number)[] = [
    p.pid, `(${p.comm.slice(0, 15)})`, st, p.ppid, p.pgid, p.sid,
    0, -1, 0, // tty_nr, tpgid, flags
    0, 0, 0, 0, // minflt cminflt majflt cmajflt
    0, 0, 0, 0, // utime stime cutime cstime (not accounted)
    20, 0, p.state === 'zombie' ? 0 : 1, 0, start, // priority nice num_threads itrealvalue starttime
    0, 0, // vsize rss
  ];
  while (f.length < 52) f.push(0);
  f[37] = p.state === 'zombie' ? 0 : 17; // exit_signal SIGCHLD (field 38)
  return f.join(' ') + '\n';
}

/** Mount options as /proc/mounts prints them (show_sb_opts + show_mnt_opts + the fs's own). */
function mountOpts(mp: Mount): string {
  const o: string[] = [(mp.flags & MS_RDONLY) !== 0 ? 'ro' : 'rw'];
  if (mp.flags & MS_SYNCHRONOUS) o.push('sync');
  if (mp.flags & MS_DIRSYNC) o.push('dirsync');
  if (mp.flags & MS_MANDLOCK) o.push('mand');
  if (mp.flags & MS_LAZYTIME) o.push('lazytime');
  if (mp.flags & MS_NOSUID) o.push('nosuid');
  if (mp.flags & MS_NODEV) o.push('nodev');
  if (mp.flags & MS_NOEXEC) o.push('noexec');
  if (mp.flags & MS_NOATIME) o.push('noatime');
  if (mp.flags & MS_NODIRATIME) o.push('nodiratime');
  if ((mp.flags & (MS_NOATIME | MS_STRICTATIME)) === 0) o.push('relatime');
  if (mp.flags & MS_NOSYMFOLLOW) o.push('nosymfollow');
  if (mp.data !== '') o.push(mp.data);
  return o.join(',');
}

/** fs/proc_namespace.c mangle(): " \t\n\\" as octal escapes. */
function mangle(s: string): string {
  return s.replace(/[ \t\n\\]/g, (ch) => '\\' + ch.charCodeAt(0).toString(8).padStart(3, '0'));
}

async function mountsText(k: Kernel, td: Lwp | null): Promise<string> {
  const root = callerRoot(k, td);
  const t = td ?? new Lwp(k, k.proc0, 'procfs');
  let out = '';
  for (const mp of [...vfsOf(k).mounts]) {
    if (mp.gone || root === null) continue;
    const target = mp.root.isDir ? await dirPathOrNull(t, mp.root, root) : await nonDirPath(k, t, mp.root, root);
    if (target === null || !target.startsWith('/')) continue; // not visible from the caller's root
    out += `${mangle(mp.source === '' ? 'none' : mp.source)} ${mangle(target)} ${mp.fstype.name} ${mangle(mountOpts(mp))} 0 0\n`;
  }
  return out;
}

function uptimeText(k: Kernel): string {
  const cs = k.uptimeNs() / 10_000_000n; // centiseconds
  return `${cs / 100n}.${(cs % 100n).toString().padStart(2, '0')} 0.00\n`;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The contents of a regular procfs file now. */
async function generate(k: Kernel, td: Lwp | null, n: PNode): Promise<Uint8Array> {
  switch (n.kind) {
    case 'mounts': return enc.encode(await mountsText(k, td));
    case 'uptime': return enc.encode(uptimeText(k));
    case 'meminfo': return enc.encode(k.mem.meminfo());
    case 'sysfile': return enc.encode(`${String(k.sysctl.read(n.name))}\n`);
    case 'netfile': {
      const gen = procNetFiles(k).get(n.name);
      if (gen === undefined) throw err(ENOENT);
      return enc.encode(gen(k));
    }
    case 'pidfile': {
      const p = procOf(k, n.pid);
      if (p === null) throw err(ENOENT); // Linux answers ESRCH once the task is gone; the name is gone too
      switch (n.name) {
        case 'status': return enc.encode(statusText(td, p));
        case 'stat': return enc.encode(statText(k, td, p));
        case 'comm': return enc.encode(`${p.comm.slice(0, 15)}\n`);
        case 'limits': return enc.encode(formatLimits(p.rlim));
        case 'cmdline': return p.state === 'zombie' ? new Uint8Array(0) : enc.encode(p.argv.map((a) => a + '\0').join(''));
      }
    }
  }
  throw err(EINVAL);
}

// ---- vnode operations -------------------------------------------------------------------------

/** ptrace_may_access, reduced: root, or the same real/effective uid as the target. */
function mayInspect(td: Lwp | null, p: Proc): boolean {
  if (td === null) return true;
  const c = td.proc.cred;
  return c.euid === 0 || (c.euid === p.cred.uid && c.euid === p.cred.euid && c.euid === p.cred.suid);
}

function noOp(): never {
  throw err(EPERM);
}

async function readlinkNode(k: Kernel, td: Lwp | null, n: PNode): Promise<string> {
  switch (n.kind) {
    case 'self':
      if (td === null || td.proc.pid === 0) throw err(ENOENT);
      return String(td.proc.pid);
    case 'pidlink': {
      const p = procOf(k, n.pid);
      if (n.name === 'exe') {
        // proc_pid_readlink: the access check (EACCES) first, then proc_exe_link,
        // whose get_task_exe_file finds no image for a kernel thread or zombie (ENOENT).
        if (p === null || p.state !== 'alive') throw err(ENOENT);
        if (!mayInspect(td, p)) throw err(EACCES);
        if (p.exe === null) throw err(ENOENT);
        return p.exe;
      }
      if (p === null || p.state !== 'alive' || p.fs === null) throw err(ENOENT);
      if (!mayInspect(td, p)) throw err(EACCES);
      const fs = p.fs as FsState;
      const vp = n.name === 'cwd' ? fs.cwd : fs.root;
      return vnodePath(k, td, vp);
    }
    case 'fdlink': {
      const p = procOf(k, n.pid);
      if (p === null || p.state !== 'alive') throw err(ENOENT);
      if (!mayInspect(td, p)) throw err(EACCES);
      const fp = p.fdt.peek(n.fd);
      if (fp === undefined) throw err(ENOENT);
      return fileName(k, td, fp);
    }
  }
  throw err(EINVAL);
}

function lookupNode(k: Kernel, dvp: Vnode, td: Lwp | null, name: string): PNode | null {
  const n = pd(dvp).node;
  switch (n.kind) {
    case 'root': {
      if (name === 'self') return { kind: 'self' };
      if (name === 'mounts') return { kind: 'mounts' };
      if (name === 'uptime') return { kind: 'uptime' };
      if (name === 'meminfo') return { kind: 'meminfo' };
      if (name === 'sys') return { kind: 'sysdir', path: '' };
      if (name === 'net') return { kind: 'netdir' };
      if (/^[1-9]\d{0,9}$/.test(name) && procOf(k, Number(name)) !== null) return { kind: 'piddir', pid: Number(name) };
      return null;
    }
    case 'piddir': {
      if (name === '..') return { kind: 'root' };
      if (procOf(k, n.pid) === null) return null;
      if ((PID_FILES as readonly string[]).includes(name)) return { kind: 'pidfile', pid: n.pid, name: name as PidFile };
      if ((PID_LINKS as readonly string[]).includes(name)) return { kind: 'pidlink', pid: n.pid, name: name as PidLink };
      if (name === 'fd') return { kind: 'fddir', pid: n.pid };
      return null;
    }
    case 'fddir': {
      if (name === '..') return { kind: 'piddir', pid: n.pid };
      const p = procOf(k, n.pid);
      if (p === null || p.state !== 'alive') return null;
      if (td !== null && !mayInspect(td, p)) throw err(EACCES);
      if (!/^(0|[1-9]\d{0,9})$/.test(name)) return null;
      return p.fdt.peek(Number(name)) === undefined ? null : { kind: 'fdlink', pid: n.pid, fd: Number(name) };
    }
    case 'sysdir': {
      if (name === '..') {
        if (n.path === '') return { kind: 'root' };
        const dot = n.path.lastIndexOf('.');
        return { kind: 'sysdir', path: dot < 0 ? '' : n.path.slice(0, dot) };
      }
      const c = sysChildren(k, n.path).get(name);
      if (c === undefined) return null;
      return c.leaf ? { kind: 'sysfile', name: c.full } : { kind: 'sysdir', path: c.full };
    }
    case 'netdir':
      if (name === '..') return { kind: 'root' };
      return procNetFiles(k).has(name) ? { kind: 'netfile', name } : null;
  }
  return null;
}

/** Directory entries of n after '.' and '..': [cookie, name, node] with ascending cookies. */
function listDir(k: Kernel, td: Lwp | null, n: PNode): [number, string, PNode][] {
  switch (n.kind) {
    case 'root': {
      const out: [number, string, PNode][] = TOP.map(([name, node], i) => [2 + i, name, node]);
      // Pids after the fixed entries, cookie = 1000 + pid (Linux TGID_OFFSET idea): stable as processes come and go.
      const pids = [...k.procs.keys()].filter((pid) => procOf(k, pid) !== null).sort((a, b) => a - b);
      for (const pid of pids) out.push([1000 + pid, String(pid), { kind: 'piddir', pid }]);
      return out;
    }
    case 'piddir': {
      if (procOf(k, n.pid) === null) return [];
      const out: [number, string, PNode][] = [[2, 'fd', { kind: 'fddir', pid: n.pid }]];
      for (const name of PID_FILES) out.push([2 + out.length, name, { kind: 'pidfile', pid: n.pid, name }]);
      for (const name of PID_LINKS) out.push([2 + out.length, name, { kind: 'pidlink', pid: n.pid, name }]);
      return out;
    }
    case 'fddir': {
      const p = procOf(k, n.pid);
      if (p === null || p.state !== 'alive') return [];
      if (td !== null && !mayInspect(td, p)) throw err(EACCES);
      return [...p.fdt.entries()].map(([fd]) => [2 + fd, String(fd), { kind: 'fdlink', pid: n.pid, fd }]);
    }
    case 'sysdir': {
      const out: [number, string, PNode][] = [];
      let i = 2;
      for (const [name, c] of [...sysChildren(k, n.path)].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
        out.push([i++, name, c.leaf ? { kind: 'sysfile', name: c.full } : { kind: 'sysdir', path: c.full }]);
      }
      return out;
    }
    case 'netdir':
      return [...procNetFiles(k).keys()].sort().map((name, i): [number, string, PNode] => [2 + i, name, { kind: 'netfile', name }]);
  }
  return [];
}

function dtypeOf(n: PNode): number {
  switch (n.kind) {
    case 'root': case 'piddir': case 'fddir': case 'sysdir': case 'netdir': return DT_DIR;
    case 'self': case 'pidlink': case 'fdlink': return DT_LNK;
    default: return DT_REG;
  }
}

function parentNode(n: PNode): PNode {
  switch (n.kind) {
    case 'piddir': case 'netdir': return { kind: 'root' };
    case 'fddir': return { kind: 'piddir', pid: n.pid };
    case 'sysdir': {
      if (n.path === '') return { kind: 'root' };
      const dot = n.path.lastIndexOf('.');
      return { kind: 'sysdir', path: dot < 0 ? '' : n.path.slice(0, dot) };
    }
    default: return n;
  }
}

function writable(n: PNode): boolean {
  return n.kind === 'sysfile' || (n.kind === 'pidfile' && n.name === 'comm');
}

export const procVnodeOps: VnodeOps = {
  lookup(dvp, td, name) {
    const n = lookupNode(dvp.mount.k, dvp, td, name);
    if (n === null) return null;
    // '..' back to the top is the mount's one root vnode (namei and getcwd compare by identity).
    return n.kind === 'root' ? vref(dvp.mount.root) : mkVnode(dvp.mount, n);
  },
  // vfs_create with no ->create: EACCES; every other namespace change: EPERM.
  create() {
    throw err(EACCES);
  },
  mkdir: noOp,
  symlink: noOp,
  link: noOp,
  unlink: noOp,
  rmdir: noOp,
  rename: noOp,
  readlink(vp, td) {
    return readlinkNode(vp.mount.k, td, pd(vp).node);
  },
  setattr(vp, _td, c: SetAttrs) {
    // proc_setattr: mode changes are EPERM; ownership too (nothing here may be given away).
    if (c.mode !== undefined || c.uid !== undefined || c.gid !== undefined) throw err(EPERM);
    // A size change (O_TRUNC on a sysctl) is ignored; times are kept in core.
    if (c.atime !== undefined) vp.atime = c.atime;
    if (c.mtime !== undefined) vp.mtime = c.mtime;
    if (c.ctime !== undefined) vp.ctime = c.ctime;
  },
  getattr(vp) {
    const a = attrsOf(vp.mount.k, pd(vp).node);
    vp.mode = a.mode;
    vp.uid = a.uid;
    vp.gid = a.gid;
  },
  async open(vp, td, flags) {
    const d = pd(vp);
    if ((flags & O_ACCMODE) !== O_RDONLY) {
      // Writing needs a node that takes writes and a write bit for the caller's class
      // (root included: proc_sys_permission shifts root to the owner bits, no override).
      if (!writable(d.node)) throw err(EACCES);
      if (d.node.kind === 'sysfile' && (vp.mode & 0o222) === 0) throw err(EACCES);
    }
    if (vp.isReg) d.snap = await generate(vp.mount.k, td, d.node);
  },
  async read(vp, td, buf, offset) {
    const d = pd(vp);
    if (d.snap === null) d.snap = await generate(vp.mount.k, td, d.node);
    const s = d.snap;
    if (offset >= s.byteLength) return 0;
    const n = Math.min(buf.byteLength, s.byteLength - offset);
    buf.set(s.subarray(offset, offset + n));
    return n;
  },
  write(vp, td, buf, offset) {
    const k = vp.mount.k;
    const n = pd(vp).node;
    if (td === null) throw err(EPERM);
    if (n.kind === 'sysfile') {
      // proc_sys_call_handler with sysctl_writes_strict: a value is written whole, at position 0.
      if (offset !== 0) throw err(EINVAL);
      const text = dec.decode(buf);
      k.sysctl.write(n.name, parseSysctl(k.sysctl.read(n.name), text), td.proc.cred);
      vp.mtime = vp.ctime = vfsNow(k);
      return buf.byteLength;
    }
    if (n.kind === 'pidfile' && n.name === 'comm') {
      const p = procOf(k, n.pid);
      if (p === null) throw err(ENOENT);
      // comm_write: only threads of the same process may rename it.
      if (p !== td.proc) throw err(EINVAL);
      p.comm = dec.decode(buf).replace(/\n$/, '').slice(0, 15);
      return buf.byteLength;
    }
    throw err(EINVAL);
  },
  readdir(vp, td, cookie, emit: DirEmit) {
    const k = vp.mount.k;
    const n = pd(vp).node;
    if (cookie <= 0) {
      if (!emit(vp.ino, DT_DIR, '.', 1)) return false;
      cookie = 1;
    }
    if (cookie === 1) {
      const parent = vp.isMountRoot ? vp.ino : inoOf(vp.mount, parentNode(n));
      if (!emit(parent, DT_DIR, '..', 2)) return false;
      cookie = 2;
    }
    for (const [c, name, child] of listDir(k, td, n)) {
      if (c < cookie) continue;
      if (!emit(inoOf(vp.mount, child), dtypeOf(child), name, c + 1)) return false;
    }
    return true;
  },
  fsync() {},
  nameOf(_dvp, vp) {
    const n = pd(vp).node;
    if (n.kind === 'piddir') return String(n.pid);
    if (n.kind === 'fddir') return 'fd';
    if (n.kind === 'netdir') return 'net';
    if (n.kind === 'sysdir') return n.path === '' ? 'sys' : n.path.slice(n.path.lastIndexOf('.') + 1);
    return null;
  },
  inactive(vp) {
    pd(vp).snap = null;
  },
  pathconf() {
    return null;
  },
};

const procVfsOps: VfsOps = {
  root(mp) {
    return vref(mp.root);
  },
  statfs(mp): Statfs {
    return { type: PROC_SUPER_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, fsid: [mp.dev, 0], namelen: 255, frsize: 4096, flags: 0 };
  },
  sync() {},
  unmount() {},
};

export const procfsType: FsType = {
  name: 'proc',
  magic: PROC_SUPER_MAGIC,
  synthetic: true,
  // Nodes are generated from the proc table and each lookup makes a fresh vnode:
  // reads need no vnode lock, and the path walks above lock other file systems' vnodes.
  unlockedReads: true,
  mount(k: Kernel, _td: Lwp | null, mp: Mount, _source: string, data: string) {
    // Options (hidepid=, gid=, subset=) are not supported.
    if (data !== '' && data !== 'rw' && data !== 'ro' && data !== 'defaults') throw err(EINVAL);
    mp.fsdata = { sysIno: new Map() } satisfies ProcMount;
    mp.ops = procVfsOps;
    mp.root = mkVnode(mp, { kind: 'root' });
    void k;
  },
};

/**
 * The procfs component (Phase.ROOT, after the root is mounted): registers
 * the `proc` type and mounts it on /proc with Linux's options (nosuid,
 * nodev, noexec, relatime).
 */
export const procfsComponent: Component = {
  name: 'procfs',
  phase: Phase.ROOT,
  deps: ['vfs'],
  async init(k: Kernel) {
    const vfs = vfsOf(k);
    vfs.registerFsType(procfsType);
    if (vfs.rootMount === null) return;
    const dir = await bootDir(k, 'proc');
    try {
      await vfs.mountAt(null, dir, 'proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC, '');
    } finally {
      vrele(dir);
    }
  },
};
