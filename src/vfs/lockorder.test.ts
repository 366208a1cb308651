/**
 * lockdep over the VFS: the order graph sees the vnode and rename locks of
 * real system calls although none of them is ever contended; a code path
 * that takes two vnode locks against the order the system calls use is
 * reported with both acquisition sites; and every order a workload
 * produces goes down the one published lock-order list (src/kern/README.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boot } from '../frontends/library/boot.ts';
import { NodeHost } from '../hyper/node/host.ts';
import type { Lockdep } from '../kern/lockdep.ts';
import { LOCK_ORDER } from '../kern/lock_order.ts';
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

/** mkdir, create, link, unlink, rename (within and across directories, exchange), rmdir, below `base`. */
async function workload(k: BootedKernel, base = ''): Promise<void> {
  const s = k.sys;
  await s.mkdir(`${base}/a`, 0o755);
  await s.mkdir(`${base}/b`, 0o755);
  await writeFile(s, `${base}/a/f`, 'x');
  await s.link(`${base}/a/f`, `${base}/b/g`);
  await s.rename(`${base}/a/f`, `${base}/a/f2`);
  await s.rename(`${base}/b/g`, `${base}/a/g`);
  await s.mkdir(`${base}/a/d`, 0o755);
  await s.rename(`${base}/a/d`, `${base}/b/d`);
  await s.mkdir(`${base}/a/e`, 0o755);
  await s.renameat2(AT_FDCWD, `${base}/a/e`, AT_FDCWD, `${base}/b/d`, RENAME_EXCHANGE);
  await s.rmdir(`${base}/b/d`); // the names stay, the directories swapped
  await s.rmdir(`${base}/a/e`);
  await s.unlink(`${base}/a/g`);
  await s.unlink(`${base}/a/f2`);
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
        expect(r.cycle[0]!.acquireSite).toMatch(/ < linkAt \(src\/vfs\/\w+\.ts:\d+\)/); // link(2)'s site
        expect(r.message).toContain('possible circular locking dependency: vnode -> vnode_dir -> vnode');
      } finally {
        vrele(f);
        vrele(d);
      }
    }, 1, { lockdep: 'on' }));

  it('reports a file-then-directory path against the published order even before any path takes them the right way', () =>
    simKernel(async (k) => {
      const s = k.sys;
      await s.mkdir('/d', 0o755);
      await writeFile(s, '/d/f');
      const ld = k.kernel.lockdep!;
      expect(ld.orderEdges()).toEqual([]); // create locks the directory only
      const td = new Lwp(k.kernel, k.curproc, 'planted');
      const f = await lookupPath(td, AT_FDCWD, '/d/f', false);
      const d = await lookupPath(td, AT_FDCWD, '/d', false);
      let at = 0;
      try {
        expect(vlock(td, f, true)).toBeUndefined();
        at = line() + 1;
        expect(vlock(td, d, true)).toBeUndefined();
        vunlock(td, d);
        vunlock(td, f);
      } finally {
        vrele(f);
        vrele(d);
      }
      expect(ld.reports.map((r) => r.kind)).toEqual(['order-violation']);
      expect(ld.reports[0]!.site).toContain(`src/vfs/lockorder.test.ts:${at}`);
      expect(ld.reports[0]!.cycle).toEqual([expect.objectContaining({ from: 'vnode', to: 'vnode_dir' })]);
    }, 1, { lockdep: 'on' }));

  it('publishes in src/kern/README.md exactly the order lockdep enforces (LOCK_ORDER)', () => {
    expect(publishedOrder()).toEqual([...LOCK_ORDER]);
  });

  it('orders every lock class a workload takes down the published list', () =>
    simKernel(async (k) => {
      await workload(k);
      expectPublishedOrder(k.kernel.lockdep!);
    }));

  const haveMkfs = spawnSync('mkfs.ext2', ['-V'], { stdio: 'ignore' }).status === 0;
  if (!haveMkfs && process.env.CI === 'true') throw new Error('mkfs.ext2 (e2fsprogs) missing in CI');
  it.skipIf(!haveMkfs)('orders the ext2 and buffer locks down the published list too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockorder-'));
    try {
      const img = join(dir, 'img');
      const r = spawnSync('mkfs.ext2', ['-F', '-q', img, '4M'], { stdio: ['ignore', 'ignore', 'pipe'] });
      expect(r.status, String(r.stderr)).toBe(0);
      const k = await boot({ host: new NodeHost({ params: { lockdep: 'strict' } }) });
      try {
        const s = k.sys;
        await s.mkdir('/mnt', 0o755);
        await s.mount(img, '/mnt', 'ext2', 0, '');
        await workload(k as unknown as BootedKernel, '/mnt');
        await s.umount2('/mnt', 0);
        const ld = k.kernel.lockdep!;
        expect(ld.orderEdges()).toEqual(expect.arrayContaining(['vnode_dir -> ext2', 'ext2 -> buf']));
        expectPublishedOrder(ld);
      } finally {
        await k.shutdown();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Every class lockdep saw is in the published list, and every recorded order goes down it. */
function expectPublishedOrder(ld: Lockdep): void {
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
}
