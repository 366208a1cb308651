/**
 * FuseDispatcher in-process: requests encoded as the kernel would (testkit.ts), replies decoded.
 * No /dev/fuse needed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as P from './proto.ts';
import type { FuseRequest, InHeader } from './proto.ts';
import { FuseDispatcher, type FuseHandler, type DispatchOptions } from './dispatch.ts';
import * as T from './testkit.ts';

let nextUnique = 2n;
function hdr(nodeid = 1): InHeader {
  nextUnique += 2n;
  return { len: 0, opcode: 0, unique: nextUnique, nodeid, uid: 1000, gid: 100, pid: 42 };
}

const t = { sec: 1, nsec: 2 };
const attr = (ino: number) => ({ ino, size: 3, blocks: 1, atime: t, mtime: t, ctime: t, mode: 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096 });
const entry = (nodeid: number) => ({ nodeid, generation: 1, entryTimeout: 1, attrTimeout: 1, attr: attr(nodeid) });

/** A dispatcher wired to an array of replies; `feed` encodes and delivers one request. */
function setup(handler: FuseHandler, opts: DispatchOptions = {}) {
  const replies: Uint8Array[] = [];
  const errors: unknown[] = [];
  let writeError: NodeJS.ErrnoException | undefined;
  const d = new FuseDispatcher(handler, { onError: (e) => errors.push(e), ...opts }, (r) => {
    if (writeError) throw writeError;
    replies.push(r);
  });
  const feed = (req: FuseRequest) => d.onRequest(T.encodeRequest(req));
  const init = (flags = 0xffff_ffff, minor = 45) => feed({ op: 'init', header: hdr(0), major: 7, minor, maxReadahead: 131072, flags });
  const byUnique = (u: bigint) => replies.find((r) => T.decodeOutHeader(r).unique === u);
  const failWrites = (code: string) => {
    writeError = Object.assign(new Error(code), { code });
  };
  return { d, replies, errors, feed, init, byUnique, failWrites };
}

/** Let queued handler promises run and their replies be written. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('FuseDispatcher', () => {
  it('answers INIT with 7.31, max_write 131072 and only flags the kernel offered', async () => {
    const { d, replies, init } = setup({ readdirplus: () => new Uint8Array(0), getlk: () => -38, setlk: () => 0 });
    init(P.FUSE_ASYNC_READ | P.FUSE_DO_READDIRPLUS | P.FUSE_POSIX_LOCKS | P.FUSE_WRITEBACK_CACHE);
    const conn = await d.ready;
    const out = T.decodeInitOut(replies[0]!);
    expect(out).toMatchObject({ major: 7, minor: 31, maxWrite: 131072, timeGran: 1 });
    expect(out.flags).toBe(P.FUSE_ASYNC_READ | P.FUSE_DO_READDIRPLUS | P.FUSE_POSIX_LOCKS);
    expect(conn.flags).toBe(out.flags);
    expect(replies[0]!.length).toBe(16 + 64);
  });

  it('offers READDIRPLUS and locks only when the handler has them', async () => {
    const { d, init } = setup({});
    init();
    const conn = await d.ready;
    expect(conn.flags & (P.FUSE_DO_READDIRPLUS | P.FUSE_POSIX_LOCKS | P.FUSE_FLOCK_LOCKS | P.FUSE_WRITEBACK_CACHE | P.FUSE_ATOMIC_O_TRUNC)).toBe(0);
    expect(conn.flags & P.FUSE_ASYNC_READ).toBeTruthy();
  });

  it('refuses kernels older than 7.31 with EPROTO', async () => {
    const { d, replies, init } = setup({});
    init(0, 30);
    await expect(d.ready).rejects.toThrow(/7\.30/);
    expect(T.decodeOutHeader(replies[0]!).error).toBe(-71);
  });

  it('keeps many requests in flight and replies in completion order', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { replies, feed } = setup({
      async lookup(req) {
        if (req.name === 'slow') await gate;
        return entry(req.name === 'slow' ? 5 : 6);
      },
    });
    const a = hdr(), b = hdr();
    feed({ op: 'lookup', header: a, name: 'slow' });
    feed({ op: 'lookup', header: b, name: 'fast' });
    await settle();
    expect(replies.map((r) => T.decodeOutHeader(r).unique)).toEqual([b.unique]);
    release();
    await settle();
    expect(replies.map((r) => T.decodeOutHeader(r).unique)).toEqual([b.unique, a.unique]);
    expect(T.decodeEntryOut(new DataView(replies[1]!.buffer), 16).nodeid).toBe(5);
  });

  it('INTERRUPT aborts the target request and gets no reply itself', async () => {
    let seenCtx: { interrupted: boolean } | undefined;
    const { d, replies, feed, byUnique } = setup({
      read(_req, ctx) {
        seenCtx = ctx;
        return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(-4)));
      },
    });
    const r = hdr(2);
    feed({ op: 'read', header: r, fh: 1, offset: 0, size: 10, readFlags: 0, lockOwner: 0n, flags: 0 });
    await settle();
    expect(d.inFlight).toBe(1);
    const i = hdr(0);
    feed({ op: 'interrupt', header: { ...i, unique: r.unique | 1n }, target: r.unique });
    feed({ op: 'interrupt', header: hdr(0), target: 999_999n }); // unknown target: ignored
    await settle();
    expect(seenCtx?.interrupted).toBe(true);
    expect(replies.length).toBe(1);
    expect(T.decodeOutHeader(byUnique(r.unique)!).error).toBe(-4);
    expect(d.inFlight).toBe(0);
  });

  it('ENOENT when writing a reply to an interrupted request is harmless', async () => {
    const { d, errors, feed, failWrites } = setup({ lookup: () => entry(3) });
    failWrites('ENOENT');
    feed({ op: 'lookup', header: hdr(), name: 'x' });
    await settle();
    expect(errors).toEqual([]);
    expect(d.stats.writeErrors).toBe(0);
  });

  it('FORGET and BATCH_FORGET reach forget() and get no reply', () => {
    const forgotten: [number, number][] = [];
    const { replies, feed } = setup({ forget: (n, k) => void forgotten.push([n, k]) });
    feed({ op: 'forget', header: hdr(7), nlookup: 3 });
    feed({ op: 'batchforget', header: hdr(0), items: [{ nodeid: 8, nlookup: 1 }, { nodeid: 9, nlookup: 2 }] });
    expect(forgotten).toEqual([[7, 3], [8, 1], [9, 2]]);
    expect(replies).toEqual([]);
  });

  it('declines xattrs and unknown opcodes (STATX) with ENOSYS, and missing handler methods too', async () => {
    const { replies, feed, d } = setup({});
    feed({ op: 'getxattr', header: hdr(), size: 0, name: 'user.x' });
    feed({ op: 'setxattr', header: hdr(), flags: 0, name: 'user.x', value: new Uint8Array(1) });
    feed({ op: 'lookup', header: hdr(), name: 'x' });
    const statx = new Uint8Array(64);
    const dv = new DataView(statx.buffer);
    dv.setUint32(0, 64, true);
    dv.setUint32(4, P.FUSE_STATX, true);
    dv.setBigUint64(8, 77n, true);
    d.onRequest(statx);
    await settle();
    expect(replies.map((r) => T.decodeOutHeader(r).error)).toEqual([-38, -38, -38, -38]);
  });

  it('defaults: open/opendir give fh 0, release/flush succeed, statfs says 255-byte names', async () => {
    const { replies, feed } = setup({});
    feed({ op: 'open', header: hdr(2), flags: 0 });
    feed({ op: 'release', header: hdr(2), fh: 0, flags: 0, releaseFlags: 0, lockOwner: 0n });
    feed({ op: 'flush', header: hdr(2), fh: 0, lockOwner: 0n });
    feed({ op: 'statfs', header: hdr(1) });
    await settle();
    expect(replies.map((r) => T.decodeOutHeader(r).error)).toEqual([0, 0, 0, 0]);
    expect(T.decodeOpenOut(new DataView(replies[0]!.buffer), 16)).toEqual({ fh: 0, openFlags: 0 });
    expect(T.decodeStatfsOut(replies[3]!).namelen).toBe(255);
  });

  it('translates thrown errnos, reports bugs as EIO', async () => {
    const { replies, errors, feed } = setup({
      lookup(req) {
        if (req.name === 'kerr') throw Object.assign(new Error('no'), { code: 'ENOTDIR', errno: 20 });
        if (req.name === 'syserr') throw Object.assign(new Error('no'), { code: 'EACCES', errno: -13 });
        if (req.name === 'bug') throw new TypeError('oops');
        if (req.name === 'positive') return 5;
        return -2;
      },
      read: () => new Uint8Array(100),
      write: (req) => req.data.length + 1,
    });
    const sent: bigint[] = [];
    const h = () => {
      const x = hdr(2);
      sent.push(x.unique);
      return x;
    };
    for (const name of ['kerr', 'syserr', 'bug', 'positive', 'neg']) feed({ op: 'lookup', header: h(), name });
    feed({ op: 'read', header: h(), fh: 1, offset: 0, size: 10, readFlags: 0, lockOwner: 0n, flags: 0 });
    feed({ op: 'write', header: h(), fh: 1, offset: 0, writeFlags: 0, lockOwner: 0n, flags: 0, data: new Uint8Array(4) });
    await settle();
    const errOf = (u: bigint) => T.decodeOutHeader(replies.find((r) => T.decodeOutHeader(r).unique === u)!).error;
    expect(replies.length).toBe(sent.length);
    expect(sent.map(errOf)).toEqual([-20, -13, -5, -5, -2, -5, -5]);
    expect(errors.length).toBe(4); // bug, positive, oversized read, overlong write
  });

  it('answers a malformed request with its errno, and never answers a malformed FORGET', async () => {
    const { replies, errors, d } = setup({ forget: () => {} });
    const h = hdr();
    const bad = T.encodeRequest({ op: 'lookup', header: h, name: 'abc' });
    bad[bad.length - 1] = 0x41;
    d.onRequest(bad);
    const f = T.encodeRequest({ op: 'forget', header: hdr(3), nlookup: 1 });
    d.onRequest(f.subarray(0, 44).map((x, i) => (i === 0 ? 44 : i < 4 ? 0 : x)));
    d.onRequest(new Uint8Array(7)); // not even a header: nothing to reply to
    await settle();
    expect(replies.length).toBe(1);
    expect(T.decodeOutHeader(replies[0]!)).toMatchObject({ unique: h.unique, error: -5 });
    expect(errors.length).toBe(3);
    expect(d.stats.parseErrors).toBe(3);
  });

  it('writes nothing after shutdown and interrupts what was in flight', async () => {
    let ctxSeen: { interrupted: boolean } | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { d, replies, feed } = setup({
      async getattr(_req, ctx) {
        ctxSeen = ctx;
        await gate;
        return { attrTimeout: 0, attr: attr(1) };
      },
    });
    feed({ op: 'getattr', header: hdr(), getattrFlags: 0, fh: 0 });
    d.shutdown('test');
    expect(ctxSeen?.interrupted).toBe(true);
    release();
    await settle();
    expect(replies).toEqual([]);
  });

  it('every well-formed request gets exactly one reply, except FORGET/BATCH_FORGET/INTERRUPT', async () => {
    // A handler that answers everything with -EACCES: the reply count is what is checked.
    const h: FuseHandler = new Proxy({}, {
      get: (_t, k) => (k === 'forget' || k === 'init' || k === 'destroy' ? undefined : () => -13),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<FuseRequest['op']>('lookup', 'getattr', 'forget', 'interrupt', 'statfs', 'mkdir', 'batchforget', 'read', 'opendir'), { maxLength: 30 }), async (ops) => {
        const { replies, feed } = setup(h);
        let expected = 0;
        for (const op of ops) {
          const header = hdr(2);
          switch (op) {
            case 'lookup': feed({ op, header, name: 'a' }); break;
            case 'getattr': feed({ op, header, getattrFlags: 0, fh: 0 }); break;
            case 'forget': feed({ op, header, nlookup: 1 }); break;
            case 'interrupt': feed({ op, header, target: 5n }); break;
            case 'statfs': feed({ op, header }); break;
            case 'mkdir': feed({ op, header, mode: 0o755, umask: 0, name: 'd' }); break;
            case 'batchforget': feed({ op, header, items: [] }); break;
            case 'read': feed({ op, header, fh: 0, offset: 0, size: 1, readFlags: 0, lockOwner: 0n, flags: 0 }); break;
            case 'opendir': feed({ op, header, flags: 0 }); break;
          }
          if (op !== 'forget' && op !== 'interrupt' && op !== 'batchforget') expected++;
        }
        await settle();
        expect(replies.length).toBe(expected);
      }),
      { numRuns: 50 },
    );
  });
});
