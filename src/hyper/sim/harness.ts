/**
 * Seeded property runs: run one test body under many seeds, and make a
 * failure say which seed failed and how to replay exactly that one.
 *
 *   await forEachSeed('fs survives crash', 20, async (seed) => { ... });
 *
 * Environment (read here, on the host side):
 *   ANYKERNEL_SEED=12345   run only seed 12345 (the replay command a failure prints);
 *   ANYKERNEL_SEEDS=500    run 500 seeds instead of `count` (a soak run).
 *
 * Generic on purpose: it knows nothing about kernels or SimHost.
 */
import * as path from 'node:path';
import { fnv32 } from './rng.ts';

export interface ForEachSeedOptions {
  /** Test file named in the replay command (default: found on the call stack). */
  file?: string;
  /** Environment to read (default process.env). */
  env?: Record<string, string | undefined>;
}

/** The deterministic seed list for a property: distinct 32-bit values derived from its name. */
export function seedsFor(name: string, count: number): number[] {
  const base = fnv32(new TextEncoder().encode(name));
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push((base + Math.imul(i, 0x9e3779b1)) >>> 0);
  return out;
}

function callerTestFile(stack: string | undefined): string | undefined {
  for (const line of (stack ?? '').split('\n')) {
    const m = /(?:file:\/\/)?(\/[^\s():]+\.test\.[cm]?[tj]sx?)/.exec(line);
    if (m) return path.relative(process.cwd(), m[1]!) || m[1];
  }
  return undefined;
}

function parseSeedEnv(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`ANYKERNEL_SEED must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Run fn once per seed, in order, stopping at the first failure, which is
 * rethrown as `seed N failed: <message> — replay with: ANYKERNEL_SEED=N npx vitest run <file>`
 * (the original error is its `cause`).
 */
export async function forEachSeed(
  name: string,
  count: number,
  fn: (seed: number) => Promise<void> | void,
  opts: ForEachSeedOptions = {},
): Promise<void> {
  const env = opts.env ?? process.env;
  const file = opts.file ?? callerTestFile(new Error().stack) ?? '<test file>';
  const only = env['ANYKERNEL_SEED'];
  const n = env['ANYKERNEL_SEEDS'] !== undefined ? parseSeedEnv(env['ANYKERNEL_SEEDS']) : count;
  const seeds = only !== undefined && only !== '' ? [parseSeedEnv(only)] : seedsFor(name, n);
  for (const seed of seeds) {
    try {
      await fn(seed);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const err = new Error(`${name}: seed ${seed} failed: ${msg} — replay with: ANYKERNEL_SEED=${seed} npx vitest run ${file}`, { cause: e });
      if (e instanceof Error && e.stack) err.stack = `${err.message}\n--- original error ---\n${e.stack}`;
      throw err;
    }
  }
}
