/**
 * Advisory locks (advlock.ts): fcntl record locks between processes,
 * splitting and merging, F_GETLK, F_SETLKW sleeping and EDEADLK, release on
 * close of any descriptor and at exit; flock(2) per open file description.
 * FIFOs and device nodes opened through the namespace (vfs_vnops.ts) are
 * here too, since they share the blocking machinery of the sim host.
 */
import { describe, expect, it } from 'vitest';
import {
  F_GETLK, F_RDLCK, F_SETLK, F_SETLKW, F_UNLCK, F_WRLCK, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, O_CREAT, O_NONBLOCK,
  O_RDONLY, O_RDWR, O_WRONLY, S_IFCHR, S_IFIFO, S_IFMT, SEEK_SET,
} from '../kern/constants.ts';
import { File, type FileOps } from '../kern/file.ts';
import { devsw, makedev } from '../kern/devsw.ts';
import { code, expectCode, simKernel, sysOf, type Sys } from './testkit.ts';

function track<T>(p: Promise<T>): { p: Promise<T>; done: boolean } {
  const t = { p, done: false };
  p.then(() => { t.done = true; }, () => { t.done = true; });
  return t;
}

const lk = (type: number, start: number, len: number) => ({ type, whence: SEEK_SET, start, len, pid: 0 });

async function openRw(s: Sys, path: string): Promise<number> {
  return s.open(path, O_CREAT | O_RDWR, 0o666);
}

describe('fcntl record locks', () => {
  it('conflicts between processes: read locks share, a write lock excludes; EAGAIN on F_SETLK; F_GETLK reports the holder', () =>
    simKernel(async (k) => {
      const a = sysOf(k.rfork({}));
      const b = sysOf(k.rfork({}));
      const pa = k.kernel.procs.size;
      void pa;
      const fa = await openRw(a, '/f');
      const fb = await openRw(b, '/f');
      await a.fcntl(fa, F_SETLK, lk(F_RDLCK, 0, 100));
      expect(await code(b.fcntl(fb, F_SETLK, lk(F_RDLCK, 50, 100)))).toBe('ok');
      await expectCode(b.fcntl(fb, F_SETLK, lk(F_WRLCK, 99, 1)), 'EAGAIN');
      expect(await code(b.fcntl(fb, F_SETLK, lk(F_WRLCK, 150, 10)))).toBe('ok'); // own read lock upgraded in place
      const q = lk(F_WRLCK, 0, 0);
      const got = (await b.fcntl(fb, F_GETLK, q)) as { type: number; start: number; len: number; pid: number };
      expect(got.type).toBe(F_RDLCK);
      expect([got.start, got.len]).toEqual([0, 100]);
      const free = (await b.fcntl(fb, F_GETLK, lk(F_RDLCK, 200, 5))) as { type: number };
      expect(free.type).toBe(F_UNLCK);
    }));

  it('unlocking the middle of a lock splits it; a process never conflicts with itself', () =>
    simKernel(async (k) => {
      const a = sysOf(k.rfork({}));
      const b = sysOf(k.rfork({}));
      const fa = await openRw(a, '/f');
      const fb = await openRw(b, '/f');
      await a.fcntl(fa, F_SETLK, lk(F_WRLCK, 0, 300));
      await a.fcntl(fa, F_SETLK, lk(F_WRLCK, 10, 20)); // own: no conflict
      await a.fcntl(fa, F_SETLK, lk(F_UNLCK, 100, 100));
      expect(await code(b.fcntl(fb, F_SETLK, lk(F_WRLCK, 120, 10)))).toBe('ok');
      await expectCode(b.fcntl(fb, F_SETLK, lk(F_WRLCK, 99, 1)), 'EAGAIN');
      await expectCode(b.fcntl(fb, F_SETLK, lk(F_WRLCK, 200, 1)), 'EAGAIN');
      // Negative lengths lock backwards from start; len 0 means "to EOF and beyond".
      await b.fcntl(fb, F_SETLK, lk(F_WRLCK, 1000, 0));
      await expectCode(a.fcntl(fa, F_SETLK, lk(F_RDLCK, 5000, -10)), 'EAGAIN');
      expect(await code(a.fcntl(fa, F_SETLK, lk(F_RDLCK, 1000, -10)))).toBe('ok');
      await expectCode(a.fcntl(fa, F_SETLK, lk(F_RDLCK, 5, -10)), 'EINVAL');
      await expectCode(a.fcntl(fa, F_SETLK, lk(7, 0, 1)), 'EINVAL');
    }));

  it('lock type must match the open mode (EBADF)', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await openRw(s, '/f').then((fd) => s.close(fd));
      const r = await s.open('/f', O_RDONLY);
      const w = await s.open('/f', O_WRONLY);
      await expectCode(s.fcntl(r, F_SETLK, lk(F_WRLCK, 0, 1)), 'EBADF');
      await expectCode(s.fcntl(w, F_SETLK, lk(F_RDLCK, 0, 1)), 'EBADF');
    }));

  it('F_SETLKW sleeps until the conflicting lock goes', () =>
    simKernel(async (k, host) => {
      const a = sysOf(k.rfork({}));
      const b = sysOf(k.rfork({}));
      const fa = await openRw(a, '/f');
      const fb = await openRw(b, '/f');
      await a.fcntl(fa, F_SETLK, lk(F_WRLCK, 0, 10));
      const w = track(b.fcntl(fb, F_SETLKW, lk(F_WRLCK, 5, 10)));
      await host.world.sleep(1_000_000);
      expect(w.done).toBe(false);
      await a.fcntl(fa, F_SETLK, lk(F_UNLCK, 0, 10));
      expect(await w.p).toBe(0);
      await expectCode(a.fcntl(fa, F_SETLK, lk(F_RDLCK, 7, 1)), 'EAGAIN');
    }));

  it('EDEADLK when waiting would close a cycle', () =>
    simKernel(async (k, host) => {
      const a = sysOf(k.rfork({}));
      const b = sysOf(k.rfork({}));
      const fa = await openRw(a, '/f');
      const fb = await openRw(b, '/f');
      await a.fcntl(fa, F_SETLK, lk(F_WRLCK, 0, 1));
      await b.fcntl(fb, F_SETLK, lk(F_WRLCK, 1, 1));
      const aw = track(a.fcntl(fa, F_SETLKW, lk(F_WRLCK, 1, 1)));
      await host.world.sleep(1_000_000);
      expect(aw.done).toBe(false);
      await expectCode(b.fcntl(fb, F_SETLKW, lk(F_WRLCK, 0, 1)), 'EDEADLK');
      await b.fcntl(fb, F_SETLK, lk(F_UNLCK, 0, 0));
      expect(await aw.p).toBe(0);
    }));

  it('closing ANY descriptor of the file drops the process\'s locks; so does exit', () =>
    simKernel(async (k) => {
      const ah = k.rfork({});
      const a = sysOf(ah);
      const b = sysOf(k.rfork({}));
      const fa = await openRw(a, '/f');
      const fa2 = await a.open('/f', O_RDONLY);
      const fb = await openRw(b, '/f');
      await a.fcntl(fa, F_SETLK, lk(F_WRLCK, 0, 10));
      await a.close(fa2);
      expect(await code(b.fcntl(fb, F_SETLK, lk(F_WRLCK, 0, 10)))).toBe('ok');
      await b.fcntl(fb, F_SETLK, lk(F_UNLCK, 0, 10));
      await a.fcntl(fa, F_SETLK, lk(F_WRLCK, 0, 10));
      await k.exit(ah, 0);
      expect(await code(b.fcntl(fb, F_SETLK, lk(F_WRLCK, 0, 10)))).toBe('ok');
    }));
});

describe('flock', () => {
  it('belongs to the open file description: dup shares it, a second open conflicts; LOCK_NB is EAGAIN', () =>
    simKernel(async (k, host) => {
      const s = k.sys;
      const f1 = await openRw(s, '/f');
      const f2 = await s.open('/f', O_RDWR);
      await s.flock(f1, LOCK_EX);
      const d = await s.dup(f1);
      expect(await code(s.flock(d, LOCK_EX | LOCK_NB))).toBe('ok');
      await expectCode(s.flock(f2, LOCK_SH | LOCK_NB), 'EAGAIN');
      const w = track(s.flock(f2, LOCK_SH));
      await host.world.sleep(1_000_000);
      expect(w.done).toBe(false);
      await s.close(f1);
      await host.world.sleep(1_000_000);
      expect(w.done).toBe(false); // the description is still open through d
      await s.close(d);
      expect(await w.p).toBe(0);
      const f3 = await s.open('/f', O_RDONLY);
      expect(await code(s.flock(f3, LOCK_SH | LOCK_NB))).toBe('ok');
      await expectCode(s.flock(f3, LOCK_EX | LOCK_NB), 'EAGAIN');
      await s.flock(f2, LOCK_UN);
      expect(await code(s.flock(f3, LOCK_EX | LOCK_NB))).toBe('ok');
      await expectCode(s.flock(f3, 99), 'EINVAL');
      // fcntl locks and flock locks do not interact.
      expect(await code(s.fcntl(f2, F_SETLK, lk(F_WRLCK, 0, 0)))).toBe('ok');
    }));
});

describe('FIFOs through the namespace', () => {
  it('open for reading waits for a writer; data flows; O_NONBLOCK|O_WRONLY without readers is ENXIO', () =>
    simKernel(async (k, host) => {
      const s = k.sys;
      await s.mkfifo('/p', 0o644);
      expect((await s.stat('/p')).mode & S_IFMT).toBe(S_IFIFO);
      await expectCode(s.open('/p', O_WRONLY | O_NONBLOCK), 'ENXIO');
      const rd = track(s.open('/p', O_RDONLY));
      await host.world.sleep(1_000_000);
      expect(rd.done).toBe(false);
      const w = await s.open('/p', O_WRONLY);
      const r = await rd.p;
      await s.write(w, Uint8Array.of(1, 2, 3));
      const b = new Uint8Array(8);
      expect(await s.read(r, b)).toBe(3);
      expect((await s.fstat(r)).mode & S_IFMT).toBe(S_IFIFO);
      expect((await s.fstat(r)).ino).toBe((await s.stat('/p')).ino);
      await s.close(w);
      expect(await s.read(r, b)).toBe(0);
      await s.close(r);
      // O_RDONLY|O_NONBLOCK never waits; O_RDWR neither.
      const nb = await s.open('/p', O_RDONLY | O_NONBLOCK);
      const rw = await s.open('/p', O_RDWR);
      await s.close(nb);
      await s.close(rw);
    }));

  it('open for writing waits for a reader', () =>
    simKernel(async (k, host) => {
      const s = k.sys;
      await s.mkfifo('/p', 0o644);
      const wr = track(s.open('/p', O_WRONLY));
      await host.world.sleep(1_000_000);
      expect(wr.done).toBe(false);
      const r = await s.open('/p', O_RDONLY);
      const w = await wr.p;
      await s.close(w);
      await s.close(r);
    }));
});

describe('device nodes', () => {
  it('open goes to the driver registered for the major; unknown majors are ENXIO; fstat shows the node', () =>
    simKernel(async (k) => {
      const s = k.sys;
      const zeroOps: FileOps<null> = {
        type: 'device',
        read: (_fp, _td, buf) => { buf.fill(0); return buf.byteLength; },
        write: (_fp, _td, buf) => buf.byteLength,
        poll: (_fp, _td, ev) => ev,
        pollQueues: () => [],
        close: () => undefined,
      };
      devsw(k.kernel).register('chr', 1, {
        name: 'mem',
        open: (_td, ctx) => {
          const f = new File({ ...zeroOps, stat: () => ctx.stat() }, null, ctx.flags);
          return f;
        },
      });
      await s.mknod('/zero', S_IFCHR | 0o666, makedev(1, 5));
      await s.mknod('/nodev', S_IFCHR | 0o666, makedev(99, 0));
      const fd = await s.open('/zero', O_RDWR);
      const b = new Uint8Array(4).fill(7);
      expect(await s.read(fd, b)).toBe(4);
      expect([...b]).toEqual([0, 0, 0, 0]);
      expect((await s.fstat(fd)).rdev).toBe(makedev(1, 5));
      await s.fchmod(fd, 0o600);
      expect((await s.stat('/zero')).mode & 0o777).toBe(0o600);
      await s.close(fd);
      await expectCode(s.open('/nodev', O_RDONLY), 'ENXIO');
    }));
});
