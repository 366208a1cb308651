/**
 * The VFS component (Phase.VFS): creates this kernel's Vfs service
 * (`k.lookup('vfs')`), registers the file-system system calls, follows
 * process lifecycles (POSIX locks go at exit) and reports leaked vnode
 * references at shutdown.
 *
 * The root file system is mounted by the `tmpfs` component (tmpfs.ts's
 * tmpfsComponent, also Phase.VFS, depending on this one) as soon as tmpfs
 * registers, so later VFS-phase components (devfs, procfs) can mount on
 * /dev and /proc during their own init. proc0 gets cwd = root = "/" then,
 * and every process inherits it (init is created after all components).
 */
import { Phase, type Component } from '../kern/component.ts';
import type { Kernel } from '../kern/kernel.ts';
import { Vfs } from './vfs.ts';
import { vfsSyscalls } from './vfs_syscalls.ts';

export const vfsComponent: Component = {
  name: 'vfs',
  phase: Phase.VFS,
  init(k: Kernel) {
    const vfs = new Vfs(k);
    k.provide('vfs', vfs);
    k.syscalls.register(vfsSyscalls);
    k.procHooks.push({ exit: (p) => vfs.locks.releaseOwner(p.pid) });
    k.leakChecks.push(() => vfs.leaks());
  },
};

export { vfsSyscalls };
