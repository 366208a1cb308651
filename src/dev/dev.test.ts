/**
 * The character devices (mem.ts, console.ts) through devfs and the library
 * syscalls on the sim host: one rule of null(4)/zero(4)/full(4)/random(4)/
 * console(4) per test.
 */
import { describe, expect, it } from 'vitest';
import { code, sim } from '../../test/dev/kit.ts';
import {
  O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, POLLIN, POLLOUT, S_IFCHR, S_IFMT, SEEK_CUR, SEEK_SET, SIGUSR1,
} from '../kern/constants.ts';
import { makedev, major, minor } from '../kern/devsw.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('device nodes', () => {
  it('have Linux numbers, types and modes', () =>
    sim(1, async (k) => {
      const want: [string, number, number, number][] = [
        ['null', 1, 3, 0o666], ['zero', 1, 5, 0o666], ['full', 1, 7, 0o666], ['random', 1, 8, 0o666],
        ['urandom', 1, 9, 0o666], ['tty', 5, 0, 0o666], ['console', 5, 1, 0o600],
      ];
      for (const [name, maj, min, perm] of want) {
        const st = await k.sys.stat(`/dev/${name}`);
        expect(st.mode & S_IFMT, name).toBe(S_IFCHR);
        expect(st.mode & 0o7777, name).toBe(perm);
        expect([major(st.rdev), minor(st.rdev)], name).toEqual([maj, min]);
        expect(st.rdev).toBe(makedev(maj, min));
      }
    }));

  it('fstat on an open device answers the node', () =>
    sim(2, async (k) => {
      const fd = await k.sys.open('/dev/zero', O_RDONLY);
      const [a, b] = [await k.sys.fstat(fd), await k.sys.stat('/dev/zero')];
      expect(a.ino).toBe(b.ino);
      expect(a.rdev).toBe(b.rdev);
      await k.sys.close(fd);
    }));
});

describe('/dev/null, /dev/zero, /dev/full', () => {
  it('null: reads are EOF, writes vanish and report their length', () =>
    sim(3, async (k) => {
      const fd = await k.sys.open('/dev/null', O_RDWR);
      expect(await k.sys.read(fd, new Uint8Array(16))).toBe(0);
      expect(await k.sys.write(fd, enc('hello'))).toBe(5);
      expect(await k.sys.read(fd, new Uint8Array(16))).toBe(0);
      expect(await k.sys.lseek(fd, 100, SEEK_SET)).toBe(0);
      await k.sys.close(fd);
    }));

  it('zero: reads fill the whole buffer with zeros, pread too', () =>
    sim(4, async (k) => {
      const fd = await k.sys.open('/dev/zero', O_RDWR);
      const b = new Uint8Array(100_000).fill(7);
      expect(await k.sys.read(fd, b)).toBe(100_000);
      expect(b.every((x) => x === 0)).toBe(true);
      const c = new Uint8Array(10).fill(1);
      expect(await k.sys.pread(fd, c, 12345)).toBe(10);
      expect(c.every((x) => x === 0)).toBe(true);
      expect(await k.sys.write(fd, enc('x'))).toBe(1);
      await k.sys.close(fd);
    }));

  it('full: reads zeros, writes fail with ENOSPC (a zero-length write succeeds)', () =>
    sim(5, async (k) => {
      const fd = await k.sys.open('/dev/full', O_RDWR);
      const b = new Uint8Array(8).fill(9);
      expect(await k.sys.read(fd, b)).toBe(8);
      expect([...b]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      expect(await code(k.sys.write(fd, enc('x')))).toBe('ENOSPC');
      expect(await k.sys.write(fd, new Uint8Array(0))).toBe(0);
      await k.sys.close(fd);
    }));

  it('poll says always readable and writable', () =>
    sim(6, async (k) => {
      const fd = await k.sys.open('/dev/null', O_RDWR);
      const r = await k.sys.poll([{ fd, events: POLLIN | POLLOUT }], 0);
      expect(r.fds).toEqual([{ fd, events: POLLIN | POLLOUT, revents: POLLIN | POLLOUT }]);
      await k.sys.close(fd);
    }));

  it('an unprivileged user can use them (0666) but not the console (0600)', () =>
    sim(7, async (k) => {
      const u = k.rfork({ uid: 1000, gid: 1000 });
      const fd = (await u.sys.open('/dev/null', O_WRONLY)) as number;
      await u.sys.close(fd);
      expect(await code(u.sys.open('/dev/console', O_RDWR))).toBe('EACCES');
      await k.exit(u);
    }));

  it('a device node made with mknod elsewhere reaches the same driver; an unknown major is ENXIO', () =>
    sim(8, async (k) => {
      await k.sys.mknod('/mynull', S_IFCHR | 0o666, makedev(1, 3));
      const fd = await k.sys.open('/mynull', O_RDWR);
      expect(await k.sys.write(fd, enc('abc'))).toBe(3);
      expect(await k.sys.read(fd, new Uint8Array(4))).toBe(0);
      await k.sys.close(fd);
      await k.sys.mknod('/nodev', S_IFCHR | 0o666, makedev(250, 0));
      expect(await code(k.sys.open('/nodev', O_RDWR))).toBe('ENXIO');
      await k.sys.mknod('/kmem', S_IFCHR | 0o666, makedev(1, 2));
      expect(await code(k.sys.open('/kmem', O_RDWR))).toBe('ENXIO');
    }));
});

describe('/dev/random, /dev/urandom', () => {
  it('read random bytes from the host (seeded on sim: same seed, same bytes)', async () => {
    const grab = (): Promise<Uint8Array> =>
      sim(9, async (k) => {
        const fd = await k.sys.open('/dev/urandom', O_RDONLY);
        const b = new Uint8Array(50_000);
        expect(await k.sys.read(fd, b)).toBe(50_000);
        await k.sys.close(fd);
        return b;
      });
    const a = await grab();
    const b = await grab();
    expect(a).toEqual(b);
    // Not all zeros, and not one byte repeated: the bytes came from getRandom.
    expect(new Set(a).size).toBeGreaterThan(200);
  });

  it('accept writes; lseek reports the offset without moving it', () =>
    sim(10, async (k) => {
      const fd = await k.sys.open('/dev/random', O_RDWR);
      expect(await k.sys.write(fd, enc('entropy'))).toBe(7);
      expect(await k.sys.lseek(fd, 50, SEEK_CUR)).toBe(0);
      await k.sys.close(fd);
    }));
});

describe('/dev/console and /dev/tty', () => {
  it('writes go to the host console', () =>
    sim(11, async (k, host) => {
      const fd = await k.sys.open('/dev/console', O_WRONLY);
      expect(await k.sys.write(fd, enc('hello, console\n'))).toBe(15);
      const t = await k.sys.open('/dev/tty', O_WRONLY);
      await k.sys.write(t, enc('via tty\n'));
      await k.sys.close(fd);
      await k.sys.close(t);
      expect(host.consoleOutput()).toContain('hello, console\r\nvia tty\r\n'); // ONLCR
    }));

  it('reads block until console input arrives, then return what is queued', () =>
    sim(12, async (k, host) => {
      const fd = await k.sys.open('/dev/console', O_RDONLY);
      host.consoleInput('typed\n', host.now + 1_000_000n);
      const b = new Uint8Array(64);
      const n = await k.sys.read(fd, b);
      expect(new TextDecoder().decode(b.subarray(0, n))).toBe('typed\n');
      await k.sys.close(fd);
    }));

  it('O_NONBLOCK read with nothing queued is EAGAIN; poll reports POLLIN once input is there', () =>
    sim(13, async (k, host) => {
      const fd = await k.sys.open('/dev/console', O_RDONLY | O_NONBLOCK);
      expect(await code(k.sys.read(fd, new Uint8Array(4)))).toBe('EAGAIN');
      expect((await k.sys.poll([{ fd, events: POLLIN }], 0)).fds[0]!.revents).toBe(0);
      host.consoleInput('ab\n');
      const r = await k.sys.poll([{ fd, events: POLLIN }], -1);
      expect(r.fds[0]!.revents & POLLIN).toBe(POLLIN);
      const b = new Uint8Array(1);
      expect(await k.sys.read(fd, b)).toBe(1);
      expect(await k.sys.read(fd, b)).toBe(1);
      expect(b[0]).toBe('b'.charCodeAt(0));
      expect(await code(k.sys.pread(fd, b, 0))).toBe('ESPIPE');
      expect(await code(k.sys.lseek(fd, 0, SEEK_SET))).toBe('ESPIPE');
      await k.sys.close(fd);
    }));

  it('a signal interrupts a blocked console read with EINTR', () =>
    sim(14, async (k) => {
      const child = k.rfork();
      await child.sys.sigaction(SIGUSR1, { handler: () => {} });
      const fd = (await child.sys.open('/dev/console', O_RDONLY)) as number;
      const rd = child.sys.read(fd, new Uint8Array(4));
      for (let i = 0; i < 10; i++) await k.sys.sched_yield();
      await k.sys.kill(child.pid, SIGUSR1);
      expect(await code(rd)).toBe('EINTR');
      await child.sys.close(fd);
      await k.exit(child);
    }));
});
