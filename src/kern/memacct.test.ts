/**
 * Kernel memory accounting under random workloads: processes that fork,
 * open, write, pipe and mkdir on a kernel with a small memory limit. The
 * accounted total never passes the limit, every failure is one Linux gives
 * at such a limit for that call, and once every process has exited and the
 * files are removed the account is back where it started.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { boot } from '../frontends/library/boot.ts';
import { SimHost } from '../hyper/sim/index.ts';
import { O_CREAT, O_NONBLOCK, O_RDWR, O_WRONLY } from './constants.ts';
import { MemAccount } from './memacct.ts';
import type { ProcHandle } from './lwproc.ts';

type AnySys = Record<string, (...a: unknown[]) => Promise<unknown>>;

type Op =
  | { op: 'fork'; who: number }
  | { op: 'exit'; who: number }
  | { op: 'create'; who: number; name: number }
  | { op: 'write'; who: number; name: number; len: number; at: number }
  | { op: 'mkdir'; who: number; name: number }
  | { op: 'pipe'; who: number; fill: number };

/** What Linux may answer for each call when memory (or a per-process limit) runs out. */
const ALLOWED: Record<Op['op'], readonly string[]> = {
  fork: ['ENOMEM', 'EAGAIN'],
  exit: [],
  create: ['ENOSPC', 'EMFILE', 'EEXIST'],
  write: ['ENOSPC', 'EMFILE'],
  mkdir: ['ENOSPC', 'EEXIST'],
  pipe: ['EMFILE', 'ENFILE', 'ENOMEM', 'EAGAIN'],
};

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('fork' as const), who: fc.nat(7) }),
  fc.record({ op: fc.constant('exit' as const), who: fc.nat(7) }),
  fc.record({ op: fc.constant('create' as const), who: fc.nat(7), name: fc.nat(15) }),
  fc.record({ op: fc.constant('write' as const), who: fc.nat(7), name: fc.nat(15), len: fc.integer({ min: 1, max: 200_000 }), at: fc.nat(300_000) }),
  fc.record({ op: fc.constant('mkdir' as const), who: fc.nat(7), name: fc.nat(15) }),
  fc.record({ op: fc.constant('pipe' as const), who: fc.nat(7), fill: fc.integer({ min: 0, max: 70_000 }) }),
);

describe('kernel memory accounting', () => {
  it('MemAccount refuses a charge past the limit and keeps categories apart', () => {
    const m = new MemAccount(1000);
    expect(m.charge('shmem', 600)).toBe(true);
    expect(m.charge('pipes', 500)).toBe(false);
    expect(m.failures).toBe(1);
    expect(m.charge('pipes', 400)).toBe(true);
    expect(m.snapshot()).toMatchObject({ total: 1000, shmem: 600, pipes: 400 });
    m.uncharge('shmem', 600);
    expect(m.free).toBe(600);
    expect(new MemAccount(0).fits(1e15)).toBe(true); // no limit
    expect(m.meminfo()).toMatch(/^MemTotal: +0 kB\nMemFree: +0 kB\n/);
  });

  it('random fork/open/write/pipe/mkdir workloads stay under the limit and give back everything', async () => {
    const runs = Number(process.env.ANYKERNEL_MEM_RUNS ?? 25);
    let refused = 0; // charges refused across all runs: the limit must actually be reached
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 5, maxLength: 60 }), fc.integer({ min: 1, max: 1 << 20 }), async (ops, seed) => {
        const limit = 1 << 20; // 1 MiB: a few forks, pipes and files fill it
        const sim = new SimHost({ seed, params: { memlimit: String(limit) } });
        const k = await boot({ host: sim, components: ['kern', 'tmpfs'] });
        const mem = k.kernel.mem;
        const start = mem.total;
        // A mount with no limits of its own: only the kernel's memory account stops it.
        await sim.run(() => k.sys.mkdir('/w', 0o777));
        await sim.run(() => k.sys.mount('tmpfs', '/w', 'tmpfs', 0, 'size=0,nr_inodes=0,mode=0777'));
        const procs: ProcHandle[] = [k.rfork({ uid: 1000, gid: 1000 })];
        const sysOf = (i: number): AnySys | null => {
          const p = procs[i % procs.length];
          return p === undefined ? null : (p.sys as unknown as AnySys);
        };
        for (const o of ops) {
          const s = sysOf(o.who);
          if (s === null) break;
          const who = procs[o.who % procs.length]!;
          let outcome: unknown;
          try {
            switch (o.op) {
              case 'fork': procs.push(k.proc((await sim.run(() => s.fork!())) as number)); break;
              case 'exit':
                if (procs.length > 1) {
                  procs.splice(procs.indexOf(who), 1);
                  await sim.run(() => k.exit(who, 0));
                }
                break;
              case 'create': await sim.run(async () => s.close!(await s.open!(`/w/f${o.name}`, O_CREAT | O_WRONLY, 0o644))); break;
              case 'write': {
                const fd = (await sim.run(() => s.open!(`/w/f${o.name}`, O_CREAT | O_RDWR, 0o666))) as number;
                try {
                  await sim.run(() => s.pwrite!(fd, new Uint8Array(o.len).fill(7), o.at));
                } finally {
                  await sim.run(() => s.close!(fd));
                }
                break;
              }
              case 'mkdir': await sim.run(() => s.mkdir!(`/w/d${o.name}`, 0o755)); break;
              case 'pipe': {
                const [r, w] = (await sim.run(() => s.pipe2!(O_NONBLOCK))) as [number, number];
                // Leave the pipe open and filled: its bytes stay charged until its process exits.
                if (o.fill > 0) await sim.run(() => s.write!(w, new Uint8Array(o.fill))).catch((e: { code: string }) => { outcome = e.code; });
                void r;
                break;
              }
            }
          } catch (e) {
            outcome = (e as { code?: string }).code ?? e;
          }
          if (outcome !== undefined) expect(ALLOWED[o.op], `${JSON.stringify(o)} → ${String(outcome)}`).toContain(outcome);
          expect(mem.total).toBeLessThanOrEqual(limit);
        }
        // Every process exits and is reaped; the files go; the account is back at its start.
        for (const p of procs) await sim.run(() => k.exit(p, 0));
        for (;;) {
          const r = await sim.run(() => k.sys.wait4(-1, 1 /* WNOHANG */).catch(() => ({ pid: 0 })));
          if ((r as { pid: number }).pid <= 0) break;
        }
        for (let i = 0; i < 16; i++) {
          await sim.run(() => k.sys.unlink(`/w/f${i}`)).catch(() => undefined);
          await sim.run(() => k.sys.rmdir(`/w/d${i}`)).catch(() => undefined);
        }
        await sim.run(() => k.sys.umount2('/w', 0));
        await sim.run(() => k.sys.rmdir('/w'));
        refused += mem.failures;
        expect(mem.snapshot()).toMatchObject({ pipes: 0 });
        expect(mem.total).toBe(start);
        await sim.run(() => k.shutdown());
        sim.dispose();
      }),
      { numRuns: runs, seed: 17 },
    );
    expect(refused).toBeGreaterThan(0);
  });
});
