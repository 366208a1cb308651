/**
 * Conformance: open(2) flags, read/write/pread/pwrite, lseek, truncation,
 * sparse files and EBADF — open(2), read(2), write(2), pread(2), lseek(2),
 * truncate(2), close(2) as Linux implements them. Runs on every target.
 */
import { describe, expect, it } from 'vitest';
import { C } from './target.ts';
import { bytes, expectErrno, fileType, forTargets, need, perms, readFile, text, writeFile } from './helpers.ts';

forTargets((t) => {
  describe('open', () => {
    it('O_CREAT makes an empty regular file with mode & ~umask, owned by the caller', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_WRONLY, 0o666);
      const st = await t().fstat(fd);
      await t().close(fd);
      expect(fileType(st.mode)).toBe(C.S_IFREG);
      expect(perms(st.mode)).toBe(0o644);
      expect(st.size).toBe(0);
      expect(st.nlink).toBe(1);
      expect(st.uid).toBe(0);
      expect(st.gid).toBe(0);
    });

    it('without O_CREAT a missing file is ENOENT; a missing directory component too', async () => {
      await expectErrno(t().open('nope', C.O_RDONLY), 'ENOENT');
      await expectErrno(t().open('nodir/f', C.O_CREAT | C.O_WRONLY, 0o644), 'ENOENT');
    });

    it('a regular file as a directory component is ENOTDIR', async () => {
      await writeFile(t(), 'f', 'x');
      await expectErrno(t().open('f/x', C.O_RDONLY), 'ENOTDIR');
      await expectErrno(t().open('f/x', C.O_CREAT | C.O_WRONLY, 0o644), 'ENOTDIR');
    });

    it('O_CREAT|O_EXCL fails with EEXIST on a file, a directory and a dangling symlink', async () => {
      await writeFile(t(), 'f');
      await t().mkdir('d', 0o755);
      await t().symlink('missing', 'dangling');
      for (const p of ['f', 'd', 'dangling']) await expectErrno(t().open(p, C.O_CREAT | C.O_EXCL | C.O_WRONLY, 0o644), 'EEXIST');
      await expectErrno(t().stat('missing'), 'ENOENT');
    });

    it('O_CREAT through a dangling symlink creates its target', async () => {
      await t().symlink('target', 'ln');
      const fd = await t().open('ln', C.O_CREAT | C.O_WRONLY, 0o600);
      await t().write(fd, 'via link');
      await t().close(fd);
      expect(await readFile(t(), 'target')).toBe('via link');
      expect(fileType((await t().lstat('ln')).mode)).toBe(C.S_IFLNK);
    });

    it('opening a directory for writing is EISDIR; O_CREAT on a directory is EISDIR; O_RDONLY works', async () => {
      await t().mkdir('d', 0o755);
      await expectErrno(t().open('d', C.O_WRONLY), 'EISDIR');
      await expectErrno(t().open('d', C.O_RDWR), 'EISDIR');
      await expectErrno(t().open('d', C.O_CREAT | C.O_WRONLY, 0o644), 'EISDIR');
      await expectErrno(t().open('d', C.O_CREAT | C.O_RDONLY, 0o644), 'EISDIR');
      const fd = await t().open('d', C.O_RDONLY);
      expect(fileType((await t().fstat(fd)).mode)).toBe(C.S_IFDIR);
      await t().close(fd);
    });

    it('O_DIRECTORY: ENOTDIR on a file, follows a symlink to a directory', async () => {
      await writeFile(t(), 'f');
      await t().mkdir('d', 0o755);
      await t().symlink('d', 'ld');
      await expectErrno(t().open('f', C.O_RDONLY | C.O_DIRECTORY), 'ENOTDIR');
      const fd = await t().open('ld', C.O_RDONLY | C.O_DIRECTORY);
      await t().close(fd);
    });

    it('O_NOFOLLOW: ELOOP on a final symlink, symlinks earlier in the path are followed', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'd/f', 'x');
      await t().symlink('d/f', 'lf');
      await t().symlink('d', 'ld');
      await expectErrno(t().open('lf', C.O_RDONLY | C.O_NOFOLLOW), 'ELOOP');
      await expectErrno(t().open('lf', C.O_WRONLY | C.O_CREAT | C.O_NOFOLLOW, 0o644), 'ELOOP');
      const fd = await t().open('ld/f', C.O_RDONLY | C.O_NOFOLLOW);
      await t().close(fd);
    });

    it('O_TRUNC empties an existing file, also with O_RDONLY (Linux)', async () => {
      await writeFile(t(), 'f', 'hello');
      await t().close(await t().open('f', C.O_WRONLY | C.O_TRUNC));
      expect((await t().stat('f')).size).toBe(0);
      await writeFile(t(), 'g', 'hello');
      await t().close(await t().open('g', C.O_RDONLY | C.O_TRUNC));
      expect((await t().stat('g')).size).toBe(0);
    });

    it('O_APPEND writes at the end whatever the offset; pwrite on O_APPEND appends too (Linux)', async () => {
      await writeFile(t(), 'f', 'abc');
      const fd = await t().open('f', C.O_WRONLY | C.O_APPEND);
      await t().lseek(fd, 0, C.SEEK_SET);
      await t().write(fd, 'de');
      expect(await t().lseek(fd, 0, C.SEEK_CUR)).toBe(5);
      await t().pwrite(fd, 'f', 0);
      await t().close(fd);
      expect(await readFile(t(), 'f')).toBe('abcdef');
    });

    it('the mode of O_CREAT is ignored for an existing file', async () => {
      await writeFile(t(), 'f', '', 0o600);
      await t().close(await t().open('f', C.O_CREAT | C.O_WRONLY, 0o777));
      expect(perms((await t().stat('f')).mode)).toBe(0o600);
    });

    it('umask applies to O_CREAT and umask() returns the previous mask', async () => {
      expect(await t().umask(0o027)).toBe(0o022);
      await t().close(await t().open('f', C.O_CREAT | C.O_WRONLY, 0o777));
      expect(perms((await t().stat('f')).mode)).toBe(0o750);
      expect(await t().umask(0)).toBe(0o027);
      await t().close(await t().open('g', C.O_CREAT | C.O_WRONLY, 0o4777));
      expect(perms((await t().stat('g')).mode)).toBe(0o4777);
    });
  });

  describe('O_PATH and flag combinations', () => {
    it('O_PATH gives a descriptor for fstat and *at use only: read, write, fchmod are EBADF', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'd/f', 'x');
      const fd = await t().open('d/f', C.O_PATH);
      expect(fileType((await t().fstat(fd)).mode)).toBe(C.S_IFREG);
      await expectErrno(t().read(fd, 1), 'EBADF');
      await expectErrno(t().write(fd, 'y'), 'EBADF');
      await expectErrno(t().fchmod(fd, 0o600), 'EBADF');
      await expectErrno(t().fchown(fd, 0, 0), 'EBADF');
      await expectErrno(t().ftruncate(fd, 0), 'EBADF');
      await t().close(fd);
      const dfd = await t().open('d', C.O_PATH | C.O_DIRECTORY);
      const inner = await t().openat(dfd, 'f', C.O_RDONLY);
      expect(text(await t().read(inner, 5))).toBe('x');
      await t().close(inner);
      await t().close(dfd);
    });

    it('O_PATH|O_NOFOLLOW opens the symlink itself', async () => {
      await writeFile(t(), 'f', 'x');
      await t().symlink('f', 'l');
      const fd = await t().open('l', C.O_PATH | C.O_NOFOLLOW);
      expect(fileType((await t().fstat(fd)).mode)).toBe(C.S_IFLNK);
      await t().close(fd);
    });

    it('O_PATH needs no read permission on the file, only search on the way', async (ctx) => {
      need(ctx, t(), 'users');
      await writeFile(t(), 'secret', 'x');
      await t().chmod('secret', 0o000);
      const u = await t().asUser(1001, 1001);
      await expectErrno(u.open('secret', C.O_RDONLY), 'EACCES');
      const fd = await u.open('secret', C.O_PATH);
      expect((await u.fstat(fd)).size).toBe(1);
      await u.close(fd);
    });

    it('access mode 3 (Linux): read and write permission are checked; the descriptor can do neither', async (ctx) => {
      await writeFile(t(), 'f', 'data');
      const fd = await t().open('f', C.O_ACCMODE);
      await expectErrno(t().read(fd, 1), 'EBADF');
      await expectErrno(t().write(fd, 'x'), 'EBADF');
      expect((await t().fstat(fd)).size).toBe(4);
      await t().close(fd);
      expect(await readFile(t(), 'f')).toBe('data');
      await t().mkdir('d', 0o755);
      await expectErrno(t().open('d', C.O_ACCMODE), 'EISDIR');
      await t().mkfifo('p', 0o666);
      await expectErrno(t().open('p', C.O_ACCMODE | C.O_NONBLOCK), 'EINVAL'); // fifo_open: neither reader nor writer
      need(ctx, t(), 'users');
      await t().chmod('f', 0o644);
      const u = await t().asUser(1001, 1001);
      await expectErrno(u.open('f', C.O_ACCMODE), 'EACCES'); // readable, but not writable, by the user
    });

    it('O_CREAT|O_DIRECTORY is EINVAL (Linux 6.4+)', async () => {
      await expectErrno(t().open('nd', C.O_CREAT | C.O_DIRECTORY | C.O_RDONLY, 0o755), 'EINVAL');
      await expectErrno(t().stat('nd'), 'ENOENT');
    });

    it('offsets beyond 4 GiB work (sparse)', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      const big = 2 ** 32 + 5;
      expect(await t().pwrite(fd, 'far', big)).toBe(3);
      expect((await t().fstat(fd)).size).toBe(big + 3);
      expect(text(await t().pread(fd, 10, big))).toBe('far');
      expect(await t().lseek(fd, 0, C.SEEK_END)).toBe(big + 3);
      await t().ftruncate(fd, 2 ** 33);
      expect((await t().fstat(fd)).size).toBe(2 ** 33);
      await t().close(fd);
    });
  });

  describe('read and write', () => {
    it('write then read back; the offset advances; read at EOF returns 0 bytes', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      expect(await t().write(fd, 'hello world')).toBe(11);
      expect(await t().lseek(fd, 0, C.SEEK_CUR)).toBe(11);
      expect((await t().read(fd, 10)).length).toBe(0);
      expect(await t().lseek(fd, 0, C.SEEK_SET)).toBe(0);
      expect(text(await t().read(fd, 5))).toBe('hello');
      expect(text(await t().read(fd, 100))).toBe(' world');
      expect((await t().read(fd, 100)).length).toBe(0);
      expect(await t().write(fd, new Uint8Array(0))).toBe(0);
      await t().close(fd);
      expect((await t().stat('f')).size).toBe(11);
    });

    it('read on O_WRONLY and write on O_RDONLY descriptors are EBADF', async () => {
      await writeFile(t(), 'f', 'x');
      const w = await t().open('f', C.O_WRONLY);
      const r = await t().open('f', C.O_RDONLY);
      await expectErrno(t().read(w, 1), 'EBADF');
      await expectErrno(t().write(r, 'y'), 'EBADF');
      await expectErrno(t().pread(w, 1, 0), 'EBADF');
      await expectErrno(t().pwrite(r, 'y', 0), 'EBADF');
      await t().close(w);
      await t().close(r);
    });

    it('read on a directory is EISDIR', async () => {
      await t().mkdir('d', 0o755);
      const fd = await t().open('d', C.O_RDONLY);
      await expectErrno(t().read(fd, 10), 'EISDIR');
      await t().close(fd);
    });

    it('pread and pwrite use their own offset and leave the file offset alone', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      await t().write(fd, '0123456789');
      await t().lseek(fd, 2, C.SEEK_SET);
      expect(await t().pwrite(fd, 'AB', 5)).toBe(2);
      expect(text(await t().pread(fd, 4, 4))).toBe('4AB7');
      expect(text(await t().pread(fd, 4, 8))).toBe('89');
      expect((await t().pread(fd, 4, 100)).length).toBe(0);
      expect(await t().lseek(fd, 0, C.SEEK_CUR)).toBe(2);
      await t().close(fd);
    });

    it('pread and pwrite with a negative offset are EINVAL', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      await expectErrno(t().pread(fd, 1, -1), 'EINVAL');
      await expectErrno(t().pwrite(fd, 'x', -1), 'EINVAL');
      await t().close(fd);
    });
  });

  describe('lseek', () => {
    it('SEEK_SET, SEEK_CUR and SEEK_END; past the end is allowed; negative results are EINVAL', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      await t().write(fd, 'abcdef');
      expect(await t().lseek(fd, 2, C.SEEK_SET)).toBe(2);
      expect(await t().lseek(fd, 3, C.SEEK_CUR)).toBe(5);
      expect(await t().lseek(fd, -1, C.SEEK_CUR)).toBe(4);
      expect(await t().lseek(fd, 0, C.SEEK_END)).toBe(6);
      expect(await t().lseek(fd, -6, C.SEEK_END)).toBe(0);
      expect(await t().lseek(fd, 100, C.SEEK_END)).toBe(106);
      await expectErrno(t().lseek(fd, -1, C.SEEK_SET), 'EINVAL');
      await expectErrno(t().lseek(fd, -7, C.SEEK_END), 'EINVAL');
      await expectErrno(t().lseek(fd, 0, 99), 'EINVAL');
      // A failed lseek leaves the offset alone.
      expect(await t().lseek(fd, 0, C.SEEK_CUR)).toBe(106);
      await t().close(fd);
      expect((await t().stat('f')).size).toBe(6);
    });

    it('lseek on a FIFO is ESPIPE', async () => {
      await t().mkfifo('p', 0o644);
      const fd = await t().open('p', C.O_RDONLY | C.O_NONBLOCK);
      await expectErrno(t().lseek(fd, 0, C.SEEK_CUR), 'ESPIPE');
      await t().close(fd);
    });
  });

  describe('fallocate', () => {
    it('mode 0 extends the size with zeros; KEEP_SIZE allocates past the end without changing it', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      await t().write(fd, 'x'.repeat(10000));
      await t().fallocate(fd, 0, 0, 20000);
      expect((await t().fstat(fd)).size).toBe(20000);
      expect([...await t().pread(fd, 4, 9998)]).toEqual([120, 120, 0, 0]);
      await t().fallocate(fd, 0, 100, 50); // inside the file: nothing changes
      expect((await t().fstat(fd)).size).toBe(20000);
      await t().fallocate(fd, C.FALLOC_FL_KEEP_SIZE, 0, 200000);
      expect((await t().fstat(fd)).size).toBe(20000);
      await t().ftruncate(fd, 150000); // what KEEP_SIZE allocated reads as zeros once inside
      expect([...await t().pread(fd, 3, 149997)]).toEqual([0, 0, 0]);
      expect(await readFile(t(), 'f')).toBe('x'.repeat(10000) + '\0'.repeat(140000));
      await t().close(fd);
    });

    it('PUNCH_HOLE|KEEP_SIZE zeroes the range and keeps the size; unsupported modes are EOPNOTSUPP', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      await t().write(fd, 'y'.repeat(300000));
      await t().fallocate(fd, C.FALLOC_FL_PUNCH_HOLE | C.FALLOC_FL_KEEP_SIZE, 100, 200000);
      expect((await t().fstat(fd)).size).toBe(300000);
      expect([...await t().pread(fd, 4, 98)]).toEqual([121, 121, 0, 0]);
      expect([...await t().pread(fd, 4, 200098)]).toEqual([0, 0, 121, 121]);
      await t().fallocate(fd, C.FALLOC_FL_PUNCH_HOLE | C.FALLOC_FL_KEEP_SIZE, 400000, 100); // past the end: nothing
      expect((await t().fstat(fd)).size).toBe(300000);
      await expectErrno(t().fallocate(fd, C.FALLOC_FL_PUNCH_HOLE, 0, 10), 'EOPNOTSUPP'); // punch needs KEEP_SIZE
      await expectErrno(t().fallocate(fd, C.FALLOC_FL_ZERO_RANGE, 0, 10), 'EOPNOTSUPP'); // tmpfs has no zero range
      await expectErrno(t().fallocate(fd, 0x400, 0, 10), 'EOPNOTSUPP'); // no such mode
      await t().close(fd);
    });

    it('EINVAL for a length ≤ 0 or a negative offset; EBADF without write access; ESPIPE on a FIFO', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      await expectErrno(t().fallocate(fd, 0, 0, 0), 'EINVAL');
      await expectErrno(t().fallocate(fd, 0, -1, 10), 'EINVAL');
      await t().close(fd);
      const ro = await t().open('f', C.O_RDONLY);
      await expectErrno(t().fallocate(ro, 0, 0, 10), 'EBADF');
      await t().close(ro);
      await t().mkfifo('p', 0o644);
      const pfd = await t().open('p', C.O_RDWR);
      await expectErrno(t().fallocate(pfd, 0, 0, 10), 'ESPIPE');
      await t().close(pfd);
      expect((await t().stat('f')).size).toBe(0);
    });

    it('a size-limited tmpfs refuses what it cannot hold with ENOSPC and changes nothing', async (ctx) => {
      need(ctx, t(), 'mount');
      await t().mkdir('m', 0o755);
      await t().mountTmpfs('m', { data: 'size=256k' });
      const fd = await t().open('m/f', C.O_CREAT | C.O_RDWR, 0o644);
      await expectErrno(t().fallocate(fd, 0, 0, 4 << 20), 'ENOSPC');
      await expectErrno(t().fallocate(fd, 0, 0, 320 << 10), 'ENOSPC'); // just over the limit
      expect((await t().fstat(fd)).size).toBe(0);
      await t().fallocate(fd, 0, 0, 64 << 10);
      expect((await t().fstat(fd)).size).toBe(64 << 10);
      await t().close(fd);
      await t().umount('m');
    });

    it('by a non-root writer clears set-user-ID and set-group-ID (a group-executable file)', async (ctx) => {
      need(ctx, t(), 'users');
      await writeFile(t(), 'f', 'data');
      await t().chmod('f', 0o6777);
      const u = await t().asUser(1001, 1001);
      const fd = await u.open('f', C.O_RDWR);
      await u.fallocate(fd, 0, 0, 100);
      expect(perms((await u.fstat(fd)).mode)).toBe(0o777);
      await u.close(fd);
    });
  });

  describe('sparse files and truncation', () => {
    it('a write past the end leaves a hole that reads as zeros', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      await t().write(fd, 'ab');
      await t().lseek(fd, 1 << 20, C.SEEK_SET);
      await t().write(fd, 'z');
      expect((await t().fstat(fd)).size).toBe((1 << 20) + 1);
      const mid = await t().pread(fd, 8, 4096);
      expect([...mid]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      const edge = await t().pread(fd, 4, 0);
      expect([...edge]).toEqual([97, 98, 0, 0]);
      expect(text(await t().pread(fd, 10, 1 << 20))).toBe('z');
      await t().close(fd);
    });

    it('pwrite far past the end of an empty file', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      await t().pwrite(fd, 'q', 10_000_000);
      expect((await t().fstat(fd)).size).toBe(10_000_001);
      expect([...(await t().pread(fd, 3, 9_999_998))]).toEqual([0, 0, 113]);
      await t().close(fd);
    });

    it('ftruncate shrinks and grows; data beyond a shrink is gone', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      await t().write(fd, 'abcdefgh');
      await t().ftruncate(fd, 3);
      expect((await t().fstat(fd)).size).toBe(3);
      await t().ftruncate(fd, 6);
      expect([...(await t().pread(fd, 10, 0))]).toEqual([97, 98, 99, 0, 0, 0]);
      // The offset is not moved by truncation.
      expect(await t().lseek(fd, 0, C.SEEK_CUR)).toBe(8);
      await t().close(fd);
    });

    it('truncate(2) by path; errors: negative EINVAL, directory EISDIR, missing ENOENT', async () => {
      await writeFile(t(), 'f', 'abcdef');
      await t().truncate('f', 2);
      expect(await readFile(t(), 'f')).toBe('ab');
      await t().truncate('f', 0);
      expect((await t().stat('f')).size).toBe(0);
      await expectErrno(t().truncate('f', -1), 'EINVAL');
      await t().mkdir('d', 0o755);
      await expectErrno(t().truncate('d', 0), 'EISDIR');
      await expectErrno(t().truncate('nope', 0), 'ENOENT');
    });

    it('ftruncate: negative length EINVAL, read-only descriptor EINVAL, directory EINVAL', async () => {
      await writeFile(t(), 'f', 'abc');
      const rw = await t().open('f', C.O_RDWR);
      await expectErrno(t().ftruncate(rw, -1), 'EINVAL');
      await t().close(rw);
      const ro = await t().open('f', C.O_RDONLY);
      await expectErrno(t().ftruncate(ro, 0), 'EINVAL');
      await t().close(ro);
      await t().mkdir('d', 0o755);
      const dfd = await t().open('d', C.O_RDONLY);
      await expectErrno(t().ftruncate(dfd, 0), 'EINVAL');
      await t().close(dfd);
    });
  });

  describe('EBADF', () => {
    it('every fd call on a closed or never-opened descriptor is EBADF', async () => {
      const fd = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      await t().close(fd);
      for (const bad of [fd, 999, -1]) {
        await expectErrno(t().close(bad), 'EBADF');
        await expectErrno(t().read(bad, 1), 'EBADF');
        await expectErrno(t().write(bad, 'x'), 'EBADF');
        await expectErrno(t().pread(bad, 1, 0), 'EBADF');
        await expectErrno(t().pwrite(bad, 'x', 0), 'EBADF');
        await expectErrno(t().lseek(bad, 0, C.SEEK_SET), 'EBADF');
        await expectErrno(t().fstat(bad), 'EBADF');
        await expectErrno(t().fchmod(bad, 0o600), 'EBADF');
        await expectErrno(t().fchown(bad, 0, 0), 'EBADF');
        await expectErrno(t().ftruncate(bad, 0), 'EBADF');
        await expectErrno(t().fsync(bad), 'EBADF');
        await expectErrno(t().futimens(bad, null), 'EBADF');
      }
    });
  });

  describe('unlinked but open', () => {
    it('an unlinked file stays readable and writable through its descriptor; fstat shows nlink 0', async () => {
      await writeFile(t(), 'f', 'keep');
      const fd = await t().open('f', C.O_RDWR);
      await t().unlink('f');
      await expectErrno(t().stat('f'), 'ENOENT');
      expect((await t().fstat(fd)).nlink).toBe(0);
      expect(text(await t().read(fd, 10))).toBe('keep');
      await t().write(fd, '!');
      expect(text(await t().pread(fd, 10, 0))).toBe('keep!');
      await t().close(fd);
    });
  });

  describe('descriptors of one file share data, not offsets', () => {
    it('two opens see each other\'s writes and keep separate offsets', async () => {
      const a = await t().open('f', C.O_CREAT | C.O_RDWR, 0o644);
      const b = await t().open('f', C.O_RDWR);
      await t().write(a, 'aaaa');
      expect(text(await t().read(b, 2))).toBe('aa');
      await t().write(b, 'BB');
      expect(await t().lseek(a, 0, C.SEEK_CUR)).toBe(4);
      expect(text(await t().pread(a, 4, 0))).toBe('aaBB');
      await t().close(a);
      await t().close(b);
    });
  });

  describe('special files', () => {
    it('mkfifo and mknod make FIFOs, regular files and sockets; devices carry rdev', async (ctx) => {
      await t().mkfifo('p', 0o640);
      expect(fileType((await t().stat('p')).mode)).toBe(C.S_IFIFO);
      expect(perms((await t().stat('p')).mode)).toBe(0o640);
      await t().mknod('r', C.S_IFREG | 0o600, 0);
      expect(fileType((await t().stat('r')).mode)).toBe(C.S_IFREG);
      await t().mknod('r0', 0o600, 0);
      expect(fileType((await t().stat('r0')).mode)).toBe(C.S_IFREG);
      await t().mknod('s', C.S_IFSOCK | 0o600, 0);
      expect(fileType((await t().stat('s')).mode)).toBe(C.S_IFSOCK);
      await expectErrno(t().mknod('p', C.S_IFIFO | 0o600, 0), 'EEXIST');
      await expectErrno(t().mknod('dd', C.S_IFDIR | 0o755, 0), 'EPERM');
      await expectErrno(t().mknod('bad', 0o170000 | 0o644, 0), 'EINVAL');
      need(ctx, t(), 'mknodDevices');
      const dev = (5 << 8) | 7;
      await t().mknod('c', C.S_IFCHR | 0o600, dev);
      await t().mknod('b', C.S_IFBLK | 0o600, dev);
      const c = await t().stat('c');
      expect(fileType(c.mode)).toBe(C.S_IFCHR);
      expect(c.rdev).toBe(dev);
      expect(fileType((await t().stat('b')).mode)).toBe(C.S_IFBLK);
      expect(c.size).toBe(0);
    });

    it('write on a FIFO opened read-only is EBADF; the FIFO has no size', async () => {
      await t().mkfifo('p', 0o644);
      const fd = await t().open('p', C.O_RDONLY | C.O_NONBLOCK);
      await expectErrno(t().write(fd, 'x'), 'EBADF');
      expect((await t().fstat(fd)).size).toBe(0);
      await t().close(fd);
    });
  });

  it('bytes survive a round trip unchanged (all 256 values)', async () => {
    const all = new Uint8Array(256 * 3);
    for (let i = 0; i < all.length; i++) all[i] = i & 0xff;
    await writeFile(t(), 'bin', all);
    const fd = await t().open('bin', C.O_RDONLY);
    const back = await t().read(fd, 1024);
    await t().close(fd);
    expect([...back]).toEqual([...all]);
    expect(bytes('é').length).toBe(2);
  });
});
