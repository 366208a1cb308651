/**
 * The device switch (BSD cdevsw/bdevsw, Linux chrdev/blkdev regions): maps a
 * device number to the driver that opens it, so the VFS can open a device
 * node without importing src/dev. Drivers register themselves here; the VFS
 * asks `devsw(k).lookup('chr', rdev)` when a character or block special file
 * is opened, and answers ENXIO when nobody registered that major (open(2)
 * ENXIO: "the file is a device special file and no corresponding device
 * exists").
 *
 * Device numbers use Linux's encoding (makedev(3), include/linux/kdev_t.h
 * new_encode_dev): 12-bit major, 20-bit minor, as one integer.
 *
 * @guardedBy the single virtual CPU.
 */
import type { Kernel } from './kernel.ts';
import type { File, Stat } from './file.ts';
import type { Lwp } from './sched.ts';

/** What a driver gets when its device node is opened. */
export interface DevOpenContext {
  /** The device number opened (major and minor). */
  readonly rdev: number;
  /** open(2) flags (access mode, O_NONBLOCK, O_NOCTTY ...). */
  readonly flags: number;
  /** The device node's attributes; a driver's fstat should answer these. */
  stat(): Stat;
}

/** A character or block device driver's open entry point. */
export interface DevDriver {
  readonly name: string;
  /** Open minor(ctx.rdev); returns a new File (one reference) or throws an errno. */
  open(td: Lwp, ctx: DevOpenContext): File | Promise<File>;
}

export type DevKind = 'chr' | 'blk';

/**
 * A device node a driver asks devfs to show (Linux device_create → the
 * devtmpfs node): name under /dev, kind, number and permission bits.
 */
export interface DevNode {
  readonly name: string;
  readonly kind: DevKind;
  readonly rdev: number;
  /** Permission bits only (0o666 for /dev/null). */
  readonly perm: number;
  readonly uid?: number;
  readonly gid?: number;
}

export class DevSwitch {
  private readonly chr = new Map<number, DevDriver>();
  private readonly blk = new Map<number, DevDriver>();

  /** Claim a major number; throws if taken. */
  register(kind: DevKind, major: number, drv: DevDriver): void {
    const t = kind === 'chr' ? this.chr : this.blk;
    if (t.has(major)) throw new Error(`${kind} major ${major} already belongs to ${t.get(major)!.name}`);
    t.set(major, drv);
  }

  unregister(kind: DevKind, major: number): void {
    (kind === 'chr' ? this.chr : this.blk).delete(major);
  }

  lookup(kind: DevKind, rdev: number): DevDriver | undefined {
    return (kind === 'chr' ? this.chr : this.blk).get(major(rdev));
  }

  private readonly nodeList: DevNode[] = [];

  /** Announce a device node for devfs (names are unique; throws if taken). */
  addNode(node: DevNode): void {
    if (this.nodeList.some((n) => n.name === node.name)) throw new Error(`device node ${node.name} announced twice`);
    this.nodeList.push(node);
  }

  /** Announced device nodes, in announcement order. */
  nodes(): readonly DevNode[] {
    return this.nodeList;
  }
}

/** This kernel's device switch, created on first use. */
export function devsw(k: Kernel): DevSwitch {
  let d = k.lookup<DevSwitch>('devsw');
  if (d === undefined) {
    d = new DevSwitch();
    k.provide('devsw', d);
  }
  return d;
}

/** makedev(3), Linux encoding. */
export function makedev(maj: number, min: number): number {
  return (min & 0xff) + (maj & 0xfff) * 0x100 + Math.floor(min / 0x100) * 0x100000 + Math.floor(maj / 0x1000) * 0x100000000;
}

export function major(dev: number): number {
  return ((Math.floor(dev / 0x100) & 0xfff) + (Math.floor(dev / 0x100000000) & 0xfffff000)) >>> 0;
}

export function minor(dev: number): number {
  return ((dev & 0xff) + (Math.floor(dev / 0x1000) & 0xffffff00)) >>> 0;
}
