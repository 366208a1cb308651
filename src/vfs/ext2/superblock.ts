/**
 * The ext2 superblock: 1024 bytes at byte offset 1024 of the device, copies
 * in some block groups (all, or only groups 0, 1 and powers of 3, 5 and 7
 * with sparse_super). Layout: e2fsprogs lib/ext2fs/ext2_fs.h struct
 * ext2_super_block, Linux fs/ext2/ext2.h; all fields little-endian.
 *
 * `parseSuperblock(bytes)` checks every number later code relies on (magic,
 * revision, block and inode sizes, group geometry, counts that must agree)
 * and returns a value or a message saying what was wrong; `emitSuperblock`
 * writes the parsed fields back over a copy of the original 1024 bytes, so
 * fields this driver does not interpret (UUID, volume name, hash seed,
 * journal fields...) survive unchanged.
 */

export const SB_OFFSET = 1024;
export const SB_SIZE = 1024;
export const EXT2_MAGIC = 0xef53;

/** s_state bits. */
export const EXT2_VALID_FS = 1;
export const EXT2_ERROR_FS = 2;

// Feature bits (ext2_fs.h EXT2_FEATURE_*).
export const COMPAT_DIR_PREALLOC = 0x1;
export const COMPAT_IMAGIC_INODES = 0x2;
export const COMPAT_HAS_JOURNAL = 0x4;
export const COMPAT_EXT_ATTR = 0x8;
export const COMPAT_RESIZE_INODE = 0x10;
export const COMPAT_DIR_INDEX = 0x20;
export const RO_COMPAT_SPARSE_SUPER = 0x1;
export const RO_COMPAT_LARGE_FILE = 0x2;
export const RO_COMPAT_BTREE_DIR = 0x4;
export const INCOMPAT_FILETYPE = 0x2;

export const INCOMPAT_NAMES: Record<number, string> = {
  0x1: 'compression', 0x2: 'filetype', 0x4: 'needs_recovery', 0x8: 'journal_dev', 0x10: 'meta_bg', 0x40: 'extent',
  0x80: '64bit', 0x100: 'mmp', 0x200: 'flex_bg', 0x400: 'ea_inode', 0x1000: 'dirdata', 0x2000: 'metadata_csum_seed',
  0x4000: 'large_dir', 0x8000: 'inline_data', 0x10000: 'encrypt', 0x20000: 'casefold',
};
export const RO_COMPAT_NAMES: Record<number, string> = {
  0x1: 'sparse_super', 0x2: 'large_file', 0x4: 'btree_dir', 0x8: 'huge_file', 0x10: 'uninit_bg', 0x20: 'dir_nlink',
  0x40: 'extra_isize', 0x100: 'quota', 0x200: 'bigalloc', 0x400: 'metadata_csum', 0x800: 'replica', 0x1000: 'read-only',
  0x2000: 'project', 0x4000: 'shared_blocks', 0x8000: 'verity', 0x10000: 'orphan_present',
};

/** What this driver implements: anything else INCOMPAT refuses the mount; anything else RO_COMPAT forces read-only. */
export const SUPPORTED_INCOMPAT = INCOMPAT_FILETYPE;
export const SUPPORTED_RO_COMPAT = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;

/** Parsed superblock fields (those this driver reads or writes). */
export interface Superblock {
  inodesCount: number;
  blocksCount: number;
  rBlocksCount: number;
  freeBlocksCount: number;
  freeInodesCount: number;
  firstDataBlock: number;
  logBlockSize: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  mtime: number;
  wtime: number;
  mntCount: number;
  /** Signed: -1 means no limit. */
  maxMntCount: number;
  state: number;
  errors: number;
  lastcheck: number;
  revLevel: number;
  defResuid: number;
  defResgid: number;
  firstIno: number;
  inodeSize: number;
  featureCompat: number;
  featureIncompat: number;
  featureRoCompat: number;
  lastOrphan: number;
  wantExtraIsize: number;
  /** Derived: 1024 << logBlockSize. */
  blockSize: number;
  /** Derived: number of block groups. */
  groupCount: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; why: string };
export const fail = <T>(why: string): Parsed<T> => ({ ok: false, why });

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
export { u16, u32, put16, put32 };

/** Parse and check the 1024 superblock bytes; `devSize` bounds blocks_count. */
export function parseSuperblock(b: Uint8Array, devSize: number): Parsed<Superblock> {
  if (b.byteLength < SB_SIZE) return fail(`superblock is ${b.byteLength} bytes`);
  const magic = u16(b, 56);
  if (magic !== EXT2_MAGIC) return fail(`bad magic 0x${magic.toString(16)} (want 0xef53)`);
  const logBlockSize = u32(b, 24);
  if (logBlockSize > 6) return fail(`block size 1024<<${logBlockSize} is out of range`);
  const blockSize = 1024 << logBlockSize;
  const revLevel = u32(b, 76);
  if (revLevel > 1) return fail(`revision ${revLevel} is unknown`);
  const inodeSize = revLevel === 0 ? 128 : u16(b, 88);
  if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) return fail(`inode size ${inodeSize} is invalid`);
  const firstIno = revLevel === 0 ? 11 : u32(b, 84);
  const blocksCount = u32(b, 4);
  const firstDataBlock = u32(b, 20);
  const blocksPerGroup = u32(b, 32);
  const inodesPerGroup = u32(b, 40);
  const inodesCount = u32(b, 0);
  if (firstDataBlock !== (blockSize === 1024 ? 1 : 0)) return fail(`first data block ${firstDataBlock} is wrong for ${blockSize}-byte blocks`);
  if (blocksCount <= firstDataBlock + 1) return fail(`blocks count ${blocksCount} is too small`);
  if (blocksCount * blockSize > devSize) return fail(`blocks count ${blocksCount} × ${blockSize} exceeds the device's ${devSize} bytes`);
  if (blocksPerGroup === 0 || blocksPerGroup > 8 * blockSize) return fail(`blocks per group ${blocksPerGroup} is invalid`);
  if (inodesPerGroup === 0 || inodesPerGroup > 8 * blockSize) return fail(`inodes per group ${inodesPerGroup} is invalid`);
  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (inodesCount !== groupCount * inodesPerGroup) return fail(`inodes count ${inodesCount} ≠ ${groupCount} groups × ${inodesPerGroup}`);
  if (firstIno < 11 || firstIno >= inodesCount) return fail(`first inode ${firstIno} is invalid`);
  const rBlocksCount = u32(b, 8);
  if (rBlocksCount > blocksCount) return fail(`reserved blocks ${rBlocksCount} exceed blocks count ${blocksCount}`);
  const s: Superblock = {
    inodesCount, blocksCount, rBlocksCount, freeBlocksCount: u32(b, 12), freeInodesCount: u32(b, 16), firstDataBlock,
    logBlockSize, blocksPerGroup, inodesPerGroup, mtime: u32(b, 44), wtime: u32(b, 48), mntCount: u16(b, 52),
    maxMntCount: (u16(b, 54) << 16) >> 16, state: u16(b, 58), errors: u16(b, 60), lastcheck: u32(b, 64), revLevel,
    defResuid: u16(b, 80), defResgid: u16(b, 82), firstIno, inodeSize,
    featureCompat: revLevel === 0 ? 0 : u32(b, 92), featureIncompat: revLevel === 0 ? 0 : u32(b, 96),
    featureRoCompat: revLevel === 0 ? 0 : u32(b, 100), lastOrphan: u32(b, 232), wantExtraIsize: u16(b, 350),
    blockSize, groupCount,
  };
  return { ok: true, value: s };
}

/** The superblock bytes: `base` (the bytes it was parsed from) with the parsed fields written over it. */
export function emitSuperblock(s: Superblock, base: Uint8Array): Uint8Array {
  const b = base.slice(0, SB_SIZE);
  put32(b, 0, s.inodesCount);
  put32(b, 4, s.blocksCount);
  put32(b, 8, s.rBlocksCount);
  put32(b, 12, s.freeBlocksCount);
  put32(b, 16, s.freeInodesCount);
  put32(b, 20, s.firstDataBlock);
  put32(b, 24, s.logBlockSize);
  put32(b, 32, s.blocksPerGroup);
  put32(b, 40, s.inodesPerGroup);
  put32(b, 44, s.mtime);
  put32(b, 48, s.wtime);
  put16(b, 52, s.mntCount);
  put16(b, 54, s.maxMntCount & 0xffff);
  put16(b, 56, EXT2_MAGIC);
  put16(b, 58, s.state);
  put16(b, 60, s.errors);
  put32(b, 64, s.lastcheck);
  put32(b, 76, s.revLevel);
  put16(b, 80, s.defResuid);
  put16(b, 82, s.defResgid);
  if (s.revLevel > 0) {
    put32(b, 84, s.firstIno);
    put16(b, 88, s.inodeSize);
    put32(b, 92, s.featureCompat);
    put32(b, 96, s.featureIncompat);
    put32(b, 100, s.featureRoCompat);
  }
  put32(b, 232, s.lastOrphan);
  put16(b, 350, s.wantExtraIsize);
  return b;
}

/** Names of the set bits of `mask` not in `supported`, from `names`. */
export function unknownFeatures(mask: number, supported: number, names: Record<number, string>): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const v = 2 ** bit;
    if ((mask & v) !== 0 && (supported & v) === 0) out.push(names[v] ?? `unknown(0x${v.toString(16)})`);
  }
  return out;
}

/** Does group g hold a superblock backup? (sparse_super: 0, 1 and powers of 3, 5, 7.) */
export function groupHasSuper(s: Superblock, g: number): boolean {
  if ((s.featureRoCompat & RO_COMPAT_SPARSE_SUPER) === 0) return true;
  if (g <= 1) return true;
  for (const base of [3, 5, 7]) {
    let p = base;
    while (p < g) p *= base;
    if (p === g) return true;
  }
  return false;
}
