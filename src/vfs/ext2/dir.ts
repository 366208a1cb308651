/**
 * ext2 directory entries (struct ext2_dir_entry_2): a directory's data
 * blocks are each a chain of variable-length records,
 *
 *     u32 inode   u16 rec_len   u8 name_len   u8 file_type   name[name_len]
 *
 * where rec_len reaches the next record (the last one reaches the block's
 * end), inode 0 marks an unused record, and file_type (with the filetype
 * feature; otherwise name_len is 16 bits) is 1 regular, 2 directory,
 * 3 char device, 4 block device, 5 FIFO, 6 socket, 7 symlink. A record
 * needs 8 + name_len bytes rounded up to 4 (EXT2_DIR_REC_LEN). An htree
 * (dir_index) directory is the same underneath: its index blocks look like
 * one unused record filling the block, and its root hides the index inside
 * the slack of the '..' record, so reading linearly sees every name.
 *
 * `checkDirBlock` checks each record as Linux's ext2_check_page does
 * (minimum and aligned rec_len, room for the name, no record crossing the
 * block, inode number in range) without allocating and answers what was
 * wrong, if anything; the `dirent*` accessors then read records in place,
 * and `parseDirBlock` answers them as values. `emitDirent` writes one record.
 */
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../../kern/constants.ts';
import { DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN } from '../vnode.ts';
import { type Parsed, fail, put16, put32, u16, u32 } from './superblock.ts';

export interface Dirent {
  /** Byte offset of the record in its block. */
  off: number;
  ino: number;
  recLen: number;
  /** Name bytes (a view into the block). */
  name: Uint8Array;
  /** EXT2_FT_* (0 without the filetype feature). */
  fileType: number;
}

export const EXT2_NAME_LEN = 255;

/** EXT2_DIR_REC_LEN: bytes a record with a name of n bytes needs. */
export function recLenFor(n: number): number {
  return (8 + n + 3) & ~3;
}

/** rec_len as stored (65536-byte blocks store it in 16 bits: ext2_rec_len_from_disk). */
function recLenFromDisk(v: number, bs: number): number {
  return v === 65535 || v === 0 ? bs : v;
}
function recLenToDisk(v: number): number {
  return v >= 65536 ? 65535 : v;
}

/**
 * Check every record of one directory block without allocating: null when
 * the block is well formed, else what is wrong. After a null answer the
 * accessors below may walk the block (`off += direntRecLen(b, off)` from 0
 * reaches the end exactly) for as long as its bytes do not change.
 */
export function checkDirBlock(b: Uint8Array, filetype: boolean, inodesCount: number): string | null {
  const bs = b.byteLength;
  let off = 0;
  while (off < bs) {
    if (off + 8 > bs) return `record at ${off} runs past the block`;
    const ino = u32(b, off);
    const recLen = recLenFromDisk(u16(b, off + 4), bs);
    const nameLen = filetype ? b[off + 6]! : u16(b, off + 6) & 0xff;
    if (recLen < 12) return `rec_len ${recLen} at ${off} is smaller than minimal`;
    if ((recLen & 3) !== 0) return `rec_len ${recLen} at ${off} is unaligned`;
    if (recLen < recLenFor(ino === 0 ? 0 : nameLen)) return `rec_len ${recLen} at ${off} is too small for name_len ${nameLen}`;
    if (off + recLen > bs) return `record at ${off} (rec_len ${recLen}) crosses the block end`;
    if (ino > inodesCount) return `record at ${off} names inode ${ino} (only ${inodesCount})`;
    if (ino !== 0 && nameLen === 0) return `record at ${off} has an empty name`;
    off += recLen;
  }
  return null;
}

/** Inode number of the record at `off` (0: unused). */
export function direntIno(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16)) + b[off + 3]! * 0x1000000;
}
/** rec_len of the record at `off`, decoded. */
export function direntRecLen(b: Uint8Array, off: number): number {
  return recLenFromDisk(b[off + 4]! | (b[off + 5]! << 8), b.byteLength);
}
/** name_len of the record at `off` (its low byte only without the filetype feature). */
export function direntNameLen(b: Uint8Array, off: number): number {
  return b[off + 6]!;
}
/** EXT2_FT_* of the record at `off` (0 without the filetype feature). */
export function direntFileType(b: Uint8Array, off: number, filetype: boolean): number {
  return filetype ? b[off + 7]! : 0;
}
/** Is the name of the record at `off` exactly `name`? */
export function direntNameIs(b: Uint8Array, off: number, name: Uint8Array): boolean {
  const n = name.byteLength;
  if (b[off + 6] !== n) return false;
  const p = off + 8;
  for (let i = 0; i < n; i++) if (b[p + i] !== name[i]) return false;
  return true;
}

/** Parse every record of one directory block (checkDirBlock, then the records). */
export function parseDirBlock(b: Uint8Array, filetype: boolean, inodesCount: number): Parsed<Dirent[]> {
  const why = checkDirBlock(b, filetype, inodesCount);
  if (why !== null) return fail(why);
  const out: Dirent[] = [];
  for (let off = 0; off < b.byteLength; off += direntRecLen(b, off)) {
    const nameLen = direntNameLen(b, off);
    out.push({ off, ino: direntIno(b, off), recLen: direntRecLen(b, off), name: b.subarray(off + 8, off + 8 + nameLen), fileType: direntFileType(b, off, filetype) });
  }
  return { ok: true, value: out };
}

/** Write one record at `off`. */
export function emitDirent(b: Uint8Array, off: number, ino: number, recLen: number, name: Uint8Array, fileType: number, filetype: boolean): void {
  put32(b, off, ino);
  put16(b, off + 4, recLenToDisk(recLen));
  b[off + 6] = name.byteLength;
  b[off + 7] = filetype ? fileType : 0;
  b.set(name, off + 8);
  // Zero the pad after the name: e2fsck does not care, but a stale name tail leaks old bytes.
  b.fill(0, off + 8 + name.byteLength, Math.min(off + recLenFor(name.byteLength), off + recLen));
}

/** Change just the inode number of the record at `off`. */
export function setDirentIno(b: Uint8Array, off: number, ino: number): void {
  put32(b, off, ino);
}
export function setDirentRecLen(b: Uint8Array, off: number, recLen: number): void {
  put16(b, off + 4, recLenToDisk(recLen));
}
export function setDirentType(b: Uint8Array, off: number, fileType: number, filetype: boolean): void {
  if (filetype) b[off + 7] = fileType;
}

/** EXT2_FT_* for a mode. */
export function fileTypeOf(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG: return 1;
    case S_IFDIR: return 2;
    case S_IFCHR: return 3;
    case S_IFBLK: return 4;
    case S_IFIFO: return 5;
    case S_IFSOCK: return 6;
    case S_IFLNK: return 7;
    default: return 0;
  }
}

const FT_TO_DT = [DT_UNKNOWN, DT_REG, DT_DIR, DT_CHR, DT_BLK, DT_FIFO, DT_SOCK, DT_LNK];
/** d_type for an EXT2_FT_* value. */
export function dtypeOf(ft: number): number {
  return FT_TO_DT[ft] ?? DT_UNKNOWN;
}
