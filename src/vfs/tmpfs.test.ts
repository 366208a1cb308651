/**
 * tmpfs: sparse files, hard links, limits (size=, nr_inodes= → ENOSPC),
 * directories that stay correct and fast at 100k entries, stable readdir
 * cookies while unlinking, unlinked-but-open files; plus the mount table
 * (EBUSY, EROFS, statfs, remount, MNT_DETACH).
 */
import { describe, expect, it } from 'vitest';
import {
  AT_FDCWD, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SEEK_DATA, SEEK_HOLE, SEEK_SET,
} from '../kern/constants.ts';
import { MNT_DETACH, MS_RDONLY, MS_REMOUNT } from './vnode.ts';
import { TMPFS_MAGIC, tmpfsUsage } from './tmpfs.ts';
import { vfsOf } from './vfs.ts';
import { code, expectCode, ls, readFile, simKernel, writeFile } from './testkit.ts';

describe('tmpfs files', () => {
  it('sparse: a write far out allocates one page; holes read as zeros; st_blocks counts only data', () =>
    simKernel(async (k) => {
      const s = k.sys;
      const fd = await s.open('/sparse', O_CREAT | O_RDWR, 0o644);
      const before = tmpfsUsage(vfsOf(k.kernel).rootMount!).bytes;
      await s.pwrite(fd, new Uint8Array([1, 2, 3]), 2 ** 40);
      const st = await s.fstat(fd);
      expect(st.size).toBe(2 ** 40 + 3);
      expect(st.blocks).toBe(8); // one 4 KiB unit
      expect(tmpfsUsage(vfsOf(k.kernel).rootMount!).bytes - before).toBe(4096);
      const b = new Uint8Array(10).fill(9);
      expect(await s.pread(fd, b, 2 ** 40 - 5)).toBe(8);
      expect([...b.subarray(0, 8)]).toEqual([0, 0, 0, 0, 0, 1, 2, 3]);
      const mid = new Uint8Array(100000).fill(9);
      expect(await s.pread(fd, mid, 12345)).toBe(100000);
      expect(mid.every((x) => x === 0)).toBe(true);
      await s.close(fd);
    }));

  it('SEEK_DATA/SEEK_HOLE find the 64 KiB pages that hold data; ENXIO past the last data and at EOF', () =>
    simKernel(async (k) => {
      const s = k.sys;
      const fd = await s.open('/h', O_CREAT | O_RDWR, 0o644);
      await s.pwrite(fd, new Uint8Array([1]), 3 * 65536 + 10);
      await s.pwrite(fd, new Uint8Array([1]), 4 * 65536 + 10);
      await s.ftruncate(fd, 10 * 65536);
      expect(await s.lseek(fd, 0, SEEK_DATA)).toBe(3 * 65536);
      expect(await s.lseek(fd, 0, SEEK_HOLE)).toBe(0);
      expect(await s.lseek(fd, 3 * 65536 + 5, SEEK_HOLE)).toBe(5 * 65536);
      expect(await s.lseek(fd, 4 * 65536 + 99, SEEK_DATA)).toBe(4 * 65536 + 99);
      await expectCode(s.lseek(fd, 5 * 65536, SEEK_DATA), 'ENXIO');
      expect(await s.lseek(fd, 9 * 65536, SEEK_HOLE)).toBe(9 * 65536);
      await expectCode(s.lseek(fd, 10 * 65536, SEEK_HOLE), 'ENXIO');
      await s.close(fd);
    }));

  it('writes across page boundaries read back exactly; truncate shrinks, zeroes the tail, and grows with zeros', () =>
    simKernel(async (k) => {
      const s = k.sys;
      const data = new Uint8Array(200_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
      const fd = await s.open('/f', O_CREAT | O_RDWR, 0o644);
      await s.pwrite(fd, data.subarray(0, 70_000), 0);
      await s.pwrite(fd, data.subarray(70_000), 70_000);
      const back = new Uint8Array(200_000);
      expect(await s.pread(fd, back, 0)).toBe(200_000);
      expect(back).toEqual(data);
      await s.ftruncate(fd, 65_540);
      await s.ftruncate(fd, 140_000);
      const t = new Uint8Array(140_000);
      expect(await s.pread(fd, t, 0)).toBe(140_000);
      expect(t.subarray(0, 65_540)).toEqual(data.subarray(0, 65_540));
      expect(t.subarray(65_540).every((x) => x === 0)).toBe(true);
      await s.ftruncate(fd, 0);
      expect((await s.fstat(fd)).blocks).toBe(0);
      await s.close(fd);
    }));

  it('hard links share data and count; the data outlives the last name while a descriptor is open', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/a', 'shared');
      await s.link('/a', '/b');
      expect((await s.stat('/a')).nlink).toBe(2);
      expect((await s.stat('/a')).ino).toBe((await s.stat('/b')).ino);
      const fd = await s.open('/b', O_RDWR);
      await s.unlink('/a');
      await s.unlink('/b');
      expect((await s.fstat(fd)).nlink).toBe(0);
      const buf = new Uint8Array(6);
      expect(await s.pread(fd, buf, 0)).toBe(6);
      expect(new TextDecoder().decode(buf)).toBe('shared');
      const inodes = tmpfsUsage(vfsOf(k.kernel).rootMount!).inodes;
      await s.close(fd);
      expect(tmpfsUsage(vfsOf(k.kernel).rootMount!).inodes).toBe(inodes - 1);
      await expectCode(s.link('/', '/x'), 'EPERM');
    }));

  it('every node type: regular, directory, symlink, FIFO, socket, char and block devices', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/r');
      await s.mkdir('/d', 0o755);
      await s.symlink('r', '/l');
      await s.mknod('/p', 0o010644, 0);
      await s.mknod('/so', 0o140644, 0);
      await s.mknod('/c', 0o020644, 0x0501);
      await s.mknod('/b', 0o060644, 0x0802);
      const types = new Map<string, number>();
      const fd = await s.open('/', O_RDONLY);
      for (const e of (await s.getdents64(fd, 4096)) as { name: string; type: number }[]) types.set(e.name, e.type);
      await s.close(fd);
      expect(Object.fromEntries(types)).toEqual({ '.': 4, '..': 4, r: 8, d: 4, l: 10, p: 1, so: 12, c: 2, b: 6 });
      expect((await s.lstat('/l')).size).toBe(1);
      expect((await s.stat('/b')).rdev).toBe(0x0802);
    }));
});

describe('tmpfs limits', () => {
  it('size=: writes fail with ENOSPC past the limit, short when partly fitting; freeing makes room', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/m', 0o755);
      await s.mount('tmpfs', '/m', 'tmpfs', 0, 'size=256k');
      const st = await s.statfs('/m');
      expect(st.type).toBe(TMPFS_MAGIC);
      expect(st.blocks * st.bsize).toBe(256 * 1024);
      const fd = await s.open('/m/f', O_CREAT | O_RDWR, 0o644);
      const big = new Uint8Array(300 * 1024);
      const n = await s.write(fd, big);
      expect(n).toBe(256 * 1024);
      await expectCode(s.write(fd, new Uint8Array(10)), 'ENOSPC');
      expect((await s.statfs('/m')).bfree).toBe(0);
      await s.ftruncate(fd, 0);
      expect(await s.write(fd, new Uint8Array(1000))).toBe(1000);
      await s.close(fd);
      await s.unlink('/m/f');
      await s.umount2('/m', 0);
    }));

  it('nr_inodes=: creating past the limit is ENOSPC; unlinking frees an inode', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/m', 0o755);
      await s.mount('tmpfs', '/m', 'tmpfs', 0, 'nr_inodes=4');
      await writeFile(s, '/m/a');
      await s.mkdir('/m/b', 0o755);
      await s.symlink('a', '/m/c');
      await expectCode(s.open('/m/d', O_CREAT | O_WRONLY, 0o644), 'ENOSPC');
      await expectCode(s.mkdir('/m/d', 0o755), 'ENOSPC');
      const sf = await s.statfs('/m');
      expect([sf.files, sf.ffree]).toEqual([4, 0]);
      await s.unlink('/m/c');
      await writeFile(s, '/m/d');
      await expectCode(s.mount('tmpfs', '/m', 'tmpfs', 0, 'bogus=1'), 'EINVAL');
      await expectCode(s.mount('tmpfs', '/m', 'tmpfs', 0, 'size=12q'), 'EINVAL');
    }));
});

describe('tmpfs directories', () => {
  it('100k entries: create, lookup, readdir (each once) and unlink stay correct', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/big', 0o755);
      const N = 100_000;
      for (let i = 0; i < N; i++) await s.mknod(`/big/f${i}`, 0o100644, 0);
      expect((await s.stat('/big/f99999')).nlink).toBe(1);
      const names = await ls(s, '/big');
      expect(names.length).toBe(N);
      expect(new Set(names).size).toBe(N);
      for (let i = 0; i < N; i += 2) await s.unlink(`/big/f${i}`);
      const left = await ls(s, '/big');
      expect(left.length).toBe(N / 2);
      expect(left.every((n) => Number(n.slice(1)) % 2 === 1)).toBe(true);
    }, 1, { memlimit: String(1 << 30) }), 120_000); // 1 GiB: the default nr_inodes is then 131072

  it('readdir while unlinking: every survivor is listed exactly once, cookies resume where they left off', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      for (let i = 0; i < 500; i++) await s.mknod(`/d/e${i}`, 0o100644, 0);
      const fd = await s.open('/d', O_RDONLY);
      const seen: string[] = [];
      let round = 0;
      for (;;) {
        const ents = (await s.getdents64(fd, 200)) as { name: string; off: number }[];
        if (ents.length === 0) break;
        for (const e of ents) if (e.name !== '.' && e.name !== '..') seen.push(e.name);
        // Unlink some entries behind and ahead of the cursor, add a new one.
        await s.unlink(`/d/e${(round * 37) % 500}`).catch(() => undefined);
        await s.unlink(`/d/e${499 - ((round * 13) % 250)}`).catch(() => undefined);
        round++;
      }
      const survivors = await ls(s, '/d');
      expect(new Set(seen).size).toBe(seen.length); // nothing twice
      for (const n of survivors) expect(seen).toContain(n);
      // Seeking back to a saved cookie resumes after that entry.
      await s.lseek(fd, 0, SEEK_SET);
      const first = (await s.getdents64(fd, 4096)) as { name: string; off: number }[];
      await s.lseek(fd, first[5]!.off, SEEK_SET);
      const again = (await s.getdents64(fd, 4096)) as { name: string }[];
      expect(again[0]!.name).toBe(first[6]!.name);
      await expectCode(s.getdents64(fd, 10), 'EINVAL');
      await s.close(fd);
    }));

  it('getdents64 fills a linux_dirent64 buffer', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      await writeFile(s, '/d/hello');
      await writeFile(s, '/d/h\u00e9llo\u{1f600}');
      const fd = await s.open('/d', O_RDONLY);
      const buf = new Uint8Array(1024);
      const n = (await s.getdents64(fd, buf)) as number;
      const dv = new DataView(buf.buffer);
      const names: string[] = [];
      for (let off = 0; off < n;) {
        const reclen = dv.getUint16(off + 16, true);
        expect(reclen % 8).toBe(0);
        let end = off + 19;
        while (buf[end] !== 0) end++;
        names.push(new TextDecoder().decode(buf.subarray(off + 19, end)));
        off += reclen;
      }
      expect(names).toEqual(['.', '..', 'hello', 'h\u00e9llo\u{1f600}']);
      expect(await s.getdents64(fd, buf)).toBe(0);
      await s.close(fd);
      const ffd = await s.open('/d/hello', O_RDONLY);
      await expectCode(s.getdents64(ffd, buf), 'ENOTDIR');
      await s.close(ffd);
    }));
});

describe('mounts', () => {
  it('umount2 is EBUSY with an open file, a cwd or a mount inside; works once they are gone', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/m', 0o755);
      await s.mount('t', '/m', 'tmpfs', 0, '');
      await writeFile(s, '/m/f', 'x');
      const fd = await s.open('/m/f', O_RDONLY);
      await expectCode(s.umount2('/m', 0), 'EBUSY');
      await s.close(fd);
      await s.chdir('/m');
      await expectCode(s.umount2('/m', 0), 'EBUSY');
      await s.chdir('/');
      await s.mkdir('/m/inner', 0o755);
      await s.mount('t2', '/m/inner', 'tmpfs', 0, '');
      await expectCode(s.umount2('/m', 0), 'EBUSY');
      await s.umount2('/m/inner', 0);
      await s.umount2('/m', 0);
      await expectCode(s.stat('/m/f'), 'ENOENT');
      await expectCode(s.umount2('/m', 0), 'EINVAL');
      await expectCode(s.umount2('/', 0), 'EBUSY');
      expect(vfsOf(k.kernel).leaks()).toEqual([]);
    }));

  it('a covered directory is hidden until unmount; unknown fs types ENODEV; non-root EPERM', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/m', 0o755);
      await writeFile(s, '/m/under', 'u');
      await s.mount('t', '/m', 'tmpfs', 0, '');
      expect(await ls(s, '/m')).toEqual([]);
      await s.umount2('/m', 0);
      expect(await ls(s, '/m')).toEqual(['under']);
      await expectCode(s.mount('x', '/m', 'nosuchfs', 0, ''), 'ENODEV');
      await expectCode(s.mount('x', '/m/under', 'tmpfs', 0, ''), 'ENOTDIR');
      const u = k.rfork({ uid: 1000, gid: 1000 }).sys as unknown as typeof s;
      await expectCode(u.mount('x', '/m', 'tmpfs', 0, ''), 'EPERM');
      await expectCode(u.umount2('/', 0), 'EPERM');
    }));

  it('MS_RDONLY: every modifying call is EROFS, reads work; remount rw restores writes; EBUSY with writers', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/m', 0o755);
      await s.mount('t', '/m', 'tmpfs', 0, '');
      await writeFile(s, '/m/f', 'data');
      await s.mkdir('/m/d', 0o755);
      const wfd = await s.open('/m/f', O_WRONLY);
      await expectCode(s.mount('t', '/m', 'tmpfs', MS_REMOUNT | MS_RDONLY, ''), 'EBUSY');
      await s.close(wfd);
      await s.mount('t', '/m', 'tmpfs', MS_REMOUNT | MS_RDONLY, '');
      expect((await s.statfs('/m')).flags & 1).toBe(1);
      expect(await readFile(s, '/m/f')).toBe('data');
      const ops: [string, () => Promise<unknown>][] = [
        ['open w', () => s.open('/m/f', O_WRONLY)],
        ['open trunc', () => s.open('/m/f', O_RDONLY | O_TRUNC)],
        ['creat', () => s.open('/m/g', O_CREAT | O_WRONLY, 0o644)],
        ['mkdir', () => s.mkdir('/m/x', 0o755)],
        ['rmdir', () => s.rmdir('/m/d')],
        ['unlink', () => s.unlink('/m/f')],
        ['rename', () => s.rename('/m/f', '/m/h')],
        ['link', () => s.link('/m/f', '/m/h')],
        ['symlink', () => s.symlink('f', '/m/h')],
        ['mknod', () => s.mknod('/m/h', 0o010644, 0)],
        ['chmod', () => s.chmod('/m/f', 0o600)],
        ['chown', () => s.chown('/m/f', 1, 1)],
        ['truncate', () => s.truncate('/m/f', 0)],
        ['utimensat', () => s.utimensat(AT_FDCWD, '/m/f', null, 0)],
        ['access W', () => s.access('/m/f', 2)],
      ];
      for (const [name, op] of ops) expect([name, await code(op())]).toEqual([name, 'EROFS']);
      await s.mount('t', '/m', 'tmpfs', MS_REMOUNT, '');
      await writeFile(s, '/m/g', 'rw again');
      expect(await readFile(s, '/m/g')).toBe('rw again');
    }));

  it('MNT_DETACH unhooks a busy mount at once; open files keep working', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/m', 0o755);
      await s.mount('t', '/m', 'tmpfs', 0, '');
      await writeFile(s, '/m/f', 'still here');
      const fd = await s.open('/m/f', O_RDONLY);
      await s.umount2('/m', MNT_DETACH);
      await expectCode(s.stat('/m/f'), 'ENOENT');
      const b = new Uint8Array(10);
      expect(await s.read(fd, b)).toBe(10);
      await s.close(fd);
    }));

  it('without size= and nr_inodes=, Linux\'s defaults: half the host\'s memlimit and half its pages; 0 is unlimited', () =>
    simKernel(async (k, host) => {
      const s = k.sys;
      const mem = Number(host.getParam('memlimit'));
      expect(mem).toBeGreaterThan(0);
      await s.mkdir('/m', 0o755);
      await s.mount('t', '/m', 'tmpfs', 0, '');
      const d = await s.statfs('/m');
      expect([d.blocks * d.bsize, d.files]).toEqual([mem / 2, mem / 4096 / 2]);
      expect(d.bfree).toBe(d.blocks);
      await writeFile(s, '/m/a');
      expect((await s.statfs('/m')).ffree).toBe(d.files - 2); // the root and a
      // Remounting keeps them; an explicit 0 lifts them (statfs reports 0 then, as Linux does).
      await s.mount('t', '/m', 'tmpfs', MS_REMOUNT, 'mode=755');
      expect((await s.statfs('/m')).blocks).toBe(d.blocks);
      await s.mount('t', '/m', 'tmpfs', MS_REMOUNT, 'size=0,nr_inodes=0');
      const z = await s.statfs('/m');
      expect([z.blocks, z.bfree, z.files, z.ffree]).toEqual([0, 0, 0, 0]);
      await s.unlink('/m/a');
      await s.umount2('/m', 0);
      // The root file system has them too.
      expect((await s.statfs('/')).blocks * 4096).toBe(mem / 2);
    }));

  it('statfs/fstatfs describe the file system of the path; st_dev differs per mount', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/m', 0o755);
      await s.mount('t', '/m', 'tmpfs', 0, 'size=1m,nr_inodes=100');
      const a = await s.statfs('/m');
      expect([a.bsize, a.blocks, a.files, a.namelen]).toEqual([4096, 256, 100, 255]);
      const fd = await s.open('/m', O_RDONLY);
      expect((await s.fstatfs(fd)).blocks).toBe(256);
      await s.close(fd);
      expect((await s.stat('/m')).dev).not.toBe((await s.stat('/')).dev);
      expect(await code(s.sync())).toBe('ok');
    }));
});

describe('tmpfs pages reused from the kernel page pool', () => {
  /** Leave `n` stale pages in the pool: a file of 0xee bytes, written and deleted. */
  const stalePages = async (s: Parameters<typeof writeFile>[0], n: number): Promise<void> => {
    await writeFile(s, '/garbage', new Uint8Array(n * 65536).fill(0xee));
    await s.unlink('/garbage');
  };

  // A model: each file is a plain byte array; a deleted file's pages go back
  // to the pool and must never show through in another file.
  it('random writes, truncates and unlinks never let a file see another file\'s old bytes', async () => {
    const fc = (await import('fast-check')).default;
    const op = fc.oneof(
      fc.record({ t: fc.constant('write' as const), f: fc.nat(2), off: fc.nat(4 * 65536), len: fc.integer({ min: 1, max: 100000 }) }),
      fc.record({ t: fc.constant('trunc' as const), f: fc.nat(2), size: fc.nat(5 * 65536) }),
      fc.record({ t: fc.constant('unlink' as const), f: fc.nat(2) }),
    );
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) =>
      simKernel(async (k) => {
        const s = k.sys;
        await stalePages(s, 6);
        expect(k.kernel.pages.freeBytes).toBe(6 * 65536);
        const model: (Uint8Array | null)[] = [null, null, null];
        let stamp = 1;
        const ensure = async (f: number): Promise<number> => {
          if (model[f] === null) model[f] = new Uint8Array(0);
          return s.open(`/p${f}`, O_CREAT | O_RDWR, 0o644);
        };
        for (const o of ops) {
          if (o.t === 'unlink') {
            if (model[o.f] !== null) { await s.unlink(`/p${o.f}`); model[o.f] = null; }
            continue;
          }
          const fd = await ensure(o.f);
          const cur = model[o.f]!;
          if (o.t === 'write') {
            const data = new Uint8Array(o.len).fill(stamp++ & 0xff || 1);
            expect(await s.pwrite(fd, data, o.off)).toBe(o.len);
            const next = new Uint8Array(Math.max(cur.byteLength, o.off + o.len));
            next.set(cur);
            next.set(data, o.off);
            model[o.f] = next;
          } else {
            await s.ftruncate(fd, o.size);
            const next = new Uint8Array(o.size);
            next.set(cur.subarray(0, Math.min(cur.byteLength, o.size)));
            model[o.f] = next;
          }
          await s.close(fd);
        }
        for (let f = 0; f < 3; f++) {
          const want = model[f];
          if (want === null) continue;
          const fd = await s.open(`/p${f}`, O_RDONLY);
          const got = new Uint8Array(want.byteLength + 10);
          let n = 0;
          for (;;) {
            const r = await s.pread(fd, got.subarray(n), n);
            if (r === 0) break;
            n += r;
          }
          await s.close(fd);
          expect(n).toBe(want.byteLength);
          expect(Buffer.compare(got.subarray(0, n), want)).toBe(0);
        }
      })), { numRuns: 60 });
  });

  it('a small file grown into a pooled page reads zeros past its old end after truncate-extend', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await stalePages(s, 2);
      const fd = await s.open('/f', O_CREAT | O_RDWR, 0o644);
      await s.write(fd, new Uint8Array(40000).fill(1)); // a small buffer
      await s.write(fd, new Uint8Array(10).fill(2)); // grows to a full (reused) page
      await s.write(fd, new Uint8Array(65530 - 40010).fill(3)); // up to 6 bytes short of the page end
      await s.ftruncate(fd, 2 * 65536);
      const b = new Uint8Array(2 * 65536);
      expect(await s.pread(fd, b, 0)).toBe(2 * 65536);
      expect(b.subarray(65530).every((x) => x === 0)).toBe(true);
      expect(b.subarray(40000, 40010).every((x) => x === 2)).toBe(true);
      // A write into the middle of a new page: zeros before it, zeros after it.
      await s.pwrite(fd, new Uint8Array(65536 - 100).fill(4), 2 * 65536 + 100);
      const c = new Uint8Array(65536);
      expect(await s.pread(fd, c, 2 * 65536)).toBe(65536);
      expect(c.subarray(0, 100).every((x) => x === 0)).toBe(true);
      expect(c.subarray(100).every((x) => x === 4)).toBe(true);
      await s.close(fd);
    }));

  it('vm.pagepool_max bounds the pages kept; 0 gives them all back', () =>
    simKernel(async (k) => {
      const s = k.sys;
      const fd = await s.open('/big', O_CREAT | O_WRONLY, 0o644);
      await s.write(fd, new Uint8Array(8 * 65536).fill(3));
      await s.close(fd);
      await s.unlink('/big');
      expect(await s.sysctl('vm.pagepool_free')).toBe(8 * 65536);
      await s.sysctl('vm.pagepool_max', 2 * 65536);
      expect(await s.sysctl('vm.pagepool_free')).toBe(2 * 65536);
      await s.sysctl('vm.pagepool_max', 0);
      expect(await s.sysctl('vm.pagepool_free')).toBe(0);
      await expectCode(s.sysctl('vm.pagepool_max', -1), 'EINVAL');
    }));
});
