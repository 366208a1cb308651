/**
 * open(2), openat(2), creat(2) and access(2)/faccessat(2) (Linux fs/open.c):
 * flag checks, O_CREAT/O_EXCL, the open-time permission and type rules,
 * O_TRUNC, then a File on the vnode, FIFO or device.
 *
 * The vnode-level entry points (vn_openat, vn_open, vn_access) hold the
 * rules; the system calls add the walk and the descriptor, and frontends
 * that address files by vnode (the FUSE server) call them directly.
 */
import type { Lwp } from '../kern/sched.ts';
import type { File } from '../kern/file.ts';
import { defineSyscall } from '../kern/syscall.ts';
import { EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR, ENXIO, EOPNOTSUPP, EROFS, err } from '../kern/errno.ts';
import {
  AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, F_OK, O_ACCMODE, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL,
  O_NOCTTY, O_NOFOLLOW, O_PATH, O_RDONLY, O_TRUNC, O_WRONLY, R_OK, S_IFBLK, S_IFCHR, S_IFIFO, S_IFREG, S_IFSOCK, W_OK,
  X_OK,
} from '../kern/constants.ts';
import type { Cred } from '../kern/proc.ts';
import { type Vnode, vref, vrele } from './vnode.ts';
import { type At, crossMounts, lookupPath, namei, releaseResult } from './namei.ts';
import { MAY_EXEC, MAY_READ, MAY_WRITE, checkAccess, newOwner } from './perm.ts';
import { fsnotifyCreate, fsnotifyOpen } from './inotify_hooks.ts';
import { openDevice, openFifo, truncateVnode, vnodeFile } from './vfs_vnops.ts';
import { __O_TMPFILE, V, cred, relookup, installFile, resolveAt, checkFlags } from './sys_internal.ts';

// ---- open ------------------------------------------------------------------------

/** Linux build_open_flags: the flags open(2) acts on, or EINVAL/EOPNOTSUPP. */
function openFlags(flags: number): number {
  let fl = flags;
  if ((fl & __O_TMPFILE) !== 0) throw err(EOPNOTSUPP);
  // open(2) O_PATH: "flag bits other than O_CLOEXEC, O_DIRECTORY, and O_NOFOLLOW are ignored".
  if ((fl & O_PATH) !== 0) fl &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  // Linux 6.4+ build_open_flags: O_CREAT|O_DIRECTORY is EINVAL (it never made sense).
  if ((fl & (O_CREAT | O_DIRECTORY)) === (O_CREAT | O_DIRECTORY)) throw err(EINVAL);
  return fl;
}

async function doOpen(td: Lwp, dirfd: At, path: string, flags: number, mode: number): Promise<number> {
  const fp = await vn_openat(td, dirfd, path, flags, mode);
  return installFile(td, fp, (flags & O_CLOEXEC) !== 0);
}

/**
 * openat(2) without the descriptor (NetBSD vn_open): walk, O_CREAT/O_EXCL,
 * then the open-time rules of vn_open; the File holds its own reference.
 */
export async function vn_openat(td: Lwp, dirfd: At, path: string, flags: number, mode: number): Promise<File> {
  const fl = openFlags(flags);
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
      {
        const dl = dvp.lock.enter(td, 'excl');
        using dg = dl instanceof Promise ? await dl : dl;
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
          fsnotifyCreate(td.k, dvp, r.name, vp); // inotify(7)
        }
      }
    } finally {
      releaseResult(r);
    }
  } else {
    vp = await lookupPath(td, dirfd, path, (fl & O_NOFOLLOW) === 0);
  }
  return openVnode(td, vp, fl, created);
}

/**
 * open(2) of a vnode the caller already holds (Linux vfs_open after
 * may_open): the type, permission, O_TRUNC and device/FIFO rules of open(2)
 * without a walk. The File takes its own reference; the caller keeps its own.
 */
export function vn_open(td: Lwp, vp: Vnode, flags: number): Promise<File> {
  const fl = openFlags(flags) & ~(O_CREAT | O_EXCL);
  return openVnode(td, vref(vp), fl, false);
}

/** The open-time rules on a looked-up vnode (consumes the reference vp). */
async function openVnode(td: Lwp, vp: Vnode, fl: number, created: boolean): Promise<File> {
  const vfs = V(td);
  // Access mode 3 (O_ACCMODE) is Linux's "check read and write permission, then neither":
  // want below asks both, and the file can neither read nor write (File.readable/writable).
  const acc = fl & O_ACCMODE;
  let owned = true;
  try {
    if (vp.isLnk && !((fl & O_PATH) !== 0 && (fl & O_NOFOLLOW) !== 0)) throw err(ELOOP); // open(2) ELOOP: O_NOFOLLOW and the last component is a symlink
    if ((fl & O_DIRECTORY) !== 0 && !vp.isDir) throw err(ENOTDIR);
    if ((fl & O_PATH) !== 0) {
      owned = false;
      return vnodeFile(vp, fl & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), vfs.locks);
    }
    if (vp.isDir && (acc !== O_RDONLY || (fl & (O_TRUNC | O_CREAT)) !== 0)) throw err(EISDIR);
    if (!created) {
      let want = acc === O_RDONLY ? MAY_READ : acc === O_WRONLY ? MAY_WRITE : MAY_READ | MAY_WRITE;
      if ((fl & O_TRUNC) !== 0) want |= MAY_WRITE;
      // inode_permission: a read-only mount refuses writes to files, directories and symlinks first.
      if ((want & MAY_WRITE) !== 0 && (vp.isReg || vp.isDir || vp.isLnk) && vp.mount.readOnly) throw err(EROFS);
      checkAccess(vp, cred(td), want);
    }
    switch (vp.type) {
      case S_IFIFO:
        owned = false;
        return await openFifo(td, vp, fl & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), vfs.locks, vfs.specials);
      case S_IFCHR:
      case S_IFBLK:
        owned = false;
        return await openDevice(td, vp, fl & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC), vfs.specials);
      case S_IFSOCK:
        throw err(ENXIO); // open(2) ENXIO: "the file is a UNIX domain socket"
    }
    if ((fl & O_TRUNC) !== 0 && vp.isReg && !created) await truncateVnode(td, vp, 0, true);
    if (vp.ops.open !== undefined) {
      const r = vp.ops.open(vp, td, fl);
      if (r instanceof Promise) await r;
    }
    fsnotifyOpen(td.k, vp); // inotify(7)
    owned = false;
    return vnodeFile(vp, fl & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), vfs.locks);
  } finally {
    if (owned) vrele(vp);
  }
}


// ---- access ------------------------------------------------------------------------------

async function accessAt(td: Lwp, dirfd: At, path: string, mode: number, flags: number): Promise<number> {
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
    vn_access(vp, mode, c);
    return 0;
  } finally {
    vrele(vp);
  }
}

/**
 * access(2)'s check of one vnode for credentials c (R_OK|W_OK|X_OK, or
 * F_OK): EINVAL for other bits, EROFS for W_OK on a read-only mount, then
 * the permission rules (perm.ts). Throws; returns nothing when allowed.
 */
export function vn_access(vp: Vnode, mode: number, c: Cred): void {
  if ((mode & ~(R_OK | W_OK | X_OK)) !== 0) throw err(EINVAL);
  if (mode === F_OK) return;
  if ((mode & W_OK) !== 0 && vp.mount.readOnly && (vp.isReg || vp.isDir || vp.isLnk)) throw err(EROFS);
  checkAccess(vp, c, (mode & R_OK ? MAY_READ : 0) | (mode & W_OK ? MAY_WRITE : 0) | (mode & X_OK ? MAY_EXEC : 0));
}

// ---- the table --------------------------------------------------------------------------------

export const openSyscalls = [
  defineSyscall('open', 2, ['path', 'int', 'uint?'], (td, path: string, flags: number, mode?: number) => doOpen(td, AT_FDCWD, path, flags, mode ?? 0)),
  defineSyscall('openat', 257, ['fd', 'path', 'int', 'uint?'], (td, dirfd: number, path: string, flags: number, mode?: number) => doOpen(td, dirfd, path, flags, mode ?? 0)),
  defineSyscall('creat', 85, ['path', 'uint'], (td, path: string, mode: number) => doOpen(td, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode)),
  defineSyscall('access', 21, ['path', 'int'], (td, path: string, mode: number) => accessAt(td, AT_FDCWD, path, mode, 0)),
  defineSyscall('faccessat', 269, ['fd', 'path', 'int', 'int?'], (td, dirfd: number, path: string, mode: number, flags?: number) => accessAt(td, dirfd, path, mode, flags ?? 0)),
  defineSyscall('faccessat2', 439, ['fd', 'path', 'int', 'int?'], (td, dirfd: number, path: string, mode: number, flags?: number) => accessAt(td, dirfd, path, mode, flags ?? 0)),
] as const;
