import { describe, expect, it } from 'vitest';
import { SimHost } from './host.ts';
import { SimNetwork } from './network.ts';
import { SimWorld } from './world.ts';
import type { FaultRule, FaultSite } from './faults.ts';

/** Three hosts on one hub; a sends `n` frames; returns what b received (first byte of each). */
async function exchange(seed: number, faults: Partial<Record<FaultSite, FaultRule>> = {}, n = 20) {
  const world = new SimWorld({ seed });
  const a = new SimHost({ world, name: 'a' });
  const b = new SimHost({ world, name: 'b' });
  const c = new SimHost({ world, name: 'c' });
  const net = new SimNetwork(world, { faults, latencyNs: 1_000 });
  net.attach(a).attach(b).attach(c);
  const atB: number[] = [], atC: number[] = [];
  const times: bigint[] = [];
  await world.run(async () => {
    const ia = await a.netifCreate('eth0', () => { throw new Error('a must not hear itself'); });
    await b.netifCreate('eth0', (f) => { atB.push(f[0]!); times.push(b.clockMonotonic()); });
    await c.netifCreate('eth0', (f) => { atC.push(f[0]!); });
    expect(typeof ia === 'object' && ia.mtu).toBe(1500);
    for (let i = 0; i < n; i++) a.netifSend('eth0', new Uint8Array([i, 0, 0]));
    await world.sleep(1_000_000_000n);
  });
  return { atB, atC, times, stats: net.stats(), hash: world.log.hash() };
}

describe('SimNetwork', () => {
  it('delivers every frame to every other interface, after the latency, in order', async () => {
    const r = await exchange(1);
    const all = [...Array(20).keys()];
    expect(r.atB).toEqual(all);
    expect(r.atC).toEqual(all);
    expect(r.times.every((t) => t === 1_000n)).toBe(true);
    expect(r.stats).toMatchObject({ sent: 20, delivered: 40, lost: 0 });
  });

  it('loses frames, deterministically per seed', async () => {
    const f = { 'net.loss': { probability: 0.3 } };
    const a = await exchange(5, f), a2 = await exchange(5, f), b = await exchange(6, f);
    expect(a.atB).toEqual(a2.atB);
    expect(a.hash).toBe(a2.hash);
    expect(a.atB.length).toBeLessThan(20);
    expect(a.atB.length).toBeGreaterThan(0);
    expect([a.atB, a.atC]).not.toEqual([b.atB, b.atC]);
    expect(a.stats.lost).toBe(40 - a.atB.length - a.atC.length);
  });

  it('duplicates frames', async () => {
    const r = await exchange(2, { 'net.dup': { probability: 1 } }, 5);
    expect(r.atB).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(r.stats.duplicated).toBe(10);
  });

  it('reorders frames with seeded jitter', async () => {
    const f = { 'net.reorder': { latencyNs: 100_000 } };
    const r = await exchange(3, f), r2 = await exchange(3, f);
    expect(r.atB).not.toEqual([...Array(20).keys()]);
    expect([...r.atB].sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
    expect(r2.atB).toEqual(r.atB);
  });

  it('stops delivering to a destroyed interface and refuses foreign worlds', async () => {
    const world = new SimWorld({ seed: 1 });
    const a = new SimHost({ world, name: 'a' }), b = new SimHost({ world, name: 'b' });
    const net = new SimNetwork(world).attach(a).attach(b);
    let got = 0;
    await world.run(async () => {
      await a.netifCreate('eth0', () => {});
      await b.netifCreate('eth0', () => { got++; });
      a.netifSend('eth0', new Uint8Array(60));
      expect(await b.netifDestroy('eth0')).toBe(0);
      await world.sleep(1_000_000n);
      expect(await b.netifCreate('eth1', () => {})).toMatchObject({ name: 'eth1' });
      expect(await new SimHost({ world, name: 'lonely' }).netifCreate('eth0', () => {})).toBe(-6);
    });
    expect(got).toBe(0);
    expect(() => net.attach(new SimHost({ seed: 1 }))).toThrow(/another SimWorld/);
  });

  it('a crashed host loses frames in flight to it and can attach again after reboot', async () => {
    const world = new SimWorld({ seed: 4 });
    const a = new SimHost({ world, name: 'a' }), b = new SimHost({ world, name: 'b' });
    new SimNetwork(world, { latencyNs: 1_000 }).attach(a).attach(b);
    const got: number[] = [];
    await world.run(async () => {
      await a.netifCreate('eth0', () => {});
      await b.netifCreate('eth0', (f) => got.push(f[0]!));
      a.netifSend('eth0', new Uint8Array([1]));
      b.crash();
      await world.sleep(10_000n);
      expect(await b.netifCreate('eth0', (f) => got.push(f[0]!))).toMatchObject({ name: 'eth0' });
      a.netifSend('eth0', new Uint8Array([2]));
      await world.sleep(10_000n);
    });
    expect(got).toEqual([2]);
  });

  it('corrupts one bit of a copy per fired frame, and partitions cut a path both ways', async () => {
    const world = new SimWorld({ seed: 9 });
    const a = new SimHost({ world, name: 'a' });
    const b = new SimHost({ world, name: 'b' });
    const c = new SimHost({ world, name: 'c' });
    const net = new SimNetwork(world, { faults: { 'net.corrupt': { probability: 1, times: 1 } } });
    net.attach(a).attach(b).attach(c);
    const atB: Uint8Array[] = [], atC: Uint8Array[] = [];
    await world.run(async () => {
      await a.netifCreate('eth0', () => {});
      await b.netifCreate('eth0', (f) => atB.push(f));
      await c.netifCreate('eth0', (f) => atC.push(f));
      a.netifSend('eth0', new Uint8Array(8));
      await world.sleep(1_000_000n);
      net.partition(a, b);
      a.netifSend('eth0', new Uint8Array([1]));
      await world.sleep(1_000_000n);
      net.heal();
      a.netifSend('eth0', new Uint8Array([2]));
      await world.sleep(1_000_000n);
    });
    const flipped = (f: Uint8Array) => f.reduce((n, x) => n + x.toString(2).split('1').length - 1, 0);
    // Exactly one receiver's copy of the first frame has exactly one bit flipped.
    expect(flipped(atB[0]!) + flipped(atC[0]!)).toBe(1);
    expect(atB.map((f) => f.length)).toEqual([8, 1]);
    expect(atC.map((f) => f.length)).toEqual([8, 1, 1]);
    expect(net.stats()).toMatchObject({ corrupted: 1, partitioned: 1 });
  });
});
