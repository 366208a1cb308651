/**
 * Every reply layout against the real host kernel: a small in-memory file system handler, driven
 * by a child process doing mkdir, create, large writes, truncate, rename, link, symlink, readlink,
 * chmod, utimes, unlink, rmdir and a directory too big for one READDIR(PLUS) reply.
 *
 * Same prerequisites as session.test.ts (root, /dev/fuse; CI=true turns a skip into a failure).
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FuseSession, type FuseHandler } from './session.ts';
import * as P from './proto.ts';
import type { EntryOut, FuseAttr, Timespec } from './proto.ts';

const exec = promisify(execFile);
const ENOENT = -2, EEXIST = -17, ENOTDIR = -20, EISDIR = -21, ENOTEMPTY = -39, EINVAL = -22;

function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()})`;
  try {
    fs.accessSync('/dev/fuse', fs.constants.R_OK | fs.constants.W_OK);
  } catch (e) {
    return `/dev/fuse is not usable: ${(e as Error).message}`;
  }
  return undefined;
}
const missing = missingPrerequisite();

interface Node {
  attr: FuseAttr;
  data: Uint8Array; // regular files
  target?: string; // symlinks
  children?: Map<string, number>; // directories
}

/** A deliberately simple in-memory file system; nodeid = ino. Not the kernel's VFS. */
function memfs(): FuseHandler {
  let clock = 1_700_000_000;
  const now = (): Timespec => ({ sec: clock++, nsec: 123 });
  const nodes = new Map<number, Node>();
  let nextIno = 2;
  const mk = (mode: number, uid: number, gid: number, rdev = 0): number => {
    const t = now();
    const ino = nextIno++;
    nodes.set(ino, {
      attr: { ino, size: 0, blocks: 0, atime: t, mtime: t, ctime: t, mode, nlink: 1, uid, gid, rdev, blksize: 4096 },
      data: new Uint8Array(0),
      ...((mode & 0o170000) === 0o040000 ? { children: new Map() } : {}),
    });
    if (nodes.get(ino)!.children) nodes.get(ino)!.attr.nlink = 2;
    return ino;
  };
  const t0 = now();
  nodes.set(1, {
    attr: { ino: 1, size: 0, blocks: 0, atime: t0, mtime: t0, ctime: t0, mode: 0o40777, nlink: 2, uid: 0, gid: 0, rdev: 0, blksize: 4096 },
    data: new Uint8Array(0),
    children: new Map(),
  });
  const entry = (ino: number): EntryOut => ({ nodeid: ino, generation: 1, entryTimeout: 0, attrTimeout: 0, attr: { ...nodes.get(ino)!.attr } });
  const dir = (id: number) => nodes.get(id)?.children;
  const link = (parent: number, name: string, ino: number): number | EntryOut => {
    const d = dir(parent);
    if (!d) return ENOTDIR;
    if (d.has(name)) return EEXIST;
    d.set(name, ino);
    if (nodes.get(ino)!.children) nodes.get(parent)!.attr.nlink++;
    nodes.get(parent)!.attr.mtime = now();
    return entry(ino);
  };
  const setSize = (n: Node, size: number) => {
    const d = new Uint8Array(size);
    d.set(n.data.subarray(0, size));
    n.data = d;
    n.attr.size = size;
    n.attr.blocks = Math.ceil(size / 512);
  };
  const listing = (req: { header: { nodeid: number }; offset: number; size: number }, plus: boolean) => {
    const d = dir(req.header.nodeid);
    if (!d) return ENOTDIR;
    const all: [string, number][] = [['.', req.header.nodeid], ['..', 1], ...d];
    const p = new P.DirentPacker(req.size, plus);
    for (let i = req.offset; i < all.length; i++) {
      const [name, ino] = all[i]!;
      const isDot = name === '.' || name === '..';
      // Dot entries carry no entry_out (nodeid 0): the kernel does not count them as lookups.
      if (!p.add({ ino, off: i + 1, type: P.direntType(nodes.get(ino)!.attr.mode), name }, isDot ? undefined : entry(ino))) break;
    }
    return p.finish();
  };

  return {
    lookup(req) {
      const ino = dir(req.header.nodeid)?.get(req.name);
      return ino === undefined ? ENOENT : entry(ino);
    },
    getattr(req) {
      const n = nodes.get(req.header.nodeid);
      return n ? { attrTimeout: 0, attr: { ...n.attr } } : ENOENT;
    },
    setattr(req) {
      const n = nodes.get(req.header.nodeid);
      if (!n) return ENOENT;
      if (req.valid & P.FATTR_MODE) n.attr.mode = (n.attr.mode & 0o170000) | (req.mode & 0o7777);
      if (req.valid & P.FATTR_UID) n.attr.uid = req.uid;
      if (req.valid & P.FATTR_GID) n.attr.gid = req.gid;
      if (req.valid & P.FATTR_SIZE) {
        if (n.children) return EISDIR;
        setSize(n, req.size);
        n.attr.mtime = now();
      }
      if (req.valid & P.FATTR_ATIME) n.attr.atime = req.atime;
      if (req.valid & P.FATTR_ATIME_NOW) n.attr.atime = now();
      if (req.valid & P.FATTR_MTIME) n.attr.mtime = req.mtime;
      if (req.valid & P.FATTR_MTIME_NOW) n.attr.mtime = now();
      n.attr.ctime = now();
      return { attrTimeout: 0, attr: { ...n.attr } };
    },
    readlink(req) {
      return nodes.get(req.header.nodeid)?.target ?? EINVAL;
    },
    symlink(req) {
      const ino = mk(0o120777, req.header.uid, req.header.gid);
      const n = nodes.get(ino)!;
      n.target = req.target;
      n.attr.size = new TextEncoder().encode(req.target).length;
      return link(req.header.nodeid, req.name, ino);
    },
    mknod(req) {
      return link(req.header.nodeid, req.name, mk(req.mode, req.header.uid, req.header.gid, req.rdev));
    },
    mkdir(req) {
      return link(req.header.nodeid, req.name, mk(0o040000 | (req.mode & 0o7777), req.header.uid, req.header.gid));
    },
    create(req) {
      const e = link(req.header.nodeid, req.name, mk(0o100000 | (req.mode & 0o7777), req.header.uid, req.header.gid));
      return typeof e === 'number' ? e : { entry: e, open: { fh: e.nodeid, openFlags: 0 } };
    },
    unlink(req) {
      const d = dir(req.header.nodeid);
      const ino = d?.get(req.name);
      if (ino === undefined) return ENOENT;
      if (nodes.get(ino)!.children) return EISDIR;
      d!.delete(req.name);
      nodes.get(ino)!.attr.nlink--;
      return 0;
    },
    rmdir(req) {
      const d = dir(req.header.nodeid);
      const ino = d?.get(req.name);
      if (ino === undefined) return ENOENT;
      const c = dir(ino);
      if (!c) return ENOTDIR;
      if (c.size) return ENOTEMPTY;
      d!.delete(req.name);
      nodes.get(req.header.nodeid)!.attr.nlink--;
      return 0;
    },
    rename(req) {
      if (req.flags) return EINVAL;
      const from = dir(req.header.nodeid), to = dir(req.newdir);
      const ino = from?.get(req.oldName);
      if (ino === undefined || !to) return ENOENT;
      from!.delete(req.oldName);
      to.set(req.newName, ino);
      return 0;
    },
    link(req) {
      const n = nodes.get(req.oldnodeid);
      if (!n) return ENOENT;
      n.attr.nlink++;
      return link(req.header.nodeid, req.name, req.oldnodeid);
    },
    open(req) {
      const n = nodes.get(req.header.nodeid);
      if (!n) return ENOENT;
      return { fh: req.header.nodeid, openFlags: 0 };
    },
    read(req) {
      const n = nodes.get(req.fh);
      if (!n) return ENOENT;
      return n.data.slice(Math.min(req.offset, n.data.length), Math.min(req.offset + req.size, n.data.length));
    },
    write(req) {
      const n = nodes.get(req.fh)!;
      const end = req.offset + req.data.length;
      if (end > n.data.length) setSize(n, end);
      n.data.set(req.data, req.offset);
      n.attr.mtime = now();
      return req.data.length;
    },
    opendir(req) {
      return dir(req.header.nodeid) ? { fh: 0, openFlags: 0 } : ENOTDIR;
    },
    readdir: (req) => listing(req, false),
    readdirplus: (req) => listing(req, true),
    fsync: () => 0,
    statfs: () => ({ blocks: 1000, bfree: 500, bavail: 500, files: 100, ffree: 100 - nodes.size, bsize: 4096, namelen: 255, frsize: 4096 }),
  };
}

const CHILD = String.raw`
const fs = require('node:fs');
const assert = require('node:assert/strict');
const d = process.argv[1];
const big = Buffer.alloc(300 * 1024 + 17);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 10)) & 0xff;
fs.mkdirSync(d + '/sub', 0o750);
assert.equal(fs.statSync(d + '/sub').mode, 0o40750);
fs.writeFileSync(d + '/sub/big', big);
assert.equal(fs.statSync(d + '/sub/big').size, big.length);
assert.ok(fs.readFileSync(d + '/sub/big').equals(big));
fs.truncateSync(d + '/sub/big', 1000);
assert.ok(fs.readFileSync(d + '/sub/big').equals(big.subarray(0, 1000)));
const fd = fs.openSync(d + '/sub/big', 'r+');
fs.writeSync(fd, Buffer.from('HELLO'), 0, 5, 500);
fs.fsyncSync(fd);
fs.closeSync(fd);
assert.equal(fs.readFileSync(d + '/sub/big').subarray(500, 505).toString(), 'HELLO');
fs.renameSync(d + '/sub/big', d + '/moved');
assert.throws(() => fs.statSync(d + '/sub/big'), { code: 'ENOENT' });
fs.linkSync(d + '/moved', d + '/hard');
assert.equal(fs.statSync(d + '/hard').nlink, 2);
fs.symlinkSync('moved', d + '/sym');
assert.equal(fs.readlinkSync(d + '/sym'), 'moved');
assert.equal(fs.readFileSync(d + '/sym').length, 1000);
fs.chmodSync(d + '/moved', 0o600);
assert.equal(fs.statSync(d + '/moved').mode & 0o7777, 0o600);
fs.utimesSync(d + '/moved', 1000, 2000.5);
const st = fs.statSync(d + '/moved');
assert.equal(st.atimeMs, 1000000);
assert.equal(st.mtimeMs, 2000500);
const many = [];
for (let i = 0; i < 400; i++) { const n = 'entry-with-a-longish-name-' + i; many.push(n); fs.writeFileSync(d + '/sub/' + n, ''); }
const listed = fs.readdirSync(d + '/sub').sort();
assert.deepEqual(listed, many.slice().sort());
const typed = fs.readdirSync(d, { withFileTypes: true }).map((e) => e.name + ':' + (e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : 'f')).sort();
assert.deepEqual(typed, ['hard:f', 'moved:f', 'sub:d', 'sym:l']);
assert.throws(() => fs.rmdirSync(d + '/sub'), { code: 'ENOTEMPTY' });
for (const n of many) fs.unlinkSync(d + '/sub/' + n);
fs.rmdirSync(d + '/sub');
fs.unlinkSync(d + '/hard');
fs.unlinkSync(d + '/sym');
assert.throws(() => fs.mkdirSync(d + '/moved'), { code: 'EEXIST' });
assert.deepEqual(fs.readdirSync(d), ['moved']);
console.log('ok');
`;

describe.skipIf(missing !== undefined && process.env.CI !== 'true')('FuseSession with a read-write handler on the host kernel', () => {
  it('creates, writes, truncates, renames, links and lists through the host kernel', async () => {
    if (missing) throw new Error(`CI=true but the FUSE prerequisites are missing: ${missing}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-fuse-rw-'));
    const errors: unknown[] = [];
    const h = memfs();
    let maxWrite = 0, dirReplies = 0;
    const s = await FuseSession.mount(dir, {
      ...h,
      write(req, ctx) {
        maxWrite = Math.max(maxWrite, req.data.length);
        return h.write!(req, ctx);
      },
      readdirplus(req, ctx) {
        dirReplies++;
        return h.readdirplus!(req, ctx);
      },
      readdir(req, ctx) {
        dirReplies++;
        return h.readdir!(req, ctx);
      },
    }, { onError: (e) => errors.push(e) });
    try {
      const { stdout } = await exec(process.execPath, ['-e', CHILD, dir], { timeout: 60_000 }).catch((e) => {
        throw new Error(`child failed: ${e.stderr || e.message}`);
      });
      expect(stdout.trim()).toBe('ok');
      expect(maxWrite).toBe(131072); // BIG_WRITES + max_write: 300 KiB went in 128 KiB requests
      expect(dirReplies).toBeGreaterThan(4); // 400 entries do not fit one reply: the packer split them
    } finally {
      await s.unmount();
      fs.rmdirSync(dir);
    }
    expect(errors).toEqual([]);
    expect(s.stats.parseErrors).toBe(0);
  }, 90_000);

  it('forwards fcntl and flock locks (GETLK/SETLK/SETLKW) and their replies through the host kernel', async () => {
    if (missing) throw new Error(`CI=true but the FUSE prerequisites are missing: ${missing}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-fuse-lk-'));
    const h = memfs();
    const calls: string[] = [];
    const s = await FuseSession.mount(dir, {
      ...h,
      getlk(req) {
        calls.push(`getlk ${req.lk.type} ${req.lk.start}-${req.lk.end}`);
        // Report a conflicting read lock on bytes 10..19 held by the caller's own process
        // (req.lk.pid is 0 for GETLK; the caller is in the header).
        return { start: 10n, end: 19n, type: 0, pid: req.header.pid };
      },
      setlk(req) {
        const flock = req.lkFlags & P.FUSE_LK_FLOCK ? ' flock' : '';
        calls.push(`setlk${req.sleep ? 'w' : ''} ${req.lk.type} ${req.lk.start}-${req.lk.end}${flock}`);
        return 0;
      },
    });
    try {
      expect(s.conn!.flags & P.FUSE_POSIX_LOCKS).toBeTruthy();
      expect(s.conn!.flags & P.FUSE_FLOCK_LOCKS).toBeTruthy();
      const py = [
        'import fcntl, os, struct, sys',
        "fd = os.open(sys.argv[1] + '/lk', os.O_RDWR | os.O_CREAT, 0o644)",
        'fcntl.lockf(fd, fcntl.LOCK_EX, 5, 3)',
        'fcntl.lockf(fd, fcntl.LOCK_UN, 5, 3)',
        "q = struct.pack('hhqqixxxx', fcntl.F_WRLCK, 0, 0, 0, 0)",
        "t, wh, start, ln, pid = struct.unpack('hhqqixxxx', fcntl.fcntl(fd, fcntl.F_GETLK, q))",
        'print(t, start, ln, pid == os.getpid())',
        'os.close(fd)',
      ].join('\n');
      const { stdout } = await exec('python3', ['-c', py, dir]);
      expect(stdout.trim()).toBe('0 10 10 True'); // F_RDLCK, start 10, length 10, our pid: lk_out decoded by Linux
      await exec('flock', ['-x', path.join(dir, 'lk'), 'true']);
      const OFFSET_MAX = (1n << 63n) - 1n;
      expect(calls).toEqual([
        'setlkw 1 3-7',
        'setlkw 2 3-7', // Python's lockf(LOCK_UN) uses F_SETLKW
        `getlk 1 0-${OFFSET_MAX}`,
        `setlkw 1 0-${OFFSET_MAX} flock`,
      ]);
    } finally {
      await s.unmount();
      fs.rmdirSync(dir);
    }
  }, 60_000);
});
