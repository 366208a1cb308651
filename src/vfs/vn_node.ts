/**
 * Vnode-level entry points that are no system call's guts: looking up one
 * name in a directory, stat, readlink and readdir of a vnode, and reading a
 * vnode without an open file (NetBSD vn_rdwr). Frontends that address files
 * by vnode (the FUSE server; later the monolithic frontend's own namecache)
 * call these, so the VFS's locking and permission rules are applied in one
 * place. The system calls' own vnode-level entry points live beside them:
 * vn_openat/vn_open/vn_access (sys_open.ts), vn_truncate/vn_chmod/vn_chown/
 * vn_utimens (sys_attr.ts), vn_link (sys_namei.ts), vn_statfs (sys_statfs.ts).
 */
import type { Lwp } from '../kern/sched.ts';
import type { Stat } from '../kern/file.ts';
import type { Cred } from '../kern/proc.ts';
import { EINVAL, ENAMETOOLONG, ENOENT, ENOTDIR, err } from '../kern/errno.ts';
import { NAME_MAX } from '../kern/constants.ts';
import { type Vnode, readsUnlocked, touchAtime } from './vnode.ts';
import { type FsState, lookupStep, readlinkVnode } from './namei.ts';
import { MAY_EXEC, checkAccess, vaccess } from './perm.ts';
import { refreshAttrs, vnodeStat } from './vfs_vnops.ts';
import { readdirLocked } from './vfs_getcwd.ts';

const utf8 = new TextEncoder();

/**
 * One component `name` in directory dvp, as a walk step does it (Linux
 * lookup_one): ENOTDIR, ENAMETOOLONG past NAME_MAX bytes, search permission
 * for the caller, then the lookup (crossing mounts, ".." at the caller's
 * root); ENOENT when absent. A referenced vnode.
 */
export async function vn_lookup(td: Lwp, dvp: Vnode, name: string): Promise<Vnode> {
  if (!dvp.isDir) throw err(ENOTDIR);
  // Each UTF-16 unit is at most 3 UTF-8 bytes: only long names need encoding.
  if (name.length * 3 > NAME_MAX && utf8.encode(name).byteLength > NAME_MAX) throw err(ENAMETOOLONG);
  checkAccess(dvp, td.proc.cred, MAY_EXEC);
  return vn_relookup(td, dvp, name);
}

/**
 * Look a name up again without vn_lookup's checks (NetBSD relookup): for a
 * caller that made them already — the name it just created, or entries of a
 * directory it may search.
 */
export async function vn_relookup(td: Lwp, dvp: Vnode, name: string): Promise<Vnode> {
  const r = lookupStep(td, td.proc.fs as FsState, dvp, name);
  const vp = r instanceof Promise ? await r : r;
  if (vp === null || vp === undefined) throw err(ENOENT);
  return vp;
}

/** readlink(2) of a vnode: EINVAL unless it is a symlink, else its target (reading it is an access). */
export function vn_readlink(td: Lwp, vp: Vnode): Promise<string> {
  if (!vp.isLnk) return Promise.reject(err(EINVAL));
  return readlinkVnode(td, vp);
}

/** stat(2) of a vnode: attributes refreshed from file systems that compute them (procfs, etfs). */
export async function vn_stat(td: Lwp | null, vp: Vnode): Promise<Stat> {
  const r = refreshAttrs(td, vp);
  if (r !== undefined) await r;
  return vnodeStat(vp);
}

/**
 * Read from a vnode without an open file (NetBSD vn_rdwr UIO_READ) under
 * its shared lock: what a server does for its own reads (a FUSE page fill).
 * No permission check: the caller has decided the read is its own.
 */
export async function vn_read(td: Lwp, vp: Vnode, buf: Uint8Array, off: number): Promise<number> {
  if (readsUnlocked(vp)) return vp.ops.read(vp, td, buf, off);
  const l = vp.lock.enter(td, 'shared');
  using g = l instanceof Promise ? await l : l;
  const r = vp.ops.read(vp, td, buf, off);
  return r instanceof Promise ? await r : r;
}

/**
 * VOP readdir of directory vp from `cookie` under its shared lock, then
 * mark it accessed as getdents(2) does (relatime unless `noatime`). `emit`
 * returns false to stop.
 */
export async function vn_readdir(
  td: Lwp, vp: Vnode, cookie: number, noatime: boolean,
  emit: (ino: number, type: number, name: string, next: number) => boolean,
): Promise<void> {
  if (!vp.isDir) throw err(ENOTDIR);
  await readdirLocked(td, vp, cookie, emit);
  const t = touchAtime(td, vp, noatime);
  if (t !== undefined) await t;
}

/** May credentials c search directory dvp (what a lookup in it demands)? */
export function vn_maySearch(dvp: Vnode, c: Cred): boolean {
  return vaccess(dvp, c, MAY_EXEC) === 0;
}
