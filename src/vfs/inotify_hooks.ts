/**
 * inotify(7)'s core (Linux fs/notify/fsnotify.c and inotify_fsnotify.c):
 * instances, watches, the event queue, and the fsnotify* calls the VFS makes
 * when something changes. The system calls and the instance's file are in
 * inotify.ts.
 *
 * The VFS reports changes through the fsnotify* calls below, made where
 * Linux makes them (fs/namei.c, fs/open.c, fs/read_write.c, fs/attr.c): one
 * line at each VOP call site, under the locks the site holds. They only
 * queue records and wake readers, never sleep, and return at once when the
 * kernel has no watch.
 *
 * Events (inotify(7)): IN_CREATE, IN_DELETE, IN_MOVED_FROM/IN_MOVED_TO (one
 * cookie per rename) on the directory with the name; IN_MODIFY, IN_ATTRIB,
 * IN_OPEN, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE on the file and, with its name,
 * on a watched directory holding it; IN_DELETE_SELF, IN_MOVE_SELF on the
 * watched object; IN_IGNORED when a watch goes (rm_watch, the object
 * deleted, IN_ONESHOT). A full queue (maxQueuedEvents, Linux's
 * fs.inotify.max_queued_events, 16384) drops events and queues one
 * IN_Q_OVERFLOW (wd -1). An event identical to the last unread one is merged,
 * as Linux does.
 *
 * How a directory watch learns the names of its children: when it is added,
 * the directory is read once (VOP readdir: names and inode numbers), and the
 * create, delete and rename hooks keep that map current. An event on a file
 * is then reported to each watched directory whose map holds its inode
 * number, with every name it has there.
 *
 * Not supported: IN_ACCESS (reads do not report), IN_UNMOUNT, IN_EXCL_UNLINK
 * (accepted, no effect), fanotify.
 */
import { WaitQueue } from '../kern/sched.ts';
import type { Kernel } from '../kern/kernel.ts';
import { O_CLOEXEC, O_NONBLOCK } from '../kern/constants.ts';
import { type SetAttrs, type Vnode, vrele } from './vnode.ts';

export const IN_ACCESS = 0x1;
export const IN_MODIFY = 0x2;
export const IN_ATTRIB = 0x4;
export const IN_CLOSE_WRITE = 0x8;
export const IN_CLOSE_NOWRITE = 0x10;
export const IN_OPEN = 0x20;
export const IN_MOVED_FROM = 0x40;
export const IN_MOVED_TO = 0x80;
export const IN_CREATE = 0x100;
export const IN_DELETE = 0x200;
export const IN_DELETE_SELF = 0x400;
export const IN_MOVE_SELF = 0x800;
export const IN_UNMOUNT = 0x2000;
export const IN_Q_OVERFLOW = 0x4000;
export const IN_IGNORED = 0x8000;
export const IN_ONLYDIR = 0x01000000;
export const IN_DONT_FOLLOW = 0x02000000;
export const IN_EXCL_UNLINK = 0x04000000;
export const IN_MASK_CREATE = 0x10000000;
export const IN_MASK_ADD = 0x20000000;
export const IN_ISDIR = 0x40000000;
export const IN_ONESHOT = 0x80000000;
export const IN_ALL_EVENTS = 0xfff;
export const IN_NONBLOCK = O_NONBLOCK;
export const IN_CLOEXEC = O_CLOEXEC;

/** Events a child reports to its watched parent directory (Linux FS_EVENTS_POSS_ON_CHILD). */
const ON_CHILD = IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN;
/** Flags add_watch accepts besides events. */
export const WATCH_FLAGS = IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ONESHOT;
/** sizeof(struct inotify_event) without the name; names are padded to a multiple of it. */
const EVENT_SIZE = 16;

const utf8 = new TextEncoder();

/** One watch: an instance watching a vnode (which it holds a reference to). */
export interface Watch {
  readonly wd: number;
  mask: number;
  readonly vp: Vnode;
  readonly inst: Inotify;
  /** A directory's children: inode number → names (see the header). @guardedBy single virtual CPU */
  children: Map<number, Set<string>> | null;
}

/** One inotify instance (the data of its File). */
export class Inotify {
  readonly k: Kernel;
  readonly watches = new Map<number, Watch>();
  readonly byVnode = new Map<Vnode, Watch>();
  /** Encoded events not yet read. @guardedBy single virtual CPU */
  readonly queue: Uint8Array[] = [];
  queuedBytes = 0;
  /** The last queued event's identity, for merging (wd, mask, cookie, name). */
  private last = '';
  private nextWd = 1;
  readonly rq = new WaitQueue('inotify');
  closed = false;

  constructor(k: Kernel) {
    this.k = k;
  }

  /** Queue one event (Linux inotify_handle_inode_event + fsnotify_add_event). */
  push(wd: number, mask: number, cookie: number, name: string | null): void {
    const svc = service(this.k);
    const id = `${wd}/${mask}/${cookie}/${name ?? ''}`;
    if (this.queue.length > 0 && id === this.last) return; // merged with the unread last event
    if (this.queue.length >= svc.maxQueuedEvents) {
      if (this.last === OVERFLOW_ID) return;
      this.enqueue(encodeEvent(-1, IN_Q_OVERFLOW, 0, null), OVERFLOW_ID);
      return;
    }
    this.enqueue(encodeEvent(wd, mask, cookie, name), id);
  }

  private enqueue(ev: Uint8Array, id: string): void {
    this.queue.push(ev);
    this.queuedBytes += ev.byteLength;
    this.last = id;
    this.rq.wakeup(this.k);
  }

  take(): Uint8Array | undefined {
    const ev = this.queue.shift();
    if (ev !== undefined) this.queuedBytes -= ev.byteLength;
    if (this.queue.length === 0) this.last = '';
    return ev;
  }

  allocWd(): number {
    return this.nextWd++;
  }
}

const OVERFLOW_ID = 'overflow';

/** struct inotify_event: wd, mask, cookie, len, then the NUL-padded name. */
export function encodeEvent(wd: number, mask: number, cookie: number, name: string | null): Uint8Array {
  const nb = name === null ? null : utf8.encode(name);
  const len = nb === null ? 0 : Math.ceil((nb.byteLength + 1) / EVENT_SIZE) * EVENT_SIZE;
  const out = new Uint8Array(EVENT_SIZE + len);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, wd, true);
  dv.setUint32(4, mask >>> 0, true);
  dv.setUint32(8, cookie >>> 0, true);
  dv.setUint32(12, len, true);
  if (nb !== null) out.set(nb, EVENT_SIZE);
  return out;
}

/** A parsed inotify_event (tests and frontends reading the fd). */
export interface InotifyEvent { wd: number; mask: number; cookie: number; name: string | null }

/** Parse the records of one read(2); throws on a truncated record. */
export function parseEvents(b: Uint8Array): InotifyEvent[] {
  const out: InotifyEvent[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dec = new TextDecoder('utf-8', { fatal: true });
  let o = 0;
  while (o < b.byteLength) {
    if (b.byteLength - o < EVENT_SIZE) throw new RangeError('truncated inotify_event');
    const len = dv.getUint32(o + 12, true);
    if (len > b.byteLength - o - EVENT_SIZE) throw new RangeError('truncated inotify_event name');
    let name: string | null = null;
    if (len > 0) {
      const raw = b.subarray(o + EVENT_SIZE, o + EVENT_SIZE + len);
      const end = raw.indexOf(0);
      name = dec.decode(end === -1 ? raw : raw.subarray(0, end));
    }
    out.push({ wd: dv.getInt32(o, true), mask: dv.getUint32(o + 4, true), cookie: dv.getUint32(o + 8, true), name });
    o += EVENT_SIZE + len;
  }
  return out;
}

/** The kernel's watches by vnode, and the limits (Linux fs.inotify.*). */
export class InotifyService {
  /** Every watch on a vnode, across instances. @guardedBy single virtual CPU */
  readonly byVnode = new Map<Vnode, Set<Watch>>();
  /** Directory watches (they learn about their children's events). */
  readonly dirWatches = new Set<Watch>();
  maxQueuedEvents = 16384;
  maxUserWatches = 8192;
  maxUserInstances = 128;
  private cookie = 0;

  nextCookie(): number {
    this.cookie = (this.cookie + 1) >>> 0 || 1;
    return this.cookie;
  }

  get active(): boolean {
    return this.byVnode.size > 0;
  }
}

export function service(k: Kernel): InotifyService {
  let s = k.lookup<InotifyService>('inotify');
  if (s === undefined) {
    s = new InotifyService();
    k.provide('inotify', s);
  }
  return s;
}

/** The kernel's inotify state, if any instance was ever made (tests tune its limits). */
export function inotifyService(k: Kernel): InotifyService {
  return service(k);
}

// ---- delivery -------------------------------------------------------------------------------

function deliver(svc: InotifyService, w: Watch, mask: number, cookie: number, name: string | null): void {
  if ((w.mask & mask & IN_ALL_EVENTS) === 0 && (mask & IN_IGNORED) === 0) return;
  w.inst.push(w.wd, mask, cookie, name);
  if ((w.mask & IN_ONESHOT) !== 0) dropWatch(svc, w, true);
}

/** An event on vp itself. */
function toSelf(svc: InotifyService, vp: Vnode, mask: number, cookie = 0): void {
  const ws = svc.byVnode.get(vp);
  if (ws === undefined) return;
  for (const w of [...ws]) deliver(svc, w, mask | (vp.isDir ? IN_ISDIR : 0), cookie, null);
}

/** An event on vp reported to each watched directory that holds it, with its names. */
function toParents(svc: InotifyService, vp: Vnode, mask: number): void {
  if ((mask & ON_CHILD) === 0 || svc.dirWatches.size === 0) return;
  for (const w of [...svc.dirWatches]) {
    if (w.vp.mount !== vp.mount || w.vp === vp) continue;
    const names = w.children?.get(vp.ino);
    if (names === undefined) continue;
    for (const n of [...names]) deliver(svc, w, mask | (vp.isDir ? IN_ISDIR : 0), 0, n);
  }
}

/** An event in directory dvp about its entry `name`. */
function toDir(svc: InotifyService, dvp: Vnode, mask: number, cookie: number, name: string, isDir: boolean): void {
  const ws = svc.byVnode.get(dvp);
  if (ws === undefined) return;
  for (const w of [...ws]) deliver(svc, w, mask | (isDir ? IN_ISDIR : 0), cookie, name);
}

function childAdd(svc: InotifyService, dvp: Vnode, name: string, ino: number): void {
  const ws = svc.byVnode.get(dvp);
  if (ws === undefined) return;
  for (const w of ws) {
    if (w.children === null) continue;
    let s = w.children.get(ino);
    if (s === undefined) w.children.set(ino, (s = new Set()));
    s.add(name);
  }
}

function childRemove(svc: InotifyService, dvp: Vnode, name: string, ino: number): void {
  const ws = svc.byVnode.get(dvp);
  if (ws === undefined) return;
  for (const w of ws) {
    const s = w.children?.get(ino);
    if (s === undefined) continue;
    s.delete(name);
    if (s.size === 0) w.children!.delete(ino);
  }
}

export function dropWatch(svc: InotifyService, w: Watch, ignored: boolean): void {
  if (!w.inst.watches.has(w.wd)) return;
  w.inst.watches.delete(w.wd);
  w.inst.byVnode.delete(w.vp);
  const ws = svc.byVnode.get(w.vp);
  ws?.delete(w);
  if (ws !== undefined && ws.size === 0) svc.byVnode.delete(w.vp);
  svc.dirWatches.delete(w);
  if (ignored) w.inst.push(w.wd, IN_IGNORED, 0, null);
  vrele(w.vp);
}

// ---- the hooks the VFS calls ----------------------------------------------------------------

/**
 * A name was created in dvp (create, mkdir, mknod, symlink; link with `link`):
 * IN_CREATE, and for a new hard link IN_ATTRIB on the file itself (Linux fsnotify_link).
 */
export function fsnotifyCreate(k: Kernel, dvp: Vnode, name: string, vp: Vnode, link = false): void {
  const svc = k.lookup<InotifyService>('inotify');
  if (svc === undefined || !svc.active) return;
  if (link) toSelf(svc, vp, IN_ATTRIB); // fsnotify_link_count: the inode only
  childAdd(svc, dvp, name, vp.ino);
  toDir(svc, dvp, IN_CREATE, 0, name, vp.isDir);
}

/**
 * The name `name` of vp in dvp was removed (unlink, rmdir): IN_ATTRIB on vp
 * (its link count), IN_DELETE_SELF and the watch's end when it was the last
 * link, IN_DELETE in dvp (Linux vfs_unlink, d_delete_notify).
 */
export function fsnotifyDelete(k: Kernel, dvp: Vnode, name: string, vp: Vnode): void {
  const svc = k.lookup<InotifyService>('inotify');
  if (svc === undefined || !svc.active) return;
  childRemove(svc, dvp, name, vp.ino);
  if (!vp.isDir) toSelf(svc, vp, IN_ATTRIB);
  if (vp.nlink === 0 || vp.isDir) deleteSelf(svc, vp);
  toDir(svc, dvp, IN_DELETE, 0, name, vp.isDir);
}

function deleteSelf(svc: InotifyService, vp: Vnode): void {
  const ws = svc.byVnode.get(vp);
  if (ws === undefined) return;
  for (const w of [...ws]) {
    w.inst.push(w.wd, IN_DELETE_SELF | (vp.isDir ? IN_ISDIR : 0), 0, null);
    dropWatch(svc, w, true);
  }
}

/**
 * vp moved from fdvp/fname to tdvp/tname, replacing `replaced` if any:
 * IN_MOVED_FROM and IN_MOVED_TO with one cookie, IN_MOVE_SELF on vp
 * (Linux fsnotify_move).
 */
export function fsnotifyRename(k: Kernel, fdvp: Vnode, fname: string, tdvp: Vnode, tname: string, vp: Vnode, replaced: Vnode | null): void {
  const svc = k.lookup<InotifyService>('inotify');
  if (svc === undefined || !svc.active) return;
  const cookie = svc.nextCookie();
  childRemove(svc, fdvp, fname, vp.ino);
  if (replaced !== null) {
    childRemove(svc, tdvp, tname, replaced.ino);
    if (replaced.nlink === 0 || replaced.isDir) deleteSelf(svc, replaced);
  }
  childAdd(svc, tdvp, tname, vp.ino);
  toDir(svc, fdvp, IN_MOVED_FROM, cookie, fname, vp.isDir);
  toDir(svc, tdvp, IN_MOVED_TO, cookie, tname, vp.isDir);
  toSelf(svc, vp, IN_MOVE_SELF);
}

/** vp's contents changed (write, truncate, fallocate): IN_MODIFY. */
export function fsnotifyModify(k: Kernel, vp: Vnode): void {
  const svc = k.lookup<InotifyService>('inotify');
  if (svc === undefined || !svc.active) return;
  toSelf(svc, vp, IN_MODIFY);
  toParents(svc, vp, IN_MODIFY);
}

/**
 * A setattr on vp (Linux fsnotify_change): a size change is IN_MODIFY; mode,
 * owner, or both times (utimes) IN_ATTRIB; mtime alone IN_MODIFY; atime
 * alone IN_ACCESS.
 */
export function fsnotifyChange(k: Kernel, vp: Vnode, c: SetAttrs): void {
  const svc = k.lookup<InotifyService>('inotify');
  if (svc === undefined || !svc.active) return;
  let mask = 0;
  if (c.uid !== undefined || c.gid !== undefined || c.mode !== undefined) mask |= IN_ATTRIB;
  if (c.size !== undefined) mask |= IN_MODIFY;
  if (c.atime !== undefined && c.mtime !== undefined) mask |= IN_ATTRIB;
  else if (c.atime !== undefined) mask |= IN_ACCESS;
  else if (c.mtime !== undefined) mask |= IN_MODIFY;
  if (mask === 0) return;
  toSelf(svc, vp, mask);
  toParents(svc, vp, mask);
}

/** vp was opened: IN_OPEN. */
export function fsnotifyOpen(k: Kernel, vp: Vnode): void {
  const svc = k.lookup<InotifyService>('inotify');
  if (svc === undefined || !svc.active) return;
  toSelf(svc, vp, IN_OPEN);
  toParents(svc, vp, IN_OPEN);
}

/** The last reference to an open file of vp went: IN_CLOSE_WRITE or IN_CLOSE_NOWRITE. */
export function fsnotifyClose(k: Kernel, vp: Vnode, wrote: boolean): void {
  const svc = k.lookup<InotifyService>('inotify');
  if (svc === undefined || !svc.active) return;
  const m = wrote ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE;
  toSelf(svc, vp, m);
  toParents(svc, vp, m);
}
