/**
 * Regular-file data of ext2: read, write and resize through the block map
 * and the buffer cache (Linux fs/ext2/inode.c, without a page cache: whole
 * blocks go through buffers). Holes read as zeros; writes allocate the
 * blocks they touch (a fresh block is zeroed where the write does not cover
 * it); shrinking frees blocks past the new end and zeroes the rest of the
 * last block, so a later extension reads zeros there (POSIX ftruncate).
 *
 * Read-ahead: a read that continues where the last one ended, or that spans
 * several blocks, asks the buffer cache to bring in the following physical
 * blocks in the same transfer (up to 128 KiB ahead, more for large reads);
 * for a file written sequentially those are its next logical blocks.
 */
import type { Lwp } from '../../kern/sched.ts';
import { EFBIG, ENOSPC, EOPNOTSUPP, err } from '../../kern/errno.ts';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from '../../kern/constants.ts';
import { type Vnode, vfsNow } from '../vnode.ts';
import { type Ext2Fs, en } from './fs.ts';
import { bmap, bmapAlloc, bmapAllocRun, bmapRun, bunmap, truncateBlocks } from './bmap.ts';

const RA_BYTES = 128 * 1024;

export async function fileRead(fs: Ext2Fs, td: Lwp, vp: Vnode, buf: Uint8Array, off: number): Promise<number> {
  if (off >= vp.size) return 0;
  const n = Math.min(buf.byteLength, vp.size - off);
  const bs = fs.bs;
  const node = en(vp);
  const firstL = Math.floor(off / bs);
  const lastL = Math.floor((off + n - 1) / bs);
  const seq = firstL === node.nextRead || firstL === node.nextRead - 1;
  node.seqRun = seq ? node.seqRun + 1 : 0;
  const fileBlocks = Math.ceil(vp.size / bs);
  let done = 0;
  for (let l = firstL; l <= lastL; ) {
    const run = await bmapRun(fs, td, vp, l, lastL - l + 1);
    for (const b of run) {
      const bo = l === firstL ? off % bs : 0;
      const len = Math.min(bs - bo, n - done);
      const cached = b === 0 ? null : fs.bc.peek(fs.dev, b, bs);
      if (b === 0) buf.fill(0, done, done + len);
      else if (cached !== null) buf.set(cached.subarray(bo, bo + len), done);
      else {
        const want = lastL - l + (node.seqRun > 0 ? Math.floor(RA_BYTES / bs) : 0);
        const ahead = Math.min(want, fileBlocks - l - 1, 255);
        const bp = await fs.bread(td, b, ahead);
        buf.set(bp.data.subarray(bo, bo + len), done);
        fs.bc.brelse(td, bp);
      }
      done += len;
      l++;
    }
  }
  node.nextRead = lastL + 1;
  return n;
}

export async function fileWrite(fs: Ext2Fs, td: Lwp, vp: Vnode, buf: Uint8Array, off: number): Promise<number> {
  let n = buf.byteLength;
  if (n === 0) return 0;
  // write(2) EFBIG: past the largest file size; a write that partly fits is shortened.
  if (off >= fs.maxBytes) throw err(EFBIG);
  if (off + n > fs.maxBytes) n = fs.maxBytes - off;
  const bs = fs.bs;
  let done = 0;
  let goal = 0;
  let failure: unknown = null;
  try {
    while (done < n) {
      const pos = off + done;
      const l = Math.floor(pos / bs);
      const bo = pos % bs;
      const len = Math.min(bs - bo, n - done);
      if (goal === 0 && l > 0) goal = (await bmap(fs, td, vp, l - 1)) + 1;
      if (goal <= 1) goal = fs.groups[Math.floor((en(vp).ino - 1) / fs.sb.inodesPerGroup)]!.inodeTable;
      if (bo === 0 && n - done >= bs) {
        // Whole blocks: map (and allocate) a run at once; new blocks need no read and no lock.
        const run = await bmapAllocRun(fs, td, vp, l, Math.floor((n - done) / bs), goal);
        for (const { b, fresh } of run) {
          const data = buf.subarray(done, done + bs);
          if (fresh) await fs.bc.bwriteNew(td, fs.dev, b, data);
          else {
            const bp = await fs.bc.getblk(td, fs.dev, b, bs);
            bp.data.set(data);
            fs.bc.bdwrite(td, bp);
          }
          done += bs;
          goal = b + 1;
        }
        continue;
      }
      const { b, fresh } = await bmapAlloc(fs, td, vp, l, goal);
      goal = b + 1;
      const whole = bo === 0 && len === bs;
      const bp = fresh ? await fs.bnew(td, b) : whole ? await fs.bc.getblk(td, fs.dev, b, bs) : await fs.bread(td, b);
      bp.data.set(buf.subarray(done, done + len), bo);
      fs.bc.bdwrite(td, bp);
      done += len;
    }
  } catch (e) {
    failure = e;
  }
  if (done > 0) {
    if (off + done > vp.size) vp.size = off + done;
    fs.noteLargeFile(vp.size);
    // write(2): "update the last data modification and last file status change timestamps".
    vp.mtime = vp.ctime = vfsNow(fs.k);
  }
  await fs.iupdate(td, vp);
  // A write that made progress reports it (the error comes back on the next call).
  if (failure !== null && done === 0) throw failure;
  return done;
}

/** Set a regular file's size (truncate or extend with a hole). The caller updates times and the inode. */
export async function fileResize(fs: Ext2Fs, td: Lwp, vp: Vnode, size: number): Promise<void> {
  if (size > fs.maxBytes) throw err(EFBIG);
  const bs = fs.bs;
  if (size < vp.size) {
    await truncateBlocks(fs, td, vp, Math.ceil(size / bs));
    if (size % bs !== 0) {
      const b = await bmap(fs, td, vp, Math.floor(size / bs));
      if (b !== 0) {
        const bp = await fs.bread(td, b);
        bp.data.fill(0, size % bs);
        fs.bc.bdwrite(td, bp);
      }
    }
  }
  vp.size = size;
  fs.noteLargeFile(size);
}

/**
 * fallocate(2): mode 0 and KEEP_SIZE allocate (zeroed) blocks for [off, off+len), extending
 * the size unless KEEP_SIZE; PUNCH_HOLE|KEEP_SIZE zeroes the range, freeing the whole blocks
 * in it (Linux's ext2 has no fallocate; this follows ext4's answers). A range that cannot fit
 * in the free blocks is ENOSPC before anything is allocated.
 */
export async function fileAllocate(fs: Ext2Fs, td: Lwp, vp: Vnode, mode: number, off: number, len: number): Promise<void> {
  if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) !== 0) throw err(EOPNOTSUPP);
  const end = off + len;
  if (end > fs.maxBytes) throw err(EFBIG);
  const bs = fs.bs;
  if ((mode & FALLOC_FL_PUNCH_HOLE) !== 0) {
    const stop = Math.min(end, vp.size);
    for (let pos = off; pos < stop; ) {
      const l = Math.floor(pos / bs);
      const bo = pos % bs;
      const n = Math.min(bs - bo, stop - pos);
      if (n === bs) await bunmap(fs, td, vp, l);
      else {
        const b = await bmap(fs, td, vp, l);
        if (b !== 0) {
          const bp = await fs.bread(td, b);
          bp.data.fill(0, bo, bo + n);
          fs.bc.bdwrite(td, bp);
        }
      }
      pos += n;
    }
    await fs.iupdate(td, vp);
    return;
  }
  const first = Math.floor(off / bs), last = Math.floor((end - 1) / bs);
  const held = vp.blocks / (bs / 512);
  if (last - first + 1 - held > fs.sb.freeBlocksCount) throw err(ENOSPC);
  let goal = 0;
  for (let l = first; l <= last; l++) {
    const { b, fresh } = await bmapAlloc(fs, td, vp, l, goal);
    goal = b + 1;
    if (fresh) fs.bc.bdwrite(td, await fs.bnew(td, b));
  }
  if ((mode & FALLOC_FL_KEEP_SIZE) === 0 && end > vp.size) {
    vp.size = end;
    fs.noteLargeFile(end);
  }
  await fs.iupdate(td, vp);
}
