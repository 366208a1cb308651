/**
 * namei edge cases (path_resolution(7)): one rule per test, through the
 * library syscalls on a tmpfs root.
 */
import { describe, expect, it } from 'vitest';
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, O_WRONLY, S_IFLNK,
  S_IFMT, S_IFREG,
} from '../kern/constants.ts';
import { asUser, code, expectCode, readFile, simKernel, writeFile } from './testkit.ts';

describe('namei', () => {
  it('resolves absolute and relative paths, . and .., and repeated slashes', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/a', 0o755);
      await s.mkdir('/a/b', 0o755);
      await writeFile(s, '/a/b/f', 'x');
      await s.chdir('/a');
      expect(await readFile(s, 'b/f')).toBe('x');
      expect(await readFile(s, './b/../b/./f')).toBe('x');
      expect(await readFile(s, '//a///b//f')).toBe('x');
      expect((await s.stat('/..')).ino).toBe((await s.stat('/')).ino);
      expect((await s.stat('/../../a')).ino).toBe((await s.stat('/a')).ino);
    }));

  it('an empty path is ENOENT; AT_EMPTY_PATH makes it name the dirfd itself', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'abc');
      await expectCode(s.stat(''), 'ENOENT');
      await expectCode(s.open('', O_RDONLY), 'ENOENT');
      const fd = await s.open('/f', O_RDONLY);
      expect((await s.newfstatat(fd, '', AT_EMPTY_PATH)).size).toBe(3);
      await expectCode(s.newfstatat(fd, '', 0), 'ENOENT');
      await s.close(fd);
    }));

  it('a non-directory in the middle of a path is ENOTDIR; a missing one ENOENT', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f');
      await expectCode(s.stat('/f/x'), 'ENOTDIR');
      await expectCode(s.stat('/nope/x'), 'ENOENT');
      await expectCode(s.mkdir('/f/d', 0o755), 'ENOTDIR');
    }));

  it('NAME_MAX: a 255-byte component works, 256 is ENAMETOOLONG (bytes, not characters)', () =>
    simKernel(async (k) => {
      const s = k.sys;
      const n255 = 'a'.repeat(255);
      await writeFile(s, '/' + n255, 'ok');
      expect(await readFile(s, '/' + n255)).toBe('ok');
      await expectCode(s.open('/' + 'a'.repeat(256), O_CREAT | O_WRONLY, 0o644), 'ENAMETOOLONG');
      await expectCode(s.stat('/' + 'a'.repeat(256) + '/x'), 'ENAMETOOLONG');
      // 128 two-byte characters are 256 bytes.
      await expectCode(s.mkdir('/' + 'é'.repeat(128), 0o755), 'ENAMETOOLONG');
      await s.mkdir('/' + 'é'.repeat(127), 0o755);
    }));

  it('PATH_MAX: a path of 4095 bytes resolves, 4096 is ENAMETOOLONG', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      const p4095 = '/' + './'.repeat(2046) + '/d';
      expect(p4095.length).toBe(4095);
      expect((await s.stat(p4095)).ino).toBe((await s.stat('/d')).ino);
      await expectCode(s.stat('/' + './'.repeat(2047) + 'd'), 'ENAMETOOLONG');
    }));

  it('symlinks: followed in the middle always, at the end unless nofollow; relative to their directory', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/a', 0o755);
      await writeFile(s, '/a/f', 'data');
      await s.symlink('f', '/a/rel');
      await s.symlink('/a', '/abs');
      expect(await readFile(s, '/abs/rel')).toBe('data');
      expect(((await s.lstat('/abs/rel')).mode & S_IFMT)).toBe(S_IFLNK);
      expect(((await s.stat('/abs/rel')).mode & S_IFMT)).toBe(S_IFREG);
      expect(((await s.newfstatat(AT_FDCWD, '/a/rel', AT_SYMLINK_NOFOLLOW)).mode & S_IFMT)).toBe(S_IFLNK);
      await expectCode(s.open('/a/rel', O_RDONLY | O_NOFOLLOW), 'ELOOP');
      // O_PATH|O_NOFOLLOW opens the link itself.
      const fd = await s.open('/a/rel', O_PATH | O_NOFOLLOW);
      expect(((await s.fstat(fd)).mode & S_IFMT)).toBe(S_IFLNK);
      await s.close(fd);
    }));

  it('ELOOP after 40 links in one resolution; 40 are fine', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/l0', 'end');
      for (let i = 1; i <= 41; i++) await s.symlink(`l${i - 1}`, `/l${i}`);
      expect(await readFile(s, '/l40')).toBe('end');
      await expectCode(s.stat('/l41'), 'ELOOP');
      await s.symlink('self', '/self');
      await expectCode(s.stat('/self'), 'ELOOP');
      await expectCode(s.open('/self', O_CREAT | O_WRONLY, 0o644), 'ELOOP');
      await s.symlink('', '/empty').catch(() => undefined);
      await expectCode(s.symlink('', '/empty2'), 'ENOENT');
    }));

  it('trailing slashes require a directory and follow a final symlink', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f');
      await s.mkdir('/d', 0o755);
      await s.symlink('d', '/ld');
      await s.symlink('f', '/lf');
      await expectCode(s.open('/f/', O_RDONLY), 'ENOTDIR');
      await expectCode(s.stat('/f/'), 'ENOTDIR');
      await expectCode(s.stat('/lf/'), 'ENOTDIR');
      expect(((await s.lstat('/ld/')).mode & S_IFMT)).not.toBe(S_IFLNK);
      await s.mkdir('/new/', 0o755);
      await expectCode(s.open('/g/', O_CREAT | O_WRONLY, 0o644), 'EISDIR');
      await expectCode(s.unlink('/f/'), 'ENOTDIR');
      await expectCode(s.unlink('/d/'), 'EISDIR');
      await expectCode(s.rmdir('/f/'), 'ENOTDIR');
      await expectCode(s.symlink('x', '/nl/'), 'ENOENT');
      await s.rmdir('/new/');
    }));

  it('*at calls: relative to dirfd, absolute paths ignore it, bad dirfd EBADF, non-directory ENOTDIR', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      await writeFile(s, '/d/f', 'in d');
      const dfd = await s.open('/d', O_RDONLY | O_DIRECTORY);
      expect((await s.newfstatat(dfd, 'f', 0)).size).toBe(4);
      await s.mkdirat(dfd, 'sub', 0o755);
      expect((await s.stat('/d/sub')).nlink).toBe(2);
      expect((await s.newfstatat(12345, '/d/f', 0)).size).toBe(4);
      await expectCode(s.newfstatat(12345, 'f', 0), 'EBADF');
      const ffd = await s.open('/d/f', O_RDONLY);
      await expectCode(s.newfstatat(ffd, 'x', 0), 'ENOTDIR');
      // An O_PATH descriptor of a directory is a fine dirfd.
      const pfd = await s.open('/d', O_PATH);
      expect((await s.newfstatat(pfd, 'f', 0)).size).toBe(4);
      await s.unlinkat(dfd, 'f', 0);
      await expectCode(s.stat('/d/f'), 'ENOENT');
      for (const fd of [dfd, ffd, pfd]) await s.close(fd);
    }));

  it('search permission is needed on every directory walked (EACCES), including the last one', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/a', 0o755);
      await s.mkdir('/a/b', 0o700);
      await writeFile(s, '/a/b/f', 'x', 0o644);
      await s.chmod('/a/b', 0o766); // rw for others, no x
      const u = asUser(k, 1000, 1000);
      await expectCode(u.stat('/a/b/f'), 'EACCES');
      await expectCode(u.open('/a/b/new', O_CREAT | O_WRONLY, 0o644), 'EACCES');
      expect((await u.stat('/a/b')).mode & 0o777).toBe(0o766);
      await s.chmod('/a/b', 0o755);
      expect(await code(u.stat('/a/b/f'))).toBe('ok');
      await s.chmod('/a', 0o700);
      await expectCode(u.stat('/a/b/f'), 'EACCES');
    }));

  it('.. at a mount root goes to the covered directory\'s parent; .. at a chroot stays', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/top', 0o755);
      await s.mkdir('/top/mnt', 0o755);
      await writeFile(s, '/top/marker', 'top');
      await s.mount('none', '/top/mnt', 'tmpfs', 0, '');
      await s.mkdir('/top/mnt/inner', 0o755);
      expect(await readFile(s, '/top/mnt/../marker')).toBe('top');
      expect(await readFile(s, '/top/mnt/inner/../../marker')).toBe('top');
      await s.chdir('/top/mnt/inner');
      expect(await s.getcwd()).toBe('/top/mnt/inner');
      expect(await readFile(s, '../../marker')).toBe('top');
      const jail = sysOf2(k);
      await jail.chroot('/top/mnt');
      await jail.chdir('/');
      expect((await jail.stat('/..')).ino).toBe((await jail.stat('/')).ino);
      expect((await jail.stat('/../../inner')).ino).toBe((await s.stat('/top/mnt/inner')).ino);
      await s.chdir('/');
    }));

  it('getcwd names the path from the root, across renames; ENOENT once the cwd is removed', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/a', 0o755);
      await s.mkdir('/a/b', 0o755);
      await s.chdir('/a/b');
      expect(await s.getcwd()).toBe('/a/b');
      await s.rename('/a', '/z');
      expect(await s.getcwd()).toBe('/z/b');
      await expectCode(s.getcwd(3), 'ERANGE');
      await s.rmdir('/z/b');
      await expectCode(s.getcwd(), 'ENOENT');
      await expectCode(s.open('x', O_CREAT | O_WRONLY, 0o644), 'ENOENT');
      await s.chdir('/');
      expect(await s.getcwd()).toBe('/');
    }));
});

function sysOf2(k: Parameters<Parameters<typeof simKernel>[0]>[0]) {
  return k.rfork({}).sys as unknown as typeof k.sys;
}
