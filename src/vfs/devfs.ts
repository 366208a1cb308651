/**
 * devfs: the file system on /dev (Linux devtmpfs, drivers/base/devtmpfs.c).
 *
 * Like Linux's devtmpfs, devfs *is* a tmpfs instance: mounting it mounts a
 * fresh tmpfs (root mode 0755 unless `mode=` says otherwise; every tmpfs
 * option works) and fills it with a node per device the drivers announced in
 * the device switch (`devsw(k).addNode`, src/kern/devsw.ts), with the
 * announced number, permissions and owner. Being tmpfs, it allows everything
 * devtmpfs allows: mknod, mkfifo, symlinks, chmod, unlinking a node.
 *
 * Besides the device nodes it makes what costs nothing and what programs
 * expect on Linux (as systemd/udev and the kernel's own early setup do):
 *   /dev/fd -> /proc/self/fd      /dev/stdin  -> /proc/self/fd/0
 *   /dev/stdout -> /proc/self/fd/1   /dev/stderr -> /proc/self/fd/2
 *   /dev/shm/ (mode 1777, for POSIX shared memory names)
 * The links resolve when procfs is mounted on /proc.
 *
 * The device nodes are those announced when the file system is mounted;
 * unlike devtmpfs, a driver registered later does not add its node to an
 * existing mount (mknod it, or remount).
 *
 * @guardedBy what tmpfs says (the vnode locks the VFS takes).
 */
import type { Kernel } from '../kern/kernel.ts';
import { Lwp } from '../kern/sched.ts';
import { Phase, type Component } from '../kern/component.ts';
import { devsw } from '../kern/devsw.ts';
import { S_IFBLK, S_IFCHR, S_IFDIR } from '../kern/constants.ts';
import { TMPFS_MAGIC, tmpfsType } from './tmpfs.ts';
import { vfsOf } from './vfs.ts';
import { type FsType, type Mount, MS_NOSUID, type Vnode, vrele } from './vnode.ts';

/** The links devfs makes, name → target. */
export const DEVFS_LINKS: readonly (readonly [string, string])[] = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

/** Populate a freshly mounted devfs from the device switch. */
function populate(k: Kernel, mp: Mount): void {
  const root = mp.root;
  const ops = root.ops;
  const done = (r: Vnode | Promise<Vnode>): void => {
    // tmpfs never suspends; a promise here would be a broken invariant.
    if (r instanceof Promise) k.panic('devfs: tmpfs operation suspended');
    vrele(r);
  };
  for (const n of devsw(k).nodes()) {
    const type = n.kind === 'chr' ? S_IFCHR : S_IFBLK;
    done(ops.create(root, null, n.name, { mode: type | (n.perm & 0o7777), uid: n.uid ?? 0, gid: n.gid ?? 0, rdev: n.rdev }));
  }
  for (const [name, target] of DEVFS_LINKS) done(ops.symlink(root, null, name, { mode: 0o777, uid: 0, gid: 0, rdev: 0 }, target));
  done(ops.mkdir(root, null, 'shm', { mode: S_IFDIR | 0o1777, uid: 0, gid: 0, rdev: 0 }));
}

export const devfsType: FsType = {
  name: 'devfs',
  // statfs(2) on devtmpfs reports TMPFS_MAGIC.
  magic: TMPFS_MAGIC,
  nonblocking: true,
  mount(k: Kernel, td: Lwp | null, mp: Mount, source: string, data: string) {
    // devtmpfs's root is 0755; a later mode= in the caller's options wins.
    const r = tmpfsType.mount(k, td, mp, source, data === '' ? 'mode=0755' : `mode=0755,${data}`);
    if (r instanceof Promise) k.panic('devfs: tmpfs mount suspended');
    populate(k, mp);
  },
};

/**
 * Make `name` a directory in the root file system's root if it is not one
 * (root only, at boot), and return it referenced. The lookup and the mkdir
 * run under the root directory's lock, as a kernel-context thread: the root
 * file system may suspend in between (a disk), and the rule holds at boot too.
 */
export async function bootDir(k: Kernel, name: string): Promise<Vnode> {
  const vfs = vfsOf(k);
  const root = vfs.topMount(vfs.rootMount!.root);
  const td = new Lwp(k, k.proc0, 'bootdir');
  const l = root.lock.enter(td, 'excl');
  using g = l instanceof Promise ? await l : l;
  const found = await root.ops.lookup(root, td, name);
  if (found !== null) return found;
  return await root.ops.mkdir(root, td, name, { mode: S_IFDIR | 0o755, uid: 0, gid: 0, rdev: 0 });
}

/**
 * The devfs component (Phase.ROOT, after the root is mounted): registers
 * the type and mounts it on /dev (nosuid, as Linux distributions do).
 * Without a root file system it only registers the type.
 */
export const devfsComponent: Component = {
  name: 'devfs',
  phase: Phase.ROOT,
  deps: ['vfs'],
  async init(k: Kernel) {
    const vfs = vfsOf(k);
    vfs.registerFsType(devfsType);
    if (vfs.rootMount === null) return;
    const dir = await bootDir(k, 'dev');
    try {
      await vfs.mountAt(null, dir, 'devfs', 'devfs', MS_NOSUID, '');
    } finally {
      vrele(dir);
    }
  },
};
