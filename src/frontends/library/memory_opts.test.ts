/**
 * --memory and --tmpfs-size: parsing, and what a booted kernel makes of them
 * (its /proc/meminfo and the size of its root tmpfs).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { memoryParams, parseSize } from './memory_opts.ts';

const bin = path.resolve(import.meta.dirname, '../../../bin/anykernel.mjs');

describe('memory options', () => {
  it('parse sizes and refuse what is not one, naming the option', () => {
    expect(parseSize('64K', '--memory')).toBe(65536);
    expect(parseSize('2g', '--memory')).toBe(2 * 1024 ** 3);
    expect(() => parseSize('12q', '--tmpfs-size')).toThrow(/--tmpfs-size: '12q' is not a size/);
    expect(memoryParams('64M', '8M')).toEqual({ memlimit: String(64 << 20), 'rootfs.options': `size=${8 << 20}` });
    expect(memoryParams(undefined, undefined)).toEqual({});
    expect(memoryParams(undefined, undefined, 1 << 29)).toEqual({ memlimit: String(1 << 29) });
    expect(() => memoryParams('1M', undefined)).toThrow(/at least 16M/);
  });

  it('anykernel boot --memory sets the kernel limit; the root tmpfs is half of it unless --tmpfs-size says', () => {
    const run = (...args: string[]): string => {
      const r = spawnSync(process.execPath, [bin, 'boot', ...args, '-c', 'head -n 1 /proc/meminfo; df /'], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    const half = run('--memory', '64M');
    expect(half).toMatch(/^MemTotal: +65536 kB$/m);
    expect(half).toMatch(/^\S+ +32768 /m); // df: 1K-blocks of the root tmpfs
    const sized = run('--memory', '64M', '--tmpfs-size', '8M');
    expect(sized).toMatch(/^\S+ +8192 /m);
    const bad = spawnSync(process.execPath, [bin, 'boot', '--memory', 'lots', '-c', 'true'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--memory: 'lots' is not a size/);
  });
});
