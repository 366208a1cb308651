/**
 * tmpfs: the in-memory file system, and the default root (Linux
 * Documentation/filesystems/tmpfs.rst, NetBSD tmpfs(5)).
 *
 * Every node type: regular files, directories, symlinks, FIFOs, sockets,
 * character and block devices. One vnode per node for the node's whole life
 * (no separate in-core/on-disk split): the directory tree keeps linked nodes
 * alive, references keep unlinked-but-open ones alive, and `inactive` frees
 * a node once it is both unlinked (nlink 0) and unreferenced.
 *
 * Regular files are sparse: data lives in 64 KiB pages by page index (page
 * 0 in a field, the rest in a Map made when first needed); a hole is simply
 * a missing page and reads as zeros. A page's
 * buffer may be shorter than 64 KiB (small files grow by doubling in 4 KiB
 * steps), and bytes past a buffer's end read as zeros too. Full pages come
 * from the kernel's page pool (kern/pagepool.ts: 4 MiB slabs, and pages freed
 * by unlink or truncate handed out again, zeroed, before new memory is
 * touched); small buffers are carved from 256 KiB slabs of this mount (they
 * grow in 64-byte steps but are charged in whole 4 KiB units). One host
 * allocation per slab instead of per page keeps allocation and GC cost off
 * the write path. The price: a slab's memory returns to the host only when
 * every page carved from it is gone (accounting counts pages, not slabs).
 *
 * Directories are a Map name → entry (O(1) lookup, create and unlink at any
 * size) plus an array of the same entries in creation order, each with a
 * cookie that never changes (Linux ≥ 6.6 shmem's "stable offsets"): readdir
 * resumes at the first live entry whose cookie is ≥ the offset, found by
 * binary search, so entries unlinked or added during a readdir never make it
 * skip or repeat a survivor. Removed entries leave a tombstone that is swept
 * once they are half the array. Cookies 0 and 1 are '.' and '..'.
 *
 * Limits (mount options, tmpfs(5)): `size=` bytes (k/m/g suffixes, or a % of
 * the kernel's memlimit) counts page buffers in 4 KiB units; `nr_inodes=`
 * counts nodes and, as Linux's shmem_link does, every extra hard link.
 * Absent, they default as on Linux to half the memory (here the kernel's
 * memory limit) and half its number of 4 KiB pages; 0 means unlimited, and
 * statfs then reports 0 blocks/files as Linux does for size=0. Pages and
 * nodes are also charged to the kernel's memory account (memacct.ts), so
 * several mounts together cannot pass the memory limit either. Also `mode=`, `uid=`, `gid=` for
 * the root directory. Exceeding a limit answers ENOSPC (a write that fits
 * partly returns the short count).
 *
 * Timestamps: the operations here update mtime/ctime/atime as POSIX
 * specifies for each (see the comments at each); st_size of a directory is
 * 20 bytes per entry plus 40, like Linux (BOGO_DIRENT_SIZE).
 *
 * @guardedBy the vnode locks taken by the VFS (each operation runs without
 * awaiting, so it is also atomic with respect to other threads).
 *
 * Not supported: huge pages, swap, extended attributes, POSIX ACLs, quotas,
 * O_TMPFILE, the `inode64`/`noswap`/`huge=` options.
 */
import { PAGE_SIZE, type PagePool } from '../kern/pagepool.ts';
import { INODE_COST, type MemAccount } from '../kern/memacct.ts';
import type { Kernel } from '../kern/kernel.ts';
import { Phase, type Component } from '../kern/component.ts';
import { vfsOf } from './vfs.ts';
import type { Lwp } from '../kern/sched.ts';
import type { Timespec } from '../kern/file.ts';
import { EEXIST, EFBIG, EINVAL, ENOENT, ENOSPC, ENOTEMPTY, ENXIO, EOPNOTSUPP, ESTALE, err } from '../kern/errno.ts';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, S_IFDIR, S_IFLNK, S_IFMT } from '../kern/constants.ts';
import {
  DT_DIR, type DirEmit, type FsType, Mount, type NewAttrs, type SetAttrs, type Statfs, type VfsOps, Vnode, type VnodeOps,
  modeToDtype, vfsNow, vref,
} from './vnode.ts';

export const TMPFS_MAGIC = 0x01021994;
/** Page size of file data (the page pool's). */
const PAGE = PAGE_SIZE;
/** Allocation unit for accounting and buffer growth. */
const UNIT = 4096;
const BOGO_DIRENT_SIZE = 20;
const SMALL_SLAB = 256 * 1024;
/** Largest file size (bytes); beyond it writes answer EFBIG. */
export const TMPFS_MAXFILESIZE = Number.MAX_SAFE_INTEGER;

/** A directory entry. */
interface TmpDirent {
  readonly name: string;
  vp: Vnode;
  readonly cookie: number;
  dead: boolean;
}

/** Per-node private data (vp.data). */
interface TmpNode {
  // directories
  entries: Map<string, TmpDirent> | null;
  order: TmpDirent[] | null;
  deadCount: number;
  nextCookie: number;
  /** Parent directory ('..'); the root's parent is itself. */
  parent: Vnode | null;
  /** This directory's name in its parent (getcwd). */
  dirName: string;
  // regular files: page 0 in a field of its own, the rest (created when
  // first needed) in a Map by page index — most files are one page, and an
  // empty Map costs ~250 bytes of heap per file for the life of the file.
  page0: Uint8Array | null;
  pages: Map<number, Uint8Array> | null;
  /** Bytes of page buffers allocated (accounting). */
  allocated: number;
  // symlinks
  target: string;
  /** Freed (reclaimed); a stale vget answers ESTALE. */
  freed: boolean;
}

/** Per-mount state (mp.fsdata). */
interface TmpMount {
  /** Full pages: the kernel's page pool (kern/pagepool.ts). */
  readonly pool: PagePool;
  /** Buffers of small files are carved from a 256 KiB slab in 4 KiB units. */
  smallSlab: ArrayBuffer | null;
  smallNext: number;
  maxBytes: number;
  /** What fallocate may fill when maxBytes is 0 (no size=): half the host's memory, Linux's default tmpfs size. */
  readonly allocBound: number;
  maxInodes: number;
  usedBytes: number;
  /** The kernel's memory account: file pages are 'shmem', nodes 'inodes' (memacct.ts). */
  readonly mem: MemAccount;
  inodes: number;
  nextIno: number;
  /** Live nodes by inode number (vget). */
  readonly nodes: Map<number, Vnode>;
}

function tm(mp: Mount): TmpMount {
  return mp.fsdata as TmpMount;
}
function tn(vp: Vnode): TmpNode {
  return vp.data as TmpNode;
}

const enc = new TextEncoder();
function byteLen(s: string): number {
  return s.length < 86 && /^[\x00-\x7f]*$/.test(s) ? s.length : enc.encode(s).byteLength;
}

function newNode(): TmpNode {
  return {
    entries: null, order: null, deadCount: 0, nextCookie: 2, parent: null, dirName: '',
    page0: null, pages: null, allocated: 0, target: '', freed: false,
  };
}

/** Allocate a vnode for a new node, charging the inode limit. */
function allocNode(mp: Mount, attrs: NewAttrs, now: Timespec): Vnode {
  const m = tm(mp);
  if (m.maxInodes > 0 && m.inodes >= m.maxInodes) throw err(ENOSPC);
  if (!m.mem.charge('inodes', INODE_COST)) throw err(ENOSPC);
  const node = newNode();
  const vp = new Vnode(mp, m.nextIno++, tmpfsVnodeOps, node, attrs, now);
  m.inodes++;
  m.nodes.set(vp.ino, vp);
  const type = attrs.mode & S_IFMT;
  if (type === S_IFDIR) {
    node.entries = new Map();
    node.order = [];
    vp.size = 2 * BOGO_DIRENT_SIZE;
  }
  return vp;
}

function dirAdd(dvp: Vnode, name: string, vp: Vnode): void {
  const d = tn(dvp);
  const de: TmpDirent = { name, vp, cookie: d.nextCookie++, dead: false };
  d.entries!.set(name, de);
  d.order!.push(de);
  dvp.size += BOGO_DIRENT_SIZE;
  if (vp.isDir) {
    const c = tn(vp);
    c.parent = dvp;
    c.dirName = name;
  }
}

function dirRemove(dvp: Vnode, name: string): TmpDirent {
  const d = tn(dvp);
  const de = d.entries!.get(name);
  if (de === undefined) throw err(ENOENT);
  d.entries!.delete(name);
  de.dead = true;
  d.deadCount++;
  dvp.size -= BOGO_DIRENT_SIZE;
  const order = d.order!;
  if (d.deadCount > 32 && d.deadCount * 2 > order.length) {
    d.order = order.filter((e) => !e.dead);
    d.deadCount = 0;
  }
  return de;
}

/** One name of a non-directory goes; an extra hard link gives back its inode reservation (shmem_unlink). */
function dropLink(vp: Vnode): void {
  if (vp.nlink > 1) tm(vp.mount).inodes--;
  vp.nlink--;
}

/** Mark a parent directory modified (entry added or removed): mtime and ctime. */
function touchDir(dvp: Vnode, now: Timespec): void {
  dvp.mtime = dvp.ctime = now;
}

/** Free a node's storage (it is unlinked and unreferenced). */
function freeNode(vp: Vnode): void {
  const node = tn(vp);
  if (node.freed) return;
  const m = tm(vp.mount);
  node.freed = true;
  m.usedBytes -= node.allocated;
  m.mem.uncharge('shmem', node.allocated);
  m.mem.uncharge('inodes', INODE_COST);
  node.allocated = 0;
  forEachPage(node, (page) => m.pool.release(page));
  node.page0 = null;
  node.pages = null;
  node.entries = null;
  node.order = null;
  node.parent = null;
  m.inodes--;
  m.nodes.delete(vp.ino);
}

// ---- regular file data --------------------------------------------------------

function pageAt(node: TmpNode, pi: number): Uint8Array | undefined {
  if (pi === 0) return node.page0 ?? undefined;
  return node.pages === null ? undefined : node.pages.get(pi);
}

function setPage(node: TmpNode, pi: number, page: Uint8Array): void {
  if (pi === 0) node.page0 = page;
  else (node.pages ??= new Map()).set(pi, page);
}

function dropPage(node: TmpNode, pi: number): void {
  if (pi === 0) node.page0 = null;
  else node.pages?.delete(pi);
}

/** Drop page pi (`page`) of a file: back to the pool, and out of the mount's and the file's accounting. */
function freePage(m: TmpMount, node: TmpNode, pi: number, page: Uint8Array): void {
  dropPage(node, pi);
  m.pool.release(page);
  m.usedBytes -= charge(page.byteLength);
  m.mem.uncharge('shmem', charge(page.byteLength));
  node.allocated -= charge(page.byteLength);
}

/** Every page with its index, in no particular order (fn may drop the page it is given). */
function forEachPage(node: TmpNode, fn: (page: Uint8Array, pi: number) => void): void {
  if (node.page0 !== null) fn(node.page0, 0);
  if (node.pages !== null) for (const [pi, page] of node.pages) fn(page, pi);
}

function fileRead(vp: Vnode, buf: Uint8Array, off: number): number {
  if (off >= vp.size) return 0;
  const n = Math.min(buf.byteLength, vp.size - off);
  const node = tn(vp);
  let done = 0;
  while (done < n) {
    const pos = off + done;
    const pi = Math.floor(pos / PAGE);
    const po = pos - pi * PAGE;
    const len = Math.min(PAGE - po, n - done);
    const page = pageAt(node, pi);
    if (page === undefined) buf.fill(0, done, done + len);
    else {
      const avail = page.byteLength - po;
      if (avail >= len) buf.set(page.subarray(po, po + len), done);
      else {
        if (avail > 0) buf.set(page.subarray(po), done);
        buf.fill(0, done + Math.max(avail, 0), done + len);
      }
    }
    done += len;
  }
  return n;
}

/** Bytes a buffer of len bytes is charged (size= limit, st_blocks): whole 4 KiB units, as a page cache would. */
function charge(len: number): number {
  return Math.ceil(len / UNIT) * UNIT;
}

/** The buffer size growPage gives a page of `old` bytes that must hold `need`. */
function grownCap(old: number, need: number): number {
  // Small buffers grow in 64-byte steps, doubling, so a file of a few bytes costs a few bytes.
  let cap = Math.ceil(need / 64) * 64;
  if (old > 0) cap = Math.max(cap, Math.min(PAGE, old * 2));
  return cap > PAGE ? PAGE : cap;
}

/**
 * Make page pi at least `need` bytes long; null when the size limit forbids
 * it. The caller overwrites [from, need) of the result at once (a full page
 * from the kernel's pool is zero elsewhere, possibly stale there).
 */
function growPage(m: TmpMount, node: TmpNode, pi: number, page: Uint8Array | undefined, need: number, from: number): Uint8Array | null {
  const old = page === undefined ? 0 : page.byteLength;
  const cap = grownCap(old, need);
  const more = charge(cap) - charge(old);
  if (m.maxBytes > 0 && m.usedBytes + more > m.maxBytes) return null;
  if (!m.mem.charge('shmem', more)) return null; // the kernel's memory limit: ENOSPC, as tmpfs at its size
  let np: Uint8Array;
  if (cap === PAGE) {
    // Full pages come from the kernel's page pool (reused pages are already mapped).
    np = m.pool.alloc(from, need);
  } else {
    if (m.smallSlab === null || m.smallNext + cap > SMALL_SLAB) {
      m.smallSlab = new ArrayBuffer(SMALL_SLAB);
      m.smallNext = 0;
    }
    np = new Uint8Array(m.smallSlab, m.smallNext, cap);
    m.smallNext += cap;
  }
  if (page !== undefined) {
    np.set(page);
    m.pool.release(page);
  }
  setPage(node, pi, np);
  m.usedBytes += more;
  node.allocated += more;
  return np;
}

function fileWrite(vp: Vnode, buf: Uint8Array, off: number): number {
  const n = buf.byteLength;
  if (n === 0) return 0;
  if (off + n > TMPFS_MAXFILESIZE) throw err(EFBIG);
  const node = tn(vp);
  const m = tm(vp.mount);
  let done = 0;
  while (done < n) {
    const pos = off + done;
    const pi = Math.floor(pos / PAGE);
    const po = pos - pi * PAGE;
    const len = Math.min(PAGE - po, n - done);
    let page = pageAt(node, pi);
    if (page === undefined || page.byteLength < po + len) {
      const grown = growPage(m, node, pi, page, po + len, po);
      if (grown === null) break;
      page = grown;
    }
    page.set(len === n ? buf : buf.subarray(done, done + len), po);
    done += len;
  }
  if (done === 0) throw err(ENOSPC);
  if (off + done > vp.size) vp.size = off + done;
  vp.blocks = node.allocated / 512;
  // write(2): "update the last data modification and last file status change timestamps".
  vp.mtime = vp.ctime = vfsNow(vp.mount.k);
  return done;
}

/** Change a regular file's size; shrinking drops whole pages and zeroes the tail of the last. */
function fileResize(vp: Vnode, size: number): void {
  if (size > TMPFS_MAXFILESIZE) throw err(EFBIG);
  const node = tn(vp);
  const m = tm(vp.mount);
  if (size < vp.size) {
    const lastPi = size === 0 ? -1 : Math.floor((size - 1) / PAGE);
    forEachPage(node, (page, pi) => {
      if (pi > lastPi) freePage(m, node, pi, page);
      else if (pi === lastPi) {
        const po = size - pi * PAGE;
        if (po < page.byteLength) page.fill(0, po);
      }
    });
    vp.blocks = node.allocated / 512;
  }
  vp.size = size;
}

/**
 * fallocate(2) mode 0 or KEEP_SIZE: every page of [off, end) gets a buffer reaching `end` (or
 * its full 64 KiB), zero where nothing was written. All or nothing: the whole allocation is
 * charged against the size limit first (ENOSPC changes nothing, as Linux's shmem_fallocate
 * undoes a partial one). A mount without size= is bounded by half the host's memory, Linux's
 * default tmpfs size, so a huge request is ENOSPC rather than an allocation without end.
 */
function fileAllocate(vp: Vnode, off: number, end: number): void {
  const node = tn(vp);
  const m = tm(vp.mount);
  const first = Math.floor(off / PAGE), last = Math.floor((end - 1) / PAGE);
  const limit = m.maxBytes > 0 ? m.maxBytes : m.allocBound;
  // At least span - (pages the file has) new pages, all full but maybe the last: refuse a range
  // the limit cannot hold before visiting its pages one by one.
  const have = (node.page0 !== null ? 1 : 0) + (node.pages?.size ?? 0);
  if ((last - first - have) * PAGE > limit - m.usedBytes) throw err(ENOSPC);
  let more = 0;
  for (let pi = first; pi <= last; pi++) {
    const page = pageAt(node, pi);
    const old = page === undefined ? 0 : page.byteLength;
    const need = Math.min(PAGE, end - pi * PAGE);
    if (old < need) more += charge(grownCap(old, need)) - charge(old);
  }
  if (m.usedBytes + more > limit || !m.mem.fits(more)) throw err(ENOSPC);
  for (let pi = first; pi <= last; pi++) {
    const page = pageAt(node, pi);
    const need = Math.min(PAGE, end - pi * PAGE);
    if (page === undefined || page.byteLength < need) growPage(m, node, pi, page, need, need); // from = need: all zero
  }
  vp.blocks = node.allocated / 512;
}

/** fallocate(2) PUNCH_HOLE|KEEP_SIZE: [off, end) reads as zeros; pages wholly inside are freed. */
function filePunch(vp: Vnode, off: number, end: number): void {
  const node = tn(vp);
  const m = tm(vp.mount);
  forEachPage(node, (page, pi) => {
    const base = pi * PAGE;
    const from = Math.max(off, base) - base, to = Math.min(end, base + page.byteLength) - base;
    if (from >= to) return;
    if (from === 0 && to === page.byteLength && end >= base + PAGE) freePage(m, node, pi, page);
    else page.fill(0, from, to);
  });
  vp.blocks = node.allocated / 512;
}

// ---- vnode operations -----------------------------------------------------------

function dirEntries(dvp: Vnode): Map<string, TmpDirent> {
  const e = tn(dvp).entries;
  // A removed directory has no entries left to look in (Linux IS_DEADDIR → ENOENT).
  if (e === null) throw err(ENOENT);
  return e;
}

function addNode(dvp: Vnode, name: string, attrs: NewAttrs, target?: string): Vnode {
  const entries = dirEntries(dvp);
  if (entries.has(name)) throw err(EEXIST);
  const now = vfsNow(dvp.mount.k);
  const vp = allocNode(dvp.mount, attrs, now);
  if (target !== undefined) {
    tn(vp).target = target;
    vp.size = byteLen(target);
  }
  dirAdd(dvp, name, vp);
  if (vp.isDir) dvp.nlink++;
  touchDir(dvp, now);
  return vref(vp);
}

export const tmpfsVnodeOps: VnodeOps = {
  lookup(dvp, _td, name) {
    if (name === '..') return vref(tn(dvp).parent ?? dvp);
    const de = dirEntries(dvp).get(name);
    return de === undefined ? null : vref(de.vp);
  },
  create(dvp, _td, name, attrs) {
    return addNode(dvp, name, attrs);
  },
  mkdir(dvp, _td, name, attrs) {
    return addNode(dvp, name, attrs);
  },
  symlink(dvp, _td, name, attrs, target) {
    return addNode(dvp, name, { ...attrs, mode: S_IFLNK | 0o777 }, target);
  },
  link(dvp, _td, vp, name) {
    const entries = dirEntries(dvp);
    if (entries.has(name)) throw err(EEXIST);
    // Linux shmem_link: every extra hard link reserves an inode (nr_inodes= counts it).
    const m = tm(dvp.mount);
    if (m.maxInodes > 0 && m.inodes >= m.maxInodes) throw err(ENOSPC);
    m.inodes++;
    const now = vfsNow(dvp.mount.k);
    dirAdd(dvp, name, vp);
    vp.nlink++;
    vp.ctime = now; // link(2): "the last status change time of the file"
    touchDir(dvp, now);
  },
  unlink(dvp, _td, vp, name) {
    const de = dirRemove(dvp, name);
    if (de.vp !== vp) dvp.mount.k.panic(`tmpfs unlink: ${name} is not the vnode given`);
    const now = vfsNow(dvp.mount.k);
    dropLink(vp);
    vp.ctime = now;
    touchDir(dvp, now);
  },
  rmdir(dvp, _td, vp, name) {
    if (tn(vp).entries!.size > 0) throw err(ENOTEMPTY);
    const de = dirRemove(dvp, name);
    if (de.vp !== vp) dvp.mount.k.panic(`tmpfs rmdir: ${name} is not the vnode given`);
    const now = vfsNow(dvp.mount.k);
    vp.nlink = 0;
    tn(vp).entries = null; // dead directory: nothing can be created in it
    dvp.nlink--;
    vp.ctime = now;
    touchDir(dvp, now);
  },
  rename(fdvp, fvp, fname, tdvp, tvp, tname, _td, exchange) {
    const now = vfsNow(fdvp.mount.k);
    if (exchange) {
      // RENAME_EXCHANGE: the two entries swap their targets.
      const fde = dirEntries(fdvp).get(fname);
      const tde = dirEntries(tdvp).get(tname);
      if (fde === undefined || tde === undefined || tvp === null) throw err(ENOENT);
      fde.vp = tvp;
      tde.vp = fvp;
      if (fvp.isDir) {
        tn(fvp).parent = tdvp;
        tn(fvp).dirName = tname;
      }
      if (tvp.isDir) {
        tn(tvp).parent = fdvp;
        tn(tvp).dirName = fname;
      }
      if (fdvp !== tdvp && fvp.isDir !== tvp.isDir) {
        if (fvp.isDir) { fdvp.nlink--; tdvp.nlink++; } else { fdvp.nlink++; tdvp.nlink--; }
      }
      fvp.ctime = tvp.ctime = now;
      touchDir(fdvp, now);
      touchDir(tdvp, now);
      return;
    }
    if (tvp !== null) {
      if (tvp.isDir) {
        if (tn(tvp).entries!.size > 0) throw err(ENOTEMPTY);
        dirRemove(tdvp, tname);
        tvp.nlink = 0;
        tn(tvp).entries = null;
        tdvp.nlink--;
      } else {
        dirRemove(tdvp, tname);
        dropLink(tvp);
      }
      tvp.ctime = now;
    }
    dirRemove(fdvp, fname);
    dirAdd(tdvp, tname, fvp);
    if (fvp.isDir && fdvp !== tdvp) {
      fdvp.nlink--;
      tdvp.nlink++;
    }
    // rename(2) changes both directories; Linux also sets the moved inode's ctime.
    fvp.ctime = now;
    touchDir(fdvp, now);
    touchDir(tdvp, now);
  },
  readlink(vp) {
    return tn(vp).target;
  },
  setattr(vp, _td, c: SetAttrs) {
    if (c.size !== undefined && c.size !== vp.size) {
      if (!vp.isReg) throw err(EINVAL);
      fileResize(vp, c.size);
    }
    if (c.mode !== undefined) vp.mode = c.mode;
    if (c.uid !== undefined) vp.uid = c.uid;
    if (c.gid !== undefined) vp.gid = c.gid;
    if (c.atime !== undefined) vp.atime = c.atime;
    if (c.mtime !== undefined) vp.mtime = c.mtime;
    if (c.ctime !== undefined) vp.ctime = c.ctime;
  },
  read(vp, _td, buf, offset) {
    return fileRead(vp, buf, offset);
  },
  write(vp, _td, buf, offset) {
    return fileWrite(vp, buf, offset);
  },
  readdir(vp, _td, cookie, emit: DirEmit) {
    const node = tn(vp);
    if (node.order === null) throw err(ENOENT); // removed directory (Linux iterate_dir: IS_DEADDIR)
    if (cookie <= 0) {
      if (!emit(vp.ino, DT_DIR, '.', 1)) return false;
      cookie = 1;
    }
    if (cookie === 1) {
      const p = node.parent ?? vp;
      if (!emit(p.ino, DT_DIR, '..', 2)) return false;
      cookie = 2;
    }
    const order = node.order;
    // First entry with cookie >= the offset (cookies ascend along the array).
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (order[mid]!.cookie < cookie) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < order.length; i++) {
      const de = order[i]!;
      if (de.dead) continue;
      if (!emit(de.vp.ino, modeToDtype(de.vp.mode), de.name, de.cookie + 1)) return false;
      // emit may not unlink (it runs without awaiting), but the array may have been swept by
      // an earlier unlink in this loop's caller; re-read it if so.
      if (node.order !== order) return false;
    }
    return true;
  },
  fsync() {
    // Nothing to write back: memory is the backing store.
  },
  fallocate(vp, _td, mode, offset, length) {
    // shmem_fallocate: KEEP_SIZE and PUNCH_HOLE (with KEEP_SIZE, checked by the VFS) only.
    if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) !== 0) throw err(EOPNOTSUPP);
    const end = offset + length;
    if (end > TMPFS_MAXFILESIZE) throw err(EFBIG);
    if ((mode & FALLOC_FL_PUNCH_HOLE) !== 0) return filePunch(vp, offset, end);
    fileAllocate(vp, offset, end);
    if ((mode & FALLOC_FL_KEEP_SIZE) === 0 && end > vp.size) vp.size = end;
  },
  seekHole(vp, offset, wantHole) {
    // Holes are whole missing 64 KiB pages (a page's unwritten tail counts as data).
    const node = tn(vp);
    const pi = Math.floor(offset / PAGE);
    if (wantHole) {
      if (pageAt(node, pi) === undefined) return offset;
      let q = pi + 1;
      while (pageAt(node, q) !== undefined) q++;
      return Math.min(q * PAGE, vp.size);
    }
    if (pageAt(node, pi) !== undefined) return offset;
    let next = Infinity;
    forEachPage(node, (_, k) => {
      if (k > pi && k < next) next = k;
    });
    if (next === Infinity || next * PAGE >= vp.size) throw err(ENXIO);
    return next * PAGE;
  },
  nameOf(dvp, vp) {
    const node = tn(vp);
    return node.parent === dvp ? node.dirName : null;
  },
  inactive(vp) {
    if (vp.nlink === 0) freeNode(vp);
  },
  pathconf() {
    return null;
  },
};

function parseSize(v: string, k: Kernel): number {
  const m = /^(\d+)([kKmMgGtT%]?)$/.exec(v);
  if (m === null) throw err(EINVAL);
  const n = Number(m[1]);
  switch (m[2]) {
    case '': return n;
    case 'k': case 'K': return n * 1024;
    case 'm': case 'M': return n * 1024 * 1024;
    case 'g': case 'G': return n * 1024 ** 3;
    case 't': case 'T': return n * 1024 ** 4;
    case '%': {
      const mem = Number(k.hyper.getParam('memlimit') ?? '0');
      if (!(mem > 0) || n > 100) throw err(EINVAL);
      return Math.floor((mem * n) / 100);
    }
  }
  throw err(EINVAL);
}

function parseNum(v: string, radix: number): number {
  const re = radix === 8 ? /^[0-7]+$/ : /^\d+$/;
  if (!re.test(v)) throw err(EINVAL);
  const n = parseInt(v, radix);
  if (!Number.isSafeInteger(n)) throw err(EINVAL);
  return n;
}

const tmpfsVfsOps: VfsOps = {
  root(mp) {
    return vref(mp.root);
  },
  statfs(mp): Statfs {
    const m = tm(mp);
    const blocks = m.maxBytes > 0 ? Math.floor(m.maxBytes / UNIT) : 0;
    const bfree = m.maxBytes > 0 ? Math.max(0, Math.floor((m.maxBytes - m.usedBytes) / UNIT)) : 0;
    const files = m.maxInodes > 0 ? m.maxInodes : 0;
    return {
      type: TMPFS_MAGIC, bsize: UNIT, blocks, bfree, bavail: bfree, files,
      ffree: files > 0 ? files - m.inodes : 0, fsid: [mp.dev, 0], namelen: 255, frsize: UNIT, flags: 0,
    };
  },
  sync() {},
  unmount(mp) {
    const m = tm(mp);
    // What the mount still holds goes back to the kernel with it.
    m.mem.uncharge('shmem', m.usedBytes);
    m.mem.uncharge('inodes', m.nodes.size * INODE_COST);
    m.nodes.clear();
  },
  vget(mp, ino) {
    const vp = tm(mp).nodes.get(ino);
    if (vp === undefined) throw err(ESTALE);
    return vref(vp);
  },
  remount(mp, _flags, data) {
    applyOptions(mp, data, false);
  },
};

function applyOptions(mp: Mount, data: string, initial: boolean): { mode: number; uid: number; gid: number } {
  const m = tm(mp);
  const root = { mode: 0o1777, uid: 0, gid: 0 };
  let maxBytes = m.maxBytes;
  let maxInodes = m.maxInodes;
  if (initial) {
    // tmpfs(5): "The default, when neither size nor nr_blocks is specified, is size=50%"
    // of memory, and nr_inodes defaults to half the number of physical RAM pages — here the
    // kernel's memory limit. size=0 / nr_inodes=0 still ask for no limit.
    const mem = Number(mp.k.hyper.getParam('memlimit') ?? '0');
    if (mem > 0) {
      maxBytes = Math.floor(mem / 2 / UNIT) * UNIT;
      maxInodes = Math.floor(mem / 4096 / 2);
    }
  }
  for (const opt of data.split(',')) {
    if (opt === '') continue;
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const val = eq < 0 ? '' : opt.slice(eq + 1);
    switch (key) {
      case 'size': maxBytes = parseSize(val, mp.k); break;
      case 'nr_blocks': maxBytes = parseNum(val, 10) * UNIT; break;
      case 'nr_inodes': maxInodes = parseNum(val, 10); break;
      case 'mode': root.mode = parseNum(val, 8) & 0o7777; break;
      case 'uid': root.uid = parseNum(val, 10); break;
      case 'gid': root.gid = parseNum(val, 10); break;
      // Accepted and meaningless here, as on Linux without swap.
      case 'rw': case 'ro': case 'defaults': break;
      default: throw err(EINVAL); // "tmpfs: Unknown parameter"
    }
  }
  // Remount cannot shrink below what is in use (Linux: EINVAL).
  if (!initial) {
    if (maxBytes > 0 && maxBytes < m.usedBytes) throw err(EINVAL);
    if (maxInodes > 0 && maxInodes < m.inodes) throw err(EINVAL);
  }
  m.maxBytes = maxBytes;
  m.maxInodes = maxInodes;
  return root;
}

export const tmpfsType: FsType = {
  name: 'tmpfs',
  magic: TMPFS_MAGIC,
  nonblocking: true,
  mount(k: Kernel, _td: Lwp | null, mp: Mount, _source: string, data: string) {
    const m: TmpMount = {
      pool: k.pages, smallSlab: null, smallNext: 0, maxBytes: 0, allocBound: Number(k.hyper.getParam('memlimit') ?? '0') / 2 || Infinity,
      maxInodes: 0, usedBytes: 0, mem: k.mem, inodes: 0, nextIno: 1, nodes: new Map(),
    };
    mp.fsdata = m;
    mp.ops = tmpfsVfsOps;
    const r = applyOptions(mp, data, true);
    const root = allocNode(mp, { mode: S_IFDIR | r.mode, uid: r.uid, gid: r.gid, rdev: 0 }, vfsNow(k));
    tn(root).parent = root;
    mp.root = vref(root);
  },
};

/** Bytes and inodes in use (for tests and df). */
export function tmpfsUsage(mp: Mount): { bytes: number; inodes: number } {
  const m = tm(mp);
  return { bytes: m.usedBytes, inodes: m.inodes };
}

/**
 * The tmpfs component: registers the type and mounts the root file system
 * (options from the host parameter `rootfs.options`, e.g. "size=64m,nr_inodes=10000").
 */
export const tmpfsComponent: Component = {
  name: 'tmpfs',
  phase: Phase.VFS,
  deps: ['vfs'],
  async init(k: Kernel) {
    const vfs = vfsOf(k);
    vfs.registerFsType(tmpfsType);
    if (vfs.rootMount === null) await vfs.mountRoot('tmpfs', 0, k.hyper.getParam('rootfs.options') ?? '');
  },
};
