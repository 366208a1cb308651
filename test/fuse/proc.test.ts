/**
 * /proc and df through FUSE: the kernel served by `anykernel mount` shows its
 * procfs (mounted at /proc inside the served tree) to host programs — files
 * whose st_size is 0 are opened with FOPEN_DIRECT_IO, so `cat` reads their
 * content instead of stopping at the size — and `df` reports the tmpfs root's
 * real limits (Linux's default: half the host's memory), not zeros.
 * Needs root and /dev/fuse (skipped otherwise; a failure under CI=true).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { requireFuse, sh, startMount, type Mounted } from './mount.ts';

const enabled = requireFuse('FUSE /proc and df tests');

describe.runIf(enabled)('FUSE mount of the kernel: /proc and df', () => {
  let m: Mounted;
  beforeAll(async () => {
    m = await startMount({ options: ['allow_other', 'default_permissions'] });
  }, 90_000);
  afterAll(async () => {
    if (m === undefined) return;
    expect(await m.stop(), m.output()).toBe(0);
  }, 60_000);

  it('cat MNT/proc/mounts shows the kernel\'s mount table though stat says size 0', async () => {
    expect(fs.statSync(`${m.dir}/proc/mounts`).size).toBe(0);
    const mounts = await sh(`cat ${m.dir}/proc/mounts`);
    const lines = mounts.trim().split('\n').map((l) => l.split(' '));
    // `source target fstype opts 0 0`: the tmpfs root, devfs and procfs at least.
    expect(lines.find((f) => f[1] === '/')?.[2]).toBe('tmpfs');
    expect(lines.find((f) => f[1] === '/proc')?.[2]).toBe('proc');
    expect(lines.every((f) => f.length === 6)).toBe(true);
    // Other pseudo-files read the same way, from any offset the host asks.
    expect(await sh(`cat ${m.dir}/proc/uptime`)).toMatch(/^\d+\.\d\d \d+\.\d\d\n$/);
    expect(await sh(`tail -c 4 ${m.dir}/proc/mounts`)).toBe(mounts.slice(-4));
  });

  it('df -P MNT shows the tmpfs root\'s real size, used and available blocks', async () => {
    const out = await sh(`df -P ${m.dir}`);
    const [size, used, avail] = out.trim().split('\n')[1]!.split(/\s+/).slice(1, 4).map(Number);
    // 1024-byte blocks: half the host's memory, as a Linux tmpfs without size= has.
    expect(size).toBe(Math.floor(os.totalmem() / 4096 / 2) * 4);
    expect(used! + avail!).toBe(size);
    const inodes = (await sh(`df -Pi ${m.dir}`)).trim().split('\n')[1]!.split(/\s+/).map(Number);
    expect(inodes[1]).toBe(Math.floor(os.totalmem() / 4096 / 2));
    expect(inodes[2]).toBeGreaterThan(0);
  });
});
