/**
 * namei: from a path to a vnode (path_resolution(7), Linux fs/namei.c).
 *
 * The walk starts at the process root for an absolute path, else at the
 * `*at` directory fd or the cwd, and takes one component at a time:
 *
 *   - each directory walked must be a directory (ENOTDIR) that the caller
 *     may search (MAY_EXEC, else EACCES) — including the one holding the
 *     last component;
 *   - a component longer than NAME_MAX (255 bytes) is ENAMETOOLONG (the
 *     whole path's PATH_MAX is checked by the syscall dispatcher);
 *   - '.' stays; '..' at the process root stays (chroot jails hold), and at
 *     the root of a mounted file system first crosses to the covered vnode,
 *     then goes to its parent;
 *   - a vnode with a file system mounted on it is replaced by that file
 *     system's root — a non-directory too (an etfs host file mounted on a
 *     file), so the last component of a path lands on the mounted file;
 *   - a symlink in the middle is always followed, a final one when the
 *     caller asks (or when a trailing slash demands a directory); more than
 *     SYMLOOP_MAX (40) links in one resolution is ELOOP, an empty target
 *     ENOENT;
 *   - a trailing slash requires a directory (ENOTDIR).
 *
 * Results carry references (vnode.ts lifecycle): `vp` and, in parent mode,
 * `dvp`; the caller vreles each exactly once. No lock is held on return:
 * each lookup locks its directory shared just for the VOP, and operations
 * that change a directory lock it and look the last name up again (the
 * walk's answer could be stale by then).
 *
 * Name cache: none separate — tmpfs lookups are one Map.get, O(1) at any
 * directory size; a disk file system keeps its own cache behind lookup.
 *
 * Not supported: RESOLVE_* (openat2), automounts, bind mounts, MS_NOSYMFOLLOW
 * is honoured (ELOOP) but per-mount propagation is not.
 */
import type { Lwp } from '../kern/sched.ts';
import type { File } from '../kern/file.ts';
import type { Cred, ProcFsState } from '../kern/proc.ts';
import { EBADF, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, err } from '../kern/errno.ts';
import { AT_FDCWD, NAME_MAX, SYMLOOP_MAX } from '../kern/constants.ts';
import { MS_NOSYMFOLLOW, type Vnode, readsUnlocked, touchAtime, vref, vrele } from './vnode.ts';
import { MAY_EXEC, vaccess } from './perm.ts';

/**
 * Per-process file-system state (Linux fs_struct): cwd and root, each a
 * referenced vnode. Installed as `proc.fs`; fork copies it (new
 * references), exit releases it.
 */
export class FsState implements ProcFsState {
  cwd: Vnode;
  root: Vnode;

  constructor(cwd: Vnode, root: Vnode) {
    this.cwd = vref(cwd);
    this.root = vref(root);
  }

  fork(): FsState {
    return new FsState(this.cwd, this.root);
  }

  release(): void {
    vrele(this.cwd);
    vrele(this.root);
  }
}

/** The caller's fs state; a process without one (no root mounted) finds nothing. */
export function procFs(td: Lwp): FsState {
  const fs = td.proc.fs;
  if (fs === null) throw err(ENOENT);
  return fs as FsState;
}

/** How the FileOps of vnode-backed files mark their File.data. */
export interface VnodeFileData {
  readonly vp: Vnode;
}

/** The vnode behind an open file, or null when the file is not one (pipe, socket). */
export function fileVnode(fp: File): Vnode | null {
  const d = fp.data as Partial<VnodeFileData> | null;
  return d !== null && typeof d === 'object' && d.vp !== undefined && fp.ops.type === 'vnode' ? d.vp : null;
}

/**
 * Where a relative path starts: a `*at` dirfd (AT_FDCWD for the cwd) or a
 * directory vnode the caller holds — the vnode form is what frontends that
 * address files by vnode (the FUSE server) use, as Linux's vfs_path_lookup
 * starts from a dentry instead of a descriptor.
 */
export type At = number | Vnode;

/**
 * Resolve a `*at` start to a referenced directory vnode (AT_FDCWD → cwd).
 * EBADF for a bad descriptor; ENOTDIR when it is not a directory.
 */
export function dirfdVnode(td: Lwp, dirfd: At): Vnode {
  if (typeof dirfd !== 'number') {
    if (!dirfd.isDir) throw err(ENOTDIR);
    return vref(dirfd);
  }
  if (dirfd === AT_FDCWD) return vref(procFs(td).cwd);
  const fp = td.proc.fdt.peek(dirfd);
  if (fp === undefined) throw err(EBADF);
  const vp = fileVnode(fp);
  if (vp === null || !vp.isDir) throw err(ENOTDIR);
  return vref(vp);
}

export type LastType = 'norm' | 'dot' | 'dotdot' | 'root';

export interface NameiOpts {
  /** Follow a symlink in the last component. */
  follow: boolean;
  /** Return the parent of the last component too (create, remove, rename). */
  parent?: boolean;
  /** In parent mode, also look the last component up (vp null when absent). Default true. */
  lookupLast?: boolean;
  /** Credentials for search permission (default: the process's; access(2) uses the real ids). */
  cred?: Cred;
}

export interface NameiResult {
  /** The parent directory (parent mode only, referenced); null for a path with no last component ("/"). */
  dvp: Vnode | null;
  /** The object (referenced); null in parent mode when absent or not looked up. */
  vp: Vnode | null;
  /** The last component ('' for "/"). */
  name: string;
  last: LastType;
  trailingSlash: boolean;
}

const enc = new TextEncoder();

/** NAME_MAX is in bytes of the UTF-8 name. */
function nameTooLong(name: string): boolean {
  return name.length > 85 && enc.encode(name).byteLength > NAME_MAX;
}

/**
 * One lookup VOP under dvp's shared lock (sleeping only if contended; no
 * lock at all where reads go unlocked, see "The vnode lock" in vnode.ts).
 * The way to look a name up in a directory the caller has not locked.
 */
export function lookupLocked(td: Lwp, dvp: Vnode, name: string): Vnode | null | Promise<Vnode | null> {
  if (readsUnlocked(dvp)) return dvp.ops.lookup(dvp, td, name);
  return lookupLockedSlow(td, dvp, name);
}

async function lookupLockedSlow(td: Lwp, dvp: Vnode, name: string): Promise<Vnode | null> {
  const l = dvp.lock.enter(td, 'shared');
  using g = l instanceof Promise ? await l : l;
  const r = dvp.ops.lookup(dvp, td, name);
  return r instanceof Promise ? await r : r;
}

/** One step of the walk (cur is a searchable directory); a referenced vnode, or null when absent. */
export function lookupStep(td: Lwp, fs: FsState, cur: Vnode, name: string): Vnode | null | Promise<Vnode | null> {
  if (name === '.') return vref(cur);
  if (name === '..') {
    let d = cur;
    for (;;) {
      if (d === fs.root) return vref(d);
      // '..' of a mount root: cross to the covered vnode, then take its parent.
      if (d.isMountRoot && d.mount.covered !== null) {
        d = d.mount.covered;
        continue;
      }
      break;
    }
    if (d.isMountRoot) return vref(d); // the root of the root file system
    return lookupLocked(td, d, '..');
  }
  const r = lookupLocked(td, cur, name);
  if (r instanceof Promise) return r.then(crossMounts);
  return crossMounts(r);
}

/**
 * A vnode with a file system mounted on it stands for that file system's root
 * (a referenced vnode in, a referenced vnode out). Exported for callers that
 * look a last name up again under the parent's lock (open O_CREAT).
 */
export function crossMounts(vp: Vnode | null): Vnode | null {
  if (vp === null) return null;
  while (vp.mountedHere !== null) {
    const mp = vp.mountedHere;
    vrele(vp);
    vp = vref(mp.root);
  }
  return vp;
}

/** Read a symlink's target (for the walk and readlink); reading marks it accessed (touch_atime). */
export async function readlinkVnode(td: Lwp, vp: Vnode): Promise<string> {
  let s: string;
  if (vp.mount.fstype.nonblocking === true) s = vp.ops.readlink(vp, td) as string;
  else if (vp.mount.fstype.unlockedReads === true) s = await vp.ops.readlink(vp, td);
  else {
    const l = vp.lock.enter(td, 'shared');
    using g = l instanceof Promise ? await l : l;
    const r = vp.ops.readlink(vp, td);
    s = r instanceof Promise ? await r : r;
  }
  const t = touchAtime(td, vp);
  if (t !== undefined) await t;
  return s;
}

/**
 * Resolve `path` relative to `start` (a referenced directory the walk takes
 * over; the caller must not vrele it afterwards).
 */
export async function nameiFrom(td: Lwp, start: Vnode, path: string, opts: NameiOpts): Promise<NameiResult> {
  const fs = procFs(td);
  const cred = opts.cred ?? td.proc.cred;
  const parentMode = opts.parent === true;
  const lookupLast = opts.lookupLast !== false;
  if (path.length === 0) {
    vrele(start);
    throw err(ENOENT); // path_resolution(7): an empty pathname is ENOENT
  }
  let cur = start;
  let rest = path;
  let pos = 0;
  let links = 0;
  if (rest.charCodeAt(0) === 47) {
    vrele(cur);
    cur = vref(fs.root);
  }
  try {
    for (;;) {
      while (pos < rest.length && rest.charCodeAt(pos) === 47) pos++;
      if (pos >= rest.length) {
        // Nothing but slashes left: the path names `cur` itself ("/", or a
        // symlink whose target is "/").
        const vp = cur;
        cur = null as unknown as Vnode;
        return { dvp: null, vp, name: '', last: 'root', trailingSlash: true };
      }
      let end = rest.indexOf('/', pos);
      if (end < 0) end = rest.length;
      const name = rest.slice(pos, end);
      let next = end;
      while (next < rest.length && rest.charCodeAt(next) === 47) next++;
      const isLast = next >= rest.length;
      const trailing = isLast && end < rest.length;
      pos = next;
      if (nameTooLong(name)) throw err(ENAMETOOLONG);
      if (!cur.isDir) throw err(ENOTDIR);
      const e = vaccess(cur, cred, MAY_EXEC);
      if (e !== 0) throw err(e);
      const last: LastType = name === '.' ? 'dot' : name === '..' ? 'dotdot' : 'norm';
      if (isLast && parentMode && !lookupLast) {
        const dvp = cur;
        cur = null as unknown as Vnode;
        return { dvp, vp: null, name, last, trailingSlash: trailing };
      }
      const c = lookupStep(td, fs, cur, name);
      const child = c instanceof Promise ? await c : c;
      if (child === null) {
        if (isLast && parentMode) {
          const dvp = cur;
          cur = null as unknown as Vnode;
          return { dvp, vp: null, name, last, trailingSlash: trailing };
        }
        throw err(ENOENT);
      }
      // A final symlink is followed when asked — except in parent mode with a trailing
      // slash, where the caller decides (open O_CREAT answers EISDIR without following,
      // Linux open_last_lookups) — or when a trailing slash demands a directory.
      if (child.isLnk && (!isLast || (opts.follow && !(parentMode && trailing)) || (trailing && !parentMode))) {
        if (++links > SYMLOOP_MAX || (child.mount.flags & MS_NOSYMFOLLOW) !== 0) {
          vrele(child);
          throw err(ELOOP);
        }
        let target: string;
        try {
          target = await readlinkVnode(td, child);
        } finally {
          vrele(child);
        }
        if (target.length === 0) throw err(ENOENT);
        rest = isLast ? (trailing ? target + '/' : target) : target + '/' + rest.slice(pos);
        pos = 0;
        if (target.charCodeAt(0) === 47) {
          vrele(cur);
          cur = vref(fs.root);
        }
        continue;
      }
      if (!isLast) {
        vrele(cur);
        cur = child;
        continue;
      }
      if (trailing && !child.isDir && !parentMode) {
        vrele(child);
        throw err(ENOTDIR);
      }
      if (parentMode) {
        const dvp = cur;
        cur = null as unknown as Vnode;
        return { dvp, vp: child, name, last, trailingSlash: trailing };
      }
      vrele(cur);
      cur = null as unknown as Vnode;
      return { dvp: null, vp: child, name, last, trailingSlash: trailing };
    }
  } finally {
    if (cur !== null) {
      // Only reached on a throw: every return hands cur over and nulls it.
      vrele(cur);
    }
  }
}

/** Resolve `path` relative to dirfd (AT_FDCWD, a directory fd or a directory vnode). */
export function namei(td: Lwp, dirfd: At, path: string, opts: NameiOpts): Promise<NameiResult> {
  // An empty path is ENOENT before dirfd is even looked at (Linux getname()).
  if (path.length === 0) return Promise.reject(err(ENOENT));
  // An absolute path ignores dirfd entirely (openat(2)), even an invalid one.
  const start = path.charCodeAt(0) === 47 ? vref(procFs(td).root) : dirfdVnode(td, dirfd);
  return nameiFrom(td, start, path, opts);
}

/** Resolve to one referenced vnode (lookup mode). */
export function lookupPath(td: Lwp, dirfd: At, path: string, follow: boolean, cred?: Cred): Promise<Vnode> {
  return namei(td, dirfd, path, { follow, cred }).then(vpOf);
}

function vpOf(r: NameiResult): Vnode {
  return r.vp!;
}

/** Release what a parent-mode result holds. */
export function releaseResult(r: NameiResult): void {
  if (r.vp !== null) vrele(r.vp);
  if (r.dvp !== null) vrele(r.dvp);
}
