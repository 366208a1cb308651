/**
 * `anykernel mount --type ext2 IMAGE DIR` (lklfuse's use): an image made by
 * mkfs.ext2 -d is served through FUSE; host tools read it, write into it,
 * and after the host unmounts it the image passes `e2fsck -fn` and debugfs
 * shows what was written. With `-o ro` writes fail with EROFS and the image
 * is left byte-for-byte unchanged. Needs root and /dev/fuse (required in CI).
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { requireFuse, sh, startMount } from '../fuse/mount.ts';
import { debugfs, fsck, haveE2fsprogs, mkfs, rmTree, tmpDir } from './kit.ts';

const ok = haveE2fsprogs() && requireFuse('anykernel mount --type ext2 tests');

describe.runIf(ok)('anykernel mount --type ext2', () => {
  it('serves an image read-write; the host unmounts; e2fsck and debugfs agree', async () => {
    const dir = tmpDir('fuse');
    try {
      const src = join(dir, 'src');
      fs.mkdirSync(join(src, 'sub'), { recursive: true });
      fs.writeFileSync(join(src, 'sub/hello'), 'hello from mkfs\n');
      const img = join(dir, 'img');
      mkfs(img, '16M', { src });
      const m = await startMount({ args: ['--type', 'ext2', img] });
      expect(fs.readFileSync(join(m.dir, 'sub/hello'), 'utf8')).toBe('hello from mkfs\n');
      fs.writeFileSync(join(m.dir, 'sub/new'), 'written through FUSE\n');
      fs.mkdirSync(join(m.dir, 'made'));
      fs.symlinkSync('../sub/new', join(m.dir, 'made/link'));
      expect(fs.readFileSync(join(m.dir, 'made/link'), 'utf8')).toBe('written through FUSE\n');
      await sh(`umount ${m.dir}`);
      expect(await m.exited).toBe(0);
      expect(fsck(img)).toMatchObject({ status: 0 });
      expect(debugfs(img, 'cat /sub/new')).toBe('written through FUSE\n');
      expect(debugfs(img, 'stat /made/link')).toMatch(/Fast link dest: "..\/sub\/new"/);
    } finally {
      rmTree(dir);
    }
  });

  it('-o ro refuses writes and leaves the image unchanged', async () => {
    const dir = tmpDir('fusero');
    try {
      const img = join(dir, 'img');
      mkfs(img, '8M');
      const before = fs.readFileSync(img);
      const m = await startMount({ args: ['--type', 'ext2', img], options: ['ro'] });
      expect(() => fs.writeFileSync(join(m.dir, 'x'), 'no')).toThrow(/EROFS/);
      expect(fs.readdirSync(m.dir)).toEqual(['lost+found']);
      await m.stop();
      expect(fs.readFileSync(img).equals(before)).toBe(true);
    } finally {
      rmTree(dir);
    }
  });
});
