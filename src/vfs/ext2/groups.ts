/**
 * ext2 block group descriptors: 32 bytes per group (struct ext2_group_desc),
 * in the blocks right after the superblock's block (block s_first_data_block
 * + 1), copied after every superblock backup. Each says where the group's
 * block bitmap, inode bitmap and inode table are and how many blocks,
 * inodes and directories it has free/used.
 *
 * `parseGroups` checks what Linux's ext2_check_descriptors checks: every
 * bitmap and the whole inode table lie inside their own group, and the free
 * counts fit the group. `emitGroup` writes one descriptor over its original
 * 32 bytes (the checksum/flags fields of ext4 are kept as found).
 */
import { type Parsed, type Superblock, fail, put16, put32, u16, u32 } from './superblock.ts';

export const GD_SIZE = 32;

export interface GroupDesc {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocks: number;
  freeInodes: number;
  usedDirs: number;
}

/** Blocks of group descriptors. */
export function gdtBlocks(s: Superblock): number {
  return Math.ceil((s.groupCount * GD_SIZE) / s.blockSize);
}

/** Inode-table blocks per group. */
export function itableBlocks(s: Superblock): number {
  return Math.ceil((s.inodesPerGroup * s.inodeSize) / s.blockSize);
}

/** First and last block of group g. */
export function groupRange(s: Superblock, g: number): [number, number] {
  const first = s.firstDataBlock + g * s.blocksPerGroup;
  const last = Math.min(first + s.blocksPerGroup, s.blocksCount) - 1;
  return [first, last];
}

/** Parse descriptor g from its 32 bytes, checked against the geometry. */
export function parseGroup(s: Superblock, g: number, b: Uint8Array): Parsed<GroupDesc> {
  const d: GroupDesc = {
    blockBitmap: u32(b, 0), inodeBitmap: u32(b, 4), inodeTable: u32(b, 8),
    freeBlocks: u16(b, 12), freeInodes: u16(b, 14), usedDirs: u16(b, 16),
  };
  const [first, last] = groupRange(s, g);
  if (d.blockBitmap < first || d.blockBitmap > last) return fail(`group ${g}: block bitmap ${d.blockBitmap} not in the group (${first}-${last})`);
  if (d.inodeBitmap < first || d.inodeBitmap > last) return fail(`group ${g}: inode bitmap ${d.inodeBitmap} not in the group (${first}-${last})`);
  if (d.inodeTable < first || d.inodeTable + itableBlocks(s) - 1 > last) return fail(`group ${g}: inode table at ${d.inodeTable} not in the group (${first}-${last})`);
  if (d.freeBlocks > last - first + 1) return fail(`group ${g}: ${d.freeBlocks} free blocks in a group of ${last - first + 1}`);
  if (d.freeInodes > s.inodesPerGroup) return fail(`group ${g}: ${d.freeInodes} free inodes in a group of ${s.inodesPerGroup}`);
  if (d.usedDirs > s.inodesPerGroup) return fail(`group ${g}: ${d.usedDirs} directories in a group of ${s.inodesPerGroup}`);
  return { ok: true, value: d };
}

/** Write descriptor d over `into` (the group's 32 bytes, other fields kept). */
export function emitGroup(d: GroupDesc, into: Uint8Array): void {
  put32(into, 0, d.blockBitmap);
  put32(into, 4, d.inodeBitmap);
  put32(into, 8, d.inodeTable);
  put16(into, 12, d.freeBlocks);
  put16(into, 14, d.freeInodes);
  put16(into, 16, d.usedDirs);
}
