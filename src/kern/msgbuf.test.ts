/**
 * The kernel message buffer (MsgBuf) and syslog(2) / dmesg through the
 * library: bounded ring, dmesg formatting with virtual timestamps, and the
 * privileged actions.
 */
import { describe, expect, it } from 'vitest';
import { SimHost } from '../hyper/sim/index.ts';
import { boot, type BootedKernel } from '../frontends/library/boot.ts';
import type { KernelError } from './errno.ts';
import { MsgBuf } from './msgbuf.ts';

async function withKernel(fn: (bk: BootedKernel, sim: SimHost) => Promise<void>): Promise<void> {
  const sim = new SimHost({ seed: 5 });
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

describe('MsgBuf', () => {
  it('formats like dmesg: seconds.micros padded to 12 columns', () => {
    const m = new MsgBuf();
    m.add({ ns: 1_234_567n, level: 'info', text: 'hello' });
    m.add({ ns: 12_345_000_000_000n, level: 'err', text: 'late' });
    expect(m.format()).toBe('[    0.001235] hello\n[12345.000000] late');
    expect(new MsgBuf().format()).toBe('');
  });

  it('keeps the newest lines up to its limit and counts what fell off', () => {
    const m = new MsgBuf(3);
    for (let i = 0; i < 10; i++) m.add({ ns: BigInt(i), level: 'debug', text: `l${i}` });
    expect(m.all().map((l) => l.text)).toEqual(['l7', 'l8', 'l9']);
    expect(m.dropped).toBe(7);
    m.clear();
    expect(m.all()).toEqual([]);
    expect(m.format()).toBe('');
  });
});

describe('syslog(2) and dmesg', () => {
  it('READ_ALL shows the boot line and later kernel messages with virtual time', () => withKernel(async (bk, sim) => {
    const first = await bk.sys.syslog(3);
    expect(first).toMatch(/^\[ {4}0\.000000\] anykernel booted on sim host with kern$/m);
    await sim.world.sleep(2_500_000_000n);
    bk.kernel.log('warning', 'disk on fire');
    const text = (await bk.sys.syslog(3)) as string;
    expect(text.split('\n').at(-1)).toBe('[    2.500000] disk on fire');
    expect(bk.dmesg()).toBe(text);
    expect(await bk.sys.syslog(10)).toBeGreaterThan(0);
  }));

  it('messages from the signal code reach dmesg', () => withKernel(async (bk, sim) => {
    const c = bk.rfork();
    await c.sys.sigaction!(10, { handler: () => { throw new Error('oops'); } });
    await bk.sys.kill(c.pid, 10);
    await sim.world.sleep(1000);
    expect(await bk.sys.syslog(3)).toMatch(new RegExp(`pid ${c.pid}: handler for signal 10 threw: oops`));
  }));

  it('CLEAR and READ_CLEAR need privilege; unsupported actions are EINVAL', () => withKernel(async (bk) => {
    const u = bk.rfork({ uid: 1000 });
    expect(await u.sys.syslog!(3)).toContain('booted'); // dmesg_restrict=0: anyone may read
    expect(await u.sys.syslog!(10)).toBeGreaterThan(0);
    for (const a of [0, 1, 4, 5]) expect(await code(u.sys.syslog!(a))).toBe('EPERM');
    for (const a of [2, 6, 7, 8, 9, 11, -1, 1000]) expect(await code(bk.sys.syslog(a))).toBe('EINVAL');
    expect(await bk.sys.syslog(0)).toBe(0);
    expect(await bk.sys.syslog(1)).toBe(0);
    const before = await bk.sys.syslog(4);
    expect(before).toContain('booted');
    expect(await bk.sys.syslog(3)).toBe('');
    bk.kernel.log('info', 'after clear');
    expect(await bk.sys.syslog(5)).toBe(0);
    expect(await bk.sys.syslog(3)).toBe('');
    expect(await code(bk.sys.syslog(1.5 as number))).toBe('EINVAL');
  }));
});
