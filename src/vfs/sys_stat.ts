/**
 * stat(2), lstat(2), fstatat(2), statx(2) and readlink(2) (Linux fs/stat.c).
 */
import type { Lwp } from '../kern/sched.ts';
import type { Stat } from '../kern/file.ts';
import { defineSyscall } from '../kern/syscall.ts';
import { EBADF, EINVAL, ENOENT, err } from '../kern/errno.ts';
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_STATX_DONT_SYNC, AT_STATX_FORCE_SYNC, AT_SYMLINK_NOFOLLOW,
} from '../kern/constants.ts';
import { vrele } from './vnode.ts';
import { type At, readlinkVnode } from './namei.ts';
import { type Statx, refreshAttrs, vnodeStat, vnodeStatx } from './vfs_vnops.ts';
import { resolveAt, checkFlags } from './sys_internal.ts';

// ---- stat family ---------------------------------------------------------------------

async function statAt(td: Lwp, dirfd: At, path: string, flags: number): Promise<Stat> {
  checkFlags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC);
  if (path.length === 0 && (flags & AT_EMPTY_PATH) !== 0 && typeof dirfd === 'number' && dirfd !== AT_FDCWD) {
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

async function statxAt(td: Lwp, dirfd: At, path: string, flags: number, _mask: number): Promise<Statx> {
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


// ---- symlinks ------------------------------------------------------------------------------

async function readlinkAt(td: Lwp, dirfd: At, path: string): Promise<string> {
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

// ---- the table --------------------------------------------------------------------------------

export const statSyscalls = [
  defineSyscall('stat', 4, ['path'], (td, path: string) => statAt(td, AT_FDCWD, path, 0), { returnsStat: true }),
  defineSyscall('lstat', 6, ['path'], (td, path: string) => statAt(td, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW), { returnsStat: true }),
  defineSyscall('newfstatat', 262, ['fd', 'path', 'int?'], (td, dirfd: number, path: string, flags?: number) => statAt(td, dirfd, path, flags ?? 0), { returnsStat: true }),
  defineSyscall('fstatat', -1, ['fd', 'path', 'int?'], (td, dirfd: number, path: string, flags?: number) => statAt(td, dirfd, path, flags ?? 0), { returnsStat: true }),
  defineSyscall('statx', 332, ['fd', 'path', 'int?', 'uint?'], (td, dirfd: number, path: string, flags?: number, mask?: number) => statxAt(td, dirfd, path, flags ?? 0, mask ?? 0x7ff)),
  defineSyscall('readlink', 89, ['path'], (td, path: string) => readlinkAt(td, AT_FDCWD, path)),
  defineSyscall('readlinkat', 267, ['fd', 'path'], (td, dirfd: number, path: string) => readlinkAt(td, dirfd, path)),
] as const;
