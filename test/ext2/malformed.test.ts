/**
 * Malformed ext2 images: fast-check mutations of a valid mkfs.ext2 image
 * (bit flips and byte overwrites in the metadata blocks, absurd values in
 * superblock, group-descriptor, inode and directory fields, truncated
 * images) are mounted from a memory disk and walked, read and written. The
 * kernel may refuse or fail any call, but only with an errno (EUCLEAN, EIO,
 * EINVAL, ...): never a thrown non-kernel error, a panic, or a transfer
 * outside the disk. Every EUCLEAN leaves a dmesg line saying what was found.
 *
 * Runs EXT2_FUZZ_RUNS cases (default 150). A corpus of mutation lists is
 * replayed first (recorded as data, so it is tiny): an image that finds a bug
 * joins it as a regression case.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { boot, type BootedKernel } from '../../src/frontends/library/boot.ts';
import { mdAttach } from '../../src/dev/blk/md.ts';
import { KernelError } from '../../src/kern/errno.ts';
import { O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, S_IFBLK } from '../../src/kern/constants.ts';
import { haveE2fsprogs, mkfs, rmTree, tmpDir } from './kit.ts';
import { mkdirSync, writeFileSync, symlinkSync } from 'node:fs';

const ok = haveE2fsprogs();
const RUNS = Number(process.env.EXT2_FUZZ_RUNS ?? 150);

/** A mutation: at byte `at`, XOR `xor` (a bit flip) or set a 32-bit little-endian value. */
type Mutation = { at: number; xor: number } | { at: number; u32: number } | { truncate: number };

function apply(base: Uint8Array, muts: Mutation[]): Uint8Array {
  let img = base.slice();
  for (const m of muts) {
    if ('truncate' in m) img = img.slice(0, Math.max(0, Math.min(img.byteLength, m.truncate)));
    else if (m.at + 4 > img.byteLength) continue;
    else if ('xor' in m) img[m.at]! ^= m.xor;
    else new DataView(img.buffer).setUint32(m.at, m.u32 >>> 0, true);
  }
  return img;
}

function baseImage(): { img: Uint8Array; metaEnd: number } {
  const dir = tmpDir('fuzz');
  try {
    const src = join(dir, 'src');
    mkdirSync(join(src, 'd/e'), { recursive: true });
    writeFileSync(join(src, 'small'), 'hello\n');
    writeFileSync(join(src, 'd/ind'), new Uint8Array(20 * 1024).fill(7));
    writeFileSync(join(src, 'd/e/dind'), new Uint8Array(300 * 1024).fill(9));
    symlinkSync('small', join(src, 'fast'));
    symlinkSync('x'.repeat(100), join(src, 'slow'));
    for (let i = 0; i < 60; i++) writeFileSync(join(src, 'd', `n${i}`), String(i));
    const img = join(dir, 'img');
    mkfs(img, '1M', { bs: 1024, isz: 128, src, inodes: 128 });
    // Metadata of this image: superblock, descriptors, bitmaps, 16 KiB of inode table, then
    // directory and indirect blocks; mutations aim at the first 64 KiB.
    return { img: new Uint8Array(readFileSync(img)), metaEnd: 64 * 1024 };
  } finally {
    rmTree(dir);
  }
}

/** Interesting 32-bit values for counts, block numbers and sizes. */
const absurd = fc.constantFrom(0, 1, 2, 7, 11, 0xff, 0x3ff, 0x400, 0x401, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 1023, 1024, 1025, 8192);

function mutations(metaEnd: number): fc.Arbitrary<Mutation[]> {
  const at = fc.oneof(
    fc.integer({ min: 1024, max: 2047 }), // superblock
    fc.integer({ min: 2048, max: 2048 + 63 }), // group descriptors
    fc.integer({ min: 0, max: metaEnd - 4 }),
  );
  const mut: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ at, xor: fc.integer({ min: 0, max: 7 }).map((b) => 1 << b) }) },
    { weight: 4, arbitrary: fc.record({ at: at.map((a) => a & ~3), u32: absurd }) },
    { weight: 1, arbitrary: fc.record({ truncate: fc.integer({ min: 0, max: 1 << 20 }) }) },
  );
  return fc.array(mut, { minLength: 1, maxLength: 8 });
}

const ALLOWED = new Set(['EUCLEAN', 'EIO', 'EINVAL', 'ENOENT', 'ENOTDIR', 'EISDIR', 'ENOSPC', 'EEXIST', 'ENOTEMPTY', 'ELOOP', 'EFBIG', 'ESTALE', 'ENAMETOOLONG', 'EMLINK', 'EROFS', 'ENXIO', 'EOVERFLOW']);

/** Run p; a kernel errno is fine (returned), anything else fails the test. */
async function tolerate<T>(p: Promise<T>): Promise<T | string> {
  try {
    return await p;
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    expect(ALLOWED.has(e.code)).toBe(true);
    return e.code;
  }
}

/** Walk, read and modify whatever the mounted image shows; bounded. */
async function exercise(k: BootedKernel): Promise<void> {
  const queue = ['/mnt'];
  let visited = 0;
  const buf = new Uint8Array(64 * 1024);
  while (queue.length > 0 && visited < 200) {
    const dir = queue.shift()!;
    const fd = await tolerate(k.sys.open(dir, O_RDONLY | O_DIRECTORY));
    if (typeof fd !== 'number') continue;
    for (let round = 0; round < 20; round++) {
      const ents = await tolerate(k.sys.getdents64(fd, 8192) as Promise<{ name: string }[]>);
      if (typeof ents === 'string' || ents.length === 0) break;
      for (const e of ents) {
        if (e.name === '.' || e.name === '..') continue;
        visited++;
        const p = `${dir}/${e.name}`;
        const st = await tolerate(k.sys.lstat(p));
        if (typeof st === 'string') continue;
        if ((st.mode & 0o170000) === 0o040000) queue.push(p);
        else if ((st.mode & 0o170000) === 0o120000) await tolerate(k.sys.readlink(p));
        else if ((st.mode & 0o170000) === 0o100000) {
          const f = await tolerate(k.sys.open(p, O_RDONLY));
          if (typeof f === 'number') {
            for (let i = 0; i < 8; i++) if ((await tolerate(k.sys.read(f, buf))) === 0) break;
            await k.sys.close(f);
          }
        }
      }
    }
    await k.sys.close(fd);
  }
  const w = await tolerate(k.sys.open('/mnt/new', O_CREAT | O_RDWR, 0o644));
  if (typeof w === 'number') {
    await tolerate(k.sys.pwrite(w, new Uint8Array(5000).fill(1), 3000));
    await tolerate(k.sys.ftruncate(w, 100));
    await k.sys.close(w);
  }
  await tolerate(k.sys.mkdir('/mnt/d/newdir', 0o755));
  await tolerate(k.sys.unlink('/mnt/small'));
  await tolerate(k.sys.rename('/mnt/d', '/mnt/d2'));
  await tolerate(k.sys.rmdir('/mnt/d2/e'));
}

/** Outcomes of the mount call, printed with EXT2_FUZZ_STATS=1 (a run that never mounts tests little). */
const stats: Record<string, number> = {};

async function runCase(base: Uint8Array, muts: Mutation[]): Promise<void> {
  const image = apply(base, muts);
  const k = await boot();
  const dev = mdAttach(k.kernel, image);
  const size = dev.size;
  await k.sys.mknod('/disk', S_IFBLK | 0o600, dev.rdev);
  await k.sys.mkdir('/mnt', 0o755);
  const m = await tolerate(k.sys.mount('/disk', '/mnt', 'ext2', 0, ''));
  if (m === 'EUCLEAN') expect(k.dmesg()).toMatch(/ext2 \(ram0\): corrupt: /);
  stats[typeof m === 'string' ? m : 'mounted'] = (stats[typeof m === 'string' ? m : 'mounted'] ?? 0) + 1;
  if (typeof m !== 'string') {
    await exercise(k);
    const u = await tolerate(k.sys.umount2('/mnt', 0));
    expect(u).not.toBe('EBUSY');
  }
  if (k.dmesg().includes('EUCLEAN')) expect(k.dmesg()).toMatch(/corrupt: /);
  // Nothing was attempted outside the disk, and the disk did not grow.
  expect(dev.stats.errors).toBe(0);
  expect(dev.size).toBe(size);
  await k.shutdown();
}

/**
 * Mutation lists replayed on every run: hand-picked geometry breakers for now (the random
 * campaign, 2000 cases while this was written, found no crash); add any list that finds one.
 */
const CORPUS: Mutation[][] = [
  [{ at: 1024 + 24, u32: 0xffffffff }], // absurd s_log_block_size
  [{ at: 1024 + 40, u32: 0 }], // zero inodes per group
  [{ truncate: 4096 }], // image cut inside the group descriptors
];

describe.skipIf(!ok)('malformed ext2 images', () => {
  const { img, metaEnd } = ok ? baseImage() : { img: new Uint8Array(0), metaEnd: 0 };

  it('the regression corpus', async () => {
    for (const muts of CORPUS) await runCase(img, muts);
  });

  it('random mutations never crash, hang or write outside the disk', async () => {
    await fc.assert(fc.asyncProperty(mutations(metaEnd), (muts) => runCase(img, muts)), { numRuns: RUNS });
    if (process.env.EXT2_FUZZ_STATS === '1') console.log('mount outcomes', stats);
    expect(stats.mounted ?? 0).toBeGreaterThan(RUNS / 4);
  });
});
