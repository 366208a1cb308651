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
      // (FUSE: one st_dev and statfs for the whole mount — test/README.md DIFFERENCES.)
      if (t().caps.innerMountIdentity) expect(mroot.dev).not.toBe(outer.dev);
      else expect(mroot.ino).not.toBe(outer.ino);
      expect(fileType(mroot.mode)).toBe(C.S_IFDIR);
      expect(await t().readdir('m')).toEqual([]);
      expect((await t().stat('m/..')).ino).toBe(outer.ino);
      expect((await t().stat('m/..')).dev).toBe(outer.dev);
      if (t().caps.innerMountIdentity) expect((await t().statfs('m')).type).toBe(C.TMPFS_MAGIC);
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
      ] as const) expect(`${name}: ${await errnoOf(p)}`).toBe(`${name}: EROFS`);
      // (FUSE with default_permissions: the host answers access(2) from the mode bits — test/README.md DIFFERENCES.)
      expect(await errnoOf(t().access('ro', C.W_OK))).toBe(t().caps.accessAsksServer ? 'EROFS' : 'OK');
      // Linux takes write access to the mount before the final lookup in
      // unlink/rmdir (do_unlinkat, do_rmdir): even a missing name is EROFS.
      // (FUSE: the host's own lookup answers ENOENT first — test/README.md DIFFERENCES.)
      const missing = t().caps.roMountMissingNameErofs ? 'EROFS' : 'ENOENT';
      await expectErrno(t().unlink('ro/missing'), missing);
      await expectErrno(t().rmdir('ro/missing'), missing);
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

  describe('mount options, remount and privileges', () => {
    it('size= limits data: writes stop with ENOSPC (after a short write)', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await t().mountTmpfs('m', { data: 'size=64k' });
      const fd = await t().open('m/big', C.O_CREAT | C.O_WRONLY, 0o644);
      const chunk = new Uint8Array(16384).fill(7);
      let total = 0;
      let code = 'OK';
      for (let i = 0; i < 10 && code === 'OK'; i++) {
        try {
          total += await t().write(fd, chunk);
        } catch (e) {
          code = (e as { code: string }).code;
        }
      }
      expect(code).toBe('ENOSPC');
      expect(total).toBeLessThanOrEqual(65536);
      expect(total).toBeGreaterThan(0);
      expect((await t().fstat(fd)).size).toBe(total);
      await t().close(fd);
      // Freeing space makes room again.
      await t().unlink('m/big');
      await writeFile(t(), 'm/small', 'fits');
      await t().umount('m');
    });

    it('nr_inodes= limits nodes: the root counts as one, then ENOSPC', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await t().mountTmpfs('m', { data: 'nr_inodes=4' });
      await writeFile(t(), 'm/a');
      await t().mkdir('m/b', 0o755);
      await t().symlink('a', 'm/c');
      await expectErrno(t().open('m/d', C.O_CREAT | C.O_WRONLY, 0o644), 'ENOSPC');
      await expectErrno(t().mkdir('m/d', 0o755), 'ENOSPC');
      // Linux tmpfs charges every extra hard link too (shmem_link reserves an inode).
      await expectErrno(t().link('m/a', 'm/a2'), 'ENOSPC');
      const s = await t().statfs('m');
      expect([s.files, s.ffree]).toEqual([4, 0]);
      await t().unlink('m/c');
      await t().link('m/a', 'm/a2');
      await t().umount('m');
    });

    it('mode= sets the root directory mode', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await t().mountTmpfs('m', { data: 'mode=1777' });
      expect((await t().stat('m')).mode & 0o7777).toBe(0o1777);
      await t().umount('m');
    });

    it('remount read-only: existing files refuse writes with EROFS; busy writers make it EBUSY', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await t().mountTmpfs('m');
      await writeFile(t(), 'm/f', 'kept');
      const w = await t().open('m/f', C.O_WRONLY);
      await expectErrno(t().mountTmpfs('m', { remount: true, readonly: true }), 'EBUSY');
      await t().close(w);
      await t().mountTmpfs('m', { remount: true, readonly: true });
      expect(await readFile(t(), 'm/f')).toBe('kept');
      for (const [name, p] of [
        ['open O_WRONLY', t().open('m/f', C.O_WRONLY)],
        ['open O_RDWR|O_TRUNC', t().open('m/f', C.O_RDWR | C.O_TRUNC)],
        ['unlink', t().unlink('m/f')],
        ['rename', t().rename('m/f', 'm/g')],
        ['truncate', t().truncate('m/f', 0)],
        ['chmod', t().chmod('m/f', 0o600)],
        ['link', t().link('m/f', 'm/h')],
      ] as const) expect(`${name}: ${await errnoOf(p)}`).toBe(`${name}: EROFS`);
      // O_CREAT of an existing file opened read-only is fine; creating a new one is not.
      await t().close(await t().open('m/f', C.O_CREAT | C.O_RDONLY, 0o644));
      await expectErrno(t().open('m/new', C.O_CREAT | C.O_RDONLY, 0o644), 'EROFS');
      await expectErrno(t().mkdir('m/f', 0o755), 'EEXIST');
      await t().mountTmpfs('m', { remount: true });
      await writeFile(t(), 'm/f', 'writable again');
      await t().umount('m');
    });

    it('mount and umount need privilege (EPERM); bad targets and types have their own errno', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await writeFile(t(), 'file');
      await expectErrno(t().mountTmpfs('file'), 'ENOTDIR');
      await expectErrno(t().mountTmpfs('nope'), 'ENOENT');
      await expectErrno(t().mount('none', `${t().root}/m`, 'no-such-fs-type', 0, ''), 'ENODEV');
      need(ctx, t(), 'users');
      const u = await t().asUser(1001, 1001);
      await expectErrno(u.mountTmpfs('m'), 'EPERM');
      await t().mountTmpfs('m');
      await expectErrno(u.umount('m'), 'EPERM');
      await t().umount('m');
    });
  });
});
