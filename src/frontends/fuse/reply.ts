/**
 * FUSE replies: `emit*` functions that return one Uint8Array = fuse_out_header + body, ready for a
 * single write(2), and DirentPacker for READDIR/READDIRPLUS. Layouts are the 7.31 ones from Linux
 * `include/uapi/linux/fuse.h`; little-endian, 8-byte aligned.
 */
import {
  ATTR_OUT_SIZE, BMAP_OUT_SIZE, DIRENTPLUS_HEADER_SIZE, DIRENT_HEADER_SIZE, ENTRY_OUT_SIZE,
  GETXATTR_OUT_SIZE, INIT_OUT_SIZE, LK_OUT_SIZE, LSEEK_OUT_SIZE, OPEN_OUT_SIZE, OUT_HEADER_SIZE,
  STATFS_OUT_SIZE, WRITE_OUT_SIZE,
} from './abi.ts';
import type { FileLock, Timespec } from './abi.ts';

// ---------------------------------------------------------------------------------------------
// Reply values

/** struct fuse_attr. Times are seconds + nanoseconds; `size`/`blocks` are numbers (≤ 2^53-1). */
export interface FuseAttr {
  ino: number;
  size: number;
  /** 512-byte blocks allocated */
  blocks: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  /** new_encode_dev(): (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12) — glibc makedev's low 32 bits */
  rdev: number;
  blksize: number;
}

/** The DT_* type for a mode (S_IFMT >> 12): DT_DIR 4, DT_REG 8, DT_LNK 10, DT_CHR 2, DT_BLK 6, DT_FIFO 1, DT_SOCK 12. */
export function direntType(mode: number): number {
  return (mode >>> 12) & 0o17;
}

/**
 * struct fuse_entry_out. A kernel `Stat` (docs/ARCHITECTURE.md: ino, size, blocks, atime… as {sec, nsec})
 * already has FuseAttr's shape. Replying to LOOKUP with nodeid 0 and an entryTimeout caches a
 * negative entry (the kernel treats it as ENOENT without asking again until the timeout).
 */
export interface EntryOut {
  nodeid: number;
  generation: number;
  /** Timeouts are in seconds (fractions allowed); 0 = don't cache. */
  entryTimeout: number;
  attrTimeout: number;
  attr: FuseAttr;
}

export interface AttrOut {
  attrTimeout: number;
  attr: FuseAttr;
}

export interface OpenOut {
  fh: number;
  /** FOPEN_* bits */
  openFlags: number;
}

export interface StatfsOut {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
  frsize: number;
}

export interface InitOut {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  /** timestamp granularity in ns (1 = full nanoseconds) */
  timeGran: number;
  maxPages: number;
}

/** One directory entry. `off` is the cookie of the *next* entry (what READDIR passes back). */
export interface Dirent {
  ino: number;
  off: number;
  /** DT_* type: S_IFMT bits >> 12 (DT_DIR 4, DT_REG 8, DT_LNK 10, …), 0 if unknown */
  type: number;
  name: string;
}

// ---------------------------------------------------------------------------------------------
// Emitting

const utf8enc = new TextEncoder();

function setU64(dv: DataView, off: number, v: number): void {
  // v is a non-negative safe integer; split without BigInt to keep the hot path cheap.
  dv.setUint32(off, v >>> 0, true);
  dv.setUint32(off + 4, Math.floor(v / 0x1_0000_0000) >>> 0, true);
}

function setI64(dv: DataView, off: number, v: number): void {
  dv.setBigInt64(off, BigInt(Math.trunc(v)), true);
}

/** Split a timeout in seconds into (u64 sec, u32 nsec) at `off`, `nsecOff`. */
function setTimeout64(dv: DataView, off: number, nsecOff: number, seconds: number): void {
  const s = seconds > 0 && Number.isFinite(seconds) ? seconds : 0;
  const whole = Math.floor(s);
  setU64(dv, off, whole);
  dv.setUint32(nsecOff, Math.min(999_999_999, Math.round((s - whole) * 1e9)), true);
}

/** struct fuse_out_header { u32 len; i32 error; u64 unique; } — `error` is 0 or -errno. */
export function writeOutHeader(dv: DataView, len: number, error: number, unique: bigint): void {
  dv.setUint32(0, len, true);
  dv.setInt32(4, error, true);
  dv.setBigUint64(8, unique, true);
}

/** Allocate a reply of OUT_HEADER_SIZE + bodyLen bytes with its header filled in (error 0). */
function reply(unique: bigint, bodyLen: number): { buf: Uint8Array; dv: DataView } {
  const buf = new Uint8Array(OUT_HEADER_SIZE + bodyLen);
  const dv = new DataView(buf.buffer);
  writeOutHeader(dv, buf.length, 0, unique);
  return { buf, dv };
}

/** An error reply: header only, error = -errno. `errno` may be given positive or negative. */
export function emitError(unique: bigint, errno: number): Uint8Array {
  const { buf, dv } = reply(unique, 0);
  dv.setInt32(4, -Math.abs(errno), true);
  return buf;
}

/** A success reply with no body (UNLINK, RELEASE, FLUSH, SETLK, …). */
export function emitEmpty(unique: bigint): Uint8Array {
  return reply(unique, 0).buf;
}

/** ArrayBuffers made by allocReplyData: room for the out header sits in front of the data. */
const replyBuffers = new WeakSet<ArrayBufferLike>();
/**
 * Free reply buffers by size class (powers of two from 8 KiB), reused after `recycleReply`:
 * a 1 MiB READ would otherwise allocate (and zero) a fresh buffer every time, and the garbage
 * collector would spend more time than the copying. @guardedBy the main thread
 */
const freeReplies = new Map<number, ArrayBuffer[]>();
const MAX_FREE_PER_CLASS = 32;

function sizeClass(n: number): number {
  let c = 8192;
  while (c < n) c *= 2;
  return c;
}

/**
 * A `size`-byte buffer for a READ reply's data with the out header's 16 bytes reserved in front,
 * so `emitData` sends it without copying (fill it, then return it or a prefix subarray of it).
 * The bytes are not zeroed (the buffer may be a recycled one): the handler must write every
 * byte it returns.
 */
export function allocReplyData(size: number): Uint8Array {
  const cls = sizeClass(OUT_HEADER_SIZE + size);
  const ab = freeReplies.get(cls)?.pop() ?? new ArrayBuffer(cls);
  replyBuffers.add(ab);
  return new Uint8Array(ab, OUT_HEADER_SIZE, size);
}

/** Give a reply's buffer back once it has been written (a no-op for other buffers). */
export function recycleReply(reply: Uint8Array): void {
  const ab = reply.buffer as ArrayBuffer;
  if (reply.byteOffset !== 0 || !replyBuffers.has(ab)) return;
  let list = freeReplies.get(ab.byteLength);
  if (list === undefined) freeReplies.set(ab.byteLength, (list = []));
  if (list.length < MAX_FREE_PER_CLASS && !list.includes(ab)) list.push(ab);
}

/** A success reply whose body is raw bytes (READ, READLINK, READDIR, READDIRPLUS, GETXATTR). */
export function emitData(unique: bigint, data: Uint8Array): Uint8Array {
  if (data.byteOffset === OUT_HEADER_SIZE && replyBuffers.has(data.buffer)) {
    // Made by allocReplyData: write the header in front of the data, no copy.
    const buf = new Uint8Array(data.buffer, 0, OUT_HEADER_SIZE + data.length);
    writeOutHeader(new DataView(data.buffer, 0, OUT_HEADER_SIZE), buf.length, 0, unique);
    return buf;
  }
  const { buf } = reply(unique, data.length);
  buf.set(data, OUT_HEADER_SIZE);
  return buf;
}

/** struct fuse_attr at `off` (88 bytes). */
export function writeAttr(dv: DataView, off: number, a: FuseAttr): void {
  setU64(dv, off + 0, a.ino);
  setU64(dv, off + 8, a.size);
  setU64(dv, off + 16, a.blocks);
  setI64(dv, off + 24, a.atime.sec);
  setI64(dv, off + 32, a.mtime.sec);
  setI64(dv, off + 40, a.ctime.sec);
  dv.setUint32(off + 48, a.atime.nsec, true);
  dv.setUint32(off + 52, a.mtime.nsec, true);
  dv.setUint32(off + 56, a.ctime.nsec, true);
  dv.setUint32(off + 60, a.mode, true);
  dv.setUint32(off + 64, a.nlink, true);
  dv.setUint32(off + 68, a.uid, true);
  dv.setUint32(off + 72, a.gid, true);
  dv.setUint32(off + 76, a.rdev, true);
  dv.setUint32(off + 80, a.blksize, true);
  dv.setUint32(off + 84, 0, true); // flags (7.32+) / padding
}

/** struct fuse_entry_out at `off` (128 bytes). */
export function writeEntryOut(dv: DataView, off: number, e: EntryOut): void {
  setU64(dv, off + 0, e.nodeid);
  setU64(dv, off + 8, e.generation);
  setTimeout64(dv, off + 16, off + 32, e.entryTimeout);
  setTimeout64(dv, off + 24, off + 36, e.attrTimeout);
  writeAttr(dv, off + 40, e.attr);
}

export function emitEntryOut(unique: bigint, e: EntryOut): Uint8Array {
  const { buf, dv } = reply(unique, ENTRY_OUT_SIZE);
  writeEntryOut(dv, OUT_HEADER_SIZE, e);
  return buf;
}

/** struct fuse_attr_out { u64 attr_valid; u32 attr_valid_nsec; u32 dummy; struct fuse_attr attr; } */
export function emitAttrOut(unique: bigint, a: AttrOut): Uint8Array {
  const { buf, dv } = reply(unique, ATTR_OUT_SIZE);
  setTimeout64(dv, OUT_HEADER_SIZE, OUT_HEADER_SIZE + 8, a.attrTimeout);
  writeAttr(dv, OUT_HEADER_SIZE + 16, a.attr);
  return buf;
}

function writeOpenOut(dv: DataView, off: number, o: OpenOut): void {
  // struct fuse_open_out { u64 fh; u32 open_flags; u32 padding; }
  setU64(dv, off, o.fh);
  dv.setUint32(off + 8, o.openFlags, true);
}

export function emitOpenOut(unique: bigint, o: OpenOut): Uint8Array {
  const { buf, dv } = reply(unique, OPEN_OUT_SIZE);
  writeOpenOut(dv, OUT_HEADER_SIZE, o);
  return buf;
}

/** CREATE replies with fuse_entry_out followed by fuse_open_out. */
export function emitCreateOut(unique: bigint, e: EntryOut, o: OpenOut): Uint8Array {
  const { buf, dv } = reply(unique, ENTRY_OUT_SIZE + OPEN_OUT_SIZE);
  writeEntryOut(dv, OUT_HEADER_SIZE, e);
  writeOpenOut(dv, OUT_HEADER_SIZE + ENTRY_OUT_SIZE, o);
  return buf;
}

/** struct fuse_write_out { u32 size; u32 padding; } */
export function emitWriteOut(unique: bigint, size: number): Uint8Array {
  const { buf, dv } = reply(unique, WRITE_OUT_SIZE);
  dv.setUint32(OUT_HEADER_SIZE, size, true);
  return buf;
}

/** struct fuse_getxattr_out { u32 size; u32 padding; } — the size-probe reply of GETXATTR/LISTXATTR. */
export function emitXattrSize(unique: bigint, size: number): Uint8Array {
  const { buf, dv } = reply(unique, GETXATTR_OUT_SIZE);
  dv.setUint32(OUT_HEADER_SIZE, size, true);
  return buf;
}

/** struct fuse_kstatfs { u64 blocks, bfree, bavail, files, ffree; u32 bsize, namelen, frsize, padding; u32 spare[6]; } */
export function emitStatfsOut(unique: bigint, s: StatfsOut): Uint8Array {
  const { buf, dv } = reply(unique, STATFS_OUT_SIZE);
  const o = OUT_HEADER_SIZE;
  setU64(dv, o + 0, s.blocks);
  setU64(dv, o + 8, s.bfree);
  setU64(dv, o + 16, s.bavail);
  setU64(dv, o + 24, s.files);
  setU64(dv, o + 32, s.ffree);
  dv.setUint32(o + 40, s.bsize, true);
  dv.setUint32(o + 44, s.namelen, true);
  dv.setUint32(o + 48, s.frsize, true);
  return buf;
}

/**
 * struct fuse_init_out (64 bytes at 7.23+): { u32 major, minor, max_readahead, flags;
 * u16 max_background, congestion_threshold; u32 max_write, time_gran; u16 max_pages,
 * map_alignment; u32 unused[8]; }
 */
export function emitInitOut(unique: bigint, i: InitOut): Uint8Array {
  const { buf, dv } = reply(unique, INIT_OUT_SIZE);
  const o = OUT_HEADER_SIZE;
  dv.setUint32(o + 0, i.major, true);
  dv.setUint32(o + 4, i.minor, true);
  dv.setUint32(o + 8, i.maxReadahead, true);
  dv.setUint32(o + 12, i.flags, true);
  dv.setUint16(o + 16, i.maxBackground, true);
  dv.setUint16(o + 18, i.congestionThreshold, true);
  dv.setUint32(o + 20, i.maxWrite, true);
  dv.setUint32(o + 24, i.timeGran, true);
  dv.setUint16(o + 28, i.maxPages, true);
  return buf;
}

/** struct fuse_lk_out { struct fuse_file_lock lk; } */
export function emitLkOut(unique: bigint, lk: FileLock): Uint8Array {
  const { buf, dv } = reply(unique, LK_OUT_SIZE);
  const o = OUT_HEADER_SIZE;
  dv.setBigUint64(o, BigInt.asUintN(64, lk.start), true);
  dv.setBigUint64(o + 8, BigInt.asUintN(64, lk.end), true);
  dv.setUint32(o + 16, lk.type, true);
  dv.setUint32(o + 20, lk.pid, true);
  return buf;
}

/** struct fuse_lseek_out { u64 offset; } */
export function emitLseekOut(unique: bigint, offset: number): Uint8Array {
  const { buf, dv } = reply(unique, LSEEK_OUT_SIZE);
  setU64(dv, OUT_HEADER_SIZE, offset);
  return buf;
}

/** struct fuse_bmap_out { u64 block; } */
export function emitBmapOut(unique: bigint, block: bigint): Uint8Array {
  const { buf, dv } = reply(unique, BMAP_OUT_SIZE);
  dv.setBigUint64(OUT_HEADER_SIZE, BigInt.asUintN(64, block), true);
  return buf;
}

/** READLINK replies with the target bytes, no NUL. */
export function emitReadlink(unique: bigint, target: string | Uint8Array): Uint8Array {
  return emitData(unique, typeof target === 'string' ? utf8enc.encode(target) : target);
}

// ---------------------------------------------------------------------------------------------
// Directory packing

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * Packs struct fuse_dirent / fuse_direntplus records (each 8-byte aligned, padding zeroed) into a
 * buffer of at most `size` bytes — the `size` of the READDIR(PLUS) request. `add` returns false,
 * adding nothing, once the next record would not fit: the caller stops there and the kernel asks
 * again from the last added entry's `off`.
 *
 *   struct fuse_dirent { u64 ino; u64 off; u32 namelen; u32 type; char name[]; }
 *   struct fuse_direntplus { struct fuse_entry_out entry_out; struct fuse_dirent dirent; }
 *
 * For READDIRPLUS every added record with a non-zero entry.nodeid counts as one LOOKUP for that
 * node (the kernel will FORGET it later), exactly as if LOOKUP had replied with it; entries that
 * `add` refused were never sent and must not be counted.
 */
export class DirentPacker {
  private readonly buf: Uint8Array;
  private readonly dv: DataView;
  private len = 0;
  count = 0;

  constructor(readonly size: number, readonly plus: boolean) {
    this.buf = new Uint8Array(Math.max(0, Math.min(size, 1 << 20)));
    this.dv = new DataView(this.buf.buffer);
  }

  /** `entry` is required (and only used) when packing READDIRPLUS. */
  add(d: Dirent, entry?: EntryOut): boolean {
    const name = utf8enc.encode(d.name);
    const head = this.plus ? DIRENTPLUS_HEADER_SIZE : DIRENT_HEADER_SIZE;
    const rec = align8(head + name.length);
    if (this.len + rec > this.buf.length) return false;
    let o = this.len;
    if (this.plus) {
      if (entry) writeEntryOut(this.dv, o, entry); // else stays zeroed: nodeid 0, no lookup
      o += ENTRY_OUT_SIZE;
    }
    setU64(this.dv, o, d.ino);
    setU64(this.dv, o + 8, d.off);
    this.dv.setUint32(o + 16, name.length, true);
    this.dv.setUint32(o + 20, d.type, true);
    this.buf.set(name, o + DIRENT_HEADER_SIZE);
    this.len += rec;
    this.count++;
    return true;
  }

  /** The packed bytes (a view; padding bytes are zero because the buffer starts zeroed). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
