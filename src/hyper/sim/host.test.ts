import { describe, expect, it } from 'vitest';
import { SimHost, SimPanic } from './host.ts';
import { SimStuck } from './world.ts';
import { forEachSeed } from './harness.ts';

/** Wait for a sim timer `ns` after now (what a kernel callout does). */
function sleep(sim: SimHost, ns: bigint): Promise<void> {
  return new Promise((r) => sim.timerStart(sim.clockMonotonic() + ns, r));
}

/** A randomized workload: tasks that draw randomness, write, sleep, read back. */
async function workload(seed: number) {
  const sim = new SimHost({ seed, blkLatencyNs: 2_000 });
  sim.addDisk('d0', 16 * 512);
  const order: string[] = [];
  await sim.run(async () => {
    const o = await sim.blkOpen('d0', { readOnly: false });
    if (typeof o === 'number') throw new Error(`blkOpen: ${o}`);
    const tasks: Promise<void>[] = [];
    for (let i = 0; i < 8; i++) {
      tasks.push(new Promise<void>((done) => sim.schedule(async () => {
        order.push(`start${i}`);
        const buf = new Uint8Array(512);
        sim.getRandom(buf);
        expect(await sim.blkWrite(o.handle, i * 512, buf)).toBe(0);
        order.push(`wrote${i}`);
        await sleep(sim, BigInt(buf[0]! % 4) * 1000n);
        const back = new Uint8Array(512);
        expect(await sim.blkRead(o.handle, i * 512, back)).toBe(0);
        expect(back).toEqual(buf);
        order.push(`done${i}@${sim.clockMonotonic()}`);
        done();
      })));
    }
    await Promise.all(tasks);
    expect(await sim.blkFlush(o.handle)).toBe(0);
  }, { limitNs: 1_000_000_000n });
  return { sim, order };
}

describe('SimHost determinism', () => {
  it('same seed gives the identical hash log', async () => {
    const a = await workload(42);
    const b = await workload(42);
    expect(a.order).toEqual(b.order);
    expect(a.sim.hash()).toBe(b.sim.hash());
    expect(a.sim.hashLog().length).toBeGreaterThan(50);
    expect(SimHost.firstDivergence(a.sim.hashLog(), b.sim.hashLog())).toBeNull();
    expect(a.sim.diskImage('d0')).toEqual(b.sim.diskImage('d0'));
  });

  it('different seeds give different orders of runnable tasks', async () => {
    const orders = new Set<string>();
    const hashes = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = await workload(seed);
      orders.add(r.order.join(' '));
      hashes.add(r.sim.hash());
    }
    expect(orders.size).toBeGreaterThan(1);
    expect(hashes.size).toBe(5);
  });

  it('firstDivergence points at the first differing entry', async () => {
    const a = await workload(7);
    const b = await workload(8);
    const d = SimHost.firstDivergence(a.sim.hashLog(), b.sim.hashLog());
    expect(d).not.toBeNull();
    const la = a.sim.hashLog(), lb = b.sim.hashLog();
    for (let i = 0; i < d!.index; i++) expect(la[i]).toEqual(lb[i]);
    expect(d!.a).toEqual(la[d!.index]);
    expect(d!.b).toEqual(lb[d!.index]);
    expect(d!.a).not.toEqual(d!.b);
    // A strict prefix diverges where the shorter log ends.
    expect(SimHost.firstDivergence(la, la.slice(0, 10))).toEqual({ index: 10, a: la[10], b: undefined });
  });

  it('getRandom is seeded and independent of the scheduling stream', () => {
    const x = new Uint8Array(16), y = new Uint8Array(16), z = new Uint8Array(16);
    new SimHost({ seed: 9 }).getRandom(x);
    const s = new SimHost({ seed: 9 });
    s.schedule(() => {}); s.schedule(() => {}); // draws from rng('sched') only
    s.getRandom(y);
    new SimHost({ seed: 10 }).getRandom(z);
    expect(y).toEqual(x);
    expect(z).not.toEqual(x);
    s.dispose();
  });
});

describe('SimHost virtual time', () => {
  it('time advances only when idle: microtask chains finish before a timer at +0', async () => {
    const sim = new SimHost({ seed: 1 });
    const seen: string[] = [];
    await sim.run(async () => {
      const fired = new Promise<void>((r) => sim.timerStart(sim.clockMonotonic(), () => { seen.push('timer'); r(); }));
      let p = Promise.resolve();
      for (let i = 0; i < 100; i++) p = p.then(() => { seen.push(`m${i}`); });
      await p;
      await fired;
    });
    expect(seen.length).toBe(101);
    expect(seen[100]).toBe('timer');
  });

  it('runnable tasks at the current instant all run before time moves', async () => {
    const sim = new SimHost({ seed: 3 });
    const times: bigint[] = [];
    let timerAt = -1n;
    await sim.run(async () => {
      const t = new Promise<void>((r) => sim.timerStart(10n, () => { timerAt = sim.clockMonotonic(); r(); }));
      await new Promise<void>((done) => {
        let n = 0;
        const step = (): void => { times.push(sim.clockMonotonic()); if (++n < 50) sim.schedule(step); else done(); };
        sim.schedule(step);
      });
      await t;
    });
    expect(times).toHaveLength(50);
    expect(times.every((t) => t === 0n)).toBe(true);
    expect(timerAt).toBe(10n);
    expect(sim.clockRealtime()).toBe(1_700_000_000_000_000_000n + 10n);
  });

  it('virtual time jumps straight to the next deadline', async () => {
    const sim = new SimHost({ seed: 1 });
    await sim.run(() => sleep(sim, 3_600_000_000_000n)); // an hour, instantly
    expect(sim.now).toBe(3_600_000_000_000n);
  });

  it('timerCancel stops a timer; cancelling twice is harmless', async () => {
    const sim = new SimHost({ seed: 1 });
    let fired = false;
    const h = sim.timerStart(100n, () => { fired = true; });
    sim.timerCancel(h);
    sim.timerCancel(h);
    expect(sim.pending()).toBe(0);
    await sim.idle();
    expect(fired).toBe(false);
  });

  it('run() rejects a deadlock with the seed in the message', async () => {
    const sim = new SimHost({ seed: 777 });
    await expect(sim.run(() => new Promise(() => {}))).rejects.toThrow(/deadlock.*seed 777/);
  });

  it('run() rejects when the virtual-time limit passes', async () => {
    const sim = new SimHost({ seed: 5 });
    const tick = (): void => { sim.timerStart(sim.clockMonotonic() + 1_000_000n, tick); };
    tick(); // a periodic clock keeps the queue non-empty forever
    const err = await sim.run(() => new Promise(() => {}), { limitNs: 50_000_000n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimStuck);
    expect(String(err)).toMatch(/time limit.*50000000ns.*seed 5/);
    expect(sim.now).toBeLessThanOrEqual(50_000_000n);
    sim.dispose();
  });

  it('panic throws SimPanic and fails the running scenario', async () => {
    const sim = new SimHost({ seed: 11 });
    const r = sim.run(async () => {
      await sleep(sim, 5n);
      sim.schedule(() => { try { sim.panic('lost a vnode'); } catch { /* a kernel might swallow it */ } });
      await sleep(sim, 5n);
    });
    await expect(r).rejects.toThrow(SimPanic);
    await expect(r).rejects.toThrow(/seed 11.*lost a vnode/);
    expect(sim.panics).toHaveLength(1);
    expect(sim.hashLog().some((e) => e.call === 'panic')).toBe(true);
  });

  it('a panic thrown out of an upcall rejects run() once, with no uncaught error', async () => {
    const sim = new SimHost({ seed: 12 });
    const r = sim.run(async () => {
      sim.timerStart(5n, () => sim.panic('in a callout'));
      await sleep(sim, 10n);
    });
    await expect(r).rejects.toThrow(/in a callout/);
    expect(sim.hashLog().map((e) => e.call)).toContain('upcall:threw');
  });

  it('exit is recorded', () => {
    const sim = new SimHost({ seed: 1 });
    sim.exit(3);
    expect(sim.exits).toEqual([3]);
  });
});

describe('SimHost block devices', () => {
  async function open(sim: SimHost, name = 'd0'): Promise<number> {
    const o = await sim.blkOpen(name, { readOnly: false });
    if (typeof o === 'number') throw new Error(`blkOpen ${o}`);
    return o.handle;
  }
  const block = (v: number): Uint8Array => new Uint8Array(512).fill(v);

  it('crash() drops unflushed writes and keeps flushed ones', async () => {
    const sim = new SimHost({ seed: 1 });
    sim.addDisk('d0', 4 * 512);
    await sim.run(async () => {
      const h = await open(sim);
      expect(await sim.blkWrite(h, 0, block(1))).toBe(0);
      expect(await sim.blkFlush(h)).toBe(0);
      expect(await sim.blkWrite(h, 512, block(2))).toBe(0);
      expect(await sim.blkWrite(h, 0, block(3))).toBe(0);
      const r = new Uint8Array(512);
      expect(await sim.blkRead(h, 0, r)).toBe(0);
      expect(r).toEqual(block(3)); // reads see the cache
    });
    expect(sim.crash()).toBe(2);
    const img = sim.diskImage('d0');
    expect(img.subarray(0, 512)).toEqual(block(1));
    expect(img.subarray(512, 1024)).toEqual(block(0));
    // The rebooted kernel sees the durable image.
    await sim.run(async () => {
      const h = await open(sim);
      const r = new Uint8Array(512);
      expect(await sim.blkRead(h, 0, r)).toBe(0);
      expect(r).toEqual(block(1));
    });
  });

  it('crash({ keep: "prefix" }) keeps a seeded prefix, deterministically', async () => {
    const survivors = async (seed: number): Promise<number[]> => {
      const sim = new SimHost({ seed });
      sim.addDisk('d0', 8 * 512);
      await sim.run(async () => {
        const h = await open(sim);
        for (let i = 0; i < 8; i++) await sim.blkWrite(h, i * 512, block(i + 1));
      });
      const dropped = sim.crash({ keep: 'prefix' });
      const img = sim.diskImage('d0');
      const kept = [...Array(8).keys()].filter((i) => img[i * 512] === i + 1);
      expect(kept).toEqual([...Array(8 - dropped).keys()]); // a prefix
      return kept;
    };
    expect(await survivors(21)).toEqual(await survivors(21));
    const lengths = new Set<number>();
    for (let s = 0; s < 12; s++) lengths.add((await survivors(s)).length);
    expect(lengths.size).toBeGreaterThan(1);
  });

  it('crash() cancels the host\'s pending events', async () => {
    const sim = new SimHost({ seed: 1 });
    let fired = false;
    sim.timerStart(1000n, () => { fired = true; });
    sim.crash();
    await sim.idle();
    expect(fired).toBe(false);
  });

  it('checks ranges, alignment, read-only and handles', async () => {
    const sim = new SimHost({ seed: 1 });
    sim.addDisk('d0', 2 * 512);
    sim.addDisk('ro', 512, { readOnly: true });
    await sim.run(async () => {
      const h = await open(sim);
      expect(await sim.blkRead(h, 1024, new Uint8Array(512))).toBe(-5);
      expect(await sim.blkRead(h, 10, new Uint8Array(512))).toBe(-22);
      expect(await sim.blkRead(99, 0, new Uint8Array(512))).toBe(-9);
      expect(await sim.blkOpen('nope', { readOnly: true })).toBe(-6);
      expect(await sim.blkOpen('ro', { readOnly: false })).toBe(-30);
      const ro = await sim.blkOpen('d0', { readOnly: true });
      if (typeof ro === 'number') throw new Error('open');
      expect(ro.info).toEqual({ size: 1024, sectorSize: 512, readOnly: true });
      expect(await sim.blkWrite(ro.handle, 0, block(1))).toBe(-30);
      expect(await sim.blkClose(h)).toBe(0);
      expect(await sim.blkClose(h)).toBe(-9);
    });
  });

  it('blk ops suspend: they complete as events, after the caller yields', async () => {
    const sim = new SimHost({ seed: 1, blkLatencyNs: 500 });
    sim.addDisk('d0', 512);
    await sim.run(async () => {
      const h = await open(sim);
      const t0 = sim.clockMonotonic();
      let done = false;
      const p = sim.blkRead(h, 0, new Uint8Array(512)).then(() => { done = true; });
      await Promise.resolve();
      expect(done).toBe(false);
      await p;
      expect(sim.clockMonotonic() - t0).toBe(500n);
    });
  });
});

describe('SimHost fault sites', () => {
  async function readPattern(seed: number, rule: Parameters<SimHost['faults']['set']>[1]): Promise<number[]> {
    const sim = new SimHost({ seed });
    sim.addDisk('d0', 512);
    sim.faults.set('blk.read', rule);
    return sim.run(async () => {
      const o = await sim.blkOpen('d0', { readOnly: true });
      if (typeof o === 'number') throw new Error('open');
      const out: number[] = [];
      for (let i = 0; i < 40; i++) out.push(await sim.blkRead(o.handle, 0, new Uint8Array(512)));
      return out;
    });
  }

  it('fire deterministically per seed', async () => {
    await forEachSeed('blk.read faults replay', 5, async (seed) => {
      const a = await readPattern(seed, { probability: 0.3 });
      expect(await readPattern(seed, { probability: 0.3 })).toEqual(a);
      expect(a).toContain(-5);
      expect(a).toContain(0);
    });
    expect(await readPattern(1, { probability: 0.5 })).not.toEqual(await readPattern(2, { probability: 0.5 }));
  });

  it('honour afterCalls, times and errno', async () => {
    const r = await readPattern(1, { afterCalls: 3, times: 2, errno: -61 });
    expect(r.slice(0, 6)).toEqual([0, 0, 0, -61, -61, 0]);
    expect(r.filter((x) => x !== 0)).toHaveLength(2);
  });

  it('blk.latency delays completion in virtual time', async () => {
    const sim = new SimHost({ seed: 1, faults: { 'blk.latency': { latencyNs: 7_000 } } });
    sim.addDisk('d0', 512);
    await sim.run(async () => {
      await sim.blkOpen('d0', { readOnly: true });
      expect(sim.now).toBe(7_000n);
    });
  });

  it('a failed write does not land', async () => {
    const sim = new SimHost({ seed: 1, faults: { 'blk.write': {} } });
    sim.addDisk('d0', 512);
    await sim.run(async () => {
      const o = await sim.blkOpen('d0', { readOnly: false });
      if (typeof o === 'number') throw new Error('open');
      expect(await sim.blkWrite(o.handle, 0, new Uint8Array(512).fill(9))).toBe(-5);
      await sim.blkFlush(o.handle);
    });
    expect(sim.diskImage('d0')[0]).toBe(0);
  });
});

describe('SimHost console and host files', () => {
  it('scripted console input is delivered as upcalls; output is collected', async () => {
    const sim = new SimHost({ seed: 1 });
    const got: string[] = [];
    sim.consoleInput('early'); // before the kernel listens: kept until it does
    sim.consoleInput('late\n', 1_000n);
    await sim.run(async () => {
      await sleep(sim, 10n);
      await new Promise<void>((done) => {
        sim.consoleSetInput((b) => {
          got.push(`${new TextDecoder().decode(b)}@${sim.clockMonotonic()}`);
          sim.consoleWrite(b);
          if (got.length === 2) done();
        });
      });
    });
    expect(got).toEqual(['early@10', 'late\n@1000']);
    expect(sim.consoleOutput()).toBe('earlylate\n');
  });

  it('serves an in-memory tree through the etfs hypercalls', async () => {
    const sim = new SimHost({ seed: 1 });
    sim.addHostFile('/etc/motd', 'hello', { mtimeNs: 5n });
    sim.addHostDir('/empty');
    sim.addHostSymlink('/etc/link', 'motd');
    await sim.run(async () => {
      expect(await sim.hostReaddir('/')).toEqual(['empty', 'etc']);
      expect(await sim.hostReaddir('/etc')).toEqual(['link', 'motd']);
      expect(await sim.hostStat('/etc/motd')).toEqual({ type: 'file', mode: 0o100644, size: 5, mtimeNs: 5n });
      expect((await sim.hostStat('/etc/link')) as { type: string }).toMatchObject({ type: 'symlink' });
      expect(await sim.hostReadlink('/etc/link')).toBe('motd');
      expect(await sim.hostStat('/nope')).toBe(-2);
      const fd = await sim.hostOpen('/etc/link', { write: true, create: false, truncate: false });
      expect(typeof fd).toBe('number');
      const buf = new Uint8Array(10);
      expect(await sim.hostRead(fd as number, 1, buf)).toBe(4);
      expect(new TextDecoder().decode(buf.subarray(0, 4))).toBe('ello');
      expect(await sim.hostWrite(fd as number, 7, new TextEncoder().encode('!'))).toBe(1);
      expect(await sim.hostClose(fd as number)).toBe(0);
      expect(await sim.hostOpen('/empty', { write: false, create: false, truncate: false })).toBe(-21);
      const nf = await sim.hostOpen('/empty/new', { write: true, create: true, truncate: true });
      expect(await sim.hostWrite(nf as number, 0, new Uint8Array([1, 2]))).toBe(2);
    });
    expect(sim.hostFile('/etc/motd')).toEqual(new TextEncoder().encode('hello\0\0!'));
    expect(sim.hostFile('/empty/new')).toEqual(new Uint8Array([1, 2]));
  });
});
