/**
 * The other side of proto.ts, for tests: encode requests the way the Linux kernel does, and
 * decode the replies we emit. Written separately from proto.ts (struct offsets spelled out again)
 * so the round-trip tests compare two independent readings of fuse.h.
 */
import * as P from './proto.ts';
import type { FuseRequest, EntryOut, FuseAttr, OpenOut, StatfsOut, InitOut, FileLock, Dirent } from './proto.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function opcodeOf(req: FuseRequest): number {
  switch (req.op) {
    case 'lookup': return P.FUSE_LOOKUP;
    case 'forget': return P.FUSE_FORGET;
    case 'getattr': return P.FUSE_GETATTR;
    case 'setattr': return P.FUSE_SETATTR;
    case 'readlink': return P.FUSE_READLINK;
    case 'symlink': return P.FUSE_SYMLINK;
    case 'mknod': return P.FUSE_MKNOD;
    case 'mkdir': return P.FUSE_MKDIR;
    case 'unlink': return P.FUSE_UNLINK;
    case 'rmdir': return P.FUSE_RMDIR;
    case 'rename': return req.flags ? P.FUSE_RENAME2 : P.FUSE_RENAME;
    case 'link': return P.FUSE_LINK;
    case 'open': return P.FUSE_OPEN;
    case 'opendir': return P.FUSE_OPENDIR;
    case 'read': return P.FUSE_READ;
    case 'readdir': return P.FUSE_READDIR;
    case 'readdirplus': return P.FUSE_READDIRPLUS;
    case 'write': return P.FUSE_WRITE;
    case 'statfs': return P.FUSE_STATFS;
    case 'release': return P.FUSE_RELEASE;
    case 'releasedir': return P.FUSE_RELEASEDIR;
    case 'fsync': return P.FUSE_FSYNC;
    case 'fsyncdir': return P.FUSE_FSYNCDIR;
    case 'setxattr': return P.FUSE_SETXATTR;
    case 'getxattr': return P.FUSE_GETXATTR;
    case 'listxattr': return P.FUSE_LISTXATTR;
    case 'removexattr': return P.FUSE_REMOVEXATTR;
    case 'flush': return P.FUSE_FLUSH;
    case 'init': return P.FUSE_INIT;
    case 'getlk': return P.FUSE_GETLK;
    case 'setlk': return req.sleep ? P.FUSE_SETLKW : P.FUSE_SETLK;
    case 'access': return P.FUSE_ACCESS;
    case 'create': return P.FUSE_CREATE;
    case 'interrupt': return P.FUSE_INTERRUPT;
    case 'bmap': return P.FUSE_BMAP;
    case 'destroy': return P.FUSE_DESTROY;
    case 'batchforget': return P.FUSE_BATCH_FORGET;
    case 'fallocate': return P.FUSE_FALLOCATE;
    case 'lseek': return P.FUSE_LSEEK;
    case 'unsupported': return req.header.opcode;
  }
}

/** A little-endian byte writer that grows as needed. */
class W {
  private parts: number[] = [];
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: number | bigint): this {
    let b = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 8; i++, b >>= 8n) this.parts.push(Number(b & 0xffn));
    return this;
  }
  bytes(u: Uint8Array): this {
    for (const x of u) this.parts.push(x);
    return this;
  }
  cstr(s: string): this {
    return this.bytes(enc.encode(s)).bytes(new Uint8Array([0]));
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Encode `req` as the kernel would; `header.len` and `header.opcode` are computed, not taken. */
export function encodeRequest(req: FuseRequest): Uint8Array {
  const b = new W();
  switch (req.op) {
    case 'lookup': case 'unlink': case 'rmdir': case 'removexattr': b.cstr(req.name); break;
    case 'forget': b.u64(req.nlookup); break;
    case 'getattr': b.u32(req.getattrFlags).u32(0).u64(req.fh); break;
    case 'setattr':
      b.u32(req.valid).u32(0).u64(req.fh).u64(req.size).u64(req.lockOwner)
        .u64(req.atime.sec).u64(req.mtime.sec).u64(req.ctime.sec)
        .u32(req.atime.nsec).u32(req.mtime.nsec).u32(req.ctime.nsec)
        .u32(req.mode).u32(0).u32(req.uid).u32(req.gid).u32(0);
      break;
    case 'readlink': case 'statfs': case 'destroy': case 'unsupported': break;
    case 'symlink': b.cstr(req.name).cstr(req.target); break;
    case 'mknod': b.u32(req.mode).u32(req.rdev).u32(req.umask).u32(0).cstr(req.name); break;
    case 'mkdir': b.u32(req.mode).u32(req.umask).cstr(req.name); break;
    case 'rename':
      b.u64(req.newdir);
      if (req.flags) b.u32(req.flags).u32(0);
      b.cstr(req.oldName).cstr(req.newName);
      break;
    case 'link': b.u64(req.oldnodeid).cstr(req.name); break;
    case 'open': case 'opendir': b.u32(req.flags).u32(0); break;
    case 'read': case 'readdir': case 'readdirplus':
      b.u64(req.fh).u64(req.offset).u32(req.size).u32(req.readFlags).u64(req.lockOwner).u32(req.flags).u32(0);
      break;
    case 'write':
      b.u64(req.fh).u64(req.offset).u32(req.data.length).u32(req.writeFlags).u64(req.lockOwner)
        .u32(req.flags).u32(0).bytes(req.data);
      break;
    case 'release': case 'releasedir': b.u64(req.fh).u32(req.flags).u32(req.releaseFlags).u64(req.lockOwner); break;
    case 'fsync': case 'fsyncdir': b.u64(req.fh).u32(req.fsyncFlags).u32(0); break;
    case 'setxattr': b.u32(req.value.length).u32(req.flags).cstr(req.name).bytes(req.value); break;
    case 'getxattr': b.u32(req.size).u32(0).cstr(req.name); break;
    case 'listxattr': b.u32(req.size).u32(0); break;
    case 'flush': b.u64(req.fh).u32(0).u32(0).u64(req.lockOwner); break;
    case 'init': b.u32(req.major).u32(req.minor).u32(req.maxReadahead).u32(req.flags); break;
    case 'getlk': case 'setlk':
      b.u64(req.fh).u64(req.owner).u64(req.lk.start).u64(req.lk.end).u32(req.lk.type).u32(req.lk.pid)
        .u32(req.lkFlags).u32(0);
      break;
    case 'access': b.u32(req.mask).u32(0); break;
    case 'create': b.u32(req.flags).u32(req.mode).u32(req.umask).u32(0).cstr(req.name); break;
    case 'interrupt': b.u64(req.target); break;
    case 'bmap': b.u64(req.block).u32(req.blocksize).u32(0); break;
    case 'batchforget':
      b.u32(req.items.length).u32(0);
      for (const it of req.items) b.u64(it.nodeid).u64(it.nlookup);
      break;
    case 'fallocate': b.u64(req.fh).u64(req.offset).u64(req.length).u32(req.mode).u32(0); break;
    case 'lseek': b.u64(req.fh).u64(req.offset).u32(req.whence).u32(0); break;
  }
  const body = b.done();
  const h = req.header;
  const head = new W().u32(40 + body.length).u32(opcodeOf(req)).u64(h.unique).u64(h.nodeid)
    .u32(h.uid).u32(h.gid).u32(h.pid).u32(0).done();
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reply decoding

const view = (u: Uint8Array) => new DataView(u.buffer, u.byteOffset, u.byteLength);
const n64 = (dv: DataView, o: number) => Number(dv.getBigUint64(o, true));
const s64 = (dv: DataView, o: number) => Number(dv.getBigInt64(o, true));

export function decodeOutHeader(u: Uint8Array): { len: number; error: number; unique: bigint } {
  const dv = view(u);
  return { len: dv.getUint32(0, true), error: dv.getInt32(4, true), unique: dv.getBigUint64(8, true) };
}

export function decodeAttr(dv: DataView, o: number): FuseAttr {
  return {
    ino: n64(dv, o), size: n64(dv, o + 8), blocks: n64(dv, o + 16),
    atime: { sec: s64(dv, o + 24), nsec: dv.getUint32(o + 48, true) },
    mtime: { sec: s64(dv, o + 32), nsec: dv.getUint32(o + 52, true) },
    ctime: { sec: s64(dv, o + 40), nsec: dv.getUint32(o + 56, true) },
    mode: dv.getUint32(o + 60, true), nlink: dv.getUint32(o + 64, true), uid: dv.getUint32(o + 68, true),
    gid: dv.getUint32(o + 72, true), rdev: dv.getUint32(o + 76, true), blksize: dv.getUint32(o + 80, true),
  };
}

/** Timeouts come back as (sec, nsec); callers compare against the rounded seconds. */
export function decodeEntryOut(dv: DataView, o: number): EntryOut {
  return {
    nodeid: n64(dv, o), generation: n64(dv, o + 8),
    entryTimeout: n64(dv, o + 16) + dv.getUint32(o + 32, true) / 1e9,
    attrTimeout: n64(dv, o + 24) + dv.getUint32(o + 36, true) / 1e9,
    attr: decodeAttr(dv, o + 40),
  };
}

export function decodeAttrOut(u: Uint8Array): { attrTimeout: number; attr: FuseAttr } {
  const dv = view(u);
  return { attrTimeout: n64(dv, 16) + dv.getUint32(24, true) / 1e9, attr: decodeAttr(dv, 32) };
}

export function decodeOpenOut(dv: DataView, o: number): OpenOut {
  return { fh: n64(dv, o), openFlags: dv.getUint32(o + 8, true) };
}

export function decodeStatfsOut(u: Uint8Array): StatfsOut {
  const dv = view(u), o = 16;
  return {
    blocks: n64(dv, o), bfree: n64(dv, o + 8), bavail: n64(dv, o + 16), files: n64(dv, o + 24),
    ffree: n64(dv, o + 32), bsize: dv.getUint32(o + 40, true), namelen: dv.getUint32(o + 44, true),
    frsize: dv.getUint32(o + 48, true),
  };
}

export function decodeInitOut(u: Uint8Array): InitOut {
  const dv = view(u), o = 16;
  return {
    major: dv.getUint32(o, true), minor: dv.getUint32(o + 4, true), maxReadahead: dv.getUint32(o + 8, true),
    flags: dv.getUint32(o + 12, true), maxBackground: dv.getUint16(o + 16, true),
    congestionThreshold: dv.getUint16(o + 18, true), maxWrite: dv.getUint32(o + 20, true),
    timeGran: dv.getUint32(o + 24, true), maxPages: dv.getUint16(o + 28, true),
  };
}

export function decodeLkOut(u: Uint8Array): FileLock {
  const dv = view(u), o = 16;
  return { start: dv.getBigUint64(o, true), end: dv.getBigUint64(o + 8, true), type: dv.getUint32(o + 16, true), pid: dv.getUint32(o + 20, true) };
}

/** Walk packed fuse_dirent / fuse_direntplus records the way fs/fuse/readdir.c does. */
export function decodeDirents(u: Uint8Array, plus: boolean): { dirent: Dirent; entry?: EntryOut }[] {
  const dv = view(u);
  const out: { dirent: Dirent; entry?: EntryOut }[] = [];
  let o = 0;
  while (o < u.length) {
    const entry = plus ? decodeEntryOut(dv, o) : undefined;
    const d = plus ? o + 128 : o;
    const namelen = dv.getUint32(d + 16, true);
    const name = dec.decode(u.subarray(d + 24, d + 24 + namelen));
    out.push({ dirent: { ino: n64(dv, d), off: n64(dv, d + 8), type: dv.getUint32(d + 20, true), name }, ...(entry ? { entry } : {}) });
    o = (d + 24 + namelen + 7) & ~7;
  }
  return out;
}
