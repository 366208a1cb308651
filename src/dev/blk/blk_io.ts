/**
 * What every block driver checks before a transfer, and the File a block
 * special file opens to: raw reads and writes of the unit at any byte offset
 * (whole sectors are transferred underneath), lseek, fsync as a cache flush,
 * fstat from the node (Linux def_blk_fops without the page cache).
 */
import type { Lwp } from '../../kern/sched.ts';
import { File, type FileOps } from '../../kern/file.ts';
import { EINVAL, EIO, ENOSPC, ENXIO, EROFS, err } from '../../kern/errno.ts';
import { POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, SEEK_CUR, SEEK_END, SEEK_SET } from '../../kern/constants.ts';
import type { BlockDevice } from '../../kern/blkdev.ts';
import { disks } from '../../kern/blkdev.ts';
import type { DevDriver, DevOpenContext } from '../../kern/devsw.ts';

/** Throw unless [offset, offset+len) is whole sectors inside the unit (and the unit is writable for a write). */
export function checkRange(d: BlockDevice, offset: number, len: number, write: boolean): void {
  if (write && d.readOnly) throw err(EROFS);
  if (!Number.isSafeInteger(offset) || offset % d.sectorSize !== 0 || len % d.sectorSize !== 0) throw err(EINVAL);
  if (offset < 0 || offset + len > d.size) {
    d.stats.errors++;
    throw err(EIO);
  }
}

interface BlkFile {
  readonly dev: BlockDevice;
  readonly ctx: DevOpenContext;
}

/** Read-modify-write through sector-aligned bounce buffers. */
async function rawIo(d: BlockDevice, buf: Uint8Array, off: number, write: boolean): Promise<number> {
  if (off >= d.size) return 0;
  const n = Math.min(buf.byteLength, d.size - off);
  const ss = d.sectorSize;
  const start = Math.floor(off / ss) * ss;
  const end = Math.ceil((off + n) / ss) * ss;
  const CHUNK = 1 << 20;
  for (let pos = start; pos < end; pos += CHUNK) {
    const len = Math.min(CHUNK, end - pos);
    const bounce = new Uint8Array(len);
    const lo = Math.max(off, pos), hi = Math.min(off + n, pos + len);
    if (write) {
      if (lo !== pos || hi !== pos + len) await d.read(pos, bounce);
      bounce.set(buf.subarray(lo - off, hi - off), lo - pos);
      await d.write(pos, bounce);
    } else {
      await d.read(pos, bounce);
      buf.set(bounce.subarray(lo - pos, hi - pos), lo - off);
    }
  }
  return n;
}

const blkFileOps: FileOps<BlkFile> = {
  type: 'device',
  async read(fp, _td, buf, offset) {
    const off = offset ?? fp.offset;
    const n = await rawIo(fp.data.dev, buf, off, false);
    if (offset === null) fp.offset += n;
    return n;
  },
  async write(fp, _td, buf, offset) {
    const d = fp.data.dev;
    if (d.readOnly) throw err(EROFS);
    const off = offset ?? fp.offset;
    // A write past the end of a block device answers ENOSPC on Linux; at the end exactly, too.
    const n = await rawIo(d, buf, off, true);
    if (n === 0 && buf.byteLength > 0) throw err(ENOSPC);
    if (offset === null) fp.offset += n;
    return n;
  },
  lseek(fp, _td, offset, whence) {
    const base = whence === SEEK_SET ? 0 : whence === SEEK_CUR ? fp.offset : whence === SEEK_END ? fp.data.dev.size : NaN;
    const pos = base + offset;
    if (!Number.isSafeInteger(pos) || pos < 0) throw err(EINVAL);
    fp.offset = pos;
    return pos;
  },
  poll: (_fp, _td: Lwp, events) => events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM),
  pollQueues: () => [],
  stat: (fp) => ({ ...fp.data.ctx.stat(), size: fp.data.dev.size }),
  fsync: (fp) => fp.data.dev.flush(),
  close: () => {},
};

/** The devsw entry of a block major: opens whichever unit of that major is attached. */
export function blkDriver(name: string): DevDriver {
  return {
    name,
    open(td, ctx) {
      const dev = disks(td.k).get(ctx.rdev);
      if (dev === undefined) throw err(ENXIO);
      return new File(blkFileOps, { dev, ctx }, ctx.flags);
    },
  };
}
