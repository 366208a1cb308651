/**
 * The VFS service of one kernel: the registry of file-system types and the
 * mount table (Linux fs/namespace.c, NetBSD vfs_mount.c), provided as
 * `k.lookup<Vfs>('vfs')` so other components (devfs, procfs, etfs, ext2,
 * the FUSE server, the node:fs facade) reach it without importing each other.
 *
 * Mounting: a file system is mounted on a vnode, which becomes *covered*
 * (`covered.mountedHere = mp`, the mount holds a reference on it); namei
 * then lands on `mp.root` instead, for a middle or a last component alike.
 * The mount point and the new root must agree on being a directory (Linux
 * fs/namespace.c graft_tree): a directory tree on a directory, or a file
 * system whose root is a non-directory (an etfs host file) on a
 * non-directory; otherwise ENOTDIR, judged after the file system is set up,
 * as Linux judges it after vfs_get_tree. A symlink root is EINVAL
 * (do_add_mount). Unmounting is refused with EBUSY
 * while anything but the mount's own root reference remains (open files,
 * cwds, roots, or mounts below it — each holds a vnode reference here, see
 * vnode.ts), unless MNT_DETACH, which unhooks it from the namespace now and
 * lets the last reference finish the job.
 *
 * Device numbers: each mount gets an anonymous st_dev, major 0 and a minor
 * counting up (Linux get_anon_bdev).
 *
 * @guardedBy the single virtual CPU: mount and unmount check and change the
 * table without awaiting in between.
 */
import type { Kernel } from '../kern/kernel.ts';
import type { Lwp } from '../kern/sched.ts';
import { EBUSY, EINVAL, ENODEV, ENOTDIR, err } from '../kern/errno.ts';
import { makedev } from '../kern/devsw.ts';
import type { File } from '../kern/file.ts';
import { FsState } from './namei.ts';
import { AdvLocks } from './advlock.ts';
import { type FsType, MNT_DETACH, MNT_FORCE, Mount, type Vnode, vref, vrele } from './vnode.ts';

export class Vfs {
  readonly k: Kernel;
  readonly fstypes = new Map<string, FsType>();
  /** Mounted file systems in mount order (the root first). */
  readonly mounts: Mount[] = [];
  rootMount: Mount | null = null;
  /** Advisory locks of every vnode of this kernel. */
  readonly locks: AdvLocks;
  /**
   * FIFO and device files opened through a vnode: their File belongs to the
   * pipe or the driver, so the node they came from is remembered here (for
   * fchmod, fchown, futimens, fstatfs, flock on them). Weak: the File's
   * lifetime decides.
   */
  readonly specials = new WeakMap<File, Vnode>();
  private nextAnonMinor = 1;

  constructor(k: Kernel) {
    this.k = k;
    this.locks = new AdvLocks(k);
  }

  /** Make a file-system type mountable by name (register_filesystem). */
  registerFsType(t: FsType): void {
    if (this.fstypes.has(t.name)) throw new Error(`file system type ${t.name} registered twice`);
    this.fstypes.set(t.name, t);
  }

  private async makeMount(td: Lwp | null, fstype: string, source: string, flags: number, data: string): Promise<Mount> {
    const t = this.fstypes.get(fstype);
    // mount(2) ENODEV: "filesystemtype not configured in the kernel".
    if (t === undefined) throw err(ENODEV);
    const mp = new Mount(this.k, t, source, flags, data, makedev(0, this.nextAnonMinor++));
    await t.mount(this.k, td, mp, source, data);
    if (mp.root === undefined || mp.ops === undefined) this.k.panic(`file system ${fstype} mounted without a root`);
    return mp;
  }

  /**
   * Mount the root file system and give proc0 (and through it every later
   * process) its cwd and root. `source` names the device or image of a disk
   * file system (default: the type's name, as for tmpfs).
   */
  async mountRoot(fstype: string, flags: number, data: string, source = fstype): Promise<Mount> {
    if (this.rootMount !== null) throw err(EBUSY);
    const mp = await this.makeMount(null, fstype, source, flags, data);
    if (!mp.root.isDir) {
      await this.release(null, mp, true);
      throw err(ENOTDIR);
    }
    this.rootMount = mp;
    this.mounts.push(mp);
    const p0 = this.k.proc0;
    p0.fs?.release();
    p0.fs = new FsState(mp.root, mp.root);
    this.k.log('info', `vfs: root is ${fstype}`);
    return mp;
  }

  /**
   * Mount a new file system on `covered` (referenced by the caller; the mount
   * takes its own reference): a directory, or a non-directory when the new
   * root is one too (ENOTDIR otherwise). The caller checked privilege.
   */
  async mountAt(td: Lwp | null, covered: Vnode, fstype: string, source: string, flags: number, data: string): Promise<Mount> {
    const mp = await this.makeMount(td, fstype, source, flags, data);
    // Checked after the (possibly sleeping) fs setup: someone may have mounted here meanwhile.
    let e = 0;
    if (covered.mountedHere !== null) e = EBUSY;
    // do_add_mount: "if (d_is_symlink(newmnt->mnt.mnt_root)) return -EINVAL;"
    else if (mp.root.isLnk) e = EINVAL;
    // graft_tree: "if (d_is_dir(mp->m_dentry) != d_is_dir(mnt->mnt.mnt_root)) return -ENOTDIR;"
    else if (covered.isDir !== mp.root.isDir) e = ENOTDIR;
    if (e !== 0) {
      await this.release(td, mp, true);
      throw err(e);
    }
    mp.covered = vref(covered);
    covered.mountedHere = mp;
    this.mounts.push(mp);
    return mp;
  }

  /** The mount stacked on top of `vp`'s mount point chain, if vp is covered. */
  topMount(vp: Vnode): Vnode {
    while (vp.mountedHere !== null) vp = vp.mountedHere.root;
    return vp;
  }

  /**
   * Unmount mp (umount2): EINVAL for the root mount without MNT_DETACH
   * (Linux answers EBUSY for "/"), EBUSY while busy unless MNT_DETACH.
   */
  async unmount(td: Lwp | null, mp: Mount, flags: number): Promise<void> {
    if (mp.gone) throw err(EINVAL);
    if (mp === this.rootMount || mp.covered === null) throw err(EBUSY);
    if (mp.root.mountedHere !== null) throw err(EBUSY);
    const busy = mp.refs > 1;
    if (busy && (flags & MNT_DETACH) === 0) throw err(EBUSY);
    const covered = mp.covered;
    covered.mountedHere = null;
    mp.covered = null;
    mp.gone = true;
    const i = this.mounts.indexOf(mp);
    if (i >= 0) this.mounts.splice(i, 1);
    vrele(covered);
    if (!busy) await this.release(td, mp, (flags & MNT_FORCE) !== 0);
    // A detached busy mount keeps working for whoever still holds its vnodes; its
    // storage goes with the last of them (tmpfs frees nodes on inactive).
  }

  private async release(td: Lwp | null, mp: Mount, force: boolean): Promise<void> {
    await mp.ops.sync(mp, td);
    vrele(mp.root);
    await mp.ops.unmount(mp, td, force);
  }

  /** Write back every file system (sync(2)). */
  async syncAll(td: Lwp | null): Promise<void> {
    for (const mp of [...this.mounts]) if (!mp.readOnly) await mp.ops.sync(mp, td);
  }

  /** Leak check: references beyond each mount's own root reference. */
  leaks(): string[] {
    const out: string[] = [];
    for (const mp of this.mounts) {
      // Expected: the mount's root ref, the covered vnodes of mounts on it, and fs state of live processes.
      let expected = 1;
      for (const m of this.mounts) if (m.covered !== null && m.covered.mount === mp) expected++;
      for (const p of this.k.procs.values()) {
        const fs = p.fs as FsState | null;
        if (fs === null || p.state !== 'alive') continue;
        if (fs.cwd.mount === mp) expected++;
        if (fs.root.mount === mp) expected++;
      }
      if (mp.refs > expected) out.push(`vfs: ${mp.fstype.name} on ${mp.covered === null ? '/' : 'a mount point'}: ${mp.refs - expected} vnode reference(s) still held`);
    }
    return out;
  }
}

/** This kernel's VFS (the component must be present). */
export function vfsOf(k: Kernel): Vfs {
  const v = k.lookup<Vfs>('vfs');
  if (v === undefined) throw err(ENODEV);
  return v;
}

export { MNT_FORCE, MNT_DETACH };
