/**
 * The system calls that create, remove and rename names (Linux fs/namei.c):
 * mkdir, mknod, mkfifo, symlink, link, unlink, rmdir, rename and renameat2.
 */
import type { Lwp } from '../kern/sched.ts';
import { defineSyscall } from '../kern/syscall.ts';
import { EBUSY, EEXIST, EINVAL, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, EPERM, EROFS, EXDEV, err } from '../kern/errno.ts';
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, S_ISGID, S_IXGRP, S_ISUID,
} from '../kern/constants.ts';
import type { Cred } from '../kern/proc.ts';
import { type Vnode, vrele } from './vnode.ts';
import { type At, type NameiResult, namei, procFs, releaseResult } from './namei.ts';
import { MAY_EXEC, MAY_READ, MAY_WRITE, checkAccess, checkDelete, isOwner, newOwner, vaccess } from './perm.ts';
import { cred, relookup, resolveAt, checkFlags } from './sys_internal.ts';
import { ancestorBelow } from './vfs_getcwd.ts';
import { fsnotifyCreate, fsnotifyDelete, fsnotifyRename } from './inotify_hooks.ts';

// ---- creating names -----------------------------------------------------------------------

/**
 * The shared part of mkdir, mknod and symlink (Linux filename_create):
 * parent walk, EEXIST for an existing name (a dangling symlink included) or
 * for ".", ".." and "/", ENOENT for a trailing slash on a non-directory,
 * then EROFS, then write+search permission on the directory.
 */
async function createName(
  td: Lwp, dirfd: At, path: string, wantDir: boolean,
  make: (dvp: Vnode, name: string) => Promise<Vnode> | Vnode,
): Promise<void> {
  const r = await namei(td, dirfd, path, { follow: false, parent: true, lookupLast: false });
  try {
    if (r.last !== 'norm') throw err(EEXIST);
    const dvp = r.dvp!;
    {
      const dl = dvp.lock.enter(td, 'excl');
      using dg = dl instanceof Promise ? await dl : dl;
      let existing = relookup(td, dvp, r.name);
      if (existing instanceof Promise) existing = await existing;
      if (existing !== null) {
        vrele(existing);
        throw err(EEXIST);
      }
      if (r.trailingSlash && !wantDir) throw err(ENOENT);
      if (dvp.mount.readOnly) throw err(EROFS);
      checkAccess(dvp, cred(td), MAY_WRITE | MAY_EXEC);
      if (dvp.nlink === 0) throw err(ENOENT);
      const nvp = await make(dvp, r.name);
      fsnotifyCreate(td.k, dvp, r.name, nvp); // inotify(7)
      vrele(nvp);
    }
  } finally {
    releaseResult(r);
  }
}

export function mkdirAt(td: Lwp, dirfd: At, path: string, mode: number): Promise<number> {
  return createName(td, dirfd, path, true, (dvp, name) => {
    // mkdir(2): mode & ~umask & (S_IRWXUGO | S_ISVTX); S_ISGID comes only from the parent.
    const [uid, gid, m] = newOwner(dvp, cred(td), S_IFDIR | (mode & 0o1777 & ~td.proc.umask));
    return dvp.ops.mkdir(dvp, td, name, { mode: m, uid, gid, rdev: 0 });
  }).then(() => 0);
}

export function mknodAt(td: Lwp, dirfd: At, path: string, mode: number, dev: number): Promise<number> {
  let type = mode & S_IFMT;
  if (type === 0) type = S_IFREG;
  // mknod(2): EINVAL for an unknown type; EPERM for a directory (use mkdir).
  if (type === S_IFDIR) return Promise.reject(err(EPERM));
  if (type !== S_IFREG && type !== S_IFCHR && type !== S_IFBLK && type !== S_IFIFO && type !== S_IFSOCK) return Promise.reject(err(EINVAL));
  return createName(td, dirfd, path, false, (dvp, name) => {
    const c = cred(td);
    // mknod(2) EPERM: device nodes need CAP_MKNOD (checked after EEXIST, as vfs_mknod does).
    if ((type === S_IFCHR || type === S_IFBLK) && c.fsuid !== 0) throw err(EPERM);
    const [uid, gid, m] = newOwner(dvp, c, type | (mode & 0o7777 & ~td.proc.umask));
    const rdev = type === S_IFCHR || type === S_IFBLK ? dev : 0;
    return dvp.ops.create(dvp, td, name, { mode: m, uid, gid, rdev });
  }).then(() => 0);
}

export function symlinkAt(td: Lwp, target: string, dirfd: At, path: string): Promise<number> {
  if (target.length === 0) return Promise.reject(err(ENOENT)); // symlink(2): empty target
  return createName(td, dirfd, path, false, (dvp, name) => {
    const [uid, gid] = newOwner(dvp, cred(td), S_IFLNK | 0o777);
    return dvp.ops.symlink(dvp, td, name, { mode: S_IFLNK | 0o777, uid, gid, rdev: 0 }, target);
  }).then(() => 0);
}

/**
 * Linux fs.protected_hardlinks (on by default, and on the host the
 * conformance suite compares with): a non-owner may hard-link only a regular
 * file it can read and write that is not set-user-ID or executable set-group-ID.
 */
function mayLinkTo(vp: Vnode, c: Cred): boolean {
  if (isOwner(vp, c)) return true;
  if (!vp.isReg) return false;
  if ((vp.mode & S_ISUID) !== 0) return false;
  if ((vp.mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP)) return false;
  return vaccess(vp, c, MAY_READ | MAY_WRITE) === 0;
}

/**
 * Make `name` in directory dvp a new link to vp: the part of linkat(2) after
 * path resolution, also used by the FUSE server, whose LINK names the source
 * by node. Linux do_linkat order: filename_create (EEXIST, ENOENT for a
 * trailing slash, EROFS), then EXDEV, then may_linkat (protected_hardlinks
 * EPERM), then vfs_link (may_create EACCES, directory EPERM, unlinked ENOENT).
 * A dvp that is no directory (a caller naming any node) is ENOTDIR, before any lock.
 */
export async function vn_link(td: Lwp, vp: Vnode, dvp: Vnode, name: string, trailingSlash = false): Promise<void> {
  if (!dvp.isDir) throw err(ENOTDIR);
  const c = cred(td);
  {
    const dl = dvp.lock.enter(td, 'excl');
    using dg = dl instanceof Promise ? await dl : dl;
    let existing = relookup(td, dvp, name);
    if (existing instanceof Promise) existing = await existing;
    if (existing !== null) {
      vrele(existing);
      throw err(EEXIST);
    }
    if (trailingSlash) throw err(ENOENT);
    if (dvp.mount.readOnly) throw err(EROFS);
    if (dvp.mount !== vp.mount) throw err(EXDEV);
    if (!mayLinkTo(vp, c)) throw err(EPERM);
    checkAccess(dvp, c, MAY_WRITE | MAY_EXEC);
    if (dvp.nlink === 0) throw err(ENOENT);
    if (vp.isDir) throw err(EPERM); // link(2): oldpath is a directory
    if (vp.nlink === 0) throw err(ENOENT); // unlinked file (reached via AT_EMPTY_PATH)
    {
      const l = vp.lock.enter(td, 'excl');
      using g = l instanceof Promise ? await l : l;
      const lr = dvp.ops.link(dvp, td, vp, name);
      if (lr instanceof Promise) await lr;
      fsnotifyCreate(td.k, dvp, name, vp, true); // inotify(7)
    }
  }
}

async function linkAt(td: Lwp, olddirfd: At, oldpath: string, newdirfd: At, newpath: string, flags: number): Promise<number> {
  checkFlags(flags, AT_SYMLINK_FOLLOW | AT_EMPTY_PATH);
  const c = cred(td);
  // linkat(2) AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; without it the empty path is ENOENT.
  if (oldpath.length === 0 && (flags & AT_EMPTY_PATH) !== 0 && c.fsuid !== 0) throw err(ENOENT);
  const vp = await resolveAt(td, olddirfd, oldpath, flags, false);
  try {
    const r = await namei(td, newdirfd, newpath, { follow: false, parent: true, lookupLast: false });
    try {
      if (r.last !== 'norm') throw err(EEXIST);
      await vn_link(td, vp, r.dvp!, r.name, r.trailingSlash);
    } finally {
      releaseResult(r);
    }
  } finally {
    vrele(vp);
  }
  return 0;
}

// ---- removing names ---------------------------------------------------------------------

export async function unlinkAt(td: Lwp, dirfd: At, path: string, flags: number): Promise<number> {
  checkFlags(flags, AT_REMOVEDIR);
  if ((flags & AT_REMOVEDIR) !== 0) return rmdirAt(td, dirfd, path);
  const r = await namei(td, dirfd, path, { follow: false, parent: true, lookupLast: false });
  try {
    // unlink(2) on ".", ".." or "/": they are directories.
    if (r.last !== 'norm') throw err(EISDIR);
    await removeName(td, r, false);
  } finally {
    releaseResult(r);
  }
  return 0;
}

export async function rmdirAt(td: Lwp, dirfd: At, path: string): Promise<number> {
  const r = await namei(td, dirfd, path, { follow: false, parent: true, lookupLast: false });
  try {
    // rmdir(2): "." is EINVAL, ".." ENOTEMPTY, "/" EBUSY.
    if (r.last === 'dot') throw err(EINVAL);
    if (r.last === 'dotdot') throw err(ENOTEMPTY);
    if (r.last === 'root') throw err(EBUSY);
    await removeName(td, r, true);
  } finally {
    releaseResult(r);
  }
  return 0;
}

/**
 * The second half of unlink and rmdir (Linux do_unlinkat / do_rmdir): lock
 * the parent, look the name up again under that lock, apply the call's
 * rules in Linux's order, lock the victim, and ask the file system.
 */
async function removeName(td: Lwp, r: NameiResult, dir: boolean): Promise<void> {
  const dvp = r.dvp!;
  if (dvp.mount.readOnly) throw err(EROFS);
  {
    const dl = dvp.lock.enter(td, 'excl');
    using dg = dl instanceof Promise ? await dl : dl;
    let vp = relookup(td, dvp, r.name);
    if (vp instanceof Promise) vp = await vp;
    if (vp === null) throw err(ENOENT);
    try {
      if (dir) {
        // may_delete: permission and the sticky bit, then the type.
        checkDelete(dvp, vp, cred(td));
        if (!vp.isDir) throw err(ENOTDIR);
        // rmdir(2) EBUSY: a mount point, or the caller's root directory.
        if (vp.mountedHere !== null || vp === procFs(td).root) throw err(EBUSY);
      } else {
        // A trailing slash is judged before permissions (do_unlinkat "slashes"),
        // the type after them (may_delete).
        if (r.trailingSlash) throw err(vp.isDir ? EISDIR : ENOTDIR);
        checkDelete(dvp, vp, cred(td));
        if (vp.isDir) throw err(EISDIR);
        if (vp.mountedHere !== null) throw err(EBUSY);
      }
      {
        const l = vp.lock.enter(td, 'excl', { subclass: vp.isDir ? 1 : 0 });
        using g = l instanceof Promise ? await l : l;
        const rr = dir ? dvp.ops.rmdir(dvp, td, vp, r.name) : dvp.ops.unlink(dvp, td, vp, r.name);
        if (rr instanceof Promise) await rr;
        fsnotifyDelete(td.k, dvp, r.name, vp); // inotify(7)
      }
    } finally {
      vrele(vp);
    }
  }
}

// ---- rename --------------------------------------------------------------------------------

export async function renameAt2(td: Lwp, olddirfd: At, oldpath: string, newdirfd: At, newpath: string, flags: number): Promise<number> {
  checkFlags(flags, RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT);
  if ((flags & RENAME_NOREPLACE) !== 0 && (flags & RENAME_EXCHANGE) !== 0) throw err(EINVAL);
  if ((flags & RENAME_WHITEOUT) !== 0) throw err(EINVAL); // overlayfs whiteouts: not supported
  const exchange = (flags & RENAME_EXCHANGE) !== 0;
  const c = cred(td);
  const o = await namei(td, olddirfd, oldpath, { follow: false, parent: true, lookupLast: false });
  let n: NameiResult | null = null;
  try {
    n = await namei(td, newdirfd, newpath, { follow: false, parent: true, lookupLast: false });
    if (o.last === 'root' || n.last === 'root') throw err(EBUSY);
    const fdvp = o.dvp!;
    const tdvp = n.dvp!;
    if (fdvp.mount !== tdvp.mount) throw err(EXDEV);
    if (o.last !== 'norm') throw err(EBUSY);
    if (n.last !== 'norm') throw err((flags & RENAME_NOREPLACE) !== 0 ? EEXIST : EBUSY);
    if (fdvp.mount.readOnly) throw err(EROFS);
    const rl = fdvp.mount.renameLock.enter(td);
    using renaming = rl instanceof Promise ? await rl : rl;
    // The ancestor checks' "traps" (Linux lock_rename), found under the rename lock before
    // any directory lock: the walk locks ancestors, never to be taken under a descendant.
    const trapT = fdvp === tdvp ? null : await ancestorBelow(td, tdvp, fdvp);
    try {
      const trapF = fdvp === tdvp ? null : await ancestorBelow(td, fdvp, tdvp);
      try {
        // Lock the two directories in vnode-id order (README lock order).
        const first = fdvp.id <= tdvp.id ? fdvp : tdvp;
        const second = first === fdvp ? tdvp : fdvp;
        const l1 = first.lock.enter(td, 'excl');
        using g1 = l1 instanceof Promise ? await l1 : l1;
        const l2 = second === first ? null : second.lock.enter(td, 'excl', { subclass: 1 });
        using g2 = l2 instanceof Promise ? await l2 : l2;
        await renameLocked(td, c, fdvp, o, tdvp, n, flags, exchange, trapT, trapF);
      } finally {
        if (trapF !== null) vrele(trapF);
      }
    } finally {
      if (trapT !== null) vrele(trapT);
    }
  } finally {
    releaseResult(o);
    if (n !== null) releaseResult(n);
  }
  return 0;
}

/**
 * rename under the rename lock and both directory locks. trapT: the
 * directory just below fdvp on the way up from tdvp (null unless fdvp is an
 * ancestor of tdvp); trapF the same from fdvp to tdvp (vfs_getcwd.ts).
 */
async function renameLocked(
  td: Lwp, c: Cred, fdvp: Vnode, o: NameiResult, tdvp: Vnode, n: NameiResult, flags: number, exchange: boolean,
  trapT: Vnode | null, trapF: Vnode | null,
): Promise<void> {
  let fvp = relookup(td, fdvp, o.name);
  if (fvp instanceof Promise) fvp = await fvp;
  if (fvp === null) throw err(ENOENT);
  let tvp: Vnode | null = null;
  try {
    // The order of Linux do_renameat2: target lookup (EEXIST for NOREPLACE),
    // RENAME_EXCHANGE's own checks, then trailing slashes on a non-directory.
    const tvpP = relookup(td, tdvp, n.name);
    tvp = tvpP instanceof Promise ? await tvpP : tvpP;
    if ((flags & RENAME_NOREPLACE) !== 0 && tvp !== null) throw err(EEXIST);
    if (exchange) {
      if (tvp === null) throw err(ENOENT);
      if (!tvp.isDir && n.trailingSlash) throw err(ENOTDIR);
    }
    // "unless the source is a directory trailing slashes give -ENOTDIR"
    if (!fvp.isDir && (o.trailingSlash || (!exchange && n.trailingSlash))) throw err(ENOTDIR);
    // Moving a directory under itself: EINVAL; replacing an ancestor of the source: ENOTEMPTY.
    if (fvp === trapT) throw err(EINVAL); // fvp is tdvp or one of its ancestors
    if (tvp !== null && tvp === trapF) throw err(exchange ? EINVAL : ENOTEMPTY); // tvp is an ancestor of fdvp
    // rename(2): "If oldpath and newpath are existing hard links referring to the same file, rename() does nothing".
    if (fvp === tvp) return;
    // may_delete on the source.
    checkDelete(fdvp, fvp, c);
    if (tvp === null) checkAccess(tdvp, c, MAY_WRITE | MAY_EXEC);
    else {
      checkDelete(tdvp, tvp, c);
      if (!exchange) {
        if (fvp.isDir && !tvp.isDir) throw err(ENOTDIR);
        if (!fvp.isDir && tvp.isDir) throw err(EISDIR);
      }
    }
    // A directory changing parent has its ".." rewritten: it needs write permission itself.
    if (fdvp !== tdvp) {
      if (fvp.isDir) checkAccess(fvp, c, MAY_WRITE);
      if (exchange && tvp !== null && tvp.isDir) checkAccess(tvp, c, MAY_WRITE);
    }
    if (fvp.mountedHere !== null || fvp.isMountRoot || (tvp !== null && (tvp.mountedHere !== null || tvp.isMountRoot))) throw err(EBUSY);
    if (tvp !== null && tvp === procFs(td).root) throw err(EBUSY);
    if (tdvp.nlink === 0) throw err(ENOENT);
    const rr = fdvp.ops.rename(fdvp, fvp, o.name, tdvp, tvp, n.name, td, exchange);
    if (rr instanceof Promise) await rr;
    fsnotifyRename(td.k, fdvp, o.name, tdvp, n.name, fvp, exchange ? null : tvp); // inotify(7)
    if (exchange) fsnotifyRename(td.k, tdvp, n.name, fdvp, o.name, tvp!, null); // inotify(7)
  } finally {
    vrele(fvp);
    if (tvp !== null) vrele(tvp);
  }
}

// ---- the table --------------------------------------------------------------------------------

export const nameiSyscalls = [
  defineSyscall('mkdir', 83, ['path', 'uint'], (td, path: string, mode: number) => mkdirAt(td, AT_FDCWD, path, mode)),
  defineSyscall('mkdirat', 258, ['fd', 'path', 'uint'], (td, dirfd: number, path: string, mode: number) => mkdirAt(td, dirfd, path, mode)),
  defineSyscall('rmdir', 84, ['path'], (td, path: string) => rmdirAt(td, AT_FDCWD, path)),
  defineSyscall('unlink', 87, ['path'], (td, path: string) => unlinkAt(td, AT_FDCWD, path, 0)),
  defineSyscall('unlinkat', 263, ['fd', 'path', 'int?'], (td, dirfd: number, path: string, flags?: number) => unlinkAt(td, dirfd, path, flags ?? 0)),
  defineSyscall('rename', 82, ['path', 'path'], (td, a: string, b: string) => renameAt2(td, AT_FDCWD, a, AT_FDCWD, b, 0)),
  defineSyscall('renameat', 264, ['fd', 'path', 'fd', 'path'], (td, d1: number, a: string, d2: number, b: string) => renameAt2(td, d1, a, d2, b, 0)),
  defineSyscall('renameat2', 316, ['fd', 'path', 'fd', 'path', 'uint?'], (td, d1: number, a: string, d2: number, b: string, flags?: number) => renameAt2(td, d1, a, d2, b, flags ?? 0)),
  defineSyscall('link', 86, ['path', 'path'], (td, a: string, b: string) => linkAt(td, AT_FDCWD, a, AT_FDCWD, b, 0)),
  defineSyscall('linkat', 265, ['fd', 'path', 'fd', 'path', 'int?'], (td, d1: number, a: string, d2: number, b: string, flags?: number) => linkAt(td, d1, a, d2, b, flags ?? 0)),
  defineSyscall('symlink', 88, ['path', 'path'], (td, target: string, path: string) => symlinkAt(td, target, AT_FDCWD, path)),
  defineSyscall('symlinkat', 266, ['path', 'fd', 'path'], (td, target: string, dirfd: number, path: string) => symlinkAt(td, target, dirfd, path)),
  defineSyscall('mknod', 133, ['path', 'uint', 'uint?'], (td, path: string, mode: number, dev?: number) => mknodAt(td, AT_FDCWD, path, mode, dev ?? 0)),
  defineSyscall('mknodat', 259, ['fd', 'path', 'uint', 'uint?'], (td, dirfd: number, path: string, mode: number, dev?: number) => mknodAt(td, dirfd, path, mode, dev ?? 0)),
  defineSyscall('mkfifo', -1, ['path', 'uint'], (td, path: string, mode: number) => mknodAt(td, AT_FDCWD, path, S_IFIFO | (mode & 0o7777), 0)),
  defineSyscall('mkfifoat', -1, ['fd', 'path', 'uint'], (td, dirfd: number, path: string, mode: number) => mknodAt(td, dirfd, path, S_IFIFO | (mode & 0o7777), 0)),
] as const;
