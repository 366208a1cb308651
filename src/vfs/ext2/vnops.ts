/**
 * ext2 vnode operations: the VnodeOps the VFS calls (vnode.ts), each run
 * under the mount's ext2 lock (`withFs`), updating the on-disk inode of
 * every object it changes (iupdate) before it returns. Times and link
 * counts follow POSIX as tmpfs does (see the comments there); Linux's
 * fs/ext2/namei.c is the model for the order of steps.
 *
 * Unlinked but open files (and removed directories still referenced): the
 * inode keeps its blocks and joins the on-disk orphan list (s_last_orphan,
 * chained through i_dtime, as ext3/4 and e2fsck use it) until the last
 * reference goes; then `inactive` frees its blocks and the inode. A crash in
 * between leaves the list for the next read-write mount (or e2fsck) to
 * finish.
 */
import type { Lwp } from '../../kern/sched.ts';
import { EINVAL, ENAMETOOLONG, ENOENT, ENOTEMPTY, err } from '../../kern/errno.ts';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT } from '../../kern/constants.ts';
import { major, minor } from '../../kern/devsw.ts';
import { type NewAttrs, type Vnode, type VnodeOps, vfsNow } from '../vnode.ts';
import { type Ext2Fs, en, fsThread, withFs } from './fs.ts';
import { allocInode, freeBlock, freeInode } from './alloc.ts';
import { bmapAlloc, bmap, truncateBlocks } from './bmap.ts';
import { fileAllocate, fileRead, fileResize, fileWrite } from './rdwr.ts';
import { checkLinkMax, dirAdd, dirInit, dirIsEmpty, dirList, dirLookup, dirRemove, dirRetarget } from './dirio.ts';
import { dtypeOf, fileTypeOf } from './dir.ts';
import { type Inode, encodeDev } from './inode.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

function nameBytes(name: string): Uint8Array {
  const b = enc.encode(name);
  if (b.byteLength > 255) throw err(ENAMETOOLONG);
  return b;
}

// ---- the orphan list ----------------------------------------------------------------------

/** The in-core orphan chain, head first (mirrors s_last_orphan → i_dtime → …). */
function orphans(fs: Ext2Fs): number[] {
  return fs.orphanList;
}

async function orphanAdd(fs: Ext2Fs, td: Lwp, vp: Vnode): Promise<void> {
  const n = en(vp);
  const list = orphans(fs);
  if (list.includes(n.ino)) return;
  n.inode.dtime = fs.sb.lastOrphan;
  fs.sb.lastOrphan = n.ino;
  list.unshift(n.ino);
  await fs.sbUpdate(td);
}

async function orphanRemove(fs: Ext2Fs, td: Lwp, ino: number, next: number): Promise<void> {
  const list = orphans(fs);
  const i = list.indexOf(ino);
  if (i < 0) return;
  list.splice(i, 1);
  if (i === 0) {
    fs.sb.lastOrphan = next;
    await fs.sbUpdate(td);
    return;
  }
  const prev = fs.vcache.get(list[i - 1]!);
  if (prev === undefined) return;
  en(prev).inode.dtime = next;
  await fs.iupdate(td, prev);
}

/** Free an unreferenced inode with no links: its blocks, its EA block, then the inode. */
export async function releaseInode(fs: Ext2Fs, td: Lwp, vp: Vnode): Promise<void> {
  const n = en(vp);
  const i = n.inode;
  const next = i.dtime;
  if (vp.isReg || vp.isDir || (vp.isLnk && !isFastSymlink(fs, i))) {
    await truncateBlocks(fs, td, vp, 0);
  }
  if (i.fileAcl !== 0) await releaseEaBlock(fs, td, vp);
  vp.size = 0;
  i.dtime = Number((fs.k.hyper.clockRealtime() / 1_000_000_000n) & 0xffffffffn);
  await fs.iupdate(td, vp);
  await freeInode(fs, td, n.ino, vp.isDir);
  await orphanRemove(fs, td, n.ino, next);
}

/** Drop one reference to the inode's extended-attribute block (h_refcount at byte 4), freeing it at 0. */
async function releaseEaBlock(fs: Ext2Fs, td: Lwp, vp: Vnode): Promise<void> {
  const i = en(vp).inode;
  const b = i.fileAcl;
  i.fileAcl = 0;
  if (!fs.validBlock(b)) throw fs.corrupt(`inode ${en(vp).ino}: extended-attribute block ${b} is outside the data area`);
  const bp = await fs.bread(td, b);
  const refs = (bp.data[4]! | (bp.data[5]! << 8) | (bp.data[6]! << 16) | (bp.data[7]! << 24)) >>> 0;
  if (refs > 1) {
    const r = refs - 1;
    bp.data[4] = r & 0xff; bp.data[5] = (r >>> 8) & 0xff; bp.data[6] = (r >>> 16) & 0xff; bp.data[7] = r >>> 24;
    fs.bc.bdwrite(td, bp);
  } else {
    fs.bc.brelse(td, bp);
    await freeBlock(fs, td, b);
  }
  vp.blocks = Math.max(0, vp.blocks - fs.bs / 512);
}

/** ext2_inode_is_fast_symlink: no data blocks besides an EA block. */
function isFastSymlink(fs: Ext2Fs, i: Inode): boolean {
  const ea = i.fileAcl !== 0 ? fs.bs / 512 : 0;
  return i.blocks - ea === 0;
}

// ---- making objects -------------------------------------------------------------------------

/** Allocate and write a fresh inode; returns its vnode (referenced). */
async function newInode(fs: Ext2Fs, td: Lwp, dvp: Vnode, attrs: NewAttrs): Promise<Vnode> {
  const isDir = (attrs.mode & S_IFMT) === S_IFDIR;
  const ino = await allocInode(fs, td, en(dvp).ino, isDir);
  const now = vfsNow(fs.k);
  const block = new Array<number>(15).fill(0);
  const type = attrs.mode & S_IFMT;
  if (type === S_IFCHR || type === S_IFBLK) encodeDev(block, major(attrs.rdev), minor(attrs.rdev));
  const inode: Inode = {
    mode: attrs.mode, uid: attrs.uid >>> 0, gid: attrs.gid >>> 0, size: 0, atime: now, ctime: now, mtime: now, crtime: now,
    dtime: 0, linksCount: isDir ? 2 : 1, blocks: 0, flags: 0, block, generation: 0, fileAcl: 0,
    extraIsize: fs.sb.inodeSize >= 160 ? 32 : 0,
  };
  await fs.writeInode(td, ino, inode, true);
  // A stale vnode of a freed inode with this number cannot be cached: frees happen at the last reference.
  return fs.makeVnode(ino, inode);
}

/** Undo newInode after a later step failed (the inode is not linked anywhere). */
async function abandon(fs: Ext2Fs, td: Lwp, vp: Vnode): Promise<void> {
  vp.nlink = 0;
  fs.vcache.delete(en(vp).ino);
  vp.usecount = 0;
  vp.mount.refs--;
  await releaseInode(fs, td, vp).catch(() => {});
}

async function makeNode(dvp: Vnode, td0: Lwp | null, name: string, attrs: NewAttrs, target?: string): Promise<Vnode> {
  return withFs(dvp.mount, td0, async (fs, td) => {
    const nb = nameBytes(name);
    if (dvp.nlink === 0) throw err(ENOENT);
    const isDir = (attrs.mode & S_IFMT) === S_IFDIR;
    if (isDir) checkLinkMax(dvp);
    const vp = await newInode(fs, td, dvp, attrs);
    try {
      if (isDir) await dirInit(fs, td, vp, en(dvp).ino);
      if (target !== undefined) await writeSymlink(fs, td, vp, target);
      await fs.iupdate(td, vp);
      await dirAdd(fs, td, dvp, nb, en(vp).ino, fileTypeOf(attrs.mode));
    } catch (e) {
      await abandon(fs, td, vp);
      throw e;
    }
    if (isDir) dvp.nlink++;
    dvp.mtime = dvp.ctime = vp.ctime;
    await fs.iupdate(td, dvp);
    return vp;
  });
}

/** A symlink's target: in i_block when shorter than 60 bytes (fast), else in a data block. */
async function writeSymlink(fs: Ext2Fs, td: Lwp, vp: Vnode, target: string): Promise<void> {
  const t = enc.encode(target);
  if (t.byteLength >= fs.bs) throw err(ENAMETOOLONG);
  const i = en(vp).inode;
  if (t.byteLength < 60) {
    const raw = new Uint8Array(60);
    raw.set(t);
    const dv = new DataView(raw.buffer);
    for (let k = 0; k < 15; k++) i.block[k] = dv.getUint32(k * 4, true);
  } else {
    const { b } = await bmapAlloc(fs, td, vp, 0, 0);
    const bp = await fs.bnew(td, b);
    bp.data.set(t);
    fs.bc.bdwrite(td, bp);
  }
  vp.size = t.byteLength;
}

async function readSymlink(fs: Ext2Fs, td: Lwp, vp: Vnode): Promise<string> {
  const i = en(vp).inode;
  if (vp.size === 0 || vp.size >= fs.bs || vp.size > 4095) throw fs.corrupt(`symlink ${en(vp).ino}: length ${vp.size} is invalid`);
  if (isFastSymlink(fs, i)) {
    if (vp.size >= 60) throw fs.corrupt(`fast symlink ${en(vp).ino}: length ${vp.size} does not fit in the inode`);
    const raw = new Uint8Array(60);
    const dv = new DataView(raw.buffer);
    for (let k = 0; k < 15; k++) dv.setUint32(k * 4, i.block[k]!, true);
    return dec.decode(raw.subarray(0, vp.size));
  }
  const b = await bmap(fs, td, vp, 0);
  if (b === 0) throw fs.corrupt(`symlink ${en(vp).ino}: no data block`);
  const bp = await fs.bread(td, b);
  const s = dec.decode(bp.data.subarray(0, vp.size));
  fs.bc.brelse(td, bp);
  return s;
}

/** One fewer name for vp; at zero links it joins the orphan list until its last reference goes. */
async function dropLink(fs: Ext2Fs, td: Lwp, vp: Vnode, now: Vnode['ctime']): Promise<void> {
  if (vp.isDir) vp.nlink = 0;
  else if (vp.nlink > 0) vp.nlink--;
  vp.ctime = now;
  if (vp.nlink === 0) await orphanAdd(fs, td, vp);
  await fs.iupdate(td, vp);
}

const DOTDOT = new Uint8Array([0x2e, 0x2e]);

export const ext2VnodeOps: VnodeOps = {
  lookup(dvp, td0, name) {
    return withFs(dvp.mount, td0, async (fs, td) => {
      if (dvp.nlink === 0) return null;
      const f = await dirLookup(fs, td, dvp, nameBytes(name));
      if (f === null) return null;
      return fs.iget(td, f.ino, en(dvp).ino);
    });
  },
  create(dvp, td, name, attrs) {
    return makeNode(dvp, td, name, attrs);
  },
  mkdir(dvp, td, name, attrs) {
    return makeNode(dvp, td, name, attrs);
  },
  symlink(dvp, td, name, attrs, target) {
    return makeNode(dvp, td, name, { ...attrs, mode: S_IFLNK | 0o777 }, target);
  },
  link(dvp, td0, vp, name) {
    return withFs(dvp.mount, td0, async (fs, td) => {
      const nb = nameBytes(name);
      if (dvp.nlink === 0 || vp.nlink === 0) throw err(ENOENT);
      checkLinkMax(vp);
      await dirAdd(fs, td, dvp, nb, en(vp).ino, fileTypeOf(vp.mode));
      const now = vfsNow(fs.k);
      vp.nlink++;
      vp.ctime = now; // link(2): "the last status change time of the file"
      await fs.iupdate(td, vp);
      dvp.mtime = dvp.ctime = now;
      await fs.iupdate(td, dvp);
    });
  },
  unlink(dvp, td0, vp, name) {
    return withFs(dvp.mount, td0, async (fs, td) => {
      const ino = await dirRemove(fs, td, dvp, nameBytes(name));
      if (ino !== en(vp).ino) throw fs.corrupt(`directory ${en(dvp).ino}: ${name} named inode ${ino}, expected ${en(vp).ino}`);
      const now = vfsNow(fs.k);
      await dropLink(fs, td, vp, now);
      dvp.mtime = dvp.ctime = now;
      await fs.iupdate(td, dvp);
    });
  },
  rmdir(dvp, td0, vp, name) {
    return withFs(dvp.mount, td0, async (fs, td) => {
      if (!(await dirIsEmpty(fs, td, vp))) throw err(ENOTEMPTY);
      await dirRemove(fs, td, dvp, nameBytes(name));
      const now = vfsNow(fs.k);
      await dropLink(fs, td, vp, now);
      if (dvp.nlink > 2) dvp.nlink--;
      dvp.mtime = dvp.ctime = now;
      await fs.iupdate(td, dvp);
    });
  },
  rename(fdvp, fvp, fname, tdvp, tvp, tname, td0, exchange) {
    return withFs(fdvp.mount, td0, async (fs, td) => {
      const fb = nameBytes(fname), tb = nameBytes(tname);
      const now = vfsNow(fs.k);
      const fino = en(fvp).ino;
      if (exchange) {
        if (tvp === null) throw err(ENOENT);
        await dirRetarget(fs, td, fdvp, fb, en(tvp).ino, fileTypeOf(tvp.mode));
        await dirRetarget(fs, td, tdvp, tb, fino, fileTypeOf(fvp.mode));
        if (fdvp !== tdvp) {
          if (fvp.isDir) await dirRetarget(fs, td, fvp, DOTDOT, en(tdvp).ino, 2);
          if (tvp.isDir) await dirRetarget(fs, td, tvp, DOTDOT, en(fdvp).ino, 2);
          if (fvp.isDir !== tvp.isDir) {
            if (fvp.isDir) { fdvp.nlink--; tdvp.nlink++; } else { fdvp.nlink++; tdvp.nlink--; }
          }
        }
        fvp.ctime = tvp.ctime = now;
        await fs.iupdate(td, fvp);
        await fs.iupdate(td, tvp);
      } else {
        if (tvp !== null) {
          if (tvp.isDir && !(await dirIsEmpty(fs, td, tvp))) throw err(ENOTEMPTY);
          if (fvp.isDir && !tvp.isDir) throw err(EINVAL);
          await dirRetarget(fs, td, tdvp, tb, fino, fileTypeOf(fvp.mode));
          await dropLink(fs, td, tvp, now);
          if (tvp.isDir) tdvp.nlink--;
        } else {
          if (fvp.isDir && fdvp !== tdvp) checkLinkMax(tdvp);
          await dirAdd(fs, td, tdvp, tb, fino, fileTypeOf(fvp.mode));
        }
        const gone = await dirRemove(fs, td, fdvp, fb);
        if (gone !== fino) throw fs.corrupt(`directory ${en(fdvp).ino}: ${fname} named inode ${gone}, expected ${fino}`);
        if (fvp.isDir && fdvp !== tdvp) {
          await dirRetarget(fs, td, fvp, DOTDOT, en(tdvp).ino, 2);
          fdvp.nlink--;
          tdvp.nlink++;
        }
        // rename(2) changes both directories; Linux also sets the moved inode's ctime.
        fvp.ctime = now;
        await fs.iupdate(td, fvp);
      }
      fdvp.mtime = fdvp.ctime = now;
      await fs.iupdate(td, fdvp);
      if (tdvp !== fdvp) {
        tdvp.mtime = tdvp.ctime = now;
        await fs.iupdate(td, tdvp);
      }
    });
  },
  readlink(vp, td0) {
    return withFs(vp.mount, td0, (fs, td) => readSymlink(fs, td, vp));
  },
  setattr(vp, td0, c) {
    return withFs(vp.mount, td0, async (fs, td) => {
      if (c.size !== undefined && c.size !== vp.size) {
        if (!vp.isReg) throw err(EINVAL);
        await fileResize(fs, td, vp, c.size);
      }
      if (c.mode !== undefined) vp.mode = c.mode;
      if (c.uid !== undefined) vp.uid = c.uid;
      if (c.gid !== undefined) vp.gid = c.gid;
      if (c.atime !== undefined) vp.atime = c.atime;
      if (c.mtime !== undefined) vp.mtime = c.mtime;
      if (c.ctime !== undefined) vp.ctime = c.ctime;
      await fs.iupdate(td, vp);
    });
  },
  read(vp, td0, buf, offset) {
    return withFs(vp.mount, td0, (fs, td) => fileRead(fs, td, vp, buf, offset));
  },
  write(vp, td0, buf, offset) {
    return withFs(vp.mount, td0, (fs, td) => fileWrite(fs, td, vp, buf, offset));
  },
  readdir(vp, td0, cookie, emit) {
    return withFs(vp.mount, td0, async (fs, td) => {
      // A removed directory lists nothing (its blocks go at the last reference).
      if (vp.nlink === 0) return true;
      return dirList(fs, td, vp, cookie, (ino, ft, name, next) => emit(ino, dtypeOf(ft), name, next));
    });
  },
  fsync(vp, td0) {
    return withFs(vp.mount, td0, async (fs, td) => {
      if (fs.readOnly) return;
      await fs.iupdate(td, vp);
      await fs.flushMeta(td);
      // Every dirty block of the device, then a cache flush: the file's data, its inode,
      // its indirect blocks and the bitmaps and directories that name it are durable.
      await fs.bc.bflush(td, fs.dev);
    });
  },
  fallocate(vp, td0, mode, offset, length) {
    return withFs(vp.mount, td0, (fs, td) => fileAllocate(fs, td, vp, mode, offset, length));
  },
  inactive(vp) {
    const fs = vp.mount.fsdata as Ext2Fs;
    if (fs.vcache.get(vp.ino) === vp) fs.vcache.delete(vp.ino);
    if (vp.nlink > 0 || fs.readOnly) return;
    // The last reference of an unlinked inode: free it now, in the background of the caller.
    const td = fsThread(fs.k, null, 'ext2_inactive');
    const job: Promise<void> = withFs(vp.mount, td, (f, t) => releaseInode(f, t, vp)).finally(() => fs.pending.delete(job));
    fs.pending.add(job);
    return job;
  },
  pathconf() {
    return null;
  },
};
