/**
 * Conformance: which of atime/mtime/ctime each call changes (POSIX.1-2017
 * per-function "shall mark for update" clauses, inode(7)), utimensat(2) with
 * nanoseconds, UTIME_NOW, UTIME_OMIT and AT_SYMLINK_NOFOLLOW.
 *
 * Never compares against wall time: `tick()` waits until the file system's
 * clock has passed every earlier timestamp, then the test compares each time
 * before and after the operation. atime is only asserted where Linux's
 * default relatime also updates it (atime not newer than mtime/ctime).
 */
import { describe, expect, it } from 'vitest';
import { C, type Target, type TStat } from './target.ts';
import { expectErrno, forTargets, tcmp, tick, writeFile } from './helpers.ts';

/** Which times grew between two stats: a subset of "amc", or "-". */
function grew(a: TStat, b: TStat): string {
  let s = '';
  for (const [k, f] of [['a', 'atime'], ['m', 'mtime'], ['c', 'ctime']] as const) {
    const d = tcmp(b[f], a[f]);
    if (d < 0) throw new Error(`${f} went backwards: ${JSON.stringify(a[f])} -> ${JSON.stringify(b[f])}`);
    if (d > 0) s += k;
  }
  return s === '' ? '-' : s;
}

/** Run op after a clock tick; report which times of each path (lstat) changed. */
async function changes(t: Target, paths: string[], op: () => Promise<unknown>, only = 'amc'): Promise<Record<string, string>> {
  await tick(t);
  const before = await Promise.all(paths.map((p) => t.lstat(p)));
  await op();
  const out: Record<string, string> = {};
  for (let i = 0; i < paths.length; i++) {
    const g = grew(before[i]!, await t.lstat(paths[i]!));
    out[paths[i]!] = [...g].filter((c) => only.includes(c)).join('') || '-';
  }
  return out;
}

forTargets((t) => {
  describe('data', () => {
    it('write changes mtime and ctime of the file only', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'd/f', 'x');
      const fd = await t().open('d/f', C.O_WRONLY);
      expect(await changes(t(), ['d/f', 'd'], () => t().write(fd, 'more'))).toEqual({ 'd/f': 'mc', d: '-' });
      expect(await changes(t(), ['d/f'], () => t().pwrite(fd, 'z', 100))).toEqual({ 'd/f': 'mc' });
      expect(await changes(t(), ['d/f'], () => t().write(fd, new Uint8Array(0)))).toEqual({ 'd/f': '-' });
      await t().close(fd);
    });

    it('read changes atime only (when atime is not newer than mtime)', async () => {
      await writeFile(t(), 'f', 'content');
      const fd = await t().open('f', C.O_RDONLY);
      expect(await changes(t(), ['f'], () => t().read(fd, 100))).toEqual({ f: 'a' });
      await t().close(fd);
    });

    it('truncate, ftruncate and O_TRUNC change mtime and ctime when the size changes', async () => {
      await writeFile(t(), 'f', 'abcdef');
      expect(await changes(t(), ['f'], () => t().truncate('f', 3))).toEqual({ f: 'mc' });
      const fd = await t().open('f', C.O_RDWR);
      expect(await changes(t(), ['f'], () => t().ftruncate(fd, 10))).toEqual({ f: 'mc' });
      await t().close(fd);
      expect(await changes(t(), ['f'], async () => t().close(await t().open('f', C.O_WRONLY | C.O_TRUNC)))).toEqual({ f: 'mc' });
    });

    it('fallocate changes mtime and ctime, whatever the mode and even inside the file', async () => {
      await writeFile(t(), 'f', 'abcdef');
      const fd = await t().open('f', C.O_RDWR);
      expect(await changes(t(), ['f'], () => t().fallocate(fd, 0, 0, 100))).toEqual({ f: 'mc' });
      expect(await changes(t(), ['f'], () => t().fallocate(fd, 0, 0, 10))).toEqual({ f: 'mc' });
      expect(await changes(t(), ['f'], () => t().fallocate(fd, C.FALLOC_FL_KEEP_SIZE, 0, 8192))).toEqual({ f: 'mc' });
      expect(await changes(t(), ['f'], () => t().fallocate(fd, C.FALLOC_FL_KEEP_SIZE | C.FALLOC_FL_PUNCH_HOLE, 1, 2))).toEqual({ f: 'mc' });
      await t().close(fd);
    });

    it('ftruncate and O_TRUNC change mtime and ctime even when the size stays; truncate of an empty file to 0 does not', async () => {
      // do_sys_ftruncate and handle_truncate pass ATTR_MTIME|ATTR_CTIME; truncate(2) passes no
      // times (an empty file: Linux tmpfs also stamps a file whose pages it truncates).
      await t().close(await t().open('e', C.O_WRONLY | C.O_CREAT, 0o644));
      const fd = await t().open('e', C.O_RDWR);
      expect(await changes(t(), ['e'], () => t().ftruncate(fd, 0), 'mc')).toEqual({ e: 'mc' });
      await t().close(fd);
      expect(await changes(t(), ['e'], () => t().truncate('e', 0), 'mc')).toEqual({ e: '-' });
      expect(await changes(t(), ['e'], async () => t().close(await t().open('e', C.O_WRONLY | C.O_TRUNC)), 'mc')).toEqual({ e: 'mc' });
    });

    it('stat, lstat, access and open for reading change nothing', async () => {
      await writeFile(t(), 'f', 'x');
      await t().symlink('f', 'l');
      expect(await changes(t(), ['f', 'l', '.'], async () => {
        await t().stat('f');
        await t().lstat('l');
        await t().access('f', C.R_OK);
        await t().close(await t().open('f', C.O_RDONLY));
      })).toEqual({ f: '-', l: '-', '.': '-' });
    });

    it('readlink, and following a link, read the link: its atime changes (touch_atime), nothing else', async () => {
      await writeFile(t(), 'f', 'x');
      await t().symlink('f', 'l');
      await t().symlink('f', 'l2');
      expect(await changes(t(), ['f', 'l'], () => t().readlink('l'))).toEqual({ f: '-', l: 'a' });
      expect(await changes(t(), ['f', 'l2'], () => t().stat('l2'))).toEqual({ f: '-', l2: 'a' });
    });
  });

  describe('metadata', () => {
    it('chmod and chown change ctime only', async () => {
      await writeFile(t(), 'f', 'x');
      expect(await changes(t(), ['f'], () => t().chmod('f', 0o600))).toEqual({ f: 'c' });
      expect(await changes(t(), ['f'], () => t().chown('f', 1001, 1001))).toEqual({ f: 'c' });
      const fd = await t().open('f', C.O_RDONLY);
      expect(await changes(t(), ['f'], () => t().fchmod(fd, 0o640))).toEqual({ f: 'c' });
      await t().close(fd);
    });

    it('utimensat sets atime and mtime to the nanosecond; ctime becomes now', async () => {
      await writeFile(t(), 'f', 'x');
      const a = { sec: 1_000_000_000, nsec: 123_456_789 };
      const m = { sec: 1_100_000_000, nsec: 987_654_321 };
      await tick(t());
      const before = await t().stat('f');
      await t().utimensat('f', [a, m]);
      const st = await t().stat('f');
      expect(tcmp(st.ctime, before.ctime)).toBeGreaterThan(0);
      expect(st.atime).toEqual(a);
      expect(st.mtime).toEqual(m);
    });

    it('UTIME_OMIT leaves a time alone; UTIME_NOW and a null times array set now', async () => {
      await writeFile(t(), 'f', 'x');
      const old = { sec: 1_000, nsec: 0 };
      await t().utimensat('f', [old, old]);
      await t().utimensat('f', ['omit', { sec: 2_000, nsec: 7 }]);
      let st = await t().stat('f');
      expect(st.atime).toEqual(old);
      expect(st.mtime).toEqual({ sec: 2_000, nsec: 7 });
      await t().utimensat('f', ['now', 'omit']);
      st = await t().stat('f');
      expect(tcmp(st.atime, st.ctime)).toBe(0);
      expect(st.mtime).toEqual({ sec: 2_000, nsec: 7 });
      await t().utimensat('f', null);
      st = await t().stat('f');
      expect(tcmp(st.mtime, st.ctime)).toBe(0);
      expect(tcmp(st.atime, st.ctime)).toBe(0);
    });

    it('futimens and utimensat(AT_SYMLINK_NOFOLLOW) hit the right inode', async () => {
      await writeFile(t(), 'f', 'x');
      await t().symlink('f', 'l');
      const fd = await t().open('f', C.O_RDONLY);
      await t().futimens(fd, [{ sec: 11, nsec: 1 }, { sec: 12, nsec: 2 }]);
      await t().close(fd);
      expect((await t().stat('f')).mtime).toEqual({ sec: 12, nsec: 2 });
      await t().utimensat('l', [{ sec: 21, nsec: 0 }, { sec: 22, nsec: 0 }], C.AT_SYMLINK_NOFOLLOW);
      expect((await t().lstat('l')).mtime).toEqual({ sec: 22, nsec: 0 });
      expect((await t().stat('f')).mtime).toEqual({ sec: 12, nsec: 2 });
      await t().utimensat('l', [{ sec: 31, nsec: 0 }, { sec: 32, nsec: 0 }]);
      expect((await t().stat('f')).mtime).toEqual({ sec: 32, nsec: 0 });
    });

    it('utimensat errors: EINVAL for an out-of-range nsec or bad flags, ENOENT', async () => {
      await writeFile(t(), 'f', 'x');
      await expectErrno(t().utimensat('f', [{ sec: 1, nsec: 1_000_000_000 }, 'omit']), 'EINVAL');
      await expectErrno(t().utimensat('f', [{ sec: 1, nsec: -1 }, 'omit']), 'EINVAL');
      await expectErrno(t().utimensat('f', null, 0x4000_0000), 'EINVAL');
      await expectErrno(t().utimensat('nope', null), 'ENOENT');
    });
  });

  describe('name space', () => {
    it('creating a file: the parent gets mtime and ctime; the new file has atime = mtime = ctime', async () => {
      await t().mkdir('d', 0o755);
      expect(await changes(t(), ['d'], () => writeFile(t(), 'd/f'))).toEqual({ d: 'mc' });
      const st = await t().stat('d/f');
      expect(tcmp(st.atime, st.mtime)).toBe(0);
      expect(tcmp(st.mtime, st.ctime)).toBe(0);
    });

    it('mkdir, rmdir, symlink, mkfifo change the parent\'s mtime and ctime', async () => {
      await t().mkdir('d', 0o755);
      expect(await changes(t(), ['d'], () => t().mkdir('d/s', 0o755))).toEqual({ d: 'mc' });
      const s = await t().stat('d/s');
      expect(tcmp(s.mtime, s.ctime)).toBe(0);
      expect(await changes(t(), ['d'], () => t().rmdir('d/s'))).toEqual({ d: 'mc' });
      expect(await changes(t(), ['d'], () => t().symlink('x', 'd/l'))).toEqual({ d: 'mc' });
      expect(await changes(t(), ['d'], () => t().mkfifo('d/p', 0o644))).toEqual({ d: 'mc' });
    });

    it('link: the file gets ctime, the directory mtime and ctime', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'f', 'x');
      expect(await changes(t(), ['f', 'd'], () => t().link('f', 'd/g'), 'mc')).toEqual({ f: 'c', d: 'mc' });
    });

    it('unlink of one of two links: the file gets ctime, the directory mtime and ctime', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'f', 'x');
      await t().link('f', 'd/g');
      expect(await changes(t(), ['f', 'd'], () => t().unlink('d/g'), 'mc')).toEqual({ f: 'c', d: 'mc' });
    });

    it('rename within a directory: the directory gets mtime and ctime, the moved inode ctime', async () => {
      await t().mkdir('a', 0o755);
      await writeFile(t(), 'a/f', 'x');
      await tick(t());
      const [a0, f0] = [await t().stat('a'), await t().stat('a/f')];
      await t().rename('a/f', 'a/g');
      const [a1, f1] = [await t().stat('a'), await t().stat('a/g')];
      expect([grew(a0, a1), grew(f0, f1).replace('a', '')]).toEqual(['mc', 'c']);
    });

    it('rename across directories touches both parents and the moved inode', async () => {
      await t().mkdir('a', 0o755);
      await t().mkdir('b', 0o755);
      await writeFile(t(), 'a/f', 'x');
      await tick(t());
      const [a0, b0, f0] = [await t().stat('a'), await t().stat('b'), await t().stat('a/f')];
      await t().rename('a/f', 'b/f');
      const [a1, b1, f1] = [await t().stat('a'), await t().stat('b'), await t().stat('b/f')];
      expect([grew(a0, a1), grew(b0, b1), grew(f0, f1).replace('a', '')]).toEqual(['mc', 'mc', 'c']);
    });
  });
});
