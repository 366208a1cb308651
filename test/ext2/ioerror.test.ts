/**
 * ext2 over a failing disk (the sim host's fault sites): random read,
 * write and flush errors during a workload surface as EIO from the calls
 * that needed the disk — never a crash, a hang or a panic — and once the
 * faults stop, the same kernel unmounts, and the image it leaves is one
 * `e2fsck -fy` repairs to clean.
 *
 * Seeds: ANYKERNEL_SEEDS=N for more, ANYKERNEL_SEED=S to replay one.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { boot } from '../../src/frontends/library/boot.ts';
import { SimHost } from '../../src/hyper/sim/host.ts';
import { forEachSeed } from '../../src/hyper/sim/harness.ts';
import { KernelError } from '../../src/kern/errno.ts';
import { O_CREAT, O_RDWR } from '../../src/kern/constants.ts';
import { vfsComponent } from '../../src/vfs/vfs_component.ts';
import { tmpfsComponent } from '../../src/vfs/tmpfs.ts';
import { blkComponent } from '../../src/dev/blk/blk_component.ts';
import { ext2Component } from '../../src/vfs/ext2/ext2.ts';
import { fsck, haveE2fsprogs, mkfs, rmTree, tmpDir } from './kit.ts';

const ok = haveE2fsprogs();

/** Run p; EIO (or a consequence the kernel reports as an errno) is expected, anything else is a bug. */
async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    return e.code;
  }
}

describe.skipIf(!ok)('ext2 on a failing disk', () => {
  it('I/O errors come back as EIO; after the faults stop the image is repairable', async () => {
    const dir = tmpDir('eio');
    try {
      const base = join(dir, 'base');
      mkfs(base, '8M', { bs: 1024 });
      const image = new Uint8Array(readFileSync(base));
      let eio = 0;
      await forEachSeed('ext2 eio', 6, async (seed) => {
        const sim = new SimHost({ seed });
        sim.addDisk('d0', image);
        const seen = new Set<string>();
        await sim.run(async () => {
          const k = await boot({ host: sim, components: [vfsComponent, tmpfsComponent, blkComponent, ext2Component] });
          await k.sys.mkdir('/mnt', 0o755);
          await k.sys.mount('d0', '/mnt', 'ext2', 0, '');
          await k.sys.mkdir('/mnt/d', 0o755);
          // A small cache so reads and write-back keep reaching the disk.
          k.kernel.sysctl.write('vfs.bufcache.max_bytes', 65536, k.kernel.proc0.cred);
          for (const site of ['blk.read', 'blk.write', 'blk.flush']) sim.faults.set(site, { probability: 0.05 });
          for (let i = 0; i < 40; i++) {
            const p = `/mnt/d/f${i % 7}`;
            const r = await errnoOf((async () => {
              const fd = await k.sys.open(p, O_CREAT | O_RDWR, 0o644);
              try {
                await k.sys.pwrite(fd, new Uint8Array(3000 + i * 500).fill(i), (i % 5) * 20_000);
                const back = new Uint8Array(2000);
                await k.sys.pread(fd, back, 0);
                if (i % 4 === 0) await k.sys.fsync(fd);
              } finally {
                await k.sys.close(fd);
              }
              if (i % 6 === 0) await k.sys.unlink(p);
            })());
            seen.add(r);
          }
          for (const site of ['blk.read', 'blk.write', 'blk.flush']) sim.faults.set(site, null);
          // The kernel keeps going and unmounts; what failed may be lost, nothing else breaks.
          expect(await errnoOf(k.sys.umount2('/mnt', 0))).toBe('ok');
          await k.shutdown();
        }, { limitNs: 3_600_000_000_000n });
        for (const code of seen) expect(['ok', 'EIO', 'ENOENT', 'EUCLEAN']).toContain(code);
        if (seen.has('EIO')) eio++;
        const img = join(dir, `img-${seed}`);
        writeFileSync(img, sim.diskImage('d0'));
        expect(fsck(img, '-y').status).toBeLessThanOrEqual(1);
        expect(fsck(img, '-n').status).toBe(0);
        rmTree(img);
      });
      // The faults did reach the callers (a run that never fails tests nothing).
      expect(eio).toBeGreaterThan(0);
    } finally {
      rmTree(dir);
    }
  });
});
