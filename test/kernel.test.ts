/**
 * Kernel-object properties: several kernels in one
 * process are independent; components boot in dependency order; a kernel
 * booted without a faction loads none of its code.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { boot, O_CREAT, O_RDWR } from '../src/index.ts';
import { SimHost, SimWorld } from '../src/hyper/sim/index.ts';
import { orderComponents, Phase, type Component } from '../src/kern/component.ts';
import { Mutex } from '../src/kern/lock.ts';

const root = path.resolve(import.meta.dirname, '..');

describe('several kernels in one process', () => {
  it('have separate processes, files, pipes, sysctl and lockdep graphs', async () => {
    const world = new SimWorld({ seed: 7 });
    const ha = new SimHost({ world, name: 'a' });
    const hb = new SimHost({ world, name: 'b' });
    const a = await boot({ host: ha });
    const b = await boot({ host: hb });
    await world.run(async () => {
      const fa = await a.sys.open('/only-in-a', O_CREAT | O_RDWR, 0o644);
      await a.sys.write(fa, new Uint8Array([1, 2, 3]));
      await expect(b.sys.stat('/only-in-a')).rejects.toMatchObject({ code: 'ENOENT' });
      // Same fd numbers, different files.
      const fb = await b.sys.open('/only-in-b', O_CREAT | O_RDWR, 0o644);
      expect(fb).toBe(fa);
      expect((await b.sys.fstat(fb)).size).toBe(0);
      expect((await a.sys.fstat(fa)).size).toBe(3);
      // Process tables are separate: a child in a is not in b.
      const ca = a.rfork();
      expect(b.kernel.procs.has(ca.pid)).toBe(false);
      await a.exit(ca, 0);
      await a.sys.wait4(ca.pid, 0);
      // sysctl state is per kernel.
      await a.sys.sysctl('kern.hostname', 'alpha');
      expect(await b.sys.sysctl('kern.hostname')).not.toBe('alpha');
      // A pipe's data stays in its kernel.
      const [r, w] = (await a.sys.pipe()) as [number, number];
      await a.sys.write(w, new Uint8Array([9]));
      await expect(b.sys.read(r, new Uint8Array(1))).rejects.toMatchObject({ code: 'EBADF' });
      expect(await a.sys.read(r, new Uint8Array(1))).toBe(1);
      for (const fd of [r, w, fa]) await a.sys.close(fd);
      await b.sys.close(fb);
      // lockdep: an order learnt in a is not known to b.
      const ta = a.kernel.kthreadCreate('t', async (td) => {
        const m1 = new Mutex(a.kernel, 'mk.one');
        const m2 = new Mutex(a.kernel, 'mk.two');
        using _g1 = await m1.acquire(td);
        using _g2 = await m2.acquire(td);
      });
      await ta.done;
      expect(a.kernel.lockdep!.orderEdges().length).toBeGreaterThan(0);
      expect(b.kernel.lockdep!.orderEdges().some((e: unknown) => JSON.stringify(e).includes('mk.one'))).toBe(false);
    });
    await world.run(async () => {
      expect((await a.shutdown()).clean).toBe(true);
      expect((await b.shutdown()).clean).toBe(true);
    });
    world.dispose();
  });
});

describe('components', () => {
  const c = (name: string, phase: Phase, deps: string[] = []): Component => ({ name, phase, deps, init: () => undefined });

  it('order by phase, then dependencies', () => {
    const order = orderComponents([c('net', Phase.NET, ['kern']), c('tmpfs', Phase.VFS, ['vfs']), c('vfs', Phase.VFS, ['kern']), c('kern', Phase.KERN)]);
    expect(order.map((x) => x.name)).toEqual(['kern', 'vfs', 'tmpfs', 'net']);
  });

  it('reject a missing dependency, a cycle, and a dependency on a later phase', () => {
    expect(() => orderComponents([c('vfs', Phase.VFS, ['kern'])])).toThrow(/needs kern/);
    expect(() => orderComponents([c('x', Phase.VFS, ['y']), c('y', Phase.VFS, ['x'])])).toThrow(/cycle/);
    expect(() => orderComponents([c('a', Phase.KERN, ['b']), c('b', Phase.NET)])).toThrow(/later phase/);
  });

  it('a kernel booted without the VFS loads none of its code', () => {
    const run = (which: string): string[] => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/fixtures/trace-imports.mjs', 'test/fixtures/boot-kern-only.mts', which], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, VITEST: '' },
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
    };
    const kernOnly = run('kern');
    expect(kernOnly.some((u) => u.includes('/src/kern/kernel.ts'))).toBe(true);
    expect(kernOnly.filter((u) => /\/src\/(vfs|dev|net)\//.test(u))).toEqual([]);
    // The tracer does see factions when they are booted (so the check above can fail).
    const all = run('all');
    expect(all.some((u) => u.includes('/src/vfs/'))).toBe(true);
  });
});
