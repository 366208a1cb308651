/**
 * md: the memory disk (NetBSD md(4), Linux brd's /dev/ramN), block major 1.
 * A unit is a Uint8Array the kernel owns: reads and writes are copies, a
 * flush has nothing to do. Used for tests and for throw-away file systems;
 * `mdAttach(k, bytes)` wraps an existing image (copied, so the caller's
 * array is never written).
 *
 * @guardedBy the single virtual CPU (each transfer runs without awaiting).
 */
import type { Kernel } from '../../kern/kernel.ts';
import { type BlockDevice, disks, newBlkStats } from '../../kern/blkdev.ts';
import { makedev } from '../../kern/devsw.ts';
import { checkRange } from './blk_io.ts';

/** Linux RAMDISK_MAJOR. */
export const MD_MAJOR = 1;
export const MD_SECTOR = 512;

class MemDisk implements BlockDevice {
  readonly name: string;
  readonly rdev: number;
  readonly sectorSize = MD_SECTOR;
  readonly readOnly: boolean;
  readonly stats = newBlkStats();
  readonly bytes: Uint8Array;

  constructor(unit: number, bytes: Uint8Array, readOnly: boolean) {
    this.name = `ram${unit}`;
    this.rdev = makedev(MD_MAJOR, unit);
    this.bytes = bytes;
    this.readOnly = readOnly;
  }

  get size(): number {
    return this.bytes.byteLength;
  }

  async read(offset: number, buf: Uint8Array): Promise<void> {
    checkRange(this, offset, buf.byteLength, false);
    buf.set(this.bytes.subarray(offset, offset + buf.byteLength));
    this.stats.reads++;
    this.stats.readBytes += buf.byteLength;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    checkRange(this, offset, data.byteLength, true);
    this.bytes.set(data, offset);
    this.stats.writes++;
    this.stats.writeBytes += data.byteLength;
  }

  async flush(): Promise<void> {
    this.stats.flushes++;
  }
}

/**
 * Attach a memory disk: `size` zero bytes, or a copy of an image (its length
 * rounded up to whole sectors). Returns the unit, registered in `disks(k)`.
 */
export function mdAttach(k: Kernel, sizeOrImage: number | Uint8Array, opts: { readOnly?: boolean } = {}): BlockDevice & { readonly bytes: Uint8Array } {
  const reg = disks(k);
  let unit = 0;
  while (reg.get(makedev(MD_MAJOR, unit)) !== undefined) unit++;
  const len = typeof sizeOrImage === 'number' ? sizeOrImage : sizeOrImage.byteLength;
  if (!Number.isSafeInteger(len) || len < 0) throw new RangeError(`md: bad size ${len}`);
  const bytes = new Uint8Array(Math.ceil(len / MD_SECTOR) * MD_SECTOR);
  if (typeof sizeOrImage !== 'number') bytes.set(sizeOrImage);
  const d = new MemDisk(unit, bytes, opts.readOnly ?? false);
  reg.add(d);
  return d;
}
