/**
 * rename(2)/renameat2(2) corner cases, in the errno order Linux checks them.
 */
import { describe, expect, it } from 'vitest';
import { AT_FDCWD, O_RDONLY, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT } from '../kern/constants.ts';
import { expectCode, ls, readFile, simKernel, writeFile } from './testkit.ts';

describe('rename', () => {
  it('moves files and directories, replacing a file atomically and fixing ".." and link counts', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/a', 0o755);
      await s.mkdir('/b', 0o755);
      await s.mkdir('/a/sub', 0o755);
      await writeFile(s, '/a/f', 'new');
      await writeFile(s, '/b/f', 'old');
      await s.rename('/a/f', '/b/f');
      expect(await readFile(s, '/b/f')).toBe('new');
      await expectCode(s.stat('/a/f'), 'ENOENT');
      expect((await s.stat('/a')).nlink).toBe(3);
      await s.rename('/a/sub', '/b/sub');
      expect((await s.stat('/a')).nlink).toBe(2);
      expect((await s.stat('/b')).nlink).toBe(3);
      expect((await s.stat('/b/sub/..')).ino).toBe((await s.stat('/b')).ino);
    }));

  it('a directory into its own subtree is EINVAL; over a non-empty directory ENOTEMPTY; over an ancestor ENOTEMPTY', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/a', 0o755);
      await s.mkdir('/a/b', 0o755);
      await s.mkdir('/a/b/c', 0o755);
      await expectCode(s.rename('/a', '/a/b/c/d'), 'EINVAL');
      await expectCode(s.rename('/a', '/a/b'), 'EINVAL');
      await s.mkdir('/full', 0o755);
      await writeFile(s, '/full/x');
      await s.mkdir('/empty', 0o755);
      await expectCode(s.rename('/empty', '/full'), 'ENOTEMPTY');
      await expectCode(s.rename('/a/b/c', '/a'), 'ENOTEMPTY');
      await s.rename('/full', '/empty');
      expect(await ls(s, '/empty')).toEqual(['x']);
      await expectCode(s.stat('/full'), 'ENOENT');
    }));

  it('directory over file ENOTDIR, file over directory EISDIR; trailing slash on a file ENOTDIR', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      await writeFile(s, '/f');
      await expectCode(s.rename('/d', '/f'), 'ENOTDIR');
      await expectCode(s.rename('/f', '/d'), 'EISDIR');
      await expectCode(s.rename('/f/', '/g'), 'ENOTDIR');
      await expectCode(s.rename('/f', '/g/'), 'ENOTDIR');
      await s.rename('/d/', '/e/');
      expect((await s.stat('/e')).nlink).toBe(2);
    }));

  it('the same inode under both names (hard links) is a no-op: both names stay', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'x');
      await s.link('/f', '/g');
      await s.rename('/f', '/g');
      expect(await ls(s, '/')).toEqual(['f', 'g']);
      expect((await s.stat('/f')).nlink).toBe(2);
      await s.rename('/f', '/f');
      expect(await ls(s, '/')).toEqual(['f', 'g']);
    }));

  it('".", ".." and "/" are EBUSY; a missing source ENOENT; a missing target directory ENOENT', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      await expectCode(s.rename('/d/.', '/x'), 'EBUSY');
      await expectCode(s.rename('/d/..', '/x'), 'EBUSY');
      await expectCode(s.rename('/', '/x'), 'EBUSY');
      await expectCode(s.rename('/d', '/d/.'), 'EBUSY');
      await expectCode(s.rename('/nope', '/x'), 'ENOENT');
      await expectCode(s.rename('/d', '/nope/x'), 'ENOENT');
    }));

  it('RENAME_NOREPLACE: EEXIST when the target exists; RENAME_EXCHANGE swaps, ENOENT without a target', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/a', 'A');
      await writeFile(s, '/b', 'B');
      await s.mkdir('/d', 0o755);
      await expectCode(s.renameat2(AT_FDCWD, '/a', AT_FDCWD, '/b', RENAME_NOREPLACE), 'EEXIST');
      await s.renameat2(AT_FDCWD, '/a', AT_FDCWD, '/c', RENAME_NOREPLACE);
      await s.renameat2(AT_FDCWD, '/c', AT_FDCWD, '/b', RENAME_EXCHANGE);
      expect(await readFile(s, '/b')).toBe('A');
      expect(await readFile(s, '/c')).toBe('B');
      // Exchange a file with a directory in another directory: link counts follow.
      await s.mkdir('/e', 0o755);
      await s.mkdir('/e/sub', 0o755);
      await s.renameat2(AT_FDCWD, '/c', AT_FDCWD, '/e/sub', RENAME_EXCHANGE);
      expect((await s.stat('/e')).nlink).toBe(2);
      expect((await s.stat('/c')).nlink).toBe(2); // the directory moved to /c
      expect(await readFile(s, '/e/sub')).toBe('B');
      await expectCode(s.renameat2(AT_FDCWD, '/b', AT_FDCWD, '/zz', RENAME_EXCHANGE), 'ENOENT');
      await expectCode(s.renameat2(AT_FDCWD, '/b', AT_FDCWD, '/c', RENAME_EXCHANGE | RENAME_NOREPLACE), 'EINVAL');
      await expectCode(s.renameat2(AT_FDCWD, '/b', AT_FDCWD, '/c', RENAME_WHITEOUT), 'EINVAL');
      await expectCode(s.renameat2(AT_FDCWD, '/e', AT_FDCWD, '/e/x', RENAME_EXCHANGE), 'ENOENT');
    }));

  it('across mounts is EXDEV; onto or of a mount point EBUSY', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/m', 0o755);
      await s.mount('none', '/m', 'tmpfs', 0, '');
      await writeFile(s, '/f');
      await expectCode(s.rename('/f', '/m/f'), 'EXDEV');
      await expectCode(s.link('/f', '/m/f'), 'EXDEV');
      await s.mkdir('/other', 0o755);
      await expectCode(s.rename('/m', '/other2'), 'EBUSY');
      await expectCode(s.rename('/other', '/m'), 'EBUSY');
      await s.umount2('/m', 0);
    }));

  it('readdir of the new and old directories reflects the move; ctime of the moved inode changes', () =>
    simKernel(async (k, host) => {
      const s = k.sys;
      await s.mkdir('/a', 0o755);
      await s.mkdir('/b', 0o755);
      await writeFile(s, '/a/f');
      const before = await s.stat('/a/f');
      await host.sleep(1_000_000n);
      await s.rename('/a/f', '/b/g');
      expect(await ls(s, '/a')).toEqual([]);
      expect(await ls(s, '/b')).toEqual(['g']);
      const after = await s.stat('/b/g');
      expect(after.ino).toBe(before.ino);
      expect(after.ctime).not.toEqual(before.ctime);
      expect(after.mtime).toEqual(before.mtime);
      expect((await s.stat('/a')).mtime).toEqual(after.ctime);
      const fd = await s.open('/b', O_RDONLY);
      await s.close(fd);
    }));
});
