/**
 * The public surface of the file-system faction: what frontends and the
 * CLI may use (tools/check-arch.ts enforces that they import src/vfs only
 * through this file). Everything else in src/vfs is internal and may change.
 *
 * - Components a kernel boots with (vfs, tmpfs, devfs, procfs, etfs) and
 *   the system-call table's type.
 * - The per-kernel Vfs service (vfsOf): mount table, advisory locks.
 * - Vnodes and their references (vref/vrele) for frontends that address
 *   files by vnode, and the vnode-level entry points (vn_*) that apply the
 *   same rules as the system calls: a frontend calls these instead of
 *   re-implementing open(2), access(2), truncate(2), chmod/chown/utimensat
 *   or the namespace calls. The (dvp, name) forms of mkdir, mknod, symlink,
 *   unlink, rmdir and rename are the `*at` calls with a directory vnode as
 *   the start (namei's `At`).
 */
export { vfsComponent } from './vfs_component.ts';
export { tmpfsComponent } from './tmpfs.ts';
export { devfsComponent } from './devfs.ts';
export { procfsComponent, vnodePath as vn_path } from './procfs.ts';
export { etfsComponent, Etfs } from './etfs.ts';
export { vfsSyscalls, type Dirent64 } from './vfs_syscalls.ts';
export { Vfs, vfsOf } from './vfs.ts';
export { Mount, Vnode, vref, vrele, type Statfs } from './vnode.ts';
export { type At, fileVnode } from './namei.ts';
export { vn_openat, vn_open, vn_access } from './sys_open.ts';
export { vn_truncate, vn_chmod, vn_chown, vn_utimens } from './sys_attr.ts';
export {
  vn_link, mkdirAt as vn_mkdir, mknodAt as vn_mknod, symlinkAt as vn_symlink, unlinkAt as vn_unlink,
  rmdirAt as vn_rmdir, renameAt2 as vn_rename,
} from './sys_namei.ts';
export { vn_statfs } from './sys_statfs.ts';
export { vn_lookup, vn_relookup, vn_stat, vn_read, vn_readdir, vn_readlink, vn_maySearch } from './vn_node.ts';
export { ext2Component, ext2RootComponent, ext2Type } from './ext2/ext2.ts';
export { bufcache } from './bufcache.ts';
export { mkfsExt2, type MkfsOptions } from './ext2/mkfs.ts';
