/**
 * Conformance: the name space — mkdir(2), rmdir(2), unlink(2), link(2),
 * symlink(2), readlink(2), rename(2)/renameat2(2), getdents (readdir),
 * chdir(2)/getcwd(3), statfs(2), path resolution (path_resolution(7)):
 * ENOTDIR, trailing slashes, ELOOP after 40 links, NAME_MAX and PATH_MAX.
 */
import { describe, expect, it } from 'vitest';
import { C } from './target.ts';
import { errnoOf, expectErrno, fileType, forTargets, need, perms, readFile, writeFile } from './helpers.ts';

forTargets((t) => {
  describe('mkdir and rmdir', () => {
    it('mkdir makes an empty directory (nlink 2, mode & ~umask) and bumps the parent link count', async () => {
      await t().mkdir('p', 0o755);
      const before = (await t().stat('p')).nlink;
      expect(before).toBe(2);
      await t().mkdir('p/d', 0o777);
      const st = await t().stat('p/d');
      expect(fileType(st.mode)).toBe(C.S_IFDIR);
      expect(perms(st.mode)).toBe(0o755);
      expect(st.nlink).toBe(2);
      expect((await t().stat('p')).nlink).toBe(3);
      expect(await t().readdir('p/d')).toEqual([]);
      await t().rmdir('p/d');
      expect((await t().stat('p')).nlink).toBe(2);
    });

    it('mkdir errors: EEXIST (file, dir, dangling symlink), ENOENT, ENOTDIR', async () => {
      await writeFile(t(), 'f');
      await t().mkdir('d', 0o755);
      await t().symlink('nowhere', 'dl');
      await expectErrno(t().mkdir('f', 0o755), 'EEXIST');
      await expectErrno(t().mkdir('d', 0o755), 'EEXIST');
      await expectErrno(t().mkdir('dl', 0o755), 'EEXIST');
      await expectErrno(t().mkdir('nope/x', 0o755), 'ENOENT');
      await expectErrno(t().mkdir('f/x', 0o755), 'ENOTDIR');
      await expectErrno(t().stat('nowhere'), 'ENOENT');
    });

    it('mkdir keeps the sticky bit and accepts a trailing slash', async () => {
      await t().mkdir('s/', 0o1777);
      expect(perms((await t().stat('s')).mode)).toBe(0o1755);
    });

    it('rmdir errors: ENOTEMPTY, ENOTDIR (file, symlink to dir), ENOENT, EINVAL for "."', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'd/f');
      await t().symlink('d', 'ld');
      await expectErrno(t().rmdir('d'), 'ENOTEMPTY');
      await expectErrno(t().rmdir('d/f'), 'ENOTDIR');
      await expectErrno(t().rmdir('ld'), 'ENOTDIR');
      await expectErrno(t().rmdir('nope'), 'ENOENT');
      await expectErrno(t().rmdir('d/.'), 'EINVAL');
      await expectErrno(t().rmdir('d/..'), 'ENOTEMPTY');
      await t().unlink('d/f');
      await t().rmdir('d');
      await expectErrno(t().stat('d'), 'ENOENT');
    });

    it('rmdir of the current directory works; getcwd then fails with ENOENT', async () => {
      await t().mkdir('d', 0o755);
      await t().chdir('d');
      await t().rmdir(`${t().root}/d`);
      await expectErrno(t().getcwd(), 'ENOENT');
      await expectErrno(t().open('new', C.O_CREAT | C.O_WRONLY, 0o644), 'ENOENT');
      expect(await t().readdir('.')).toEqual([]);
    });
  });

  describe('unlink', () => {
    it('removes a name; nlink drops; a symlink is removed, not its target', async () => {
      await writeFile(t(), 'f', 'data');
      await t().link('f', 'g');
      expect((await t().stat('f')).nlink).toBe(2);
      await t().unlink('g');
      expect((await t().stat('f')).nlink).toBe(1);
      await t().symlink('f', 'l');
      await t().unlink('l');
      expect(await readFile(t(), 'f')).toBe('data');
    });

    it('errors: EISDIR on a directory, ENOENT, ENOTDIR for a file with a trailing slash', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'f');
      await expectErrno(t().unlink('d'), 'EISDIR');
      await expectErrno(t().unlink('nope'), 'ENOENT');
      await expectErrno(t().unlink('f/'), 'ENOTDIR');
      await expectErrno(t().unlink('f/x'), 'ENOTDIR');
    });
  });

  describe('link', () => {
    it('hard links share an inode; nlink counts names', async () => {
      await writeFile(t(), 'f', 'one');
      await t().mkdir('d', 0o755);
      await t().link('f', 'd/g');
      const a = await t().stat('f');
      const b = await t().stat('d/g');
      expect(b.ino).toBe(a.ino);
      expect(a.nlink).toBe(2);
      await writeFile(t(), 'd/g', 'two');
      expect(await readFile(t(), 'f')).toBe('two');
      await t().unlink('f');
      expect((await t().stat('d/g')).nlink).toBe(1);
    });

    it('errors: EEXIST, ENOENT, EPERM on a directory, ENOTDIR', async () => {
      await writeFile(t(), 'f');
      await writeFile(t(), 'g');
      await t().mkdir('d', 0o755);
      await expectErrno(t().link('f', 'g'), 'EEXIST');
      await expectErrno(t().link('nope', 'h'), 'ENOENT');
      await expectErrno(t().link('f', 'nodir/h'), 'ENOENT');
      await expectErrno(t().link('d', 'd2'), 'EPERM');
      await expectErrno(t().link('f/', 'h'), 'ENOTDIR');
      await expectErrno(t().link('f', 'g/h'), 'ENOTDIR');
    });

    it('link(2) does not follow a symlink: the new name is a second link to the symlink', async () => {
      await writeFile(t(), 'f');
      await t().symlink('f', 'l');
      await t().link('l', 'l2');
      const st = await t().lstat('l2');
      expect(fileType(st.mode)).toBe(C.S_IFLNK);
      expect(st.nlink).toBe(2);
      expect(st.ino).toBe((await t().lstat('l')).ino);
    });
  });

  describe('symlink and readlink', () => {
    it('readlink returns the target verbatim; lstat size is its length; stat follows', async () => {
      await writeFile(t(), 'f', 'abc');
      await t().symlink('f', 'l');
      await t().symlink('../some/where', 'l2');
      expect(await t().readlink('l')).toBe('f');
      expect(await t().readlink('l2')).toBe('../some/where');
      const ls = await t().lstat('l2');
      expect(fileType(ls.mode)).toBe(C.S_IFLNK);
      expect(perms(ls.mode)).toBe(0o777);
      expect(ls.size).toBe(13);
      expect((await t().stat('l')).size).toBe(3);
      await expectErrno(t().stat('l2'), 'ENOENT');
    });

    it('absolute symlinks and symlinks to directories in the middle of a path', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'd/f', 'deep');
      await t().symlink(`${t().root}/d`, 'abs');
      await t().symlink('d', 'rel');
      expect(await readFile(t(), 'abs/f')).toBe('deep');
      expect(await readFile(t(), 'rel/f')).toBe('deep');
      await t().mkdir('d/sub', 0o755);
      await t().symlink('../f', 'd/sub/up');
      expect(await readFile(t(), 'rel/sub/up')).toBe('deep');
    });

    it('errors: EEXIST, ENOENT for an empty target, EINVAL readlink of a non-link, ENOENT', async () => {
      await writeFile(t(), 'f');
      await expectErrno(t().symlink('x', 'f'), 'EEXIST');
      await expectErrno(t().symlink('', 'e'), 'ENOENT');
      await expectErrno(t().readlink('f'), 'EINVAL');
      await expectErrno(t().readlink('nope'), 'ENOENT');
      await expectErrno(t().symlink('x', 'nodir/l'), 'ENOENT');
    });
  });

  describe('ELOOP', () => {
    it('a symlink loop is ELOOP for stat/open/chdir; lstat, readlink and unlink work on it', async () => {
      await t().symlink('self', 'self');
      await t().symlink('b', 'a');
      await t().symlink('a', 'b');
      for (const p of ['self', 'a', 'a/x']) {
        await expectErrno(t().stat(p), 'ELOOP');
        await expectErrno(t().open(p, C.O_RDONLY), 'ELOOP');
      }
      await expectErrno(t().open('a', C.O_CREAT | C.O_WRONLY, 0o644), 'ELOOP');
      await expectErrno(t().chdir('a'), 'ELOOP');
      await expectErrno(t().mkdir('a/x', 0o755), 'ELOOP');
      expect(fileType((await t().lstat('self')).mode)).toBe(C.S_IFLNK);
      expect(await t().readlink('a')).toBe('b');
      await t().unlink('a');
    });

    it('a chain of 40 symlinks resolves; 41 is ELOOP', async () => {
      await writeFile(t(), 'end', 'reached');
      await t().symlink('end', 'l0');
      for (let i = 1; i <= 40; i++) await t().symlink(`l${i - 1}`, `l${i}`);
      // l39 → ... → l0 → end: 40 links followed.
      expect(await readFile(t(), 'l39')).toBe('reached');
      // l40 needs 41.
      await expectErrno(t().stat('l40'), 'ELOOP');
      await expectErrno(t().open('l40', C.O_RDONLY), 'ELOOP');
    });

    it('links followed in the middle of a path count toward the same 40', async () => {
      await t().mkdir('d', 0o755);
      await t().symlink('d', 'm0');
      for (let i = 1; i < 40; i++) await t().symlink(`m${i - 1}`, `m${i}`);
      await writeFile(t(), 'd/f', 'x');
      await t().symlink('m39/f', 'top');
      // top (1) + m39..m0 (40) = 41 links.
      await expectErrno(t().stat('top'), 'ELOOP');
      expect(await readFile(t(), 'm39/f')).toBe('x');
    });
  });

  describe('ENAMETOOLONG', () => {
    it('a 255-byte name works; 256 bytes is ENAMETOOLONG for every call', async () => {
      const ok = 'n'.repeat(255);
      const bad = 'n'.repeat(256);
      await writeFile(t(), ok, 'x');
      expect(await t().readdir('.')).toContain(ok);
      await t().mkdir(`${ok}.d`.slice(0, 255).replace(/n$/, 'd'), 0o755);
      await expectErrno(t().open(bad, C.O_CREAT | C.O_WRONLY, 0o644), 'ENAMETOOLONG');
      await expectErrno(t().open(bad, C.O_RDONLY), 'ENAMETOOLONG');
      await expectErrno(t().stat(bad), 'ENAMETOOLONG');
      await expectErrno(t().lstat(bad), 'ENAMETOOLONG');
      await expectErrno(t().mkdir(bad, 0o755), 'ENAMETOOLONG');
      await expectErrno(t().unlink(bad), 'ENAMETOOLONG');
      await expectErrno(t().rmdir(bad), 'ENAMETOOLONG');
      await expectErrno(t().symlink('x', bad), 'ENAMETOOLONG');
      await expectErrno(t().link(ok, bad), 'ENAMETOOLONG');
      await expectErrno(t().rename(ok, bad), 'ENAMETOOLONG');
      await expectErrno(t().stat(`${bad}/x`), 'ENAMETOOLONG');
      // Multi-byte: 128 two-byte characters are 256 bytes.
      await expectErrno(t().stat('é'.repeat(128)), 'ENAMETOOLONG');
      await writeFile(t(), 'é'.repeat(127));
    });

    it('a path of 4095 bytes is resolved; 4096 bytes is ENAMETOOLONG', async () => {
      await t().mkdir('d', 0o755);
      const pad = (len: number): string => './'.repeat((len - 1) / 2) + 'd';
      const p4095 = pad(4095);
      expect(p4095.length).toBe(4095);
      expect(fileType((await t().stat(p4095)).mode)).toBe(C.S_IFDIR);
      const p4096 = `.${p4095}`.replace(/^\.\.\//, './/');
      expect(p4096.length).toBe(4096);
      await expectErrno(t().stat(p4096), 'ENAMETOOLONG');
      await expectErrno(t().open(p4096, C.O_RDONLY), 'ENAMETOOLONG');
      await expectErrno(t().mkdir(p4096, 0o755), 'ENAMETOOLONG');
    });

    it('a symlink target of 4095 bytes is stored; 4096 is ENAMETOOLONG', async () => {
      const long = 'a/'.repeat(2047) + 'b';
      expect(long.length).toBe(4095);
      await t().symlink(long, 'l');
      expect(await t().readlink('l')).toBe(long);
      await expectErrno(t().symlink(`${long}c`, 'l2'), 'ENAMETOOLONG');
    });
  });

  describe('ENOTDIR and trailing slashes', () => {
    it('a file used as a directory is ENOTDIR for every path call', async () => {
      await writeFile(t(), 'f');
      for (const [name, p] of [
        ['stat', t().stat('f/x')],
        ['lstat', t().lstat('f/x')],
        ['mkdir', t().mkdir('f/x', 0o755)],
        ['rmdir', t().rmdir('f/x')],
        ['unlink', t().unlink('f/x')],
        ['symlink', t().symlink('y', 'f/x')],
        ['chdir', t().chdir('f')],
        ['readdir', t().readdir('f')],
        ['rename', t().rename('f/x', 'y')],
        ['access', t().access('f/', C.F_OK)],
      ] as const) expect(`${name}: ${await errnoOf(p)}`).toBe(`${name}: ENOTDIR`);
    });

    it('a trailing slash requires a directory and follows a final symlink', async () => {
      await writeFile(t(), 'f');
      await t().mkdir('d', 0o755);
      await t().symlink('d', 'ld');
      await t().symlink('f', 'lf');
      await expectErrno(t().stat('f/'), 'ENOTDIR');
      await expectErrno(t().open('f/', C.O_RDONLY), 'ENOTDIR');
      await expectErrno(t().stat('lf/'), 'ENOTDIR');
      expect(fileType((await t().stat('d/')).mode)).toBe(C.S_IFDIR);
      expect(fileType((await t().lstat('ld/')).mode)).toBe(C.S_IFDIR);
      expect(fileType((await t().lstat('ld')).mode)).toBe(C.S_IFLNK);
      await expectErrno(t().open('new/', C.O_CREAT | C.O_WRONLY, 0o644), 'EISDIR');
      await expectErrno(t().unlink('ld/'), 'ENOTDIR');
      await expectErrno(t().rmdir('ld/'), 'ENOTDIR');
      await t().mkdir('e/', 0o755);
      await t().rename('e/', 'e2/');
      expect(fileType((await t().stat('e2')).mode)).toBe(C.S_IFDIR);
      await expectErrno(t().rename('f', 'g/'), 'ENOTDIR');
      await expectErrno(t().rename('f/', 'g'), 'ENOTDIR');
    });

    it('"." and ".." resolve; ".." of the root directory is the root itself', async () => {
      await t().mkdir('a', 0o755);
      await t().mkdir('a/b', 0o755);
      const root = await t().stat('.');
      expect((await t().stat('a/b/../..')).ino).toBe(root.ino);
      expect((await t().stat('a/./b/.')).ino).toBe((await t().stat('a/b')).ino);
      expect((await t().stat('/..')).ino).toBe((await t().stat('/')).ino);
      expect((await t().stat('/../../..')).ino).toBe((await t().stat('/')).ino);
    });

    it('an empty path is ENOENT', async () => {
      await expectErrno(t().stat(''), 'ENOENT');
      await expectErrno(t().open('', C.O_RDONLY), 'ENOENT');
      await expectErrno(t().mkdir('', 0o755), 'ENOENT');
      await expectErrno(t().unlink(''), 'ENOENT');
    });
  });

  describe('rename', () => {
    it('moves a file; replaces an existing file atomically; the replaced inode loses a link', async () => {
      await writeFile(t(), 'a', 'A');
      await writeFile(t(), 'b', 'B');
      await t().link('b', 'b2');
      const ino = (await t().stat('a')).ino;
      await t().rename('a', 'b');
      await expectErrno(t().stat('a'), 'ENOENT');
      expect((await t().stat('b')).ino).toBe(ino);
      expect(await readFile(t(), 'b')).toBe('A');
      expect((await t().stat('b2')).nlink).toBe(1);
    });

    it('moves a directory to another parent: link counts and ".." follow', async () => {
      await t().mkdir('p', 0o755);
      await t().mkdir('q', 0o755);
      await t().mkdir('p/d', 0o755);
      await writeFile(t(), 'p/d/f', 'x');
      await t().rename('p/d', 'q/d');
      expect((await t().stat('p')).nlink).toBe(2);
      expect((await t().stat('q')).nlink).toBe(3);
      expect((await t().stat('q/d/..')).ino).toBe((await t().stat('q')).ino);
      expect(await readFile(t(), 'q/d/f')).toBe('x');
      expect(await t().readdir('p')).toEqual([]);
    });

    it('a directory over an empty directory replaces it; over a non-empty one is ENOTEMPTY', async () => {
      await t().mkdir('a', 0o755);
      await writeFile(t(), 'a/f');
      await t().mkdir('empty', 0o755);
      await t().mkdir('full', 0o755);
      await writeFile(t(), 'full/g');
      await expectErrno(t().rename('a', 'full'), 'ENOTEMPTY');
      await t().rename('a', 'empty');
      expect(await t().readdir('empty')).toEqual(['f']);
      await expectErrno(t().stat('a'), 'ENOENT');
    });

    it('directory over file is ENOTDIR; file over directory is EISDIR', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'f');
      await expectErrno(t().rename('d', 'f'), 'ENOTDIR');
      await expectErrno(t().rename('f', 'd'), 'EISDIR');
    });

    it('into its own subtree is EINVAL; onto its own ancestor is ENOTEMPTY', async () => {
      await t().mkdir('a', 0o755);
      await t().mkdir('a/b', 0o755);
      await t().mkdir('a/b/c', 0o755);
      await expectErrno(t().rename('a', 'a/b/c/a'), 'EINVAL');
      await expectErrno(t().rename('a', 'a/x'), 'EINVAL');
      await expectErrno(t().rename('a/b', 'a/b/c/z'), 'EINVAL');
      await expectErrno(t().rename('a/b/c', 'a'), 'ENOTEMPTY');
    });

    it('two hard links to the same inode: rename is a no-op and both names stay', async () => {
      await writeFile(t(), 'f', 'same');
      await t().link('f', 'g');
      await t().rename('f', 'g');
      expect(await t().readdir('.')).toEqual(['f', 'g']);
      expect((await t().stat('f')).nlink).toBe(2);
      await t().rename('f', 'f');
      expect(await readFile(t(), 'f')).toBe('same');
    });

    it('errors: ENOENT source, ENOENT destination directory, EBUSY for "." and ".."', async () => {
      await t().mkdir('d', 0o755);
      await writeFile(t(), 'f');
      await expectErrno(t().rename('nope', 'x'), 'ENOENT');
      await expectErrno(t().rename('f', 'nodir/x'), 'ENOENT');
      await expectErrno(t().rename('d/.', 'x'), 'EBUSY');
      await expectErrno(t().rename('d/..', 'x'), 'EBUSY');
      await expectErrno(t().rename('f', 'd/.'), 'EBUSY');
    });

    it('renames a symlink itself, not its target', async () => {
      await writeFile(t(), 'f', 'x');
      await t().symlink('f', 'l');
      await t().rename('l', 'm');
      expect(await t().readlink('m')).toBe('f');
      expect(await t().readdir('.')).toEqual(['f', 'm']);
    });

    it('renameat2 RENAME_NOREPLACE and RENAME_EXCHANGE', async (ctx) => {
      need(ctx, t(), 'renameat2');
      await writeFile(t(), 'a', 'A');
      await writeFile(t(), 'b', 'B');
      await t().mkdir('d', 0o755);
      await expectErrno(t().renameat2('a', 'b', C.RENAME_NOREPLACE), 'EEXIST');
      await t().renameat2('a', 'c', C.RENAME_NOREPLACE);
      await t().renameat2('c', 'b', C.RENAME_EXCHANGE);
      expect(await readFile(t(), 'b')).toBe('A');
      expect(await readFile(t(), 'c')).toBe('B');
      // Exchange works across types: file <-> directory.
      await t().renameat2('c', 'd', C.RENAME_EXCHANGE);
      expect(fileType((await t().stat('c')).mode)).toBe(C.S_IFDIR);
      expect(await readFile(t(), 'd')).toBe('B');
      await expectErrno(t().renameat2('d', 'missing', C.RENAME_EXCHANGE), 'ENOENT');
      await expectErrno(t().renameat2('b', 'x', C.RENAME_NOREPLACE | C.RENAME_EXCHANGE), 'EINVAL');
      await expectErrno(t().renameat2('b', 'x', 0x80), 'EINVAL');
    });
  });

  describe('readdir', () => {
    it('lists exactly the entries, without "." and ".."; ENOTDIR on a file; ENOENT', async () => {
      await t().mkdir('d', 0o755);
      expect(await t().readdir('d')).toEqual([]);
      const names = ['a', 'b.txt', 'ccc', 'sub', 'ln', 'fifo'];
      await writeFile(t(), 'd/a');
      await writeFile(t(), 'd/b.txt');
      await writeFile(t(), 'd/ccc');
      await t().mkdir('d/sub', 0o755);
      await t().symlink('a', 'd/ln');
      await t().mkfifo('d/fifo', 0o644);
      expect(await t().readdir('d')).toEqual([...names].sort());
      await t().unlink('d/b.txt');
      await t().rename('d/ccc', 'd/sub/ccc');
      expect(await t().readdir('d')).toEqual(['a', 'fifo', 'ln', 'sub']);
      expect(await t().readdir('d/sub')).toEqual(['ccc']);
      await expectErrno(t().readdir('d/a'), 'ENOTDIR');
      await expectErrno(t().readdir('nope'), 'ENOENT');
    });

    it('a directory with 300 entries lists all of them once', async () => {
      await t().mkdir('d', 0o755);
      const want: string[] = [];
      for (let i = 0; i < 300; i++) {
        const n = `entry-${i.toString().padStart(3, '0')}-${'x'.repeat(i % 40)}`;
        want.push(n);
        await t().close(await t().open(`d/${n}`, C.O_CREAT | C.O_WRONLY, 0o644));
      }
      expect(await t().readdir('d')).toEqual(want.sort());
    });
  });

  describe('chdir and getcwd', () => {
    it('relative paths resolve from the cwd; getcwd names it; ".." goes back', async () => {
      await t().mkdir('a', 0o755);
      await t().mkdir('a/b', 0o755);
      expect(await t().getcwd()).toBe(t().root);
      await t().chdir('a/b');
      expect(await t().getcwd()).toBe(`${t().root}/a/b`);
      await writeFile(t(), 'here', 'x');
      await t().chdir('../..');
      expect(await readFile(t(), 'a/b/here')).toBe('x');
      await t().symlink('a/b', 'lb');
      await t().chdir('lb');
      expect(await t().getcwd()).toBe(`${t().root}/a/b`);
    });

    it('errors: ENOENT, ENOTDIR', async () => {
      await writeFile(t(), 'f');
      await expectErrno(t().chdir('nope'), 'ENOENT');
      await expectErrno(t().chdir('f'), 'ENOTDIR');
      expect(await t().getcwd()).toBe(t().root);
    });
  });

  describe('statfs', () => {
    it('reports a file system with sane counts; ENOENT for a missing path', async () => {
      const s = await t().statfs('.');
      expect(s.bsize).toBeGreaterThan(0);
      expect(s.bfree).toBeLessThanOrEqual(s.blocks);
      expect(s.bavail).toBeLessThanOrEqual(s.bfree);
      if (t().caps.tmpfsRoot) expect(s.type).toBe(C.TMPFS_MAGIC);
      await expectErrno(t().statfs('nope'), 'ENOENT');
    });
  });

  describe('access', () => {
    it('F_OK tells existence; ENOENT otherwise; EINVAL for a bad mode', async () => {
      await writeFile(t(), 'f');
      await t().access('f', C.F_OK);
      await t().access('f', C.R_OK | C.W_OK);
      await expectErrno(t().access('nope', C.F_OK), 'ENOENT');
      await expectErrno(t().access('f', 0o10), 'EINVAL');
    });
  });
});
