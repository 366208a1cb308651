/**
 * Random process trees on the simulation host: processes fork, make pipes,
 * write into them, dup and close descriptors, change process groups and
 * sessions, signal each other (SIGSTOP/SIGTSTP/SIGCONT/SIGTERM/SIGKILL/SIGHUP,
 * to a pid or a group), exit and wait (WNOHANG, WUNTRACED, WCONTINUED). At
 * the end everything left is killed and init reaps; the property: every
 * process is reaped, no descriptor or vnode is left (the leak report is
 * clean), wait never reports a child twice — and the same seed gives the
 * same trace and the same hypercall hash.
 *
 * AK_PROCTREE_RUNS=N runs more cases (default 50); AK_PROCTREE_DEBUG=1 prints the traces.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimHost } from '../../src/hyper/sim/index.ts';
import { boot, type BootedKernel } from '../../src/frontends/library/boot.ts';
import { vfsComponent, tmpfsComponent } from '../../src/vfs/index.ts';
import type { Proc } from '../../src/kern/index.ts';
import { O_NONBLOCK, SIGCONT, SIGHUP, SIGKILL, SIGSTOP, SIGTERM, SIGTSTP, WCONTINUED, WNOHANG, WUNTRACED } from '../../src/kern/constants.ts';

type S = Record<string, (...a: any[]) => Promise<any>>;

type Op =
  | { t: 'fork'; p: number }
  | { t: 'pipe'; p: number }
  | { t: 'write'; p: number; fd: number }
  | { t: 'dup'; p: number; fd: number }
  | { t: 'close'; p: number; fd: number }
  | { t: 'setpgid'; p: number }
  | { t: 'setsid'; p: number }
  | { t: 'kill'; p: number; q: number; sig: number; group: boolean }
  | { t: 'exit'; p: number; code: number }
  | { t: 'wait'; p: number; opts: number };

const SIGS = [SIGSTOP, SIGTSTP, SIGCONT, SIGTERM, SIGKILL, SIGHUP, 0];
const WOPTS = [WNOHANG, WNOHANG | WUNTRACED, WNOHANG | WCONTINUED, WNOHANG | WUNTRACED | WCONTINUED];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('fork' as const), p: fc.nat(20) }),
  fc.record({ t: fc.constant('pipe' as const), p: fc.nat(20) }),
  fc.record({ t: fc.constant('write' as const), p: fc.nat(20), fd: fc.nat(8) }),
  fc.record({ t: fc.constant('dup' as const), p: fc.nat(20), fd: fc.nat(8) }),
  fc.record({ t: fc.constant('close' as const), p: fc.nat(20), fd: fc.nat(8) }),
  fc.record({ t: fc.constant('setpgid' as const), p: fc.nat(20) }),
  fc.record({ t: fc.constant('setsid' as const), p: fc.nat(20) }),
  fc.record({ t: fc.constant('kill' as const), p: fc.nat(20), q: fc.nat(20), sig: fc.constantFrom(...SIGS), group: fc.boolean() }),
  fc.record({ t: fc.constant('exit' as const), p: fc.nat(20), code: fc.nat(255) }),
  fc.record({ t: fc.constant('wait' as const), p: fc.nat(20), opts: fc.constantFrom(...WOPTS) }),
);

async function code(p: Promise<unknown>): Promise<string> {
  try {
    return JSON.stringify(await p, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  } catch (e) {
    return (e as { code?: string }).code ?? 'BUG';
  }
}

/** Run one scenario; returns its trace and the hypercall hash. */
async function scenario(seed: number, ops: Op[]): Promise<{ trace: string[]; hash: string; problems: string[] }> {
  const sim = new SimHost({ seed });
  const trace: string[] = [];
  const problems: string[] = [];
  await sim.run(async () => {
    const bk: BootedKernel = await boot({ host: sim, components: [vfsComponent, tmpfsComponent] });
    const k = bk.kernel;
    const settle = () => sim.world.sleep(1000);
    // Processes that stop stay stopped; their system calls would wait, so only running ones act.
    const live = (): Proc[] => [...k.procs.values()].filter((p) => p.pid > 1 && p.state === 'alive' && !p.sig.stopped);
    const root = bk.rfork({ comm: 'root' });
    const reported = new Set<string>();
    for (const op of ops) {
      const procs = [root.proc, ...live().filter((p) => p !== root.proc)].filter((p) => p.state === 'alive' && !p.sig.stopped);
      if (procs.length === 0) break;
      const p = procs[op.p % procs.length]!;
      const sys = bk.proc(p.pid).sys as unknown as S;
      let r: string;
      switch (op.t) {
        case 'fork': r = await code(Promise.resolve(bk.rfork({ parent: p }).pid)); break;
        case 'pipe': r = await code(sys.pipe2!(O_NONBLOCK)); break;
        case 'write': r = await code(sys.write!(op.fd, new Uint8Array([1]))); break;
        case 'dup': r = await code(sys.dup!(op.fd)); break;
        case 'close': r = await code(sys.close!(op.fd)); break;
        case 'setpgid': r = await code(sys.setpgid!(0, 0)); break;
        case 'setsid': r = await code(sys.setsid!()); break;
        case 'kill': {
          const all = [...k.procs.values()].filter((x) => x.pid > 1);
          const q = all[op.q % Math.max(1, all.length)];
          r = q === undefined ? 'none' : await code(sys.kill!(op.group ? -q.pgid : q.pid, op.sig));
          break;
        }
        case 'exit':
          if (p === root.proc) { r = 'skip'; break; }
          r = await code(bk.exit(bk.proc(p.pid), op.code));
          break;
        case 'wait': {
          r = await code(sys.wait4!(-1, op.opts));
          const m = /"pid":(\d+),"status":(\d+)/.exec(r);
          if (m && m[1] !== '0') {
            const st = Number(m[2]);
            // An exit (or death) is reported once: the child is reaped by it.
            if ((st & 0x7f) !== 0x7f && st !== 0xffff) {
              if (reported.has(m[1]!)) problems.push(`pid ${m[1]} reported dead twice`);
              reported.add(m[1]!);
            }
          }
          break;
        }
      }
      trace.push(`${op.t} ${p.pid} → ${r}`);
      await settle();
    }
    // Tear down: kill everything, continue the stopped, and let init reap.
    for (const q of [...k.procs.values()]) if (q.pid > 1 && q.state === 'alive') await (bk.sys as unknown as S).kill!(q.pid, SIGKILL).catch(() => undefined);
    await settle();
    for (let i = 0; i < 1000; i++) {
      const z = [...k.procs.values()].find((q) => q.pid > 1 && q.state === 'zombie');
      if (z === undefined) break;
      const reaper = z.parent!;
      await (bk.proc(reaper.pid === 0 ? 1 : reaper.pid).sys as unknown as S).wait4!(z.pid, 0).catch(() => k.reap(z));
    }
    const left = [...k.procs.values()].filter((q) => q.pid > 1).map((q) => `pid ${q.pid} ${q.state}`);
    if (left.length > 0) problems.push(`not reaped: ${left.join(', ')}`);
    const report = await bk.shutdown();
    if (!report.clean) problems.push(`leak report: ${JSON.stringify(report)}`);
  }, { limitNs: 1_000_000_000_000n });
  return { trace, hash: sim.hash(), problems };
}

describe('random process trees', () => {
  it('end with every process reaped and nothing leaked; a seed replays the same trace', async () => {
    const runs = Number(process.env.AK_PROCTREE_RUNS ?? 50);
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 30 }), fc.array(opArb, { minLength: 5, maxLength: 80 }), async (seed, ops) => {
      const a = await scenario(seed, ops);
      if (process.env.AK_PROCTREE_DEBUG) console.log(a.trace.length, a.trace.slice(0, 8).join(' | '), a.problems);
      expect(a.problems).toEqual([]);
      const b = await scenario(seed, ops);
      expect(b.trace).toEqual(a.trace);
      expect(b.hash).toBe(a.hash);
    }), { numRuns: runs });
  }, 120_000);
});
