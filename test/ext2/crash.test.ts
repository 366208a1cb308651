/**
 * ext2 crash consistency on the sim host: a seeded random workload (writes
 * at random offsets, truncates, fsyncs, and create/unlink/rename/mkdir/rmdir
 * noise, some on files left open after unlink) runs on a simulated disk
 * whose write cache a power cut loses (`sim.crash()` keeping none, an
 * in-order prefix, or a random subset of the unflushed writes). Afterwards:
 *
 *   1. a fresh kernel mounts the crashed disk and every file fsynced and not
 *      touched since has exactly its fsynced content;
 *   2. `e2fsck -fy` repairs the image to clean (a second `e2fsck -fn` exits
 *      0) and the fsynced files still have their content (debugfs).
 *
 * Seeds: ANYKERNEL_SEEDS=N for more, ANYKERNEL_SEED=S to replay one.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { boot, type BootedKernel } from '../../src/frontends/library/boot.ts';
import { SimHost } from '../../src/hyper/sim/host.ts';
import { forEachSeed } from '../../src/hyper/sim/harness.ts';
import { O_CREAT, O_RDONLY, O_RDWR } from '../../src/kern/constants.ts';
import { vfsComponent } from '../../src/vfs/vfs_component.ts';
import { tmpfsComponent } from '../../src/vfs/tmpfs.ts';
import { blkComponent } from '../../src/dev/blk/blk_component.ts';
import { ext2Component } from '../../src/vfs/ext2/ext2.ts';
import { fsck, haveE2fsprogs, mkfs, rmTree, tmpDir } from './kit.ts';

const ok = haveE2fsprogs();
// Component objects, not names: a name's loader imports dynamically, a host promise the
// simulation cannot see settle.
const COMPONENTS = [vfsComponent, tmpfsComponent, blkComponent, ext2Component];

/** A small seeded generator (the workload's choices; the sim host has its own streams). */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

async function readFile(k: BootedKernel, path: string): Promise<Uint8Array> {
  const st = await k.sys.stat(path);
  const buf = new Uint8Array(st.size);
  const fd = await k.sys.open(path, O_RDONLY);
  let done = 0;
  while (done < st.size) {
    const n = await k.sys.pread(fd, buf.subarray(done), done);
    if (n === 0) break;
    done += n;
  }
  await k.sys.close(fd);
  return buf;
}

async function onSim<T>(seed: number, image: Uint8Array, fn: (k: BootedKernel, sim: SimHost) => Promise<T>): Promise<{ value: T; sim: SimHost }> {
  const sim = new SimHost({ seed, blkLatencyNs: 50_000 });
  sim.addDisk('d0', image);
  const value = await sim.run(async () => fn(await boot({ host: sim, components: COMPONENTS }), sim), { limitNs: 3_600_000_000_000n });
  return { value, sim };
}

describe.skipIf(!ok)('ext2 crash consistency', () => {
  it('fsynced files survive a crash at a random point; e2fsck -fy repairs the rest', async () => {
    const dir = tmpDir('crash');
    try {
      const base = join(dir, 'base');
      mkfs(base, '8M', { bs: 1024 });
      const baseImage = new Uint8Array(readFileSync(base));
      await forEachSeed('ext2 crash', 10, async (seed) => {
        const r = rng(seed);
        const files = ['f0', 'f1', 'f2', 'd/f3', 'd/f4'];
        const current = new Map<string, Uint8Array>();
        const durable = new Map<string, Uint8Array>();
        const modes = ['none', 'prefix', 'subset'] as const;
        const keep = modes[r(3)]!;
        const { sim } = await onSim(seed, baseImage, async (k, sim) => {
          await k.sys.mkdir('/mnt', 0o755);
          await k.sys.mount('d0', '/mnt', 'ext2', 0, '');
          await k.sys.mkdir('/mnt/d', 0o755);
          await k.sys.mkdir('/mnt/noise', 0o755);
          const open = new Map<string, number>();
          for (const f of files) {
            open.set(f, await k.sys.open(`/mnt/${f}`, O_CREAT | O_RDWR, 0o644));
            current.set(f, new Uint8Array(0));
          }
          const held: number[] = [];
          const steps = 10 + r(50);
          for (let i = 0; i < steps; i++) {
            const f = files[r(files.length)]!;
            const fd = open.get(f)!;
            switch (r(8)) {
              case 0: case 1: case 2: {
                const off = r(3) === 0 ? r(300_000) : r(20_000);
                const data = new Uint8Array(1 + r(30_000)).fill(1 + r(255));
                await k.sys.pwrite(fd, data, off);
                const cur = current.get(f)!;
                const next = new Uint8Array(Math.max(cur.byteLength, off + data.byteLength));
                next.set(cur);
                next.set(data, off);
                current.set(f, next);
                durable.delete(f);
                break;
              }
              case 3: {
                const size = r(50_000);
                await k.sys.ftruncate(fd, size);
                const next = new Uint8Array(size);
                next.set(current.get(f)!.subarray(0, size));
                current.set(f, next);
                durable.delete(f);
                break;
              }
              case 4: case 5:
                await k.sys.fsync(fd);
                durable.set(f, current.get(f)!.slice());
                break;
              case 6: {
                const n = `/mnt/noise/n${r(6)}`;
                const op = r(4);
                await (op === 0 ? k.sys.mkdir(`${n}dir`, 0o755) : op === 1 ? k.sys.rmdir(`${n}dir`) : op === 2 ? k.sys.rename(n, `${n}x`) : k.sys.unlink(n)).catch(() => {});
                const w = await k.sys.open(n, O_CREAT | O_RDWR, 0o600);
                await k.sys.pwrite(w, new Uint8Array(r(5000)).fill(3), 0);
                await k.sys.close(w);
                break;
              }
              case 7: {
                // An open file unlinked: on the orphan list until closed (or until the crash).
                const n = `/mnt/noise/o${i}`;
                const w = await k.sys.open(n, O_CREAT | O_RDWR, 0o600);
                await k.sys.pwrite(w, new Uint8Array(2000 + r(20_000)).fill(5), 0);
                await k.sys.unlink(n);
                if (r(2) === 0) await k.sys.close(w);
                else held.push(w);
                break;
              }
            }
          }
          sim.crash({ keep });
          return null;
        });
        const crashed = sim.diskImage('d0');
        // 1. A fresh kernel mounts the crashed disk: fsynced files have their content.
        const after = await onSim(seed + 1, crashed, async (k) => {
          await k.sys.mkdir('/mnt', 0o755);
          await k.sys.mount('d0', '/mnt', 'ext2', 0, '');
          for (const [f, want] of durable) expect({ seed, f, same: Buffer.from(await readFile(k, `/mnt/${f}`)).equals(want) }).toEqual({ seed, f, same: true });
          await k.sys.umount2('/mnt', 0);
          return null;
        });
        // 2. e2fsck -fy brings it to clean without losing fsynced data.
        const img = join(dir, `img-${seed}`);
        writeFileSync(img, after.sim.diskImage('d0'));
        const y = fsck(img, '-y');
        expect({ seed, status: y.status }).toEqual({ seed, status: y.status <= 1 ? y.status : 0 });
        const n = fsck(img, '-n');
        expect({ seed, status: n.status, out: n.status === 0 ? '' : n.out }).toEqual({ seed, status: 0, out: '' });
        for (const [f, want] of durable) {
          const got = execFileSync('debugfs', ['-R', `cat /${f}`, img], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
          expect({ seed, f, same: Buffer.from(got).equals(want) }).toEqual({ seed, f, same: true });
        }
        rmTree(img);
      });
    } finally {
      rmTree(dir);
    }
  });
});
