/**
 * Permission checks on vnodes: the Linux rules (fs/namei.c
 * generic_permission, fs/attr.c setattr_prepare, fs/inode.c
 * inode_init_owner / file_remove_privs), one function per rule so each
 * syscall names the rule it applies.
 *
 * Credentials: file-system checks use fsuid/fsgid (which follow euid/egid)
 * and the supplementary groups (`Cred.inGroup`). "Root" means fsuid 0
 * (standing in for CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN, CAP_FSETID,
 * CAP_MKNOD; capabilities are not modelled separately).
 */
import type { Cred } from '../kern/proc.ts';
import type { Timespec } from '../kern/file.ts';
import { EACCES, EPERM, EROFS, err } from '../kern/errno.ts';
import { S_IFMT, S_IFDIR, S_IFREG, S_ISGID, S_ISUID, S_ISVTX, S_IXGRP, S_IXUSR, S_IXOTH } from '../kern/constants.ts';
import type { Vnode } from './vnode.ts';

export const MAY_EXEC = 1;
export const MAY_WRITE = 2;
export const MAY_READ = 4;

/**
 * May `cred` access vp for `want` (MAY_* bits)? 0 or EACCES.
 * generic_permission(): the owner class if fsuid owns the file, else the
 * group class if fsgid or a supplementary group matches, else other — the
 * first matching class decides, even if a later one would allow more.
 * Root: any access to directories; read/write to anything; execute on a
 * non-directory only if some execute bit is set (Linux
 * capable_wrt_inode_uidgid(CAP_DAC_OVERRIDE)).
 */
export function vaccess(vp: Vnode, cred: Cred, want: number): number {
  const mode = vp.mode;
  if (cred.fsuid === 0) {
    if ((want & MAY_EXEC) === 0 || (mode & S_IFMT) === S_IFDIR) return 0;
    return (mode & (S_IXUSR | S_IXGRP | S_IXOTH)) !== 0 ? 0 : EACCES;
  }
  let bits: number;
  if (cred.fsuid === vp.uid) bits = (mode >> 6) & 7;
  else if (cred.inGroup(vp.gid)) bits = (mode >> 3) & 7;
  else bits = mode & 7;
  return (want & ~bits) === 0 ? 0 : EACCES;
}

/** Throwing form of vaccess. */
export function checkAccess(vp: Vnode, cred: Cred, want: number): void {
  const e = vaccess(vp, cred, want);
  if (e !== 0) throw err(e);
}

/** EROFS if vp's mount is read-only (for operations that would change it). */
export function checkWritableMount(vp: Vnode): void {
  if (vp.mount.readOnly) throw err(EROFS);
}

/** Is cred the owner, or root (inode_owner_or_capable)? */
export function isOwner(vp: Vnode, cred: Cred): boolean {
  return cred.fsuid === 0 || cred.fsuid === vp.uid;
}

/**
 * May cred remove or rename `vp` out of directory `dvp`? (may_delete)
 * Needs write and search on the directory; in a sticky directory (S_ISVTX,
 * sticky(7)) also ownership of the file or of the directory, or root → EPERM.
 */
export function checkDelete(dvp: Vnode, vp: Vnode, cred: Cred): void {
  checkAccess(dvp, cred, MAY_WRITE | MAY_EXEC);
  if ((dvp.mode & S_ISVTX) !== 0 && cred.fsuid !== 0 && cred.fsuid !== vp.uid && cred.fsuid !== dvp.uid) throw err(EPERM);
}

/**
 * Owner and group of a new node in dvp (inode_init_owner): the creator's
 * fsuid; the group is the directory's when the directory is set-group-ID
 * (and new subdirectories inherit S_ISGID), else the creator's fsgid.
 * Returns [uid, gid, mode] with the mode adjusted.
 */
export function newOwner(dvp: Vnode, cred: Cred, mode: number): [number, number, number] {
  if ((dvp.mode & S_ISGID) !== 0) {
    if ((mode & S_IFMT) === S_IFDIR) mode |= S_ISGID;
    // Linux (since 6.2, inode_sgid_strip/mode_strip_sgid): a non-directory
    // created in a setgid directory by someone not in its group, without
    // CAP_FSETID, loses S_ISGID when group-executable.
    else if ((mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP) && cred.fsuid !== 0 && !cred.inGroup(dvp.gid)) mode &= ~S_ISGID;
    return [cred.fsuid, dvp.gid, mode];
  }
  return [cred.fsuid, cred.fsgid, mode];
}

/**
 * The mode bits a chmod by cred leaves (setattr_prepare + inode_change_ok):
 * only the owner or root may chmod (EPERM); a non-root caller not in the
 * file's group loses S_ISGID silently. (Linux also clears S_ISVTX for
 * non-directories only on some file systems; not here.)
 */
export function chmodMode(vp: Vnode, cred: Cred, mode: number): number {
  if (!isOwner(vp, cred)) throw err(EPERM);
  mode &= 0o7777;
  if (cred.fsuid !== 0 && !cred.inGroup(vp.gid)) mode &= ~S_ISGID;
  return (vp.mode & S_IFMT) | mode;
}

/**
 * chown rules (chown(2), Linux chown_ok/chgrp_ok): only root may change the
 * owner to someone else; the owner may change the group to one it belongs
 * to; -1 means "leave". Returns the new [uid, gid] or throws EPERM.
 */
export function chownIds(vp: Vnode, cred: Cred, uid: number, gid: number): [number, number] {
  const uidGiven = uid !== -1 && uid !== 0xffffffff;
  const gidGiven = gid !== -1 && gid !== 0xffffffff;
  const nuid = uidGiven ? uid : vp.uid;
  const ngid = gidGiven ? gid : vp.gid;
  if (cred.fsuid !== 0) {
    // chown_ok: the owner may "change" the owner to itself only.
    if (uidGiven && (cred.fsuid !== vp.uid || nuid !== vp.uid)) throw err(EPERM);
    // chgrp_ok: the owner may pick its own groups or keep the current one.
    if (gidGiven && (cred.fsuid !== vp.uid || (ngid !== vp.gid && !cred.inGroup(ngid)))) throw err(EPERM);
  }
  return [nuid, ngid];
}

/**
 * Does a change by cred (write, truncate, chown) take S_ISGID off a file of group `gid`?
 * Linux setattr_should_drop_sgid(): always when group-executable (set-group-ID execution);
 * without group-execute only when cred is neither in the file's group nor privileged
 * (in_group_or_capable, CAP_FSETID).
 */
function dropsSgid(mode: number, gid: number, cred: Cred): boolean {
  if ((mode & S_ISGID) === 0) return false;
  if ((mode & S_IXGRP) !== 0) return true;
  return cred.fsuid !== 0 && !cred.inGroup(gid);
}

/**
 * Mode after a chown by cred of a file whose group is `gid` before the change (Linux
 * chown_common: ATTR_KILL_SUID and setattr_should_drop_sgid for non-directories, even for
 * root): S_ISUID is cleared; S_ISGID as dropsSgid says. Directories keep both.
 */
export function modeAfterChown(mode: number, gid: number, cred: Cred): number {
  if ((mode & S_IFMT) === S_IFDIR) return mode;
  mode &= ~S_ISUID;
  if (dropsSgid(mode, gid, cred)) mode &= ~S_ISGID;
  return mode;
}

/**
 * Mode after a write or truncate by cred of a file of group `gid` (file_remove_privs,
 * setattr_should_drop_suidgid): non-root writers of a regular file clear S_ISUID, and S_ISGID
 * as dropsSgid says. Returns the same mode when nothing changes.
 */
export function modeAfterWrite(mode: number, gid: number, cred: Cred): number {
  if (cred.fsuid === 0 || (mode & (S_ISUID | S_ISGID)) === 0 || (mode & S_IFMT) !== S_IFREG) return mode;
  let m = mode & ~S_ISUID;
  if (dropsSgid(m, gid, cred)) m &= ~S_ISGID;
  return m;
}

/**
 * utimensat permission (utimensat(2) "Permissions requirements"): setting
 * both times to the current time needs ownership, root, or write access;
 * any explicit time needs ownership or root (EPERM). `explicit` says whether
 * some time is neither UTIME_NOW nor UTIME_OMIT.
 */
export function checkUtimes(vp: Vnode, cred: Cred, explicit: boolean): void {
  if (isOwner(vp, cred)) return;
  if (explicit) throw err(EPERM);
  if (vaccess(vp, cred, MAY_WRITE) !== 0) throw err(EACCES);
}

export type { Timespec };
