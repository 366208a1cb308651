/**
 * Test helpers for the device drivers' tests (src/dev): a full kernel on the sim host for one
 * test, and a promise's outcome as an errno name.
 */
import { boot, type BootedKernel } from '../../src/frontends/library/boot.ts';
import { SimHost } from '../../src/hyper/sim/host.ts';

/** Boot every faction on a SimHost with `seed`, run fn inside the simulation, dispose. */
export async function sim<T>(seed: number, fn: (k: BootedKernel, host: SimHost) => Promise<T>): Promise<T> {
  const host = new SimHost({ seed });
  const k = await boot({ host });
  try {
    return await host.run(() => fn(k, host), { limitSteps: 1_000_000 });
  } finally {
    host.dispose();
  }
}

/** 'ok', or the errno name the promise rejected with. */
export const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));
