/**
 * Walks up the tree (vfs_getcwd.ts) and the vnode lock rule: on a file
 * system that checks the rule on every VOP (lockcheck.ts), getcwd, rename's
 * ancestor check, /proc paths and the ordinary calls lock every vnode they
 * read; getcwd and /proc stop at PATH_MAX with ENAMETOOLONG; rename's
 * ancestor walk stops at MAX_ANCESTRY with ELOOP.
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '../kern/kernel.ts';
import { kernComponent } from '../kern/kern_component.ts';
import { Lwp } from '../kern/sched.ts';
import { SimHost } from '../hyper/sim/host.ts';
import { AT_FDCWD, O_CREAT, O_RDONLY, O_RDWR, PATH_MAX, SEEK_DATA } from '../kern/constants.ts';
import { vfsComponent } from './vfs_component.ts';
import { tmpfsComponent, tmpfsType } from './tmpfs.ts';
import { procfsComponent } from './procfs.ts';
import { vfsOf } from './vfs.ts';
import { lookupPath } from './namei.ts';
import { vrele } from './vnode.ts';
import { MAX_ANCESTRY } from './vfs_getcwd.ts';
import { type LockChecked, lockCheckedType } from './lockcheck.ts';
import { BootedKernel, expectCode, ls, readFile, writeFile } from './testkit.ts';

/** kern + vfs + tmpfs + procfs on the sim host (strict lockdep), with a lock-checked tmpfs type registered. */
async function withKernel(fn: (k: BootedKernel, lc: LockChecked) => Promise<void>): Promise<void> {
  const host = new SimHost({ seed: 7, params: { lockdep: 'strict' } });
  const kernel = new Kernel(host);
  await kernel.boot([kernComponent, vfsComponent, tmpfsComponent, procfsComponent]);
  const lc = lockCheckedType(tmpfsType);
  vfsOf(kernel).registerFsType(lc.type);
  try {
    await host.run(() => fn(new BootedKernel(kernel), lc), { limitSteps: 5_000_000 });
  } finally {
    host.dispose();
  }
}

describe('walks lock every vnode they read', () => {
  it('getcwd, rename, /proc paths and the ordinary calls on a blocking file system take the lock the rule asks for', () =>
    withKernel(async (k, lc) => {
      const s = k.sys;
      await s.mkdir('/mnt', 0o755);
      await s.mount('none', '/mnt', lc.type.name, 0, '');
      await s.mkdir('/mnt/a', 0o755);
      await s.mkdir('/mnt/a/b', 0o755);
      await s.mkdir('/mnt/c', 0o755);
      await writeFile(s, '/mnt/a/f', 'data');
      await s.link('/mnt/a/f', '/mnt/c/g');
      await s.symlink('a/f', '/mnt/l');
      expect(await readFile(s, '/mnt/l')).toBe('data');
      expect(await s.readlink('/mnt/l')).toBe('a/f');
      await s.chmod('/mnt/a/f', 0o600);
      expect(await ls(s, '/mnt/a')).toEqual(['b', 'f']);
      const fd = await s.open('/mnt/a/f', O_RDWR);
      expect(await s.lseek(fd, 0, SEEK_DATA)).toBe(0);
      await s.fsync(fd);
      await s.chdir('/mnt/a/b');
      expect(await s.getcwd()).toBe('/mnt/a/b');
      expect(await s.readlink('/proc/self/cwd')).toBe('/mnt/a/b');
      expect(await s.readlink(`/proc/self/fd/${fd}`)).toBe('/mnt/a/f');
      await s.close(fd);
      await s.chdir('/');
      // rename's ancestor checks walk up from both directories.
      await expectCode(s.rename('/mnt/a', '/mnt/a/b/x'), 'EINVAL');
      await expectCode(s.rename('/mnt/a/b', '/mnt/a'), 'ENOTEMPTY');
      await s.rename('/mnt/a/b', '/mnt/c/b');
      await s.rename('/mnt/c/g', '/mnt/a/g');
      await s.rmdir('/mnt/c/b');
      await s.unlink('/mnt/a/g');
      expect(lc.calls).toBeGreaterThan(50);
      expect(lc.violations).toEqual([]);
    }));

  it('the checker itself catches a VOP called on a vnode its caller has not locked', () =>
    withKernel(async (k, lc) => {
      const s = k.sys;
      await s.mkdir('/mnt', 0o755);
      await s.mount('none', '/mnt', lc.type.name, 0, '');
      await s.mkdir('/mnt/d', 0o755);
      const td = new Lwp(k.kernel, k.curproc, 'bare');
      const d = await lookupPath(td, AT_FDCWD, '/mnt/d', false);
      try {
        const r = d.ops.lookup(d, td, 'x');
        expect(r instanceof Promise ? await r : r).toBeNull();
      } finally {
        vrele(d);
      }
      expect(lc.violations).toEqual([expect.stringMatching(/^VOP lookup argument 0 \(vnode_dir \S+\) not held by bare\[\d+\] \(unlocked\) at .*vfs_getcwd\.test\.ts:\d+/)]);
    }));
});

describe('walks are bounded', () => {
  it('getcwd answers ENAMETOOLONG once the path passes PATH_MAX bytes, and so does /proc/self/cwd', () =>
    withKernel(async (k) => {
      const s = k.sys;
      const name = 'd'.repeat(200);
      // 1 + 201 × 20 = 4021 bytes: fits (with its NUL) in PATH_MAX.
      await s.mkdir('/deep', 0o755);
      await s.chdir('/deep');
      let depth = 0;
      for (; depth < 20; depth++) {
        await s.mkdir(name, 0o755);
        await s.chdir(name);
      }
      const fits = await s.getcwd();
      expect(fits.length).toBe(5 + 201 * 20);
      expect(fits.length + 1).toBeLessThanOrEqual(PATH_MAX);
      expect(await s.readlink('/proc/self/cwd')).toBe(fits);
      await s.mkdir(name, 0o755);
      await s.chdir(name); // relative: the walk never needs the whole path
      await expectCode(s.getcwd(), 'ENAMETOOLONG');
      await expectCode(s.readlink('/proc/self/cwd'), 'ENAMETOOLONG');
      await s.chdir('..');
      expect(await s.getcwd()).toBe(fits);
      const fd = await s.open('.', O_RDONLY);
      await s.close(fd);
      const f = await s.open('file', O_CREAT | O_RDWR, 0o644);
      await s.close(f);
    }));

  it(`rename's ancestor walk stops after MAX_ANCESTRY (${MAX_ANCESTRY}) directories with ELOOP`, () =>
    withKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/top', 0o755);
      await s.mkdir('/top/t', 0o755);
      await s.mkdir('/other', 0o755);
      await s.chdir('/top/t');
      for (let i = 0; i < MAX_ANCESTRY + 2; i++) {
        await s.mkdir('x', 0o755);
        await s.chdir('x');
        if (i === 100) {
          // Well inside the bound the walk answers: moving a directory under itself is EINVAL.
          await expectCode(s.rename('/top/t', 'under'), 'EINVAL');
        }
      }
      // Deeper than the bound the answer is not known: ELOOP, and nothing moved.
      await expectCode(s.rename('/top/t', 'under'), 'ELOOP');
      await expectCode(s.rename('/other', 'here'), 'ELOOP');
      expect(await ls(s, '/')).toEqual(['other', 'proc', 'top']);
      await s.mkdir('mine', 0o755);
      await s.rename('mine', 'yours'); // the same directory: no walk at all
    }));
});
