/**
 * Credentials: random sequences of setuid/setgid/setreuid/setregid/
 * setresuid/setresgid/setfsuid/setfsgid, run on a kernel process and — as the
 * oracle — on the host's Linux kernel in a python3 child started as root.
 * After every call both must agree on the result (or errno) and on the
 * real/effective/saved/fs ids. Skipped when not root or python3 is missing
 * (CI runs as root, where a missing python3 fails).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { boot } from '../index.ts';
import { SimHost } from '../hyper/sim/index.ts';

type Op = [name: string, ...args: number[]];

const ORACLE = String.raw`
import json, os, sys, ctypes
libc = ctypes.CDLL(None, use_errno=True)
ops = json.loads(sys.argv[1])
def ids():
    r = os.getresuid(); g = os.getresgid()
    fsu = libc.setfsuid(ctypes.c_uint32(0xffffffff).value)  # invalid id: returns current, changes nothing
    fsg = libc.setfsgid(ctypes.c_uint32(0xffffffff).value)
    return [list(r), list(g), fsu, fsg]
out = []
for op in ops:
    name, args = op[0], op[1:]
    res = None
    try:
        if name == 'setuid': os.setuid(args[0]); res = 0
        elif name == 'setgid': os.setgid(args[0]); res = 0
        elif name == 'setreuid': os.setreuid(args[0], args[1]); res = 0
        elif name == 'setregid': os.setregid(args[0], args[1]); res = 0
        elif name == 'setresuid': os.setresuid(*args); res = 0
        elif name == 'setresgid': os.setresgid(*args); res = 0
        elif name == 'setfsuid': res = libc.setfsuid(args[0])
        elif name == 'setfsgid': res = libc.setfsgid(args[0])
    except OSError as e:
        import errno as E
        res = E.errorcode[e.errno]
    out.append([res, ids()])
print(json.dumps(out))
`;

function hostHasOracle(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  const r = spawnSync('python3', ['-c', 'import ctypes, json, os'], { encoding: 'utf8' });
  if (r.status !== 0) return 'python3 with ctypes is missing';
  return null;
}

const ID = fc.constantFrom(0, 1000, 1001, 2000);
const IDK = fc.constantFrom(-1, 0, 1000, 1001);
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.tuple(fc.constantFrom('setuid', 'setgid', 'setfsuid', 'setfsgid'), ID).map(([n, a]) => [n, a] as Op),
  fc.tuple(fc.constantFrom('setreuid', 'setregid'), IDK, IDK).map(([n, a, b]) => [n, a, b] as Op),
  fc.tuple(fc.constantFrom('setresuid', 'setresgid'), IDK, IDK, IDK).map(([n, a, b, c]) => [n, a, b, c] as Op),
);

describe('credentials against the host kernel', () => {
  const why = hostHasOracle();
  const inCI = process.env.CI === 'true';
  it.skipIf(why !== null && !inCI)(`setuid family matches Linux${why ? ` (skipped: ${why})` : ''}`, async () => {
    expect(why, 'CI runs as root with python3').toBeNull();
    const sim = new SimHost({ seed: 11 });
    const k = await boot({ host: sim, components: ['kern'] });
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 8 }), async (ops) => {
        // The host side: a fresh root python process per sequence. setfs*id
        // results are truncated to 32 bits like the C return value.
        const r = spawnSync('python3', ['-c', ORACLE, JSON.stringify(ops)], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const host = JSON.parse(r.stdout) as [number | string, [number[], number[], number, number]][];
        const p = k.rfork({ uid: 0, gid: 0, groups: [] });
        const sys = p.sys as unknown as Record<string, (...a: number[]) => Promise<number>>;
        const ours: [number | string, [number[], number[], number, number]][] = [];
        for (const [name, ...args] of ops) {
          let res: number | string;
          try {
            res = await sim.run(() => sys[name]!(...args));
          } catch (e) {
            res = (e as { code: string }).code;
          }
          const c = p.proc.cred;
          ours.push([res, [[c.uid, c.euid, c.suid], [c.gid, c.egid, c.sgid], c.fsuid, c.fsgid]]);
        }
        await sim.run(() => k.exit(p, 0));
        await sim.run(() => k.sys.wait4(p.pid, 0));
        expect(ours, `ops ${JSON.stringify(ops)}`).toEqual(host);
      }),
      { numRuns: 60, seed: 7 },
    );
    await sim.run(() => k.shutdown());
    sim.dispose();
  });
});
