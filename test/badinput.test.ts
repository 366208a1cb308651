/**
 * Bad input: every registered
 * system call is called with random argument values — wrong types, negative
 * and huge numbers, NaN, bad fds, missing or absurd buffers, hostile paths —
 * on a fully booted kernel under the sim host. Each call must settle with a
 * value or a KernelError carrying a positive errno: never another exception,
 * never a kernel panic. A call that blocks must be ended by its process
 * exiting (no wedged kernel), and the kernel must keep answering afterwards.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { boot, KernelError, O_CREAT, O_RDWR } from '../src/index.ts';
import { SimHost, SimStuck } from '../src/hyper/sim/index.ts';
import type { BootedKernel } from '../src/frontends/library/boot.ts';
import type { ProcHandle } from '../src/kern/lwproc.ts';

const hostileNumbers = [-1, 0, 1, 2, 3, 4, 5, 6, 7, 9, 17, 64, 255, 256, 4096, -100, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53, -(2 ** 53), 1e300, -1e300, Number.NaN, Infinity, -Infinity, -0, 0.5, 1.5];
const hostilePaths = ['/', '', '.', '..', '/dev/null', '/tmp', 'a/b/../c', 'x'.repeat(256), 'y/'.repeat(2100), 'bad\0name', '/proc/self', '//', '/..', 'f', 'd/', '\u00e9\ud800'];

const arbArg: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...hostileNumbers) },
  { weight: 3, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  { weight: 3, arbitrary: fc.constantFrom(...hostilePaths) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom(undefined, null, true, false) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 70_000 }).map((n) => new Uint8Array(n)) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.integer({ min: -5, max: 70 }), fc.constant(new Uint8Array(3)), fc.string()), { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('fd', 'events', 'sec', 'nsec', 'handler', 'cur', 'max', 'type', 'start', 'len', 'whence', 'pid'), fc.oneof(fc.integer({ min: -3, max: 100 }), fc.string(), fc.constant(null))) },
  { weight: 1, arbitrary: fc.constant(() => undefined) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
);

const arbArgs = fc.array(arbArg, { minLength: 0, maxLength: 6 });

/** A template process with descriptors worth hitting: a pipe, a file, a dir. */
async function template(k: BootedKernel): Promise<ProcHandle> {
  const t = k.rfork({ comm: 'fuzz-template' });
  const sys = t.sys as Record<string, (...a: unknown[]) => Promise<unknown>>;
  await sys.pipe!();
  if (typeof sys.open === 'function') {
    await sys.open('/fuzzfile', O_CREAT | O_RDWR, 0o644).catch(() => undefined);
    await sys.mkdir?.('/fuzzdir', 0o755).catch(() => undefined);
    await sys.open('/fuzzdir', 0).catch(() => undefined);
  }
  return t;
}

function describeArgs(args: unknown[]): string {
  return args
    .map((a) => (a instanceof Uint8Array ? `Uint8Array(${a.byteLength})` : typeof a === 'bigint' ? `${a}n` : typeof a === 'function' ? 'fn' : JSON.stringify(a)?.slice(0, 60) ?? String(a)))
    .join(', ');
}

describe('every syscall survives random arguments', () => {
  it('answers a value or an errno, never throws otherwise, never wedges', async () => {
    const sim = new SimHost({ seed: 0xbad });
    // Outside sim.run: loading component modules is host I/O the sim cannot see.
    const k = await boot({ host: sim });
    const names = [...k.kernel.syscalls.byName.keys()].sort();
    expect(names.length).toBeGreaterThan(40);
    let tmpl = await sim.run(() => template(k));
    const seen = new Map<string, number>();
    const failures: string[] = [];

    for (const name of names) {
      await fc.assert(
        fc.asyncProperty(arbArgs, async (args) => {
          if (tmpl.proc.state !== 'alive') tmpl = await sim.run(() => template(k));
          const p = k.rfork({ parent: tmpl.proc, comm: `fuzz-${name}` });
          const call = (p.sys as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!;
          let settled: { ok: boolean; v: unknown } | null = null;
          const pending = call(...args).then(
            (v) => { settled = { ok: true, v }; },
            (e: unknown) => { settled = { ok: false, v: e }; },
          );
          try {
            await sim.run(() => pending, { limitNs: sim.now + 2_000_000_000n });
          } catch (e) {
            if (!(e instanceof SimStuck)) throw e;
            // Blocked (a read on an empty pipe, pause(), a long sleep): the
            // process exiting must end the call.
            await sim.run(async () => { await k.exit(p, 0); });
            await sim.run(() => pending, { limitNs: sim.now + 2_000_000_000n });
          }
          const s = settled as { ok: boolean; v: unknown } | null;
          expect(s, `${name}(${describeArgs(args)}) never settled`).not.toBeNull();
          if (!s!.ok) {
            const e = s!.v;
            if (!(e instanceof KernelError) || !(e.errno > 0) || typeof e.code !== 'string') {
              failures.push(`${name}(${describeArgs(args)}) threw ${e instanceof Error ? e.stack : String(e)}`);
            } else seen.set(e.code, (seen.get(e.code) ?? 0) + 1);
          }
          // Clean up: the process and any children it forked.
          await sim.run(async () => {
            for (const c of [...p.proc.children]) await k.kernel.exitProc(c, 0);
            await k.exit(p, 0);
          });
          // The kernel still answers.
          expect(await sim.run(() => k.sys.getpid())).toBe(k.curproc.pid);
        }),
        { numRuns: 25, seed: 42 },
      );
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
    // The fuzzing reached the argument checks and the handlers' own checks.
    for (const code of ['EBADF', 'EINVAL', 'EFAULT']) expect(seen.get(code) ?? 0).toBeGreaterThan(0);
    await sim.run(() => k.shutdown());
    sim.dispose();
  });
});
