import { afterEach, describe, expect, it } from 'vitest';
import { NodeHost } from './node/host.ts';
import { SimHost } from './sim/host.ts';
import { SimNetwork } from './sim/network.ts';
import { SimWorld } from './sim/world.ts';
import type { Hypercalls } from './types.ts';
import { HYPERCALL_NAMES, Thrown, withFaults, withRecord, withTrace, type RecordEntry } from './wrap.ts';

const disposers: (() => void)[] = [];
afterEach(() => { for (const d of disposers.splice(0)) d(); });

interface Target { host: Hypercalls; drive: <T>(f: () => Promise<T>) => Promise<T> }

/** Fresh hosts of each kind, each with a 2-sector disk "d0". */
const targets: [string, () => Target][] = [
  ['node', () => {
    const node = new NodeHost({ blockDevices: { d0: new Uint8Array(1024) }, consoleOut: () => {} });
    disposers.push(() => node.dispose());
    return { host: node, drive: (f) => f() };
  }],
  ['sim', () => {
    const sim = new SimHost({ seed: 4 });
    sim.addDisk('d0', 1024);
    disposers.push(() => sim.dispose());
    return { host: sim, drive: (f) => sim.run(f) };
  }],
];

/** A small workload through the hypercalls: a timer, a block write and read. */
async function workload(h: Hypercalls): Promise<{ read: number; wrote: number; data: Uint8Array }> {
  await new Promise<void>((r) => h.timerStart(h.clockMonotonic(), r));
  const o = await h.blkOpen('d0', { readOnly: false });
  if (typeof o === 'number') throw new Error(`blkOpen ${o}`);
  const wrote = await h.blkWrite(o.handle, 512, new Uint8Array(512).fill(7));
  const data = new Uint8Array(512);
  const read = await h.blkRead(o.handle, 512, data);
  await h.blkClose(o.handle);
  return { read, wrote, data };
}

describe('host wrappers', () => {
  for (const [label, make] of targets) {
    it(`withTrace reports every call, async results and upcalls (${label})`, async () => {
      const { host, drive } = make();
      const seen: [string, unknown][] = [];
      const traced = withTrace(host, (name, _args, result) => seen.push([name, result]));
      expect(traced.hostName).toBe(host.hostName);
      const r = await drive(() => workload(traced));
      expect(r).toMatchObject({ read: 0, wrote: 0 });
      expect(r.data[0]).toBe(7);
      const names = seen.map(([n]) => n);
      expect(names).toEqual(['clockMonotonic', 'timerStart', 'timerStart:upcall', 'blkOpen', 'blkWrite', 'blkRead', 'blkClose']);
      expect(seen.find(([n]) => n === 'blkRead')![1]).toBe(0);
      expect(seen.find(([n]) => n === 'blkOpen')![1]).toMatchObject({ info: { size: 1024 } });
    });

    it(`withRecord logs calls, results (with read data) and upcalls in order (${label})`, async () => {
      const { host, drive } = make();
      const { host: rec, log } = withRecord(host);
      await drive(() => workload(rec));
      const kinds = log.map((e) => `${e.kind}:${e.name}`);
      expect(kinds.slice(0, 5)).toEqual(['call:clockMonotonic', 'result:clockMonotonic', 'call:timerStart', 'result:timerStart', 'upcall:timerStart']);
      const read = log.find((e): e is Extract<RecordEntry, { kind: 'result' }> => e.kind === 'result' && e.name === 'blkRead')!;
      expect(read.data![0]).toBe(7);
      const write = log.find((e): e is Extract<RecordEntry, { kind: 'call' }> => e.kind === 'call' && e.name === 'blkWrite')!;
      expect((write.args[2] as Uint8Array)[0]).toBe(7);
      // every call has exactly one result, after it
      for (const c of log.filter((e) => e.kind === 'call')) {
        const i = log.indexOf(c);
        expect(log.findIndex((e, j) => j > i && e.kind === 'result' && e.id === c.id)).toBeGreaterThan(i);
      }
    });

    it(`withFaults injects errors at named sites, reproducibly per seed (${label})`, async () => {
      const { host, drive } = make();
      const pattern = async (seed: number): Promise<number[]> => {
        const f = withFaults(host, { 'blk.read': { probability: 0.5, errno: -61 } }, seed);
        return drive(async () => {
          const o = await f.blkOpen('d0', { readOnly: true });
          if (typeof o === 'number') throw new Error(`blkOpen ${o}`);
          const out: number[] = [];
          for (let i = 0; i < 32; i++) out.push(await f.blkRead(o.handle, 0, new Uint8Array(512)));
          await f.blkClose(o.handle);
          return out;
        });
      };
      const a = await pattern(1);
      expect(await pattern(1)).toEqual(a);
      expect(a).toContain(-61);
      expect(a).toContain(0);
      expect(await pattern(2)).not.toEqual(a);
    });

    it(`wrappers compose and keep this-binding (${label})`, async () => {
      const { host, drive } = make();
      const seen: string[] = [];
      const f = withFaults(host, { 'blk.write': { afterCalls: 1, times: 1 } }, 3);
      const h = withTrace(f, (name, _a, r) => { if (name === 'blkWrite') seen.push(String(r)); });
      await drive(async () => {
        const o = await h.blkOpen('d0', { readOnly: false });
        if (typeof o === 'number') throw new Error('open');
        for (let i = 0; i < 3; i++) await h.blkWrite(o.handle, 0, new Uint8Array(512));
        await h.blkClose(o.handle);
      });
      expect(seen).toEqual(['0', '-5', '0']);
      expect(f.faults.counters()['blk.write']).toEqual({ calls: 3, fired: 1 });
      expect(typeof h.getRandom).toBe('function');
      const b = new Uint8Array(8);
      h.getRandom(b); // NodeHost/SimHost methods need their own `this`
    });
  }

  it('every wrapper implements every hypercall', () => {
    const sim = new SimHost({ seed: 1 });
    for (const w of [withTrace(sim, () => {}), withRecord(sim).host, withFaults(sim, {})]) {
      for (const n of HYPERCALL_NAMES) expect(typeof w[n]).toBe('function');
      expect(w.version).toBe(sim.version);
    }
  });

  it('withTrace reports a panic as Thrown', () => {
    const sim = new SimHost({ seed: 1 });
    let got: unknown;
    const t = withTrace(sim, (n, _a, r) => { if (n === 'panic') got = r; });
    expect(() => t.panic('x')).toThrow(/x/);
    expect(got).toBeInstanceOf(Thrown);
  });

  it('withFaults adds latency in sim time and perturbs frames on the way out', async () => {
    const world = new SimWorld({ seed: 8 });
    const a = new SimHost({ world, name: 'a' }), b = new SimHost({ world, name: 'b' });
    a.addDisk('d0', 512);
    new SimNetwork(world, { latencyNs: 0 }).attach(a).attach(b);
    const fa = withFaults(a, { 'blk.latency': { latencyNs: 5_000 }, 'net.loss': { probability: 0.5 }, 'net.dup': { probability: 0.5 } }, 8);
    const got: number[] = [];
    await world.run(async () => {
      const t0 = fa.clockMonotonic();
      await fa.blkOpen('d0', { readOnly: true });
      expect(fa.clockMonotonic() - t0).toBe(5_000n);
      await fa.netifCreate('eth0', () => {});
      await b.netifCreate('eth0', (f) => got.push(f[0]!));
      for (let i = 0; i < 30; i++) fa.netifSend('eth0', new Uint8Array([i]));
      await world.sleep(1_000n);
    });
    expect(got.length).toBeGreaterThan(0);
    expect(new Set(got).size).toBeLessThan(30); // some lost
    expect(got.length).toBeGreaterThan(new Set(got).size); // some duplicated
  });
});
