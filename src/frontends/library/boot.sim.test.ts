/**
 * boot() inside sim.run(...): loading components is real host work (dynamic
 * imports) that the simulation does not model; boot() runs it through the
 * host's outside(), so it neither looks like a deadlock nor moves the virtual
 * clock, and the same seed gives the same hash log. Also: without a default
 * host (as in a browser) boot() says what to pass.
 */
import { describe, expect, it } from 'vitest';
import { SimHost } from '../../hyper/sim/host.ts';
import { boot, setDefaultHost } from './boot.ts';
import { NodeHost } from '../../hyper/node/host.ts';
import { withTrace } from '../../hyper/wrap.ts';
import { O_CREAT, O_RDONLY, O_WRONLY } from '../../kern/index.ts';

async function bootInsideRun(seed: number): Promise<{ text: string; clean: boolean; hash: string; t0: bigint }> {
  const sim = new SimHost({ seed });
  const r = await sim.run(async () => {
    const t0 = sim.now;
    const k = await boot({ host: sim });
    const fd = await k.sys.open('/f', O_CREAT | O_WRONLY, 0o644);
    await k.sys.write(fd, new TextEncoder().encode('sim'));
    await k.sys.close(fd);
    const rfd = await k.sys.open('/f', O_RDONLY);
    const buf = new Uint8Array(8);
    const n = await k.sys.read(rfd, buf);
    await k.sys.close(rfd);
    const report = await k.shutdown();
    return { text: new TextDecoder().decode(buf.subarray(0, n)), clean: report.clean, t0 };
  }, { limitNs: 60_000_000_000n });
  sim.dispose();
  return { ...r, hash: sim.hash() };
}

describe('boot() under a simulation host', () => {
  // First in this file, so the dev component's module is not loaded yet and its import is real host work.
  it('boots inside sim.run through a wrapped sim host (withTrace passes outside() on)', async () => {
    const sim = new SimHost({ seed: 7 });
    const names = new Set<string>();
    const host = withTrace(sim, (name) => names.add(name));
    const clean = await sim.run(async () => {
      const k = await boot({ host, components: ['kern', 'dev'] });
      return (await k.shutdown()).clean;
    });
    sim.dispose();
    expect(clean).toBe(true);
    expect(names.has('clockMonotonic')).toBe(true);
  });

  it('boots inside sim.run without a false deadlock, and replays to the same hash', async () => {
    const a = await bootInsideRun(42);
    expect(a).toMatchObject({ text: 'sim', clean: true, t0: 0n });
    const b = await bootInsideRun(42);
    expect(b.hash).toBe(a.hash);
  });

  it('without a host and without a default host, boot() says how to get one', async () => {
    setDefaultHost(null);
    try {
      await expect(boot()).rejects.toThrow(/no host given.*'anykernel\/node'.*SimHost/);
    } finally {
      setDefaultHost(() => new NodeHost());
    }
  });
});
