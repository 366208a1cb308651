/**
 * The file-system system calls (Linux fs/open.c, fs/namei.c, fs/stat.c,
 * fs/utimes.c, fs/readdir.c, fs/namespace.c, fs/statfs.c, fs/sync.c;
 * NetBSD vfs_syscalls.c). Each handler resolves its paths with namei, checks
 * the POSIX rules (perm.ts) in the order Linux checks them — so that the
 * errno for a call breaking two rules is Linux's — and calls one VOP.
 *
 * This file gathers the table; the calls live by concern, as Linux splits
 * fs/: sys_open.ts (open, access), sys_stat.ts (stat, readlink),
 * sys_namei.ts (mkdir, mknod, symlink, link, unlink, rmdir, rename),
 * sys_attr.ts (chmod, chown, truncate, utimes), sys_dir.ts (getdents64,
 * chdir, chroot, getcwd), sys_statfs.ts (statfs, pathconf), sys_mount.ts
 * (mount, umount, sync), sys_locks.ts (flock); shared helpers in
 * sys_internal.ts.
 *
 * Library forms (docs/ARCHITECTURE.md; Linux argument order, async, out-values returned):
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
 * extended attributes, fanotify. inotify(7) is in inotify.ts.
 */
import { openSyscalls } from './sys_open.ts';
import { statSyscalls } from './sys_stat.ts';
import { nameiSyscalls } from './sys_namei.ts';
import { attrSyscalls } from './sys_attr.ts';
import { dirSyscalls } from './sys_dir.ts';
import { statfsSyscalls } from './sys_statfs.ts';
import { mountSyscalls } from './sys_mount.ts';
import { locksSyscalls } from './sys_locks.ts';
import { inotifySyscalls } from './inotify.ts';

export type { Dirent64 } from './sys_dir.ts';
export {
  _PC_LINK_MAX, _PC_MAX_CANON, _PC_MAX_INPUT, _PC_NAME_MAX, _PC_PATH_MAX, _PC_PIPE_BUF, _PC_CHOWN_RESTRICTED,
  _PC_NO_TRUNC, _PC_VDISABLE, _PC_SYNC_IO, _PC_ASYNC_IO, _PC_PRIO_IO, _PC_FILESIZEBITS, _PC_REC_INCR_XFER_SIZE,
  _PC_REC_MAX_XFER_SIZE, _PC_REC_MIN_XFER_SIZE, _PC_REC_XFER_ALIGN, _PC_ALLOC_SIZE_MIN, _PC_SYMLINK_MAX,
  _PC_2_SYMLINKS,
} from './sys_statfs.ts';

export const vfsSyscalls = [
  ...openSyscalls,
  ...statSyscalls,
  ...nameiSyscalls,
  ...attrSyscalls,
  ...dirSyscalls,
  ...statfsSyscalls,
  ...mountSyscalls,
  ...locksSyscalls,
  ...inotifySyscalls,
] as const;
