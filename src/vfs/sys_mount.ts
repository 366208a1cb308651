/**
 * mount(2), umount2(2) (Linux fs/namespace.c) and sync(2), syncfs(2)
 * (Linux fs/sync.c).
 */
import type { Lwp } from '../kern/sched.ts';
import { defineSyscall } from '../kern/syscall.ts';
import { EBUSY, EINVAL, ENOTDIR, EPERM, err } from '../kern/errno.ts';
import { AT_FDCWD } from '../kern/constants.ts';
import {
  MNT_DETACH, MNT_EXPIRE, MNT_FORCE, MS_BIND, MS_MOVE, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID,
  MS_RDONLY, MS_REMOUNT, MS_SYNCHRONOUS, MS_MANDLOCK, MS_RELATIME, MS_NOSYMFOLLOW, MS_STRICTATIME, MS_LAZYTIME,
  MS_DIRSYNC, MS_REC, UMOUNT_NOFOLLOW, vrele,
} from './vnode.ts';
import { lookupPath } from './namei.ts';
import { V, cred, fdVnode, checkFlags } from './sys_internal.ts';

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

// ---- the table --------------------------------------------------------------------------------

export const mountSyscalls = [
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
] as const;
