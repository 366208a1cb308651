/**
 * The host disk, block major 7 (/dev/loopN, like Linux's loop driver: a
 * host file seen as a disk): every transfer is a block hypercall (blkRead,
 * blkWrite, blkFlush). On the node host the name is a file path; on the sim
 * host it names one of the host's in-memory disks (with fault sites and
 * crash()). A host errno becomes the kernel's errno unchanged (EIO mostly).
 *
 * Attach with `hostDiskAttach(k, name, readOnly)`, or through the attacher
 * the blk component installs in `disks(k)` (what an image mount uses);
 * `hostDiskDetach` closes the handle.
 *
 * @guardedBy the single virtual CPU for the registry; transfers on one unit
 * may overlap (the buffer cache never issues two for one block at once).
 */
import type { Kernel } from '../../kern/kernel.ts';
import { type BlockDevice, disks, newBlkStats } from '../../kern/blkdev.ts';
import { makedev } from '../../kern/devsw.ts';
import { EIO, ENXIO, err } from '../../kern/errno.ts';
import { checkRange } from './blk_io.ts';

/** Linux LOOP_MAJOR. */
export const HOSTDISK_MAJOR = 7;

/** Host errnos come back negative (types.ts HostErrno); 0 is success. */
function hostErr(r: number): never {
  throw err(r < 0 ? -r : EIO);
}

class HostDisk implements BlockDevice {
  readonly name: string;
  readonly rdev: number;
  readonly size: number;
  readonly sectorSize: number;
  readonly readOnly: boolean;
  readonly stats = newBlkStats();
  readonly hostName: string;
  private readonly k: Kernel;
  handle: number;

  constructor(k: Kernel, unit: number, hostName: string, handle: number, size: number, sectorSize: number, readOnly: boolean) {
    this.k = k;
    this.name = `loop${unit}`;
    this.rdev = makedev(HOSTDISK_MAJOR, unit);
    this.hostName = hostName;
    this.handle = handle;
    // A trailing partial sector is not addressable.
    this.size = size - (size % sectorSize);
    this.sectorSize = sectorSize;
    this.readOnly = readOnly;
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    checkRange(this, offset, buf.byteLength, false);
    const r = await this.k.hyper.blkRead(this.handle, offset, buf);
    if (r !== 0) { this.stats.errors++; hostErr(r); }
    this.stats.reads++;
    this.stats.readBytes += buf.byteLength;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this, offset, data.byteLength, true);
    const r = await this.k.hyper.blkWrite(this.handle, offset, data);
    if (r !== 0) { this.stats.errors++; hostErr(r); }
    this.stats.writes++;
    this.stats.writeBytes += data.byteLength;
  }

  async flush(): Promise<void> {
    const r = await this.k.hyper.blkFlush(this.handle);
    if (r !== 0) { this.stats.errors++; hostErr(r); }
    this.stats.flushes++;
  }
}

/** Open a host image as a new loop unit. */
export async function hostDiskAttach(k: Kernel, hostName: string, readOnly: boolean): Promise<BlockDevice> {
  const o = await k.hyper.blkOpen(hostName, { readOnly });
  if (typeof o === 'number') throw err(o < 0 ? -o : ENXIO);
  const reg = disks(k);
  let unit = 0;
  while (reg.get(makedev(HOSTDISK_MAJOR, unit)) !== undefined) unit++;
  const d = new HostDisk(k, unit, hostName, o.handle, o.info.size, o.info.sectorSize, readOnly || o.info.readOnly);
  reg.add(d);
  k.log('info', `${d.name}: attached ${hostName} (${d.size} bytes${d.readOnly ? ', read-only' : ''})`);
  return d;
}

/** Close a loop unit made by hostDiskAttach. */
export async function hostDiskDetach(k: Kernel, dev: BlockDevice): Promise<void> {
  if (!(dev instanceof HostDisk)) return;
  disks(k).remove(dev);
  await k.hyper.blkClose(dev.handle);
}
