/**
 * The vnode-level entry points apply the system calls' rules: for random
 * objects (type, mode, owner), callers (uid, gid, groups) and arguments,
 * vn_open, vn_access, vn_truncate, vn_chmod, vn_chown and vn_utimens on a
 * vnode give the errno — and leave the attributes — that open(2),
 * access(2), truncate(2), chmod(2), chown(2) and utimensat(2) give on its
 * path, on twin objects, on a writable and a read-only mount. The namespace
 * forms (vn_mkdir ... started at a directory vnode) are checked the same way
 * against the `*at` calls. Cases: VN_ENTRY_RUNS (default 150). vn_lookup,
 * vn_stat, vn_read and vn_readdir have their own checks.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AT_FDCWD, F_OK, O_ACCMODE, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR, O_TRUNC,
  O_WRONLY, R_OK, S_IFIFO, UTIME_NOW, UTIME_OMIT, W_OK, X_OK,
} from '../kern/constants.ts';
import { CredProcs } from '../kern/lwproc.ts';
import { ProcHandle } from '../kern/lwproc.ts';
import type { Proc } from '../kern/proc.ts';
import { MS_RDONLY, MS_REMOUNT, vrele } from './vnode.ts';
import { lookupPath } from './namei.ts';
import { vn_access, vn_open, vn_openat } from './sys_open.ts';
import { vn_chmod, vn_chown, vn_truncate, vn_utimens } from './sys_attr.ts';
import { mkdirAt, renameAt2, rmdirAt, symlinkAt, unlinkAt, vn_link } from './sys_namei.ts';
import { vn_lookup, vn_read, vn_readdir, vn_readlink, vn_stat } from './vn_node.ts';
import { type Sys, code, simKernel, writeFile } from './testkit.ts';

const RUNS = Number(process.env.VN_ENTRY_RUNS ?? 150);

type Kind = 'reg' | 'dir' | 'lnk' | 'fifo';
interface Obj {
  kind: Kind;
  mode: number;
  uid: number;
  gid: number;
}
type Times = [{ sec: number; nsec: number }, { sec: number; nsec: number }] | null;
interface Caller {
  uid: number;
  gid: number;
  groups: number[];
}

const objArb = fc.record({
  kind: fc.constantFrom<Kind>('reg', 'reg', 'dir', 'lnk', 'fifo'),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.constantFrom(0, 1000, 1001),
  gid: fc.constantFrom(0, 100, 200),
});
const callerArb = fc.record({
  uid: fc.constantFrom(0, 1000, 1001),
  gid: fc.constantFrom(0, 100, 200),
  groups: fc.subarray([100, 200]),
});
const opArb = fc.oneof(
  fc.record({
    op: fc.constant('open' as const),
    flags: fc.tuple(fc.constantFrom(O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE), fc.subarray([O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW]))
      .map(([acc, more]) => more.reduce((a, b) => a | b, acc)),
  }),
  fc.record({ op: fc.constant('access' as const), mode: fc.constantFrom(F_OK, R_OK, W_OK, X_OK, R_OK | W_OK, R_OK | X_OK, 7, 8) }),
  fc.record({ op: fc.constant('truncate' as const), len: fc.constantFrom(0, 1, 5000) }),
  fc.record({ op: fc.constant('chmod' as const), mode: fc.integer({ min: 0, max: 0o7777 }) }),
  fc.record({ op: fc.constant('chown' as const), uid: fc.constantFrom(-1, 0, 1000, 1001), gid: fc.constantFrom(-1, 0, 100, 200) }),
  fc.record({
    op: fc.constant('utimens' as const),
    times: fc.constantFrom<Times>(null, [{ sec: 5, nsec: 0 }, { sec: 0, nsec: UTIME_OMIT }], [{ sec: 0, nsec: UTIME_NOW }, { sec: 9, nsec: 1 }]),
  }),
);

/** Make obj at path as root, with its mode and owner. */
async function make(s: Sys, path: string, o: Obj): Promise<void> {
  switch (o.kind) {
    case 'reg': await writeFile(s, path, 'content', 0); break;
    case 'dir': await s.mkdir(path, 0); break;
    case 'lnk': await writeFile(s, `${path}.target`, 'target', 0); await s.symlink(`${path.slice(path.lastIndexOf('/') + 1)}.target`, path); break;
    case 'fifo': await s.mknod(path, S_IFIFO, 0); break;
  }
  const real = o.kind === 'lnk' ? `${path}.target` : path;
  await s.chown(real, o.uid, o.gid);
  await s.chmod(real, o.mode);
}

/** Mode, owner and size (and, when asked, the seconds of atime/mtime) of what path names now, or the errno. */
async function attrs(s: Sys, path: string, times = false): Promise<string> {
  try {
    const st = await s.lstat(path);
    return `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size}${times ? ` ${st.atime.sec}/${st.mtime.sec}` : ''}`;
  } catch (e) {
    return (e as { code: string }).code;
  }
}

describe('vnode-level entry points', () => {
  it('give the errno and the result of the system call on the same object (property)', () =>
    simKernel(async (k) => {
      const s = k.sys;
      const cp = new CredProcs(k.kernel, { comm: 'vn' });
      const root = cp.thread(cp.proc(0, 0, []), 'vn_test');
      await s.mkdir('/t', 0o777);
      // A read-only mount with one file and one directory anybody may write (but the mount says no).
      await s.mkdir('/ro', 0o755);
      await s.mount('tmpfs', '/ro', 'tmpfs', 0, '');
      await make(s, '/ro/f', { kind: 'reg', mode: 0o666, uid: 1000, gid: 100 });
      await make(s, '/ro/d', { kind: 'dir', mode: 0o777, uid: 1000, gid: 100 });
      await s.mount('tmpfs', '/ro', 'tmpfs', MS_REMOUNT | MS_RDONLY, '');
      let n = 0;
      const seen = new Set<string>();
      await fc.assert(fc.asyncProperty(objArb, callerArb, opArb, fc.constantFrom(null, '/ro/f', '/ro/d'), async (o, c, op, ro) => {
        const i = n++;
        const a = ro ?? `/t/a${i}`;
        const b = ro ?? `/t/b${i}`;
        if (ro === null) {
          await make(s, a, o);
          await make(s, b, o);
        }
        const p: Proc = cp.proc(c.uid, c.gid, c.groups);
        const ph = new ProcHandle(k.kernel, p);
        const sys = ph.sys as unknown as Sys;
        const td = cp.thread(p, 'vn_test');
        const follow = !(op.op === 'open' && (op.flags & O_NOFOLLOW) !== 0);
        const vp = await lookupPath(root, AT_FDCWD, b, follow);
        let viaSys: string;
        let viaVn: string;
        try {
          switch (op.op) {
            case 'open': {
              // A FIFO opened without O_NONBLOCK would wait for a peer.
              const fl = op.flags | (o.kind === 'fifo' && ro === null ? O_NONBLOCK : 0);
              viaSys = await code(sys.open(a, fl).then((fd) => sys.close(fd)));
              viaVn = await code(vn_open(td, vp, fl).then((fp) => fp.release(td)));
              break;
            }
            case 'access':
              viaSys = await code(sys.access(a, op.mode));
              viaVn = await code(Promise.resolve().then(() => vn_access(vp, op.mode, p.cred)));
              break;
            case 'truncate':
              viaSys = await code(sys.truncate(a, op.len));
              viaVn = await code(vn_truncate(td, vp, op.len));
              break;
            case 'chmod':
              viaSys = await code(sys.chmod(a, op.mode));
              viaVn = await code(vn_chmod(td, vp, op.mode));
              break;
            case 'chown':
              viaSys = await code(sys.chown(a, op.uid, op.gid));
              viaVn = await code(vn_chown(td, vp, op.uid, op.gid));
              break;
            case 'utimens':
              viaSys = await code(sys.utimensat(AT_FDCWD, a, op.times, 0));
              viaVn = await code(vn_utimens(td, vp, op.times));
              break;
          }
        } finally {
          vrele(vp);
        }
        expect(viaVn, `${JSON.stringify({ o, c, op, ro })}`).toBe(viaSys);
        seen.add(`${op.op}:${viaSys}`);
        // Explicit times (no UTIME_NOW) must land the same too.
        const times = op.op === 'utimens' && op.times !== null && op.times.every((t) => t.nsec !== UTIME_NOW);
        const real = (x: string) => (o.kind === 'lnk' ? `${x}.target` : x);
        if (ro === null) expect(await attrs(s, real(b), times)).toBe(await attrs(s, real(a), times));
      }), { numRuns: RUNS, seed: 7 });
      // The cases reach both sides of the rules, not only one answer.
      for (const want of ['open:ok', 'open:EACCES', 'open:EISDIR', 'open:EROFS', 'access:ok', 'access:EACCES', 'truncate:ok', 'chmod:EPERM', 'chown:ok']) {
        expect(seen, [...seen].join(' ')).toContain(want);
      }
      await cp.close();
    }), 120_000);

  it('the namespace calls started at a directory vnode are the *at calls (property)', () =>
    simKernel(async (k) => {
      const s = k.sys;
      const cp = new CredProcs(k.kernel, { comm: 'vn' });
      const root = cp.thread(cp.proc(0, 0, []), 'vn_test');
      let n = 0;
      const seen = new Set<string>();
      await fc.assert(fc.asyncProperty(
        fc.record({ mode: fc.constantFrom(0o777, 0o755, 0o1777, 0o555, 0o700), uid: fc.constantFrom(0, 1000, 1001) }),
        callerArb,
        fc.constantFrom('mkdir', 'create', 'excl', 'symlink', 'unlink', 'rmdir', 'rename', 'lookup'),
        fc.constantFrom('x', 'exists', 'sub', '.', '..'),
        async (dir, c, op, name) => {
          const i = n++;
          // Twin directories, each with a file "exists" and an empty directory "sub".
          const dirs = [`/a${i}`, `/b${i}`];
          for (const d of dirs) {
            await s.mkdir(d, 0o777);
            await writeFile(s, `${d}/exists`);
            await s.mkdir(`${d}/sub`, 0o777);
            await s.chown(d, dir.uid, 0);
            await s.chmod(d, dir.mode);
          }
          const p = cp.proc(c.uid, c.gid, c.groups);
          const sys = new ProcHandle(k.kernel, p).sys as unknown as Sys;
          const td = cp.thread(p, 'vn_test');
          const dvp = await lookupPath(root, AT_FDCWD, dirs[1]!, true);
          const at = (path: string) => `${dirs[0]}/${path}`;
          let viaSys: string;
          let viaVn: string;
          try {
            switch (op) {
              case 'mkdir':
                viaSys = await code(sys.mkdir(at(name), 0o750));
                viaVn = await code(mkdirAt(td, dvp, name, 0o750));
                break;
              case 'create':
              case 'excl': {
                const fl = O_CREAT | O_WRONLY | (op === 'excl' ? O_EXCL : 0);
                viaSys = await code(sys.open(at(name), fl, 0o640).then((fd) => sys.close(fd)));
                viaVn = await code(vn_openat(td, dvp, name, fl, 0o640).then((fp) => fp.release(td)));
                break;
              }
              case 'symlink':
                viaSys = await code(sys.symlink('target', at(name)));
                viaVn = await code(symlinkAt(td, 'target', dvp, name));
                break;
              case 'unlink':
                viaSys = await code(sys.unlink(at(name)));
                viaVn = await code(unlinkAt(td, dvp, name, 0));
                break;
              case 'rmdir':
                viaSys = await code(sys.rmdir(at(name)));
                viaVn = await code(rmdirAt(td, dvp, name));
                break;
              case 'rename':
                viaSys = await code(sys.rename(at(name), at('renamed')));
                viaVn = await code(renameAt2(td, dvp, name, dvp, 'renamed', 0));
                break;
              case 'lookup':
                viaSys = await code(sys.stat(at(name)));
                viaVn = await code(vn_lookup(td, dvp, name).then(vrele));
                break;
            }
          } finally {
            vrele(dvp);
          }
          expect(viaVn, JSON.stringify({ dir, c, op, name })).toBe(viaSys);
          seen.add(`${op}:${viaSys}`);
          for (const entry of ['x', 'exists', 'sub', 'renamed']) {
            expect(await attrs(s, `${dirs[1]}/${entry}`), entry).toBe(await attrs(s, `${dirs[0]}/${entry}`));
          }
        },
      ), { numRuns: RUNS, seed: 11 });
      for (const want of ['mkdir:ok', 'mkdir:EACCES', 'mkdir:EEXIST', 'create:ok', 'excl:EEXIST', 'unlink:ok', 'rmdir:ok', 'rename:ok', 'lookup:ok', 'lookup:ENOENT']) {
        expect(seen, [...seen].join(' ')).toContain(want);
      }
      await cp.close();
    }), 120_000);

  it('vn_lookup, vn_stat, vn_read and vn_readdir: the walk step\'s checks, stat(2), pread(2), getdents(2)', () =>
    simKernel(async (k) => {
      const s = k.sys;
      const cp = new CredProcs(k.kernel, { comm: 'vn' });
      const root = cp.thread(cp.proc(0, 0, []), 'vn_test');
      const user = cp.thread(cp.proc(1000, 1000, []), 'vn_test');
      await s.mkdir('/d', 0o755);
      await writeFile(s, '/d/f', 'hello world');
      await s.mkdir('/d/closed', 0o700);
      await writeFile(s, '/d/closed/secret', 'x');
      const d = await lookupPath(root, AT_FDCWD, '/d', true);
      const f = await vn_lookup(user, d, 'f');
      const closed = await vn_lookup(root, d, 'closed');
      try {
        expect(await code(vn_lookup(user, f, 'x'))).toBe('ENOTDIR');
        expect(await code(vn_lookup(user, d, 'missing'))).toBe('ENOENT');
        expect(await code(vn_lookup(user, d, 'a'.repeat(256)))).toBe('ENAMETOOLONG');
        // NAME_MAX counts UTF-8 bytes: 85 three-byte characters fit (255), 86 do not.
        expect(await code(vn_lookup(user, d, '\u20ac'.repeat(85)))).toBe('ENOENT');
        expect(await code(vn_lookup(user, d, '\u20ac'.repeat(86)))).toBe('ENAMETOOLONG');
        expect(await code(vn_lookup(user, closed, 'secret'))).toBe('EACCES');
        expect(await code(vn_lookup(root, closed, 'secret').then(vrele))).toBe('ok');
        expect(await vn_stat(user, f)).toEqual(await s.stat('/d/f'));
        const buf = new Uint8Array(5);
        expect(await vn_read(user, f, buf, 6)).toBe(5);
        expect(new TextDecoder().decode(buf)).toBe('world');
        expect(await vn_read(user, f, buf, 11)).toBe(0);
        const names: string[] = [];
        await vn_readdir(user, d, 0, false, (_ino, _type, name) => {
          names.push(name);
          return true;
        });
        expect(names.sort()).toEqual(['.', '..', 'closed', 'f']);
        // Stopping early, then resuming at the cookie given, lists each name once.
        const firstTwo: [string, number][] = [];
        await vn_readdir(user, d, 0, true, (_ino, _type, name, next) => {
          firstTwo.push([name, next]);
          return firstTwo.length < 2;
        });
        const rest: string[] = [];
        await vn_readdir(user, d, firstTwo[1]![1], true, (_ino, _type, name) => {
          rest.push(name);
          return true;
        });
        expect([...firstTwo.map(([n]) => n), ...rest].sort()).toEqual(['.', '..', 'closed', 'f']);
        expect(await code(vn_readdir(user, f, 0, false, () => true))).toBe('ENOTDIR');
        expect(await code(vn_readlink(user, f))).toBe('EINVAL');
        // vn_link into a node that is no directory (a FUSE LINK may name any node).
        expect(await code(vn_link(user, f, f, 'x'))).toBe('ENOTDIR');
      } finally {
        vrele(f);
        vrele(closed);
        vrele(d);
      }
      await cp.close();
    }));
});
