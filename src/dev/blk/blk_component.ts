/**
 * The `blk` component (Phase.DEV): claims block majors 1 (md, /dev/ramN) and
 * 7 (host disks, /dev/loopN) in the device switch, installs the host-disk
 * attacher an image mount uses, attaches the host images named by the host
 * parameter `blk.disks` (comma-separated; each becomes /dev/loopN in order),
 * and publishes per-unit I/O statistics as sysctl `hw.disk.NAME.{reads,
 * read_bytes,writes,write_bytes,flushes,errors}`.
 */
import { Phase, type Component } from '../../kern/component.ts';
import type { Kernel } from '../../kern/kernel.ts';
import { devsw } from '../../kern/devsw.ts';
import { type BlkStats, type BlockDevice, disks } from '../../kern/blkdev.ts';
import { blkDriver } from './blk_io.ts';
import { MD_MAJOR } from './md.ts';
import { HOSTDISK_MAJOR, hostDiskAttach, hostDiskDetach } from './hostdisk.ts';

/** Register sysctl nodes for a unit's statistics (once per name). */
export function publishDiskStats(k: Kernel, d: BlockDevice): void {
  const fields: [string, keyof BlkStats][] = [
    ['reads', 'reads'], ['read_bytes', 'readBytes'], ['writes', 'writes'],
    ['write_bytes', 'writeBytes'], ['flushes', 'flushes'], ['errors', 'errors'],
  ];
  for (const [f, key] of fields) {
    const name = `hw.disk.${d.name}.${f}`;
    // Registered once per unit name; reads whichever unit holds the name now (0 when none).
    if (!k.sysctl.has(name)) {
      k.sysctl.register({ name, description: `${d.name}: ${f.replace('_', ' ')}`, get: () => disks(k).list().find((x) => x.name === d.name)?.stats[key] ?? 0 });
    }
  }
}

export const blkComponent: Component = {
  name: 'blk',
  phase: Phase.DEV,
  async init(k: Kernel) {
    const sw = devsw(k);
    sw.register('blk', MD_MAJOR, blkDriver('md'));
    sw.register('blk', HOSTDISK_MAJOR, blkDriver('loop'));
    const reg = disks(k);
    reg.attacher = async (name, ro) => {
      const d = await hostDiskAttach(k, name, ro);
      publishDiskStats(k, d);
      return d;
    };
    reg.detacher = (d) => hostDiskDetach(k, d);
    const boot = k.hyper.getParam('blk.disks');
    if (boot !== undefined && boot !== '') {
      for (const name of boot.split(',')) {
        const d = await reg.attacher(name, false);
        sw.addNode({ name: d.name, kind: 'blk', rdev: d.rdev, perm: 0o660, gid: 6 });
      }
    }
  },
  async shutdown(k: Kernel) {
    for (const d of disks(k).list()) await hostDiskDetach(k, d);
  },
};
