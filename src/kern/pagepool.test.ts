/**
 * The page pool: fresh pages are zero, reused pages are zero outside the
 * range the caller overwrites, the free list never exceeds its cap, and
 * trim gives pages back.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PAGE_SIZE, PagePool } from './pagepool.ts';

describe('PagePool', () => {
  it('fresh pages are zero and distinct', () => {
    const pool = new PagePool();
    const a = pool.alloc(), b = pool.alloc();
    expect(a.byteLength).toBe(PAGE_SIZE);
    a.fill(1);
    expect(b.every((x) => x === 0)).toBe(true);
    expect(pool.stats.fresh).toBe(2);
  });

  it('a reused page is zero outside [from, to) whatever it held', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: PAGE_SIZE }), fc.integer({ min: 0, max: PAGE_SIZE }), (x, y) => {
      const [from, to] = x <= y ? [x, y] : [y, x];
      const pool = new PagePool();
      const p = pool.alloc();
      p.fill(0xee);
      pool.release(p);
      const q = pool.alloc(from, to);
      expect(q).toBe(p);
      expect(pool.stats.reused).toBe(1);
      // Inside [from, to) the caller is about to write: stale bytes are allowed there only.
      expect(q.subarray(0, from).every((b) => b === 0)).toBe(true);
      expect(q.subarray(to).every((b) => b === 0)).toBe(true);
    }), { numRuns: 50 });
  });

  it('keeps at most maxFreeBytes; trim and a zero cap give pages back', () => {
    const pool = new PagePool(3 * PAGE_SIZE);
    const pages = Array.from({ length: 5 }, () => pool.alloc());
    for (const p of pages) pool.release(p);
    expect(pool.freeBytes).toBe(3 * PAGE_SIZE);
    expect(pool.stats.dropped).toBe(2);
    pool.trim(PAGE_SIZE);
    expect(pool.freeBytes).toBe(PAGE_SIZE);
    pool.maxFreeBytes = 0;
    pool.trim(0);
    pool.release(pool.alloc());
    expect(pool.freeBytes).toBe(0);
  });

  it('ignores buffers that are not whole pages', () => {
    const pool = new PagePool();
    pool.release(new Uint8Array(4096));
    expect(pool.freeBytes).toBe(0);
  });
});
