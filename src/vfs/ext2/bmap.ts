/**
 * The ext2 block map: which disk block holds logical block n of a file
 * (Linux fs/ext2/inode.c ext2_block_to_path / ext2_get_block). i_block[0..11]
 * are direct; i_block[12] points at an indirect block of s_blocksize/4 block
 * numbers, i_block[13] at a double-indirect and i_block[14] at a
 * triple-indirect one. A 0 anywhere on the path is a hole (reads as zeros).
 *
 * `bmap` looks up, `bmapAlloc` fills the path in (new indirect blocks are
 * zeroed), `truncateBlocks` frees everything from a logical block on,
 * indirect blocks that become empty included. Every block number read from
 * an inode or an indirect block is checked to lie in the data area before it
 * is followed; the depth is at most three, so a map whose blocks point at
 * each other cannot loop, and a block freed twice is caught by its bitmap.
 */
import type { Lwp } from '../../kern/sched.ts';
import { EFBIG, err } from '../../kern/errno.ts';
import type { Vnode } from '../vnode.ts';
import { type Ext2Fs, en } from './fs.ts';
import { allocBlock, allocBlocks, freeBlock } from './alloc.ts';
import { DIND_BLOCK, IND_BLOCK, N_DIRECT, TIND_BLOCK } from './inode.ts';
import { put32, u32 } from './superblock.ts';

/** The path to logical block n: i_block slot, then indexes in 0-3 indirect blocks. */
export function blockPath(apb: number, n: number): number[] | null {
  if (n < N_DIRECT) return [n];
  n -= N_DIRECT;
  if (n < apb) return [IND_BLOCK, n];
  n -= apb;
  if (n < apb * apb) return [DIND_BLOCK, Math.floor(n / apb), n % apb];
  n -= apb * apb;
  if (n < apb * apb * apb) return [TIND_BLOCK, Math.floor(n / (apb * apb)), Math.floor(n / apb) % apb, n % apb];
  return null;
}

function checkPtr(fs: Ext2Fs, ino: number, b: number, what: string): number {
  if (b !== 0 && !fs.validBlock(b)) throw fs.corrupt(`inode ${ino}: ${what} block number ${b} is outside the data area`);
  return b;
}

/** Disk block of logical block n, or 0 for a hole. */
export async function bmap(fs: Ext2Fs, td: Lwp, vp: Vnode, n: number): Promise<number> {
  const node = en(vp);
  const path = blockPath(fs.apb, n);
  if (path === null) return 0;
  let b = checkPtr(fs, node.ino, node.inode.block[path[0]!]!, 'mapped');
  for (let i = 1; i < path.length && b !== 0; i++) {
    const bp = await fs.bread(td, b);
    const next = u32(bp.data, path[i]! * 4);
    fs.bc.brelse(td, bp);
    b = checkPtr(fs, node.ino, next, 'indirect');
  }
  return b;
}

/**
 * Disk block of logical block n, allocating it (and the indirect blocks on
 * its path) if it is a hole. `fresh` says the data block is new (its
 * contents are undefined: the caller writes or zeroes all of it). The
 * caller writes the inode afterwards (iupdate): i_block and i_blocks change.
 */
export async function bmapAlloc(fs: Ext2Fs, td: Lwp, vp: Vnode, n: number, goal: number): Promise<{ b: number; fresh: boolean }> {
  const node = en(vp);
  const path = blockPath(fs.apb, n);
  if (path === null) throw err(EFBIG);
  const sectors = fs.bs / 512;
  let fresh = false;
  const alloc = async (): Promise<number> => {
    const b = await allocBlock(fs, td, goal);
    goal = b + 1;
    vp.blocks += sectors;
    return b;
  };
  let b = checkPtr(fs, node.ino, node.inode.block[path[0]!]!, 'mapped');
  if (b === 0) {
    b = await alloc();
    node.inode.block[path[0]!] = b;
    if (path.length > 1) fs.bc.bdwrite(td, await fs.bnew(td, b));
    else fresh = true;
  }
  for (let i = 1; i < path.length; i++) {
    const bp = await fs.bread(td, b);
    let next = u32(bp.data, path[i]! * 4);
    if (next !== 0) {
      fs.bc.brelse(td, bp);
      b = checkPtr(fs, node.ino, next, 'indirect');
      continue;
    }
    fs.bc.brelse(td, bp);
    next = await alloc();
    const last = i === path.length - 1;
    if (!last) fs.bc.bdwrite(td, await fs.bnew(td, next));
    else fresh = true;
    const pp = await fs.bread(td, b);
    put32(pp.data, path[i]! * 4, next);
    fs.bc.bdwrite(td, pp);
    b = next;
  }
  return { b, fresh };
}

/**
 * Free every block of the file from logical block `from` on (and indirect
 * blocks left empty). Updates vp.blocks; the caller writes the inode.
 */
export async function truncateBlocks(fs: Ext2Fs, td: Lwp, vp: Vnode, from: number): Promise<void> {
  const node = en(vp);
  const blk = node.inode.block;
  const a = fs.apb;
  for (let i = Math.min(from, N_DIRECT); i < N_DIRECT; i++) {
    if (blk[i] !== 0) {
      await freeOne(fs, td, vp, checkPtr(fs, node.ino, blk[i]!, 'mapped'));
      blk[i] = 0;
    }
  }
  const roots: [number, number, number][] = [[IND_BLOCK, 1, N_DIRECT], [DIND_BLOCK, 2, N_DIRECT + a], [TIND_BLOCK, 3, N_DIRECT + a + a * a]];
  for (const [slot, level, base] of roots) {
    const b = checkPtr(fs, node.ino, blk[slot]!, 'indirect');
    if (b === 0 || base + a ** level <= from) continue;
    if (await freeTree(fs, td, vp, b, level, base, from)) blk[slot] = 0;
  }
}

async function freeOne(fs: Ext2Fs, td: Lwp, vp: Vnode, b: number): Promise<void> {
  await freeBlock(fs, td, b);
  vp.blocks = Math.max(0, vp.blocks - fs.bs / 512);
}

/**
 * Free the part of the subtree at indirect block `b` (covering logical
 * blocks from `base`, `level` levels deep) at or after `from`. Returns true
 * when b itself was freed (nothing before `from` lives under it).
 */
async function freeTree(fs: Ext2Fs, td: Lwp, vp: Vnode, b: number, level: number, base: number, from: number): Promise<boolean> {
  const ino = en(vp).ino;
  const bp = await fs.bread(td, b);
  const entries = bp.data.slice();
  fs.bc.brelse(td, bp);
  const span = fs.apb ** (level - 1);
  const cleared: number[] = [];
  for (let i = 0; i < fs.apb; i++) {
    const childBase = base + i * span;
    if (childBase + span <= from) continue;
    const c = checkPtr(fs, ino, u32(entries, i * 4), 'indirect');
    if (c === 0) continue;
    if (level === 1) {
      await freeOne(fs, td, vp, c);
      cleared.push(i);
    } else if (await freeTree(fs, td, vp, c, level - 1, childBase, from)) cleared.push(i);
  }
  if (from <= base) {
    await freeOne(fs, td, vp, b);
    return true;
  }
  if (cleared.length > 0) {
    const wp = await fs.bread(td, b);
    for (const i of cleared) put32(wp.data, i * 4, 0);
    fs.bc.bdwrite(td, wp);
  }
  return false;
}

/** Make logical block n a hole again (fallocate PUNCH_HOLE), freeing its data block; indirect blocks stay. */
export async function bunmap(fs: Ext2Fs, td: Lwp, vp: Vnode, n: number): Promise<void> {
  const node = en(vp);
  const path = blockPath(fs.apb, n);
  if (path === null) return;
  if (path.length === 1) {
    const b = checkPtr(fs, node.ino, node.inode.block[n]!, 'mapped');
    if (b !== 0) {
      await freeOne(fs, td, vp, b);
      node.inode.block[n] = 0;
    }
    return;
  }
  let b = checkPtr(fs, node.ino, node.inode.block[path[0]!]!, 'indirect');
  for (let i = 1; i < path.length && b !== 0; i++) {
    const bp = await fs.bread(td, b);
    const next = checkPtr(fs, node.ino, u32(bp.data, path[i]! * 4), 'indirect');
    if (i < path.length - 1 || next === 0) {
      fs.bc.brelse(td, bp);
      b = next;
      continue;
    }
    put32(bp.data, path[i]! * 4, 0);
    fs.bc.bdwrite(td, bp);
    await freeOne(fs, td, vp, next);
    return;
  }
}

/**
 * Disk blocks of logical blocks n, n+1, … (at most `max`, and no further than
 * the end of the direct blocks or of n's indirect leaf): one walk of the map
 * for a whole run, as a sequential reader needs. 0 entries are holes.
 */
export async function bmapRun(fs: Ext2Fs, td: Lwp, vp: Vnode, n: number, max: number): Promise<number[]> {
  const node = en(vp);
  const path = blockPath(fs.apb, n);
  if (path === null) return [0];
  if (path.length === 1) {
    const out: number[] = [];
    for (let i = n; i < N_DIRECT && out.length < max; i++) out.push(checkPtr(fs, node.ino, node.inode.block[i]!, 'mapped'));
    return out;
  }
  let b = checkPtr(fs, node.ino, node.inode.block[path[0]!]!, 'indirect');
  for (let i = 1; i < path.length - 1 && b !== 0; i++) {
    const bp = await fs.bread(td, b);
    const next = u32(bp.data, path[i]! * 4);
    fs.bc.brelse(td, bp);
    b = checkPtr(fs, node.ino, next, 'indirect');
  }
  const first = path[path.length - 1]!;
  const count = Math.min(max, fs.apb - first);
  if (b === 0) return new Array<number>(count).fill(0);
  const bp = await fs.bread(td, b);
  const out: number[] = [];
  try {
    for (let i = 0; i < count; i++) out.push(checkPtr(fs, node.ino, u32(bp.data, (first + i) * 4), 'indirect'));
  } finally {
    fs.bc.brelse(td, bp);
  }
  return out;
}

/**
 * bmapAlloc for a run: logical blocks n … n+count-1, as far as they share n's
 * indirect leaf (a direct block makes a run of one). The holes among them are
 * allocated together, after the previous block where possible, and the leaf is
 * read and written once. Returns each block and whether it is new (contents
 * undefined); the run may be shorter than asked when space runs out.
 */
export async function bmapAllocRun(fs: Ext2Fs, td: Lwp, vp: Vnode, n: number, count: number, goal: number): Promise<{ b: number; fresh: boolean }[]> {
  const first = await bmapAlloc(fs, td, vp, n, goal);
  const out = [first];
  const path = blockPath(fs.apb, n)!;
  if (path.length === 1 || count <= 1) return out;
  const idx = path[path.length - 1]!;
  const k = Math.min(count, fs.apb - idx);
  if (k <= 1) return out;
  // The leaf: the path exists now (bmapAlloc made it).
  const node = en(vp);
  let leaf = node.inode.block[path[0]!]!;
  for (let i = 1; i < path.length - 1; i++) {
    const bp = await fs.bread(td, leaf);
    const next = u32(bp.data, path[i]! * 4);
    fs.bc.brelse(td, bp);
    leaf = checkPtr(fs, node.ino, next, 'indirect');
  }
  const rp = await fs.bread(td, leaf);
  const have: number[] = [];
  for (let i = 1; i < k; i++) have.push(checkPtr(fs, node.ino, u32(rp.data, (idx + i) * 4), 'indirect'));
  fs.bc.brelse(td, rp);
  const holes = have.filter((b) => b === 0).length;
  let fresh: number[] = [];
  if (holes > 0) {
    try {
      fresh = await allocBlocks(fs, td, first.b + 1, holes);
    } catch {
      fresh = []; // no space for more: the run ends at the first hole
    }
    vp.blocks += fresh.length * (fs.bs / 512);
  }
  let f = 0;
  const wp = fresh.length > 0 ? await fs.bread(td, leaf) : null;
  for (let i = 0; i < have.length; i++) {
    if (have[i] !== 0) {
      out.push({ b: have[i]!, fresh: false });
      continue;
    }
    if (f >= fresh.length) break;
    const b = fresh[f++]!;
    put32(wp!.data, (idx + 1 + i) * 4, b);
    out.push({ b, fresh: true });
  }
  if (wp !== null) fs.bc.bdwrite(td, wp);
  return out;
}
