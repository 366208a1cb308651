/**
 * lockdep over the VFS: the order graph sees the vnode and rename locks of
 * real system calls although none of them is ever contended; a code path
 * that takes two vnode locks against the order the system calls use is
 * reported with both acquisition sites; and every order a workload
 * produces goes down the one published lock-order list (src/kern/README.md).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AT_FDCWD, RENAME_EXCHANGE } from '../kern/constants.ts';
import { Lwp } from '../kern/sched.ts';
import { lookupPath } from './namei.ts';
import { vlock, vunlock } from './vfs_vnops.ts';
import { vrele } from './vnode.ts';
import { type BootedKernel, simKernel, writeFile } from './testkit.ts';

/** The line of this file that called line(). */
function line(): number {
  const m = [...(new Error().stack ?? '').matchAll(/lockorder\.test\.ts:(\d+)/g)];
  return Number(m[1]![1]);
}

/** mkdir, create, link, unlink, rename (within and across directories, exchange), rmdir. */
async function workload(k: BootedKernel): Promise<void> {
  const s = k.sys;
  await s.mkdir('/a', 0o755);
  await s.mkdir('/b', 0o755);
  await writeFile(s, '/a/f', 'x');
  await s.link('/a/f', '/b/g');
  await s.rename('/a/f', '/a/f2');
  await s.rename('/b/g', '/a/g');
  await s.mkdir('/a/d', 0o755);
  await s.rename('/a/d', '/b/d');
  await s.mkdir('/a/e', 0o755);
  await s.renameat2(AT_FDCWD, '/a/e', AT_FDCWD, '/b/d', RENAME_EXCHANGE);
  await s.rmdir('/b/d'); // the names stay, the directories swapped
  await s.rmdir('/a/e');
  await s.unlink('/a/g');
  await s.unlink('/a/f2');
  expect(await s.getcwd()).toBe('/');
}

/** The published lock order: the class names of the numbered list under "The lock order", top first. */
function publishedOrder(): string[] {
  const readme = readFileSync(new URL('../kern/README.md', import.meta.url), 'utf8');
  const section = readme.split('## The lock order')[1]!.split('\n## ')[0]!;
  return [...section.matchAll(/^\d+\. `([^`]+)`/gm)].map((m) => m[1]!);
}

describe('lockdep over the VFS', () => {
  it('sees the vnode and rename classes of uncontended system calls', () =>
    simKernel(async (k) => {
      await workload(k);
      const ld = k.kernel.lockdep!;
      const edges = ld.orderEdges();
      expect(edges).toEqual(expect.arrayContaining([
        'vfs_rename -> vnode_dir', // rename: the rename lock, then the directories
        'vfs_rename -> vnode_dir/1',
        'vnode_dir -> vnode_dir/1', // rename's two parents; rmdir's parent and victim
        'vnode_dir -> vnode', // link, unlink: the directory, then the file
      ]));
      expect(ld.reports).toEqual([]); // strict: a report would have panicked already
    }));

  it('reports two vnode locks taken in opposite orders, never contended, with both acquisition sites', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      await writeFile(s, '/d/f');
      await s.link('/d/f', '/d/g'); // path one: link(2) locks the directory, then the file
      const ld = k.kernel.lockdep!;
      expect(ld.orderEdges()).toContain('vnode_dir -> vnode');
      // Path two, planted: a file operation that goes on to lock its directory.
      const td = new Lwp(k.kernel, k.curproc, 'planted');
      const f = await lookupPath(td, AT_FDCWD, '/d/f', false);
      const d = await lookupPath(td, AT_FDCWD, '/d', false);
      try {
        expect(vlock(td, f, true)).toBeUndefined(); // free: no sleep
        const at = line() + 1;
        expect(vlock(td, d, true)).toBeUndefined(); // free too: nothing here is ever contended
        vunlock(td, d);
        vunlock(td, f);
        expect(ld.reports).toHaveLength(1);
        const r = ld.reports[0]!;
        expect(r.kind).toBe('order-cycle');
        expect(r.thread).toBe(`planted[${td.tid}]`);
        expect(r.lockClass).toBe('vnode_dir');
        expect(r.site).toContain(`src/vfs/lockorder.test.ts:${at}`); // this path's site
        expect(r.cycle).toHaveLength(1);
        expect(r.cycle[0]).toMatchObject({ from: 'vnode_dir', to: 'vnode' });
        expect(r.cycle[0]!.acquireSite).toMatch(/linkVnode \(src\/vfs\/[a-z_]+\.ts:\d+\)/); // link(2)'s site
        expect(r.message).toContain('possible circular locking dependency: vnode -> vnode_dir -> vnode');
      } finally {
        vrele(f);
        vrele(d);
      }
    }, 1, { lockdep: 'on' }));

  it('orders every lock class a workload takes down the published list', () =>
    simKernel(async (k) => {
      await workload(k);
      const ld = k.kernel.lockdep!;
      const order = publishedOrder();
      expect(order.length).toBeGreaterThan(0);
      const rank = (node: string): number => {
        const i = order.indexOf(node);
        expect(i, `lock class ${node} is not in the lock order of src/kern/README.md`).toBeGreaterThanOrEqual(0);
        return i;
      };
      for (const name of ld.classes.keys()) rank(name);
      for (const e of ld.orderEdges()) {
        const [from, to] = e.split(' -> ') as [string, string];
        expect(rank(from), `${e} goes up the published lock order`).toBeLessThan(rank(to));
      }
    }));
});
