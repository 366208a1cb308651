/**
 * Block devices: the memory disk and the host disk (over the sim host's
 * disk) through the disk registry and a /dev node — whole-sector transfers,
 * range checks, raw byte reads and writes through the device file, I/O
 * statistics in sysctl, read-only units.
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '../../kern/kernel.ts';
import { SimHost } from '../../hyper/sim/host.ts';
import { disks } from '../../kern/blkdev.ts';
import { KernelError } from '../../kern/errno.ts';
import { mdAttach } from './md.ts';
import { blkComponent } from './blk_component.ts';
import { hostDiskAttach } from './hostdisk.ts';

describe('block devices', () => {
  it('md: whole sectors in range; errors are errnos', async () => {
    const k = new Kernel(new SimHost({ seed: 1 }));
    const d = mdAttach(k, 5000);
    expect(d.size).toBe(5120);
    expect(d.name).toBe('ram0');
    expect(disks(k).get(d.rdev)).toBe(d);
    await d.write(512, new Uint8Array(512).fill(7));
    const back = new Uint8Array(1024);
    await d.read(0, back);
    expect(back[511]).toBe(0);
    expect(back[512]).toBe(7);
    await expect(d.read(5120, new Uint8Array(512))).rejects.toMatchObject({ code: 'EIO' });
    await expect(d.read(100, new Uint8Array(512))).rejects.toMatchObject({ code: 'EINVAL' });
    expect(d.stats).toMatchObject({ reads: 1, writes: 1, errors: 1 });
    const ro = mdAttach(k, new Uint8Array(1024), { readOnly: true });
    expect(ro.name).toBe('ram1');
    await expect(ro.write(0, new Uint8Array(512))).rejects.toBeInstanceOf(KernelError);
  });

  it('host disk over the sim host: transfers, flush, statistics in sysctl', async () => {
    const sim = new SimHost({ seed: 2 });
    sim.addDisk('d0', 8192);
    await sim.run(async () => {
      const k = new Kernel(sim);
      await blkComponent.init(k);
      const d = await disks(k).attacher!('d0', false);
      expect(d.name).toBe('loop0');
      await d.write(1024, new Uint8Array(512).fill(9));
      await d.flush();
      expect(sim.diskImage('d0')[1024]).toBe(9);
      expect(k.sysctl.read('hw.disk.loop0.writes')).toBe(1);
      expect(k.sysctl.read('hw.disk.loop0.flushes')).toBe(1);
      await expect(hostDiskAttach(k, 'nope', false)).rejects.toMatchObject({ code: 'ENXIO' });
      await disks(k).detacher!(d);
      expect(disks(k).get(d.rdev)).toBeUndefined();
    });
  });
});
