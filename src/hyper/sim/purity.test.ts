/**
 * The sim host must replay exactly from its seed, so its code may not read
 * real time or real randomness: the only real-world primitive allowed is the
 * single setImmediate that pumps the event loop (world.ts). harness.ts is the
 * test-runner side (it reads the environment) and is exempt.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = import.meta.dirname;
const FORBIDDEN: [RegExp, string][] = [
  [/\bDate\b/, 'Date'], [/\bperformance\b/, 'performance'], [/\bMath\.random\b/, 'Math.random'],
  [/\bsetTimeout\b/, 'setTimeout'], [/\bsetInterval\b/, 'setInterval'], [/\bqueueMicrotask\b/, 'queueMicrotask'],
  [/\bprocess\b/, 'process'], [/\bcrypto\b/, 'crypto'], [/from 'node:/, 'a node:* import'],
];

/** Source without comments, so prose may mention the forbidden names. */
function code(file: string): string {
  return readFileSync(join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

describe('sim host purity', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'harness.ts');

  it('finds the sources', () => { expect(files).toContain('host.ts'); expect(files).toContain('world.ts'); });

  for (const f of files) {
    it(`${f} uses no real time or randomness`, () => {
      const src = code(f);
      for (const [re, what] of FORBIDDEN) expect(re.test(src), `${f} uses ${what}`).toBe(false);
      const pumps = src.match(/\bsetImmediate\b/g)?.length ?? 0;
      expect(pumps, `${f}: setImmediate`).toBe(f === 'world.ts' ? 1 : 0);
    });
  }
});
