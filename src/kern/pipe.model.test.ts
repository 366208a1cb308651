/**
 * Model-based test of pipes and poll (fast-check `fc.commands`).
 *
 * The model is a plain byte array (the queue), a capacity, the number of
 * open descriptors of each end held by the test, and the list of background
 * writers still blocked. The real system is a kernel on the deterministic sim
 * host: the foreground acts as the library's init process; "background"
 * writes run in their own processes and block in the kernel; which of several
 * woken writers runs first is chosen by the sim host's seeded scheduler, so
 * each fast-check run (its own seed) explores other interleavings.
 *
 * After every command the sim runs until idle, then the model takes the
 * background completions in the order they happened (each one must have been
 * legal: room for all of it, PIPE_BUF atomicity, EPIPE only without
 * readers, and SIGPIPE pending for that writer), checks liveness (no writer is
 * still blocked while there is room for it), and compares the whole state.
 *
 * Background writes of at most PIPE_BUF (atomic) may be several at once: each
 * lands as one run, in an order the sim host picks and the model learns from
 * the completions. A larger background write runs alone: at every idle point
 * it must have poured all the room there was (the model pours for it), and
 * when the readers go it returns what it wrote, or EPIPE. Foreground
 * O_NONBLOCK writes toggle the flag of the shared write description, so they
 * run only while no background writer is blocked on it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { boot, type BootedKernel, type Sys } from '../frontends/library/boot.ts';
import { SimHost } from '../hyper/sim/host.ts';
import type { ProcHandle } from './lwproc.ts';
import {
  F_SETFL, F_GETPIPE_SZ, F_SETPIPE_SZ, O_NONBLOCK, PIPE_BUF, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, SIGPIPE,
} from './constants.ts';
import { FIONREAD, type Pipe } from './pipe.ts';
import { sigbit } from './sig.ts';

/**
 * A blocked background writer. `data` is what it writes; a large one (more
 * than PIPE_BUF) has poured `written` bytes so far.
 */
interface Pending { id: number; n: number; data: Uint8Array; large: boolean; written: number }
interface Model {
  q: number[];
  cap: number;
  rfds: number;
  wfds: number;
  pending: Pending[];
  nextTag: number;
}
type Outcome = { id: number; sigpipe: boolean } & ({ ok: number } | { err: string });
interface Real {
  k: BootedKernel;
  host: SimHost;
  pipe: Pipe;
  rfds: number[];
  wfds: number[];
  bg: Map<number, ProcHandle>;
  log: Outcome[];
}

const sysOf = (h: ProcHandle): Sys => h.sys as unknown as Sys;
const readers = (m: Model): number => (m.rfds > 0 ? 1 : 0);
const writers = (m: Model): number => (m.wfds + m.pending.length > 0 ? 1 : 0);
const free = (m: Model): number => m.cap - m.q.length;
const outcome = <T>(p: Promise<T>): Promise<T | string> => p.catch((e: { code?: string }) => e.code ?? String(e));
const pattern = (tag: number, n: number): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (tag * 31 + i) & 0xff;
  return b;
};
/** Linux round_pipe_size, restated. */
const rounded = (size: number): number => {
  let s = 4096;
  while (s < size) s *= 2;
  return s;
};

/** Run the sim until nothing can happen, then fold background completions into the model and compare. */
async function settle(m: Model, r: Real): Promise<void> {
  await r.host.idle();
  for (const e of r.log.splice(0)) {
    const i = m.pending.findIndex((p) => p.id === e.id);
    expect(i).toBeGreaterThanOrEqual(0);
    const p = m.pending[i]!;
    m.pending.splice(i, 1);
    if (p.large) {
      if ('ok' in e && readers(m) === 1) {
        // Woken with room for the rest: it poured it and finished.
        expect(e.ok).toBe(p.n);
        expect(free(m)).toBeGreaterThanOrEqual(p.n - p.written);
        for (let j = p.written; j < p.n; j++) m.q.push(p.data[j]!);
        expect(e.sigpipe).toBe(false);
      } else {
        // The readers went away: the count already written, or EPIPE when none was.
        expect(readers(m)).toBe(0);
        if (p.written > 0) expect('ok' in e && e.ok).toBe(p.written);
        else expect('err' in e && e.err).toBe('EPIPE');
        expect(e.sigpipe).toBe(true);
      }
    } else if ('ok' in e) {
      expect(readers(m)).toBe(1);
      expect(free(m)).toBeGreaterThanOrEqual(p.n); // atomic: it went in whole, only when it fit
      expect(e.ok).toBe(p.n);
      for (let j = 0; j < p.n; j++) m.q.push(p.data[j]!);
      expect(e.sigpipe).toBe(false);
    } else {
      expect(e.err).toBe('EPIPE');
      expect(readers(m)).toBe(0);
      expect(e.sigpipe).toBe(true);
    }
    r.bg.delete(e.id);
  }
  // The last end gone: the pipe's buffer is freed (Linux free_pipe_info), what was queued is discarded.
  if (readers(m) === 0 && writers(m) === 0) m.q.length = 0;
  for (const p of m.pending) {
    // Liveness: a writer still asleep has a reader, and no room for all of an
    // atomic write; a large writer has poured all the room there was.
    expect(readers(m)).toBe(1);
    if (p.large) {
      const pour = Math.min(free(m), p.n - p.written);
      for (let j = p.written; j < p.written + pour; j++) m.q.push(p.data[j]!);
      p.written += pour;
      expect(p.written).toBeLessThan(p.n);
      expect(free(m)).toBe(0);
    } else {
      expect(free(m)).toBeLessThan(p.n);
    }
  }
  expect(r.pipe.len).toBe(m.q.length);
  expect(r.pipe.capacity).toBe(m.cap);
  expect(r.pipe.readers).toBe(readers(m));
  expect(r.pipe.writers).toBe(writers(m));
  expect(r.rfds.length).toBe(m.rfds);
  expect(r.wfds.length).toBe(m.wfds);
  const any = r.rfds[0] ?? r.wfds[0];
  if (any !== undefined) expect(await r.k.sys.ioctl(any, FIONREAD, 0)).toBe(m.q.length);
}

type Cmd = fc.AsyncCommand<Model, Real>;

class WriteCmd implements Cmd {
  constructor(readonly idx: number, readonly n: number, readonly nonblock: boolean) {}
  check(m: Readonly<Model>): boolean {
    if (m.wfds === 0) return false;
    if (this.nonblock) return m.pending.length === 0;
    // A blocking foreground write only when it cannot block.
    return m.rfds === 0 || free(m as Model) >= this.n;
  }
  async run(m: Model, r: Real): Promise<void> {
    const fd = r.wfds[this.idx % r.wfds.length]!;
    const data = pattern(m.nextTag++, this.n);
    if (this.nonblock) await r.k.sys.fcntl(fd, F_SETFL, O_NONBLOCK);
    const got = await outcome(r.k.sys.write(fd, data));
    if (this.nonblock) await r.k.sys.fcntl(fd, F_SETFL, 0);
    let want: number | string;
    if (this.n === 0) want = 0;
    else if (readers(m) === 0) want = 'EPIPE';
    else if (this.n <= PIPE_BUF) want = free(m) >= this.n ? this.n : 'EAGAIN';
    else want = free(m) > 0 ? Math.min(free(m), this.n) : 'EAGAIN';
    expect(got).toBe(want);
    if (typeof want === 'number') for (let i = 0; i < want; i++) m.q.push(data[i]!);
    await settle(m, r);
  }
  toString(): string {
    return `write(w#${this.idx}, ${this.n}${this.nonblock ? ', O_NONBLOCK' : ''})`;
  }
}

let nextBgId = 1;
/**
 * A blocking write from a background process. Atomic ones (at most PIPE_BUF)
 * may be several at a time; a large one runs alone, since its pieces may
 * interleave with other writers' in an order the model does not predict.
 */
class BgWriteCmd implements Cmd {
  constructor(readonly n: number) {}
  get large(): boolean {
    return this.n > PIPE_BUF;
  }
  check(m: Readonly<Model>): boolean {
    if (m.wfds === 0) return false;
    return this.large ? m.pending.length === 0 : m.pending.length < 6 && !m.pending.some((p) => p.large);
  }
  async run(m: Model, r: Real): Promise<void> {
    const id = nextBgId++;
    const tag = m.nextTag++;
    const data = this.large ? pattern(tag, this.n) : new Uint8Array(this.n).fill(tag & 0xff);
    const child = r.k.rfork({ fd: 'clean' });
    // The writer gets its own descriptor for the shared write description.
    const cfd = child.proc.fdt.alloc(r.k.curproc.fdt.get(r.wfds[0]!).hold());
    r.bg.set(id, child);
    m.pending.push({ id, n: this.n, data, large: this.large, written: 0 });
    // Delivery of SIGPIPE (default action: terminate) is a later upcall; the
    // failed call returns first, with the signal pending.
    const sigpipe = (): boolean => (child.proc.sig.pending & sigbit(SIGPIPE)) !== 0n;
    void (async () => {
      try {
        const ok = await sysOf(child).write(cfd, data);
        r.log.push({ id, ok, sigpipe: sigpipe() });
      } catch (e) {
        r.log.push({ id, err: (e as { code?: string }).code ?? String(e), sigpipe: sigpipe() });
      }
      await r.k.exit(child);
    })();
    await settle(m, r);
  }
  toString(): string {
    return `bgwrite(${this.n})`;
  }
}

class ReadCmd implements Cmd {
  constructor(readonly idx: number, readonly n: number, readonly nonblock: boolean) {}
  check(m: Readonly<Model>): boolean {
    if (m.rfds === 0) return false;
    // A blocking read only when it cannot block forever.
    return this.nonblock || this.n === 0 || m.q.length > 0 || writers(m as Model) === 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const fd = r.rfds[this.idx % r.rfds.length]!;
    const buf = new Uint8Array(this.n);
    if (this.nonblock) await r.k.sys.fcntl(fd, F_SETFL, O_NONBLOCK);
    const got = await outcome(r.k.sys.read(fd, buf));
    if (this.nonblock) await r.k.sys.fcntl(fd, F_SETFL, 0);
    let want: number | string;
    if (this.n === 0) want = 0;
    else if (m.q.length > 0) want = Math.min(this.n, m.q.length);
    else if (writers(m) === 0) want = 0;
    else want = 'EAGAIN';
    expect(got).toBe(want);
    if (typeof want === 'number') {
      const exp = m.q.splice(0, want);
      let diff = -1;
      for (let i = 0; i < want && diff < 0; i++) if (buf[i] !== exp[i]) diff = i;
      expect(diff, `first differing byte of ${want}`).toBe(-1);
    }
    await settle(m, r);
  }
  toString(): string {
    return `read(r#${this.idx}, ${this.n}${this.nonblock ? ', O_NONBLOCK' : ''})`;
  }
}

class CloseCmd implements Cmd {
  constructor(readonly readEnd: boolean, readonly idx: number) {}
  check(m: Readonly<Model>): boolean {
    return (this.readEnd ? m.rfds : m.wfds) > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const list = this.readEnd ? r.rfds : r.wfds;
    const [fd] = list.splice(this.idx % list.length, 1);
    expect(await r.k.sys.close(fd!)).toBe(0);
    if (this.readEnd) m.rfds--;
    else m.wfds--;
    await settle(m, r);
  }
  toString(): string {
    return `close(${this.readEnd ? 'r' : 'w'}#${this.idx})`;
  }
}

class DupCmd implements Cmd {
  constructor(readonly readEnd: boolean, readonly idx: number) {}
  check(m: Readonly<Model>): boolean {
    const n = this.readEnd ? m.rfds : m.wfds;
    return n > 0 && n < 8;
  }
  async run(m: Model, r: Real): Promise<void> {
    const list = this.readEnd ? r.rfds : r.wfds;
    list.push(await r.k.sys.dup(list[this.idx % list.length]!));
    if (this.readEnd) m.rfds++;
    else m.wfds++;
    await settle(m, r);
  }
  toString(): string {
    return `dup(${this.readEnd ? 'r' : 'w'}#${this.idx})`;
  }
}

class PollCmd implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const ev = POLLIN | POLLOUT;
    const fds = [...r.rfds, ...r.wfds, 999, -1].map((fd) => ({ fd, events: ev }));
    const res = await r.k.sys.poll(fds, 0);
    const rd = (m.q.length > 0 ? POLLIN : 0) | (writers(m) === 0 ? POLLHUP : 0);
    const wr = (free(m) >= PIPE_BUF ? POLLOUT : 0) | (readers(m) === 0 ? POLLERR : 0);
    const want = [...r.rfds.map(() => rd), ...r.wfds.map(() => wr), POLLNVAL, 0];
    expect(res.fds.map((f) => f.revents)).toEqual(want);
    expect(res.n).toBe(want.filter((x) => x !== 0).length);
    await settle(m, r);
  }
  toString(): string {
    return 'poll(all, 0)';
  }
}

class SetSizeCmd implements Cmd {
  constructor(readonly size: number) {}
  check(m: Readonly<Model>): boolean {
    return m.rfds + m.wfds > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const fd = (r.wfds[0] ?? r.rfds[0])!;
    const got = await outcome(r.k.sys.fcntl(fd, F_SETPIPE_SZ, this.size));
    const size = rounded(this.size);
    if (size < m.q.length) expect(got).toBe('EBUSY');
    else {
      expect(got).toBe(size);
      m.cap = size;
    }
    expect(await r.k.sys.fcntl(fd, F_GETPIPE_SZ, 0)).toBe(m.cap);
    await settle(m, r); // growing may let blocked writers in
  }
  toString(): string {
    return `F_SETPIPE_SZ(${this.size})`;
  }
}

const size = fc.oneof(
  fc.integer({ min: 0, max: 100 }),
  fc.integer({ min: PIPE_BUF - 100, max: PIPE_BUF + 100 }),
  fc.integer({ min: 5000, max: 20000 }),
);
const idx = fc.nat(7);
const write = fc.tuple(idx, size, fc.boolean()).map(([i, n, nb]) => new WriteCmd(i, n, nb));
const bgWrite = fc.integer({ min: 1, max: PIPE_BUF }).map((n) => new BgWriteCmd(n));
const bgWriteLarge = fc.integer({ min: PIPE_BUF + 1, max: 40000 }).map((n) => new BgWriteCmd(n));
const read = fc.tuple(idx, size, fc.boolean()).map(([i, n, nb]) => new ReadCmd(i, n, nb));
// Repeats weight the choice: closing is rare so that runs stay busy for long.
const commands = [
  write, write, bgWrite, bgWrite, bgWrite, bgWriteLarge, read, read, read,
  fc.tuple(fc.boolean(), idx).map(([re, i]) => new CloseCmd(re, i)),
  fc.tuple(fc.boolean(), idx).map(([re, i]) => new DupCmd(re, i)),
  fc.constant(new PollCmd()),
  fc.constantFrom(0, 4096, 5000, 8192, 16384, 65536).map((s) => new SetSizeCmd(s)),
];

describe('pipe model (fc.commands against a byte-queue model, sim-host interleavings)', () => {
  it('every command agrees with the model, whatever the seed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom(4096, 4096, 8192, 65536),
        fc.commands(commands, { maxCommands: 80, size: 'max' }),
        async (seed, cap, cmds) => {
          const host = new SimHost({ seed });
          try {
            const k = await boot({ host, components: ['kern'] });
            const [r, w] = await k.sys.pipe();
            await k.sys.fcntl(w, F_SETPIPE_SZ, cap);
            const fdt = k.curproc.fdt;
            const real: Real = { k, host, pipe: fdt.get(r).data as Pipe, rfds: [r], wfds: [w], bg: new Map(), log: [] };
            const model: Model = { q: [], cap, rfds: 1, wfds: 1, pending: [], nextTag: 1 };
            await fc.asyncModelRun(() => ({ model, real }), cmds);
          } finally {
            host.dispose();
          }
        },
      ),
      { numRuns: Number(process.env['PIPE_MODEL_RUNS'] ?? 150) },
    );
  }, 120_000);
});
