/**
 * etfs: host files passed through into the kernel's namespace (rump's
 * "extra-terrestrial file system", rump_etfs(3)), over the host-file
 * hypercalls (hostStat, hostReaddir, hostReadlink, hostOpen, hostRead,
 * hostWrite, hostClose — src/hyper/types.ts).
 *
 * Two ways in:
 *   - as a file-system type: `mount(hostPath, target, 'etfs', flags, opts)`
 *     (MS_RDONLY for a read-only view; options `uid=N,gid=N` give the owner
 *     every node shows, default 0:0 — the hypercalls carry no ownership);
 *   - as a service: `k.lookup<Etfs>('etfs').register(kernelPath, hostPath,
 *     { readOnly })` makes the kernel path and mounts there: for a host
 *     directory the kernel directory (mkdir -p, as root 0755); for a host
 *     file the parent directories and an empty root-owned 0644 regular file
 *     as the mount point, unless a non-directory is already there (a
 *     directory there answers ENOTDIR). `unregister(kernelPath)` unmounts
 *     and removes a placeholder file that register created.
 *
 * The source is resolved on the host first (hostStat is an lstat; a
 * symlinked source is followed, at most 40 links, else ELOOP):
 *   - a host directory appears as a directory tree; each name is looked up
 *     on the host when the kernel looks it up (host symlinks inside appear as
 *     symlinks and the kernel's namei follows them in the kernel's namespace,
 *     as a bind mount's absolute links would);
 *   - any other host object (a regular file, as rump_etfs registers single
 *     files) is a mount whose root is that one non-directory. The VFS mounts
 *     it only on a non-directory, as Linux mounts a file bind-mounted on a
 *     file (graft_tree: the mount point and the root must agree on being a
 *     directory, else ENOTDIR — see vfs.ts); a directory source likewise
 *     needs a directory.
 *
 * Data goes through on every read and write. A vnode holds at most two host
 * handles, a read-only one and a read-write one, each opened when first
 * needed and both closed by the last close (never while a description is
 * open, so a read in flight never sees its handle closed under it; when two
 * threads race to open one, the loser's handle is closed unused). Attributes are refreshed from the host on
 * every stat (getattr) and lookup.
 *
 * What the hypercall set cannot express answers an errno, as Linux answers
 * for an inode operation a file system lacks:
 *   - mkdir, rmdir, unlink, rename, link, symlink, mknod of anything but a
 *     regular file: EPERM;
 *   - chmod and chown: EPERM; utimes: EPERM (there is no host call; an
 *     atime update from reading is kept in core only);
 *   - truncate: to 0 (O_TRUNC) and extending work (the latter writes one
 *     zero byte at the new end, leaving a hole where the host supports
 *     them); shrinking to a non-zero size is EPERM (truncate(2): "the
 *     underlying file system does not support" it);
 *   - fsync does nothing: durability is the host's business;
 *   - new files get the host's default mode (0644 on the node host);
 *   - host FIFOs, sockets and devices show their type, but opening one opens
 *     the kernel's own kind (a kernel FIFO; a device with rdev 0: ENXIO);
 *   - vget (FUSE/NFS handles) is not supported.
 *
 * Inode numbers are assigned per host path on first sight and kept for the
 * mount's life; a path whose host type changes gets a new vnode.
 *
 * @guardedBy the vnode locks the VFS takes around each VOP (etfs VOPs
 * suspend, so the VFS locks even single read-side calls); the per-mount
 * maps change only between awaits of one VOP.
 */
import type { Kernel } from '../kern/kernel.ts';
import type { Lwp } from '../kern/sched.ts';
import { Phase, type Component } from '../kern/component.ts';
import type { HostErrno, HostStat } from '../hyper/types.ts';
import { EEXIST, EINVAL, EIO, ELOOP, ENOENT, ENOTDIR, EPERM, errnoName, err, KernelError } from '../kern/errno.ts';
import { O_ACCMODE, O_CREAT, O_EXCL, O_RDONLY, O_WRONLY, S_IFMT, S_IFREG, SYMLOOP_MAX } from '../kern/constants.ts';
import { buildSys } from '../kern/syscall.ts';
import { vfsOf } from './vfs.ts';
import {
  DT_DIR, type DirEmit, type FsType, type Mount, MS_RDONLY, type SetAttrs, type Statfs, type VfsOps, Vnode, type VnodeOps,
  modeToDtype, vfsNow, vref,
} from './vnode.ts';

/** statfs f_type for etfs (no Linux value exists; "ETFS" in ASCII). */
export const ETFS_MAGIC = 0x45544653;

/** Per-mount state (mp.fsdata). */
interface EtfsMount {
  /** Host path of the mount's root (a directory or a file). */
  readonly hostRoot: string;
  readonly uid: number;
  readonly gid: number;
  /** Vnodes by path relative to the root ('' is the root, else '/a/b'). */
  readonly vnodes: Map<string, Vnode>;
  /** Inode numbers by relative path, stable for the mount's life. */
  readonly inos: Map<string, number>;
  nextIno: number;
}

/** Per-vnode state (vp.data). @guardedBy vp.lock */
interface ENode {
  readonly rel: string;
  /** The directory this was found in (the root's parent is itself). */
  readonly parent: Vnode | null;
  /** Host handles: read-only and read-write (null until needed). */
  rh: number | null;
  wh: number | null;
  /** Open descriptions of this vnode (ops.open minus ops.close). */
  opens: number;
}

function em(mp: Mount): EtfsMount {
  return mp.fsdata as EtfsMount;
}
function en(vp: Vnode): ENode {
  return vp.data as ENode;
}

function hostPath(m: EtfsMount, rel: string): string {
  if (rel === '') return m.hostRoot;
  return m.hostRoot.endsWith('/') ? m.hostRoot + rel.slice(1) : m.hostRoot + rel;
}

/** A host result: the value, or a KernelError for a negative errno. */
function check<T>(r: T | HostErrno): T {
  if (typeof r === 'number' && r < 0) {
    const e = -r;
    // An errno this kernel does not know is reported as an I/O error.
    throw err(errnoName(e) === `E${e}` ? EIO : e);
  }
  return r as T;
}

function inoFor(m: EtfsMount, rel: string): number {
  let ino = m.inos.get(rel);
  if (ino === undefined) {
    ino = m.nextIno++;
    m.inos.set(rel, ino);
  }
  return ino;
}

function tsOf(ns: bigint): { sec: number; nsec: number } {
  const sec = ns / 1_000_000_000n;
  return { sec: Number(sec), nsec: Number(ns - sec * 1_000_000_000n) };
}

function applyStat(vp: Vnode, st: HostStat): void {
  const m = em(vp.mount);
  vp.mode = st.mode;
  vp.uid = m.uid;
  vp.gid = m.gid;
  vp.size = st.type === 'dir' ? 4096 : st.size;
  vp.blocks = Math.ceil(st.size / 512);
  vp.nlink = st.type === 'dir' ? 2 : 1;
  const t = tsOf(st.mtimeNs);
  vp.mtime = t;
  vp.ctime = t;
  if (vp.atime.sec === 0 && vp.atime.nsec === 0) vp.atime = t;
}

/** The vnode for rel with attributes st (reusing the cached one when the type still matches), referenced. */
function vnodeFor(mp: Mount, rel: string, parent: Vnode | null, st: HostStat): Vnode {
  const m = em(mp);
  let vp = m.vnodes.get(rel);
  if (vp !== undefined && (vp.mode & S_IFMT) !== (st.mode & S_IFMT)) {
    // The host path changed type: a new object, a new inode number.
    m.vnodes.delete(rel);
    m.inos.delete(rel);
    vp = undefined;
  }
  if (vp === undefined) {
    const data: ENode = { rel, parent, rh: null, wh: null, opens: 0 };
    vp = new Vnode(mp, inoFor(m, rel), etfsVnodeOps, data, { mode: st.mode, uid: m.uid, gid: m.gid, rdev: 0 }, { sec: 0, nsec: 0 });
    m.vnodes.set(rel, vp);
  }
  applyStat(vp, st);
  return vref(vp);
}

async function statRel(mp: Mount, rel: string): Promise<HostStat | null> {
  const r = await mp.k.hyper.hostStat(hostPath(em(mp), rel));
  if (r === -ENOENT) return null;
  return check(r);
}

/** A host handle for vp: read-write when `write`, else any (read-write preferred). */
async function handleFor(vp: Vnode, write: boolean): Promise<number> {
  const d = en(vp);
  const have = write ? d.wh : d.wh ?? d.rh;
  if (have !== null) return have;
  const h = vp.mount.k.hyper;
  const fresh = check(await h.hostOpen(hostPath(em(vp.mount), d.rel), { write, create: false, truncate: false }));
  // Another thread may have opened one while we waited: keep the first, drop ours unused.
  const now = write ? d.wh : d.rh;
  if (now !== null) {
    await h.hostClose(fresh);
    return now;
  }
  if (write) d.wh = fresh;
  else d.rh = fresh;
  return fresh;
}

/** Close both host handles (last close, unmount). */
async function closeHandles(vp: Vnode): Promise<void> {
  const d = en(vp);
  const hs = [d.rh, d.wh];
  d.rh = d.wh = null;
  for (const x of hs) if (x !== null) check(await vp.mount.k.hyper.hostClose(x));
}

function noOp(): never {
  throw err(EPERM);
}

export const etfsVnodeOps: VnodeOps = {
  async lookup(dvp, _td, name) {
    const d = en(dvp);
    if (name === '..') return vref(d.parent ?? dvp);
    if (!dvp.isDir) throw err(ENOTDIR);
    const rel = `${d.rel}/${name}`;
    const st = await statRel(dvp.mount, rel);
    if (st === null) {
      em(dvp.mount).vnodes.delete(rel);
      return null;
    }
    return vnodeFor(dvp.mount, rel, dvp, st);
  },
  async create(dvp, _td, name, attrs) {
    // Only regular files can be made on the host (hostOpen with create).
    if ((attrs.mode & S_IFMT) !== S_IFREG) throw err(EPERM);
    const m = em(dvp.mount);
    const rel = `${en(dvp).rel}/${name}`;
    const h = dvp.mount.k.hyper;
    const fd = check(await h.hostOpen(hostPath(m, rel), { write: true, create: true, truncate: false }));
    await h.hostClose(fd);
    const st = await statRel(dvp.mount, rel);
    if (st === null) throw err(EIO);
    dvp.mtime = dvp.ctime = vfsNow(dvp.mount.k);
    return vnodeFor(dvp.mount, rel, dvp, st);
  },
  mkdir: noOp,
  symlink: noOp,
  link: noOp,
  unlink: noOp,
  rmdir: noOp,
  rename: noOp,
  async readlink(vp) {
    return check(await vp.mount.k.hyper.hostReadlink(hostPath(em(vp.mount), en(vp).rel)));
  },
  async setattr(vp, _td, c: SetAttrs) {
    if (c.mode !== undefined || c.uid !== undefined || c.gid !== undefined) throw err(EPERM);
    if (c.size !== undefined && c.size !== vp.size) {
      if (!vp.isReg) throw err(EINVAL);
      const h = vp.mount.k.hyper;
      const path = hostPath(em(vp.mount), en(vp).rel);
      if (c.size === 0) {
        check(await h.hostClose(check(await h.hostOpen(path, { write: true, create: false, truncate: true }))));
      } else if (c.size > vp.size) {
        const fd = await handleFor(vp, true);
        check(await h.hostWrite(fd, c.size - 1, new Uint8Array(1)));
      } else {
        throw err(EPERM);
      }
      vp.size = c.size;
    } else if (c.size === undefined && c.ctime !== undefined && (c.atime !== undefined || c.mtime !== undefined)) {
      // utimensat: no hypercall sets host times.
      throw err(EPERM);
    }
    if (c.atime !== undefined) vp.atime = c.atime;
    if (c.mtime !== undefined) vp.mtime = c.mtime;
    if (c.ctime !== undefined) vp.ctime = c.ctime;
  },
  async getattr(vp) {
    const st = await statRel(vp.mount, en(vp).rel);
    if (st === null) {
      vp.nlink = 0; // gone on the host
      return;
    }
    if ((st.mode & S_IFMT) === (vp.mode & S_IFMT)) applyStat(vp, st);
  },
  async open(vp, _td, flags) {
    if (!vp.isReg) return;
    const d = en(vp);
    d.opens++;
    try {
      await handleFor(vp, (flags & O_ACCMODE) !== O_RDONLY);
    } catch (e) {
      // The open fails, so no close will come for it.
      if (--d.opens === 0) await closeHandles(vp);
      throw e;
    }
  },
  async close(vp) {
    if (!vp.isReg) return;
    const d = en(vp);
    if (d.opens === 0) return;
    if (--d.opens === 0) await closeHandles(vp);
  },
  async read(vp, _td, buf, offset) {
    const fd = await handleFor(vp, false);
    return check(await vp.mount.k.hyper.hostRead(fd, offset, buf));
  },
  async write(vp, _td, buf, offset) {
    const fd = await handleFor(vp, true);
    const n = check(await vp.mount.k.hyper.hostWrite(fd, offset, buf));
    if (offset + n > vp.size) vp.size = offset + n;
    vp.mtime = vp.ctime = vfsNow(vp.mount.k);
    return n;
  },
  async readdir(vp, _td, cookie, emit: DirEmit) {
    const d = en(vp);
    const m = em(vp.mount);
    if (!vp.isDir) throw err(ENOTDIR);
    const names = check(await vp.mount.k.hyper.hostReaddir(hostPath(m, d.rel)));
    if (cookie <= 0) {
      if (!emit(vp.ino, DT_DIR, '.', 1)) return false;
      cookie = 1;
    }
    if (cookie === 1) {
      if (!emit((d.parent ?? vp).ino, DT_DIR, '..', 2)) return false;
      cookie = 2;
    }
    for (let i = cookie - 2; i < names.length; i++) {
      const name = names[i]!;
      const rel = `${d.rel}/${name}`;
      const st = await statRel(vp.mount, rel);
      if (st === null) continue; // vanished on the host meanwhile
      if (!emit(inoFor(m, rel), modeToDtype(st.mode), name, i + 3)) return false;
    }
    return true;
  },
  fsync() {
    // No host flush call exists for passthrough files (see the file comment).
  },
  nameOf(_dvp, vp) {
    const rel = en(vp).rel;
    return rel === '' ? null : rel.slice(rel.lastIndexOf('/') + 1);
  },
  inactive() {
    // Vnodes stay cached by path for the mount's life (their handles close on last close).
  },
  pathconf() {
    return null;
  },
};

const etfsVfsOps: VfsOps = {
  root(mp) {
    return vref(mp.root);
  },
  statfs(mp): Statfs {
    return { type: ETFS_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, fsid: [mp.dev, 0], namelen: 255, frsize: 4096, flags: 0 };
  },
  sync() {},
  async unmount(mp) {
    for (const vp of em(mp).vnodes.values()) await closeHandles(vp);
    em(mp).vnodes.clear();
  },
};

function parseOpts(data: string): { uid: number; gid: number } {
  const o = { uid: 0, gid: 0 };
  for (const opt of data.split(',')) {
    if (opt === '' || opt === 'rw' || opt === 'ro' || opt === 'defaults') continue;
    const m = /^(uid|gid)=(\d{1,10})$/.exec(opt);
    if (m === null || Number(m[2]) > 0xfffffffe) throw err(EINVAL);
    o[m[1] as 'uid' | 'gid'] = Number(m[2]);
  }
  return o;
}

/** A host source with symlinks followed on the host side (hostStat is an lstat): its path and attributes. */
async function resolveHost(k: Kernel, source: string): Promise<{ hostRoot: string; st: HostStat }> {
  if (source === '' || source.includes('\0')) throw err(EINVAL);
  let hostRoot = source;
  let st = check(await k.hyper.hostStat(hostRoot));
  for (let hops = 0; st.type === 'symlink'; hops++) {
    if (hops >= SYMLOOP_MAX) throw err(ELOOP);
    const t = check(await k.hyper.hostReadlink(hostRoot));
    hostRoot = t.startsWith('/') ? t : hostRoot.slice(0, hostRoot.lastIndexOf('/') + 1) + t;
    st = check(await k.hyper.hostStat(hostRoot));
  }
  return { hostRoot, st };
}

export const etfsType: FsType = {
  name: 'etfs',
  magic: ETFS_MAGIC,
  async mount(k: Kernel, _td: Lwp | null, mp: Mount, source: string, data: string) {
    const { uid, gid } = parseOpts(data);
    // A directory gives a tree, anything else a one-file mount (the VFS matches it to the target).
    const { hostRoot, st } = await resolveHost(k, source);
    const m: EtfsMount = { hostRoot, uid, gid, vnodes: new Map(), inos: new Map(), nextIno: 2 };
    m.inos.set('', 1);
    mp.fsdata = m;
    mp.ops = etfsVfsOps;
    mp.root = vnodeFor(mp, '', null, st);
  },
};

/** The `etfs` service: host paths registered at kernel paths. */
export class Etfs {
  readonly k: Kernel;
  /**
   * Placeholder files register made as mount points for host files, by
   * kernel path: how many registrations are stacked on each (the file is
   * removed when the last is unregistered).
   */
  private readonly placeholders = new Map<string, number>();

  constructor(k: Kernel) {
    this.k = k;
  }

  /** Kernel-credential system calls (proc0, root). */
  private sys(): Record<string, (...args: unknown[]) => Promise<unknown>> {
    return buildSys(this.k, { proc: this.k.proc0 });
  }

  /** mkdir each of `parts` below '/' in turn, as root 0755, where missing. */
  private async mkdirs(sys: ReturnType<Etfs['sys']>, parts: string[]): Promise<void> {
    let prefix = '';
    for (const part of parts) {
      prefix += '/' + part;
      try {
        await sys['mkdir']!(prefix, 0o755);
      } catch (e) {
        if (!(e instanceof KernelError) || e.errno !== EEXIST) throw e;
      }
    }
  }

  /**
   * Make host directory or file `hostPath` appear at `kernelPath`. For a
   * directory, the kernel directory is created, with its parents, as root
   * 0755 directories when missing; for a file (or any non-directory), the
   * parents likewise and an empty root 0644 regular file as the mount point
   * when nothing is there (an existing non-directory is used as it is; an
   * existing directory answers ENOTDIR). Writable unless `readOnly`, as
   * rump_pub_etfs_register is; `uid`/`gid` own every node.
   */
  async register(kernelPath: string, hostPath: string, opts: { readOnly?: boolean; uid?: number; gid?: number } = {}): Promise<void> {
    if (!kernelPath.startsWith('/')) throw new KernelError(EINVAL, 'etfs_register', kernelPath);
    const sys = this.sys();
    const parts = kernelPath.split('/').filter((p) => p !== '');
    const data = [opts.uid !== undefined ? `uid=${opts.uid}` : '', opts.gid !== undefined ? `gid=${opts.gid}` : ''].filter(Boolean).join(',');
    const flags = opts.readOnly === true ? MS_RDONLY : 0;
    const { st } = await resolveHost(this.k, hostPath);
    if (st.type === 'dir' || parts.length === 0) {
      await this.mkdirs(sys, parts);
      await sys['mount']!(hostPath, kernelPath, 'etfs', flags, data);
      return;
    }
    await this.mkdirs(sys, parts.slice(0, -1));
    const key = '/' + parts.join('/');
    let made = false;
    try {
      await sys['close']!(await sys['open']!(key, O_CREAT | O_EXCL | O_WRONLY, 0o644));
      made = true;
    } catch (e) {
      // EEXIST: whatever is there is the mount point (mount answers ENOTDIR for a directory).
      if (!(e instanceof KernelError) || e.errno !== EEXIST) throw e;
    }
    try {
      await sys['mount']!(hostPath, key, 'etfs', flags, data);
    } catch (e) {
      if (made) await sys['unlink']!(key);
      throw e;
    }
    if (made) this.placeholders.set(key, 1);
    else if (this.placeholders.has(key)) this.placeholders.set(key, this.placeholders.get(key)! + 1);
  }

  /**
   * Remove a registration (umount2; EBUSY while files under it are open),
   * and the placeholder file register made for a host file, once no
   * registration is left on it.
   */
  async unregister(kernelPath: string): Promise<void> {
    const sys = this.sys();
    await sys['umount2']!(kernelPath, 0);
    const key = '/' + kernelPath.split('/').filter((p) => p !== '').join('/');
    const n = this.placeholders.get(key);
    if (n === undefined) return;
    if (n > 1) {
      this.placeholders.set(key, n - 1);
      return;
    }
    this.placeholders.delete(key);
    await sys['unlink']!(key);
  }
}

/** The etfs component: registers the type and provides the `etfs` service. */
export const etfsComponent: Component = {
  name: 'etfs',
  phase: Phase.VFS,
  deps: ['vfs'],
  init(k: Kernel) {
    vfsOf(k).registerFsType(etfsType);
    k.provide('etfs', new Etfs(k));
  },
};

