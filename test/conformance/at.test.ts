/**
 * Conformance: the descriptor-relative calls — openat(2), mkdirat(2),
 * unlinkat(2) with AT_REMOVEDIR, renameat(2), linkat(2) with
 * AT_SYMLINK_FOLLOW, symlinkat(2), readlinkat(2), fstatat(2) with
 * AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH, faccessat(2), fchmodat(2),
 * fchownat(2), fchdir(2) — plus readv/writev(2), fdatasync(2) and flock(2).
 */
import { describe, expect, it } from 'vitest';
import { C } from './target.ts';
import { U1, G1, bytes, expectErrno, fileType, forTargets, need, readFile, text, writeFile } from './helpers.ts';

forTargets((t) => {
  describe('*at calls', () => {
    it('openat resolves relative to dirfd; absolute paths and AT_FDCWD ignore it', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'd/f', 'in d');
      await writeFile(t(), 'top', 'at top');
      const dfd = await t().open('d', C.O_RDONLY | C.O_DIRECTORY);
      const fd = await t().openat(dfd, 'f', C.O_RDONLY);
      expect(text(await t().read(fd, 10))).toBe('in d');
      await t().close(fd);
      const up = await t().openat(dfd, '../top', C.O_RDONLY);
      expect(text(await t().read(up, 10))).toBe('at top');
      await t().close(up);
      const abs = await t().openat(dfd, `${t().root}/top`, C.O_RDONLY);
      await t().close(abs);
      const cwd = await t().openat(C.AT_FDCWD, 'top', C.O_RDONLY);
      await t().close(cwd);
      const made = await t().openat(dfd, 'new', C.O_CREAT | C.O_WRONLY, 0o600);
      await t().write(made, 'x');
      await t().close(made);
      expect(await readFile(t(), 'd/new')).toBe('x');
      await t().close(dfd);
    });

    it('a dirfd that is not a directory is ENOTDIR; a bad one EBADF; an empty path ENOENT', async () => {
      await writeFile(t(), 'f', 'x');
      const ffd = await t().open('f', C.O_RDONLY);
      await expectErrno(t().openat(ffd, 'x', C.O_RDONLY), 'ENOTDIR');
      await expectErrno(t().mkdirat(ffd, 'x', 0o755), 'ENOTDIR');
      await expectErrno(t().fstatat(ffd, 'x', 0), 'ENOTDIR');
      await expectErrno(t().openat(999, 'x', C.O_RDONLY), 'EBADF');
      await expectErrno(t().unlinkat(999, 'x', 0), 'EBADF');
      await expectErrno(t().openat(C.AT_FDCWD, '', C.O_RDONLY), 'ENOENT');
      // An absolute path never looks at dirfd, even a bad one.
      expect(fileType((await t().fstatat(999, `${t().root}/f`, 0)).mode)).toBe(C.S_IFREG);
      await t().close(ffd);
    });

    it('mkdirat, unlinkat (AT_REMOVEDIR picks rmdir semantics), renameat, symlinkat, readlinkat', async () => {
      await t().mkdir('a', 0o755);
      await t().mkdir('b', 0o755);
      const a = await t().open('a', C.O_RDONLY | C.O_DIRECTORY);
      const b = await t().open('b', C.O_RDONLY | C.O_DIRECTORY);
      await t().mkdirat(a, 'sub', 0o755);
      await writeFile(t(), 'a/f', 'moved');
      await t().renameat(a, 'f', b, 'g');
      expect(await readFile(t(), 'b/g')).toBe('moved');
      await t().symlinkat('g', b, 'l');
      expect(await t().readlinkat(b, 'l')).toBe('g');
      await expectErrno(t().unlinkat(a, 'sub', 0), 'EISDIR');
      await expectErrno(t().unlinkat(b, 'g', C.AT_REMOVEDIR), 'ENOTDIR');
      await expectErrno(t().unlinkat(a, 'sub', 0x1), 'EINVAL');
      await t().unlinkat(a, 'sub', C.AT_REMOVEDIR);
      await t().unlinkat(b, 'l', 0);
      expect(await t().readdir('a')).toEqual([]);
      expect(await t().readdir('b')).toEqual(['g']);
      await t().close(a);
      await t().close(b);
    });

    it('linkat links the symlink itself, or its target with AT_SYMLINK_FOLLOW', async () => {
      await writeFile(t(), 'f', 'x');
      await t().symlink('f', 'l');
      await t().linkat(C.AT_FDCWD, 'l', C.AT_FDCWD, 'hl', 0);
      expect(fileType((await t().lstat('hl')).mode)).toBe(C.S_IFLNK);
      await t().linkat(C.AT_FDCWD, 'l', C.AT_FDCWD, 'hf', C.AT_SYMLINK_FOLLOW);
      expect(fileType((await t().lstat('hf')).mode)).toBe(C.S_IFREG);
      expect((await t().stat('f')).nlink).toBe(2);
      await expectErrno(t().linkat(C.AT_FDCWD, 'f', C.AT_FDCWD, 'x', 0x8000), 'EINVAL');
    });

    it('fstatat: AT_SYMLINK_NOFOLLOW stats the link; AT_EMPTY_PATH stats dirfd itself', async () => {
      await t().mkdir('d', 0o755);
      await t().symlink('..', 'd/up');
      const dfd = await t().open('d', C.O_RDONLY | C.O_DIRECTORY);
      expect(fileType((await t().fstatat(dfd, 'up', C.AT_SYMLINK_NOFOLLOW)).mode)).toBe(C.S_IFLNK);
      expect((await t().fstatat(dfd, 'up', 0)).ino).toBe((await t().stat('.')).ino);
      expect((await t().fstatat(dfd, '', C.AT_EMPTY_PATH)).ino).toBe((await t().stat('d')).ino);
      await expectErrno(t().fstatat(dfd, '', 0), 'ENOENT');
      await expectErrno(t().fstatat(dfd, 'up', 0x2), 'EINVAL');
      await t().close(dfd);
    });

    it('faccessat, fchmodat and fchownat (AT_SYMLINK_NOFOLLOW changes the link)', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'd/f', 'x');
      await t().symlink('f', 'd/l');
      const dfd = await t().open('d', C.O_RDONLY | C.O_DIRECTORY);
      await t().faccessat(dfd, 'f', C.R_OK | C.W_OK, 0);
      await t().fchmodat(dfd, 'f', 0o600);
      expect((await t().stat('d/f')).mode & 0o7777).toBe(0o600);
      await t().fchownat(dfd, 'l', U1, G1, C.AT_SYMLINK_NOFOLLOW);
      expect([(await t().lstat('d/l')).uid, (await t().stat('d/f')).uid]).toEqual([U1, 0]);
      await t().fchownat(dfd, 'l', U1, G1, 0);
      expect((await t().stat('d/f')).uid).toBe(U1);
      await expectErrno(t().faccessat(dfd, 'nope', C.F_OK, 0), 'ENOENT');
      await t().close(dfd);
    });

    it('faccessat AT_EACCESS and plain access agree for a process whose real and effective ids match', async (ctx) => {
      need(ctx, t(), 'users');
      await writeFile(t(), 'f', 'x');
      await t().chmod('f', 0o640);
      const u = await t().asUser(U1, G1);
      await expectErrno(u.faccessat(C.AT_FDCWD, 'f', C.R_OK, C.AT_EACCESS), 'EACCES');
      await expectErrno(u.faccessat(C.AT_FDCWD, 'f', C.R_OK, 0), 'EACCES');
      await u.faccessat(C.AT_FDCWD, 'f', C.F_OK, C.AT_EACCESS);
    });
  });

  describe('fchdir', () => {
    it('fchdir makes a directory descriptor the cwd; ENOTDIR for a file; EBADF for a bad fd', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'd/f', 'here');
      await writeFile(t(), 'g', 'x');
      const dfd = await t().open('d', C.O_RDONLY | C.O_DIRECTORY);
      const gfd = await t().open('g', C.O_RDONLY);
      await t().fchdir(dfd);
      expect(await readFile(t(), 'f')).toBe('here');
      expect(await t().getcwd()).toBe(`${t().root}/d`);
      await expectErrno(t().fchdir(gfd), 'ENOTDIR');
      await expectErrno(t().fchdir(999), 'EBADF');
      expect(await t().getcwd()).toBe(`${t().root}/d`);
      await t().close(dfd);
      await t().close(gfd);
    });
  });

  describe('vectored I/O, sync, flock', () => {
    it('writev gathers and readv scatters in order', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      expect(await t().writev(fd, ['abc', bytes(''), 'defg', bytes('h')])).toBe(8);
      await t().lseek(fd, 0, C.SEEK_SET);
      const parts = await t().readv(fd, [2, 0, 3, 10]);
      expect(parts.map(text)).toEqual(['ab', '', 'cde', 'fgh']);
      await t().fsync(fd);
      await t().fdatasync(fd);
      await t().close(fd);
      const ro = await t().open('f', C.O_RDONLY);
      await expectErrno(t().writev(ro, ['x']), 'EBADF');
      await t().close(ro);
    });

    it('flock: exclusive locks conflict between open file descriptions; shared locks do not', async () => {
      await writeFile(t(), 'f', 'x');
      const a = await t().open('f', C.O_RDONLY);
      const b = await t().open('f', C.O_RDONLY);
      await t().flock(a, C.LOCK_EX);
      await expectErrno(t().flock(b, C.LOCK_EX | C.LOCK_NB), 'EAGAIN');
      await expectErrno(t().flock(b, C.LOCK_SH | C.LOCK_NB), 'EAGAIN');
      await t().flock(a, C.LOCK_UN);
      await t().flock(a, C.LOCK_SH);
      await t().flock(b, C.LOCK_SH | C.LOCK_NB);
      await expectErrno(t().flock(b, C.LOCK_EX | C.LOCK_NB), 'EAGAIN');
      await t().flock(a, C.LOCK_UN);
      // Converting one's own shared lock to exclusive works once alone.
      await t().flock(b, C.LOCK_EX | C.LOCK_NB);
      await expectErrno(t().flock(a, 0x40), 'EINVAL');
      await expectErrno(t().flock(999, C.LOCK_SH), 'EBADF');
      await t().close(a);
      // Closing the last descriptor of b's open file description drops its lock.
      await t().close(b);
      const c = await t().open('f', C.O_RDONLY);
      await t().flock(c, C.LOCK_EX | C.LOCK_NB);
      await t().close(c);
    });
  });
});
