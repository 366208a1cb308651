/**
 * devfs (a tmpfs filled from the device switch) and FIFOs opened through the
 * namespace, which must follow fifo(7)/open(2): O_RDONLY waits for a writer,
 * O_WRONLY for a reader, O_NONBLOCK|O_RDONLY succeeds at once,
 * O_NONBLOCK|O_WRONLY without a reader is ENXIO, O_RDWR never waits.
 */
import { describe, expect, it } from 'vitest';
import { boot, type BootedKernel, type Sys } from '../frontends/library/boot.ts';
import { SimHost } from '../hyper/sim/host.ts';
import type { ProcHandle } from '../kern/lwproc.ts';
import {
  O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, SIGUSR1,
} from '../kern/constants.ts';
import { makedev } from '../kern/devsw.ts';
import { TMPFS_MAGIC } from './tmpfs.ts';

async function sim<T>(seed: number, fn: (k: BootedKernel, host: SimHost) => Promise<T>, components?: string[]): Promise<T> {
  const host = new SimHost({ seed });
  const k = await boot({ host, ...(components ? { components } : {}) });
  try {
    return await host.run(() => fn(k, host), { limitSteps: 1_000_000 });
  } finally {
    host.dispose();
  }
}
const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));
const sysOf = (h: ProcHandle): Sys => h.sys as unknown as Sys;
/** Has the promise settled yet? (checked after letting every runnable thread run) */
function track<T>(p: Promise<T>): { p: Promise<T>; done: boolean } {
  const t = { p, done: false };
  p.then(() => { t.done = true; }, () => { t.done = true; });
  return t;
}
async function settle(k: BootedKernel): Promise<void> {
  for (let i = 0; i < 20; i++) await k.sys.sched_yield();
}
async function ls(sys: Sys, path: string): Promise<string[]> {
  const fd = await sys.open(path, O_RDONLY | 0o200000);
  const out: string[] = [];
  for (;;) {
    const e = (await sys.getdents64(fd, 4096)) as { name: string }[];
    if (e.length === 0) break;
    out.push(...e.map((x) => x.name));
  }
  await sys.close(fd);
  return out.filter((n) => n !== '.' && n !== '..').sort();
}

describe('devfs', () => {
  it('is mounted on /dev with the device nodes, links and shm, root 0755', () =>
    sim(1, async (k) => {
      expect(await ls(k.sys, '/dev')).toEqual(['console', 'fd', 'full', 'null', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero']);
      const root = await k.sys.stat('/dev');
      expect([root.mode & S_IFMT, root.mode & 0o7777]).toEqual([S_IFDIR, 0o755]);
      expect((await k.sys.stat('/dev/shm')).mode & 0o7777).toBe(0o1777);
      expect((await k.sys.lstat('/dev/stdin')).mode & S_IFMT).toBe(S_IFLNK);
      expect(await k.sys.readlink('/dev/stderr')).toBe('/proc/self/fd/2');
      expect((await k.sys.stat('/dev/tty')).gid).toBe(5);
      expect((await k.sys.statfs('/dev')).type).toBe(TMPFS_MAGIC);
      // Its own device number, not the root's.
      expect((await k.sys.stat('/dev/null')).dev).not.toBe((await k.sys.stat('/')).dev);
    }));

  it('/dev/stdout reaches fd 1 through procfs', () =>
    sim(2, async (k) => {
      const n = await k.sys.open('/dev/null', O_RDWR);
      await k.sys.dup2(n, 1);
      const fd = await k.sys.open('/dev/stdout', O_WRONLY);
      expect((await k.sys.fstat(fd)).rdev).toBe(makedev(1, 3));
      for (const x of new Set([n, 1, fd])) await k.sys.close(x);
    }));

  it('allows mknod, mkfifo, symlinks and unlink like devtmpfs; device nodes need root', () =>
    sim(3, async (k) => {
      await k.sys.mknod('/dev/null2', S_IFCHR | 0o666, makedev(1, 3));
      await k.sys.mkfifo('/dev/initctl', 0o600);
      await k.sys.symlink('/proc/self/fd', '/dev/fd2');
      expect((await k.sys.stat('/dev/initctl')).mode & S_IFMT).toBe(S_IFIFO);
      const fd = await k.sys.open('/dev/null2', O_WRONLY);
      expect(await k.sys.write(fd, new Uint8Array(3))).toBe(3);
      await k.sys.close(fd);
      await k.sys.unlink('/dev/null2');
      expect(await code(k.sys.stat('/dev/null2'))).toBe('ENOENT');
      const u = k.rfork({ uid: 1000, gid: 1000 });
      expect(await code(sysOf(u).mknod('/dev/shm/x', S_IFCHR | 0o666, makedev(1, 3)))).toBe('EPERM');
      expect(await code(sysOf(u).mkfifo('/dev/p', 0o600))).toBe('EACCES'); // /dev is 0755 root
      await sysOf(u).mkfifo('/dev/shm/p', 0o600); // /dev/shm is 1777
      await k.exit(u);
    }));

  it('mounts again elsewhere with tmpfs options; without procfs the links dangle', () =>
    sim(4, async (k) => {
      await k.sys.mkdir('/dev2', 0o755);
      await k.sys.mount('devfs', '/dev2', 'devfs', 0, 'mode=0700,nr_inodes=100');
      expect((await k.sys.stat('/dev2')).mode & 0o7777).toBe(0o700);
      expect((await k.sys.stat('/dev2/zero')).rdev).toBe(makedev(1, 5));
      expect(await code(k.sys.mount('devfs', '/dev2', 'devfs', 0, 'bogus=1'))).toBe('EINVAL');
      await k.sys.umount2('/dev2', 0);
    }));

  it('a kernel without procfs still has /dev; /dev/stdin dangles (ENOENT)', () =>
    sim(5, async (k) => {
      expect((await k.sys.stat('/dev/zero')).rdev).toBe(makedev(1, 5));
      expect(await code(k.sys.open('/dev/stdin', O_RDONLY))).toBe('ENOENT');
    }, ['tmpfs', 'dev', 'devfs']));
});

describe('FIFO open rules (fifo(7), open(2))', () => {
  for (const where of ['/dev/fifo', '/tmp-fifo']) {
    it(`${where}: O_RDONLY waits for a writer; O_WRONLY then opens at once`, () =>
      sim(10, async (k) => {
        await k.sys.mkfifo(where, 0o666);
        const reader = k.rfork();
        const r = track(sysOf(reader).open(where, O_RDONLY));
        await settle(k);
        expect(r.done).toBe(false);
        const w = await k.sys.open(where, O_WRONLY);
        const rfd = await r.p;
        await k.sys.write(w, new TextEncoder().encode('ping'));
        const b = new Uint8Array(8);
        expect(await sysOf(reader).read(rfd, b)).toBe(4);
        await k.sys.close(w);
        expect(await sysOf(reader).read(rfd, b)).toBe(0); // EOF: no writers left
        await sysOf(reader).close(rfd);
        await k.exit(reader);
      }));
  }

  it('O_WRONLY waits for a reader', () =>
    sim(11, async (k) => {
      await k.sys.mkfifo('/f', 0o666);
      const writer = k.rfork();
      const w = track(sysOf(writer).open('/f', O_WRONLY));
      await settle(k);
      expect(w.done).toBe(false);
      const r = await k.sys.open('/f', O_RDONLY | O_NONBLOCK);
      const wfd = await w.p;
      await sysOf(writer).close(wfd);
      await k.sys.close(r);
      await k.exit(writer);
    }));

  it('O_NONBLOCK|O_RDONLY opens at once with no writer; reading then gives EOF, not EAGAIN', () =>
    sim(12, async (k) => {
      await k.sys.mkfifo('/f', 0o666);
      const r = await k.sys.open('/f', O_RDONLY | O_NONBLOCK);
      expect(await k.sys.read(r, new Uint8Array(4))).toBe(0);
      await k.sys.close(r);
    }));

  it('O_NONBLOCK|O_WRONLY without a reader is ENXIO; with one it opens', () =>
    sim(13, async (k) => {
      await k.sys.mkfifo('/f', 0o666);
      expect(await code(k.sys.open('/f', O_WRONLY | O_NONBLOCK))).toBe('ENXIO');
      const r = await k.sys.open('/f', O_RDONLY | O_NONBLOCK);
      const w = await k.sys.open('/f', O_WRONLY | O_NONBLOCK);
      await k.sys.close(w);
      await k.sys.close(r);
      // The reader gone again: ENXIO again.
      expect(await code(k.sys.open('/f', O_WRONLY | O_NONBLOCK))).toBe('ENXIO');
    }));

  it('O_RDWR never waits, and data written through it can be read back', () =>
    sim(14, async (k) => {
      await k.sys.mkfifo('/f', 0o666);
      const fd = await k.sys.open('/f', O_RDWR);
      await k.sys.write(fd, new TextEncoder().encode('self'));
      const b = new Uint8Array(4);
      expect(await k.sys.read(fd, b)).toBe(4);
      await k.sys.close(fd);
    }));

  it('a signal interrupts an open waiting for a writer (EINTR) and leaves no reader behind', () =>
    sim(15, async (k) => {
      await k.sys.mkfifo('/f', 0o666);
      const c = k.rfork();
      await sysOf(c).sigaction(SIGUSR1, { handler: () => {} });
      const r = track(sysOf(c).open('/f', O_RDONLY));
      await settle(k);
      await k.sys.kill(c.pid, SIGUSR1);
      expect(await code(r.p)).toBe('EINTR');
      expect(await code(k.sys.open('/f', O_WRONLY | O_NONBLOCK))).toBe('ENXIO');
      await k.exit(c);
    }));

  it('data left in a FIFO is discarded when the last end closes', () =>
    sim(16, async (k) => {
      await k.sys.mkfifo('/f', 0o666);
      const a = await k.sys.open('/f', O_RDWR);
      await k.sys.write(a, new TextEncoder().encode('stale'));
      await k.sys.close(a);
      const b = await k.sys.open('/f', O_RDWR | O_NONBLOCK);
      expect(await code(k.sys.read(b, new Uint8Array(8)))).toBe('EAGAIN');
      await k.sys.close(b);
    }));
});
