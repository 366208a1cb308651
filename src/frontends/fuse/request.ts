/**
 * FUSE requests: untrusted bytes from /dev/fuse parsed once into validated values.
 *
 * `parseRequest(bytes) → { ok: true, req } | { ok: false, error, errno, header? }`. It never
 * throws and never reads past the buffer: every length is checked before it is read, and every
 * name must be NUL-terminated inside the request (struct layouts from Linux
 * `include/uapi/linux/fuse.h` are quoted beside each parser).
 *
 * u64 fields: identifiers we mint ourselves (nodeid, fh) and file offsets/sizes are JS numbers,
 * rejected if they exceed 2^53-1 (a nodeid or fh we never issued is garbage; an offset that large
 * gets EFBIG). `unique` and lock ranges (whose "to end of file" value is 2^63-1) are bigints.
 */
import {
  FATTR_FH, FATTR_SIZE, FUSE_ACCESS, FUSE_BATCH_FORGET, FUSE_BMAP, FUSE_CREATE, FUSE_DESTROY,
  FUSE_FALLOCATE, FUSE_FLUSH, FUSE_FORGET, FUSE_FSYNC, FUSE_FSYNCDIR, FUSE_GETATTR,
  FUSE_GETATTR_FH, FUSE_GETLK, FUSE_GETXATTR, FUSE_INIT, FUSE_INTERRUPT, FUSE_LINK, FUSE_LISTXATTR,
  FUSE_LOOKUP, FUSE_LSEEK, FUSE_MKDIR, FUSE_MKNOD, FUSE_OPEN, FUSE_OPENDIR, FUSE_READ,
  FUSE_READDIR, FUSE_READDIRPLUS, FUSE_READLINK, FUSE_RELEASE, FUSE_RELEASEDIR, FUSE_REMOVEXATTR,
  FUSE_RENAME, FUSE_RENAME2, FUSE_RMDIR, FUSE_SETATTR, FUSE_SETLK, FUSE_SETLKW, FUSE_SETXATTR,
  FUSE_STATFS, FUSE_SYMLINK, FUSE_UNLINK, FUSE_WRITE, IN_HEADER_SIZE,
} from './abi.ts';
import type { FileLock, Timespec } from './abi.ts';

// The few errno values this layer produces itself (Linux numbers).
const EIO = 5;
const EFBIG = 27;
const EINVAL = 22;

// ---------------------------------------------------------------------------------------------
// Request values

/** struct fuse_in_header: who asks (uid/gid/pid of the calling host process) about what. */
export interface InHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: number;
  uid: number;
  gid: number;
  pid: number;
}


interface Req<Op extends string> {
  op: Op;
  header: InHeader;
}

export interface LookupRequest extends Req<'lookup'> { name: string }
export interface ForgetRequest extends Req<'forget'> { nlookup: number }
export interface GetattrRequest extends Req<'getattr'> { getattrFlags: number; fh: number }
export interface SetattrRequest extends Req<'setattr'> {
  /** FATTR_* bits saying which of the fields below are meaningful */
  valid: number;
  fh: number;
  size: number;
  lockOwner: bigint;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  mode: number;
  uid: number;
  gid: number;
}
export interface ReadlinkRequest extends Req<'readlink'> {}
export interface SymlinkRequest extends Req<'symlink'> { name: string; target: string }
export interface MknodRequest extends Req<'mknod'> { mode: number; rdev: number; umask: number; name: string }
export interface MkdirRequest extends Req<'mkdir'> { mode: number; umask: number; name: string }
export interface UnlinkRequest extends Req<'unlink'> { name: string }
export interface RmdirRequest extends Req<'rmdir'> { name: string }
/** RENAME and RENAME2 both parse to this (flags = 0 for RENAME; RENAME_NOREPLACE 1, RENAME_EXCHANGE 2). */
export interface RenameRequest extends Req<'rename'> { newdir: number; flags: number; oldName: string; newName: string }
export interface LinkRequest extends Req<'link'> { oldnodeid: number; name: string }
export interface OpenRequest extends Req<'open'> { flags: number }
export interface OpendirRequest extends Req<'opendir'> { flags: number }
interface ReadBody { fh: number; offset: number; size: number; readFlags: number; lockOwner: bigint; flags: number }
export interface ReadRequest extends Req<'read'>, ReadBody {}
export interface ReaddirRequest extends Req<'readdir'>, ReadBody {}
export interface ReaddirplusRequest extends Req<'readdirplus'>, ReadBody {}
export interface WriteRequest extends Req<'write'> {
  fh: number;
  offset: number;
  writeFlags: number;
  lockOwner: bigint;
  flags: number;
  /** A view into the request buffer; copy it if you keep it past the reply. */
  data: Uint8Array;
}
export interface StatfsRequest extends Req<'statfs'> {}
interface ReleaseBody { fh: number; flags: number; releaseFlags: number; lockOwner: bigint }
export interface ReleaseRequest extends Req<'release'>, ReleaseBody {}
export interface ReleasedirRequest extends Req<'releasedir'>, ReleaseBody {}
export interface FsyncRequest extends Req<'fsync'> { fh: number; fsyncFlags: number }
export interface FsyncdirRequest extends Req<'fsyncdir'> { fh: number; fsyncFlags: number }
export interface SetxattrRequest extends Req<'setxattr'> { flags: number; name: string; value: Uint8Array }
export interface GetxattrRequest extends Req<'getxattr'> { size: number; name: string }
export interface ListxattrRequest extends Req<'listxattr'> { size: number }
export interface RemovexattrRequest extends Req<'removexattr'> { name: string }
export interface FlushRequest extends Req<'flush'> { fh: number; lockOwner: bigint }
export interface InitRequest extends Req<'init'> { major: number; minor: number; maxReadahead: number; flags: number }
interface LkBody { fh: number; owner: bigint; lk: FileLock; lkFlags: number }
export interface GetlkRequest extends Req<'getlk'>, LkBody {}
/** SETLK and SETLKW; `sleep` is true for SETLKW. */
export interface SetlkRequest extends Req<'setlk'>, LkBody { sleep: boolean }
export interface AccessRequest extends Req<'access'> { mask: number }
export interface CreateRequest extends Req<'create'> { flags: number; mode: number; umask: number; name: string }
export interface InterruptRequest extends Req<'interrupt'> { target: bigint }
export interface BmapRequest extends Req<'bmap'> { block: bigint; blocksize: number }
export interface DestroyRequest extends Req<'destroy'> {}
export interface BatchForgetRequest extends Req<'batchforget'> { items: { nodeid: number; nlookup: number }[] }
export interface FallocateRequest extends Req<'fallocate'> { fh: number; offset: number; length: number; mode: number }
export interface LseekRequest extends Req<'lseek'> { fh: number; offset: number; whence: number }
/** A well-formed header with an opcode we do not implement (IOCTL, POLL, STATX, …): reply ENOSYS. */
export interface UnsupportedRequest extends Req<'unsupported'> {}

export type FuseRequest =
  | LookupRequest | ForgetRequest | GetattrRequest | SetattrRequest | ReadlinkRequest
  | SymlinkRequest | MknodRequest | MkdirRequest | UnlinkRequest | RmdirRequest | RenameRequest
  | LinkRequest | OpenRequest | OpendirRequest | ReadRequest | ReaddirRequest
  | ReaddirplusRequest | WriteRequest | StatfsRequest | ReleaseRequest | ReleasedirRequest
  | FsyncRequest | FsyncdirRequest | SetxattrRequest | GetxattrRequest | ListxattrRequest
  | RemovexattrRequest | FlushRequest | InitRequest | GetlkRequest | SetlkRequest
  | AccessRequest | CreateRequest | InterruptRequest | BmapRequest | DestroyRequest
  | BatchForgetRequest | FallocateRequest | LseekRequest | UnsupportedRequest;

export type FuseOp = FuseRequest['op'];

export type ParseResult =
  | { ok: true; req: FuseRequest }
  /**
   * `header` is present when the 40-byte header itself was valid, so the caller can still reply
   * `-errno` to `header.unique` (unless the opcode takes no reply).
   */
  | { ok: false; error: string; errno: number; header?: InHeader };

// ---------------------------------------------------------------------------------------------
// Parsing

const utf8 = new TextDecoder('utf-8');
const MAX_SAFE_HI = 0x1fffff; // high 32 bits of Number.MAX_SAFE_INTEGER

/** A failed field read: the reason, and the errno to reply with. */
class Bad {
  constructor(readonly error: string, readonly errno: number = EIO) {}
}

/** Cursor over one request body. Every read checks bounds first and returns Bad on failure. */
class Body {
  constructor(
    readonly dv: DataView,
    readonly u8: Uint8Array,
    public off: number,
    readonly end: number,
  ) {}

  need(n: number, what: string): Bad | undefined {
    return this.end - this.off < n
      ? new Bad(`truncated ${what}: need ${n} bytes, have ${this.end - this.off}`)
      : undefined;
  }
  u32(at: number): number {
    return this.dv.getUint32(this.off + at, true);
  }
  i64n(at: number): number {
    return Number(this.dv.getBigInt64(this.off + at, true));
  }
  big(at: number): bigint {
    return this.dv.getBigUint64(this.off + at, true);
  }
  /** A u64 that must fit in a JS number (ids we minted, offsets); else Bad with `errno`. */
  u64n(at: number, what: string, errno = EIO): number | Bad {
    const lo = this.dv.getUint32(this.off + at, true);
    const hi = this.dv.getUint32(this.off + at + 4, true);
    if (hi > MAX_SAFE_HI) return new Bad(`${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} exceeds 2^53-1`, errno);
    return hi * 0x1_0000_0000 + lo;
  }
  /** A NUL-terminated string starting at the cursor; the cursor moves past the NUL. */
  cstr(what: string, component: boolean): string | Bad {
    const u8 = this.u8;
    let i = this.off;
    const end = this.end;
    while (i < end && u8[i] !== 0) {
      if (component && u8[i] === 0x2f) return new Bad(`${what} contains '/'`, EINVAL);
      i++;
    }
    if (i >= end) return new Bad(`${what} not NUL-terminated within the request`);
    if (i === this.off) return new Bad(`${what} is empty`, EINVAL);
    const s = utf8.decode(u8.subarray(this.off, i));
    this.off = i + 1;
    return s;
  }
}

function fail(error: string, errno = EIO, header?: InHeader): ParseResult {
  return header ? { ok: false, error, errno, header } : { ok: false, error, errno };
}

/** struct fuse_in_header (40 bytes). */
export function parseInHeader(dv: DataView): InHeader | string {
  if (dv.byteLength < IN_HEADER_SIZE) return `request of ${dv.byteLength} bytes is shorter than the 40-byte header`;
  const len = dv.getUint32(0, true);
  if (len !== dv.byteLength) return `header len ${len} != ${dv.byteLength} bytes read`;
  const lo = dv.getUint32(16, true);
  const hi = dv.getUint32(20, true);
  if (hi > MAX_SAFE_HI) return `nodeid 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} exceeds 2^53-1`;
  return {
    len,
    opcode: dv.getUint32(4, true),
    unique: dv.getBigUint64(8, true),
    nodeid: hi * 0x1_0000_0000 + lo,
    uid: dv.getUint32(24, true),
    gid: dv.getUint32(28, true),
    pid: dv.getUint32(32, true),
  };
}

type BodyParser = (h: InHeader, b: Body) => FuseRequest | Bad;

function name1<Op extends 'lookup' | 'unlink' | 'rmdir' | 'removexattr'>(op: Op): BodyParser {
  return (header, b) => {
    const name = b.cstr('name', op !== 'removexattr');
    if (name instanceof Bad) return name;
    return { op, header, name } as FuseRequest;
  };
}

function readBody<Op extends 'read' | 'readdir' | 'readdirplus'>(op: Op): BodyParser {
  // struct fuse_read_in { u64 fh; u64 offset; u32 size; u32 read_flags; u64 lock_owner; u32 flags; u32 padding; }
  return (header, b) => {
    const bad = b.need(40, `fuse_read_in`);
    if (bad) return bad;
    const fh = b.u64n(0, 'fh');
    if (fh instanceof Bad) return fh;
    const offset = b.u64n(8, 'offset', op === 'read' ? EFBIG : EINVAL);
    if (offset instanceof Bad) return offset;
    return { op, header, fh, offset, size: b.u32(16), readFlags: b.u32(20), lockOwner: b.big(24), flags: b.u32(32) } as FuseRequest;
  };
}

function releaseBody<Op extends 'release' | 'releasedir'>(op: Op): BodyParser {
  // struct fuse_release_in { u64 fh; u32 flags; u32 release_flags; u64 lock_owner; }
  return (header, b) => {
    const bad = b.need(24, 'fuse_release_in');
    if (bad) return bad;
    const fh = b.u64n(0, 'fh');
    if (fh instanceof Bad) return fh;
    return { op, header, fh, flags: b.u32(8), releaseFlags: b.u32(12), lockOwner: b.big(16) } as FuseRequest;
  };
}

function fsyncBody<Op extends 'fsync' | 'fsyncdir'>(op: Op): BodyParser {
  // struct fuse_fsync_in { u64 fh; u32 fsync_flags; u32 padding; }
  return (header, b) => {
    const bad = b.need(16, 'fuse_fsync_in');
    if (bad) return bad;
    const fh = b.u64n(0, 'fh');
    if (fh instanceof Bad) return fh;
    return { op, header, fh, fsyncFlags: b.u32(8) } as FuseRequest;
  };
}

function lkBody(op: 'getlk' | 'setlk', sleep: boolean): BodyParser {
  // struct fuse_lk_in { u64 fh; u64 owner; struct fuse_file_lock lk; u32 lk_flags; u32 padding; }
  // struct fuse_file_lock { u64 start; u64 end; u32 type; u32 pid; }
  return (header, b) => {
    const bad = b.need(48, 'fuse_lk_in');
    if (bad) return bad;
    const fh = b.u64n(0, 'fh');
    if (fh instanceof Bad) return fh;
    const lk: FileLock = { start: b.big(16), end: b.big(24), type: b.u32(32), pid: b.u32(36) };
    const body = { header, fh, owner: b.big(8), lk, lkFlags: b.u32(40) };
    return op === 'getlk' ? { op, ...body } : { op, ...body, sleep };
  };
}

function openBody<Op extends 'open' | 'opendir'>(op: Op): BodyParser {
  // struct fuse_open_in { u32 flags; u32 unused; }
  return (header, b) => b.need(8, 'fuse_open_in') ?? ({ op, header, flags: b.u32(0) } as FuseRequest);
}

function noBody<Op extends 'readlink' | 'statfs' | 'destroy'>(op: Op): BodyParser {
  return (header) => ({ op, header }) as FuseRequest;
}

const parsers: (BodyParser | undefined)[] = [];

parsers[FUSE_LOOKUP] = name1('lookup');
parsers[FUSE_UNLINK] = name1('unlink');
parsers[FUSE_RMDIR] = name1('rmdir');
parsers[FUSE_REMOVEXATTR] = name1('removexattr');
parsers[FUSE_READ] = readBody('read');
parsers[FUSE_READDIR] = readBody('readdir');
parsers[FUSE_READDIRPLUS] = readBody('readdirplus');
parsers[FUSE_RELEASE] = releaseBody('release');
parsers[FUSE_RELEASEDIR] = releaseBody('releasedir');
parsers[FUSE_FSYNC] = fsyncBody('fsync');
parsers[FUSE_FSYNCDIR] = fsyncBody('fsyncdir');
parsers[FUSE_GETLK] = lkBody('getlk', false);
parsers[FUSE_SETLK] = lkBody('setlk', false);
parsers[FUSE_SETLKW] = lkBody('setlk', true);
parsers[FUSE_OPEN] = openBody('open');
parsers[FUSE_OPENDIR] = openBody('opendir');
parsers[FUSE_READLINK] = noBody('readlink');
parsers[FUSE_STATFS] = noBody('statfs');
parsers[FUSE_DESTROY] = noBody('destroy');

parsers[FUSE_FORGET] = (header, b) => {
  // struct fuse_forget_in { u64 nlookup; }
  const bad = b.need(8, 'fuse_forget_in');
  if (bad) return bad;
  const nlookup = b.u64n(0, 'nlookup');
  if (nlookup instanceof Bad) return nlookup;
  return { op: 'forget', header, nlookup };
};

parsers[FUSE_BATCH_FORGET] = (header, b) => {
  // struct fuse_batch_forget_in { u32 count; u32 dummy; } then count × fuse_forget_one { u64 nodeid; u64 nlookup; }
  const bad = b.need(8, 'fuse_batch_forget_in');
  if (bad) return bad;
  const count = b.u32(0);
  b.off += 8;
  // Bounded by the request length, never by the untrusted count.
  const bad2 = b.need(count * 16, `${count} fuse_forget_one records`);
  if (bad2) return bad2;
  const items: { nodeid: number; nlookup: number }[] = [];
  for (let i = 0; i < count; i++, b.off += 16) {
    const nodeid = b.u64n(0, 'nodeid');
    if (nodeid instanceof Bad) return nodeid;
    const nlookup = b.u64n(8, 'nlookup');
    if (nlookup instanceof Bad) return nlookup;
    items.push({ nodeid, nlookup });
  }
  return { op: 'batchforget', header, items };
};

parsers[FUSE_GETATTR] = (header, b) => {
  // struct fuse_getattr_in { u32 getattr_flags; u32 dummy; u64 fh; }
  const bad = b.need(16, 'fuse_getattr_in');
  if (bad) return bad;
  const getattrFlags = b.u32(0);
  // The kernel only fills fh when FUSE_GETATTR_FH is set; otherwise it is meaningless.
  const fh = getattrFlags & FUSE_GETATTR_FH ? b.u64n(8, 'fh') : 0;
  if (fh instanceof Bad) return fh;
  return { op: 'getattr', header, getattrFlags, fh };
};

parsers[FUSE_SETATTR] = (header, b) => {
  // struct fuse_setattr_in { u32 valid; u32 padding; u64 fh; u64 size; u64 lock_owner; u64 atime;
  //   u64 mtime; u64 ctime; u32 atimensec; u32 mtimensec; u32 ctimensec; u32 mode; u32 unused4;
  //   u32 uid; u32 gid; u32 unused5; }  = 88 bytes
  const bad = b.need(88, 'fuse_setattr_in');
  if (bad) return bad;
  const valid = b.u32(0);
  const fh = valid & FATTR_FH ? b.u64n(8, 'fh') : 0;
  if (fh instanceof Bad) return fh;
  const size = valid & FATTR_SIZE ? b.u64n(16, 'size', EFBIG) : 0;
  if (size instanceof Bad) return size;
  const nsec = (at: number, what: string): number | Bad => {
    const v = b.u32(at);
    return v > 999_999_999 ? new Bad(`${what} ${v} out of range`, EINVAL) : v;
  };
  const an = nsec(56, 'atimensec');
  if (an instanceof Bad) return an;
  const mn = nsec(60, 'mtimensec');
  if (mn instanceof Bad) return mn;
  const cn = nsec(64, 'ctimensec');
  if (cn instanceof Bad) return cn;
  return {
    op: 'setattr',
    header,
    valid,
    fh,
    size,
    lockOwner: b.big(24),
    atime: { sec: b.i64n(32), nsec: an },
    mtime: { sec: b.i64n(40), nsec: mn },
    ctime: { sec: b.i64n(48), nsec: cn },
    mode: b.u32(68),
    uid: b.u32(76),
    gid: b.u32(80),
  };
};

parsers[FUSE_SYMLINK] = (header, b) => {
  // two strings: the new entry's name, then the link target
  const name = b.cstr('name', true);
  if (name instanceof Bad) return name;
  const target = b.cstr('target', false);
  if (target instanceof Bad) return target;
  return { op: 'symlink', header, name, target };
};

parsers[FUSE_MKNOD] = (header, b) => {
  // struct fuse_mknod_in { u32 mode; u32 rdev; u32 umask; u32 padding; } then name
  const bad = b.need(16, 'fuse_mknod_in');
  if (bad) return bad;
  const mode = b.u32(0), rdev = b.u32(4), umask = b.u32(8);
  b.off += 16;
  const name = b.cstr('name', true);
  if (name instanceof Bad) return name;
  return { op: 'mknod', header, mode, rdev, umask, name };
};

parsers[FUSE_MKDIR] = (header, b) => {
  // struct fuse_mkdir_in { u32 mode; u32 umask; } then name
  const bad = b.need(8, 'fuse_mkdir_in');
  if (bad) return bad;
  const mode = b.u32(0), umask = b.u32(4);
  b.off += 8;
  const name = b.cstr('name', true);
  if (name instanceof Bad) return name;
  return { op: 'mkdir', header, mode, umask, name };
};

function renameBody(fixed: 8 | 16): BodyParser {
  // struct fuse_rename_in { u64 newdir; }  struct fuse_rename2_in { u64 newdir; u32 flags; u32 padding; }
  return (header, b) => {
    const bad = b.need(fixed, fixed === 8 ? 'fuse_rename_in' : 'fuse_rename2_in');
    if (bad) return bad;
    const newdir = b.u64n(0, 'newdir');
    if (newdir instanceof Bad) return newdir;
    const flags = fixed === 16 ? b.u32(8) : 0;
    b.off += fixed;
    const oldName = b.cstr('old name', true);
    if (oldName instanceof Bad) return oldName;
    const newName = b.cstr('new name', true);
    if (newName instanceof Bad) return newName;
    return { op: 'rename', header, newdir, flags, oldName, newName };
  };
}
parsers[FUSE_RENAME] = renameBody(8);
parsers[FUSE_RENAME2] = renameBody(16);

parsers[FUSE_LINK] = (header, b) => {
  // struct fuse_link_in { u64 oldnodeid; } then name
  const bad = b.need(8, 'fuse_link_in');
  if (bad) return bad;
  const oldnodeid = b.u64n(0, 'oldnodeid');
  if (oldnodeid instanceof Bad) return oldnodeid;
  b.off += 8;
  const name = b.cstr('name', true);
  if (name instanceof Bad) return name;
  return { op: 'link', header, oldnodeid, name };
};

parsers[FUSE_WRITE] = (header, b) => {
  // struct fuse_write_in { u64 fh; u64 offset; u32 size; u32 write_flags; u64 lock_owner; u32 flags; u32 padding; }
  // followed by exactly `size` bytes of data.
  const bad = b.need(40, 'fuse_write_in');
  if (bad) return bad;
  const fh = b.u64n(0, 'fh');
  if (fh instanceof Bad) return fh;
  const offset = b.u64n(8, 'offset', EFBIG);
  if (offset instanceof Bad) return offset;
  const size = b.u32(16);
  const have = b.end - b.off - 40;
  if (size !== have) return new Bad(`write size ${size} != ${have} data bytes in the request`);
  const start = b.off + 40;
  return {
    op: 'write', header, fh, offset, writeFlags: b.u32(20), lockOwner: b.big(24), flags: b.u32(32),
    data: b.u8.subarray(start, start + size),
  };
};

parsers[FUSE_SETXATTR] = (header, b) => {
  // struct fuse_setxattr_in { u32 size; u32 flags; } (7.31: no setxattr_flags) then name, then value
  const bad = b.need(8, 'fuse_setxattr_in');
  if (bad) return bad;
  const size = b.u32(0), flags = b.u32(4);
  b.off += 8;
  const name = b.cstr('name', false);
  if (name instanceof Bad) return name;
  if (b.end - b.off !== size) return new Bad(`xattr value size ${size} != ${b.end - b.off} bytes in the request`);
  return { op: 'setxattr', header, flags, name, value: b.u8.subarray(b.off, b.end) };
};

parsers[FUSE_GETXATTR] = (header, b) => {
  // struct fuse_getxattr_in { u32 size; u32 padding; } then name
  const bad = b.need(8, 'fuse_getxattr_in');
  if (bad) return bad;
  const size = b.u32(0);
  b.off += 8;
  const name = b.cstr('name', false);
  if (name instanceof Bad) return name;
  return { op: 'getxattr', header, size, name };
};

parsers[FUSE_LISTXATTR] = (header, b) => b.need(8, 'fuse_getxattr_in') ?? { op: 'listxattr', header, size: b.u32(0) };

parsers[FUSE_FLUSH] = (header, b) => {
  // struct fuse_flush_in { u64 fh; u32 unused; u32 padding; u64 lock_owner; }
  const bad = b.need(24, 'fuse_flush_in');
  if (bad) return bad;
  const fh = b.u64n(0, 'fh');
  if (fh instanceof Bad) return fh;
  return { op: 'flush', header, fh, lockOwner: b.big(16) };
};

parsers[FUSE_INIT] = (header, b) => {
  // struct fuse_init_in { u32 major; u32 minor; u32 max_readahead; u32 flags; ... } — newer kernels
  // send more (flags2, unused[11]); we read the 7.31 prefix.
  const bad = b.need(16, 'fuse_init_in');
  if (bad) return bad;
  return { op: 'init', header, major: b.u32(0), minor: b.u32(4), maxReadahead: b.u32(8), flags: b.u32(12) };
};

parsers[FUSE_ACCESS] = (header, b) => b.need(8, 'fuse_access_in') ?? { op: 'access', header, mask: b.u32(0) };

parsers[FUSE_CREATE] = (header, b) => {
  // struct fuse_create_in { u32 flags; u32 mode; u32 umask; u32 padding; } then name
  const bad = b.need(16, 'fuse_create_in');
  if (bad) return bad;
  const flags = b.u32(0), mode = b.u32(4), umask = b.u32(8);
  b.off += 16;
  const name = b.cstr('name', true);
  if (name instanceof Bad) return name;
  return { op: 'create', header, flags, mode, umask, name };
};

parsers[FUSE_INTERRUPT] = (header, b) => b.need(8, 'fuse_interrupt_in') ?? { op: 'interrupt', header, target: b.big(0) };

parsers[FUSE_BMAP] = (header, b) =>
  // struct fuse_bmap_in { u64 block; u32 blocksize; u32 padding; }
  b.need(16, 'fuse_bmap_in') ?? { op: 'bmap', header, block: b.big(0), blocksize: b.u32(8) };

parsers[FUSE_FALLOCATE] = (header, b) => {
  // struct fuse_fallocate_in { u64 fh; u64 offset; u64 length; u32 mode; u32 padding; }
  const bad = b.need(32, 'fuse_fallocate_in');
  if (bad) return bad;
  const fh = b.u64n(0, 'fh');
  if (fh instanceof Bad) return fh;
  const offset = b.u64n(8, 'offset', EFBIG);
  if (offset instanceof Bad) return offset;
  const length = b.u64n(16, 'length', EFBIG);
  if (length instanceof Bad) return length;
  return { op: 'fallocate', header, fh, offset, length, mode: b.u32(24) };
};

parsers[FUSE_LSEEK] = (header, b) => {
  // struct fuse_lseek_in { u64 fh; u64 offset; u32 whence; u32 padding; }
  const bad = b.need(24, 'fuse_lseek_in');
  if (bad) return bad;
  const fh = b.u64n(0, 'fh');
  if (fh instanceof Bad) return fh;
  const offset = b.u64n(8, 'offset', 6 /* ENXIO: no data/hole at or past an offset that large */);
  if (offset instanceof Bad) return offset;
  return { op: 'lseek', header, fh, offset, whence: b.u32(16) };
};

/**
 * Parse one request as read from /dev/fuse (exactly one read(2) worth of bytes).
 * Never throws; garbage yields `{ ok: false }` with the reason.
 */
export function parseRequest(buf: Uint8Array): ParseResult {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const header = parseInHeader(dv);
  if (typeof header === 'string') return fail(header);
  const parser = parsers[header.opcode];
  if (parser === undefined) return { ok: true, req: { op: 'unsupported', header } };
  const r = parser(header, new Body(dv, buf, IN_HEADER_SIZE, buf.byteLength));
  if (r instanceof Bad) return fail(`opcode ${header.opcode}: ${r.error}`, r.errno, header);
  return { ok: true, req: r };
}
