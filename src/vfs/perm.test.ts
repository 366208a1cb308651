/**
 * Permission rules (perm.ts) as root and as unprivileged processes created
 * with k.rfork({ uid, gid, groups }).
 */
import { describe, expect, it } from 'vitest';
import {
  AT_EACCESS, AT_FDCWD, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, R_OK, S_ISGID, S_ISUID, S_ISVTX, UTIME_NOW, UTIME_OMIT,
  W_OK, X_OK,
} from '../kern/constants.ts';
import { asUser, code, expectCode, simKernel, writeFile } from './testkit.ts';

describe('permissions', () => {
  it('owner, then group (incl. supplementary), then other decide — the first matching class only', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'x', 0o604); // owner rw, group none, other r
      await s.chown('/f', 1000, 50);
      const owner = asUser(k, 1000, 1000);
      const member = asUser(k, 2000, 2000, [50]);
      const other = asUser(k, 3000, 3000);
      expect(await code(owner.open('/f', O_RDONLY))).toBe('ok');
      // The group class matches and has no bits, even though "other" could read.
      await expectCode(member.open('/f', O_RDONLY), 'EACCES');
      expect(await code(other.open('/f', O_RDONLY))).toBe('ok');
      await expectCode(other.open('/f', O_WRONLY), 'EACCES');
      await s.chmod('/f', 0o070);
      await expectCode(owner.open('/f', O_RDONLY), 'EACCES');
      expect(await code(member.open('/f', O_RDWR))).toBe('ok');
    }));

  it('root reads and writes anything, searches any directory, but executes only with some x bit', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'x', 0o000);
      await s.mkdir('/d', 0o000);
      expect(await code(s.open('/f', O_RDWR))).toBe('ok');
      expect(await code(s.stat('/d/.'))).toBe('ok');
      await expectCode(s.access('/f', X_OK), 'EACCES');
      await s.chmod('/f', 0o001);
      expect(await code(s.access('/f', X_OK))).toBe('ok');
      expect(await code(s.access('/d', X_OK))).toBe('ok');
    }));

  it('access() uses the real ids, AT_EACCESS the effective ones', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'x', 0o600);
      const u = asUser(k, 1000, 1000);
      await expectCode(u.access('/f', R_OK), 'EACCES');
      // A root process that drops only its effective uid: access() still answers for real uid 0.
      const p = k.rfork({});
      const ps = p.sys as unknown as typeof s;
      await ps.setresuid(0, 1000, 0);
      expect(await code(ps.access('/f', R_OK | W_OK))).toBe('ok');
      await expectCode(ps.faccessat(AT_FDCWD, '/f', R_OK, AT_EACCESS), 'EACCES');
      await expectCode(ps.access('/f', 8), 'EINVAL');
    }));

  it('sticky directory: only the file owner, the directory owner or root may unlink or rename (EPERM)', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/tmp', 0o777 | S_ISVTX);
      await s.chmod('/tmp', 0o1777);
      const alice = asUser(k, 1000, 1000);
      const bob = asUser(k, 1001, 1001);
      await writeFile(alice, '/tmp/a', 'a', 0o666);
      await expectCode(bob.unlink('/tmp/a'), 'EPERM');
      await expectCode(bob.rename('/tmp/a', '/tmp/b'), 'EPERM');
      await writeFile(bob, '/tmp/bfile', 'b', 0o666);
      await expectCode(bob.rename('/tmp/bfile', '/tmp/a'), 'EPERM'); // replacing alice's file
      await s.chown('/tmp', 1001, 1001); // bob owns the directory now
      expect(await code(bob.unlink('/tmp/a'))).toBe('ok');
      await alice.mkdir('/tmp/ad', 0o777);
      await s.chown('/tmp', 0, 0);
      await expectCode(bob.rmdir('/tmp/ad'), 'EPERM');
      expect(await code(s.rmdir('/tmp/ad'))).toBe('ok');
    }));

  it('setgid directory: new entries take its group, new subdirectories inherit S_ISGID', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/g', 0o777);
      await s.chown('/g', 0, 77);
      await s.chmod('/g', 0o2777);
      const u = asUser(k, 1000, 1000);
      await writeFile(u, '/g/f', 'x', 0o644);
      await u.mkdir('/g/sub', 0o755);
      const f = await u.stat('/g/f');
      const sub = await u.stat('/g/sub');
      expect(f.gid).toBe(77);
      expect(f.mode & S_ISGID).toBe(0);
      expect(sub.gid).toBe(77);
      expect(sub.mode & S_ISGID).toBe(S_ISGID);
      // Outside it, the creator's group.
      await s.mkdir('/open', 0o777);
      await s.chmod('/open', 0o777);
      await writeFile(u, '/open/f', 'x');
      expect((await u.stat('/open/f')).gid).toBe(1000);
    }));

  it('umask applies on create and mkdir', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.umask(0o027);
      await writeFile(s, '/f', '', 0o666);
      await s.mkdir('/d', 0o777);
      expect((await s.stat('/f')).mode & 0o7777).toBe(0o640);
      expect((await s.stat('/d')).mode & 0o7777).toBe(0o750);
      await s.umask(0o022);
    }));

  it('chmod: owner or root only (EPERM); a non-member loses S_ISGID silently', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'x', 0o644);
      await s.chown('/f', 1000, 50);
      const owner = asUser(k, 1000, 1000);
      const other = asUser(k, 1001, 1001);
      await expectCode(other.chmod('/f', 0o777), 'EPERM');
      await owner.chmod('/f', 0o2755);
      expect((await s.stat('/f')).mode & 0o7777).toBe(0o755);
      const member = asUser(k, 1000, 1000, [50]);
      await member.chmod('/f', 0o2755);
      expect((await s.stat('/f')).mode & 0o7777).toBe(0o2755);
      await s.chmod('/f', 0o4755);
      expect((await s.stat('/f')).mode & 0o7777).toBe(0o4755);
    }));

  it('chown: only root changes the owner; the owner may pick one of its groups; -1 leaves a field', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'x', 0o644);
      await s.chown('/f', 1000, 1000);
      const owner = asUser(k, 1000, 1000, [60]);
      const other = asUser(k, 1001, 1001);
      await expectCode(owner.chown('/f', 1001, -1), 'EPERM');
      await expectCode(owner.chown('/f', -1, 61), 'EPERM');
      expect(await code(owner.chown('/f', -1, 60))).toBe('ok');
      expect(await code(owner.chown('/f', 1000, -1))).toBe('ok');
      expect((await s.stat('/f')).gid).toBe(60);
      await expectCode(other.chown('/f', -1, 1001), 'EPERM');
      await expectCode(other.chown('/f', 1000, -1), 'EPERM');
      expect(await code(other.chown('/f', -1, -1))).toBe('ok');
      await s.chown('/f', 4242, 4343);
      const st = await s.stat('/f');
      expect([st.uid, st.gid]).toEqual([4242, 4343]);
    }));

  it('chown clears S_ISUID and executable S_ISGID, even for root; non-executable S_ISGID stays', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'x');
      await s.chmod('/f', 0o6755);
      await s.chown('/f', 5, 5);
      expect((await s.stat('/f')).mode & 0o7777).toBe(0o755);
      await s.chmod('/f', 0o6745); // S_ISGID without group x
      await s.chown('/f', 6, 6);
      expect((await s.stat('/f')).mode & 0o7777).toBe(0o2745);
      await s.mkdir('/d', 0o755);
      await s.chmod('/d', 0o2755);
      await s.chown('/d', 7, 7);
      expect((await s.stat('/d')).mode & 0o7777).toBe(0o2755);
    }));

  it('a write by a non-root caller clears S_ISUID (and executable S_ISGID); root keeps them', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'x', 0o666);
      await s.chmod('/f', 0o6777);
      const fd0 = await s.open('/f', O_WRONLY);
      await s.write(fd0, new Uint8Array([1]));
      await s.close(fd0);
      expect((await s.stat('/f')).mode & 0o7777).toBe(0o6777);
      const u = asUser(k, 1000, 1000);
      const fd = await u.open('/f', O_WRONLY);
      await u.write(fd, new Uint8Array([1]));
      await u.close(fd);
      expect((await s.stat('/f')).mode & (S_ISUID | S_ISGID)).toBe(0);
    }));

  it('utimensat: UTIME_NOW by owner or writer; explicit times by owner or root (EPERM); UTIME_OMIT keeps', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'x', 0o666);
      await s.chown('/f', 1000, 1000);
      const owner = asUser(k, 1000, 1000);
      const writer = asUser(k, 1001, 1001);
      await s.chmod('/f', 0o644);
      await expectCode(writer.utimensat(AT_FDCWD, '/f', null, 0), 'EACCES');
      await s.chmod('/f', 0o666);
      expect(await code(writer.utimensat(AT_FDCWD, '/f', null, 0))).toBe('ok');
      expect(await code(writer.utimensat(AT_FDCWD, '/f', [{ sec: 0, nsec: UTIME_NOW }, { sec: 0, nsec: UTIME_NOW }], 0))).toBe('ok');
      await expectCode(writer.utimensat(AT_FDCWD, '/f', [{ sec: 5, nsec: 0 }, { sec: 0, nsec: UTIME_OMIT }], 0), 'EPERM');
      await owner.utimensat(AT_FDCWD, '/f', [{ sec: 100, nsec: 7 }, { sec: 0, nsec: UTIME_OMIT }], 0);
      const before = await s.stat('/f');
      expect(before.atime).toEqual({ sec: 100, nsec: 7 });
      await s.utimensat(AT_FDCWD, '/f', [{ sec: 0, nsec: UTIME_OMIT }, { sec: 200, nsec: 999_999_999 }], 0);
      const after = await s.stat('/f');
      expect(after.atime).toEqual({ sec: 100, nsec: 7 });
      expect(after.mtime).toEqual({ sec: 200, nsec: 999_999_999 });
      await expectCode(s.utimensat(AT_FDCWD, '/f', [{ sec: 0, nsec: 1_000_000_000 }, { sec: 0, nsec: 0 }], 0), 'EINVAL');
      // Both UTIME_OMIT: success without even looking the file up.
      expect(await code(writer.utimensat(AT_FDCWD, '/missing', [{ sec: 0, nsec: UTIME_OMIT }, { sec: 0, nsec: UTIME_OMIT }], 0))).toBe('ok');
    }));

  it('mknod of device nodes needs root (EPERM); FIFOs and sockets do not', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o777);
      await s.chmod('/d', 0o777);
      const u = asUser(k, 1000, 1000);
      await expectCode(u.mknod('/d/c', 0o020644, 0x0103), 'EPERM');
      await expectCode(u.mknod('/d/b', 0o060644, 0x0801), 'EPERM');
      expect(await code(u.mknod('/d/p', 0o010644, 0))).toBe('ok');
      expect(await code(u.mknod('/d/s', 0o140644, 0))).toBe('ok');
      expect(await code(s.mknod('/d/c', 0o020644, 0x0103))).toBe('ok');
      expect((await s.stat('/d/c')).rdev).toBe(0x0103);
      await expectCode(s.mknod('/d/x', 0o040755, 0), 'EPERM');
      await expectCode(s.mknod('/d/y', 0o170755, 0), 'EINVAL');
      await expectCode(s.open('/d/s', O_RDONLY), 'ENXIO');
      await expectCode(s.open('/d/c', O_RDONLY), 'ENXIO'); // no driver registered
    }));

  it('hard links to files one cannot read and write are EPERM for non-owners (protected_hardlinks)', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o777);
      await s.chmod('/d', 0o777);
      await writeFile(s, '/d/secret', 'x', 0o600);
      const u = asUser(k, 1000, 1000);
      await expectCode(u.link('/d/secret', '/d/mine'), 'EPERM');
      await s.chmod('/d/secret', 0o666);
      expect(await code(u.link('/d/secret', '/d/mine'))).toBe('ok');
      await s.chmod('/d/secret', 0o4666);
      await expectCode(u.link('/d/secret', '/d/mine2'), 'EPERM');
    }));

  it('O_CREAT in a directory without write permission is EACCES; opening existing files is not', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/ro', 0o755);
      await writeFile(s, '/ro/f', 'x', 0o666);
      await s.chmod('/ro/f', 0o666);
      const u = asUser(k, 1000, 1000);
      await expectCode(u.open('/ro/g', O_CREAT | O_WRONLY, 0o644), 'EACCES');
      expect(await code(u.open('/ro/f', O_CREAT | O_WRONLY, 0o644))).toBe('ok');
      await expectCode(u.unlink('/ro/f'), 'EACCES');
      await expectCode(u.mkdir('/ro/x', 0o755), 'EACCES');
      await expectCode(u.mkdir('/ro/f', 0o755), 'EEXIST');
    }));
});
