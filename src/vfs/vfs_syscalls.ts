/**
 * The file-system system calls (Linux fs/open.c, fs/namei.c, fs/stat.c,
 * fs/utimes.c, fs/readdir.c, fs/namespace.c, fs/statfs.c, fs/sync.c;
 * NetBSD vfs_syscalls.c). Each handler resolves its paths with namei, checks
 * the POSIX rules (perm.ts) in the order Linux checks them — so that the
 * errno for a call breaking two rules is Linux's — and calls one VOP.
 *
 * Library forms (DESIGN.md; Linux argument order, async, out-values returned):
 *   open(path, flags, mode?) → fd            openat(dirfd, path, flags, mode?) → fd
 *   stat/lstat(path) → Stat                  newfstatat|fstatat(dirfd, path, flags?) → Stat
 *   statx(dirfd, path, flags, mask) → Statx  readlink(path) / readlinkat(dirfd, path) → string
 *   getcwd(size?) → string                   getdents64(fd, count) → Dirent64[]
 *   statfs(path) / fstatfs(fd) → Statfs      utimensat(dirfd, path|null, times|null, flags?)
 *   pathconf(path, name) / fpathconf(fd, name) → number (-1: no limit)
 * getdents64 returns the records a `count`-byte linux_dirent64 buffer would
 * hold, as objects `{ ino, off, type, name }` (off = the cookie to resume
 * after this entry, usable with lseek); EINVAL when not even one fits.
 *
 * Not supported: O_TMPFILE (EOPNOTSUPP), bind and move mounts (EINVAL),
 * MNT_EXPIRE (EINVAL), RENAME_WHITEOUT (EINVAL), openat2, name_to_handle_at,
 * extended attributes, fanotify/inotify.
 */
import type { Lwp } from '../kern/sched.ts';
import type { File, Stat, Timespec } from '../kern/file.ts';
import { defineSyscall } from '../kern/syscall.ts';
import {
  EBADF, EBUSY, EEXIST, EFAULT, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR, ENOTEMPTY, ENXIO, EOPNOTSUPP, EPERM, ERANGE,
  EROFS, EXDEV, err,
} from '../kern/errno.ts';
import {
  AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_REMOVEDIR, AT_STATX_DONT_SYNC, AT_STATX_FORCE_SYNC,
  AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, F_OK, NAME_MAX, O_ACCMODE, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL,
  O_NOATIME, O_NOCTTY, O_NOFOLLOW, O_PATH, O_RDONLY, O_TRUNC, O_WRONLY, PATH_MAX, PIPE_BUF, RENAME_EXCHANGE, RENAME_NOREPLACE,
  RENAME_WHITEOUT, R_OK, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, S_ISGID, S_IXGRP,
  S_ISUID, UTIME_NOW, UTIME_OMIT, W_OK, X_OK, O_RDWR,
} from '../kern/constants.ts';
import type { Cred } from '../kern/proc.ts';
import {
  MNT_DETACH, MNT_EXPIRE, MNT_FORCE, MS_BIND, MS_MOVE, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID,
  MS_RDONLY, MS_REMOUNT, MS_SYNCHRONOUS, MS_MANDLOCK, MS_RELATIME, MS_NOSYMFOLLOW, MS_STRICTATIME, MS_LAZYTIME,
  MS_SILENT, MS_DIRSYNC, MS_REC, UMOUNT_NOFOLLOW, type SetAttrs, type Statfs, type Vnode, readsUnlocked, touchAtime, vfsNow, vref, vrele,
} from './vnode.ts';
import {
  type NameiResult, crossMounts, dirfdVnode, fileVnode, lookupPath, namei, procFs, readlinkVnode, releaseResult, FsState,
} from './namei.ts';
import {
  MAY_EXEC, MAY_READ, MAY_WRITE, checkAccess, checkDelete, checkUtimes, chmodMode, chownIds, isOwner,
  modeAfterChown, newOwner, vaccess,
} from './perm.ts';
import {
  type Statx, openDevice, openFifo, refreshAttrs, setattrLocked, truncateVnode, vlock, vnodeFile, vnodeStat,
  vnodeStatx, vunlock,
} from './vfs_vnops.ts';
import { type Vfs, vfsOf } from './vfs.ts';
import { ancestorBelow, dirPath } from './vfs_getcwd.ts';

const __O_TMPFILE = 0o20000000;

function V(td: Lwp): Vfs {
  return vfsOf(td.k);
}

function cred(td: Lwp): Cred {
  return td.proc.cred;
}

/** Look name up in dvp, which the caller holds locked; null when absent. */
function relookup(td: Lwp, dvp: Vnode, name: string): Vnode | null | Promise<Vnode | null> {
  return dvp.ops.lookup(dvp, td, name);
}

/** Install a new File in the caller's table; releases it on EMFILE. */
async function installFile(td: Lwp, fp: File, cloexec: boolean): Promise<number> {
  try {
    return td.proc.fdt.alloc(fp, cloexec);
  } catch (e) {
    await fp.release(td);
    throw e;
  }
}

/** The vnode behind fd (vnode files, FIFOs and devices opened by path); EBADF for O_PATH unless allowed. */
function fdVnode(td: Lwp, fd: number, allowPath: boolean): Vnode {
  const fp = td.proc.fdt.get(fd);
  if (!allowPath && (fp.flags & O_PATH) !== 0) throw err(EBADF);
  const vp = fileVnode(fp) ?? V(td).specials.get(fp);
  if (vp === undefined || vp === null) throw err(EINVAL);
  return vp;
}

/**
 * Resolve (dirfd, path, flags) for the *at calls that take AT_EMPTY_PATH and
 * AT_SYMLINK_NOFOLLOW; returns a referenced vnode — directly for
 * AT_EMPTY_PATH, a promise for a walk (errors may be thrown at once).
 */
function resolveAt(td: Lwp, dirfd: number, path: string, flags: number, followDefault = true, c?: Cred): Vnode | Promise<Vnode> {
  if (path.length === 0 && (flags & AT_EMPTY_PATH) !== 0) {
    if (dirfd === AT_FDCWD) return vref(procFs(td).cwd);
    return vref(fdVnode(td, dirfd, true));
  }
  const follow = (flags & AT_SYMLINK_FOLLOW) !== 0 || (followDefault && (flags & AT_SYMLINK_NOFOLLOW) === 0);
  return lookupPath(td, dirfd, path, follow, c);
}

function checkFlags(flags: number, allowed: number): void {
  if ((flags & ~allowed) !== 0) throw err(EINVAL);
}

// ---- open ------------------------------------------------------------------------

async function doOpen(td: Lwp, dirfd: number, path: string, flags: number, mode: number): Promise<number> {
  const vfs = V(td);
  let fl = flags;
  if ((fl & __O_TMPFILE) !== 0) throw err(EOPNOTSUPP);
  // open(2) O_PATH: "flag bits other than O_CLOEXEC, O_DIRECTORY, and O_NOFOLLOW are ignored".
  if ((fl & O_PATH) !== 0) fl &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  // Access mode 3 (O_ACCMODE) is Linux's "check read and write permission, then neither":
  // want below asks both, and the file can neither read nor write (File.readable/writable).
  const acc = fl & O_ACCMODE;
  // Linux 6.4+ build_open_flags: O_CREAT|O_DIRECTORY is EINVAL (it never made sense).
  if ((fl & (O_CREAT | O_DIRECTORY)) === (O_CREAT | O_DIRECTORY)) throw err(EINVAL);
  const cloexec = (fl & O_CLOEXEC) !== 0;
  const c = cred(td);
  let vp: Vnode;
  let created = false;
  if ((fl & O_CREAT) !== 0) {
    const excl = (fl & O_EXCL) !== 0;
    // O_CREAT|O_EXCL never follows a final symlink (open(2): "symbolic links are not followed").
    const r = await namei(td, dirfd, path, { follow: !excl && (fl & O_NOFOLLOW) === 0, parent: true });
    try {
      if (r.last !== 'norm') {
        // "/", "." or "..": an existing directory.
        throw err(excl ? EEXIST : EISDIR);
      }
      // open(2) EISDIR: O_CREAT with a trailing slash.
      if (r.trailingSlash) throw err(EISDIR);
      const dvp = r.dvp!;
      { const lw = vlock(td, dvp, true); if (lw !== undefined) await lw; }
      try {
        let existing = relookup(td, dvp, r.name);
        if (existing instanceof Promise) existing = await existing;
        // An existing name may be a mount point (a file mounted on a file): open what is mounted there.
        existing = crossMounts(existing);
        if (existing !== null) {
          if (excl) {
            vrele(existing);
            throw err(EEXIST);
          }
          vp = existing;
        } else {
          if (dvp.mount.readOnly) throw err(EROFS);
          checkAccess(dvp, c, MAY_WRITE | MAY_EXEC);
          if (dvp.nlink === 0) throw err(ENOENT);
          const [uid, gid, m] = newOwner(dvp, c, S_IFREG | (mode & 0o7777 & ~td.proc.umask));
          const cr = dvp.ops.create(dvp, td, r.name, { mode: m, uid, gid, rdev: 0 });
          vp = cr instanceof Promise ? await cr : cr;
          created = true;
        }
      } finally {
        vunlock(td, dvp);
      }
    } finally {
      releaseResult(r);
    }
  } else {
    vp = await lookupPath(td, dirfd, path, (fl & O_NOFOLLOW) === 0);
  }
  let owned = true;
  try {
    if (vp.isLnk && !((fl & O_PATH) !== 0 && (fl & O_NOFOLLOW) !== 0)) throw err(ELOOP); // open(2) ELOOP: O_NOFOLLOW and the last component is a symlink
    if ((fl & O_DIRECTORY) !== 0 && !vp.isDir) throw err(ENOTDIR);
    if ((fl & O_PATH) !== 0) {
      owned = false;
      return await installFile(td, vnodeFile(vp, fl & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), vfs.locks), cloexec);
    }
    if (vp.isDir && (acc !== O_RDONLY || (fl & (O_TRUNC | O_CREAT)) !== 0)) throw err(EISDIR);
    if (!created) {
      let want = acc === O_RDONLY ? MAY_READ : acc === O_WRONLY ? MAY_WRITE : MAY_READ | MAY_WRITE;
      if ((fl & O_TRUNC) !== 0) want |= MAY_WRITE;
      // inode_permission: a read-only mount refuses writes to files, directories and symlinks first.
      if ((want & MAY_WRITE) !== 0 && (vp.isReg || vp.isDir || vp.isLnk) && vp.mount.readOnly) throw err(EROFS);
      checkAccess(vp, c, want);
    }
    switch (vp.type) {
      case S_IFIFO:
        owned = false;
        return await installFile(td, await openFifo(td, vp, fl & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), vfs.locks, vfs.specials), cloexec);
      case S_IFCHR:
      case S_IFBLK:
        owned = false;
        return await installFile(td, await openDevice(td, vp, fl & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC), vfs.specials), cloexec);
      case S_IFSOCK:
        throw err(ENXIO); // open(2) ENXIO: "the file is a UNIX domain socket"
    }
    if ((fl & O_TRUNC) !== 0 && vp.isReg && !created) await truncateVnode(td, vp, 0, true);
    if (vp.ops.open !== undefined) {
      const r = vp.ops.open(vp, td, fl);
      if (r instanceof Promise) await r;
    }
    owned = false;
    return await installFile(td, vnodeFile(vp, fl & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), vfs.locks), cloexec);
  } finally {
    if (owned) vrele(vp);
  }
}

// ---- stat family ---------------------------------------------------------------------

async function statAt(td: Lwp, dirfd: number, path: string, flags: number): Promise<Stat> {
  checkFlags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC);
  if (path.length === 0 && (flags & AT_EMPTY_PATH) !== 0 && dirfd !== AT_FDCWD) {
    const fp = td.proc.fdt.get(dirfd);
    if (fp.ops.stat === undefined) throw err(EBADF);
    return fp.ops.stat(fp, td);
  }
  const vp = await resolveAt(td, dirfd, path, flags);
  try {
    const ra = refreshAttrs(td, vp);
    if (ra !== undefined) await ra;
    return vnodeStat(vp);
  } finally {
    vrele(vp);
  }
}

async function statxAt(td: Lwp, dirfd: number, path: string, flags: number, _mask: number): Promise<Statx> {
  checkFlags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC);
  if ((flags & AT_STATX_FORCE_SYNC) !== 0 && (flags & AT_STATX_DONT_SYNC) !== 0) throw err(EINVAL);
  if ((_mask & 0x80000000) !== 0) throw err(EINVAL); // STATX__RESERVED
  const vp = await resolveAt(td, dirfd, path, flags);
  try {
    const ra = refreshAttrs(td, vp);
    if (ra !== undefined) await ra;
    return vnodeStatx(vp);
  } finally {
    vrele(vp);
  }
}

// ---- access ------------------------------------------------------------------------------

async function accessAt(td: Lwp, dirfd: number, path: string, mode: number, flags: number): Promise<number> {
  if ((mode & ~(R_OK | W_OK | X_OK)) !== 0) throw err(EINVAL);
  checkFlags(flags, AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
  // access(2) checks with the real ids unless AT_EACCESS (faccessat(2)).
  let c = cred(td);
  if ((flags & AT_EACCESS) === 0 && (c.fsuid !== c.uid || c.fsgid !== c.gid)) {
    c = c.clone();
    c.fsuid = c.uid;
    c.fsgid = c.gid;
  }
  // The walk's search permission uses the same ids.
  const vp = await resolveAt(td, dirfd, path, flags, true, c);
  try {
    if (mode === F_OK) return 0;
    if ((mode & W_OK) !== 0 && vp.mount.readOnly && (vp.isReg || vp.isDir || vp.isLnk)) throw err(EROFS);
    checkAccess(vp, c, (mode & R_OK ? MAY_READ : 0) | (mode & W_OK ? MAY_WRITE : 0) | (mode & X_OK ? MAY_EXEC : 0));
    return 0;
  } finally {
    vrele(vp);
  }
}

// ---- creating names -----------------------------------------------------------------------

/**
 * The shared part of mkdir, mknod and symlink (Linux filename_create):
 * parent walk, EEXIST for an existing name (a dangling symlink included) or
 * for ".", ".." and "/", ENOENT for a trailing slash on a non-directory,
 * then EROFS, then write+search permission on the directory.
 */
async function createName(
  td: Lwp, dirfd: number, path: string, wantDir: boolean,
  make: (dvp: Vnode, name: string) => Promise<Vnode> | Vnode,
): Promise<void> {
  const r = await namei(td, dirfd, path, { follow: false, parent: true, lookupLast: false });
  try {
    if (r.last !== 'norm') throw err(EEXIST);
    const dvp = r.dvp!;
    { const lw = vlock(td, dvp, true); if (lw !== undefined) await lw; }
    try {
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
      vrele(await make(dvp, r.name));
    } finally {
      vunlock(td, dvp);
    }
  } finally {
    releaseResult(r);
  }
}

function mkdirAt(td: Lwp, dirfd: number, path: string, mode: number): Promise<number> {
  return createName(td, dirfd, path, true, (dvp, name) => {
    // mkdir(2): mode & ~umask & (S_IRWXUGO | S_ISVTX); S_ISGID comes only from the parent.
    const [uid, gid, m] = newOwner(dvp, cred(td), S_IFDIR | (mode & 0o1777 & ~td.proc.umask));
    return dvp.ops.mkdir(dvp, td, name, { mode: m, uid, gid, rdev: 0 });
  }).then(() => 0);
}

function mknodAt(td: Lwp, dirfd: number, path: string, mode: number, dev: number): Promise<number> {
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

function symlinkAt(td: Lwp, target: string, dirfd: number, path: string): Promise<number> {
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
 */
export async function linkVnode(td: Lwp, vp: Vnode, dvp: Vnode, name: string, trailingSlash = false): Promise<void> {
  const c = cred(td);
  { const lw = vlock(td, dvp, true); if (lw !== undefined) await lw; }
  try {
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
    { const lw = vlock(td, vp, true); if (lw !== undefined) await lw; }
    try {
      const lr = dvp.ops.link(dvp, td, vp, name);
      if (lr instanceof Promise) await lr;
    } finally {
      vunlock(td, vp);
    }
  } finally {
    vunlock(td, dvp);
  }
}

async function linkAt(td: Lwp, olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): Promise<number> {
  checkFlags(flags, AT_SYMLINK_FOLLOW | AT_EMPTY_PATH);
  const c = cred(td);
  // linkat(2) AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; without it the empty path is ENOENT.
  if (oldpath.length === 0 && (flags & AT_EMPTY_PATH) !== 0 && c.fsuid !== 0) throw err(ENOENT);
  const vp = await resolveAt(td, olddirfd, oldpath, flags, false);
  try {
    const r = await namei(td, newdirfd, newpath, { follow: false, parent: true, lookupLast: false });
    try {
      if (r.last !== 'norm') throw err(EEXIST);
      await linkVnode(td, vp, r.dvp!, r.name, r.trailingSlash);
    } finally {
      releaseResult(r);
    }
  } finally {
    vrele(vp);
  }
  return 0;
}

// ---- removing names ---------------------------------------------------------------------

async function unlinkAt(td: Lwp, dirfd: number, path: string, flags: number): Promise<number> {
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

async function rmdirAt(td: Lwp, dirfd: number, path: string): Promise<number> {
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
  { const lw = vlock(td, dvp, true); if (lw !== undefined) await lw; }
  try {
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
      { const lw = vlock(td, vp, true, vp.isDir ? 1 : 0); if (lw !== undefined) await lw; }
      try {
        const rr = dir ? dvp.ops.rmdir(dvp, td, vp, r.name) : dvp.ops.unlink(dvp, td, vp, r.name);
        if (rr instanceof Promise) await rr;
      } finally {
        vunlock(td, vp);
      }
    } finally {
      vrele(vp);
    }
  } finally {
    vunlock(td, dvp);
  }
}

// ---- rename --------------------------------------------------------------------------------

async function renameAt2(td: Lwp, olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): Promise<number> {
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
  } finally {
    vrele(fvp);
    if (tvp !== null) vrele(tvp);
  }
}

// ---- symlinks ------------------------------------------------------------------------------

async function readlinkAt(td: Lwp, dirfd: number, path: string): Promise<string> {
  const vp = await resolveAt(td, dirfd, path, AT_EMPTY_PATH, false);
  try {
    // readlink(2): EINVAL when the file is not a symlink.
    if (!vp.isLnk) throw err(path.length === 0 ? ENOENT : EINVAL);
    const s = await readlinkVnode(td, vp);
    // Reading a link is an access (Linux touch_atime in vfs_readlink).
    return s;
  } finally {
    vrele(vp);
  }
}

// ---- attributes ------------------------------------------------------------------------------

async function withLocked<T>(td: Lwp, vp: Vnode, fn: () => Promise<T> | T): Promise<T> {
  { const lw = vlock(td, vp, true); if (lw !== undefined) await lw; }
  try {
    return await fn();
  } finally {
    vunlock(td, vp);
  }
}

async function chmodVnode(td: Lwp, vp: Vnode, mode: number): Promise<number> {
  if (vp.mount.readOnly) throw err(EROFS);
  await withLocked(td, vp, async () => {
    const m = chmodMode(vp, cred(td), mode);
    await setattrLocked(td, vp, { mode: m, ctime: vfsNow(td.k) });
  });
  return 0;
}

async function chownVnode(td: Lwp, vp: Vnode, uid: number, gid: number): Promise<number> {
  if (uid < -1 || gid < -1 || uid > 0xffffffff || gid > 0xffffffff) throw err(EINVAL);
  if (vp.mount.readOnly) throw err(EROFS);
  await withLocked(td, vp, async () => {
    const [nu, ng] = chownIds(vp, cred(td), uid, gid);
    const c: SetAttrs = { uid: nu, gid: ng, ctime: vfsNow(td.k) };
    const m = modeAfterChown(vp.mode, vp.gid, cred(td));
    if (m !== vp.mode) c.mode = m;
    await setattrLocked(td, vp, c);
  });
  return 0;
}

async function truncatePath(td: Lwp, path: string, length: number | bigint): Promise<number> {
  const len = typeof length === 'bigint' ? Number(length) : length;
  if (len < 0) throw err(EINVAL);
  const vp = await lookupPath(td, AT_FDCWD, path, true);
  try {
    if (vp.isDir) throw err(EISDIR);
    if (!vp.isReg) throw err(EINVAL);
    if (vp.mount.readOnly) throw err(EROFS);
    checkAccess(vp, cred(td), MAY_WRITE);
    await truncateVnode(td, vp, len, false);
  } finally {
    vrele(vp);
  }
  return 0;
}

/** utimensat(2) times: [atime, mtime], each {sec, nsec} with UTIME_NOW/UTIME_OMIT in nsec, or null. */
function parseTimes(times: unknown): [Timespec, Timespec] | null {
  if (times === null || times === undefined) return null;
  if (!Array.isArray(times) || times.length !== 2) throw err(EFAULT);
  const out: Timespec[] = [];
  for (const t of times as unknown[]) {
    if (typeof t !== 'object' || t === null) throw err(EFAULT);
    const { sec, nsec } = t as Partial<Timespec>;
    if (typeof nsec !== 'number' || !Number.isInteger(nsec)) throw err(EINVAL);
    if (nsec !== UTIME_NOW && nsec !== UTIME_OMIT) {
      if (nsec < 0 || nsec > 999_999_999) throw err(EINVAL);
      if (typeof sec !== 'number' || !Number.isSafeInteger(sec)) throw err(EINVAL);
    }
    out.push({ sec: typeof sec === 'number' ? sec : 0, nsec });
  }
  return [out[0]!, out[1]!];
}

async function utimesVnode(td: Lwp, vp: Vnode, t: [Timespec, Timespec] | null): Promise<number> {
  if (vp.mount.readOnly) throw err(EROFS);
  const both = (n: number): boolean => t !== null && t[0].nsec === n && t[1].nsec === n;
  const explicit = t !== null && !both(UTIME_NOW);
  await withLocked(td, vp, async () => {
    checkUtimes(vp, cred(td), explicit);
    const now = vfsNow(td.k);
    const c: SetAttrs = { ctime: now };
    if (t === null) c.atime = c.mtime = now;
    else {
      if (t[0].nsec !== UTIME_OMIT) c.atime = t[0].nsec === UTIME_NOW ? now : { sec: t[0].sec, nsec: t[0].nsec };
      if (t[1].nsec !== UTIME_OMIT) c.mtime = t[1].nsec === UTIME_NOW ? now : { sec: t[1].sec, nsec: t[1].nsec };
    }
    await setattrLocked(td, vp, c);
  });
  return 0;
}

async function utimensAt(td: Lwp, dirfd: number, path: unknown, times: unknown, flags = 0): Promise<number> {
  checkFlags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
  const t = parseTimes(times);
  // utimensat(2): both UTIME_OMIT succeeds without even looking the file up.
  if (t !== null && t[0].nsec === UTIME_OMIT && t[1].nsec === UTIME_OMIT) return 0;
  let vp: Vnode;
  if (path === null || path === undefined) {
    // Linux: a NULL path operates on dirfd itself (what futimens does).
    if (dirfd === AT_FDCWD) throw err(EFAULT);
    vp = vref(fdVnode(td, dirfd, false));
  } else {
    if (typeof path !== 'string') throw err(EFAULT);
    if (path.includes('\0')) throw err(EINVAL);
    vp = await resolveAt(td, dirfd, path, flags);
  }
  try {
    return await utimesVnode(td, vp, t);
  } finally {
    vrele(vp);
  }
}

// ---- directories ------------------------------------------------------------------------------

export interface Dirent64 {
  ino: number;
  /** Offset (cookie) of the next entry: lseek(fd, off, SEEK_SET) resumes after this one. */
  off: number;
  /** DT_* file type. */
  type: number;
  name: string;
}

const enc = new TextEncoder();

/** Bytes of s as UTF-8 (what TextEncoder would produce, lone surrogates as U+FFFD), without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * getdents64(fd, count | buf): with a byte count, the entries a buffer that
 * size would hold, as objects; with a Uint8Array, fills it with struct
 * linux_dirent64 records (little-endian u64 d_ino, s64 d_off, u16 d_reclen,
 * u8 d_type, NUL-terminated d_name, 8-byte aligned) and returns the bytes used.
 */
async function getdents64(td: Lwp, fd: number, arg: unknown): Promise<Dirent64[] | number> {
  const fp = td.proc.fdt.get(fd);
  const buf = arg instanceof Uint8Array ? arg : null;
  let count: number;
  if (buf !== null) count = buf.byteLength;
  else if (typeof arg === 'number' && Number.isInteger(arg) && arg >= 0) count = arg;
  else throw err(EFAULT);
  if ((fp.flags & O_PATH) !== 0) throw err(EBADF);
  const vp = fileVnode(fp);
  if (vp === null || !vp.isDir) throw err(ENOTDIR);
  const out: Dirent64[] = [];
  const dv = buf === null ? null : new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let used = 0;
  let tooSmall = false;
  const locked = !readsUnlocked(vp);
  if (locked) { const lw = vlock(td, vp, false); if (lw !== undefined) await lw; }
  try {
    const r = vp.ops.readdir(vp, td, fp.offset, (ino, type, name, next) => {
      const nlen = utf8Length(name);
      const nameBytes = nlen === name.length || dv === null ? null : enc.encode(name);
      const reclen = (19 + nlen + 1 + 7) & ~7;
      if (used + reclen > count) {
        if (used === 0) tooSmall = true;
        return false;
      }
      if (dv !== null) {
        dv.setBigUint64(used, BigInt(ino), true);
        dv.setBigInt64(used + 8, BigInt(next), true);
        dv.setUint16(used + 16, reclen, true);
        dv.setUint8(used + 18, type);
        if (nameBytes !== null) buf!.set(nameBytes, used + 19);
        else for (let i = 0; i < nlen; i++) buf![used + 19 + i] = name.charCodeAt(i);
        buf!.fill(0, used + 19 + nlen, used + reclen);
      } else out.push({ ino, off: next, type, name });
      used += reclen;
      fp.offset = next;
      return true;
    });
    if (r instanceof Promise) await r;
  } finally {
    if (locked) vunlock(td, vp);
  }
  // getdents(2) EINVAL: "Result buffer is too small".
  if (tooSmall) throw err(EINVAL);
  const t = touchAtime(td, vp, (fp.flags & O_NOATIME) !== 0);
  if (t !== undefined) await t;
  return buf !== null ? used : out;
}

async function changeDir(td: Lwp, vp: Vnode, which: 'cwd' | 'root'): Promise<number> {
  try {
    if (!vp.isDir) throw err(ENOTDIR);
    checkAccess(vp, cred(td), MAY_EXEC);
    const fs = procFs(td);
    const old = fs[which];
    fs[which] = vref(vp);
    vrele(old);
    return 0;
  } finally {
    vrele(vp);
  }
}

async function getcwd(td: Lwp, size?: number): Promise<string> {
  const fs = procFs(td);
  // getcwd(3) ENOENT: "The current working directory has been unlinked."
  if (fs.cwd.nlink === 0) throw err(ENOENT);
  // Outside the process root (reachable false) Linux prefixes "(unreachable)"; the path from the top is given here.
  const { path } = await dirPath(td, fs.cwd, fs.root);
  if (size !== undefined && enc.encode(path).byteLength + 1 > size) throw err(size === 0 ? EINVAL : ERANGE);
  return path;
}

// ---- file systems ------------------------------------------------------------------------------

const ST_RDONLY = 1;
const ST_NOSUID = 2;
const ST_NODEV = 4;
const ST_NOEXEC = 8;
const ST_SYNCHRONOUS = 16;
const ST_VALID = 0x20;
const ST_MANDLOCK = 64;
const ST_NOATIME = 1024;
const ST_NODIRATIME = 2048;
const ST_RELATIME = 4096;
const ST_NOSYMFOLLOW = 8192;

async function statfsVnode(td: Lwp, vp: Vnode): Promise<Statfs> {
  const mp = vp.mount;
  const r = mp.ops.statfs(mp, td);
  const s = r instanceof Promise ? await r : r;
  let f = ST_VALID;
  if (mp.flags & MS_RDONLY) f |= ST_RDONLY;
  if (mp.flags & MS_NOSUID) f |= ST_NOSUID;
  if (mp.flags & MS_NODEV) f |= ST_NODEV;
  if (mp.flags & MS_NOEXEC) f |= ST_NOEXEC;
  if (mp.flags & MS_SYNCHRONOUS) f |= ST_SYNCHRONOUS;
  if (mp.flags & MS_MANDLOCK) f |= ST_MANDLOCK;
  if (mp.flags & MS_NOATIME) f |= ST_NOATIME;
  if (mp.flags & MS_NODIRATIME) f |= ST_NODIRATIME;
  if ((mp.flags & MS_STRICTATIME) === 0) f |= ST_RELATIME;
  if (mp.flags & MS_NOSYMFOLLOW) f |= ST_NOSYMFOLLOW;
  return { ...s, flags: f };
}

/** pathconf names (glibc bits/confname.h). */
export const _PC_LINK_MAX = 0;
export const _PC_MAX_CANON = 1;
export const _PC_MAX_INPUT = 2;
export const _PC_NAME_MAX = 3;
export const _PC_PATH_MAX = 4;
export const _PC_PIPE_BUF = 5;
export const _PC_CHOWN_RESTRICTED = 6;
export const _PC_NO_TRUNC = 7;
export const _PC_VDISABLE = 8;
export const _PC_SYNC_IO = 9;
export const _PC_ASYNC_IO = 10;
export const _PC_PRIO_IO = 11;
export const _PC_FILESIZEBITS = 13;
export const _PC_REC_INCR_XFER_SIZE = 14;
export const _PC_REC_MAX_XFER_SIZE = 15;
export const _PC_REC_MIN_XFER_SIZE = 16;
export const _PC_REC_XFER_ALIGN = 17;
export const _PC_ALLOC_SIZE_MIN = 18;
export const _PC_SYMLINK_MAX = 19;
export const _PC_2_SYMLINKS = 20;

/** pathconf(3) values as glibc computes them on Linux (-1: no limit / unsupported). */
function pathconfVnode(vp: Vnode, name: number): number {
  const own = vp.ops.pathconf?.(vp, name);
  if (own !== undefined && own !== null) return own;
  switch (name) {
    case _PC_LINK_MAX: return 127; // glibc's LINUX_LINK_MAX for file systems it does not know
    case _PC_MAX_CANON: return 255;
    case _PC_MAX_INPUT: return 255;
    case _PC_NAME_MAX: return NAME_MAX;
    case _PC_PATH_MAX: return PATH_MAX;
    case _PC_PIPE_BUF: return PIPE_BUF;
    case _PC_CHOWN_RESTRICTED: return 1;
    case _PC_NO_TRUNC: return 1;
    case _PC_VDISABLE: return 0;
    case _PC_SYNC_IO: return -1;
    case _PC_ASYNC_IO: return -1;
    case _PC_PRIO_IO: return -1;
    case _PC_FILESIZEBITS: return 64;
    case _PC_REC_INCR_XFER_SIZE: return -1;
    case _PC_REC_MAX_XFER_SIZE: return -1;
    case _PC_REC_MIN_XFER_SIZE: return 4096;
    case _PC_REC_XFER_ALIGN: return 4096;
    case _PC_ALLOC_SIZE_MIN: return 4096;
    case _PC_SYMLINK_MAX: return -1;
    case _PC_2_SYMLINKS: return 1;
    default: throw err(EINVAL);
  }
}

const MOUNT_KEEP = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_MANDLOCK | MS_DIRSYNC |
  MS_NOSYMFOLLOW | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME;

async function mount(td: Lwp, source: string, target: string, fstype: string, flags = 0, data = ''): Promise<number> {
  if (cred(td).euid !== 0) throw err(EPERM);
  if ((flags & (MS_BIND | MS_MOVE | MS_REC)) !== 0) throw err(EINVAL); // bind and move mounts: not supported
  const vp = await lookupPath(td, AT_FDCWD, target, true);
  try {
    const vfs = V(td);
    if ((flags & MS_REMOUNT) !== 0) {
      // mount(2) MS_REMOUNT: target must be a mount point (its root).
      if (!vp.isMountRoot) throw err(EINVAL);
      const mp = vp.mount;
      if ((flags & MS_RDONLY) !== 0 && !mp.readOnly && mp.writeOpens > 0) throw err(EBUSY);
      if (mp.ops.remount !== undefined) {
        const r = mp.ops.remount(mp, flags, data);
        if (r instanceof Promise) await r;
      }
      mp.flags = flags & MOUNT_KEEP;
      if (data !== '') mp.data = data;
      return 0;
    }
    // A directory or not, the target must match the new root: mountAt judges (ENOTDIR).
    await vfs.mountAt(td, vp, fstype, source, flags & MOUNT_KEEP, data);
    return 0;
  } finally {
    vrele(vp);
  }
}

async function umount2(td: Lwp, target: string, flags = 0): Promise<number> {
  checkFlags(flags, MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW);
  if ((flags & MNT_EXPIRE) !== 0) throw err(EINVAL); // expiry marks: not supported
  if (cred(td).euid !== 0) throw err(EPERM);
  const vp = await lookupPath(td, AT_FDCWD, target, (flags & UMOUNT_NOFOLLOW) === 0);
  const mp = vp.mount;
  const isRoot = vp.isMountRoot;
  vrele(vp);
  // umount(2) EINVAL: "target is not a mount point".
  if (!isRoot) throw err(EINVAL);
  await V(td).unmount(td, mp, flags);
  return 0;
}

// ---- the table -------------------------------------------------------------------------------------

export const vfsSyscalls = [
  defineSyscall('open', 2, ['path', 'int', 'uint?'], (td, path: string, flags: number, mode?: number) => doOpen(td, AT_FDCWD, path, flags, mode ?? 0)),
  defineSyscall('openat', 257, ['fd', 'path', 'int', 'uint?'], (td, dirfd: number, path: string, flags: number, mode?: number) => doOpen(td, dirfd, path, flags, mode ?? 0)),
  defineSyscall('creat', 85, ['path', 'uint'], (td, path: string, mode: number) => doOpen(td, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode)),
  defineSyscall('stat', 4, ['path'], (td, path: string) => statAt(td, AT_FDCWD, path, 0)),
  defineSyscall('lstat', 6, ['path'], (td, path: string) => statAt(td, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW)),
  defineSyscall('newfstatat', 262, ['fd', 'path', 'int?'], (td, dirfd: number, path: string, flags?: number) => statAt(td, dirfd, path, flags ?? 0)),
  defineSyscall('fstatat', -1, ['fd', 'path', 'int?'], (td, dirfd: number, path: string, flags?: number) => statAt(td, dirfd, path, flags ?? 0)),
  defineSyscall('statx', 332, ['fd', 'path', 'int?', 'uint?'], (td, dirfd: number, path: string, flags?: number, mask?: number) => statxAt(td, dirfd, path, flags ?? 0, mask ?? 0x7ff)),
  defineSyscall('access', 21, ['path', 'int'], (td, path: string, mode: number) => accessAt(td, AT_FDCWD, path, mode, 0)),
  defineSyscall('faccessat', 269, ['fd', 'path', 'int', 'int?'], (td, dirfd: number, path: string, mode: number, flags?: number) => accessAt(td, dirfd, path, mode, flags ?? 0)),
  defineSyscall('faccessat2', 439, ['fd', 'path', 'int', 'int?'], (td, dirfd: number, path: string, mode: number, flags?: number) => accessAt(td, dirfd, path, mode, flags ?? 0)),
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
  defineSyscall('readlink', 89, ['path'], (td, path: string) => readlinkAt(td, AT_FDCWD, path)),
  defineSyscall('readlinkat', 267, ['fd', 'path'], (td, dirfd: number, path: string) => readlinkAt(td, dirfd, path)),
  defineSyscall('chmod', 90, ['path', 'uint'], async (td, path: string, mode: number) => {
    const vp = await lookupPath(td, AT_FDCWD, path, true);
    try { return await chmodVnode(td, vp, mode); } finally { vrele(vp); }
  }),
  defineSyscall('fchmod', 91, ['fd', 'uint'], (td, fd: number, mode: number) => chmodVnode(td, fdVnode(td, fd, false), mode)),
  defineSyscall('fchmodat', 268, ['fd', 'path', 'uint', 'int?'], async (td, dirfd: number, path: string, mode: number, flags?: number) => {
    checkFlags(flags ?? 0, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
    const vp = await resolveAt(td, dirfd, path, flags ?? 0);
    try {
      // fchmodat(2): changing a symlink's mode is EOPNOTSUPP on Linux.
      if (vp.isLnk) throw err(EOPNOTSUPP);
      return await chmodVnode(td, vp, mode);
    } finally { vrele(vp); }
  }),
  defineSyscall('chown', 92, ['path', 'int', 'int'], async (td, path: string, uid: number, gid: number) => {
    const vp = await lookupPath(td, AT_FDCWD, path, true);
    try { return await chownVnode(td, vp, uid, gid); } finally { vrele(vp); }
  }),
  defineSyscall('fchown', 93, ['fd', 'int', 'int'], (td, fd: number, uid: number, gid: number) => chownVnode(td, fdVnode(td, fd, false), uid, gid)),
  defineSyscall('lchown', 94, ['path', 'int', 'int'], async (td, path: string, uid: number, gid: number) => {
    const vp = await lookupPath(td, AT_FDCWD, path, false);
    try { return await chownVnode(td, vp, uid, gid); } finally { vrele(vp); }
  }),
  defineSyscall('fchownat', 260, ['fd', 'path', 'int', 'int', 'int?'], async (td, dirfd: number, path: string, uid: number, gid: number, flags?: number) => {
    checkFlags(flags ?? 0, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
    const vp = await resolveAt(td, dirfd, path, flags ?? 0);
    try { return await chownVnode(td, vp, uid, gid); } finally { vrele(vp); }
  }),
  defineSyscall('truncate', 76, ['path', 'off'], truncatePath),
  defineSyscall('utimensat', 280, ['fd', 'any', 'any', 'int?'], utimensAt),
  defineSyscall('futimens', -1, ['fd', 'any'], (td, fd: number, times: unknown) => utimensAt(td, fd, null, times, 0)),
  defineSyscall('utimes', 235, ['path', 'any'], (td, path: string, tv: unknown) => {
    // utimes(2): microseconds; null means now.
    if (tv === null || tv === undefined) return utimensAt(td, AT_FDCWD, path, null, 0);
    if (!Array.isArray(tv) || tv.length !== 2) throw err(EFAULT);
    const ts = (tv as { sec?: unknown; usec?: unknown }[]).map((t) => {
      if (typeof t !== 'object' || t === null || typeof t.usec !== 'number' || typeof t.sec !== 'number') throw err(EFAULT);
      if (!Number.isInteger(t.usec) || t.usec < 0 || t.usec > 999_999) throw err(EINVAL);
      return { sec: t.sec, nsec: t.usec * 1000 };
    });
    return utimensAt(td, AT_FDCWD, path, ts, 0);
  }),
  defineSyscall('utime', 132, ['path', 'any'], (td, path: string, buf: unknown) => {
    // utime(2): { actime, modtime } in seconds, or null for now.
    if (buf === null || buf === undefined) return utimensAt(td, AT_FDCWD, path, null, 0);
    const b = buf as { actime?: unknown; modtime?: unknown };
    if (typeof b !== 'object' || typeof b.actime !== 'number' || typeof b.modtime !== 'number') throw err(EFAULT);
    return utimensAt(td, AT_FDCWD, path, [{ sec: b.actime, nsec: 0 }, { sec: b.modtime, nsec: 0 }], 0);
  }),
  defineSyscall('getdents64', 217, ['fd', 'any'], getdents64),
  defineSyscall('chdir', 80, ['path'], async (td, path: string) => changeDir(td, await lookupPath(td, AT_FDCWD, path, true), 'cwd')),
  defineSyscall('fchdir', 81, ['fd'], (td, fd: number) => {
    const fp = td.proc.fdt.get(fd);
    const vp = fileVnode(fp);
    if (vp === null) throw err(ENOTDIR);
    return changeDir(td, vref(vp), 'cwd');
  }),
  defineSyscall('getcwd', 79, ['uint?'], getcwd),
  defineSyscall('chroot', 161, ['path'], async (td, path: string) => {
    const vp = await lookupPath(td, AT_FDCWD, path, true);
    // chroot(2) EPERM: "The caller has insufficient privilege" (checked after the lookup, as Linux does).
    if (cred(td).euid !== 0) {
      try {
        if (!vp.isDir) throw err(ENOTDIR);
        checkAccess(vp, cred(td), MAY_EXEC);
        throw err(EPERM);
      } finally {
        vrele(vp);
      }
    }
    return changeDir(td, vp, 'root');
  }),
  defineSyscall('mknod', 133, ['path', 'uint', 'uint?'], (td, path: string, mode: number, dev?: number) => mknodAt(td, AT_FDCWD, path, mode, dev ?? 0)),
  defineSyscall('mknodat', 259, ['fd', 'path', 'uint', 'uint?'], (td, dirfd: number, path: string, mode: number, dev?: number) => mknodAt(td, dirfd, path, mode, dev ?? 0)),
  defineSyscall('mkfifo', -1, ['path', 'uint'], (td, path: string, mode: number) => mknodAt(td, AT_FDCWD, path, S_IFIFO | (mode & 0o7777), 0)),
  defineSyscall('mkfifoat', -1, ['fd', 'path', 'uint'], (td, dirfd: number, path: string, mode: number) => mknodAt(td, dirfd, path, S_IFIFO | (mode & 0o7777), 0)),
  defineSyscall('statfs', 137, ['path'], async (td, path: string) => {
    const vp = await lookupPath(td, AT_FDCWD, path, true);
    try { return await statfsVnode(td, vp); } finally { vrele(vp); }
  }),
  defineSyscall('fstatfs', 138, ['fd'], (td, fd: number) => statfsVnode(td, fdVnode(td, fd, true))),
  defineSyscall('pathconf', -1, ['path', 'int'], async (td, path: string, name: number) => {
    const vp = await lookupPath(td, AT_FDCWD, path, true);
    try { return pathconfVnode(vp, name); } finally { vrele(vp); }
  }),
  defineSyscall('fpathconf', -1, ['fd', 'int'], (td, fd: number, name: number) => {
    const fp = td.proc.fdt.get(fd);
    const vp = fileVnode(fp) ?? V(td).specials.get(fp);
    if (vp === undefined || vp === null) {
      // A pipe or socket: only the limits that make sense for it.
      if (name === _PC_PIPE_BUF) return PIPE_BUF;
      throw err(EINVAL);
    }
    return pathconfVnode(vp, name);
  }),
  defineSyscall('sync', 162, [], async (td) => {
    await V(td).syncAll(td);
    return 0;
  }),
  defineSyscall('syncfs', 306, ['fd'], async (td, fd: number) => {
    const vp = fdVnode(td, fd, true);
    const r = vp.mount.ops.sync(vp.mount, td);
    if (r instanceof Promise) await r;
    return 0;
  }),
  defineSyscall('mount', 165, ['str', 'path', 'str', 'uint?', 'str?'], mount),
  defineSyscall('umount2', 166, ['path', 'int?'], umount2),
  defineSyscall('flock', 73, ['fd', 'int'], async (td, fd: number, op: number) => {
    const fp = td.proc.fdt.get(fd);
    if ((fp.flags & O_PATH) !== 0) throw err(EBADF);
    const vp = fileVnode(fp) ?? V(td).specials.get(fp);
    if (vp === undefined || vp === null) throw err(EINVAL);
    await V(td).locks.flock(td, vp, fp, op);
    return 0;
  }),
] as const;
