/**
 * `anykernel mkfs.ext2 IMAGE SIZE [-b 1024|4096] [-N INODES] [-I 128|256]
 * [-L LABEL] [-d HOSTDIR]`: make an ext2 image file without root — the
 * kernel's own formatter (vfs/ext2/mkfs.ts) over a host-disk unit — and,
 * with -d, copy a host tree into it through a kernel that mounts it (modes,
 * owners, times, symlinks, hard links, special files kept).
 */
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import '../frontends/library/node_default.ts'; // boot() without a host gets a NodeHost
import { boot } from '../frontends/library/boot.ts';
import { mkfsExt2 } from '../vfs/index.ts';
import { hostDiskAttach, hostDiskDetach } from '../dev/index.ts';
import { UsageError } from './main.ts';
import { Progress, copyIn, hostSize } from './treecopy.ts';

export const MKFS_USAGE = `usage: anykernel mkfs.ext2 IMAGE SIZE [OPTIONS]

Make an ext2 file system in the file IMAGE (created or truncated to SIZE, like 64M or 1G),
without root. The result passes e2fsck and mounts on Linux.

  -b SIZE       block size: 1024, 2048 or 4096 (default 1024 below 512 MiB, else 4096)
  -N COUNT      number of inodes (default one per 4 KiB below 512 MiB, else per 16 KiB)
  -I SIZE       inode size: 128 or 256 (default 256, with nanosecond times)
  -L LABEL      volume label
  -d DIR        copy the host directory DIR into the new file system
  -q, --quiet   no progress bar
  -h, --help    this text
`;

export function parseSize(s: string): number {
  const m = /^(\d+)([KMGT]?)$/i.exec(s);
  if (m === null) throw new UsageError(`'${s}' is not a size (like 65536, 64M, 1G)`);
  return Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      b: { type: 'string', short: 'b' }, N: { type: 'string', short: 'N' }, I: { type: 'string', short: 'I' },
      L: { type: 'string', short: 'L' }, d: { type: 'string', short: 'd' }, quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(MKFS_USAGE);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('IMAGE and SIZE expected');
  const image = path.resolve(positionals[0]!);
  const size = parseSize(positionals[1]!);
  const blockSize = values.b !== undefined ? Number(values.b) : undefined;
  if (blockSize !== undefined && ![1024, 2048, 4096].includes(blockSize)) throw new UsageError(`-b ${values.b}: block size must be 1024, 2048 or 4096`);
  const inodeSize = values.I !== undefined ? Number(values.I) : undefined;
  if (inodeSize !== undefined && inodeSize !== 128 && inodeSize !== 256) throw new UsageError(`-I ${values.I}: inode size must be 128 or 256`);
  const inodes = values.N !== undefined ? Number(values.N) : undefined;
  if (inodes !== undefined && !(Number.isSafeInteger(inodes) && inodes > 0)) throw new UsageError(`-N ${values.N}: not a positive count`);
  if (values.d !== undefined && !fs.statSync(values.d, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`-d ${values.d}: not a directory`);
  const fd = fs.openSync(image, 'w');
  fs.ftruncateSync(fd, size);
  fs.closeSync(fd);
  const k = await boot({ components: ['kern', 'vfs', 'tmpfs', 'blk', 'ext2'] });
  try {
    const dev = await hostDiskAttach(k.kernel, image, false);
    try {
      await mkfsExt2(dev, {
        uuid: new Uint8Array(randomBytes(16)), now: Math.floor(Date.now() / 1000),
        ...(blockSize !== undefined ? { blockSize } : {}), ...(inodeSize !== undefined ? { inodeSize } : {}),
        ...(inodes !== undefined ? { inodes } : {}), ...(values.L !== undefined ? { label: values.L } : {}),
      });
    } catch (e) {
      throw new Error(`${image}: cannot make a file system of ${size} bytes with these options (${(e as Error).message})`);
    } finally {
      await hostDiskDetach(k.kernel, dev);
    }
    if (values.d !== undefined) {
      await k.sys.mkdir('/mnt', 0o755);
      await k.sys.mount(image, '/mnt', 'ext2', 0, '');
      const src = path.resolve(values.d);
      const prog = new Progress(hostSize(src), 'copying', values.quiet === true);
      const links = new Map<string, string>();
      for (const name of fs.readdirSync(src)) await copyIn(k, path.join(src, name), `/mnt/${name}`, prog, links);
      const st = fs.statSync(src);
      await k.sys.chmod('/mnt', st.mode & 0o7777);
      await k.sys.lchown('/mnt', st.uid, st.gid);
      prog.end();
      await k.sys.umount2('/mnt', 0);
    }
  } finally {
    await k.shutdown();
  }
  return 0;
}
