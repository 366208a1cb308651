/**
 * One mounted ext2 file system: the parsed superblock and group
 * descriptors, the in-core inode cache (vcache), the buffer-cache helpers
 * every other file of this folder uses, and the mount-wide lock.
 *
 * Locking: every vnode and vfs operation of an ext2 mount runs under the
 * mount's `ext2` mutex (`withFs`), taken after the VFS's vnode locks; a
 * thread under it holds at most one buffer at a time (bufcache.ts). Lock
 * order: vnode → ext2 → buf. The mutex makes a multi-block change (bitmap,
 * group descriptor, inode, directory block) atomic with respect to other
 * threads, at the price of running one ext2 operation at a time per mount —
 * the single virtual CPU runs one at a time anyway; only disk waits overlap.
 *
 * Inodes in core: a vnode per inode in use, made by `iget` from the inode
 * table and kept in `vcache` while referenced; `iupdate` writes the vnode's
 * attributes and block map back into the inode-table buffer (delayed write)
 * after every change, so eviction at `inactive` needs no write.
 *
 * Corruption: anything read from disk that breaks the format (a block number
 * outside the file system, a record that does not fit, a count that
 * disagrees) is reported by `corrupt(what)`: a dmesg line naming the device,
 * the inode and what was found, s_state gets EXT2_ERROR_FS, and the caller
 * throws EUCLEAN (Linux EFSCORRUPTED).
 *
 * @guardedBy lock: sb, groups, vcache, orphan list and every buffer this
 * mount changes.
 */
import type { Kernel } from '../../kern/kernel.ts';
import { Lwp } from '../../kern/sched.ts';
import { LockClass, Mutex } from '../../kern/lock.ts';
import type { BlockDevice } from '../../kern/blkdev.ts';
import { EUCLEAN, ESTALE, KernelError, err } from '../../kern/errno.ts';
import { makedev } from '../../kern/devsw.ts';
import { S_IFBLK, S_IFCHR, S_IFMT } from '../../kern/constants.ts';
import { type Buf, type BufCache } from '../bufcache.ts';
import { type Mount, Vnode, type VnodeOps } from '../vnode.ts';
import { type Superblock, INCOMPAT_FILETYPE, RO_COMPAT_LARGE_FILE, SB_OFFSET, EXT2_ERROR_FS, emitSuperblock } from './superblock.ts';
import { type GroupDesc, GD_SIZE, emitGroup } from './groups.ts';
import { type Inode, ROOT_INO, decodeDev, emitInode, parseInode } from './inode.ts';

export const EXT2_CLASS = new LockClass('ext2', "an ext2 mount's metadata: bitmaps, group descriptors, inode table, directories");

/** In-core inode (vp.data). */
export interface Ext2Node {
  readonly ino: number;
  /** The parsed on-disk inode; block map, flags, fileAcl, dtime are authoritative here. */
  inode: Inode;
  /** Next logical block a sequential reader will ask for (read-ahead trigger). */
  nextRead: number;
  /** Number of logical blocks read sequentially so far (read-ahead window). */
  seqRun: number;
  /**
   * Directories of several blocks: every name (as a byte string) → inode and file type,
   * built by the first lookup's scan and kept in step by dirio.ts while the vnode lives.
   */
  names?: Map<string, { ino: number; fileType: number }> | null;
}

export function en(vp: Vnode): Ext2Node {
  return vp.data as Ext2Node;
}

export class Ext2Fs {
  readonly k: Kernel;
  readonly mp: Mount;
  readonly dev: BlockDevice;
  readonly bc: BufCache;
  readonly sb: Superblock;
  /** The superblock bytes as read (emit keeps unknown fields). */
  sbRaw: Uint8Array;
  readonly groups: GroupDesc[];
  readonly bs: number;
  /** Block numbers per indirect block. */
  readonly apb: number;
  /** Largest file size in bytes (Linux ext2_max_size). */
  readonly maxBytes: number;
  readonly filetype: boolean;
  readonly lock: Mutex;
  readonly vcache = new Map<number, Vnode>();
  /** Inode frees started by inactive, awaited by sync and umount. */
  readonly pending = new Set<Promise<void>>();
  /** The device was attached by this mount (an image path) and is detached at umount. */
  ownsDevice = false;
  sbDirty = false;
  /** Groups whose descriptor changed since it was last written (flushMeta writes them). */
  readonly gdDirty = new Set<number>();
  /** Unlinked inodes still referenced, head first: the in-core copy of the on-disk orphan chain. */
  readonly orphanList: number[] = [];
  readOnly: boolean;
  vops!: VnodeOps;

  constructor(k: Kernel, mp: Mount, dev: BlockDevice, bc: BufCache, sb: Superblock, sbRaw: Uint8Array, groups: GroupDesc[], readOnly: boolean) {
    this.k = k;
    this.mp = mp;
    this.dev = dev;
    this.bc = bc;
    this.sb = sb;
    this.sbRaw = sbRaw;
    this.groups = groups;
    this.bs = sb.blockSize;
    this.apb = sb.blockSize / 4;
    this.filetype = (sb.featureIncompat & INCOMPAT_FILETYPE) !== 0;
    this.readOnly = readOnly;
    this.lock = new Mutex(k, EXT2_CLASS, `ext2:${dev.name}`);
    const a = this.apb;
    const bits = Math.log2(this.bs);
    // ext2_max_size: what the block map addresses, limited by 32-bit i_blocks (512-byte units) less metadata.
    let upper = Math.floor((2 ** 32 - 1) / 2 ** (bits - 9));
    upper -= 1 + (1 + a) + (1 + a + a * a);
    this.maxBytes = Math.min((12 + a + a * a + a * a * a) * this.bs, upper * this.bs, Number.MAX_SAFE_INTEGER);
  }

  /** Log what is corrupt and return the error to throw (EUCLEAN). */
  corrupt(what: string): KernelError {
    this.k.log('err', `ext2 (${this.dev.name}): corrupt: ${what}`);
    if ((this.sb.state & EXT2_ERROR_FS) === 0 && !this.readOnly) {
      this.sb.state |= EXT2_ERROR_FS;
      this.sbDirty = true;
    }
    return err(EUCLEAN) as KernelError;
  }

  /** Is b a block inside the file system's data area (not the boot block/superblock)? */
  validBlock(b: number): boolean {
    return Number.isInteger(b) && b > this.sb.firstDataBlock && b < this.sb.blocksCount;
  }

  /** Read block b (checked against the file system's size). */
  bread(td: Lwp, b: number, ahead = 0): Promise<Buf> {
    if (!Number.isInteger(b) || b < 0 || b >= this.sb.blocksCount) throw this.corrupt(`block number ${b} is outside the file system (${this.sb.blocksCount} blocks)`);
    return ahead > 0 ? this.bc.breadAhead(td, this.dev, b, this.bs, ahead) : this.bc.bread(td, this.dev, b, this.bs);
  }

  /** A buffer for block b whose old contents do not matter (a new block): zeroed, valid. */
  async bnew(td: Lwp, b: number): Promise<Buf> {
    const bp = await this.bc.getblk(td, this.dev, b, this.bs);
    bp.data.fill(0);
    bp.valid = true;
    return bp;
  }

  // ---- group descriptors and superblock --------------------------------------------------

  /** Write group g's descriptor into its GDT block (delayed). */
  async gdUpdate(td: Lwp, g: number): Promise<void> {
    const off = g * GD_SIZE;
    const blk = this.sb.firstDataBlock + 1 + Math.floor(off / this.bs);
    const bp = await this.bread(td, blk);
    emitGroup(this.groups[g]!, bp.data.subarray(off % this.bs, (off % this.bs) + GD_SIZE));
    this.bc.bdwrite(td, bp);
  }

  /**
   * Put the changed group descriptors and the superblock into their buffers (delayed
   * writes); called before every bflush (fsync, sync, umount). Between two, the bitmaps
   * are the truth and the counts are behind, as e2fsck expects after a crash.
   */
  async flushMeta(td: Lwp): Promise<void> {
    for (const g of [...this.gdDirty].sort((a, b) => a - b)) await this.gdUpdate(td, g);
    this.gdDirty.clear();
    if (this.sbDirty) await this.sbUpdate(td);
  }

  /** Write the primary superblock into its buffer (delayed). */
  async sbUpdate(td: Lwp): Promise<void> {
    const blk = Math.floor(SB_OFFSET / this.bs);
    const bp = await this.bread(td, blk);
    this.sbRaw = emitSuperblock(this.sb, this.sbRaw);
    bp.data.set(this.sbRaw, SB_OFFSET % this.bs);
    this.bc.bdwrite(td, bp);
    this.sbDirty = false;
  }

  /** Mark large_file once a file passes 2 GiB (Linux ext2_update_dynamic_rev + EXT2_SET_RO_COMPAT_FEATURE). */
  noteLargeFile(size: number): void {
    if (size > 0x7fffffff && (this.sb.featureRoCompat & RO_COMPAT_LARGE_FILE) === 0) {
      this.sb.featureRoCompat |= RO_COMPAT_LARGE_FILE;
      this.sbDirty = true;
    }
  }

  // ---- inodes ------------------------------------------------------------------------------

  /** Where inode ino lives: [block, byte offset in it]. */
  inodeLoc(ino: number): [number, number] {
    const g = Math.floor((ino - 1) / this.sb.inodesPerGroup);
    const idx = (ino - 1) % this.sb.inodesPerGroup;
    const byte = idx * this.sb.inodeSize;
    return [this.groups[g]!.inodeTable + Math.floor(byte / this.bs), byte % this.bs];
  }

  /** Is ino a number a directory entry may name? */
  validIno(ino: number): boolean {
    return ino === ROOT_INO || (ino >= this.sb.firstIno && ino <= this.sb.inodesCount);
  }

  /** Read the raw inode (checked) without making a vnode. */
  async readInode(td: Lwp, ino: number): Promise<Inode> {
    const [blk, off] = this.inodeLoc(ino);
    const bp = await this.bread(td, blk);
    const r = parseInode(bp.data.subarray(off, off + this.sb.inodeSize), this.sb.inodeSize, this.maxBytes);
    this.bc.brelse(td, bp);
    if (!r.ok) throw this.corrupt(`inode ${ino}: ${r.why}`);
    return r.value;
  }

  /** The vnode of inode ino, referenced (vcache, else read from the inode table). */
  async iget(td: Lwp, ino: number, from = 0): Promise<Vnode> {
    const cached = this.vcache.get(ino);
    if (cached !== undefined) {
      cached.usecount++;
      cached.mount.refs++;
      return cached;
    }
    if (!this.validIno(ino)) throw this.corrupt(`inode number ${ino}${from ? ` in directory ${from}` : ''} is out of range`);
    const inode = await this.readInode(td, ino);
    if (inode.linksCount === 0) {
      if (from !== 0) throw this.corrupt(`directory ${from} names deleted inode ${ino}`);
      throw err(ESTALE);
    }
    const again = this.vcache.get(ino); // made by someone else while this thread read
    if (again !== undefined) {
      again.usecount++;
      again.mount.refs++;
      return again;
    }
    return this.makeVnode(ino, inode);
  }

  /** A referenced vnode for inode ino (not cached yet) from its parsed inode. */
  makeVnode(ino: number, inode: Inode): Vnode {
    const type = inode.mode & S_IFMT;
    let rdev = 0;
    if (type === S_IFCHR || type === S_IFBLK) {
      const d = decodeDev(inode.block);
      rdev = makedev(d.major, d.minor);
    }
    const node: Ext2Node = { ino, inode, nextRead: 0, seqRun: 0 };
    const vp = new Vnode(this.mp, ino, this.vops, node, { mode: inode.mode, uid: inode.uid, gid: inode.gid, rdev }, inode.mtime);
    this.loadAttrs(vp);
    this.vcache.set(ino, vp);
    vp.usecount++;
    vp.mount.refs++;
    return vp;
  }

  /** Copy the parsed inode's attributes into the vnode. */
  loadAttrs(vp: Vnode): void {
    const i = en(vp).inode;
    vp.mode = i.mode;
    vp.uid = i.uid;
    vp.gid = i.gid;
    vp.nlink = i.linksCount;
    vp.size = i.size;
    vp.blocks = i.blocks;
    vp.atime = i.atime;
    vp.mtime = i.mtime;
    vp.ctime = i.ctime;
    vp.btime = i.crtime;
  }

  /** Write the vnode's attributes and block map into the inode table (delayed write). */
  async iupdate(td: Lwp, vp: Vnode): Promise<void> {
    const n = en(vp);
    const i = n.inode;
    i.mode = vp.mode;
    i.uid = vp.uid;
    i.gid = vp.gid;
    i.linksCount = vp.nlink;
    i.size = vp.size;
    i.blocks = vp.blocks;
    i.atime = vp.atime;
    i.mtime = vp.mtime;
    i.ctime = vp.ctime;
    i.crtime = vp.btime;
    await this.writeInode(td, n.ino, i);
  }

  /** Write inode ino; `fresh` clears the slot first (a new inode keeps nothing of an old one). */
  async writeInode(td: Lwp, ino: number, i: Inode, fresh = false): Promise<void> {
    const [blk, off] = this.inodeLoc(ino);
    const bp = await this.bread(td, blk);
    const slot = bp.data.subarray(off, off + this.sb.inodeSize);
    if (fresh) slot.fill(0);
    emitInode(i, slot, this.sb.inodeSize);
    this.bc.bdwrite(td, bp);
  }
}

/** A thread for work without a caller's (inactive, FUSE calls with td null). */
export function fsThread(k: Kernel, td: Lwp | null, name: string): Lwp {
  return td ?? new Lwp(k, k.proc0, name);
}

/** Run fn under the mount's ext2 lock. */
export async function withFs<T>(mp: Mount, td0: Lwp | null, fn: (fs: Ext2Fs, td: Lwp) => Promise<T>): Promise<T> {
  const fs = mp.fsdata as Ext2Fs;
  const td = fsThread(fs.k, td0, 'ext2');
  const l = fs.lock.enter(td);
  using g = l instanceof Promise ? await l : l;
  return await fn(fs, td);
}
