import { describe, expect, it } from 'vitest';
import { forEachSeed, seedsFor } from './harness.ts';

describe('forEachSeed', () => {
  it('runs count distinct, stable seeds', async () => {
    const seen: number[] = [];
    await forEachSeed('prop', 10, (s) => { seen.push(s); }, { env: {} });
    expect(seen).toEqual(seedsFor('prop', 10));
    expect(new Set(seen).size).toBe(10);
    expect(seedsFor('other', 3)).not.toEqual(seedsFor('prop', 3));
  });

  it('names the failing seed and the replay command', async () => {
    const bad = seedsFor('prop', 5)[3]!;
    const err = await forEachSeed('prop', 5, (s) => { if (s === bad) throw new Error('boom'); }, { env: {} })
      .catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toBe(`prop: seed ${bad} failed: boom — replay with: ANYKERNEL_SEED=${bad} npx vitest run src/hyper/sim/harness.test.ts`);
    expect((err!.cause as Error).message).toBe('boom');
  });

  it('ANYKERNEL_SEED runs only that seed; ANYKERNEL_SEEDS changes the count', async () => {
    const seen: number[] = [];
    await forEachSeed('prop', 10, (s) => { seen.push(s); }, { env: { ANYKERNEL_SEED: '12345' } });
    expect(seen).toEqual([12345]);
    let n = 0;
    await forEachSeed('prop', 10, () => { n++; }, { env: { ANYKERNEL_SEEDS: '3' } });
    expect(n).toBe(3);
    await expect(forEachSeed('prop', 1, () => {}, { env: { ANYKERNEL_SEED: 'x' } })).rejects.toThrow(/ANYKERNEL_SEED/);
  });
});
