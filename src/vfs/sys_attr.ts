/**
 * Changing attributes (Linux fs/open.c chmod/chown/truncate, fs/utimes.c):
 * chmod, chown, truncate, utimensat, utimes, utime.
 */
import type { Lwp } from '../kern/sched.ts';
import type { Timespec } from '../kern/file.ts';
import { defineSyscall } from '../kern/syscall.ts';
import { EFAULT, EINVAL, EISDIR, EOPNOTSUPP, EROFS, err } from '../kern/errno.ts';
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, UTIME_NOW, UTIME_OMIT } from '../kern/constants.ts';
import { type SetAttrs, type Vnode, vfsNow, vref, vrele } from './vnode.ts';
import { type At, lookupPath } from './namei.ts';
import { MAY_WRITE, checkAccess, checkUtimes, chmodMode, chownIds, modeAfterChown } from './perm.ts';
import { setattrLocked, truncateVnode } from './vfs_vnops.ts';
import { cred, fdVnode, resolveAt, checkFlags, withLocked } from './sys_internal.ts';

// ---- attributes ------------------------------------------------------------------------------

/** chmod(2) on a vnode: EROFS, owner check (perm.ts chmodMode), then the new mode and ctime. */
export async function vn_chmod(td: Lwp, vp: Vnode, mode: number): Promise<number> {
  if (vp.mount.readOnly) throw err(EROFS);
  await withLocked(td, vp, async () => {
    const m = chmodMode(vp, cred(td), mode);
    await setattrLocked(td, vp, { mode: m, ctime: vfsNow(td.k) });
  });
  return 0;
}

/** chown(2) on a vnode (-1 keeps an id): EINVAL, EROFS, the chown rules, set-id bits cleared. */
export async function vn_chown(td: Lwp, vp: Vnode, uid: number, gid: number): Promise<number> {
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
    await vn_truncate(td, vp, len);
  } finally {
    vrele(vp);
  }
  return 0;
}

/**
 * truncate(2) of a vnode by its name's rules (Linux vfs_truncate): EISDIR,
 * EINVAL for a non-regular file, EROFS, write permission, then the size
 * change (m/ctime updated). `len` is already checked non-negative.
 */
export async function vn_truncate(td: Lwp, vp: Vnode, len: number): Promise<void> {
  if (vp.isDir) throw err(EISDIR);
  if (!vp.isReg) throw err(EINVAL);
  if (vp.mount.readOnly) throw err(EROFS);
  checkAccess(vp, cred(td), MAY_WRITE);
  await truncateVnode(td, vp, len, false);
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

/** utimensat(2) on a vnode with parsed times (null: both now): EROFS, then the times rules. */
export async function vn_utimens(td: Lwp, vp: Vnode, t: [Timespec, Timespec] | null): Promise<number> {
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

async function utimensAt(td: Lwp, dirfd: At, path: unknown, times: unknown, flags = 0): Promise<number> {
  checkFlags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
  const t = parseTimes(times);
  // utimensat(2): both UTIME_OMIT succeeds without even looking the file up.
  if (t !== null && t[0].nsec === UTIME_OMIT && t[1].nsec === UTIME_OMIT) return 0;
  let vp: Vnode;
  if (path === null || path === undefined) {
    // Linux: a NULL path operates on dirfd itself (what futimens does).
    if (dirfd === AT_FDCWD) throw err(EFAULT);
    vp = vref(typeof dirfd === 'number' ? fdVnode(td, dirfd, false) : dirfd);
  } else {
    if (typeof path !== 'string') throw err(EFAULT);
    if (path.includes('\0')) throw err(EINVAL);
    vp = await resolveAt(td, dirfd, path, flags);
  }
  try {
    return await vn_utimens(td, vp, t);
  } finally {
    vrele(vp);
  }
}

// ---- the table --------------------------------------------------------------------------------

export const attrSyscalls = [
  defineSyscall('chmod', 90, ['path', 'uint'], async (td, path: string, mode: number) => {
    const vp = await lookupPath(td, AT_FDCWD, path, true);
    try { return await vn_chmod(td, vp, mode); } finally { vrele(vp); }
  }),
  defineSyscall('fchmod', 91, ['fd', 'uint'], (td, fd: number, mode: number) => vn_chmod(td, fdVnode(td, fd, false), mode)),
  defineSyscall('fchmodat', 268, ['fd', 'path', 'uint', 'int?'], async (td, dirfd: number, path: string, mode: number, flags?: number) => {
    checkFlags(flags ?? 0, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
    const vp = await resolveAt(td, dirfd, path, flags ?? 0);
    try {
      // fchmodat(2): changing a symlink's mode is EOPNOTSUPP on Linux.
      if (vp.isLnk) throw err(EOPNOTSUPP);
      return await vn_chmod(td, vp, mode);
    } finally { vrele(vp); }
  }),
  defineSyscall('chown', 92, ['path', 'int', 'int'], async (td, path: string, uid: number, gid: number) => {
    const vp = await lookupPath(td, AT_FDCWD, path, true);
    try { return await vn_chown(td, vp, uid, gid); } finally { vrele(vp); }
  }),
  defineSyscall('fchown', 93, ['fd', 'int', 'int'], (td, fd: number, uid: number, gid: number) => vn_chown(td, fdVnode(td, fd, false), uid, gid)),
  defineSyscall('lchown', 94, ['path', 'int', 'int'], async (td, path: string, uid: number, gid: number) => {
    const vp = await lookupPath(td, AT_FDCWD, path, false);
    try { return await vn_chown(td, vp, uid, gid); } finally { vrele(vp); }
  }),
  defineSyscall('fchownat', 260, ['fd', 'path', 'int', 'int', 'int?'], async (td, dirfd: number, path: string, uid: number, gid: number, flags?: number) => {
    checkFlags(flags ?? 0, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH);
    const vp = await resolveAt(td, dirfd, path, flags ?? 0);
    try { return await vn_chown(td, vp, uid, gid); } finally { vrele(vp); }
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
] as const;
