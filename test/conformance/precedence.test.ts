/**
 * Conformance: which errno wins when several apply. Linux checks in a fixed
 * order (fs/namei.c: do_linkat, do_renameat2, do_rmdir/do_unlinkat →
 * may_delete, open_last_lookups, build_open_flags); programs and tests that
 * branch on errno see that order. Each case here was first found by the
 * differential test (see KNOWN-FAILURES.md).
 */
import { describe, it } from 'vitest';
import { C } from './target.ts';
import { U1, G1, expectErrno, forTargets, need, writeFile } from './helpers.ts';

forTargets((t) => {
  describe('errno precedence', () => {
    it('link: EEXIST (new name) before EXDEV (across mounts)', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await t().mountTmpfs('m');
      await writeFile(t(), 'm/e');
      await writeFile(t(), 'f');
      await expectErrno(t().link('f', 'm/e'), 'EEXIST');
      await expectErrno(t().link('f', 'm/new'), 'EXDEV');
      // rename is the other way round: EXDEV first.
      await expectErrno(t().rename('f', 'm/e'), 'EXDEV');
      await t().umount('m');
    });

    it('link: protected_hardlinks EPERM before the directory permission EACCES', async (ctx) => {
      need(ctx, t(), 'users');
      await t().chmod('.', 0o777);
      await t().mkdir('a', 0o755);
      await writeFile(t(), 'rf', 'x');
      await t().chmod('rf', 0o600);
      const u = await t().asUser(U1, G1);
      await expectErrno(u.link('a', 'a/x'), 'EPERM');
      await expectErrno(u.link('rf', 'a/x'), 'EPERM');
      // A file the user owns, into a directory it cannot write: EACCES.
      await writeFile(u, 'mine', 'x');
      await expectErrno(u.link('mine', 'a/x'), 'EACCES');
    });

    it('rmdir/unlink: permission on the directory before the type of the victim', async (ctx) => {
      need(ctx, t(), 'users');
      await t().mkdir('a', 0o755);
      await writeFile(t(), 'a/f');
      await t().mkdir('a/d', 0o755);
      const u = await t().asUser(U1, G1);
      // FUSE without default_permissions: the host checks the victim's type before the server
      // is asked (test/README.md DIFFERENCES), so there the type's errno comes first.
      const first = t().caps.permissionBeforeVictimType;
      await expectErrno(u.rmdir('a/f'), first ? 'EACCES' : 'ENOTDIR');
      await expectErrno(u.unlink('a/d'), first ? 'EACCES' : 'EISDIR');
      // With the right type the permission answer holds everywhere.
      await expectErrno(u.unlink('a/f'), 'EACCES');
      await expectErrno(u.rmdir('a/d'), 'EACCES');
      // The sticky bit's EPERM also comes before the type.
      await t().mkdir('s', 0o755);
      await t().chmod('s', 0o1777);
      await writeFile(t(), 's/f');
      await t().mkdir('s/d', 0o755);
      await expectErrno(u.rmdir('s/f'), first ? 'EPERM' : 'ENOTDIR');
      await expectErrno(u.unlink('s/d'), first ? 'EPERM' : 'EISDIR');
      await expectErrno(u.unlink('s/f'), 'EPERM');
      await expectErrno(u.rmdir('s/d'), 'EPERM');
    });

    it('open: O_CREAT with a trailing slash is EISDIR without resolving the last component', async () => {
      await t().symlink('loop', 'loop');
      await t().symlink('nowhere', 'dangling');
      await writeFile(t(), 'f');
      for (const p of ['loop/', 'dangling/', 'f/', 'new/']) await expectErrno(t().open(p, C.O_CREAT | C.O_WRONLY, 0o644), 'EISDIR');
      // Without O_CREAT the walk decides.
      await expectErrno(t().open('loop/', C.O_RDONLY), 'ELOOP');
      await expectErrno(t().open('f/', C.O_RDONLY), 'ENOTDIR');
    });

    it('open: O_CREAT|O_DIRECTORY is EINVAL before anything else', async () => {
      await t().mkdir('d', 0o755);
      await expectErrno(t().open('d', C.O_CREAT | C.O_DIRECTORY, 0o755), 'EINVAL');
      await expectErrno(t().open('nodir/x', C.O_CREAT | C.O_DIRECTORY, 0o755), 'EINVAL');
    });

    it('renameat2: NOREPLACE EEXIST and EXCHANGE ENOENT before trailing-slash ENOTDIR', async (ctx) => {
      need(ctx, t(), 'renameat2');
      await writeFile(t(), 'b');
      await t().mkdir('a', 0o755);
      await expectErrno(t().renameat2('b', 'a/', C.RENAME_NOREPLACE), 'EEXIST');
      await expectErrno(t().renameat2('b/', 'a', C.RENAME_NOREPLACE), 'EEXIST');
      await expectErrno(t().renameat2('b', 'b/', C.RENAME_NOREPLACE), 'EEXIST');
      await expectErrno(t().renameat2('b/', 'missing', C.RENAME_EXCHANGE), 'ENOENT');
      await expectErrno(t().renameat2('b/', 'missing', 0), 'ENOTDIR');
      await expectErrno(t().rename('b', 'a/'), 'ENOTDIR');
    });

    it('mkdir/symlink/mknod of an existing name: EEXIST before EACCES and EROFS', async (ctx) => {
      need(ctx, t(), 'users');
      await t().mkdir('a', 0o755);
      await writeFile(t(), 'a/f');
      const u = await t().asUser(U1, G1);
      await expectErrno(u.mkdir('a/f', 0o755), 'EEXIST');
      await expectErrno(u.symlink('x', 'a/f'), 'EEXIST');
      await expectErrno(u.mkfifo('a/f', 0o644), 'EEXIST');
      await expectErrno(u.mkdir('a/new', 0o755), 'EACCES');
    });
  });
});
