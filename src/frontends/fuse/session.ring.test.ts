/**
 * The shared-memory request ring (ring.ts) on the real host kernel: more WRITE requests in flight
 * at once than the ring has slots (the handler holds every write until all have arrived), so
 * some travel the overflow path over the reader's port; every byte must still arrive intact, and
 * slots reused after their replies must not disturb requests still being served. Also: timers on
 * the serving thread keep firing while it serves a stat loop and once it sits idle in its own
 * read(2) (direct mode: the waker's STATFS ends that read).
 *
 * Needs root and /dev/fuse: skipped without them, saying why, except under CI=true.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FuseSession, type FuseHandler } from './session.ts';
import type { FuseAttr, WriteRequest } from './proto.ts';
import { requireFuse } from '../../../test/fuse/mount.ts';

const exec = promisify(execFile);
const run = requireFuse('fuse ring test');
const WRITERS = 24; // more than the ring's 16 slots at the default 128 KiB max_write
const SIZE = 65536; // one WRITE each, ≥ COPY_BELOW: served in place from its slot
const t0 = { sec: 0, nsec: 0 };

function attrOf(nodeid: number): FuseAttr {
  return {
    ino: nodeid, size: 0, blocks: 0, atime: t0, mtime: t0, ctime: t0, mode: nodeid === 1 ? 0o40755 : 0o100666,
    nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096,
  };
}

describe.skipIf(!run)('FuseSession request ring', () => {
  it('more big requests in flight than slots: all arrive intact, through the overflow path too', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-ring-'));
    const held: { req: WriteRequest; release: (n: number) => void; sum: number }[] = [];
    const sums = new Map<number, number>();
    const checksum = (b: Uint8Array) => b.reduce((s, x, i) => (s + x * ((i % 251) + 1)) % 1_000_003, 0);
    const handler: FuseHandler = {
      lookup: (req) => {
        const m = /^f(\d+)$/.exec(req.name);
        if (req.header.nodeid !== 1 || !m) return -2;
        return { nodeid: 2 + Number(m[1]), generation: 0, entryTimeout: 0, attrTimeout: 0, attr: attrOf(2 + Number(m[1])) };
      },
      getattr: (req) => ({ attrTimeout: 0, attr: attrOf(req.header.nodeid) }),
      open: () => ({ fh: 1, openFlags: 0 }),
      setattr: (req) => ({ attrTimeout: 0, attr: attrOf(req.header.nodeid) }),
      write: (req) =>
        new Promise<number>((resolve) => {
          // The checksum is taken now, and again at release: a slot reused too early would change it.
          held.push({ req, release: resolve, sum: checksum(req.data) });
          if (held.length === WRITERS) {
            for (const h of held) {
              expect(checksum(h.req.data)).toBe(h.sum);
              sums.set(h.req.header.nodeid - 2, h.sum);
              h.release(h.req.data.length);
            }
          }
        }),
    };
    const s = await FuseSession.mount(dir, handler, { reader: 'worker' });
    try {
      const script = `const fs=require('node:fs');const i=+process.argv[2];const b=Buffer.alloc(${SIZE});for(let k=0;k<b.length;k++)b[k]=(k*7+i*13)&255;const f=fs.openSync(process.argv[1]+'/f'+i,'r+');fs.writeSync(f,b,0,b.length,0);fs.closeSync(f)`;
      await Promise.all(Array.from({ length: WRITERS }, (_, i) => exec(process.execPath, ['-e', script, dir, String(i)])));
      for (let i = 0; i < WRITERS; i++) {
        const b = new Uint8Array(SIZE).map((_, k) => (k * 7 + i * 13) & 255);
        expect(sums.get(i), `writer ${i}`).toBe(checksum(b));
      }
      expect(s.dispatcher.stats.writeErrors).toBe(0);
    } finally {
      await s.unmount();
      fs.rmdirSync(dir);
    }
  }, 60_000);

  it('timers on the serving thread keep firing while it waits for requests', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-ring-'));
    const s = await FuseSession.mount(dir, { getattr: (req) => ({ attrTimeout: 0, attr: attrOf(req.header.nodeid) }) }, { reader: 'worker', direct: true });
    try {
      // A child stats the mount in a loop meanwhile: the session keeps lingering on its futex.
      const child = exec(process.execPath, ['-e', `const fs=require('node:fs');for(let i=0;i<3000;i++)fs.statSync(process.argv[1])`, dir]);
      let ticks = 0;
      await new Promise<void>((resolve) => {
        const iv = setInterval(() => {
          if (++ticks === 20) {
            clearInterval(iv);
            resolve();
          }
        }, 1);
      });
      await child;
      expect(ticks).toBe(20);
      // Idle now, the serving thread may sit in its own read(2) (direct mode): only the waker's
      // request gets it out, so this timer firing at all shows the waker works.
      await new Promise<void>((resolve) => setTimeout(resolve, 20));
    } finally {
      await s.unmount();
      fs.rmdirSync(dir);
    }
  }, 60_000);
});
