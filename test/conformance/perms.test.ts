/**
 * Conformance: permissions, as root and as unprivileged uids —
 * path_resolution(7) "Permissions", inode(7), open(2) EACCES, chmod(2) and
 * chown(2) EPERM rules, utimensat(2) permission rules, the sticky bit
 * (unlink(2), rename(2) EPERM), setgid directories (mkdir(2) "Linux notes"),
 * clearing set-user-ID / set-group-ID on write and chown, umask(2).
 *
 * Unprivileged identities come from asUser (helpers U1/U2, G1/G2, GS). Each
 * test arranges its files as root first, with explicit chmod/chown so the
 * umask cannot change the meaning.
 */
import { describe, expect, it } from 'vitest';
import { C, type Target } from './target.ts';
import { G1, G2, GS, U1, U2, errnoOf, expectErrno, forTargets, need, perms, readFile, writeFile } from './helpers.ts';

/** Make a file or directory with exact mode and owner (as root). */
async function mkfile(t: Target, p: string, mode: number, uid = 0, gid = 0, data = 'data'): Promise<void> {
  await writeFile(t, p, data);
  await t.chown(p, uid, gid);
  await t.chmod(p, mode);
}

async function mkdirAs(t: Target, p: string, mode: number, uid = 0, gid = 0): Promise<void> {
  await t.mkdir(p, 0o700);
  await t.chown(p, uid, gid);
  await t.chmod(p, mode);
}

const openErr = (t: Target, p: string, flags: number): Promise<string> =>
  errnoOf(t.open(p, flags).then((fd) => t.close(fd)));

forTargets((t) => {
  describe('root', () => {
    it('reads and writes any file and searches any directory regardless of mode bits', async () => {
      await mkdirAs(t(), 'd', 0o000, U1, G1);
      await mkfile(t(), 'd/f', 0o000, U1, G1, 'secret');
      expect(await readFile(t(), 'd/f')).toBe('secret');
      await writeFile(t(), 'd/f', 'mine');
      expect(await t().readdir('d')).toEqual(['f']);
      await t().access('d/f', C.R_OK | C.W_OK);
      await t().access('d', C.R_OK | C.W_OK | C.X_OK);
    });

    it('execute needs at least one x bit even for root', async () => {
      await mkfile(t(), 'f', 0o644);
      await expectErrno(t().access('f', C.X_OK), 'EACCES');
      await t().chmod('f', 0o001);
      await t().access('f', C.X_OK);
    });

    it('chmod and chown anything; mknod devices', async () => {
      await mkfile(t(), 'f', 0o600, U1, G1);
      await t().chmod('f', 0o7777);
      expect(perms((await t().stat('f')).mode)).toBe(0o7777);
      await t().chown('f', U2, GS);
      const st = await t().stat('f');
      expect([st.uid, st.gid]).toEqual([U2, GS]);
    });
  });

  describe('owner, group and other classes', () => {
    it('the owner class decides for the owner, the group class for members, other for the rest', async (ctx) => {
      need(ctx, t(), 'users');
      await mkfile(t(), 'f', 0o640, U1, G1);
      const owner = await t().asUser(U1, G1);
      const member = await t().asUser(U2, G1);
      const other = await t().asUser(U2, G2);
      expect(await openErr(owner, 'f', C.O_RDWR)).toBe('OK');
      expect(await openErr(member, 'f', C.O_RDONLY)).toBe('OK');
      expect(await openErr(member, 'f', C.O_WRONLY)).toBe('EACCES');
      expect(await openErr(other, 'f', C.O_RDONLY)).toBe('EACCES');
      await expectErrno(other.access('f', C.R_OK), 'EACCES');
      await member.access('f', C.R_OK);
      await expectErrno(member.access('f', C.W_OK), 'EACCES');
    });

    it('only the first matching class counts: an owner with 0077 cannot read, a member with 0604 cannot read', async (ctx) => {
      need(ctx, t(), 'users');
      await mkfile(t(), 'a', 0o077, U1, G1);
      await mkfile(t(), 'b', 0o604, U1, G1);
      const owner = await t().asUser(U1, G1);
      const member = await t().asUser(U2, G1);
      const other = await t().asUser(U2, G2);
      expect(await openErr(owner, 'a', C.O_RDONLY)).toBe('EACCES');
      expect(await openErr(member, 'a', C.O_RDWR)).toBe('OK');
      expect(await openErr(member, 'b', C.O_RDONLY)).toBe('EACCES');
      expect(await openErr(other, 'b', C.O_RDONLY)).toBe('OK');
    });

    it('supplementary groups grant the group class', async (ctx) => {
      need(ctx, t(), 'users');
      await mkfile(t(), 'f', 0o640, U1, GS);
      const withGroup = await t().asUser(U2, G2, [GS]);
      const without = await t().asUser(U2, G2);
      expect(await openErr(withGroup, 'f', C.O_RDONLY)).toBe('OK');
      expect(await openErr(without, 'f', C.O_RDONLY)).toBe('EACCES');
    });

    it('O_TRUNC and O_CREAT of an existing file need write permission', async (ctx) => {
      need(ctx, t(), 'users');
      await mkfile(t(), 'f', 0o644, U1, G1, 'keep');
      const other = await t().asUser(U2, G2);
      expect(await openErr(other, 'f', C.O_RDONLY | C.O_TRUNC)).toBe('EACCES');
      expect(await openErr(other, 'f', C.O_WRONLY | C.O_CREAT)).toBe('EACCES');
      expect(await readFile(t(), 'f')).toBe('keep');
      await expectErrno(other.truncate('f', 0), 'EACCES');
    });
  });

  describe('directories', () => {
    it('search (x) is needed on every component; read (r) to list; r without x lists names only', async (ctx) => {
      need(ctx, t(), 'users');
      await mkdirAs(t(), 'rx', 0o700, U1, G1);
      await mkdirAs(t(), 'rx/noexec', 0o600, U1, G1);
      await mkfile(t(), 'rx/noexec/f', 0o644, U1, G1);
      await mkdirAs(t(), 'rx/xonly', 0o100, U1, G1);
      await mkfile(t(), 'rx/xonly/f', 0o644, U1, G1, 'reachable');
      const u = await t().asUser(U1, G1);
      await expectErrno(u.stat('rx/noexec/f'), 'EACCES');
      await expectErrno(u.open('rx/noexec/f', C.O_RDONLY), 'EACCES');
      expect(await u.readdir('rx/noexec')).toEqual(['f']);
      expect(await readFile(u, 'rx/xonly/f')).toBe('reachable');
      await expectErrno(u.readdir('rx/xonly'), 'EACCES');
      await expectErrno(u.open('rx/xonly/g', C.O_CREAT | C.O_WRONLY, 0o644), 'EACCES');
      await expectErrno(u.chdir('rx/noexec'), 'EACCES');
      const stranger = await t().asUser(U2, G2);
      // rx is 0700 U1: a stranger cannot get through it, whatever lies below.
      await expectErrno(stranger.stat('rx/xonly/f'), 'EACCES');
      await expectErrno(stranger.access('rx/xonly/f', C.F_OK), 'EACCES');
    });

    it('creating and removing names needs write and search on the directory', async (ctx) => {
      need(ctx, t(), 'users');
      await mkdirAs(t(), 'ro', 0o555, U1, G1);
      await mkfile(t(), 'ro/f', 0o666, U1, G1);
      await mkdirAs(t(), 'ro/sub', 0o777, U1, G1);
      const u = await t().asUser(U1, G1);
      for (const [name, p] of [
        ['create', u.open('ro/new', C.O_CREAT | C.O_WRONLY, 0o644)],
        ['mkdir', u.mkdir('ro/new', 0o755)],
        ['symlink', u.symlink('x', 'ro/new')],
        ['link', u.link('ro/f', 'ro/new')],
        ['unlink', u.unlink('ro/f')],
        ['rmdir', u.rmdir('ro/sub')],
        ['rename', u.rename('ro/f', 'ro/g')],
        ['mkfifo', u.mkfifo('ro/p', 0o644)],
      ] as const) expect(`${name}: ${await errnoOf(p)}`).toBe(`${name}: EACCES`);
      // Writing the file itself is still allowed: it is 0666.
      await writeFile(u, 'ro/f', 'ok');
      await mkdirAs(t(), 'wx', 0o300, U1, G1);
      await writeFile(u, 'wx/made', 'x');
      await u.unlink('wx/made');
    });

    it('new files take the fsuid and fsgid of the creator', async (ctx) => {
      need(ctx, t(), 'users');
      await mkdirAs(t(), 'w', 0o777);
      const u = await t().asUser(U1, G1, [GS]);
      await writeFile(u, 'w/f');
      await u.mkdir('w/d', 0o777);
      await u.symlink('f', 'w/l');
      for (const p of ['w/f', 'w/d']) {
        const st = await t().stat(p);
        expect([p, st.uid, st.gid]).toEqual([p, U1, G1]);
      }
      const l = await t().lstat('w/l');
      expect([l.uid, l.gid]).toEqual([U1, G1]);
      expect(perms((await t().stat('w/f')).mode)).toBe(0o644);
      expect(perms((await t().stat('w/d')).mode)).toBe(0o755);
    });

    it('a setgid directory passes its group on, and its setgid bit to subdirectories', async (ctx) => {
      need(ctx, t(), 'users');
      await mkdirAs(t(), 'sg', 0o2777, 0, GS);
      const u = await t().asUser(U1, G1);
      await writeFile(u, 'sg/f');
      await u.mkdir('sg/d', 0o755);
      const f = await t().stat('sg/f');
      const d = await t().stat('sg/d');
      expect(f.gid).toBe(GS);
      expect(perms(f.mode)).toBe(0o644);
      expect(d.gid).toBe(GS);
      expect(perms(d.mode)).toBe(0o2755);
      // A group-executable setgid file made by a non-member loses S_ISGID.
      await u.close(await u.open('sg/x', C.O_CREAT | C.O_WRONLY, 0o2755));
      expect(perms((await t().stat('sg/x')).mode)).toBe(0o755);
    });

    it('sticky directory: only the file owner, the directory owner or root may unlink or rename', async (ctx) => {
      need(ctx, t(), 'users');
      await mkdirAs(t(), 'tmp', 0o1777);
      const a = await t().asUser(U1, G1);
      const b = await t().asUser(U2, G2);
      await writeFile(a, 'tmp/a');
      await a.mkdir('tmp/ad', 0o777);
      await writeFile(b, 'tmp/b');
      await expectErrno(b.unlink('tmp/a'), 'EPERM');
      await expectErrno(b.rename('tmp/a', 'tmp/c'), 'EPERM');
      await expectErrno(b.rename('tmp/b', 'tmp/a'), 'EPERM');
      await expectErrno(b.rmdir('tmp/ad'), 'EPERM');
      await b.rename('tmp/b', 'tmp/b2');
      await a.rename('tmp/a', 'tmp/a2');
      await a.unlink('tmp/a2');
      await t().unlink('tmp/b2');
      // The directory's owner may remove anyone's files.
      await mkdirAs(t(), 'own', 0o1777, U2, G2);
      await writeFile(a, 'own/a');
      await b.unlink('own/a');
    });

    it('moving a directory to another parent needs write permission on the directory itself', async (ctx) => {
      need(ctx, t(), 'users');
      await mkdirAs(t(), 'p1', 0o755, U1, G1);
      await mkdirAs(t(), 'p2', 0o755, U1, G1);
      await mkdirAs(t(), 'p1/d', 0o755, U2, G2);
      const u = await t().asUser(U1, G1);
      await expectErrno(u.rename('p1/d', 'p2/d'), 'EACCES');
      await u.rename('p1/d', 'p1/e');
      await t().chmod('p1/e', 0o777);
      await u.rename('p1/e', 'p2/d');
    });
  });

  describe('chmod', () => {
    it('only the owner (or root) may chmod: EPERM otherwise, also through fchmod', async (ctx) => {
      need(ctx, t(), 'users');
      await mkfile(t(), 'f', 0o644, U1, G1);
      const owner = await t().asUser(U1, G1);
      const other = await t().asUser(U2, G2);
      await expectErrno(other.chmod('f', 0o666), 'EPERM');
      const fd = await other.open('f', C.O_RDONLY);
      await expectErrno(other.fchmod(fd, 0o666), 'EPERM');
      await other.close(fd);
      await owner.chmod('f', 0o600);
      expect(perms((await t().stat('f')).mode)).toBe(0o600);
    });

    it('a non-member owner setting S_ISGID has it silently cleared; S_ISUID stays', async (ctx) => {
      need(ctx, t(), 'users');
      await mkfile(t(), 'f', 0o644, U1, GS);
      const owner = await t().asUser(U1, G1);
      await owner.chmod('f', 0o6755);
      expect(perms((await t().stat('f')).mode)).toBe(0o4755);
      const member = await t().asUser(U1, G1, [GS]);
      await member.chmod('f', 0o6755);
      expect(perms((await t().stat('f')).mode)).toBe(0o6755);
    });
  });

  describe('chown', () => {
    it('a non-root owner may not give a file away; may change its group to one of its own groups only', async (ctx) => {
      need(ctx, t(), 'users');
      await mkfile(t(), 'f', 0o644, U1, G1);
      const owner = await t().asUser(U1, G1, [GS]);
      const other = await t().asUser(U2, G2);
      await expectErrno(owner.chown('f', U2, -1), 'EPERM');
      await expectErrno(owner.chown('f', -1, G2), 'EPERM');
      await owner.chown('f', U1, -1);
      await owner.chown('f', -1, GS);
      expect((await t().stat('f')).gid).toBe(GS);
      await owner.chown('f', -1, G1);
      await expectErrno(other.chown('f', -1, G2), 'EPERM');
      await expectErrno(other.chown('f', U2, G2), 'EPERM');
      const fd = await other.open('f', C.O_RDONLY);
      await expectErrno(other.fchown(fd, U2, -1), 'EPERM');
      await other.close(fd);
    });

    it('lchown changes the symlink, chown its target', async () => {
      await mkfile(t(), 'f', 0o644);
      await t().symlink('f', 'l');
      await t().lchown('l', U1, G1);
      expect([(await t().lstat('l')).uid, (await t().stat('l')).uid]).toEqual([U1, 0]);
      await t().chown('l', U2, G2);
      expect([(await t().lstat('l')).uid, (await t().stat('f')).uid]).toEqual([U1, U2]);
    });

    it('chown clears S_ISUID, and S_ISGID when group-executable, even for root; -1,-1 too', async () => {
      await mkfile(t(), 'a', 0o6755);
      await t().chown('a', U1, G1);
      expect(perms((await t().stat('a')).mode)).toBe(0o755);
      await mkfile(t(), 'b', 0o2644);
      await t().chown('b', U1, G1);
      expect(perms((await t().stat('b')).mode)).toBe(0o2644);
      await mkfile(t(), 'c', 0o4755);
      await t().chown('c', -1, -1);
      expect(perms((await t().stat('c')).mode)).toBe(0o755);
      // Directories keep theirs.
      await t().mkdir('d', 0o755);
      await t().chmod('d', 0o2755);
      await t().chown('d', U1, G1);
      expect(perms((await t().stat('d')).mode)).toBe(0o2755);
    });
  });

  describe('set-user-ID and set-group-ID on write', () => {
    it('a write or truncate by a non-root user clears S_ISUID and group-executable S_ISGID', async (ctx) => {
      need(ctx, t(), 'users');
      await mkfile(t(), 'f', 0o6777, U1, G1);
      const other = await t().asUser(U2, G2);
      const fd = await other.open('f', C.O_WRONLY);
      await other.write(fd, 'x');
      await other.close(fd);
      expect(perms((await t().stat('f')).mode)).toBe(0o777);
      await mkfile(t(), 'g', 0o4777, U1, G1);
      await other.truncate('g', 1);
      expect(perms((await t().stat('g')).mode)).toBe(0o777);
      await mkfile(t(), 'h', 0o4777, U1, G1);
      const owner = await t().asUser(U1, G1);
      await writeFile(owner, 'h', 'owner writes too');
      expect(perms((await t().stat('h')).mode)).toBe(0o777);
    });

    it('S_ISGID without group-execute goes only for a writer or chown-er outside the file\'s group', async (ctx) => {
      need(ctx, t(), 'users');
      // Linux setattr_should_drop_sgid: a non-group-executable S_ISGID file loses the bit when
      // the caller is neither in its group (fsgid or supplementary) nor privileged.
      const outsider = await t().asUser(U2, G2);
      const member = await t().asUser(U2, G2, [G1]);
      await mkfile(t(), 'w1', 0o2767, U1, G1);
      await writeFile(outsider, 'w1', 'x');
      expect(perms((await t().stat('w1')).mode)).toBe(0o767);
      await mkfile(t(), 'w2', 0o2767, U1, G1);
      await writeFile(member, 'w2', 'x');
      expect(perms((await t().stat('w2')).mode)).toBe(0o2767);
      await mkfile(t(), 't1', 0o6767, U1, G1);
      await outsider.truncate('t1', 1);
      expect(perms((await t().stat('t1')).mode)).toBe(0o767);
      await mkfile(t(), 't2', 0o6767, U1, G1);
      await member.truncate('t2', 1);
      expect(perms((await t().stat('t2')).mode)).toBe(0o2767);
      // chown by the owner: the file's group before the change decides.
      await mkfile(t(), 'c1', 0o2767, U2, G1);
      await outsider.chown('c1', -1, G2);
      expect(perms((await t().stat('c1')).mode)).toBe(0o767);
      await mkfile(t(), 'c2', 0o2767, U2, G1);
      await member.chown('c2', -1, G2);
      expect(perms((await t().stat('c2')).mode)).toBe(0o2767);
      // Root (CAP_FSETID) keeps it.
      await mkfile(t(), 'c3', 0o2767, U2, G1);
      await t().chown('c3', U1, G2);
      expect(perms((await t().stat('c3')).mode)).toBe(0o2767);
    });

    it('truncate(2) to the size the file already has still clears the set-id bits', async (ctx) => {
      need(ctx, t(), 'users');
      // do_truncate() asks dentry_needs_remove_privs() whatever the new size.
      const other = await t().asUser(U2, G2);
      await mkfile(t(), 'f', 0o6777, U1, G1, 'four');
      await other.truncate('f', 4);
      const st = await t().stat('f');
      expect([perms(st.mode), st.size]).toEqual([0o777, 4]);
      await mkfile(t(), 'g', 0o4666, U1, G1, 'four');
      const fd = await other.open('g', C.O_WRONLY);
      await other.ftruncate(fd, 4);
      await other.close(fd);
      expect(perms((await t().stat('g')).mode)).toBe(0o666);
    });

    it('root (CAP_FSETID) writing keeps the bits', async () => {
      await mkfile(t(), 'f', 0o6777, U1, G1);
      const fd = await t().open('f', C.O_WRONLY);
      await t().write(fd, 'x');
      await t().close(fd);
      expect(perms((await t().stat('f')).mode)).toBe(0o6777);
    });
  });

  describe('utimensat permissions', () => {
    it('UTIME_NOW needs ownership or write permission; explicit times need ownership', async (ctx) => {
      need(ctx, t(), 'users');
      await mkfile(t(), 'w', 0o666, U1, G1);
      await mkfile(t(), 'r', 0o644, U1, G1);
      const owner = await t().asUser(U1, G1);
      const other = await t().asUser(U2, G2);
      const then = { sec: 1_000_000, nsec: 5 };
      await other.utimensat('w', null);
      await other.utimensat('w', ['now', 'now']);
      await expectErrno(other.utimensat('w', [then, then]), 'EPERM');
      await expectErrno(other.utimensat('w', [then, 'omit']), 'EPERM');
      await expectErrno(other.utimensat('r', null), 'EACCES');
      await expectErrno(other.utimensat('r', [then, then]), 'EPERM');
      await owner.utimensat('r', [then, then]);
      expect((await t().stat('r')).mtime).toEqual(then);
      await t().utimensat('r', [{ sec: 7, nsec: 0 }, { sec: 8, nsec: 0 }]);
      expect((await t().stat('r')).mtime).toEqual({ sec: 8, nsec: 0 });
    });
  });

  describe('special files and umask', () => {
    it('device nodes need privilege (EPERM); FIFOs do not', async (ctx) => {
      need(ctx, t(), 'users');
      await mkdirAs(t(), 'w', 0o777);
      const u = await t().asUser(U1, G1);
      await expectErrno(u.mknod('w/c', C.S_IFCHR | 0o600, (1 << 8) | 3), 'EPERM');
      await expectErrno(u.mknod('w/b', C.S_IFBLK | 0o600, (1 << 8) | 3), 'EPERM');
      await u.mkfifo('w/p', 0o600);
      expect((await t().stat('w/p')).uid).toBe(U1);
    });

    it('each process has its own umask', async (ctx) => {
      need(ctx, t(), 'users');
      await mkdirAs(t(), 'w', 0o777);
      const u = await t().asUser(U1, G1);
      expect(await u.umask(0o077)).toBe(0o022);
      await u.close(await u.open('w/f', C.O_CREAT | C.O_WRONLY, 0o666));
      expect(perms((await t().stat('w/f')).mode)).toBe(0o600);
      await t().close(await t().open('w/g', C.O_CREAT | C.O_WRONLY, 0o666));
      expect(perms((await t().stat('w/g')).mode)).toBe(0o644);
    });
  });
});
