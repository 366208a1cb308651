/**
 * inotify(7) on the kernel: the event sequences Linux gives for create,
 * write, close, chmod, utimes, truncate, link, unlink, rmdir, rename (one
 * cookie for the pair, IN_MOVE_SELF on the object), events on a file
 * reported with its name to its watched directory, IN_DELETE_SELF then
 * IN_IGNORED, IN_ONESHOT, mask replacement and IN_MASK_ADD/IN_MASK_CREATE,
 * merging of identical unread events, the bounded queue's IN_Q_OVERFLOW,
 * read(2)'s EINVAL for a short buffer and EAGAIN when non-blocking, a
 * blocking read woken by an event, and the argument errors. The record
 * codec round-trips (fast-check).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { O_CREAT, O_RDONLY, O_RDWR, O_WRONLY } from '../kern/constants.ts';
import { type Sys, code, simKernel, writeFile } from './testkit.ts';
import {
  IN_ALL_EVENTS, IN_ATTRIB, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE, IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_IGNORED, IN_ISDIR, IN_MASK_ADD,
  IN_MASK_CREATE, IN_MODIFY, IN_MOVE_SELF, IN_MOVED_FROM, IN_MOVED_TO, IN_NONBLOCK, IN_ONESHOT, IN_ONLYDIR, IN_OPEN, IN_Q_OVERFLOW,
  encodeEvent, inotifyService, parseEvents,
} from './inotify_hooks.ts';

const NAMES: [number, string][] = [
  [IN_MODIFY, 'MODIFY'], [IN_ATTRIB, 'ATTRIB'], [IN_CLOSE_WRITE, 'CLOSE_WRITE'], [IN_CLOSE_NOWRITE, 'CLOSE_NOWRITE'], [IN_OPEN, 'OPEN'],
  [IN_MOVED_FROM, 'MOVED_FROM'], [IN_MOVED_TO, 'MOVED_TO'], [IN_CREATE, 'CREATE'], [IN_DELETE, 'DELETE'], [IN_DELETE_SELF, 'DELETE_SELF'],
  [IN_MOVE_SELF, 'MOVE_SELF'], [IN_Q_OVERFLOW, 'Q_OVERFLOW'], [IN_IGNORED, 'IGNORED'], [IN_ISDIR, 'ISDIR'],
];

function maskName(m: number): string {
  return NAMES.filter(([b]) => (m & b) !== 0).map(([, n]) => n).join('|');
}

/** Read every queued event (non-blocking fd), as "wd NAME|.. name". */
async function drain(s: Sys, fd: number): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const buf = new Uint8Array(4096);
    let n: number;
    try {
      n = await s.read(fd, buf);
    } catch (e) {
      if ((e as { code?: string }).code === 'EAGAIN') return out;
      throw e;
    }
    for (const ev of parseEvents(buf.subarray(0, n))) out.push(`${ev.wd} ${maskName(ev.mask)}${ev.name !== null ? ` ${ev.name}` : ''}`);
  }
}

/** The cookies of the queued MOVED_FROM/MOVED_TO events. */
async function cookies(s: Sys, fd: number): Promise<number[]> {
  const buf = new Uint8Array(4096);
  const n = await s.read(fd, buf);
  return parseEvents(buf.subarray(0, n)).filter((e) => (e.mask & (IN_MOVED_FROM | IN_MOVED_TO)) !== 0).map((e) => e.cookie);
}

describe('inotify', () => {
  it('file events on the file and, with its name, on the watched directory', async () => {
    await simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      const fd = await s.inotify_init1(IN_NONBLOCK);
      const dw = await s.inotify_add_watch(fd, '/d', IN_ALL_EVENTS);
      const f = await s.open('/d/f', O_CREAT | O_WRONLY, 0o644);
      const fw = await s.inotify_add_watch(fd, '/d/f', IN_ALL_EVENTS);
      await s.write(f, new TextEncoder().encode('abc'));
      await s.write(f, new TextEncoder().encode('def'));
      await s.close(f);
      await s.chmod('/d/f', 0o600);
      await s.utimensat(-100, '/d/f', [{ sec: 1, nsec: 0 }, { sec: 2, nsec: 0 }], 0);
      await s.truncate('/d/f', 1);
      const r = await s.open('/d/f', O_RDONLY);
      await s.close(r);
      expect(await drain(s, fd)).toEqual([
        `${dw} CREATE f`, `${dw} OPEN f`,
        // The second write's IN_MODIFY merges with the first while both are unread (Linux does the same).
        `${fw} MODIFY`, `${dw} MODIFY f`, `${fw} MODIFY`, `${dw} MODIFY f`,
        `${fw} CLOSE_WRITE`, `${dw} CLOSE_WRITE f`,
        `${fw} ATTRIB`, `${dw} ATTRIB f`, `${fw} ATTRIB`, `${dw} ATTRIB f`,
        `${fw} MODIFY`, `${dw} MODIFY f`,
        `${fw} OPEN`, `${dw} OPEN f`, `${fw} CLOSE_NOWRITE`, `${dw} CLOSE_NOWRITE f`,
      ]);
      await s.close(fd);
    });
  });

  it('link, unlink, rmdir, mkdir: ATTRIB for link counts, DELETE_SELF then IGNORED on the last link', async () => {
    await simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      await writeFile(s, '/d/f', 'x');
      const fd = await s.inotify_init1(IN_NONBLOCK);
      const dw = await s.inotify_add_watch(fd, '/d', IN_ALL_EVENTS & ~(IN_OPEN | IN_CLOSE_NOWRITE));
      const fw = await s.inotify_add_watch(fd, '/d/f', IN_ALL_EVENTS);
      await s.link('/d/f', '/d/g');
      await s.unlink('/d/g');
      await s.unlink('/d/f');
      await s.mkdir('/d/sub', 0o755);
      const sw = await s.inotify_add_watch(fd, '/d/sub', IN_ALL_EVENTS);
      await s.rmdir('/d/sub');
      expect(await drain(s, fd)).toEqual([
        `${fw} ATTRIB`, `${dw} CREATE g`,
        `${fw} ATTRIB`, `${dw} DELETE g`,
        `${fw} ATTRIB`, `${fw} DELETE_SELF`, `${fw} IGNORED`, `${dw} DELETE f`,
        `${dw} CREATE|ISDIR sub`,
        `${sw} DELETE_SELF|ISDIR`, `${sw} IGNORED`, `${dw} DELETE|ISDIR sub`,
      ]);
      // The watch is gone: its wd is no longer valid.
      expect(await code(s.inotify_rm_watch(fd, fw))).toBe('EINVAL');
      await s.close(fd);
    });
  });

  it('rename: MOVED_FROM and MOVED_TO share a cookie, MOVE_SELF on the object, the name map follows', async () => {
    await simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/a', 0o755);
      await s.mkdir('/b', 0o755);
      await writeFile(s, '/a/f', 'x');
      await writeFile(s, '/b/old', 'y');
      const fd = await s.inotify_init1(IN_NONBLOCK);
      const aw = await s.inotify_add_watch(fd, '/a', IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_DELETE);
      const bw = await s.inotify_add_watch(fd, '/b', IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_DELETE);
      const fw = await s.inotify_add_watch(fd, '/a/f', IN_MOVE_SELF);
      const ow = await s.inotify_add_watch(fd, '/b/old', IN_DELETE_SELF);
      await s.rename('/a/f', '/b/old');
      const cs = await cookies(s, fd);
      expect(cs).toHaveLength(2);
      expect(cs[0]).not.toBe(0);
      expect(cs[0]).toBe(cs[1]);
      // A write now reports under the new name, to the new directory only.
      const w = await s.open('/b/old', O_WRONLY);
      await s.write(w, new Uint8Array([1]));
      await s.close(w);
      await s.rename('/b/old', '/b/new');
      expect(await drain(s, fd)).toEqual([`${bw} MODIFY old`, `${bw} MOVED_FROM old`, `${bw} MOVED_TO new`, `${fw} MOVE_SELF`]);
      void aw;
      void ow;
      await s.close(fd);
    });
    await simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', 'x');
      await writeFile(s, '/g', 'y');
      const fd = await s.inotify_init1(IN_NONBLOCK);
      const gw = await s.inotify_add_watch(fd, '/g', IN_DELETE_SELF);
      const rw = await s.inotify_add_watch(fd, '/', IN_MOVED_FROM | IN_MOVED_TO);
      await s.rename('/f', '/g');
      // The replaced file lost its last link.
      expect(await drain(s, fd)).toEqual([`${gw} DELETE_SELF`, `${gw} IGNORED`, `${rw} MOVED_FROM f`, `${rw} MOVED_TO g`]);
      await s.close(fd);
    });
  });

  it('masks: replacement, IN_MASK_ADD, IN_MASK_CREATE, IN_ONESHOT, IN_ONLYDIR; argument errors', async () => {
    await simKernel(async (k) => {
      const s = k.sys;
      await writeFile(s, '/f', '');
      const fd = await s.inotify_init1(IN_NONBLOCK);
      const w = await s.inotify_add_watch(fd, '/f', IN_ATTRIB);
      expect(await s.inotify_add_watch(fd, '/f', IN_MODIFY)).toBe(w); // replaces: ATTRIB no more
      await s.chmod('/f', 0o600);
      expect(await drain(s, fd)).toEqual([]);
      expect(await s.inotify_add_watch(fd, '/f', IN_ATTRIB | IN_MASK_ADD)).toBe(w);
      await s.chmod('/f', 0o644);
      expect(await drain(s, fd)).toEqual([`${w} ATTRIB`]);
      expect(await code(s.inotify_add_watch(fd, '/f', IN_ATTRIB | IN_MASK_CREATE))).toBe('EEXIST');
      expect(await code(s.inotify_add_watch(fd, '/f', IN_ATTRIB | IN_MASK_CREATE | IN_MASK_ADD))).toBe('EINVAL');
      expect(await code(s.inotify_add_watch(fd, '/f', 0))).toBe('EINVAL');
      expect(await code(s.inotify_add_watch(fd, '/f', IN_ATTRIB | IN_ONLYDIR))).toBe('ENOTDIR');
      expect(await code(s.inotify_add_watch(fd, '/missing', IN_ATTRIB))).toBe('ENOENT');
      const plain = await s.open('/f', O_RDONLY);
      expect(await code(s.inotify_add_watch(plain, '/f', IN_ATTRIB))).toBe('EINVAL');
      expect(await code(s.inotify_rm_watch(fd, 999))).toBe('EINVAL');
      expect(await code(s.inotify_init1(0x1))).toBe('EINVAL');
      await s.close(plain);
      const fd2 = await s.inotify_init1(IN_NONBLOCK);
      const once = await s.inotify_add_watch(fd2, '/f', IN_ATTRIB | IN_ONESHOT);
      await s.chmod('/f', 0o600);
      await s.chmod('/f', 0o644);
      expect(await drain(s, fd2)).toEqual([`${once} ATTRIB`, `${once} IGNORED`]);
      expect(await s.inotify_rm_watch(fd, w)).toBe(0);
      // The first instance saw the two chmods too, merged into one unread event.
      expect(await drain(s, fd)).toEqual([`${w} ATTRIB`, `${w} IGNORED`]);
      await s.close(fd);
      await s.close(fd2);
    });
  });

  it('reads: EINVAL for a buffer smaller than the next event, EAGAIN when empty, a blocking read wakes, overflow is bounded', async () => {
    await simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      const fd = await s.inotify_init1(IN_NONBLOCK);
      const w = await s.inotify_add_watch(fd, '/d', IN_CREATE);
      expect(await code(s.read(fd, new Uint8Array(64)))).toBe('EAGAIN');
      await writeFile(s, '/d/a-long-name', '');
      expect(await code(s.read(fd, new Uint8Array(16)))).toBe('EINVAL');
      expect(await s.ioctl(fd, 0x541b, null)).toBe(32);
      expect(await drain(s, fd)).toEqual([`${w} CREATE a-long-name`]);
      // A blocking reader sleeps until an event arrives.
      const bfd = await s.inotify_init1(0);
      await s.inotify_add_watch(bfd, '/d', IN_CREATE);
      const reading = s.read(bfd, new Uint8Array(256));
      await writeFile(s, '/d/wake', '');
      const n = await reading;
      expect(parseEvents(new Uint8Array(0)).length).toBe(0);
      expect(n).toBe(32);
      await s.close(bfd);
      // Overflow: beyond the limit events are dropped and one IN_Q_OVERFLOW is queued.
      inotifyService(k.kernel).maxQueuedEvents = 4;
      for (let i = 0; i < 10; i++) await writeFile(s, `/d/n${i}`, '');
      const got = await drain(s, fd);
      expect(got).toEqual([`${w} CREATE wake`, `${w} CREATE n0`, `${w} CREATE n1`, `${w} CREATE n2`, '-1 Q_OVERFLOW']);
      await s.close(fd);
      const rep = await k.shutdown();
      expect(rep.clean).toBe(true);
    });
  });

  it('close releases every watch: the watched vnodes are not leaked', async () => {
    await simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      await writeFile(s, '/d/f', '');
      const fd = await s.inotify_init1(0);
      await s.inotify_add_watch(fd, '/d', IN_ALL_EVENTS);
      await s.inotify_add_watch(fd, '/d/f', IN_ALL_EVENTS);
      const other = await s.open('/d/f', O_RDWR);
      await s.close(other);
      await s.close(fd);
      expect(inotifyService(k.kernel).active).toBe(false);
      const rep = await k.shutdown();
      expect(rep.clean).toBe(true);
    });
  });

  it('the inotify_event codec round-trips', () => {
    fc.assert(fc.property(
      fc.array(fc.record({
        wd: fc.integer({ min: -1, max: 2 ** 31 - 1 }), mask: fc.integer({ min: 0, max: 2 ** 32 - 1 }), cookie: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        name: fc.option(fc.string({ minLength: 1, maxLength: 40 }).filter((x) => !x.includes('\u0000') && !/[\uD800-\uDFFF]/.test(x)), { nil: null }),
      }), { maxLength: 8 }),
      (evs) => {
        const parts = evs.map((e) => encodeEvent(e.wd, e.mask, e.cookie, e.name));
        const all = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
        let o = 0;
        for (const p of parts) {
          expect(p.byteLength % 16).toBe(0);
          all.set(p, o);
          o += p.byteLength;
        }
        expect(parseEvents(all)).toEqual(evs);
      },
    ), { numRuns: Number(process.env['FC_RUNS'] ?? 200) });
    expect(() => parseEvents(new Uint8Array(10))).toThrow(/truncated/);
  });
});
