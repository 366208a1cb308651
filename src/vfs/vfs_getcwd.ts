/**
 * Walking up the directory tree (NetBSD vfs_getcwd.c, Linux d_path and
 * d_ancestor): the name of a directory inside its parent, the path of a
 * directory for getcwd(2) and /proc, and rename(2)'s ancestor check.
 *
 * Every step is a VOP on a vnode the caller has not locked, so each runs
 * under that vnode's shared lock ("The vnode lock" in vnode.ts) — '..'
 * through namei's `lookupLocked`, the name through `readdirLocked` or
 * `nameOf` — and each walk holds one vnode lock at a time: it goes up the
 * tree, and an ancestor must never be locked while a descendant is held
 * (src/kern/README.md, the lock order).
 *
 * Every walk is bounded:
 *   - a path by PATH_MAX bytes: ENAMETOOLONG, as Linux's getcwd(2) when
 *     the path does not fit (so at most PATH_MAX / 2 directories);
 *   - rename's ancestor walk by MAX_ANCESTRY directories: ELOOP (a tree
 *     that deep cannot be named by one path anyway);
 *   - a name search in one directory by SEARCH_BUDGET entries.
 *
 * Not supported: a snapshot consistent against a concurrent rename (Linux
 * retries d_path under rename_lock's seqcount): a path walked while a
 * rename moves one of its directories may show the old or the new name of
 * each directory.
 */
import type { Lwp } from '../kern/sched.ts';
import { ELOOP, ENAMETOOLONG, ENOENT, err } from '../kern/errno.ts';
import { PATH_MAX } from '../kern/constants.ts';
import { type DirEmit, type Vnode, readsUnlocked, vref, vrele } from './vnode.ts';
import { lookupLocked } from './namei.ts';

/** Most directory entries one name search reads. */
export const SEARCH_BUDGET = 100_000;
/** Most directories rename's ancestor walk climbs before answering ELOOP. */
export const MAX_ANCESTRY = 8192;

const enc = new TextEncoder();

/** VOP readdir under vp's shared lock (none where reads go unlocked); true at end of directory. */
export async function readdirLocked(td: Lwp, vp: Vnode, cookie: number, emit: DirEmit): Promise<boolean> {
  if (readsUnlocked(vp)) return vp.ops.readdir(vp, td, cookie, emit);
  const l = vp.lock.enter(td, 'shared');
  using g = l instanceof Promise ? await l : l;
  const r = vp.ops.readdir(vp, td, cookie, emit);
  return r instanceof Promise ? await r : r;
}

/**
 * The name of `vp` (not '.' or '..') in directory `dvp`: VOP nameOf, else a
 * readdir scan of at most SEARCH_BUDGET entries; null when not found. Both
 * under dvp's shared lock, held for the whole scan so it sees one state.
 */
export async function nameIn(td: Lwp, dvp: Vnode, vp: Vnode): Promise<string | null> {
  if (readsUnlocked(dvp)) return scanFor(td, dvp, vp);
  const l = dvp.lock.enter(td, 'shared');
  using g = l instanceof Promise ? await l : l;
  return await scanFor(td, dvp, vp);
}

async function scanFor(td: Lwp, dvp: Vnode, vp: Vnode): Promise<string | null> {
  const quick = dvp.ops.nameOf?.(dvp, vp);
  if (quick !== undefined && quick !== null) return quick;
  let found: string | null = null;
  let seen = 0;
  let cookie = 0;
  for (;;) {
    let last = cookie;
    const r = dvp.ops.readdir(dvp, td, cookie, (ino, _t, name, next) => {
      last = next;
      if (++seen > SEARCH_BUDGET) return false;
      if (ino === vp.ino && name !== '.' && name !== '..') {
        found = name;
        return false;
      }
      return true;
    });
    const eof = r instanceof Promise ? await r : r;
    if (found !== null || eof || last === cookie || seen > SEARCH_BUDGET) return found;
    cookie = last;
  }
}

/** '..' of directory vp, referenced; null when the file system has none. */
function parentOf(td: Lwp, vp: Vnode): Vnode | null | Promise<Vnode | null> {
  return lookupLocked(td, vp, '..');
}

/** What `dirPath` found. */
export interface DirPath {
  /** "/a/b" from the root the walk met, or from the top of the tree when it met none. */
  path: string;
  /** Did the walk meet `root`? False: `dir` is outside it (Linux prefixes "(unreachable)"). */
  reachable: boolean;
}

/**
 * The path of directory `dir` as seen from `root` (d_path): climb '..',
 * crossing from a mount's root to the vnode it covers, naming each
 * directory in its parent. Throws ENOENT when a directory on the way has
 * no parent or no name in it (removed meanwhile), ENAMETOOLONG once the
 * path passes PATH_MAX bytes with its terminating NUL.
 */
export async function dirPath(td: Lwp, dir: Vnode, root: Vnode): Promise<DirPath> {
  const parts: string[] = [];
  let bytes = 1; // "/" alone, or the NUL after the last name
  let cur = vref(dir);
  try {
    // Each climb adds at least two bytes ("/x") and each mount crossing leads to an
    // older mount, so PATH_MAX bounds the walk; the step bound only guards a corrupt tree.
    for (let steps = 0; steps < PATH_MAX; steps++) {
      if (cur === root) return { path: '/' + parts.reverse().join('/'), reachable: true };
      if (cur.isMountRoot) {
        const cov = cur.mount.covered;
        if (cov === null) return { path: '/' + parts.reverse().join('/'), reachable: false };
        vrele(cur);
        cur = vref(cov);
        continue;
      }
      const p = parentOf(td, cur);
      const parent = p instanceof Promise ? await p : p;
      if (parent === null || parent === cur) {
        if (parent !== null) vrele(parent);
        throw err(ENOENT);
      }
      let name: string | null;
      try {
        name = await nameIn(td, parent, cur);
      } catch (e) {
        vrele(parent);
        throw e;
      }
      vrele(cur);
      cur = parent;
      if (name === null) throw err(ENOENT);
      bytes += 1 + enc.encode(name).byteLength;
      if (bytes > PATH_MAX) throw err(ENAMETOOLONG);
      parts.push(name);
    }
    throw err(ENAMETOOLONG);
  } finally {
    vrele(cur);
  }
}

/**
 * Rename's ancestor check, Linux lock_rename's "trap": climbing '..' from
 * directory `from`, is `top` met? Then the directory just below `top` on
 * the way (referenced; `from` itself when top is its parent), else null
 * (the mount's root was reached first). A directory being moved is an
 * ancestor of `from` exactly when it is this vnode.
 *
 * Call it holding the mount's rename lock and no vnode lock: the rename
 * lock freezes every '..' on the mount (only rename changes one), so the
 * answer stays true until the rename is done, and the walk locks each
 * ancestor in turn, which a thread holding a descendant must not do.
 * Throws ELOOP past MAX_ANCESTRY directories.
 */
export async function ancestorBelow(td: Lwp, from: Vnode, top: Vnode): Promise<Vnode | null> {
  let cur = vref(from);
  try {
    for (let depth = 0; depth < MAX_ANCESTRY; depth++) {
      if (cur.isMountRoot) return null; // renames stay inside one mount
      const p = parentOf(td, cur);
      const parent = p instanceof Promise ? await p : p;
      if (parent === null) return null;
      if (parent === top) {
        vrele(parent);
        const below = cur;
        cur = null as unknown as Vnode;
        return below;
      }
      vrele(cur);
      cur = parent;
    }
    throw err(ELOOP);
  } finally {
    if (cur !== null) vrele(cur);
  }
}
