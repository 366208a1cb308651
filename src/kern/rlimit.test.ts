/**
 * Resource limits: soft/hard semantics, privilege, inheritance, and what
 * each enforced limit does (EMFILE, EAGAIN from fork, SIGXFSZ + EFBIG), with
 * the host's Linux kernel as the oracle for random getrlimit/setrlimit
 * sequences (prlimit(2) through python3's ctypes in a child that drops to uid 65534).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { boot, type BootedKernel } from '../frontends/library/boot.ts';
import { SimHost } from '../hyper/sim/index.ts';
import { O_CREAT, O_RDONLY, O_RDWR, SIG_BLOCK, SIGXFSZ } from './constants.ts';
import { RLIMIT_CORE, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_STACK, NR_OPEN, formatLimits, parseRlimitSpec } from './rlimit.ts';
import type { ProcHandle } from './lwproc.ts';

type AnySys = Record<string, (...a: unknown[]) => Promise<unknown>>;
const sysOf = (p: ProcHandle): AnySys => p.sys as unknown as AnySys;
const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

let sim: SimHost;
let k: BootedKernel;

beforeEach(async () => {
  sim = new SimHost({ seed: 5 });
  k = await boot({ host: sim, components: ['kern', 'tmpfs'] });
});
afterEach(async () => {
  await sim.run(() => k.shutdown());
  sim.dispose();
});

describe('getrlimit/setrlimit/prlimit64', () => {
  it('starts from Linux-like defaults and reports infinity as Infinity', async () => {
    expect(await sim.run(() => k.sys.getrlimit(RLIMIT_NOFILE))).toEqual({ cur: 1024, max: 4096 });
    expect(await sim.run(() => k.sys.getrlimit(RLIMIT_FSIZE))).toEqual({ cur: Infinity, max: Infinity });
    expect(await sim.run(() => k.sys.getrlimit(RLIMIT_CORE))).toEqual({ cur: 0, max: Infinity });
    // 256 MiB of memlimit on the sim host: one process per 128 KiB.
    expect(await sim.run(() => k.sys.getrlimit(RLIMIT_NPROC))).toEqual({ cur: 2048, max: 2048 });
  });

  it('lets anyone lower limits and move the soft one up to the hard one, but not raise the hard one', async () => {
    const u = sysOf(k.rfork({ uid: 1000, gid: 1000 }));
    expect(await sim.run(() => u.setrlimit!(RLIMIT_NOFILE, { cur: 10, max: 20 }))).toBe(0);
    expect(await sim.run(() => u.setrlimit!(RLIMIT_NOFILE, { cur: 20, max: 20 }))).toBe(0);
    expect(await sim.run(() => code(u.setrlimit!(RLIMIT_NOFILE, { cur: 20, max: 21 })))).toBe('EPERM');
    expect(await sim.run(() => code(u.prlimit64!(0, RLIMIT_NOFILE, { cur: 1 << 20, max: 1 << 20 })))).toBe('EPERM');
    expect(await sim.run(() => code(u.setrlimit!(RLIMIT_NOFILE, { cur: 5, max: 4 })))).toBe('EINVAL');
    expect(await sim.run(() => code(u.getrlimit!(16)))).toBe('EINVAL');
    expect(await sim.run(() => u.getrlimit!(RLIMIT_NOFILE))).toEqual({ cur: 20, max: 20 });
  });

  it('lets root raise a hard limit, but never RLIMIT_NOFILE past nr_open', async () => {
    expect(await sim.run(() => k.sys.setrlimit(RLIMIT_NOFILE, { cur: 5000, max: 100000 }))).toBe(0);
    expect(await sim.run(() => code(k.sys.setrlimit(RLIMIT_NOFILE, { cur: 5000, max: NR_OPEN + 1 })))).toBe('EPERM');
    expect(await sim.run(() => code(k.sys.setrlimit(RLIMIT_NOFILE, { cur: Infinity, max: Infinity })))).toBe('EPERM');
    expect(await sim.run(() => k.sys.setrlimit(RLIMIT_STACK, { cur: Infinity, max: Infinity }))).toBe(0);
  });

  it('applies to another process only with matching ids or privilege', async () => {
    const a = k.rfork({ uid: 1000, gid: 1000 });
    const b = k.rfork({ uid: 1001, gid: 1000 });
    const c = k.rfork({ uid: 1000, gid: 1000 });
    expect(await sim.run(() => code(sysOf(a).prlimit64!(b.pid, RLIMIT_NOFILE)))).toBe('EPERM');
    expect(await sim.run(() => sysOf(a).prlimit64!(c.pid, RLIMIT_NOFILE, { cur: 7, max: 7 }))).toEqual({ cur: 1024, max: 4096 });
    expect(await sim.run(() => sysOf(c).getrlimit!(RLIMIT_NOFILE))).toEqual({ cur: 7, max: 7 });
    expect(await sim.run(() => code(sysOf(a).prlimit64!(99999, RLIMIT_NOFILE)))).toBe('ESRCH');
  });

  it('is inherited by fork and rfork children', async () => {
    const p = k.rfork({ uid: 1000, gid: 1000 });
    await sim.run(() => sysOf(p).setrlimit!(RLIMIT_FSIZE, { cur: 4096, max: 8192 }));
    const childPid = (await sim.run(() => sysOf(p).fork!())) as number;
    expect(await sim.run(() => k.proc(childPid).sys.getrlimit(RLIMIT_FSIZE))).toEqual({ cur: 4096, max: 8192 });
  });
});

describe('enforcement', () => {
  it('RLIMIT_NOFILE: EMFILE at the soft limit, and open again after raising it', async () => {
    const p = k.rfork({ uid: 1000, gid: 1000, fd: 'clean' });
    const s = sysOf(p);
    await sim.run(() => s.setrlimit!(RLIMIT_NOFILE, { cur: 3, max: 4 }));
    for (let i = 0; i < 3; i++) await sim.run(() => s.open!('/', O_RDONLY));
    expect(await sim.run(() => code(s.open!('/', O_RDONLY)))).toBe('EMFILE');
    expect(await sim.run(() => code(s.dup!(0)))).toBe('EMFILE');
    await sim.run(() => s.setrlimit!(RLIMIT_NOFILE, { cur: 4, max: 4 }));
    expect(await sim.run(() => code(s.open!('/', O_RDONLY)))).toBe('ok');
  });

  it('RLIMIT_NPROC: an unprivileged fork fails with EAGAIN once the user has that many processes; zombies count until reaped', async () => {
    const p = k.rfork({ uid: 1000, gid: 1000 });
    const s = sysOf(p);
    await sim.run(() => s.setrlimit!(RLIMIT_NPROC, { cur: 3, max: 3 }));
    const kids: number[] = [];
    kids.push((await sim.run(() => s.fork!())) as number);
    kids.push((await sim.run(() => s.fork!())) as number);
    expect(await sim.run(() => code(s.fork!()))).toBe('EAGAIN'); // p and two children: 3 processes of uid 1000
    await sim.run(() => k.exit(k.proc(kids[0]!), 0));
    expect(await sim.run(() => code(s.fork!()))).toBe('EAGAIN'); // the zombie still counts
    await sim.run(() => s.wait4!(kids[0], 0));
    kids[0] = (await sim.run(() => s.fork!())) as number;
    // Root is not limited by its own RLIMIT_NPROC.
    await sim.run(() => k.sys.setrlimit(RLIMIT_NPROC, { cur: 1, max: 1 }));
    expect(await sim.run(() => code(k.sys.fork()))).toBe('ok');
  });

  it('RLIMIT_NPROC: a process whose real uid changes is counted against its new user', async () => {
    const root = k.rfork({});
    const r = sysOf(root);
    const u = k.rfork({ uid: 2000, gid: 2000 });
    await sim.run(() => sysOf(u).setrlimit!(RLIMIT_NPROC, { cur: 2, max: 2 }));
    await sim.run(() => r.setuid!(2000)); // now two processes of uid 2000
    expect(await sim.run(() => code(sysOf(u).fork!()))).toBe('EAGAIN');
  });

  it('RLIMIT_FSIZE: a write across the limit is short; at the limit it is EFBIG with SIGXFSZ', async () => {
    const p = k.rfork({ uid: 1000, gid: 1000 });
    const s = sysOf(p);
    await sim.run(() => s.sigprocmask!(SIG_BLOCK, [SIGXFSZ]));
    const fd = (await sim.run(() => s.open!('/tmp-f', O_CREAT | O_RDWR, 0o600))) as number;
    await sim.run(() => s.setrlimit!(RLIMIT_FSIZE, { cur: 100, max: 100 }));
    expect(await sim.run(() => s.pwrite!(fd, new Uint8Array(60), 50))).toBe(50);
    expect(await sim.run(() => s.sigpending!())).toBe(0n);
    expect(await sim.run(() => code(s.pwrite!(fd, new Uint8Array(1), 100)))).toBe('EFBIG');
    expect(((await sim.run(() => s.sigpending!())) as bigint) & (1n << BigInt(SIGXFSZ - 1))).not.toBe(0n);
    expect(await sim.run(() => code(s.ftruncate!(fd, 101)))).toBe('EFBIG');
    expect(await sim.run(() => s.ftruncate!(fd, 10))).toBe(0); // shrinking is always allowed
    expect(await sim.run(() => s.pwrite!(fd, new Uint8Array(0), 500))).toBe(0); // nothing to write: no check
    await sim.run(() => s.close!(fd));
  });

  it('RLIMIT_FSIZE: SIGXFSZ unblocked terminates the writer (default action)', async () => {
    const p = k.rfork({ uid: 1000, gid: 1000 });
    const s = sysOf(p);
    const fd = (await sim.run(() => s.open!('/tmp-g', O_CREAT | O_RDWR, 0o600))) as number;
    await sim.run(() => s.setrlimit!(RLIMIT_FSIZE, { cur: 0, max: 0 }));
    await sim.run(() => code(s.write!(fd, new Uint8Array(1))));
    const { pid, status } = await sim.run(() => k.sys.wait4(p.pid, 0));
    expect(pid).toBe(p.pid);
    expect(status & 0x7f).toBe(SIGXFSZ);
  });
});

describe('/proc/PID/limits and limit specs', () => {
  it('formats as Linux proc_pid_limits does', () => {
    const text = formatLimits(k.curproc.rlim);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Limit                     Soft Limit           Hard Limit           Units     ');
    expect(lines).toContain('Max open files            1024                 4096                 files     ');
    expect(lines).toContain('Max file size             unlimited            unlimited            bytes     ');
    expect(lines).toContain('Max nice priority         0                    0                    ');
    expect(lines).toHaveLength(18); // header, 16 resources, final newline
  });

  it('parses prlimit(1)-style specs and refuses malformed ones', () => {
    expect(parseRlimitSpec('10')).toEqual({ cur: 10, max: 10 });
    expect(parseRlimitSpec('10:unlimited')).toEqual({ cur: 10, max: Infinity });
    for (const bad of ['', '-1', '5:4', '1:2:3', 'lots', '1e3', '99999999999999999999']) expect(parseRlimitSpec(bad)).toBeNull();
  });
});

// ---- the host's Linux kernel as the oracle --------------------------------------------------

const ORACLE = String.raw`
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class RL(ctypes.Structure): _fields_ = [('cur', ctypes.c_uint64), ('max', ctypes.c_uint64)]
INF = (1 << 64) - 1
def enc(v): return 'inf' if v == INF else v
def dec(v): return INF if v == 'inf' else v
def call(res, new):
    old = RL()
    rc = libc.prlimit(0, res, ctypes.byref(new) if new is not None else None, ctypes.byref(old))
    if rc != 0: return errno.errorcode[ctypes.get_errno()]
    return [enc(old.cur), enc(old.max)]
start, ops = json.loads(sys.argv[1])
for res, cur, mx in start: call(res, RL(dec(cur), dec(mx)))
os.setgroups([]); os.setgid(65534); os.setuid(65534)
out = []
for op in ops:
    if op[0] == 'get': out.append(call(op[1], None))
    else:
        r = call(op[1], RL(dec(op[2]), dec(op[3])))
        out.append(0 if isinstance(r, list) else r)
print(json.dumps(out))
`;

type LimOp = ['get', number] | ['set', number, number | 'inf', number | 'inf'];

describe('getrlimit/setrlimit against the host kernel', () => {
  const why = process.getuid?.() !== 0 ? 'not root' : spawnSync('python3', ['-c', 'import ctypes'], { encoding: 'utf8' }).status !== 0 ? 'python3 is missing' : null;
  const inCI = process.env.CI === 'true';
  it.skipIf(why !== null && !inCI)(`random sequences by an unprivileged process agree with Linux${why ? ` (skipped: ${why})` : ''}`, async () => {
    expect(why, 'CI runs as root with python3').toBeNull();
    const RES = fc.constantFrom(RLIMIT_NOFILE, RLIMIT_FSIZE, RLIMIT_CORE, RLIMIT_STACK);
    const VAL = fc.constantFrom<number | 'inf'>(0, 1, 64, 1024, 4096, 8192, NR_OPEN, NR_OPEN + 1, 'inf');
    const op: fc.Arbitrary<LimOp> = fc.oneof(
      RES.map((r): LimOp => ['get', r]),
      fc.tuple(RES, VAL, VAL).map(([r, c, m]): LimOp => ['set', r, c, m]),
    );
    // Both sides start from the same limits, set as root before dropping privilege.
    const start: [number, number | 'inf', number | 'inf'][] = [
      [RLIMIT_NOFILE, 1024, 4096], [RLIMIT_FSIZE, 'inf', 'inf'], [RLIMIT_CORE, 0, 'inf'], [RLIMIT_STACK, 8 << 20, 'inf'],
    ];
    const num = (v: number | 'inf'): number => (v === 'inf' ? Infinity : v);
    const enc = (v: number): number | 'inf' => (v === Infinity ? 'inf' : v);
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (ops) => {
        const r = spawnSync('python3', ['-c', ORACLE, JSON.stringify([start, ops])], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const host = JSON.parse(r.stdout) as unknown[];
        const p = k.rfork({});
        const s = sysOf(p);
        for (const [res, cur, max] of start) await sim.run(() => s.setrlimit!(res, { cur: num(cur), max: num(max) }));
        await sim.run(() => s.setgroups!([]));
        await sim.run(() => s.setgid!(65534));
        await sim.run(() => s.setuid!(65534));
        const ours: unknown[] = [];
        for (const o of ops) {
          if (o[0] === 'get') {
            const l = (await sim.run(() => s.getrlimit!(o[1]))) as { cur: number; max: number };
            ours.push([enc(l.cur), enc(l.max)]);
          } else {
            ours.push(await sim.run(() => s.setrlimit!(o[1], { cur: num(o[2]), max: num(o[3]) }).catch((e: { code: string }) => e.code)));
          }
        }
        await sim.run(() => k.exit(p, 0));
        await sim.run(() => k.sys.wait4(p.pid, 0));
        expect(ours, `ops ${JSON.stringify(ops)}`).toEqual(host);
      }),
      { numRuns: Number(process.env.ANYKERNEL_RLIMIT_RUNS ?? 40), seed: 3 },
    );
  });
});

// ---- enforcement, against the host kernel --------------------------------------------------

const ENFORCE = String.raw`
import ctypes, errno, json, os, signal
libc = ctypes.CDLL(None, use_errno=True)
class RL(ctypes.Structure): _fields_ = [('cur', ctypes.c_uint64), ('max', ctypes.c_uint64)]
def prl(res, cur, mx):
    rc = libc.prlimit(0, res, ctypes.byref(RL(cur, mx)), None)
    return 0 if rc == 0 else errno.errorcode[ctypes.get_errno()]
def attempt(f):
    try: return f()
    except OSError as e: return errno.errorcode[e.errno]
os.setgroups([]); os.setgid(65534); os.setuid(65534)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
out = {}
out['nofile'] = prl(7, 8, 16)
fds = []
while True:
    r = attempt(lambda: os.open('/dev/null', os.O_RDONLY))
    if isinstance(r, str): out['emfile'] = r; break
    fds.append(r)
out['lastfd'] = fds[-1]
out['dupEmfile'] = attempt(lambda: os.dup(0))
out['raiseSoft'] = prl(7, 16, 16)
out['afterRaise'] = attempt(lambda: os.open('/dev/null', os.O_RDONLY))
out['raiseHard'] = prl(7, 16, 17)
for fd in fds: os.close(fd)
out['fsize'] = prl(1, 100, 100)
fd = os.open('/dev/shm', os.O_TMPFILE | os.O_RDWR, 0o600)
out['straddle'] = attempt(lambda: os.pwrite(fd, b'x' * 60, 50))
out['atLimit'] = attempt(lambda: os.pwrite(fd, b'x', 100))
out['empty'] = attempt(lambda: os.pwrite(fd, b'', 500))
out['grow'] = attempt(lambda: os.ftruncate(fd, 101) or 0)
out['shrink'] = attempt(lambda: os.ftruncate(fd, 10) or 0)
print(json.dumps(out))
`;

describe('enforcement against the host kernel', () => {
  const why = process.getuid?.() !== 0 ? 'not root' : spawnSync('python3', ['-c', 'import ctypes']).status !== 0 ? 'python3 is missing' : null;
  const inCI = process.env.CI === 'true';
  it.skipIf(why !== null && !inCI)(`EMFILE and EFBIG come where Linux puts them${why ? ` (skipped: ${why})` : ''}`, async () => {
    expect(why, 'CI runs as root with python3').toBeNull();
    const r = spawnSync('python3', ['-c', ENFORCE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.status, r.stderr).toBe(0);
    const host = JSON.parse(r.stdout) as Record<string, unknown>;
    // The kernel side: the same steps by an unprivileged process that holds fds 0-2 as the python child does.
    const p = k.rfork({ fd: 'clean' });
    const s = sysOf(p);
    const attempt = (f: () => Promise<unknown>): Promise<unknown> => sim.run(f).catch((e: { code: string }) => e.code);
    await sim.run(() => s.mkdir!('/tmpd', 0o777).then(() => s.chmod!('/tmpd', 0o777)));
    for (let i = 0; i < 3; i++) await sim.run(() => s.open!('/', O_RDONLY));
    await sim.run(() => s.setgroups!([]));
    await sim.run(() => s.setgid!(65534));
    await sim.run(() => s.setuid!(65534));
    await sim.run(() => s.sigaction!(SIGXFSZ, { handler: 1 }));
    const ours: Record<string, unknown> = {};
    const prl = (res: number, cur: number, max: number): Promise<unknown> => attempt(() => s.setrlimit!(res, { cur, max }));
    ours.nofile = await prl(RLIMIT_NOFILE, 8, 16);
    const fds: number[] = [];
    for (;;) {
      const v = await attempt(() => s.open!('/', O_RDONLY));
      if (typeof v === 'string') { ours.emfile = v; break; }
      fds.push(v as number);
    }
    ours.lastfd = fds[fds.length - 1];
    ours.dupEmfile = await attempt(() => s.dup!(0));
    ours.raiseSoft = await prl(RLIMIT_NOFILE, 16, 16);
    ours.afterRaise = await attempt(() => s.open!('/', O_RDONLY));
    ours.raiseHard = await prl(RLIMIT_NOFILE, 16, 17);
    for (const fd of fds) await sim.run(() => s.close!(fd));
    ours.fsize = await prl(RLIMIT_FSIZE, 100, 100);
    const fd = (await sim.run(() => s.open!('/tmpd/f', O_CREAT | O_RDWR, 0o600))) as number;
    ours.straddle = await attempt(() => s.pwrite!(fd, new Uint8Array(60), 50));
    ours.atLimit = await attempt(() => s.pwrite!(fd, new Uint8Array(1), 100));
    ours.empty = await attempt(() => s.pwrite!(fd, new Uint8Array(0), 500));
    ours.grow = await attempt(() => s.ftruncate!(fd, 101));
    ours.shrink = await attempt(() => s.ftruncate!(fd, 10));
    expect(ours).toEqual(host);
  });
});
