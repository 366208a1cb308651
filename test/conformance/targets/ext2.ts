/**
 * The ext2 target: the kernel through the library frontend, as the kernel
 * target, but the test directory is the root of a fresh ext2 file system
 * (the kernel's own mkfs on a 16 MiB memory disk, mounted from a block
 * device node). Its lost+found is removed so the directory starts empty.
 *
 * Differences from the tmpfs-rooted kernel target, by capability: the root
 * is not a tmpfs (statfs answers EXT2_SUPER_MAGIC). Differences that need no
 * capability because the suite does not pin them: st_blocks and directory
 * sizes count ext2 blocks (a directory is a whole number of blocks, not
 * tmpfs's 20 bytes per entry), at most 32000 links per inode (EMLINK),
 * fallocate answers EOPNOTSUPP (as Linux's ext2 does), timestamps keep
 * nanoseconds only with 256-byte inodes (the default here).
 */
import { boot } from '../../../src/frontends/library/boot.ts';
import { mdAttach } from '../../../src/dev/index.ts';
import { mkfsExt2 } from '../../../src/vfs/index.ts';
import { S_IFBLK } from '../../../src/kern/constants.ts';
import type { Capabilities, Target, TargetFactory } from '../target.ts';
import { KernelTarget, libraryCaps, type SysLike } from './kernel.ts';

const ROOT = '/conformance';

export const ext2Target: TargetFactory = {
  name: 'ext2',
  async available() {
    return true;
  },
  async setup(): Promise<Target> {
    const k = await boot();
    const dev = mdAttach(k.kernel, 16 * 1024 * 1024);
    await mkfsExt2(dev, { blockSize: 4096, uuid: new Uint8Array(16).fill(1), now: Number(k.kernel.hyper.clockRealtime() / 1_000_000_000n) });
    const sys = k.sys as unknown as SysLike;
    await sys.mknod!('/ext2disk', S_IFBLK | 0o600, dev.rdev);
    await sys.mkdir!(ROOT, 0o755);
    await sys.mount!('/ext2disk', ROOT, 'ext2', 0, '');
    await sys.rmdir!(`${ROOT}/lost+found`);
    await sys.chdir!(ROOT);
    await sys.umask!(0o022);
    // As the library kernel, but the root is not a tmpfs.
    const caps: Capabilities = { ...libraryCaps(sys), tmpfsRoot: false };
    return new KernelTarget('ext2', caps, k, sys, true);
  },
};
