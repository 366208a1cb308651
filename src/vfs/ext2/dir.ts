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
 * `parseDirBlock` checks each record as Linux's ext2_check_page does
 * (minimum and aligned rec_len, room for the name, no record crossing the
 * block, inode number in range) and answers the records or what was wrong;
 * `emitDirent` writes one record.
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

/** Parse every record of one directory block. */
export function parseDirBlock(b: Uint8Array, filetype: boolean, inodesCount: number): Parsed<Dirent[]> {
  const bs = b.byteLength;
  const out: Dirent[] = [];
  let off = 0;
  while (off < bs) {
    if (off + 8 > bs) return fail(`record at ${off} runs past the block`);
    const ino = u32(b, off);
    const recLen = recLenFromDisk(u16(b, off + 4), bs);
    const nameLen = filetype ? b[off + 6]! : u16(b, off + 6) & 0xff;
    if (recLen < recLenFor(1)) return fail(`rec_len ${recLen} at ${off} is smaller than minimal`);
    if ((recLen & 3) !== 0) return fail(`rec_len ${recLen} at ${off} is unaligned`);
    if (recLen < recLenFor(ino === 0 ? 0 : nameLen)) return fail(`rec_len ${recLen} at ${off} is too small for name_len ${nameLen}`);
    if (off + recLen > bs) return fail(`record at ${off} (rec_len ${recLen}) crosses the block end`);
    if (ino > inodesCount) return fail(`record at ${off} names inode ${ino} (only ${inodesCount})`);
    if (ino !== 0 && nameLen === 0) return fail(`record at ${off} has an empty name`);
    out.push({ off, ino, recLen, name: b.subarray(off + 8, off + 8 + nameLen), fileType: filetype ? b[off + 7]! : 0 });
    off += recLen;
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

/** Do two byte strings match? */
export function nameEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
