/**
 * ext2 block and inode allocation: one bitmap block per group for blocks
 * (bit i = block s_first_data_block + g × s_blocks_per_group + i) and one for
 * inodes (bit i = inode g × s_inodes_per_group + i + 1), with the group
 * descriptors' and superblock's free counts kept in step (Linux
 * fs/ext2/balloc.c, ialloc.c).
 *
 * Policy, simpler than Linux's: a block goes at or after a goal (the block
 * before it in the file, else the inode's group), then in later groups; a new
 * directory goes to the group with the most free inodes among those with at
 * least average free blocks (a little of Orlov), other inodes to the parent's
 * group first. The last s_r_blocks_count free blocks are kept for root,
 * s_def_resuid and s_def_resgid (ext2_has_free_blocks).
 *
 * A bit found in the wrong state (freeing a free block, a bitmap saying a
 * group is full when its descriptor counts free blocks) is corruption.
 */
import type { Lwp } from '../../kern/sched.ts';
import { ENOSPC, err } from '../../kern/errno.ts';
import { type Ext2Fs } from './fs.ts';
import { groupRange } from './groups.ts';

/** Is the caller allowed into the reserved blocks? */
function mayUseReserved(fs: Ext2Fs, td: Lwp): boolean {
  const c = td.proc.cred;
  return c.fsuid === 0 || c.fsuid === fs.sb.defResuid || (fs.sb.defResgid !== 0 && (c.fsgid === fs.sb.defResgid || c.groups.includes(fs.sb.defResgid)));
}

/** First clear bit in [from, limit) of a bitmap block, or -1. */
function findZero(b: Uint8Array, from: number, limit: number): number {
  for (let i = from; i < limit; ) {
    if ((i & 7) === 0 && i + 8 <= limit && b[i >> 3] === 0xff) {
      i += 8;
      continue;
    }
    if ((b[i >> 3]! & (1 << (i & 7))) === 0) return i;
    i++;
  }
  return -1;
}

/** Allocate one block near `goal` (0: anywhere); returns its number. ENOSPC when none may be had. */
export async function allocBlock(fs: Ext2Fs, td: Lwp, goal: number): Promise<number> {
  return (await allocBlocks(fs, td, goal, 1))[0]!;
}

/**
 * Allocate up to `want` blocks at or after `goal` (in bitmap order, so a file written
 * sequentially gets contiguous blocks), reading each group's bitmap once. Returns at least
 * one block, fewer than `want` when the space (or the caller's share of it) runs out;
 * ENOSPC when there is none.
 */
export async function allocBlocks(fs: Ext2Fs, td: Lwp, goal: number, want: number): Promise<number[]> {
  const sb = fs.sb;
  const avail = mayUseReserved(fs, td) ? sb.freeBlocksCount : sb.freeBlocksCount - sb.rBlocksCount;
  if (avail <= 0) throw err(ENOSPC);
  want = Math.min(want, avail);
  if (!fs.validBlock(goal)) goal = sb.firstDataBlock;
  const g0 = Math.min(Math.floor((goal - sb.firstDataBlock) / sb.blocksPerGroup), sb.groupCount - 1);
  const out: number[] = [];
  for (let n = 0; n <= sb.groupCount && out.length < want; n++) {
    const g = (g0 + n) % sb.groupCount;
    const gd = fs.groups[g]!;
    if (gd.freeBlocks === 0) continue;
    const [first, last] = groupRange(sb, g);
    const from = n === 0 ? Math.max(0, goal - first) : 0;
    const limit = last - first + 1;
    const bp = await fs.bread(td, gd.blockBitmap);
    const got = out.length;
    let bit = from;
    while (out.length < want && gd.freeBlocks > 0) {
      bit = findZero(bp.data, bit, limit);
      if (bit < 0) break;
      const b = first + bit;
      if (!fs.validBlock(b) || b === gd.blockBitmap || b === gd.inodeBitmap) {
        fs.bc.brelse(td, bp);
        throw fs.corrupt(`group ${g}: block bitmap marks metadata block ${b} free`);
      }
      bp.data[bit >> 3]! |= 1 << (bit & 7);
      gd.freeBlocks--;
      sb.freeBlocksCount--;
      out.push(b);
      bit++;
    }
    if (out.length > got) {
      fs.bc.bdwrite(td, bp);
      fs.gdDirty.add(g);
      fs.sbDirty = true;
    } else {
      fs.bc.brelse(td, bp);
      if (from === 0) throw fs.corrupt(`group ${g}: block bitmap is full but the descriptor counts ${gd.freeBlocks} free`);
    }
  }
  if (out.length === 0) throw err(ENOSPC);
  return out;
}

/** Free block b. */
export async function freeBlock(fs: Ext2Fs, td: Lwp, b: number): Promise<void> {
  const sb = fs.sb;
  if (!fs.validBlock(b)) throw fs.corrupt(`freeing block ${b}, outside the data area`);
  const g = Math.floor((b - sb.firstDataBlock) / sb.blocksPerGroup);
  const gd = fs.groups[g]!;
  const bit = b - groupRange(sb, g)[0];
  const bp = await fs.bread(td, gd.blockBitmap);
  if ((bp.data[bit >> 3]! & (1 << (bit & 7))) === 0) {
    fs.bc.brelse(td, bp);
    throw fs.corrupt(`freeing block ${b}, which is already free (a block shared by two owners?)`);
  }
  bp.data[bit >> 3]! &= ~(1 << (bit & 7));
  fs.bc.bdwrite(td, bp);
  gd.freeBlocks++;
  sb.freeBlocksCount++;
  fs.sbDirty = true;
  fs.gdDirty.add(g);
}

/** Allocate an inode for a new object in directory `dirIno`. */
export async function allocInode(fs: Ext2Fs, td: Lwp, dirIno: number, isDir: boolean): Promise<number> {
  const sb = fs.sb;
  if (sb.freeInodesCount === 0) throw err(ENOSPC);
  const parentGroup = Math.floor((dirIno - 1) / sb.inodesPerGroup);
  let order: number[];
  if (isDir) {
    const avgBlocks = sb.freeBlocksCount / sb.groupCount;
    const cands = fs.groups.map((gd, g) => ({ g, gd })).filter((x) => x.gd.freeInodes > 0);
    cands.sort((a, b) => {
      const aOk = a.gd.freeBlocks >= avgBlocks ? 1 : 0, bOk = b.gd.freeBlocks >= avgBlocks ? 1 : 0;
      return bOk - aOk || b.gd.freeInodes - a.gd.freeInodes || a.g - b.g;
    });
    order = cands.map((x) => x.g);
  } else {
    order = [];
    for (let n = 0; n < sb.groupCount; n++) order.push((parentGroup + n) % sb.groupCount);
  }
  for (const g of order) {
    const gd = fs.groups[g]!;
    if (gd.freeInodes === 0) continue;
    const bp = await fs.bread(td, gd.inodeBitmap);
    const base = g * sb.inodesPerGroup;
    const from = base + 1 < sb.firstIno ? sb.firstIno - 1 - base : 0;
    const bit = findZero(bp.data, Math.max(0, from), sb.inodesPerGroup);
    if (bit < 0) {
      fs.bc.brelse(td, bp);
      throw fs.corrupt(`group ${g}: inode bitmap is full but the descriptor counts ${gd.freeInodes} free`);
    }
    bp.data[bit >> 3]! |= 1 << (bit & 7);
    fs.bc.bdwrite(td, bp);
    gd.freeInodes--;
    if (isDir) gd.usedDirs++;
    sb.freeInodesCount--;
    fs.sbDirty = true;
    fs.gdDirty.add(g);
    return base + bit + 1;
  }
  throw err(ENOSPC);
}

/** Free inode ino (its storage is already gone). */
export async function freeInode(fs: Ext2Fs, td: Lwp, ino: number, isDir: boolean): Promise<void> {
  const sb = fs.sb;
  const g = Math.floor((ino - 1) / sb.inodesPerGroup);
  const bit = (ino - 1) % sb.inodesPerGroup;
  const gd = fs.groups[g]!;
  const bp = await fs.bread(td, gd.inodeBitmap);
  if ((bp.data[bit >> 3]! & (1 << (bit & 7))) === 0) {
    fs.bc.brelse(td, bp);
    throw fs.corrupt(`freeing inode ${ino}, which is already free`);
  }
  bp.data[bit >> 3]! &= ~(1 << (bit & 7));
  fs.bc.bdwrite(td, bp);
  gd.freeInodes++;
  if (isDir && gd.usedDirs > 0) gd.usedDirs--;
  sb.freeInodesCount++;
  fs.sbDirty = true;
  fs.gdDirty.add(g);
}
