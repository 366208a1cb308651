/**
 * Block devices as the rest of the kernel sees them (NetBSD's struct bdevsw
 * strategy entry, Linux's struct block_device): a fixed-size array of
 * sectors that can be read, written and flushed. Drivers (src/dev/blk: the
 * memory disk and the host disk) register each attached unit here by device
 * number; a file system (src/vfs/ext2) finds the unit behind a block special
 * file through `disks(k).get(rdev)` without importing src/dev, and attaches
 * an image named on the host through the attacher the driver installs (the
 * `mount -o loop` shortcut).
 *
 * Errors: read/write/flush throw a KernelError (EIO for a failed or
 * out-of-range transfer, EROFS for a write to a read-only unit, EINVAL for a
 * misaligned one). Transfers are whole sectors.
 *
 * @guardedBy the single virtual CPU (the registry changes without awaiting).
 */
import type { Kernel } from './kernel.ts';

/** I/O statistics of one unit (Linux /sys/block/X/stat, in operations and bytes). */
export interface BlkStats {
  reads: number;
  readBytes: number;
  writes: number;
  writeBytes: number;
  flushes: number;
  errors: number;
}

export function newBlkStats(): BlkStats {
  return { reads: 0, readBytes: 0, writes: 0, writeBytes: 0, flushes: 0, errors: 0 };
}

/** One attached unit. */
export interface BlockDevice {
  /** Name under /dev (ram0, loop0). */
  readonly name: string;
  /** Device number (makedev(major, minor)). */
  readonly rdev: number;
  /** Size in bytes (a multiple of sectorSize). */
  readonly size: number;
  readonly sectorSize: number;
  readonly readOnly: boolean;
  readonly stats: BlkStats;
  /** Fill buf from byte `offset`. */
  read(offset: number, buf: Uint8Array): Promise<void>;
  /** Write data at byte `offset`; complete, not necessarily durable. */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Make completed writes durable (a cache flush). */
  flush(): Promise<void>;
}

/** Attach a host image (a path on the node host, a disk name on the sim host) as a new unit. */
export type DiskAttacher = (hostName: string, readOnly: boolean) => Promise<BlockDevice>;

/** The registry of attached units of one kernel. */
export class DiskRegistry {
  private readonly units = new Map<number, BlockDevice>();
  /** Installed by the host-disk driver; null without one (ENODEV for an image mount). */
  attacher: DiskAttacher | null = null;
  /** Detaches a unit the attacher made (closes the host handle). */
  detacher: ((dev: BlockDevice) => Promise<void>) | null = null;

  add(dev: BlockDevice): void {
    if (this.units.has(dev.rdev)) throw new Error(`block device ${dev.rdev} attached twice`);
    this.units.set(dev.rdev, dev);
  }

  remove(dev: BlockDevice): void {
    if (this.units.get(dev.rdev) === dev) this.units.delete(dev.rdev);
  }

  get(rdev: number): BlockDevice | undefined {
    return this.units.get(rdev);
  }

  list(): BlockDevice[] {
    return [...this.units.values()];
  }
}

/** This kernel's disk registry, created on first use. */
export function disks(k: Kernel): DiskRegistry {
  let d = k.lookup<DiskRegistry>('disks');
  if (d === undefined) {
    d = new DiskRegistry();
    k.provide('disks', d);
  }
  return d;
}
