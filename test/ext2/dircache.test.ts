/**
 * ext2's in-core directory state across path walks: a large directory's
 * name index and the vnode that holds it survive the vnode's release (the
 * mount keeps released directory vnodes cached), so walking into it again
 * costs a map lookup, not a scan of every block — checked through the
 * buffer cache's hit counter — and the image stays one e2fsck and debugfs
 * accept, with every name in place.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { boot } from '../../src/frontends/library/boot.ts';
import { SimHost } from '../../src/hyper/sim/host.ts';
import { O_CREAT, O_WRONLY } from '../../src/kern/constants.ts';
import { vfsComponent } from '../../src/vfs/vfs_component.ts';
import { tmpfsComponent } from '../../src/vfs/tmpfs.ts';
import { blkComponent } from '../../src/dev/blk/blk_component.ts';
import { ext2Component } from '../../src/vfs/ext2/ext2.ts';
import { debugfs, fsck, haveE2fsprogs, mkfs, rmTree, tmpDir } from './kit.ts';

const ok = haveE2fsprogs();
const N = 400;

describe.skipIf(!ok)('ext2 directory state between path walks', () => {
  it('a released large directory is walked again without rescanning its blocks', async () => {
    const dir = tmpDir('dircache');
    try {
      const base = join(dir, 'base');
      mkfs(base, '8M', { bs: 1024 });
      const sim = new SimHost({ seed: 1 });
      sim.addDisk('d0', new Uint8Array(readFileSync(base)));
      await sim.run(async () => {
        const k = await boot({ host: sim, components: [vfsComponent, tmpfsComponent, blkComponent, ext2Component] });
        await k.sys.mkdir('/mnt', 0o755);
        await k.sys.mount('d0', '/mnt', 'ext2', 0, '');
        await k.sys.mkdir('/mnt/big', 0o755);
        for (let i = 0; i < N; i++) await k.sys.close(await k.sys.open(`/mnt/big/entry-number-${i}`, O_CREAT | O_WRONLY, 0o644));
        // 400 records of 28 bytes: about a dozen 1 KiB blocks, so the directory is indexed.
        expect((await k.sys.stat('/mnt/big')).size).toBeGreaterThanOrEqual(8 * 1024);
        const hits = (): number => Number(k.kernel.sysctl.read('vfs.bufcache.hits'));
        const before = hits();
        for (let i = 0; i < N; i++) expect((await k.sys.stat(`/mnt/big/entry-number-${i}`)).size).toBe(0);
        // A rescan per walk would be ~12 block hits per stat; the cached index needs none for
        // the directory (a few per stat remain for the inodes).
        expect(hits() - before).toBeLessThan(N * 3);
        await k.sys.umount2('/mnt', 0);
        await k.shutdown();
      }, { limitNs: 3_600_000_000_000n });
      const img = join(dir, 'img');
      writeFileSync(img, sim.diskImage('d0'));
      expect(fsck(img, '-n').status).toBe(0);
      const ls = debugfs(img, 'ls /big');
      for (const i of [0, 1, N / 2, N - 1]) expect(ls).toContain(`entry-number-${i}`);
    } finally {
      rmTree(dir);
    }
  });
});
