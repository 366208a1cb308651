/**
 * Make an empty ext2 file system on a block device (what mke2fs does for
 * `-t ext2 -O ^dir_index,^resize_inode,^ext_attr`): revision 1, features
 * filetype, sparse_super and large_file, 256-byte inodes (or 128), groups of
 * 8 × block-size blocks, a root directory and lost+found. The result passes
 * `e2fsck -fn`.
 *
 * Layout of group g (ext2 layout, "Block groups"): a superblock and the
 * group-descriptor table when g is 0, 1 or a power of 3, 5 or 7; then the
 * block bitmap, the inode bitmap and the inode table; the rest is data. The
 * last group is dropped if it could not hold its own metadata and some data
 * (mke2fs does the same). Bitmap bits past the end of a group are set
 * (e2fsck checks this "padding"). Inodes 1-10 are reserved, 11 is
 * lost+found.
 */
import type { BlockDevice } from '../../kern/blkdev.ts';
import { EINVAL, err } from '../../kern/errno.ts';
import {
  EXT2_VALID_FS, INCOMPAT_FILETYPE, RO_COMPAT_LARGE_FILE, RO_COMPAT_SPARSE_SUPER, SB_OFFSET, SB_SIZE, type Superblock,
  emitSuperblock, groupHasSuper, put16, put32,
} from './superblock.ts';
import { GD_SIZE, type GroupDesc, emitGroup, gdtBlocks, groupRange, itableBlocks } from './groups.ts';
import { type Inode, ROOT_INO, emitInode } from './inode.ts';
import { emitDirent } from './dir.ts';

export interface MkfsOptions {
  /** 1024, 2048 or 4096 (default: 1024 below 512 MiB, else 4096, as mke2fs.conf's "small" type). */
  blockSize?: number;
  /** Inode count wanted (rounded up to fill whole inode-table blocks in every group). */
  inodes?: number;
  /** 128 or 256 (default 256). */
  inodeSize?: number;
  /** 16 bytes; a random UUID from the caller (the kernel has no randomness of its own here). */
  uuid: Uint8Array;
  /** Seconds since the epoch for every timestamp written. */
  now: number;
  /** Volume label (up to 16 bytes). */
  label?: string;
  /** Percentage of blocks reserved for root (default 5). */
  reservedPercent?: number;
}

const LOST_FOUND_INO = 11;

/** Format `dev`. Returns the superblock written. */
export async function mkfsExt2(dev: BlockDevice, o: MkfsOptions): Promise<Superblock> {
  const size = dev.size;
  const bs = o.blockSize ?? (size < 512 * 1024 * 1024 ? 1024 : 4096);
  if (![1024, 2048, 4096].includes(bs)) throw err(EINVAL);
  const isz = o.inodeSize ?? 256;
  if (isz !== 128 && isz !== 256) throw err(EINVAL);
  const firstDataBlock = bs === 1024 ? 1 : 0;
  const bpg = 8 * bs;
  let blocksCount = Math.floor(size / bs);
  if (blocksCount > 0xffffffff) blocksCount = 0xffffffff;
  let groups = Math.ceil((blocksCount - firstDataBlock) / bpg);
  const ratio = size < 512 * 1024 * 1024 ? 4096 : 16384;
  const perBlock = bs / isz;
  const ipgFor = (g: number): number => {
    const want = o.inodes ?? Math.max(16, Math.floor(size / ratio));
    let ipg = Math.ceil(want / g);
    ipg = Math.max(16, Math.ceil(ipg / perBlock) * perBlock);
    ipg = Math.ceil(ipg / 8) * 8;
    return Math.min(ipg, 8 * bs);
  };
  let ipg = ipgFor(groups);
  const overhead = (g: number, n: number): number => (n > 0 && groupHasSuperRaw(g) ? 1 + Math.ceil((n * GD_SIZE) / bs) : 0) + 2 + Math.ceil((ipg * isz) / bs);
  // Drop a last group too small for its own metadata and some data (mke2fs: "< overhead + 50").
  const lastLen = blocksCount - firstDataBlock - (groups - 1) * bpg;
  if (groups > 1 && lastLen < overhead(groups - 1, groups) + 50) {
    groups--;
    blocksCount = firstDataBlock + groups * bpg;
    ipg = ipgFor(groups);
  }
  if (groups < 1 || blocksCount - firstDataBlock < overhead(0, 1) + 16) throw err(EINVAL);
  const sb: Superblock = {
    inodesCount: ipg * groups, blocksCount, rBlocksCount: Math.floor((blocksCount * (o.reservedPercent ?? 5)) / 100), freeBlocksCount: 0,
    freeInodesCount: 0, firstDataBlock, logBlockSize: Math.log2(bs) - 10, blocksPerGroup: bpg, inodesPerGroup: ipg, mtime: 0,
    wtime: o.now, mntCount: 0, maxMntCount: -1, state: EXT2_VALID_FS, errors: 1, lastcheck: o.now, revLevel: 1, defResuid: 0,
    defResgid: 0, firstIno: 11, inodeSize: isz, featureCompat: 0, featureIncompat: INCOMPAT_FILETYPE,
    featureRoCompat: RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE, lastOrphan: 0, wantExtraIsize: isz > 128 ? 32 : 0, blockSize: bs, groupCount: groups,
  };
  const gdtN = gdtBlocks(sb);
  const itN = itableBlocks(sb);
  const gds: GroupDesc[] = [];
  for (let g = 0; g < groups; g++) {
    const [first] = groupRange(sb, g);
    const b = first + (groupHasSuper(sb, g) ? 1 + gdtN : 0);
    gds.push({ blockBitmap: b, inodeBitmap: b + 1, inodeTable: b + 2, freeBlocks: 0, freeInodes: ipg, usedDirs: 0 });
  }
  // Root and lost+found each take one block right after group 0's inode table.
  const rootBlock = gds[0]!.inodeTable + itN;
  const lfBlock = rootBlock + 1;
  gds[0]!.freeInodes = ipg - LOST_FOUND_INO;
  gds[0]!.usedDirs = 2;
  const zero = new Uint8Array(Math.min(1 << 20, itN * bs));
  for (let g = 0; g < groups; g++) {
    const [first, last] = groupRange(sb, g);
    const gd = gds[g]!;
    const meta = gd.inodeTable + itN - first; // blocks from the group's start through its inode table
    const bbm = new Uint8Array(bs);
    let usedCount = 0;
    const mark = (bit: number): void => {
      bbm[bit >> 3]! |= 1 << (bit & 7);
    };
    for (let i = 0; i < meta; i++) mark(i);
    usedCount = meta;
    if (g === 0) {
      mark(rootBlock - first);
      mark(lfBlock - first);
      usedCount += 2;
    }
    for (let i = last - first + 1; i < 8 * bs; i++) mark(i); // padding past the group's end
    gd.freeBlocks = last - first + 1 - usedCount;
    const ibm = new Uint8Array(bs);
    for (let i = ipg; i < 8 * bs; i++) ibm[i >> 3]! |= 1 << (i & 7);
    if (g === 0) for (let i = 0; i < LOST_FOUND_INO; i++) ibm[i >> 3]! |= 1 << (i & 7);
    await dev.write(gd.blockBitmap * bs, bbm);
    await dev.write(gd.inodeBitmap * bs, ibm);
    for (let off = 0; off < itN * bs; off += zero.byteLength) {
      await dev.write(gd.inodeTable * bs + off, zero.subarray(0, Math.min(zero.byteLength, itN * bs - off)));
    }
  }
  sb.freeBlocksCount = gds.reduce((a, g) => a + g.freeBlocks, 0);
  sb.freeInodesCount = gds.reduce((a, g) => a + g.freeInodes, 0);
  // Root and lost+found inodes and directory blocks.
  const dirInode = (mode: number, links: number, block: number): Inode => ({
    mode, uid: 0, gid: 0, size: bs, atime: { sec: o.now, nsec: 0 }, ctime: { sec: o.now, nsec: 0 }, mtime: { sec: o.now, nsec: 0 },
    crtime: { sec: o.now, nsec: 0 }, dtime: 0, linksCount: links, blocks: bs / 512, flags: 0,
    block: [block, ...new Array<number>(14).fill(0)], generation: 0, fileAcl: 0, extraIsize: isz > 128 ? 32 : 0,
  });
  const itab = new Uint8Array(bs);
  const inodeBlockOf = (ino: number): [number, number] => {
    const byte = (ino - 1) * isz;
    return [gds[0]!.inodeTable + Math.floor(byte / bs), byte % bs];
  };
  for (const [ino, inode] of [[ROOT_INO, dirInode(0o40755, 3, rootBlock)], [LOST_FOUND_INO, dirInode(0o40700, 2, lfBlock)]] as const) {
    const [blk, off] = inodeBlockOf(ino);
    await dev.read(blk * bs, itab);
    emitInode(inode, itab.subarray(off, off + isz), isz);
    await dev.write(blk * bs, itab);
  }
  const dot = new Uint8Array([0x2e]);
  const dotdot = new Uint8Array([0x2e, 0x2e]);
  const rb = new Uint8Array(bs);
  emitDirent(rb, 0, ROOT_INO, 12, dot, 2, true);
  emitDirent(rb, 12, ROOT_INO, 12, dotdot, 2, true);
  emitDirent(rb, 24, LOST_FOUND_INO, bs - 24, new TextEncoder().encode('lost+found'), 2, true);
  await dev.write(rootBlock * bs, rb);
  const lb = new Uint8Array(bs);
  emitDirent(lb, 0, LOST_FOUND_INO, 12, dot, 2, true);
  emitDirent(lb, 12, ROOT_INO, bs - 12, dotdot, 2, true);
  await dev.write(lfBlock * bs, lb);
  // Superblock and descriptor copies.
  const gdt = new Uint8Array(gdtN * bs);
  gds.forEach((gd, g) => emitGroup(gd, gdt.subarray(g * GD_SIZE, (g + 1) * GD_SIZE)));
  const base = new Uint8Array(SB_SIZE);
  base.set(o.uuid.subarray(0, 16), 104);
  base.set(new TextEncoder().encode(o.label ?? '').subarray(0, 16), 120);
  put32(base, 28, sb.logBlockSize); // s_log_frag_size (clusters are blocks without bigalloc)
  put32(base, 36, bpg); // s_frags_per_group
  put32(base, 264, o.now); // s_mkfs_time
  put16(base, 348, isz > 128 ? 32 : 0); // s_min_extra_isize
  for (let g = 0; g < groups; g++) {
    if (!groupHasSuper(sb, g)) continue;
    const [first] = groupRange(sb, g);
    const copy = emitSuperblock(sb, base);
    put16(copy, 90, g); // s_block_group_nr
    if (g === 0) await dev.write(SB_OFFSET, copy);
    else {
      const blk = new Uint8Array(bs);
      blk.set(copy, 0);
      await dev.write(first * bs, blk);
    }
    await dev.write((first + 1) * bs, gdt);
  }
  await dev.flush();
  return sb;
}

/** groupHasSuper for sparse_super, before a Superblock exists. */
function groupHasSuperRaw(g: number): boolean {
  return groupHasSuper({ featureRoCompat: RO_COMPAT_SPARSE_SUPER } as Superblock, g);
}
