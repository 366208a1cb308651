/**
 * A test helper (not a test file): a file system that checks the vnode
 * lock rule ("The vnode lock" in vnode.ts) on every VOP, like NetBSD's
 * vnode_if.c lock assertions under LOCKDEBUG.
 *
 * `lockCheckedType(inner)` is `inner` (tmpfs in the tests) declared
 * blocking — neither nonblocking nor unlockedReads — so the VFS owes it a
 * lock around every VOP, with each VOP wrapped to check, before it runs,
 * that the calling thread holds the locks the rule asks for. A VOP called
 * without them is recorded in `violations` (with the call's site) rather
 * than thrown, so the system call still behaves as it would. Any file
 * system's tests can mount one and run a workload on it.
 *
 * The table below is the rule, VOP by VOP: which vnode arguments must be
 * held, and whether exclusively.
 */
import type { Kernel } from '../kern/kernel.ts';
import type { Lwp } from '../kern/sched.ts';
import type { FsType, Mount, Vnode, VnodeOps } from './vnode.ts';
import { formatSite } from '../kern/lockdep.ts';

type Need = 'shared' | 'excl';

/** VOP → the lock each vnode argument needs, by argument position (0 = the first). */
const RULE: Partial<Record<keyof VnodeOps, [number, Need][]>> = {
  lookup: [[0, 'shared']],
  create: [[0, 'excl']],
  mkdir: [[0, 'excl']],
  symlink: [[0, 'excl']],
  link: [[0, 'excl'], [2, 'excl']],
  unlink: [[0, 'excl'], [2, 'excl']],
  rmdir: [[0, 'excl'], [2, 'excl']],
  rename: [[0, 'excl'], [3, 'excl']],
  readlink: [[0, 'shared']],
  setattr: [[0, 'excl']],
  getattr: [[0, 'excl']],
  read: [[0, 'shared']],
  write: [[0, 'excl']],
  readdir: [[0, 'shared']],
  fsync: [[0, 'shared']],
  seekHole: [[0, 'shared']],
  fallocate: [[0, 'excl']],
  nameOf: [[0, 'shared']],
};

/** Where each VOP's thread argument is (seekHole and nameOf have none: any holder counts). */
const TD_ARG: Partial<Record<keyof VnodeOps, number>> = {
  lookup: 1, create: 1, mkdir: 1, symlink: 1, link: 1, unlink: 1, rmdir: 1, rename: 6,
  readlink: 1, setattr: 1, getattr: 1, read: 1, write: 1, readdir: 1, fsync: 1, fallocate: 1,
};

/** Where the VOP was called from: the first frames outside this file. */
function callerSite(): string {
  const e = new Error('vop');
  e.stack = (e.stack ?? '').split('\n').filter((l) => !l.includes('lockcheck.ts')).join('\n');
  return formatSite(e);
}

export interface LockChecked {
  readonly type: FsType;
  /** "VOP arg N (vnode …) not held [exclusive] by … at site". */
  readonly violations: string[];
  /** VOP calls checked. */
  readonly calls: number;
}

/** `inner` as a blocking file system named `name` whose VOPs check the vnode lock rule. */
export function lockCheckedType(inner: FsType, name = `${inner.name}_lockcheck`): LockChecked {
  const violations: string[] = [];
  let calls = 0;
  const wrapped = new WeakMap<VnodeOps, VnodeOps>();
  const wrappers = new WeakSet<VnodeOps>();

  const adopt = (vp: unknown): void => {
    if (vp === null || typeof vp !== 'object' || !('ops' in vp)) return;
    const v = vp as Vnode;
    v.ops = wrapOps(v.ops);
  };
  const adoptResult = (r: unknown): unknown => {
    if (r instanceof Promise) return r.then((x: unknown) => (adopt(x), x));
    adopt(r);
    return r;
  };

  const check = (op: keyof VnodeOps, args: unknown[]): void => {
    calls++;
    const needs = RULE[op];
    if (needs === undefined) return;
    const tdAt = TD_ARG[op];
    const td = tdAt === undefined ? undefined : (args[tdAt] as Lwp | null);
    for (const [at, need] of needs) {
      const vp = args[at] as Vnode | null;
      if (vp === null || vp === undefined) continue;
      const lock = vp.lock;
      const mode = td === undefined ? (lock.owner !== null ? 'excl' : lock.readers > 0 ? 'shared' : null) : td === null ? null : lock.heldBy(td);
      if (mode === 'excl' || (mode === 'shared' && need === 'shared')) continue;
      violations.push(`VOP ${op} argument ${at} (${lock.name}) not held${need === 'excl' ? ' exclusive' : ''} by ${td === undefined ? 'anyone' : td === null ? 'a caller without a thread' : `${td.name}[${td.tid}]`} (${mode ?? 'unlocked'}) at ${callerSite()}`);
    }
  };

  function wrapOps(ops: VnodeOps): VnodeOps {
    const known = wrapped.get(ops);
    if (known !== undefined) return known;
    if (wrappers.has(ops)) return ops;
    const w = { ...ops } as VnodeOps;
    for (const key of Object.keys(ops) as (keyof VnodeOps)[]) {
      const f = ops[key] as ((...a: unknown[]) => unknown) | undefined;
      if (typeof f !== 'function') continue;
      (w as unknown as Record<string, unknown>)[key] = (...args: unknown[]): unknown => {
        check(key, args);
        return adoptResult(f.apply(ops, args));
      };
    }
    wrapped.set(ops, w);
    wrappers.add(w);
    return w;
  }

  const type: FsType = {
    name,
    magic: inner.magic,
    async mount(k: Kernel, td: Lwp | null, mp: Mount, source: string, data: string) {
      const r = inner.mount(k, td, mp, source, data);
      if (r instanceof Promise) await r;
      adopt(mp.root);
      const vfsOps = mp.ops;
      mp.ops = {
        ...vfsOps,
        root: (m) => (adoptResult(vfsOps.root(m)) as Vnode),
        ...(vfsOps.vget !== undefined ? { vget: (m: Mount, ino: number) => adoptResult(vfsOps.vget!(m, ino)) as Vnode | Promise<Vnode> } : {}),
      };
    },
  };
  return {
    type,
    violations,
    get calls() {
      return calls;
    },
  };
}
