/**
 * ext2 read side against e2fsprogs: images made by `mkfs.ext2 -d` from a
 * host tree (1 KiB and 4 KiB blocks, 128- and 256-byte inodes) holding every
 * size class of file (empty, direct, indirect, double indirect, sparse past
 * the triple-indirect boundary), fast and slow symlinks, a FIFO, character
 * and block devices (old and new device-number encodings), hard links,
 * 32-bit owners and nanosecond times, and a 10k-entry directory indexed by
 * `e2fsck -D` (htree). Mounted through the library, every path must show the
 * host's content and metadata. Also the mount-time checks: an unknown
 * INCOMPAT feature refuses the mount naming it, an unknown RO_COMPAT one
 * mounts read-only, and the mount count and clean state move as Linux moves
 * them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chownSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, utimesSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { boot, type BootedKernel } from '../../src/frontends/library/boot.ts';
import { O_RDONLY } from '../../src/kern/constants.ts';
import { NodeHost } from '../../src/hyper/node/host.ts';
import { debugfs, fsck, haveE2fsprogs, mkfs, rmTree, tmpDir } from './kit.ts';

const ok = haveE2fsprogs();
const isRoot = process.getuid?.() === 0;
let work = '';

/** Sparse files: [name, offsets of 4 KiB data runs]. */
function sparseOffsets(bs: number): number[] {
  const a = bs / 4;
  const tripleStart = (12 + a + a * a) * bs;
  return [0, 12 * bs, tripleStart + 3 * bs + 100];
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function buildTree(root: string, bs: number, bigDir: boolean): void {
  mkdirSync(join(root, 'd/e'), { recursive: true });
  const a = bs / 4;
  const sizes: Record<string, number> = {
    empty: 0, one: 1, direct: 12 * bs, indirect: 12 * bs + 1, 'indirect-full': (12 + a) * bs, double: (12 + a) * bs + 3 * bs + 7,
  };
  let seed = 1;
  for (const [name, n] of Object.entries(sizes)) writeFileSync(join(root, name), pattern(n, seed++));
  const fd = openSync(join(root, 'sparse'), 'w');
  for (const off of sparseOffsets(bs)) writeSync(fd, pattern(4096, off % 997), 0, 4096, off);
  closeSync(fd);
  writeFileSync(join(root, 'd/e/deep'), 'deep\n');
  symlinkSync('one', join(root, 'fastlink'));
  symlinkSync('d/'.repeat(40) + 'target', join(root, 'slowlink'));
  linkSync(join(root, 'one'), join(root, 'd/hardone'));
  linkSync(join(root, 'one'), join(root, 'hardtwo'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  if (isRoot) {
    execFileSync('mknod', [join(root, 'null'), 'c', '1', '3']);
    execFileSync('mknod', [join(root, 'sda1'), 'b', '8', '1']);
    execFileSync('mknod', [join(root, 'bigdev'), 'c', '300', '70000']);
    chownSync(join(root, 'd/e/deep'), 100000, 200000);
    chownSync(join(root, 'direct'), 1000, 1000);
  }
  utimesSync(join(root, 'one'), new Date(1_600_000_000_123), new Date(1_500_000_000_456));
  if (bigDir) {
    mkdirSync(join(root, 'many'));
    for (let i = 0; i < 10000; i++) writeFileSync(join(root, 'many', `entry-${i}`), '');
  }
}

interface Variant { bs: number; isz: number; bigDir: boolean }
const variants: Variant[] = [
  { bs: 1024, isz: 128, bigDir: false },
  { bs: 1024, isz: 256, bigDir: false },
  { bs: 4096, isz: 128, bigDir: false },
  { bs: 4096, isz: 256, bigDir: true },
];

beforeAll(() => {
  if (ok) work = tmpDir('read');
});
afterAll(() => {
  if (work !== '') rmTree(work);
});

async function mountImage(img: string, flags = 0, data = ''): Promise<BootedKernel> {
  const k = await boot();
  await k.sys.mkdir('/mnt', 0o755);
  await k.sys.mount(img, '/mnt', 'ext2', flags, data);
  return k;
}

async function readAll(k: BootedKernel, path: string, len: number, off = 0): Promise<Uint8Array> {
  const fd = await k.sys.open(path, O_RDONLY);
  const buf = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const n = await k.sys.pread(fd, buf.subarray(done), off + done);
    if (n === 0) break;
    done += n;
  }
  await k.sys.close(fd);
  return buf.subarray(0, done);
}

describe.skipIf(!ok).each(variants)('mkfs.ext2 -b $bs -I $isz image', ({ bs, isz, bigDir }) => {
  let src = '';
  let img = '';
  let k: BootedKernel;

  beforeAll(async () => {
    src = join(work, `src-${bs}-${isz}`);
    mkdirSync(src);
    buildTree(src, bs, bigDir);
    img = join(work, `img-${bs}-${isz}`);
    mkfs(img, bs === 1024 ? '16M' : '64M', { bs, isz, src });
    if (bigDir) expect(fsck(img, '-y').status).toBeLessThan(4);
    if (bigDir) {
      execFileSync('e2fsck', ['-fyD', img], { stdio: 'ignore' });
      expect(debugfs(img, 'stat /many')).toMatch(/Flags: 0x1000/);
    }
    // Nanoseconds 123456789 and epoch bits 1 (a time past 2038) in the extra mtime field.
    if (isz >= 256) execFileSync('debugfs', ['-w', '-R', 'set_inode_field /d/e/deep mtime_extra 0x1D6F3455', img], { stdio: 'ignore' });
    k = await mountImage(img, 1 /* MS_RDONLY */);
  });
  afterAll(async () => {
    if (k) {
      await k.sys.umount2('/mnt', 0);
      expect((await k.shutdown()).clean).toBe(true);
    }
  });

  it('every path has the host metadata and content', async () => {
    const walk = async (rel: string): Promise<number> => {
      let count = 0;
      for (const name of readdirSync(join(src, rel))) {
        const hp = join(src, rel, name);
        const kp = `/mnt/${rel === '' ? '' : rel + '/'}${name}`;
        const h = lstatSync(hp, { bigint: true });
        const s = await k.sys.lstat(kp);
        expect({ kp, mode: s.mode, uid: s.uid, gid: s.gid, nlink: s.nlink }).toEqual({ kp, mode: Number(h.mode), uid: Number(h.uid), gid: Number(h.gid), nlink: Number(h.nlink) });
        if (!h.isDirectory()) expect({ kp, size: s.size }).toEqual({ kp, size: Number(h.size) });
        // mkfs -d copies whole seconds (its own nanoseconds are 0); 'deep' gets extra bits below.
        if (!(isz >= 256 && name === 'deep')) expect({ kp, sec: s.mtime.sec }).toEqual({ kp, sec: Number(h.mtimeNs / 1_000_000_000n) });
        if (h.isCharacterDevice() || h.isBlockDevice()) expect({ kp, rdev: s.rdev }).toEqual({ kp, rdev: Number(h.rdev) });
        if (h.isSymbolicLink()) expect(await k.sys.readlink(kp)).toBe(readlinkSync(hp));
        if (h.isFile() && name !== 'sparse') expect(Buffer.from(await readAll(k, kp, Number(h.size) + 10)).equals(readFileSync(hp))).toBe(true);
        if (h.isDirectory() && name !== 'many') count += await walk(rel === '' ? name : `${rel}/${name}`);
        count++;
      }
      return count;
    };
    expect(await walk('')).toBeGreaterThan(15);
  });

  it.skipIf(isz < 256)('nanosecond extra timestamps, epoch bits included', async () => {
    const s = await k.sys.stat('/mnt/d/e/deep');
    const lo = Number(lstatSync(join(src, 'd/e/deep'), { bigint: true }).mtimeNs / 1_000_000_000n);
    expect(s.mtime).toEqual({ sec: lo + 2 ** 32, nsec: 123456789 });
  });

  it('hard links share one inode', async () => {
    const a = await k.sys.stat('/mnt/one');
    expect((await k.sys.stat('/mnt/d/hardone')).ino).toBe(a.ino);
    expect((await k.sys.stat('/mnt/hardtwo')).ino).toBe(a.ino);
    expect(a.nlink).toBe(3);
  });

  it('a sparse file past the triple-indirect boundary reads its data and zeros between', async () => {
    const offs = sparseOffsets(bs);
    const st = await k.sys.stat('/mnt/sparse');
    expect(st.size).toBe(offs[offs.length - 1]! + 4096);
    for (const off of offs) expect(await readAll(k, '/mnt/sparse', 4096, off)).toEqual(pattern(4096, off % 997));
    expect(await readAll(k, '/mnt/sparse', 8192, offs[2]! - 8192)).toEqual(new Uint8Array(8192));
    // Far fewer blocks than the size: holes are not allocated.
    expect(st.blocks * 512).toBeLessThan(st.size / 100);
  });

  it.skipIf(!bigDir)('a 10k-entry htree directory lists and looks up every name', async () => {
    const fd = await k.sys.open('/mnt/many', O_RDONLY | 0o200000 /* O_DIRECTORY */);
    const names = new Set<string>();
    for (;;) {
      const ents = (await k.sys.getdents64(fd, 65536)) as { name: string }[];
      if (ents.length === 0) break;
      for (const e of ents) names.add(e.name);
    }
    await k.sys.close(fd);
    expect(names.size).toBe(10002);
    for (let i = 0; i < 10000; i += 997) expect((await k.sys.stat(`/mnt/many/entry-${i}`)).size).toBe(0);
  });
});

describe.skipIf(!ok)('block devices and statistics', () => {
  it('a boot-time host disk is /dev/loop0; mounting it fills /proc/sys/vfs/bufcache and hw/disk counters', async () => {
    const dir = tmpDir('devnode');
    try {
      const img = join(dir, 'img');
      mkfs(img, '4M');
      const k = await boot({ host: new NodeHost({ params: { 'blk.disks': img } }) });
      expect((await k.sys.stat('/dev/loop0')).mode & 0o170000).toBe(0o060000);
      await k.sys.mkdir('/mnt', 0o755);
      await k.sys.mount('/dev/loop0', '/mnt', 'ext2', 1 /* MS_RDONLY */, '');
      expect((await k.sys.stat('/mnt/lost+found')).nlink).toBe(2);
      const num = async (p: string): Promise<number> => Number(new TextDecoder().decode(await readAll(k, p, 64)).trim());
      expect(await num('/proc/sys/vfs/bufcache/misses')).toBeGreaterThan(0);
      expect(await num('/proc/sys/hw/disk/loop0/reads')).toBeGreaterThan(0);
      await k.sys.umount2('/mnt', 0);
      await expect(k.sys.mount('/dev/null', '/mnt', 'ext2', 0, '')).rejects.toMatchObject({ code: 'ENOTBLK' });
      expect((await k.shutdown()).clean).toBe(true);
    } finally {
      rmTree(dir);
    }
  });
});

describe.skipIf(!ok)('mount-time checks', () => {
  it('refuses an unknown INCOMPAT feature, naming it; mounts read-only for an unknown RO_COMPAT one', async () => {
    const dir = tmpDir('feat');
    try {
      const inc = join(dir, 'inc');
      mkfs(inc, '4M', { extra: ['-O', 'flex_bg'] });
      const k = await boot();
      await k.sys.mkdir('/mnt', 0o755);
      await expect(k.sys.mount(inc, '/mnt', 'ext2', 0, '')).rejects.toMatchObject({ code: 'EINVAL' });
      expect(k.dmesg()).toMatch(/unsupported optional features \(flex_bg\)/);
      const ro = join(dir, 'ro');
      mkfs(ro, '4M', { extra: ['-O', 'huge_file'] });
      await k.sys.mount(ro, '/mnt', 'ext2', 0, '');
      expect(k.dmesg()).toMatch(/read-only because of unsupported optional features \(huge_file\)/);
      await expect(k.sys.mkdir('/mnt/x', 0o755)).rejects.toMatchObject({ code: 'EROFS' });
      await k.sys.umount2('/mnt', 0);
      expect((await k.shutdown()).clean).toBe(true);
    } finally {
      rmTree(dir);
    }
  });

  it('a read-write mount counts mounts and is marked not clean until umount', async () => {
    const dir = tmpDir('state');
    try {
      const img = join(dir, 'img');
      mkfs(img, '4M');
      const before = debugfs(img, 'stats');
      const count = Number(/Mount count:\s+(\d+)/.exec(before)![1]);
      const k = await mountImage(img);
      expect(debugfs(img, 'stats')).toMatch(/Filesystem state:\s+not clean/);
      await k.sys.umount2('/mnt', 0);
      const after = debugfs(img, 'stats');
      expect(after).toMatch(/Filesystem state:\s+clean/);
      expect(Number(/Mount count:\s+(\d+)/.exec(after)![1])).toBe(count + 1);
      expect(fsck(img).status).toBe(0);
      await k.shutdown();
    } finally {
      rmTree(dir);
    }
  });
});
