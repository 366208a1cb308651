/**
 * A source check on how kernel code takes locks: no trylock used as a fast
 * path in front of a blocking acquisition of the same lock. A trylock adds
 * no lock-order edge, so that shape hides the code's lock order from
 * lockdep whenever the lock happens to be free — which in tests is almost
 * always. `enter()` is the fast path that lockdep sees (lock.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

/** Every non-test .ts file under dir. */
function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/**
 * `x.tryAcquire…(…) === null) await x.acquire…(` on one line, or a trylock
 * whose result is tested for null and followed within two lines by a
 * blocking acquire of the same expression.
 */
function trylockFastPaths(text: string): number[] {
  const lines = text.split('\n');
  const hits: number[] = [];
  const TRY = /([\w.$[\]]+)\.tryAcquire\w*\(/;
  for (let i = 0; i < lines.length; i++) {
    const m = TRY.exec(lines[i]!);
    if (m === null) continue;
    const lock = m[1]!.replace(/[.$[\]]/g, (c) => `\\${c}`);
    const window = lines.slice(i, i + 3).join('\n');
    if (new RegExp(`${lock}\\.acquire\\w*\\(`).test(window) && /null/.test(window)) hits.push(i + 1);
  }
  return hits;
}

describe('kernel lock usage', () => {
  it('the check finds the shape it forbids, and not a lone trylock', () => {
    expect(trylockFastPaths('  if (vp.lock.tryAcquireExclusive(td) === null) await vp.lock.acquireExclusive(td);')).toEqual([1]);
    expect(trylockFastPaths('  const g = m.tryAcquire(td);\n  if (g === null) await m.acquire(td);')).toEqual([1]);
    expect(trylockFastPaths('  xb.lock.tryAcquire(td); // new, so free')).toEqual([]);
    expect(trylockFastPaths('  const e = m.enter(td);\n  using g = e instanceof Promise ? await e : e;')).toEqual([]);
  });

  it('no kernel or frontend code uses a trylock as the fast path of a blocking acquisition', () => {
    const found: string[] = [];
    for (const f of sources(join(root, 'src'))) {
      for (const line of trylockFastPaths(readFileSync(f, 'utf8'))) found.push(`${relative(root, f)}:${line}`);
    }
    expect(found, 'use lock.enter() (lockdep sees it) instead of tryAcquire + acquire').toEqual([]);
  });
});
