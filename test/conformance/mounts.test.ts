/**
 * Conformance: what a second mount inside the tree does to the name space —
 * EXDEV for rename(2)/link(2) across mounts, EBUSY for removing, renaming
 * or unmounting a busy mount point (umount(2), rmdir(2)), EROFS on a
 * read-only mount (MS_RDONLY), ".." across a mount root, covered contents.
 * Needs caps.mount (a host needs root to mount tmpfs; CI is root).
 */
import { describe, expect, it } from 'vitest';
import { C } from './target.ts';
import { errnoOf, expectErrno, fileType, forTargets, need, readFile, writeFile } from './helpers.ts';

forTargets((t) => {
  describe('a second tmpfs', () => {
    it('is a different file system: its own dev, its own root, ".." leads back out', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await t().mountTmpfs('m');
      const outer = await t().stat('.');
      const mroot = await t().stat('m');
      expect(mroot.dev).not.toBe(outer.dev);
      expect(fileType(mroot.mode)).toBe(C.S_IFDIR);
      expect(await t().readdir('m')).toEqual([]);
      expect((await t().stat('m/..')).ino).toBe(outer.ino);
      expect((await t().stat('m/..')).dev).toBe(outer.dev);
      expect((await t().statfs('m')).type).toBe(C.TMPFS_MAGIC);
      await writeFile(t(), 'm/f', 'inside');
      expect((await t().stat('m/f')).dev).toBe(mroot.dev);
      await t().chdir('m');
      expect(await t().getcwd()).toBe(`${t().root}/m`);
      await t().chdir('..');
      await t().umount('m');
      await expectErrno(t().stat('m/f'), 'ENOENT');
    });

    it('covers what was in the directory until unmounted', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await writeFile(t(), 'm/hidden', 'below');
      await t().mountTmpfs('m');
      expect(await t().readdir('m')).toEqual([]);
      await expectErrno(t().stat('m/hidden'), 'ENOENT');
      await t().umount('m');
      expect(await readFile(t(), 'm/hidden')).toBe('below');
    });
  });

  describe('EXDEV', () => {
    it('rename and link across mounts are EXDEV, in both directions', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await t().mountTmpfs('m');
      await writeFile(t(), 'out', 'o');
      await writeFile(t(), 'm/in', 'i');
      await t().mkdir('m/dir', 0o755);
      await expectErrno(t().rename('out', 'm/out'), 'EXDEV');
      await expectErrno(t().rename('m/in', 'in'), 'EXDEV');
      await expectErrno(t().rename('m/dir', 'dir'), 'EXDEV');
      await expectErrno(t().link('out', 'm/out'), 'EXDEV');
      await expectErrno(t().link('m/in', 'in'), 'EXDEV');
      // Within one mount both work.
      await t().rename('m/in', 'm/dir/in');
      await t().link('m/dir/in', 'm/in2');
      await t().umount('m');
    });
  });

  describe('EBUSY', () => {
    it('a mount point cannot be removed or renamed', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await t().mountTmpfs('m');
      await expectErrno(t().rmdir('m'), 'EBUSY');
      await expectErrno(t().rename('m', 'm2'), 'EBUSY');
      await t().mkdir('e', 0o755);
      await expectErrno(t().rename('e', 'm'), 'EBUSY');
      await t().umount('m');
      await t().rmdir('m');
    });

    it('umount with an open file or a cwd inside is EBUSY; after close it works', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await t().mountTmpfs('m');
      await writeFile(t(), 'm/f', 'x');
      const fd = await t().open('m/f', C.O_RDONLY);
      await expectErrno(t().umount('m'), 'EBUSY');
      await t().close(fd);
      await t().chdir('m');
      await expectErrno(t().umount(`${t().root}/m`), 'EBUSY');
      await t().chdir('..');
      await t().umount('m');
      await expectErrno(t().stat('m/f'), 'ENOENT');
    });

    it('umount of something that is not a mount point is EINVAL; of a missing path ENOENT', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('d', 0o755);
      await expectErrno(t().umount('d'), 'EINVAL');
      await expectErrno(t().umount('nope'), 'ENOENT');
    });
  });

  describe('EROFS', () => {
    it('a read-only mount refuses every change with EROFS; lookups and reads work', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('ro', 0o755);
      await t().mountTmpfs('ro', { readonly: true });
      for (const [name, p] of [
        ['creat', t().open('ro/f', C.O_CREAT | C.O_WRONLY, 0o644)],
        ['mkdir', t().mkdir('ro/d', 0o755)],
        ['symlink', t().symlink('x', 'ro/l')],
        ['mkfifo', t().mkfifo('ro/p', 0o644)],
        ['chmod', t().chmod('ro', 0o700)],
        ['chown', t().chown('ro', 1, 1)],
        ['utimensat', t().utimensat('ro', null)],
        ['access W_OK', t().access('ro', C.W_OK)],
      ] as const) expect(`${name}: ${await errnoOf(p)}`).toBe(`${name}: EROFS`);
      // Linux takes write access to the mount before the final lookup in
      // unlink/rmdir (do_unlinkat, do_rmdir): even a missing name is EROFS.
      await expectErrno(t().unlink('ro/missing'), 'EROFS');
      await expectErrno(t().rmdir('ro/missing'), 'EROFS');
      // ...but a missing directory on the way is still ENOENT.
      await expectErrno(t().unlink('ro/nodir/x'), 'ENOENT');
      expect(await t().readdir('ro')).toEqual([]);
      await t().access('ro', C.R_OK | C.X_OK);
      const fd = await t().open('ro', C.O_RDONLY | C.O_DIRECTORY);
      await t().close(fd);
      await t().umount('ro');
      await t().mkdir('ro/ok', 0o755);
    });
  });
});
