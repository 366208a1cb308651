/**
 * KernelFuseServer behind a FuseDispatcher, in-process: requests encoded as the host kernel would
 * (testkit.ts), replies decoded. Needs no root and no /dev/fuse, so the server's logic — caller
 * credentials, lookup counting, negative lookups, READDIRPLUS lookups, forget, stale nodeids,
 * permission errors, a clean leak report — is checked everywhere.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { boot, type BootedKernel } from '../library/boot.ts';
import * as P from './proto.ts';
import type { FuseRequest, InHeader } from './proto.ts';
import { FuseDispatcher } from './dispatch.ts';
import { KernelFuseServer } from './server.ts';
import * as T from './testkit.ts';

const ENOENT = 2, EACCES = 13, ENAMETOOLONG = 36, ESTALE = 116, EPERM = 1;

let bk: BootedKernel;
let server: KernelFuseServer;
let d: FuseDispatcher;
let replies: Uint8Array[];
let nextUnique = 10n;

function hdr(nodeid: number, uid = 0, gid = 0, pid = 4242): InHeader {
  nextUnique += 2n;
  return { len: 0, opcode: 0, unique: nextUnique, nodeid, uid, gid, pid };
}

/** Send one request to `disp` and wait for its reply among `outs`; returns [error, body bytes]. */
async function replyTo(disp: FuseDispatcher, outs: Uint8Array[], req: FuseRequest): Promise<[number, Uint8Array]> {
  disp.onRequest(T.encodeRequest(req));
  for (let i = 0; i < 1000; i++) {
    const r = outs.find((x) => T.decodeOutHeader(x).unique === req.header.unique);
    if (r !== undefined) return [Math.abs(T.decodeOutHeader(r).error), r];
    await new Promise((res) => setImmediate(res));
  }
  throw new Error(`no reply to ${req.op}`);
}

/** The same, on this test's kernel. */
function call(req: FuseRequest): Promise<[number, Uint8Array]> {
  return replyTo(d, replies, req);
}

async function entry(req: FuseRequest): Promise<P.EntryOut> {
  const [e, r] = await call(req);
  if (e !== 0) throw Object.assign(new Error(`${req.op}: errno ${e}`), { errno: e });
  return T.decodeEntryOut(new DataView(r.buffer, r.byteOffset), 16);
}

beforeEach(async () => {
  bk = await boot();
  // Supplementary groups come from /proc for real callers; here the pid decides.
  server = new KernelFuseServer(bk.kernel, { groupsOf: async (pid) => (pid === 7 ? [2000] : []) });
  replies = [];
  d = new FuseDispatcher(server, { onError: (e) => { throw e; } }, (r) => replies.push(r.slice()));
  d.onRequest(T.encodeRequest({ op: 'init', header: hdr(0), major: 7, minor: 45, maxReadahead: 131072, flags: 0xffff_ffff }));
  await bk.sys.chmod('/', 0o1777);
});

afterEach(async () => {
  await server.close();
  const report = await bk.shutdown();
  expect(report.clean, JSON.stringify(report)).toBe(true);
});

describe('KernelFuseServer over the wire (no /dev/fuse)', () => {
  it('negative LOOKUP is ENOENT; a 256-byte name ENAMETOOLONG; an unknown nodeid ESTALE', async () => {
    expect((await call({ op: 'lookup', header: hdr(1), name: 'missing' }))[0]).toBe(ENOENT);
    expect((await call({ op: 'lookup', header: hdr(1), name: 'x'.repeat(256) }))[0]).toBe(ENAMETOOLONG);
    expect((await call({ op: 'getattr', header: hdr(999), getattrFlags: 0, fh: 0 }))[0]).toBe(ESTALE);
  });

  it('new nodes belong to the caller; the kernel sees them with that owner', async () => {
    const dir = await entry({ op: 'mkdir', header: hdr(1, 1000, 100), mode: 0o755, umask: 0o022, name: 'home' });
    expect([dir.attr.uid, dir.attr.gid, dir.attr.mode]).toEqual([1000, 100, 0o40755]);
    const c = await call({ op: 'create', header: hdr(dir.nodeid, 1000, 100), flags: 0o101, mode: 0o100640, umask: 0o022, name: 'f' });
    expect(c[0]).toBe(0);
    const dv = new DataView(c[1].buffer, c[1].byteOffset);
    const fe = T.decodeEntryOut(dv, 16);
    const fh = T.decodeOpenOut(dv, 16 + 128).fh;
    const data = new TextEncoder().encode('hello');
    const w = await call({ op: 'write', header: hdr(fe.nodeid, 1000, 100), fh, offset: 0, writeFlags: 0, lockOwner: 0n, flags: 0o101, data });
    expect(w[0]).toBe(0);
    expect((await call({ op: 'release', header: hdr(fe.nodeid, 1000, 100), fh, flags: 0, releaseFlags: 0, lockOwner: 0n }))[0]).toBe(0);
    const st = await bk.sys.stat('/home/f');
    expect([st.uid, st.gid, st.mode & 0o7777, st.size]).toEqual([1000, 100, 0o640, 5]);
  });

  it('the kernel checks permissions with the caller: 0600 root file, supplementary groups', async () => {
    const fd = await bk.sys.open('/secret', 0o101, 0o600);
    await bk.sys.close(fd);
    const fd2 = await bk.sys.open('/grp', 0o101, 0o640);
    await bk.sys.close(fd2);
    await bk.sys.chown('/grp', 0, 2000);
    const s = await entry({ op: 'lookup', header: hdr(1, 1000, 100), name: 'secret' });
    expect((await call({ op: 'open', header: hdr(s.nodeid, 1000, 100), flags: 0 }))[0]).toBe(EACCES);
    const g = await entry({ op: 'lookup', header: hdr(1, 1000, 100, 8), name: 'grp' });
    expect((await call({ op: 'open', header: hdr(g.nodeid, 1000, 100, 8), flags: 0 }))[0]).toBe(EACCES);
    // pid 7 has supplementary group 2000 (groupsOf above).
    const o = await call({ op: 'open', header: hdr(g.nodeid, 1000, 100, 7), flags: 0 });
    expect(o[0]).toBe(0);
    const fh = T.decodeOpenOut(new DataView(o[1].buffer, o[1].byteOffset), 16).fh;
    await call({ op: 'release', header: hdr(g.nodeid, 1000, 100, 7), fh, flags: 0, releaseFlags: 0, lockOwner: 0n });
    // chmod of someone else's file: EPERM from the kernel's chmod rules.
    const ch = await call({
      op: 'setattr', header: hdr(s.nodeid, 1000, 100), valid: P.FATTR_MODE, fh: 0, size: 0, lockOwner: 0n,
      atime: { sec: 0, nsec: 0 }, mtime: { sec: 0, nsec: 0 }, ctime: { sec: 0, nsec: 0 }, mode: 0o777, uid: 0, gid: 0,
    });
    expect(ch[0]).toBe(EPERM);
    server.forget(s.nodeid, 1);
    server.forget(g.nodeid, 1);
  });

  it('a process that drops privileges is not given the groups it had before (groups cached per pid, uid and gid)', async () => {
    // pid 9 looks at the mount as root (no groups), then calls setgroups([2000]), setgid(100),
    // setuid(1000) and opens a file of group 2000 within the groups TTL.
    let groupsNow: number[] = [];
    const bk2 = await boot();
    const s2 = new KernelFuseServer(bk2.kernel, { groupsOf: async () => groupsNow });
    const out: Uint8Array[] = [];
    const d2 = new FuseDispatcher(s2, { onError: (e) => { throw e; } }, (r) => out.push(r.slice()));
    d2.onRequest(T.encodeRequest({ op: 'init', header: hdr(0), major: 7, minor: 45, maxReadahead: 131072, flags: 0xffff_ffff }));
    try {
      await bk2.sys.close(await bk2.sys.open('/grp', 0o101, 0o640));
      await bk2.sys.chown('/grp', 0, 2000);
      const [le, lb] = await replyTo(d2, out, { op: 'lookup', header: hdr(1, 0, 0, 9), name: 'grp' });
      expect(le).toBe(0);
      const g = T.decodeEntryOut(new DataView(lb.buffer, lb.byteOffset), 16);
      groupsNow = [2000];
      const [oe, ob] = await replyTo(d2, out, { op: 'open', header: hdr(g.nodeid, 1000, 100, 9), flags: 0 });
      expect(oe).toBe(0);
      const fh = T.decodeOpenOut(new DataView(ob.buffer, ob.byteOffset), 16).fh;
      await replyTo(d2, out, { op: 'release', header: hdr(g.nodeid, 1000, 100, 9), fh, flags: 0, releaseFlags: 0, lockOwner: 0n });
      // And the other way: root (pid 10) reads its groups as uid 1000 first, then drops group 2000.
      groupsNow = [2000];
      const [e3, b3] = await replyTo(d2, out, { op: 'open', header: hdr(g.nodeid, 1000, 100, 10), flags: 0 });
      expect(e3).toBe(0);
      const fh3 = T.decodeOpenOut(new DataView(b3.buffer, b3.byteOffset), 16).fh;
      await replyTo(d2, out, { op: 'release', header: hdr(g.nodeid, 1000, 100, 10), fh: fh3, flags: 0, releaseFlags: 0, lockOwner: 0n });
      groupsNow = [];
      const [e4] = await replyTo(d2, out, { op: 'open', header: hdr(g.nodeid, 1001, 100, 10), flags: 0 });
      expect(e4).toBe(EACCES);
      s2.forget(g.nodeid, 1);
    } finally {
      await s2.close();
      const report = await bk2.shutdown();
      expect(report.clean, JSON.stringify(report)).toBe(true);
    }
  });

  it('lookups are counted per node and FORGET drops the reference at zero', async () => {
    const fd = await bk.sys.open('/a', 0o101, 0o644);
    await bk.sys.close(fd);
    const base = server.nodeCount;
    const e1 = await entry({ op: 'lookup', header: hdr(1), name: 'a' });
    const e2 = await entry({ op: 'lookup', header: hdr(1), name: 'a' });
    expect(e2.nodeid).toBe(e1.nodeid);
    expect(server.nodeCount).toBe(base + 1);
    d.onRequest(T.encodeRequest({ op: 'forget', header: hdr(e1.nodeid), nlookup: 1 }));
    expect(server.nodeCount).toBe(base + 1);
    d.onRequest(T.encodeRequest({ op: 'batchforget', header: hdr(0), items: [{ nodeid: e1.nodeid, nlookup: 1 }] }));
    expect(server.nodeCount).toBe(base);
    // The forgotten nodeid is stale now; a new lookup gives a new one.
    expect((await call({ op: 'getattr', header: hdr(e1.nodeid), getattrFlags: 0, fh: 0 }))[0]).toBe(ESTALE);
    const e3 = await entry({ op: 'lookup', header: hdr(1), name: 'a' });
    expect(e3.nodeid).not.toBe(e1.nodeid);
    server.forget(e3.nodeid, 1);
  });

  it('READDIRPLUS: every packed entry but . and .. is one lookup; entries that did not fit are not', async () => {
    await bk.sys.mkdir('/d', 0o755);
    for (let i = 0; i < 30; i++) await bk.sys.close(await bk.sys.open(`/d/file-${i}`, 0o101, 0o644));
    const de = await entry({ op: 'lookup', header: hdr(1), name: 'd' });
    const [oe, ob] = await call({ op: 'opendir', header: hdr(de.nodeid), flags: 0 });
    expect(oe).toBe(0);
    const fh = T.decodeOpenOut(new DataView(ob.buffer, ob.byteOffset), 16).fh;
    const base = server.nodeCount;
    const names: string[] = [];
    const looked = new Map<number, number>();
    let offset = 0;
    for (let round = 0; round < 40; round++) {
      // 1 KiB replies: about 6 records each, so the listing takes several rounds.
      const [e, r] = await call({ op: 'readdirplus', header: hdr(de.nodeid), fh, offset, size: 1024, readFlags: 0, lockOwner: 0n, flags: 0 });
      expect(e).toBe(0);
      const recs = T.decodeDirents(r.subarray(16), true);
      if (recs.length === 0) break;
      for (const { dirent, entry: en } of recs) {
        names.push(dirent.name);
        if (dirent.name === '.' || dirent.name === '..') expect(en?.nodeid ?? 0).toBe(0);
        else {
          expect(en!.nodeid).toBeGreaterThan(1);
          expect(en!.attr.mode).toBe(0o100644);
          looked.set(en!.nodeid, (looked.get(en!.nodeid) ?? 0) + 1);
        }
        offset = dirent.off;
      }
    }
    expect(names.sort()).toEqual(['.', '..', ...Array.from({ length: 30 }, (_, i) => `file-${i}`)].sort());
    // Exactly the 30 sent entries were counted: forgetting each once empties the table again.
    expect(server.nodeCount).toBe(base + 30);
    for (const [nodeid, n] of looked) server.forget(nodeid, n);
    expect(server.nodeCount).toBe(base);
    await call({ op: 'releasedir', header: hdr(de.nodeid), fh, flags: 0, releaseFlags: 0, lockOwner: 0n });
    server.forget(de.nodeid, 1);
  });

  it('RENAME2 NOREPLACE/EXCHANGE and LINK go through the kernel rules', async () => {
    for (const n of ['x', 'y']) {
      const fd = await bk.sys.open(`/${n}`, 0o101, 0o644);
      await bk.sys.write(fd, new TextEncoder().encode(n));
      await bk.sys.close(fd);
    }
    expect((await call({ op: 'rename', header: hdr(1), newdir: 1, flags: 1, oldName: 'x', newName: 'y' }))[0]).toBe(17);
    expect((await call({ op: 'rename', header: hdr(1), newdir: 1, flags: 2, oldName: 'x', newName: 'y' }))[0]).toBe(0);
    expect((await bk.sys.stat('/x')).size).toBe(1);
    const ye = await entry({ op: 'lookup', header: hdr(1), name: 'y' });
    const le = await entry({ op: 'link', header: hdr(1), oldnodeid: ye.nodeid, name: 'y2' });
    expect(le.nodeid).toBe(ye.nodeid);
    expect(le.attr.nlink).toBe(2);
    // protected_hardlinks: uid 1000 may not link root's file it cannot write.
    expect((await call({ op: 'link', header: hdr(1, 1000, 100), oldnodeid: ye.nodeid, name: 'y3' }))[0]).toBe(EPERM);
    server.forget(ye.nodeid, 2);
  });

  it('LINK: protected_hardlinks EPERM comes before the directory permission EACCES (do_linkat order)', async () => {
    // root's 0600 file; a 0755 root-owned directory uid 1000 cannot write.
    const fd = await bk.sys.open('/rf', 0o101, 0o600);
    await bk.sys.close(fd);
    await bk.sys.mkdir('/a', 0o755);
    const fe = await entry({ op: 'lookup', header: hdr(1), name: 'rf' });
    const ae = await entry({ op: 'lookup', header: hdr(1), name: 'a' });
    // Both rules fail: may_linkat (EPERM) is asked first.
    expect((await call({ op: 'link', header: hdr(ae.nodeid, 1000, 100), oldnodeid: fe.nodeid, name: 'x' }))[0]).toBe(EPERM);
    // uid 1000's own file into the same directory: may_linkat passes, may_create says EACCES.
    await bk.sys.close(await bk.sys.open('/mine', 0o101, 0o600));
    await bk.sys.chown('/mine', 1000, 100);
    const me = await entry({ op: 'lookup', header: hdr(1, 1000, 100), name: 'mine' });
    expect((await call({ op: 'link', header: hdr(ae.nodeid, 1000, 100), oldnodeid: me.nodeid, name: 'x' }))[0]).toBe(EACCES);
    // root (CAP_FOWNER, CAP_DAC_OVERRIDE) links it.
    expect((await call({ op: 'link', header: hdr(ae.nodeid), oldnodeid: fe.nodeid, name: 'x' }))[0]).toBe(0);
    expect((await bk.sys.stat('/a/x')).nlink).toBe(2);
  });
});

describe('KernelFuseServer under random request sequences', () => {
  // Bad input of every kind (stale nodeids, unknown fhs, wrong types, other users) must come back
  // as an errno — never a thrown bug (the dispatcher would report it through onError and answer
  // EIO) — and whatever the sequence, closing the server leaves the kernel without leaks.
  it('answers every request with a reply and an errno from the kernel; no leaks afterwards', async () => {
    const fc = (await import('fast-check')).default;
    const names = ['a', 'b', 'c', 'dir', 'x'];
    const name = fc.constantFrom(...names);
    const uid = fc.constantFrom(0, 1000);
    const ref = fc.nat({ max: 8 }); // index into the nodeids/fhs seen so far (plus a few bogus ones)
    const op = fc.oneof(
      fc.record({ k: fc.constant('lookup'), n: ref, name, uid }),
      fc.record({ k: fc.constant('mkdir'), n: ref, name, uid, mode: fc.constantFrom(0o755, 0o700, 0o1777) }),
      fc.record({ k: fc.constant('create'), n: ref, name, uid, flags: fc.constantFrom(0o101, 0o102, 0o1102, 0o302, 0o2101) }),
      fc.record({ k: fc.constant('unlink'), n: ref, name, uid }),
      fc.record({ k: fc.constant('rmdir'), n: ref, name, uid }),
      // Half the renames stay in the root directory: with both directories picked at random a
      // rename succeeded only 2-5 times in 100 sequences, and the coverage check below failed
      // about one run in twenty.
      fc.record({ k: fc.constant('rename'), n: fc.oneof(fc.constant(0), ref), m: fc.oneof(fc.constant(0), ref), name, to: name, uid, flags: fc.constantFrom(0, 1, 2, 3) }),
      fc.record({ k: fc.constant('link'), n: ref, m: ref, name, uid }),
      fc.record({ k: fc.constant('symlink'), n: ref, name, uid }),
      fc.record({ k: fc.constant('open'), n: ref, uid, flags: fc.constantFrom(0, 1, 2, 0o1001, 0o2001) }),
      fc.record({ k: fc.constant('opendir'), n: ref, uid }),
      fc.record({ k: fc.constant('read'), f: ref, off: fc.nat({ max: 70000 }), size: fc.constantFrom(0, 1, 4096, 131072) }),
      fc.record({ k: fc.constant('write'), f: ref, off: fc.nat({ max: 70000 }), len: fc.nat({ max: 5000 }) }),
      // dir: read through a handle OPENDIR gave (else any handle, mostly files: ENOTDIR/EBADF).
      fc.record({ k: fc.constant('readdirplus'), f: ref, dir: fc.boolean(), off: fc.nat({ max: 10 }), size: fc.constantFrom(100, 4096) }),
      fc.record({ k: fc.constant('release'), f: ref }),
      fc.record({ k: fc.constant('setattr'), n: ref, uid, valid: fc.nat({ max: 0x1ff }), size: fc.nat({ max: 100000 }), mode: fc.nat({ max: 0o7777 }) }),
      fc.record({ k: fc.constant('forget'), n: ref, cnt: fc.nat({ max: 3 }) }),
      fc.record({ k: fc.constant('setlk'), f: ref, type: fc.constantFrom(0, 1, 2, 7), owner: fc.constantFrom(1n, 2n), flock: fc.boolean() }),
      fc.record({ k: fc.constant('fallocate'), f: ref, len: fc.nat({ max: 10000 }), mode: fc.constantFrom(0, 1, 3) }),
      fc.record({ k: fc.constant('lseek'), f: ref, off: fc.nat({ max: 100000 }), whence: fc.constantFrom(0, 3, 4, 9) }),
      fc.record({ k: fc.constant('access'), n: ref, uid, mask: fc.constantFrom(0, 1, 2, 4, 7, 8) }),
      fc.record({ k: fc.constant('readlink'), n: ref, uid }),
      fc.record({ k: fc.constant('mknod'), n: ref, name, uid, mode: fc.constantFrom(0o10644, 0o20644, 0o140644, 0o100600, 0o170000) }),
      fc.record({ k: fc.constant('getlk'), f: ref, type: fc.constantFrom(0, 1, 2), owner: fc.constantFrom(1n, 2n) }),
      fc.record({ k: fc.constant('fsync'), f: ref }),
      fc.record({ k: fc.constant('flush'), f: ref, owner: fc.constantFrom(1n, 2n) }),
      fc.record({ k: fc.constant('statfs'), n: ref }),
      fc.record({ k: fc.constant('readdir'), f: ref, off: fc.nat({ max: 10 }), size: fc.constantFrom(0, 30, 4096) }),
    );
    const succeeded = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 60 }), async (ops) => {
        const k2 = await boot();
        const s2 = new KernelFuseServer(k2.kernel, { groupsOf: async () => [] });
        const bugs: unknown[] = [];
        const out: Uint8Array[] = [];
        const d2 = new FuseDispatcher(s2, { onError: (e) => bugs.push(e) }, (r) => out.push(r.slice()));
        d2.onRequest(T.encodeRequest({ op: 'init', header: hdr(0), major: 7, minor: 45, maxReadahead: 131072, flags: 0xffff_ffff }));
        await k2.sys.chmod('/', 0o1777);
        const nodeids = [1];
        const fhs: number[] = [];
        const dirFhs: number[] = [];
        // Mostly handles the server gave out; index 7 and 8 are garbage (0, never issued).
        const pick = (xs: number[], i: number) => (i === 8 || xs.length === 0 ? 999 : i === 7 ? 0 : xs[i % xs.length]!);
        const lookups = new Map<number, number>();
        const send = (req: FuseRequest) => replyTo(d2, out, req);
        const gotEntry = (r: Uint8Array, at = 16) => {
          const e = T.decodeEntryOut(new DataView(r.buffer, r.byteOffset), at);
          if (e.nodeid !== 0) {
            nodeids.push(e.nodeid);
            lookups.set(e.nodeid, (lookups.get(e.nodeid) ?? 0) + 1);
          }
        };
        const z = { sec: 0, nsec: 0 };
        // Start from one open file and one directory so the sequences get past the error paths.
        const seed: typeof ops = [{ k: 'create', n: 0, name: 'a', uid: 1000, flags: 0o102 }, { k: 'mkdir', n: 0, name: 'dir', uid: 0, mode: 0o1777 }];
        for (const o of [...seed, ...ops]) {
          const u = 'uid' in o ? o.uid : 0;
          const h = (n: number) => hdr(n, u, u === 0 ? 0 : 100);
          const nid = 'n' in o ? pick(nodeids, o.n) : 1;
          const fh = 'f' in o ? pick('dir' in o && o.dir && dirFhs.length > 0 ? dirFhs : fhs, o.f) : 0;
          let req: FuseRequest | undefined;
          switch (o.k) {
            case 'lookup': req = { op: 'lookup', header: h(nid), name: o.name }; break;
            case 'mkdir': req = { op: 'mkdir', header: h(nid), mode: o.mode, umask: 0, name: o.name }; break;
            case 'create': req = { op: 'create', header: h(nid), flags: o.flags, mode: 0o100644, umask: 0, name: o.name }; break;
            case 'unlink': req = { op: 'unlink', header: h(nid), name: o.name }; break;
            case 'rmdir': req = { op: 'rmdir', header: h(nid), name: o.name }; break;
            case 'rename': req = { op: 'rename', header: h(nid), newdir: pick(nodeids, o.m), flags: o.flags, oldName: o.name, newName: o.to }; break;
            case 'link': req = { op: 'link', header: h(nid), oldnodeid: pick(nodeids, o.m), name: o.name }; break;
            case 'symlink': req = { op: 'symlink', header: h(nid), name: o.name, target: 'a' }; break;
            case 'open': req = { op: 'open', header: h(nid), flags: o.flags }; break;
            case 'opendir': req = { op: 'opendir', header: h(nid), flags: 0 }; break;
            case 'read': req = { op: 'read', header: hdr(1), fh, offset: o.off, size: o.size, readFlags: 0, lockOwner: 0n, flags: 0 }; break;
            case 'write': req = { op: 'write', header: hdr(1), fh, offset: o.off, writeFlags: 0, lockOwner: 0n, flags: 0, data: new Uint8Array(o.len).fill(7) }; break;
            case 'readdirplus': req = { op: 'readdirplus', header: hdr(1), fh, offset: o.off, size: o.size, readFlags: 0, lockOwner: 0n, flags: 0 }; break;
            case 'release': req = { op: 'release', header: hdr(1), fh, flags: 0, releaseFlags: 0, lockOwner: 0n }; break;
            case 'setattr':
              req = { op: 'setattr', header: h(nid), valid: o.valid & ~P.FATTR_FH, fh: 0, size: o.size, lockOwner: 0n, atime: z, mtime: z, ctime: z, mode: o.mode, uid: 1000, gid: 100 };
              break;
            case 'forget': {
              const have = lookups.get(nid) ?? 0;
              const c = Math.min(o.cnt, have);
              if (c > 0) {
                lookups.set(nid, have - c);
                d2.onRequest(T.encodeRequest({ op: 'forget', header: hdr(nid), nlookup: c }));
              }
              continue;
            }
            case 'setlk':
              req = { op: 'setlk', header: hdr(1), fh, owner: o.owner, lk: { start: 0n, end: 0x7fff_ffff_ffff_ffffn, type: o.type, pid: 5 }, lkFlags: o.flock ? P.FUSE_LK_FLOCK : 0, sleep: false };
              break;
            case 'fallocate': req = { op: 'fallocate', header: hdr(1), fh, offset: 0, length: o.len, mode: o.mode }; break;
            case 'lseek': req = { op: 'lseek', header: hdr(1), fh, offset: o.off, whence: o.whence }; break;
            case 'access': req = { op: 'access', header: h(nid), mask: o.mask }; break;
            case 'readlink': req = { op: 'readlink', header: h(nid) }; break;
            case 'mknod': req = { op: 'mknod', header: h(nid), mode: o.mode, rdev: 0x103, umask: 0, name: o.name }; break;
            case 'getlk': req = { op: 'getlk', header: hdr(1), fh, owner: o.owner, lk: { start: 0n, end: 10n, type: o.type, pid: 9 }, lkFlags: 0 }; break;
            case 'fsync': req = { op: 'fsync', header: hdr(1), fh, fsyncFlags: 0 }; break;
            case 'flush': req = { op: 'flush', header: hdr(1), fh, lockOwner: o.owner }; break;
            case 'statfs': req = { op: 'statfs', header: hdr(nid) }; break;
            case 'readdir': req = { op: 'readdir', header: hdr(1), fh, offset: o.off, size: o.size, readFlags: 0, lockOwner: 0n, flags: 0 }; break;
          }
          const [e, r] = await send(req!);
          expect(e === 0 || (e > 0 && e < 134), `${req!.op} errno ${e}`).toBe(true);
          if (e !== 0) {
            continue;
          }
          succeeded.set(req!.op, (succeeded.get(req!.op) ?? 0) + 1);
          if (req!.op === 'lookup' || req!.op === 'mkdir' || req!.op === 'symlink' || req!.op === 'link' || req!.op === 'mknod') gotEntry(r);
          if (req!.op === 'create') {
            gotEntry(r);
            fhs.push(T.decodeOpenOut(new DataView(r.buffer, r.byteOffset), 16 + 128).fh);
          }
          if (req!.op === 'open' || req!.op === 'opendir') fhs.push(T.decodeOpenOut(new DataView(r.buffer, r.byteOffset), 16).fh);
          if (req!.op === 'opendir') dirFhs.push(fhs[fhs.length - 1]!);
          if (req!.op === 'readdirplus') for (const x of T.decodeDirents(r.subarray(16), true)) if (x.entry && x.entry.nodeid !== 0) { nodeids.push(x.entry.nodeid); lookups.set(x.entry.nodeid, (lookups.get(x.entry.nodeid) ?? 0) + 1); }
        }
        expect(bugs.map((b) => (b instanceof Error ? b.stack ?? b.message : String(b)))).toEqual([]);
        expect(d2.inFlight).toBe(0);
        await s2.close();
        const report = await k2.shutdown();
        expect(report.clean, JSON.stringify(report)).toBe(true);
      }),
      { numRuns: 100 },
    );
    // The sequences reached past the error paths: most ops succeeded somewhere.
    for (const o of ['lookup', 'mkdir', 'create', 'write', 'read', 'rename', 'readdirplus', 'release', 'setattr']) {
      expect([o, (succeeded.get(o) ?? 0) > 0]).toEqual([o, true]);
    }
  }, 120_000);

  // Found by the property above (seed -1884951853): CREATE of a name that is
  // already a FIFO opened the FIFO and waited for a peer forever.
  // (The file's afterEach checks the kernel shuts down without leaks.)
  it('CREATE on an existing FIFO answers at once (EINVAL or ENXIO), never waits for a peer', async () => {
    expect((await call({ op: 'mknod', header: hdr(1), mode: 0o10644, rdev: 0, umask: 0, name: 'p' }))[0]).toBe(0);
    for (const [flags, want] of [[0o101, 6 /* ENXIO: no reader */], [0o100, 22 /* EINVAL: not served */], [0o102, 22]] as const) {
      expect([flags, (await call({ op: 'create', header: hdr(1), flags, mode: 0o100644, umask: 0, name: 'p' }))[0]]).toEqual([flags, want]);
    }
    expect(d.inFlight).toBe(0);
  });
});
