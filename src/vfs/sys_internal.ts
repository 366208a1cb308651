/**
 * Helpers the file-system system calls share (Linux fs/internal.h): the
 * caller's Vfs and credentials, descriptor-to-vnode, the *at path
 * resolution with AT_EMPTY_PATH, flag checks and installing a new File.
 */
import type { Lwp } from '../kern/sched.ts';
import type { File } from '../kern/file.ts';
import { EBADF, EINVAL, err } from '../kern/errno.ts';
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, O_PATH } from '../kern/constants.ts';
import type { Cred } from '../kern/proc.ts';
import { type Vnode, vref } from './vnode.ts';
import { type At, fileVnode, lookupPath, procFs } from './namei.ts';
import { type Vfs, vfsOf } from './vfs.ts';

export const __O_TMPFILE = 0o20000000;

export function V(td: Lwp): Vfs {
  return vfsOf(td.k);
}

export function cred(td: Lwp): Cred {
  return td.proc.cred;
}

/** Look name up in dvp, which the caller holds locked; null when absent. */
export function relookup(td: Lwp, dvp: Vnode, name: string): Vnode | null | Promise<Vnode | null> {
  return dvp.ops.lookup(dvp, td, name);
}

/** Install a new File in the caller's table; releases it on EMFILE. */
export async function installFile(td: Lwp, fp: File, cloexec: boolean): Promise<number> {
  try {
    return td.proc.fdt.alloc(fp, cloexec);
  } catch (e) {
    await fp.release(td);
    throw e;
  }
}

/** The vnode behind fd (vnode files, FIFOs and devices opened by path); EBADF for O_PATH unless allowed. */
export function fdVnode(td: Lwp, fd: number, allowPath: boolean): Vnode {
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
export function resolveAt(td: Lwp, dirfd: At, path: string, flags: number, followDefault = true, c?: Cred): Vnode | Promise<Vnode> {
  if (path.length === 0 && (flags & AT_EMPTY_PATH) !== 0) {
    if (dirfd === AT_FDCWD) return vref(procFs(td).cwd);
    return vref(typeof dirfd === 'number' ? fdVnode(td, dirfd, true) : dirfd);
  }
  const follow = (flags & AT_SYMLINK_FOLLOW) !== 0 || (followDefault && (flags & AT_SYMLINK_NOFOLLOW) === 0);
  return lookupPath(td, dirfd, path, follow, c);
}

export function checkFlags(flags: number, allowed: number): void {
  if ((flags & ~allowed) !== 0) throw err(EINVAL);
}

/** Run fn with vp locked exclusively. */
export async function withLocked<T>(td: Lwp, vp: Vnode, fn: () => Promise<T> | T): Promise<T> {
  const l = vp.lock.enter(td, 'excl');
  using g = l instanceof Promise ? await l : l;
  return await fn();
}
