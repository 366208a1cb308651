/**
 * Unit tests of pipes (pipe.ts, sys_pipe.ts) through the library syscalls on
 * the deterministic sim host: one rule of pipe(7)/write(2)/read(2) per test.
 */
import { describe, expect, it } from 'vitest';
import { boot, type BootedKernel, type Sys } from '../frontends/library/boot.ts';
import { SimHost } from '../hyper/sim/host.ts';
import { forEachSeed } from '../hyper/sim/harness.ts';
import type { ProcHandle } from './lwproc.ts';
import {
  F_GETFD, F_GETFL, F_GETPIPE_SZ, F_SETFL, F_SETPIPE_SZ, FD_CLOEXEC, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY,
  O_WRONLY, PIPE_BUF, S_IFIFO, S_IFMT, SIG_BLOCK, SIGPIPE, SIGUSR1,
} from './constants.ts';
import { File } from './file.ts';
import { FIONREAD, PIPE_DEF_SIZE, pipeFcntl } from './pipe.ts';
import { sigbit } from './sig.ts';
import { Lwp } from './sched.ts';

/** Boot a kernel on a SimHost and run the scenario under it (deadlock = failure). */
async function sim<T>(seed: number, fn: (k: BootedKernel, host: SimHost) => Promise<T>): Promise<T> {
  const host = new SimHost({ seed });
  const k = await boot({ host, components: ['kern'] });
  try {
    return await host.run(() => fn(k, host), { limitSteps: 2_000_000 });
  } finally {
    host.dispose();
  }
}

const sysOf = (h: ProcHandle): Sys => h.sys as unknown as Sys;
const bytes = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
/** Settles-yet probe for a background promise. */
function track<T>(p: Promise<T>): { p: Promise<T>; done: boolean } {
  const t = { p, done: false };
  p.then(() => { t.done = true; }, () => { t.done = true; });
  return t;
}
/** Index of the first differing byte, -1 when equal (deep-equal of big arrays is slow). */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

describe('pipe/pipe2', () => {
  it('returns [readFd, writeFd] at the lowest free fds, ends with the right access modes', () =>
    sim(1, async (k) => {
      const [r, w] = await k.sys.pipe();
      expect([r, w]).toEqual([0, 1]);
      expect(((await k.sys.fcntl(r, F_GETFL, 0)) as number) & 3).toBe(O_RDONLY);
      expect(((await k.sys.fcntl(w, F_GETFL, 0)) as number) & 3).toBe(O_WRONLY);
      await k.sys.close(r);
      const [r2, w2] = await k.sys.pipe2(0);
      expect([r2, w2]).toEqual([0, 2]);
    }));

  it('pipe2 applies O_CLOEXEC and O_NONBLOCK to both ends and rejects other flags', () =>
    sim(2, async (k) => {
      const [r, w] = await k.sys.pipe2(O_CLOEXEC | O_NONBLOCK);
      for (const fd of [r, w]) {
        expect(await k.sys.fcntl(fd, F_GETFD, 0)).toBe(FD_CLOEXEC);
        expect(((await k.sys.fcntl(fd, F_GETFL, 0)) as number) & O_NONBLOCK).toBe(O_NONBLOCK);
      }
      expect(await code(k.sys.pipe2(O_DIRECT))).toBe('EINVAL');
      expect(await code(k.sys.pipe2(0x40))).toBe('EINVAL');
      expect(k.kernel.initproc.fdt.count).toBe(2);
    }));

  it('EMFILE when fewer than two fds are free, leaking nothing', () =>
    sim(3, async (k) => {
      await k.sys.prlimit64(0, 7 /* RLIMIT_NOFILE */, { cur: 3, max: 3 });
      await k.sys.pipe();
      expect(await code(k.sys.pipe())).toBe('EMFILE');
      expect(k.kernel.initproc.fdt.count).toBe(2);
    }));

  it('fstat: S_IFIFO|0600, one inode per pipe shared by both ends, st_size 0, mtime moves on write', () =>
    sim(4, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      const [r2] = await k.sys.pipe();
      const sr = await k.sys.fstat(r), sw = await k.sys.fstat(w), s2 = await k.sys.fstat(r2);
      expect(sr.mode & S_IFMT).toBe(S_IFIFO);
      expect(sr.mode & 0o7777).toBe(0o600);
      expect(sr.ino).toBe(sw.ino);
      expect(s2.ino).not.toBe(sr.ino);
      expect(sr.dev).toBe(s2.dev);
      await host.world.sleep(2_000_000_000);
      await k.sys.write(w, bytes(10, 1));
      const after = await k.sys.fstat(r);
      expect(after.size).toBe(0);
      expect(after.mtime.sec).toBe(sr.mtime.sec + 2);
      expect(after.atime).toEqual(sr.atime);
    }));

  it('wrong-direction I/O is EBADF; seeking and positioned I/O are ESPIPE', () =>
    sim(5, async (k) => {
      const [r, w] = await k.sys.pipe();
      expect(await code(k.sys.write(r, bytes(1, 1)))).toBe('EBADF');
      expect(await code(k.sys.read(w, new Uint8Array(1)))).toBe('EBADF');
      expect(await code(k.sys.lseek(r, 0, 0))).toBe('ESPIPE');
      expect(await code(k.sys.pread(r, new Uint8Array(1), 0))).toBe('ESPIPE');
      expect(await code(k.sys.pwrite(w, bytes(1, 1), 0))).toBe('ESPIPE');
      expect(await code(k.sys.ioctl(r, 0x5401 /* TCGETS */, 0))).toBe('ENOTTY');
    }));
});

describe('pipe reads', () => {
  it('round-trips bytes in order and short-reads what is there', () =>
    sim(10, async (k) => {
      const [r, w] = await k.sys.pipe();
      expect(await k.sys.write(w, Uint8Array.of(1, 2, 3))).toBe(3);
      expect(await k.sys.write(w, Uint8Array.of(4, 5))).toBe(2);
      expect(await k.sys.ioctl(r, FIONREAD, 0)).toBe(5);
      const b = new Uint8Array(4);
      expect(await k.sys.read(r, b)).toBe(4);
      expect([...b]).toEqual([1, 2, 3, 4]);
      const c = new Uint8Array(10);
      expect(await k.sys.read(r, c)).toBe(1);
      expect(c[0]).toBe(5);
      expect(await k.sys.ioctl(r, FIONREAD, 0)).toBe(0);
    }));

  it('a blocking read sleeps until data arrives', () =>
    sim(11, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      const buf = new Uint8Array(8);
      const rd = track(k.sys.read(r, buf));
      await host.world.sleep(1_000_000);
      expect(rd.done).toBe(false);
      await k.sys.write(w, Uint8Array.of(7, 8));
      expect(await rd.p).toBe(2);
      expect([...buf.subarray(0, 2)]).toEqual([7, 8]);
    }));

  it('EOF: returns queued data first, then 0 once no writer is left', () =>
    sim(12, async (k) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.write(w, Uint8Array.of(9));
      await k.sys.close(w);
      const b = new Uint8Array(4);
      expect(await k.sys.read(r, b)).toBe(1);
      expect(await k.sys.read(r, b)).toBe(0);
      expect(await k.sys.read(r, b)).toBe(0);
    }));

  it('a reader blocked on an empty pipe gets 0 when the last writer closes', () =>
    sim(13, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      const rd = track(k.sys.read(r, new Uint8Array(4)));
      await host.world.sleep(1000);
      expect(rd.done).toBe(false);
      await k.sys.close(w);
      expect(await rd.p).toBe(0);
    }));

  it('every write-end description counts: dup and fork keep the pipe open', () =>
    sim(14, async (k) => {
      const [r, w] = await k.sys.pipe2(O_NONBLOCK);
      const w2 = await k.sys.dup(w);
      const child = k.rfork({ fd: 'copy' });
      await k.sys.close(w);
      expect(await code(k.sys.read(r, new Uint8Array(1)))).toBe('EAGAIN');
      await k.sys.close(w2);
      expect(await code(k.sys.read(r, new Uint8Array(1)))).toBe('EAGAIN'); // the child still holds it
      await sysOf(child).close(w);
      expect(await code(k.sys.read(r, new Uint8Array(1)))).toBe('EAGAIN'); // and its copy of the dup
      await sysOf(child).close(w2);
      expect(await k.sys.read(r, new Uint8Array(1))).toBe(0);
      await k.exit(child);
    }));

  it('O_NONBLOCK (pipe2 or F_SETFL): EAGAIN on an empty pipe with writers', () =>
    sim(15, async (k) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.fcntl(r, F_SETFL, O_NONBLOCK);
      expect(await code(k.sys.read(r, new Uint8Array(1)))).toBe('EAGAIN');
      await k.sys.write(w, Uint8Array.of(1));
      expect(await k.sys.read(r, new Uint8Array(1))).toBe(1);
      await k.sys.fcntl(r, F_SETFL, 0);
      const rd = track(k.sys.read(r, new Uint8Array(1)));
      await k.sys.close(w);
      expect(await rd.p).toBe(0);
    }));

  it('a signal interrupts a blocked read with EINTR', () =>
    sim(16, async (k, host) => {
      const [r] = await k.sys.pipe();
      const child = k.rfork({ fd: 'copy' });
      const seen: number[] = [];
      await sysOf(child).sigaction(SIGUSR1, { handler: (s: number) => { seen.push(s); } });
      const rd = sysOf(child).read(r, new Uint8Array(4));
      await host.world.sleep(1000);
      await k.sys.kill(child.pid, SIGUSR1);
      expect(await code(rd)).toBe('EINTR');
      await host.world.sleep(1000); // the handler runs in the delivery upcall
      expect(seen).toEqual([SIGUSR1]);
      await k.exit(child);
    }));
});

describe('pipe writes', () => {
  it('EPIPE with no reader, and SIGPIPE is posted to the writer (pending while blocked)', () =>
    sim(20, async (k) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.close(r);
      const child = k.rfork({ fd: 'copy' });
      await sysOf(child).sigprocmask(SIG_BLOCK, sigbit(SIGPIPE));
      expect(await code(sysOf(child).write(w, bytes(10, 1)))).toBe('EPIPE');
      expect(child.proc.sig.pending & sigbit(SIGPIPE)).toBe(sigbit(SIGPIPE));
      expect(child.proc.state).toBe('alive');
      await k.exit(child);
    }));

  it('SIGPIPE with the default action terminates the writer', () =>
    sim(21, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.close(r);
      const child = k.rfork({ fd: 'copy' });
      expect(await code(sysOf(child).write(w, bytes(1, 1)))).toBe('EPIPE');
      await host.world.sleep(1000);
      expect(child.proc.state).not.toBe('alive');
      expect(child.proc.exitStatus & 0x7f).toBe(SIGPIPE);
    }));

  it('a zero-length write returns 0 even without readers (no SIGPIPE)', () =>
    sim(22, async (k) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.close(r);
      const child = k.rfork({ fd: 'copy' });
      await sysOf(child).sigprocmask(SIG_BLOCK, sigbit(SIGPIPE));
      expect(await sysOf(child).write(w, new Uint8Array(0))).toBe(0);
      expect(child.proc.sig.pending).toBe(0n);
      await k.exit(child);
    }));

  it('O_NONBLOCK: <= PIPE_BUF is all or EAGAIN; > PIPE_BUF is partial or EAGAIN', () =>
    sim(23, async (k) => {
      const [r, w] = await k.sys.pipe2(O_NONBLOCK);
      expect(await k.sys.write(w, bytes(PIPE_DEF_SIZE - 100, 1))).toBe(PIPE_DEF_SIZE - 100);
      expect(await code(k.sys.write(w, bytes(200, 2)))).toBe('EAGAIN');
      expect(await k.sys.write(w, bytes(100, 3))).toBe(100); // exactly fits
      expect(await code(k.sys.write(w, bytes(1, 4)))).toBe('EAGAIN');
      const b = new Uint8Array(150);
      expect(await k.sys.read(r, b)).toBe(150);
      expect(await code(k.sys.write(w, bytes(PIPE_BUF, 5)))).toBe('EAGAIN');
      expect(await k.sys.write(w, bytes(PIPE_BUF + 1, 6))).toBe(150);
      expect(await code(k.sys.write(w, bytes(PIPE_BUF + 1, 7)))).toBe('EAGAIN');
      expect(await k.sys.ioctl(r, FIONREAD, 0)).toBe(PIPE_DEF_SIZE);
    }));

  it('a blocking write larger than the pipe is split, completes as the reader drains, and keeps order', () =>
    sim(24, async (k) => {
      const [r, w] = await k.sys.pipe();
      const data = new Uint8Array(200_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
      const wr = track(k.sys.write(w, data));
      const got = new Uint8Array(data.length);
      let off = 0;
      while (off < data.length) off += await k.sys.read(r, got.subarray(off, Math.min(off + 9999, data.length)));
      expect(await wr.p).toBe(data.length);
      expect(firstDiff(got, data)).toBe(-1);
    }));

  it('a writer blocked for room fails with EPIPE when the last reader closes', () =>
    sim(25, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.write(w, bytes(PIPE_DEF_SIZE, 1));
      const child = k.rfork({ fd: 'copy' });
      await sysOf(child).sigprocmask(SIG_BLOCK, sigbit(SIGPIPE));
      await sysOf(child).close(r);
      const wr = track(sysOf(child).write(w, bytes(10, 2)));
      await host.world.sleep(1000);
      expect(wr.done).toBe(false);
      await k.sys.close(r);
      expect(await code(wr.p)).toBe('EPIPE');
      expect(child.proc.sig.pending & sigbit(SIGPIPE)).not.toBe(0n);
      await k.exit(child);
    }));

  it('a large write interrupted by a signal returns the bytes already written', () =>
    sim(26, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      const child = k.rfork({ fd: 'copy' });
      await sysOf(child).sigaction(SIGUSR1, { handler: () => {} });
      const wr = sysOf(child).write(w, bytes(PIPE_DEF_SIZE + 5000, 1));
      await host.world.sleep(1000);
      await k.sys.kill(child.pid, SIGUSR1);
      expect(await wr).toBe(PIPE_DEF_SIZE);
      await host.world.sleep(1000); // let the handler run, so nothing is pending
      // Nothing was written yet: EINTR.
      const wr2 = track(code(sysOf(child).write(w, bytes(10, 2))));
      await host.world.sleep(1000);
      expect(wr2.done).toBe(false);
      await k.sys.kill(child.pid, SIGUSR1);
      expect(await wr2.p).toBe('EINTR');
      expect(await k.sys.ioctl(r, FIONREAD, 0)).toBe(PIPE_DEF_SIZE);
      await k.exit(child);
    }));

  it('writev gathers into one write (atomic up to PIPE_BUF); readv scatters what is there', () =>
    sim(28, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.write(w, bytes(PIPE_DEF_SIZE - 3000, 1));
      // 2000 + 2000 bytes: 4000 <= PIPE_BUF, so nothing goes in until all of it fits.
      const wv = track(k.sys.writev(w, [bytes(2000, 2), bytes(2000, 3)]));
      await host.world.sleep(1000);
      expect(wv.done).toBe(false);
      expect(await k.sys.ioctl(r, FIONREAD, 0)).toBe(PIPE_DEF_SIZE - 3000);
      await k.sys.read(r, new Uint8Array(PIPE_DEF_SIZE - 3000));
      expect(await wv.p).toBe(4000);
      const a = new Uint8Array(1500), b = new Uint8Array(3000);
      expect(await k.sys.readv(r, [a, b])).toBe(4000);
      expect(a.every((x) => x === 2) && b.subarray(0, 500).every((x) => x === 2) && b.subarray(500, 2500).every((x) => x === 3)).toBe(true);
    }));

  it('a PIPE_BUF write waits for room for all of it, not just some', () =>
    sim(27, async (k, host) => {
      const [r, w] = await k.sys.pipe();
      await k.sys.write(w, bytes(PIPE_DEF_SIZE - 100, 1));
      const wr = track(k.sys.write(w, bytes(PIPE_BUF, 2)));
      await host.world.sleep(1000);
      expect(wr.done).toBe(false);
      expect(await k.sys.ioctl(r, FIONREAD, 0)).toBe(PIPE_DEF_SIZE - 100);
      await k.sys.read(r, new Uint8Array(PIPE_BUF - 101)); // free = PIPE_BUF - 1: still waits
      await host.world.sleep(1000);
      expect(wr.done).toBe(false);
      await k.sys.read(r, new Uint8Array(1));
      expect(await wr.p).toBe(PIPE_BUF);
    }));

  it('writes of at most PIPE_BUF from two concurrent writers never interleave', () =>
    forEachSeed('pipe atomic writes', 8, (seed) =>
      sim(seed, async (k, host) => {
        const [r, w] = await k.sys.pipe();
        expect(await k.sys.fcntl(w, F_SETPIPE_SZ, 8192)).toBe(8192);
        const rng = host.rng('test');
        const plan: number[][] = [[], []]; // sizes per writer
        for (const p of plan) for (let i = 0; i < 25; i++) p.push(1 + (rng.next32() % PIPE_BUF));
        const tag = (wr: number, i: number): number => wr * 100 + i + 1;
        const writers = plan.map((sizes, wi) => {
          const child = k.rfork({ fd: 'copy' });
          return (async () => {
            const s = sysOf(child);
            await s.close(r);
            for (let i = 0; i < sizes.length; i++) expect(await s.write(w, bytes(sizes[i]!, tag(wi, i)))).toBe(sizes[i]);
            await k.exit(child);
          })();
        });
        await k.sys.close(w);
        const chunks: Uint8Array[] = [];
        for (;;) {
          const b = new Uint8Array(1 + (rng.next32() % 3000));
          const n = await k.sys.read(r, b);
          if (n === 0) break;
          chunks.push(b.slice(0, n));
        }
        await Promise.all(writers);
        const stream = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
        let o = 0;
        for (const c of chunks) { stream.set(c, o); o += c.length; }
        // Walk the stream: each write must appear whole, each writer's in its order.
        const next = [0, 0];
        let pos = 0, switches = 0, last = -1;
        while (pos < stream.length) {
          const v = stream[pos]!;
          const wi = v > 100 ? 1 : 0;
          expect(v).toBe(tag(wi, next[wi]!));
          const len = plan[wi]![next[wi]!]!;
          expect(stream.subarray(pos, pos + len).every((x) => x === v)).toBe(true);
          pos += len;
          next[wi]!++;
          if (wi !== last) switches++;
          last = wi;
        }
        expect(next).toEqual([25, 25]);
        expect(switches).toBeGreaterThan(1); // the writers really did take turns
      })));
});

describe('interleavings chosen by the sim host', () => {
  it('the seed decides which of two writers woken by one read goes first', async () => {
    const orders = new Set<string>();
    for (let seed = 0; seed < 16; seed++) {
      orders.add(await sim(seed, async (k) => {
        const [r, w] = await k.sys.pipe();
        await k.sys.fcntl(w, F_SETPIPE_SZ, 4096);
        await k.sys.write(w, bytes(4096, 0));
        const a = k.rfork({ fd: 'copy' }), b = k.rfork({ fd: 'copy' });
        const wa = sysOf(a).write(w, bytes(1000, 1));
        const wb = sysOf(b).write(w, bytes(1000, 2));
        const buf = new Uint8Array(4096);
        expect(await k.sys.read(r, buf)).toBe(4096);
        expect([await wa, await wb]).toEqual([1000, 1000]);
        expect(await k.sys.read(r, buf)).toBe(2000);
        await k.exit(a);
        await k.exit(b);
        expect(buf.subarray(0, 1000).every((x) => x === buf[0])).toBe(true);
        return buf[0] === 1 ? 'a,b' : 'b,a';
      }));
    }
    expect([...orders].sort()).toEqual(['a,b', 'b,a']);
  });
});

describe('pipe capacity (F_GETPIPE_SZ / F_SETPIPE_SZ)', () => {
  it('defaults to 65536, rounds up to a power-of-two number of pages, never below one page', () =>
    sim(30, async (k) => {
      const [r, w] = await k.sys.pipe();
      expect(await k.sys.fcntl(r, F_GETPIPE_SZ, 0)).toBe(65536);
      expect(await k.sys.fcntl(w, F_SETPIPE_SZ, 5000)).toBe(8192);
      expect(await k.sys.fcntl(r, F_GETPIPE_SZ, 0)).toBe(8192);
      expect(await k.sys.fcntl(w, F_SETPIPE_SZ, 0)).toBe(4096);
      expect(await k.sys.fcntl(w, F_SETPIPE_SZ, 3 * 65536)).toBe(262144);
      expect(await code(k.sys.fcntl(w, F_SETPIPE_SZ, 2 ** 31 + 1))).toBe('EINVAL');
      expect(await code(k.sys.fcntl(w, F_SETPIPE_SZ, -1))).toBe('EINVAL');
      expect(await k.sys.fcntl(w, F_SETPIPE_SZ, 2 * 1048576)).toBe(2 * 1048576); // root may exceed pipe-max-size
    }));

  it('EBUSY below the queued bytes; EPERM above pipe-max-size without privilege; the new size bounds writes', () =>
    sim(31, async (k) => {
      const child = k.rfork({ uid: 1000, gid: 1000, fd: 'clean' });
      const s = sysOf(child);
      const [r, w] = await s.pipe2(O_NONBLOCK);
      await s.write(w, bytes(10_000, 1));
      expect(await code(s.fcntl(w, F_SETPIPE_SZ, 8192))).toBe('EBUSY');
      expect(await code(s.fcntl(w, F_SETPIPE_SZ, 2 * 1048576))).toBe('EPERM');
      expect(await s.fcntl(w, F_SETPIPE_SZ, 1048576)).toBe(1048576);
      expect(await s.fcntl(r, F_SETPIPE_SZ, 16384)).toBe(16384);
      expect(await s.write(w, bytes(8000, 2))).toBe(16384 - 10_000);
      await k.exit(child);
    }));

  it('answers EBADF for a file that is not a pipe', () =>
    sim(32, async (k) => {
      const other = new File({ type: 'event', poll: () => 0, pollQueues: () => [], close() {} }, null, 0);
      const td = new Lwp(k.kernel, k.kernel.initproc, 'test');
      expect(() => pipeFcntl(td, other, F_GETPIPE_SZ, 0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    }));
});
