/**
 * The ext2 file-system type: mount (find the device, read and check the
 * superblock and group descriptors, the mount-time feature and state
 * checks), the vfs operations (root, statfs, sync, unmount, vget, remount)
 * and the `ext2` component.
 *
 * Source of a mount: a block special file in the kernel's namespace (its
 * unit is found in the disk registry, kern/blkdev.ts), or else a host image
 * name, which is attached as a new host-disk unit for the life of the mount
 * and detached at umount (like `mount -o loop`): a file path on the node
 * host, a disk name on the sim host.
 *
 * Mount-time checks (Linux ext2_fill_super): an INCOMPAT feature this driver
 * does not implement refuses the mount (EINVAL) with a dmesg line naming it;
 * an unknown RO_COMPAT feature makes the mount read-only; an fs not cleanly
 * unmounted, with errors, or past its maximal mount count is mounted with a
 * warning recommending e2fsck. A read-write mount counts s_mnt_count up,
 * clears EXT2_VALID_FS on disk until umount sets it again, and finishes the
 * orphan list a crash left.
 *
 * Options: ro, rw, defaults, loop, errors=continue|remount-ro|panic (accepted;
 * errors are always reported and answered with EUCLEAN), user_xattr,
 * nouser_xattr, acl, noacl (accepted, no effect: no xattr syscalls here).
 */
import type { Kernel } from '../../kern/kernel.ts';
import type { Lwp } from '../../kern/sched.ts';
import { Phase, type Component } from '../../kern/component.ts';
import { type BlockDevice, disks } from '../../kern/blkdev.ts';
import { EACCES, EINVAL, ENODEV, ENOENT, ENOTBLK, ENOTDIR, ENXIO, ESTALE, KernelError, err } from '../../kern/errno.ts';
import { AT_FDCWD, S_IFBLK, S_IFMT } from '../../kern/constants.ts';
import { bufcache } from '../bufcache.ts';
import { type FsType, MS_NODEV, MS_RDONLY, type Mount, type Statfs, type VfsOps, vref, vrele } from '../vnode.ts';
import { vfsOf } from '../vfs.ts';
import { lookupPath } from '../namei.ts';
import { Ext2Fs, fsThread, withFs } from './fs.ts';
import {
  EXT2_ERROR_FS, EXT2_MAGIC, EXT2_VALID_FS, INCOMPAT_NAMES, RO_COMPAT_NAMES, SB_OFFSET, SB_SIZE, SUPPORTED_INCOMPAT,
  SUPPORTED_RO_COMPAT, parseSuperblock, unknownFeatures,
} from './superblock.ts';
import { GD_SIZE, type GroupDesc, gdtBlocks, parseGroup } from './groups.ts';
import { ROOT_INO } from './inode.ts';
import { ext2VnodeOps, releaseInode } from './vnops.ts';

const OPTIONS = new Set(['', 'ro', 'rw', 'defaults', 'loop', 'user_xattr', 'nouser_xattr', 'acl', 'noacl', 'errors=continue', 'errors=remount-ro', 'errors=panic']);

/** The unit to mount: a block special file's, or a host image attached for this mount. */
async function openSource(k: Kernel, td: Lwp | null, mp: Mount, source: string, ro: boolean): Promise<{ dev: BlockDevice; owns: boolean }> {
  const reg = disks(k);
  if (td !== null && source.startsWith('/')) {
    let vp = null;
    try {
      vp = await lookupPath(td, AT_FDCWD, source, true);
    } catch (e) {
      if (!(e instanceof KernelError) || (e.errno !== ENOENT && e.errno !== ENOTDIR)) throw e;
    }
    if (vp !== null) {
      try {
        // mount(2) ENOTBLK: "source is not a block device"; EACCES: it lies on a nodev mount.
        if ((vp.mode & S_IFMT) !== S_IFBLK) throw err(ENOTBLK);
        if ((vp.mount.flags & MS_NODEV) !== 0) throw err(EACCES);
        const dev = reg.get(vp.rdev);
        if (dev === undefined) throw err(ENXIO);
        return { dev, owns: false };
      } finally {
        vrele(vp);
      }
    }
  }
  if (reg.attacher === null) {
    k.log('err', `ext2: ${source} is no block device here and no host-disk driver is configured to attach it`);
    throw err(ENODEV);
  }
  void mp;
  return { dev: await reg.attacher(source, ro), owns: true };
}

async function readGroups(fs0: { k: Kernel; dev: BlockDevice }, sb: ReturnType<typeof parseSuperblock> & { ok: true }, name: string): Promise<GroupDesc[] | string> {
  const s = sb.value;
  const first = s.firstDataBlock + 1;
  const n = gdtBlocks(s);
  if (first + n > s.blocksCount) return 'group descriptors run past the end of the file system';
  const raw = new Uint8Array(n * s.blockSize);
  await fs0.dev.read(first * s.blockSize, raw);
  const groups: GroupDesc[] = [];
  for (let g = 0; g < s.groupCount; g++) {
    const r = parseGroup(s, g, raw.subarray(g * GD_SIZE, (g + 1) * GD_SIZE));
    if (!r.ok) return r.why;
    groups.push(r.value);
  }
  void name;
  return groups;
}

function nowSec(k: Kernel): number {
  return Number((k.hyper.clockRealtime() / 1_000_000_000n) & 0xffffffffn);
}

async function mountExt2(k: Kernel, td0: Lwp | null, mp: Mount, source: string, data: string): Promise<void> {
  for (const o of data.split(',')) if (!OPTIONS.has(o)) {
    k.log('err', `ext2: unrecognized mount option "${o}"`);
    throw err(EINVAL);
  }
  if (data.split(',').includes('ro')) mp.flags |= MS_RDONLY;
  const { dev, owns } = await openSource(k, td0, mp, source, (mp.flags & MS_RDONLY) !== 0);
  try {
    await setUp(k, td0, mp, dev, owns);
  } catch (e) {
    if (owns) await disks(k).detacher?.(dev);
    throw e;
  }
}

async function setUp(k: Kernel, td0: Lwp | null, mp: Mount, dev: BlockDevice, owns: boolean): Promise<void> {
  const name = dev.name;
  const bad = (why: string): never => {
    k.log('err', `ext2 (${name}): can't mount: ${why}`);
    throw err(EINVAL);
  };
  if (dev.size < SB_OFFSET + SB_SIZE) bad(`device of ${dev.size} bytes is too small for a superblock`);
  const sbRaw = new Uint8Array(SB_SIZE);
  await dev.read(SB_OFFSET, sbRaw);
  const sbr = parseSuperblock(sbRaw, dev.size);
  if (!sbr.ok) return bad(sbr.why === `bad magic 0x${(sbRaw[56]! | (sbRaw[57]! << 8)).toString(16)} (want 0x${EXT2_MAGIC.toString(16)})` ? `no ext2 file system (${sbr.why})` : sbr.why);
  const sb = sbr.value;
  const inc = unknownFeatures(sb.featureIncompat, SUPPORTED_INCOMPAT, INCOMPAT_NAMES);
  if (inc.length > 0) bad(`couldn't mount because of unsupported optional features (${inc.join(', ')})`);
  const roc = unknownFeatures(sb.featureRoCompat, SUPPORTED_RO_COMPAT, RO_COMPAT_NAMES);
  if (roc.length > 0 && (mp.flags & MS_RDONLY) === 0) {
    k.log('warning', `ext2 (${name}): mounting read-only because of unsupported optional features (${roc.join(', ')})`);
    mp.flags |= MS_RDONLY;
  }
  if (dev.readOnly) mp.flags |= MS_RDONLY;
  const readOnly = (mp.flags & MS_RDONLY) !== 0;
  const groups = await readGroups({ k, dev }, sbr, name);
  if (typeof groups === 'string') return bad(groups);
  // Linux recounts the free totals from the descriptors (ext2_count_free_blocks).
  sb.freeBlocksCount = groups.reduce((a, g) => a + g.freeBlocks, 0);
  sb.freeInodesCount = groups.reduce((a, g) => a + g.freeInodes, 0);
  if ((sb.state & EXT2_VALID_FS) === 0) k.log('warning', `ext2 (${name}): warning: mounting unchecked fs, running e2fsck is recommended`);
  else if ((sb.state & EXT2_ERROR_FS) !== 0) k.log('warning', `ext2 (${name}): warning: mounting fs with errors, running e2fsck is recommended`);
  else if (sb.maxMntCount > 0 && sb.mntCount >= sb.maxMntCount) k.log('warning', `ext2 (${name}): warning: maximal mount count reached, running e2fsck is recommended`);
  const fs = new Ext2Fs(k, mp, dev, bufcache(k), sb, sbRaw, groups, readOnly);
  fs.vops = ext2VnodeOps;
  fs.ownsDevice = owns;
  mp.fsdata = fs;
  mp.ops = ext2VfsOps;
  const td = fsThread(k, td0, 'ext2_mount');
  try {
    if (!readOnly) {
      await recoverOrphans(fs, td);
      sb.mntCount = (sb.mntCount + 1) & 0xffff;
      sb.mtime = nowSec(k);
      sb.state &= ~EXT2_VALID_FS;
      await withFs(mp, td, async (f, t) => {
        await f.sbUpdate(t);
        await f.bc.bflush(t, f.dev);
      });
    }
    const root = await withFs(mp, td, (f, t) => f.iget(t, ROOT_INO));
    if (!root.isDir) {
      vrele(root);
      throw fs.corrupt('root inode is not a directory');
    }
    mp.root = root;
  } catch (e) {
    fs.bc.binval(dev);
    throw e;
  }
  k.log('info', `ext2 (${name}): mounted ${readOnly ? 'read-only' : 'read-write'}, ${sb.blockSize}-byte blocks, ${sb.blocksCount} blocks, ${sb.inodesCount} inodes`);
}

/** Free what the orphan list left (a crash between unlink and last close), bounded by the inode count. */
async function recoverOrphans(fs: Ext2Fs, td: Lwp): Promise<void> {
  if (fs.sb.lastOrphan === 0) return;
  await withFs(fs.mp, td, async (f, t) => {
    const seen = new Set<number>();
    let ino = f.sb.lastOrphan;
    while (ino !== 0) {
      if (seen.has(ino) || !f.validIno(ino)) {
        f.corrupt(`orphan list: inode ${ino} ${seen.has(ino) ? 'repeats' : 'is out of range'}`);
        break;
      }
      seen.add(ino);
      f.orphanList.push(ino);
      const i = await f.readInode(t, ino);
      ino = i.dtime;
    }
    for (const o of [...f.orphanList]) {
      const vp = await f.iget(t, o).catch(() => null);
      if (vp === null) {
        f.orphanList.splice(f.orphanList.indexOf(o), 1);
        continue;
      }
      f.vcache.delete(o);
      vp.usecount--;
      vp.mount.refs--;
      if (vp.nlink === 0) await releaseInode(f, t, vp);
      else f.orphanList.splice(f.orphanList.indexOf(o), 1);
    }
    await f.flushMeta(t);
    f.orphanList.length = 0;
    f.sb.lastOrphan = 0;
    f.sbDirty = true;
    f.k.log('info', `ext2 (${f.dev.name}): ${seen.size} orphan inode(s) cleaned up`);
  });
}

async function drainPending(fs: Ext2Fs): Promise<void> {
  for (let i = 0; i < 1000 && fs.pending.size > 0; i++) await Promise.allSettled([...fs.pending]);
}

async function syncFs(mp: Mount, td0: Lwp | null): Promise<void> {
  const fs = mp.fsdata as Ext2Fs;
  if (fs.readOnly) return;
  await drainPending(fs);
  await withFs(mp, td0, async (f, td) => {
    f.sb.wtime = nowSec(f.k);
    await f.flushMeta(td);
    await f.sbUpdate(td);
    await f.bc.bflush(td, f.dev);
  });
}

/**
 * Write everything back and mark the file system clean (EXT2_VALID_FS, unless an error
 * was found while mounted), as umount does; afterwards the mount is read-only.
 */
async function quiesce(mp: Mount, td0: Lwp | null): Promise<void> {
  const fs = mp.fsdata as Ext2Fs;
  await drainPending(fs);
  if (fs.readOnly) return;
  await withFs(mp, td0, async (f, td) => {
    if ((f.sb.state & EXT2_ERROR_FS) === 0) f.sb.state |= EXT2_VALID_FS;
    f.sb.wtime = nowSec(f.k);
    await f.flushMeta(td);
    await f.sbUpdate(td);
    await f.bc.bflush(td, f.dev);
  });
  fs.readOnly = true;
}

/** At kernel shutdown: every ext2 mount still mounted (the root among them) is written back and left clean. */
async function shutdownAll(k: Kernel): Promise<void> {
  const vfs = k.lookup<ReturnType<typeof vfsOf>>('vfs');
  for (const mp of vfs?.mounts ?? []) {
    if (mp.fstype !== ext2Type) continue;
    try {
      await quiesce(mp, null);
    } catch (e) {
      k.log('err', `ext2 (${(mp.fsdata as Ext2Fs).dev.name}): write-back at shutdown failed: ${String(e)}`);
    }
  }
}

const ext2VfsOps: VfsOps = {
  root(mp) {
    return vref(mp.root);
  },
  statfs(mp): Statfs {
    const fs = mp.fsdata as Ext2Fs;
    const s = fs.sb;
    return {
      type: EXT2_MAGIC, bsize: s.blockSize, blocks: s.blocksCount - s.firstDataBlock, bfree: s.freeBlocksCount,
      bavail: Math.max(0, s.freeBlocksCount - s.rBlocksCount), files: s.inodesCount, ffree: s.freeInodesCount,
      fsid: [mp.dev, 0], namelen: 255, frsize: s.blockSize, flags: 0,
    };
  },
  sync(mp, td) {
    return syncFs(mp, td);
  },
  async unmount(mp, td0) {
    const fs = mp.fsdata as Ext2Fs;
    await quiesce(mp, td0);
    fs.bc.binval(fs.dev);
    fs.dropIdle();
    fs.vcache.clear();
    if (fs.ownsDevice) await disks(fs.k).detacher?.(fs.dev);
    fs.k.log('info', `ext2 (${fs.dev.name}): unmounted`);
  },
  vget(mp, ino) {
    return withFs(mp, null, async (fs, td) => {
      if (!fs.validIno(ino)) throw err(ESTALE);
      return fs.iget(td, ino);
    });
  },
  async remount(mp, flags) {
    const fs = mp.fsdata as Ext2Fs;
    const wantRo = (flags & MS_RDONLY) !== 0;
    if (wantRo === fs.readOnly) return;
    if (wantRo) {
      await syncFs(mp, null);
      await withFs(mp, null, async (f, td) => {
        if ((f.sb.state & EXT2_ERROR_FS) === 0) f.sb.state |= EXT2_VALID_FS;
        await f.flushMeta(td);
        await f.sbUpdate(td);
        await f.bc.bflush(td, f.dev);
      });
      fs.readOnly = true;
      return;
    }
    if (fs.dev.readOnly || unknownFeatures(fs.sb.featureRoCompat, SUPPORTED_RO_COMPAT, RO_COMPAT_NAMES).length > 0) throw err(EACCES);
    fs.readOnly = false;
    await withFs(mp, null, async (f, td) => {
      f.sb.state &= ~EXT2_VALID_FS;
      f.sb.mtime = nowSec(f.k);
      await f.sbUpdate(td);
      await f.bc.bflush(td, f.dev);
    });
  },
};

export const EXT2_SUPER_MAGIC = EXT2_MAGIC;

export const ext2Type: FsType = {
  name: 'ext2',
  magic: EXT2_MAGIC,
  mount: mountExt2,
};

/** The ext2 component: registers the type (mount -t ext2). */
export const ext2Component: Component = {
  name: 'ext2',
  phase: Phase.VFS,
  deps: ['vfs'],
  init(k: Kernel) {
    vfsOf(k).registerFsType(ext2Type);
  },
  shutdown: shutdownAll,
};

/**
 * The ext2 component that also mounts IMAGE as the root file system
 * (`boot({ root: 'ext2:IMAGE' })`); listed before tmpfs, which then sees a
 * root already mounted and leaves it.
 */
export function ext2RootComponent(image: string, readOnly = false): Component {
  return {
    name: 'ext2',
    phase: Phase.VFS,
    deps: ['vfs'],
    async init(k: Kernel) {
      const vfs = vfsOf(k);
      vfs.registerFsType(ext2Type);
      await vfs.mountRoot('ext2', readOnly ? MS_RDONLY : 0, '', image);
    },
    shutdown: shutdownAll,
  };
}
