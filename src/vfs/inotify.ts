/**
 * inotify(7)'s system calls and descriptor (Linux fs/notify/inotify/
 * inotify_user.c): `inotify_init1(flags)` makes an instance, a File whose
 * read(2) returns whole `struct inotify_event` records (EINVAL when the
 * next one does not fit, EAGAIN or a sleep when there is none), with
 * FIONREAD and poll(2); `inotify_add_watch(fd, path, mask)` returns a watch
 * descriptor (the same one again for the same object, its mask replaced,
 * or OR-ed with IN_MASK_ADD; EEXIST with IN_MASK_CREATE);
 * `inotify_rm_watch(fd, wd)` queues IN_IGNORED. Events come from
 * inotify_hooks.ts.
 */
import { defineSyscall } from '../kern/syscall.ts';
import type { Lwp } from '../kern/sched.ts';
import { File, type FileOps, type Stat } from '../kern/file.ts';
import { EAGAIN, EBADF, EEXIST, EINTR, EINVAL, ENOSPC, ENOTDIR, ENOTTY, err } from '../kern/errno.ts';
import { AT_FDCWD, O_RDONLY, POLLIN, POLLRDNORM } from '../kern/constants.ts';
import { type Vnode, vrele } from './vnode.ts';
import { MAY_READ, checkAccess } from './perm.ts';
import { cred, installFile, resolveAt } from './sys_internal.ts';
import { readdirLocked } from './vfs_getcwd.ts';
import {
  IN_ALL_EVENTS, IN_CLOEXEC, IN_DONT_FOLLOW, IN_MASK_ADD, IN_MASK_CREATE, IN_NONBLOCK, IN_ONLYDIR, Inotify, WATCH_FLAGS, type Watch,
  dropWatch, service,
} from './inotify_hooks.ts';

const FIONREAD = 0x541b;
const AT_SYMLINK_NOFOLLOW = 0x100;

// ---- the instance's file operations ----------------------------------------------------------

function inst(fp: File): Inotify {
  if (!(fp.data instanceof Inotify)) throw err(EINVAL);
  return fp.data;
}

/** read(2) on an inotify fd: whole events only; EINVAL if the next one does not fit (inotify(7)). */
async function inotifyRead(fp: File<Inotify>, td: Lwp, buf: Uint8Array, offset: number | null): Promise<number> {
  if (offset !== null) throw err(EINVAL);
  const n = fp.data;
  for (;;) {
    const first = n.queue[0];
    if (first !== undefined) {
      if (first.byteLength > buf.byteLength) throw err(EINVAL);
      let o = 0;
      while (n.queue.length > 0 && n.queue[0]!.byteLength <= buf.byteLength - o) {
        const ev = n.take()!;
        buf.set(ev, o);
        o += ev.byteLength;
      }
      return o;
    }
    if ((fp.flags & IN_NONBLOCK) !== 0) throw err(EAGAIN);
    const why = await n.rq.sleep(td, { intr: true });
    if (why === 'intr') throw err(EINTR);
  }
}

export const inotifyFileOps: FileOps<Inotify> = {
  type: 'event',
  read: inotifyRead,
  ioctl(fp, _td, cmd) {
    if (cmd === FIONREAD) return fp.data.queuedBytes;
    throw err(ENOTTY);
  },
  poll(fp, _td, events) {
    return fp.data.queue.length > 0 ? events & (POLLIN | POLLRDNORM) : 0;
  },
  pollQueues(fp) {
    return [fp.data.rq];
  },
  stat(): Stat {
    const z = { sec: 0, nsec: 0 };
    return { dev: 0, ino: 0, mode: 0o600, nlink: 1, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 4096, blocks: 0, atime: z, mtime: z, ctime: z };
  },
  close(fp) {
    const n = fp.data;
    n.closed = true;
    const svc = service(n.k);
    for (const w of [...n.watches.values()]) dropWatch(svc, w, false);
    n.queue.length = 0;
    n.queuedBytes = 0;
    n.rq.wakeup(n.k);
  },
};

// ---- the system calls --------------------------------------------------------------------------

async function inotifyInit1(td: Lwp, flags: number): Promise<number> {
  // inotify_init1(2): EINVAL for flags other than IN_NONBLOCK and IN_CLOEXEC.
  if ((flags & ~(IN_NONBLOCK | IN_CLOEXEC)) !== 0) throw err(EINVAL);
  const fp = new File(inotifyFileOps, new Inotify(td.k), O_RDONLY | (flags & IN_NONBLOCK));
  service(td.k);
  return installFile(td, fp, (flags & IN_CLOEXEC) !== 0);
}

/** Read a directory once: its children's names by inode number. */
async function readChildren(td: Lwp, dvp: Vnode): Promise<Map<number, Set<string>>> {
  const out = new Map<number, Set<string>>();
  let cookie = 0;
  // Bounded: a directory of 2^20 entries is read in at most that many steps.
  for (let steps = 0; steps < 1 << 20; steps++) {
    let last = cookie;
    // Under dvp's shared lock, as the vnode lock rule asks (vnode.ts).
    const eof = await readdirLocked(td, dvp, cookie, (ino, _t, name, next) => {
      last = next;
      if (name !== '.' && name !== '..') {
        let s = out.get(ino);
        if (s === undefined) out.set(ino, (s = new Set()));
        s.add(name);
      }
      return true;
    });
    if (eof || last === cookie) break;
    cookie = last;
  }
  return out;
}

async function inotifyAddWatch(td: Lwp, fd: number, path: string, mask: number): Promise<number> {
  const fp = td.proc.fdt.get(fd);
  if (fp.ops !== inotifyFileOps) throw err(EINVAL);
  const n = inst(fp);
  // inotify_add_watch(2) EINVAL: no event in mask, or IN_MASK_ADD with IN_MASK_CREATE.
  if ((mask & IN_ALL_EVENTS) === 0 || (mask & ~(IN_ALL_EVENTS | WATCH_FLAGS)) !== 0) throw err(EINVAL);
  if ((mask & IN_MASK_ADD) !== 0 && (mask & IN_MASK_CREATE) !== 0) throw err(EINVAL);
  const r = resolveAt(td, AT_FDCWD, path, (mask & IN_DONT_FOLLOW) !== 0 ? AT_SYMLINK_NOFOLLOW : 0);
  const vp = r instanceof Promise ? await r : r;
  let kept = false;
  try {
    // The watcher needs read permission on the object (inotify_add_watch(2) EACCES).
    checkAccess(vp, cred(td), MAY_READ);
    if ((mask & IN_ONLYDIR) !== 0 && !vp.isDir) throw err(ENOTDIR);
    const svc = service(td.k);
    const existing = n.byVnode.get(vp);
    if (existing !== undefined) {
      if ((mask & IN_MASK_CREATE) !== 0) throw err(EEXIST);
      existing.mask = (mask & IN_MASK_ADD) !== 0 ? existing.mask | (mask & ~IN_MASK_ADD) : mask;
      return existing.wd;
    }
    if (n.watches.size >= svc.maxUserWatches) throw err(ENOSPC);
    const children = vp.isDir ? await readChildren(td, vp) : null;
    if (n.closed) throw err(EBADF);
    const again = n.byVnode.get(vp); // added while the directory was read
    if (again !== undefined) return again.wd;
    const w: Watch = { wd: n.allocWd(), mask: mask & ~IN_MASK_ADD, vp, inst: n, children };
    n.watches.set(w.wd, w);
    n.byVnode.set(vp, w);
    let ws = svc.byVnode.get(vp);
    if (ws === undefined) svc.byVnode.set(vp, (ws = new Set()));
    ws.add(w);
    if (vp.isDir) svc.dirWatches.add(w);
    kept = true;
    return w.wd;
  } finally {
    if (!kept) vrele(vp);
  }
}

function inotifyRmWatch(td: Lwp, fd: number, wd: number): number {
  const fp = td.proc.fdt.get(fd);
  if (fp.ops !== inotifyFileOps) throw err(EINVAL);
  const w = inst(fp).watches.get(wd);
  // inotify_rm_watch(2) EINVAL: wd is not valid.
  if (w === undefined) throw err(EINVAL);
  dropWatch(service(td.k), w, true);
  return 0;
}

export const inotifySyscalls = [
  defineSyscall('inotify_init1', 294, ['int?'], (td, flags?: number) => inotifyInit1(td, flags ?? 0)),
  defineSyscall('inotify_init', 253, [], (td) => inotifyInit1(td, 0)),
  // The mask is a u32; JavaScript's bit operators make IN_ONESHOT combinations negative, so both spellings are taken.
  defineSyscall('inotify_add_watch', 254, ['fd', 'path', 'int'], (td, fd: number, path: string, mask: number) => inotifyAddWatch(td, fd, path, mask | 0)),
  defineSyscall('inotify_rm_watch', 255, ['fd', 'int'], (td, fd: number, wd: number) => inotifyRmWatch(td, fd, wd)),
] as const;

