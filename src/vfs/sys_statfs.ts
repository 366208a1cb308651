/**
 * statfs(2), fstatfs(2) (Linux fs/statfs.c) and pathconf(3)/fpathconf(3)
 * as glibc computes them on Linux.
 */
import type { Lwp } from '../kern/sched.ts';
import { defineSyscall } from '../kern/syscall.ts';
import { EINVAL, err } from '../kern/errno.ts';
import { AT_FDCWD, NAME_MAX, PATH_MAX, PIPE_BUF } from '../kern/constants.ts';
import {
  MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_SYNCHRONOUS, MS_MANDLOCK, MS_NOSYMFOLLOW,
  MS_STRICTATIME, type Statfs, type Vnode, vrele,
} from './vnode.ts';
import { fileVnode, lookupPath } from './namei.ts';
import { V, fdVnode } from './sys_internal.ts';

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

/** statfs(2) of the mount vp lives on: the file system's figures plus ST_* flags from the mount flags. */
export async function vn_statfs(td: Lwp, vp: Vnode): Promise<Statfs> {
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

// ---- the table --------------------------------------------------------------------------------

export const statfsSyscalls = [
  defineSyscall('statfs', 137, ['path'], async (td, path: string) => {
    const vp = await lookupPath(td, AT_FDCWD, path, true);
    try { return await vn_statfs(td, vp); } finally { vrele(vp); }
  }),
  defineSyscall('fstatfs', 138, ['fd'], (td, fd: number) => vn_statfs(td, fdVnode(td, fd, true))),
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
] as const;
