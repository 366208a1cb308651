/**
 * ktrace: per-process syscall traces with arguments, results, errno names
 * and timestamps, printed strace-style (ktrace_dump), on the sim host so the
 * times are virtual and exact.
 */
import { describe, expect, it } from 'vitest';
import { SimHost } from '../hyper/sim/index.ts';
import { boot, type BootedKernel } from '../frontends/library/boot.ts';
import type { KernelError } from './errno.ts';
import { SIGUSR2, SIG_BLOCK, SIGUSR1 } from './constants.ts';
import { Ktrace, formatKtrace, type KtraceRecord } from './ktrace.ts';

async function withKernel(fn: (bk: BootedKernel, sim: SimHost) => Promise<void>): Promise<void> {
  const sim = new SimHost({ seed: 7 });
  await sim.run(async () => fn(await boot({ host: sim, components: ['kern'] }), sim), { limitNs: 10_000_000_000n });
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as KernelError).code;
  }
  return 'ok';
}

const LINE = /^\[pid (\d+)\] (\d+\.\d{6}) (\w+)\((.*)\) = (.*) <(\d+\.\d{6})>$/;

describe('ktrace through the syscall layer', () => {
  it('records arguments, results, -1 ERRNO failures and increasing timestamps', () => withKernel(async (bk, sim) => {
    await sim.world.sleep(1_000_000); // boot at t=0; make the first stamp non-zero
    expect(await bk.sys.ktrace(0, 1)).toBe(0);
    await bk.sys.getpid();
    expect(await code(bk.sys.sysctl('no.such.node'))).toBe('ENOENT');
    await bk.sys.nanosleep({ sec: 0, nsec: 5000 });
    expect(await code(bk.sys.kill(99999, 0))).toBe('ESRCH');
    await bk.sys.sigprocmask(SIG_BLOCK, [SIGUSR1]);
    await bk.sys.sigaction(SIGUSR2, { handler: () => {}, mask: 1n });
    await sim.world.sleep(2_000);
    const [, w] = await bk.sys.pipe();
    expect(await bk.sys.write(w, new Uint8Array(3))).toBe(3);
    expect(await code(bk.sys.close(12345))).toBe('EBADF');
    const lines = (await bk.sys.ktrace_dump(0)).split('\n');
    const parsed = lines.map((l) => {
      const m = LINE.exec(l);
      expect(m, l).not.toBeNull();
      return { pid: Number(m![1]), t: Number(m![2]), name: m![3]!, args: m![4]!, res: m![5]!, dur: m![6]! };
    });
    expect(parsed.map((p) => p.name)).toEqual(['getpid', 'sysctl', 'nanosleep', 'kill', 'sigprocmask', 'sigaction', 'pipe', 'write', 'close']);
    expect(parsed.every((p) => p.pid === 1)).toBe(true);
    expect(lines[0]).toMatch(/ getpid\(\) = 1 </);
    expect(lines[1]).toMatch(/ sysctl\("no\.such\.node"\) = -1 ENOENT </);
    expect(lines[2]).toMatch(/ nanosleep\(\{"sec":0,"nsec":5000\}\) = 0 <0\.000005>$/);
    expect(lines[3]).toMatch(/ kill\(99999, 0\) = -1 ESRCH </);
    expect(lines[4]).toMatch(/ sigprocmask\(0, \[10\]\) = 0 </);
    expect(lines[5]).toMatch(/ sigaction\(12, \{"handler":"<fn>","mask":"1n"\}\) = \{"handler":0,"mask":"0n","flags":0\} </);
    expect(lines[6]).toMatch(/ pipe\(\) = \[\d+,\d+\] </);
    expect(lines[7]).toMatch(new RegExp(` write\\(${w}, <3 bytes>\\) = 3 <`));
    expect(lines[8]).toMatch(/ close\(12345\) = -1 EBADF </);
    // timestamps are relative to boot, never decrease, and show the sleeps
    expect(parsed[0]!.t).toBeCloseTo(0.001, 6);
    for (let i = 1; i < parsed.length; i++) expect(parsed[i]!.t).toBeGreaterThanOrEqual(parsed[i - 1]!.t);
    expect(parsed[3]!.t - parsed[2]!.t).toBeCloseTo(0.000005, 6);
    expect(parsed[6]!.t - parsed[5]!.t).toBeCloseTo(0.000002, 6);
    await bk.sys.ktrace(0, 0);
  }));

  it('tracing is per process, can be turned off, and checks permission', () => withKernel(async (bk) => {
    const c = bk.rfork();
    const u = bk.rfork({ uid: 1000 });
    await bk.sys.ktrace(c.pid, 1);
    await c.sys.getppid!();
    await bk.sys.getppid(); // the caller is not traced
    expect(await code(bk.sys.ktrace_dump(0))).toBe('EINVAL'); // not tracing itself
    expect(await bk.sys.ktrace_dump(c.pid)).toMatch(new RegExp(`^\\[pid ${c.pid}\\] \\S+ getppid\\(\\) = 1 <`));
    await bk.sys.ktrace(c.pid, 0);
    await c.sys.getppid!();
    expect(await code(bk.sys.ktrace_dump(c.pid))).toBe('EINVAL');
    expect(await code(u.sys.ktrace!(c.pid, 1))).toBe('EPERM');
    expect(await code(u.sys.ktrace_dump!(c.pid))).toBe('EPERM');
    expect(await u.sys.ktrace!(0, 1)).toBe(0);
    expect(await code(bk.sys.ktrace(99999, 1))).toBe('ESRCH');
    await c.sys.exit!(0);
    expect(await code(bk.sys.ktrace(c.pid, 1))).toBe('ESRCH');
    expect(await code(bk.sys.ktrace(0, 1.5 as number))).toBe('EINVAL');
  }));
});

describe('signal events in the trace', () => {
  it('shows caught signals, stops, continues and the death, readable after the process died', () => withKernel(async (bk, sim) => {
    const settle = () => sim.world.sleep(1000);
    const c = bk.rfork();
    await bk.sys.ktrace(c.pid, 1);
    await c.sys.sigaction!(SIGUSR1, { handler: () => {} });
    await bk.sys.kill(c.pid, SIGUSR1);
    await settle();
    await bk.sys.kill(c.pid, 19 /* SIGSTOP */);
    await bk.sys.kill(c.pid, 18 /* SIGCONT */);
    await bk.sys.kill(c.pid, 3 /* SIGQUIT */);
    await settle();
    expect(c.proc.state).toBe('zombie');
    const lines = ((await bk.sys.ktrace_dump(c.pid)) as string).split('\n').map((l) => l.replace(/^\[pid \d+\] \S+ /, ''));
    expect(lines).toEqual([
      expect.stringMatching(/^sigaction\(10, \{"handler":"<fn>"\}\) = /),
      '--- SIGUSR1 (caught) ---',
      '--- stopped by SIGSTOP ---',
      '--- continued by SIGCONT ---',
      '+++ killed by SIGQUIT (core dumped) +++',
    ]);
    const u = bk.rfork({ uid: 1000 });
    expect(await code(u.sys.ktrace_dump!(c.pid))).toBe('EPERM');
    await bk.sys.wait4(c.pid);
    expect(await code(bk.sys.ktrace_dump(c.pid))).toBe('ESRCH');
  }));
});

describe('Ktrace buffer and formatting', () => {
  const rec = (i: number): KtraceRecord => ({
    startNs: BigInt(i) * 1000n, endNs: BigInt(i) * 1000n + 10n, pid: 3, syscall: `c${i}`, args: [i], result: i, error: null,
  });

  it('keeps the newest records up to its limit and counts the dropped ones', () => {
    const t = new Ktrace(3);
    for (let i = 0; i < 5; i++) t.add(rec(i));
    expect(t.records.map((r) => r.syscall)).toEqual(['c2', 'c3', 'c4']);
    expect(t.dropped).toBe(2);
  });

  it('formats strace-style, with long strings and odd values kept short and printable', () => {
    expect(formatKtrace(rec(1))).toBe('[pid 3] 0.000001 c1(1) = 1 <0.000000>');
    expect(formatKtrace({ ...rec(2), error: 'ENOENT', result: -1 }, 1000n)).toBe('[pid 3] 0.000001 c2(2) = -1 ENOENT <0.000000>');
    const long = 'x'.repeat(100);
    const line = formatKtrace({ ...rec(0), args: [long, undefined, 5n, new Uint8Array(9), () => 0, { a: [1n, new Uint8Array(2)] }] });
    expect(line).toContain(`("${'x'.repeat(64)}...", undefined, 5, <9 bytes>, <fn>, {"a":["1n","<2 bytes>"]})`);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(formatKtrace({ ...rec(0), args: [cyclic] })).toContain('c0([object Object])');
    expect(formatKtrace({ ...rec(0), args: [{ big: 'y'.repeat(200) }] }).length).toBeLessThan(150);
  });
});
