/**
 * ext2 on-disk inodes (struct ext2_inode, 128 bytes, plus the ext4 "extra"
 * fields of larger inodes: i_extra_isize, nanosecond parts of ctime, mtime,
 * atime, and the creation time). Inode numbers start at 1; inode n lives in
 * group (n-1) / s_inodes_per_group at index (n-1) % s_inodes_per_group of
 * that group's inode table. Layout: e2fsprogs lib/ext2fs/ext2_fs.h.
 *
 * Times: a 32-bit signed seconds field; with an extra field, its low 2 bits
 * extend the seconds (epoch bits 32-33) and its upper 30 bits are the
 * nanoseconds (ext4 "inode timestamps" in Documentation/filesystems/ext4).
 * Owners: 16 low bits in the base inode, 16 high bits in osd2 (Linux).
 * Size: i_size plus i_size_high (i_dir_acl) for regular files (large_file).
 *
 * `parseInode` checks what later code relies on (mode type, size within
 * what the block map can address); `emitInode` writes the parsed fields over
 * the inode's original bytes, so in-inode extended attributes and fields
 * not interpreted here are kept.
 */
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../../kern/constants.ts';
import type { Timespec } from '../../kern/file.ts';
import { type Parsed, fail, put16, put32, u16, u32 } from './superblock.ts';

export const ROOT_INO = 2;
export const N_DIRECT = 12;
export const IND_BLOCK = 12;
export const DIND_BLOCK = 13;
export const TIND_BLOCK = 14;
/** i_flags: hashed-indexed directory (dir_index). */
export const EXT2_INDEX_FL = 0x1000;
/** Flags Linux's ext2 does not implement and this driver refuses to write through. */
export const EXT4_EXTENTS_FL = 0x80000;
export const EXT4_INLINE_DATA_FL = 0x10000000;
/** Largest extra size the base 128 + extra may use (the ext4 extra fields end at 160). */
const EXTRA_END = 160;

export interface Inode {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atime: Timespec;
  ctime: Timespec;
  mtime: Timespec;
  crtime: Timespec;
  dtime: number;
  linksCount: number;
  /** 512-byte sectors, indirect blocks included. */
  blocks: number;
  flags: number;
  /** i_block[0..14]: block map, or a fast symlink's target, or a device number. */
  block: number[];
  generation: number;
  fileAcl: number;
  /** i_extra_isize (0 for 128-byte inodes). */
  extraIsize: number;
}

function getTime(b: Uint8Array, off: number, extraOff: number, extraIsize: number): Timespec {
  const lo = (u32(b, off) << 0) | 0; // signed 32-bit
  if (128 + extraIsize < extraOff + 4) return { sec: lo, nsec: 0 };
  const extra = u32(b, extraOff);
  // ext4_decode_extra_time: seconds += (extra & EPOCH_MASK) << 32; nsec = extra >> 2.
  const nsec = extra >>> 2;
  return { sec: lo + (extra & 3) * 2 ** 32, nsec: nsec < 1e9 ? nsec : 0 };
}

function putTime(b: Uint8Array, off: number, extraOff: number, extraIsize: number, t: Timespec): void {
  put32(b, off, t.sec >>> 0);
  if (128 + extraIsize < extraOff + 4) return;
  // ext4_encode_extra_time: the epoch bits are (sec - (s32)sec) >> 32.
  const epoch = Math.floor((t.sec - (t.sec | 0)) / 2 ** 32) & 3;
  put32(b, extraOff, ((t.nsec << 2) | epoch) >>> 0);
}

const TYPES = new Set([S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK]);

/** Parse the `inodeSize` bytes of an inode in use (links > 0 or an orphan); `maxBytes` bounds i_size. */
export function parseInode(b: Uint8Array, inodeSize: number, maxBytes: number): Parsed<Inode> {
  const mode = u16(b, 0);
  if (!TYPES.has(mode & S_IFMT)) return fail(`mode 0${mode.toString(8)} has no valid file type`);
  let extraIsize = 0;
  if (inodeSize > 128) {
    extraIsize = u16(b, 128);
    if (extraIsize > inodeSize - 128 || (extraIsize & 3) !== 0) return fail(`i_extra_isize ${extraIsize} is invalid`);
  }
  const isReg = (mode & S_IFMT) === S_IFREG;
  const size = u32(b, 4) + (isReg || (mode & S_IFMT) === S_IFDIR ? u32(b, 108) * 2 ** 32 : 0);
  if (size > maxBytes) return fail(`size ${size} exceeds the largest file the block map holds (${maxBytes})`);
  const block: number[] = [];
  for (let i = 0; i < 15; i++) block.push(u32(b, 40 + 4 * i));
  const ino: Inode = {
    mode,
    uid: u16(b, 2) | (u16(b, 120) << 16),
    gid: u16(b, 24) | (u16(b, 122) << 16),
    size,
    atime: getTime(b, 8, 140, extraIsize),
    ctime: getTime(b, 12, 132, extraIsize),
    mtime: getTime(b, 16, 136, extraIsize),
    crtime: 128 + extraIsize >= 152 ? getTime(b, 144, 148, extraIsize) : { sec: 0, nsec: 0 },
    dtime: u32(b, 20),
    linksCount: u16(b, 26),
    blocks: u32(b, 28) + u16(b, 116) * 2 ** 32,
    flags: u32(b, 32),
    block,
    generation: u32(b, 100),
    fileAcl: u32(b, 104),
    extraIsize,
  };
  ino.uid >>>= 0;
  ino.gid >>>= 0;
  return { ok: true, value: ino };
}

/** Write an inode's fields over `into` (its inodeSize bytes; other bytes kept). */
export function emitInode(ino: Inode, into: Uint8Array, inodeSize: number): void {
  const extra = inodeSize > 128 ? Math.min(ino.extraIsize, inodeSize - 128, EXTRA_END - 128) : 0;
  put16(into, 0, ino.mode);
  put16(into, 2, ino.uid & 0xffff);
  put32(into, 4, ino.size % 2 ** 32);
  put32(into, 20, ino.dtime);
  put16(into, 24, ino.gid & 0xffff);
  put16(into, 26, ino.linksCount);
  put32(into, 28, ino.blocks % 2 ** 32);
  put32(into, 32, ino.flags);
  for (let i = 0; i < 15; i++) put32(into, 40 + 4 * i, ino.block[i]!);
  put32(into, 100, ino.generation);
  put32(into, 104, ino.fileAcl);
  put32(into, 108, Math.floor(ino.size / 2 ** 32));
  put16(into, 116, Math.floor(ino.blocks / 2 ** 32) & 0xffff);
  put16(into, 120, ino.uid >>> 16);
  put16(into, 122, ino.gid >>> 16);
  if (inodeSize > 128) put16(into, 128, extra);
  putTime(into, 8, 140, extra, ino.atime);
  putTime(into, 12, 132, extra, ino.ctime);
  putTime(into, 16, 136, extra, ino.mtime);
  if (128 + extra >= 152) putTime(into, 144, 148, extra, ino.crtime);
}

/** A device number from i_block (old 16-bit encoding in [0], else the new one in [1]); Linux ext2_read_inode. */
export function decodeDev(block: number[]): { major: number; minor: number } {
  const old = block[0]!;
  if (old !== 0) return { major: (old >>> 8) & 0xff, minor: old & 0xff };
  const n = block[1]!;
  return { major: (n & 0xfff00) >>> 8, minor: (n & 0xff) | ((n >>> 12) & 0xfff00) };
}

/** Store a device number in i_block as Linux ext2 does (old encoding when it fits). */
export function encodeDev(block: number[], major: number, minor: number): void {
  if (major < 256 && minor < 256) {
    block[0] = (major << 8) | minor;
    block[1] = 0;
  } else {
    block[0] = 0;
    block[1] = ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
  }
  block[2] = 0;
}
