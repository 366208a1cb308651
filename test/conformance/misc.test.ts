/**
 * Conformance: creat(2), statx(2), fstatfs(2), sync(2)/syncfs(2),
 * pathconf(3), and FIFO open/read/write rules (fifo(7), open(2) ENXIO,
 * pipe(7) "I/O on pipes and FIFOs").
 */
import { describe, expect, it } from 'vitest';
import { C } from './target.ts';
import { expectErrno, fileType, forTargets, perms, text, writeFile } from './helpers.ts';

forTargets((t) => {
  describe('creat', () => {
    it('creates or truncates, opens write-only, applies the umask', async () => {
      await writeFile(t(), 'f', 'old contents');
      const fd = await t().creat('f', 0o600);
      expect((await t().fstat(fd)).size).toBe(0);
      await expectErrno(t().read(fd, 1), 'EBADF');
      await t().close(fd);
      const g = await t().creat('g', 0o777);
      await t().close(g);
      expect(perms((await t().stat('g')).mode)).toBe(0o755);
      expect(perms((await t().stat('f')).mode)).toBe(0o644);
      await t().mkdir('d', 0o755);
      await expectErrno(t().creat('d', 0o644), 'EISDIR');
      await expectErrno(t().creat('nodir/x', 0o644), 'ENOENT');
    });
  });

  describe('statx', () => {
    it('agrees with stat and reports a birth time no later than ctime', async () => {
      await writeFile(t(), 'f', 'hello');
      await t().symlink('f', 'l');
      const st = await t().stat('f');
      const sx = await t().statx(C.AT_FDCWD, 'f', 0, C.STATX_BASIC_STATS | C.STATX_BTIME);
      expect(sx.mask & C.STATX_BASIC_STATS).toBe(C.STATX_BASIC_STATS);
      expect([sx.mode, sx.nlink, sx.uid, sx.gid, sx.ino, sx.size]).toEqual([st.mode, st.nlink, st.uid, st.gid, st.ino, st.size]);
      expect([sx.atime, sx.mtime, sx.ctime]).toEqual([st.atime, st.mtime, st.ctime]);
      if (sx.mask & C.STATX_BTIME) {
        expect(sx.btime.sec * 1e9 + sx.btime.nsec).toBeLessThanOrEqual(st.ctime.sec * 1e9 + st.ctime.nsec);
      }
      expect(fileType((await t().statx(C.AT_FDCWD, 'l', C.AT_SYMLINK_NOFOLLOW, C.STATX_BASIC_STATS)).mode)).toBe(C.S_IFLNK);
      const fd = await t().open('f', C.O_RDONLY);
      expect((await t().statx(fd, '', C.AT_EMPTY_PATH, C.STATX_BASIC_STATS)).ino).toBe(st.ino);
      await t().close(fd);
    });

    it('errors: ENOENT, EINVAL for unknown flags or a reserved mask bit, ENOTDIR', async () => {
      await writeFile(t(), 'f', 'x');
      await expectErrno(t().statx(C.AT_FDCWD, 'nope', 0, C.STATX_BASIC_STATS), 'ENOENT');
      await expectErrno(t().statx(C.AT_FDCWD, 'f', 0x1, C.STATX_BASIC_STATS), 'EINVAL');
      await expectErrno(t().statx(C.AT_FDCWD, 'f', 0, 0x80000000), 'EINVAL');
      await expectErrno(t().statx(C.AT_FDCWD, 'f/x', 0, C.STATX_BASIC_STATS), 'ENOTDIR');
    });
  });

  describe('fstatfs, sync, syncfs, pathconf', () => {
    it('fstatfs agrees with statfs; EBADF for a bad fd', async () => {
      await writeFile(t(), 'f', 'x');
      const fd = await t().open('f', C.O_RDONLY);
      const a = await t().fstatfs(fd);
      const b = await t().statfs('f');
      expect([a.type, a.bsize, a.blocks]).toEqual([b.type, b.bsize, b.blocks]);
      await t().syncfs(fd);
      await t().close(fd);
      await t().sync();
      await expectErrno(t().fstatfs(fd), 'EBADF');
      await expectErrno(t().syncfs(fd), 'EBADF');
    });

    it('pathconf: NAME_MAX 255, PATH_MAX 4096, PIPE_BUF 4096; ENOENT for a missing path', async () => {
      expect(await t().pathconf('.', C._PC_NAME_MAX)).toBe(255);
      expect(await t().pathconf('.', C._PC_PATH_MAX)).toBe(4096);
      expect(await t().pathconf('.', C._PC_PIPE_BUF)).toBe(4096);
      await expectErrno(t().pathconf('nope', C._PC_NAME_MAX), 'ENOENT');
    });
  });

  describe('FIFOs', () => {
    it('O_WRONLY|O_NONBLOCK without a reader is ENXIO; with one, data flows in order', async () => {
      await t().mkfifo('p', 0o666);
      await expectErrno(t().open('p', C.O_WRONLY | C.O_NONBLOCK), 'ENXIO');
      const r = await t().open('p', C.O_RDONLY | C.O_NONBLOCK);
      // A reader with no writer ever: end of file.
      expect((await t().read(r, 10)).length).toBe(0);
      const w = await t().open('p', C.O_WRONLY | C.O_NONBLOCK);
      // A writer but no data: EAGAIN for a nonblocking reader.
      await expectErrno(t().read(r, 10), 'EAGAIN');
      expect(await t().write(w, 'abc')).toBe(3);
      expect(await t().write(w, 'def')).toBe(3);
      expect(text(await t().read(r, 4))).toBe('abcd');
      expect(text(await t().read(r, 10))).toBe('ef');
      await t().close(w);
      // All writers gone: end of file again.
      expect((await t().read(r, 10)).length).toBe(0);
      await t().close(r);
      // O_RDWR on a FIFO never blocks (Linux).
      const rw = await t().open('p', C.O_RDWR | C.O_NONBLOCK);
      await t().write(rw, 'x');
      expect(text(await t().read(rw, 10))).toBe('x');
      await t().close(rw);
      expect((await t().stat('p')).size).toBe(0);
    });
  });
});
