/**
 * The vfs and tmpfs components through the library frontend: a plain boot()
 * has a tmpfs root that every process starts in, and a clean shutdown
 * reports no leaked vnode references.
 */
import { describe, expect, it } from 'vitest';
import { boot, type Sys } from '../frontends/library/boot.ts';
import { SimHost } from '../hyper/sim/host.ts';
import { readFile, writeFile } from './testkit.ts';
import { TMPFS_MAGIC } from './tmpfs.ts';

describe('vfs + tmpfs components', () => {
  it('give every process a tmpfs root and cwd; shutdown reports nothing held', async () => {
    const k = await boot({ host: new SimHost({ seed: 7 }) });
    const s = k.sys;
    expect(await s.getcwd()).toBe('/');
    expect((await s.statfs('/')).type).toBe(TMPFS_MAGIC);
    await writeFile(s, '/hello', 'hi');
    const h = k.rfork({ uid: 1000, gid: 1000 });
    const child = h.sys as unknown as Sys;
    expect(await readFile(child, '/hello')).toBe('hi');
    expect(await child.getcwd()).toBe('/');
    await k.exit(h, 0);
    await s.wait4?.(-1, 0).catch(() => undefined);
    const report = await k.shutdown();
    expect(report.other).toEqual([]);
    expect(report.openFiles).toEqual([]);
  });
});
