/**
 * The FUSE kernel ABI, protocol 7.31: opcodes, flag bits, request parsing and reply emitting.
 *
 * Source of truth: Linux `include/uapi/linux/fuse.h` (the struct layouts quoted beside each
 * parser below). Everything is little-endian (x86-64 / arm64 hosts), 8-byte aligned.
 *
 * Untrusted bytes from /dev/fuse are parsed here, once, into validated request values
 * (`parseRequest → { ok: true, req } | { ok: false, error, errno, header? }`). The parser never
 * throws and never reads past the buffer: every length is checked before it is read, and every
 * name must be NUL-terminated inside the request. Replies are built by `emit*` functions that
 * return one Uint8Array = fuse_out_header + body, ready for a single write(2).
 *
 * u64 fields: identifiers we mint ourselves (nodeid, fh) and file offsets/sizes are JS numbers,
 * rejected by the parser if they exceed 2^53-1 (a nodeid or fh we never issued is garbage; an
 * offset that large gets EFBIG). `unique` and lock ranges (whose "to end of file" value is
 * 2^63-1) are bigints.
 */

// ---------------------------------------------------------------------------------------------
// Versions and sizes

export const FUSE_KERNEL_VERSION = 7;
/** The minor version we speak. Reply sizes below are the 7.31 ones. */
export const FUSE_KERNEL_MINOR_VERSION = 31;
export const FUSE_ROOT_ID = 1;
export const FUSE_MIN_READ_BUFFER = 8192;

export const IN_HEADER_SIZE = 40; // struct fuse_in_header
export const OUT_HEADER_SIZE = 16; // struct fuse_out_header
export const ATTR_SIZE = 88; // struct fuse_attr
export const ENTRY_OUT_SIZE = 40 + ATTR_SIZE; // struct fuse_entry_out = 128
export const ATTR_OUT_SIZE = 16 + ATTR_SIZE; // struct fuse_attr_out = 104
export const OPEN_OUT_SIZE = 16;
export const WRITE_OUT_SIZE = 8;
export const STATFS_OUT_SIZE = 80; // struct fuse_kstatfs
export const INIT_OUT_SIZE = 64; // struct fuse_init_out (7.23+)
export const LK_OUT_SIZE = 24; // struct fuse_file_lock
export const LSEEK_OUT_SIZE = 8;
export const BMAP_OUT_SIZE = 8;
export const GETXATTR_OUT_SIZE = 8;
export const DIRENT_HEADER_SIZE = 24; // offsetof(struct fuse_dirent, name)
export const DIRENTPLUS_HEADER_SIZE = ENTRY_OUT_SIZE + DIRENT_HEADER_SIZE; // 152

// ---------------------------------------------------------------------------------------------
// Opcodes (enum fuse_opcode)

export const FUSE_LOOKUP = 1;
export const FUSE_FORGET = 2; // no reply
export const FUSE_GETATTR = 3;
export const FUSE_SETATTR = 4;
export const FUSE_READLINK = 5;
export const FUSE_SYMLINK = 6;
export const FUSE_MKNOD = 8;
export const FUSE_MKDIR = 9;
export const FUSE_UNLINK = 10;
export const FUSE_RMDIR = 11;
export const FUSE_RENAME = 12;
export const FUSE_LINK = 13;
export const FUSE_OPEN = 14;
export const FUSE_READ = 15;
export const FUSE_WRITE = 16;
export const FUSE_STATFS = 17;
export const FUSE_RELEASE = 18;
export const FUSE_FSYNC = 20;
export const FUSE_SETXATTR = 21;
export const FUSE_GETXATTR = 22;
export const FUSE_LISTXATTR = 23;
export const FUSE_REMOVEXATTR = 24;
export const FUSE_FLUSH = 25;
export const FUSE_INIT = 26;
export const FUSE_OPENDIR = 27;
export const FUSE_READDIR = 28;
export const FUSE_RELEASEDIR = 29;
export const FUSE_FSYNCDIR = 30;
export const FUSE_GETLK = 31;
export const FUSE_SETLK = 32;
export const FUSE_SETLKW = 33;
export const FUSE_ACCESS = 34;
export const FUSE_CREATE = 35;
export const FUSE_INTERRUPT = 36; // no reply
export const FUSE_BMAP = 37;
export const FUSE_DESTROY = 38;
export const FUSE_IOCTL = 39;
export const FUSE_POLL = 40;
export const FUSE_NOTIFY_REPLY = 41;
export const FUSE_BATCH_FORGET = 42; // no reply
export const FUSE_FALLOCATE = 43;
export const FUSE_READDIRPLUS = 44;
export const FUSE_RENAME2 = 45;
export const FUSE_LSEEK = 46;
export const FUSE_COPY_FILE_RANGE = 47;
export const FUSE_SETUPMAPPING = 48;
export const FUSE_REMOVEMAPPING = 49;
export const FUSE_SYNCFS = 50;
export const FUSE_TMPFILE = 51;
/** Sent once by newer kernels even under 7.31; ENOSYS makes them fall back to GETATTR. */
export const FUSE_STATX = 52;

// ---------------------------------------------------------------------------------------------
// Flag bits

/** fuse_setattr_in.valid */
export const FATTR_MODE = 1 << 0;
export const FATTR_UID = 1 << 1;
export const FATTR_GID = 1 << 2;
export const FATTR_SIZE = 1 << 3;
export const FATTR_ATIME = 1 << 4;
export const FATTR_MTIME = 1 << 5;
export const FATTR_FH = 1 << 6;
export const FATTR_ATIME_NOW = 1 << 7;
export const FATTR_MTIME_NOW = 1 << 8;
export const FATTR_LOCKOWNER = 1 << 9;
export const FATTR_CTIME = 1 << 10;
export const FATTR_KILL_SUIDGID = 1 << 11;

/** fuse_open_out.open_flags */
export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;
export const FOPEN_NONSEEKABLE = 1 << 2;
export const FOPEN_CACHE_DIR = 1 << 3;
export const FOPEN_STREAM = 1 << 4;

/** fuse_init_in.flags / fuse_init_out.flags */
export const FUSE_ASYNC_READ = 1 << 0;
export const FUSE_POSIX_LOCKS = 1 << 1;
export const FUSE_FILE_OPS = 1 << 2;
export const FUSE_ATOMIC_O_TRUNC = 1 << 3;
export const FUSE_EXPORT_SUPPORT = 1 << 4;
export const FUSE_BIG_WRITES = 1 << 5;
export const FUSE_DONT_MASK = 1 << 6;
export const FUSE_SPLICE_WRITE = 1 << 7;
export const FUSE_SPLICE_MOVE = 1 << 8;
export const FUSE_SPLICE_READ = 1 << 9;
export const FUSE_FLOCK_LOCKS = 1 << 10;
export const FUSE_HAS_IOCTL_DIR = 1 << 11;
export const FUSE_AUTO_INVAL_DATA = 1 << 12;
export const FUSE_DO_READDIRPLUS = 1 << 13;
export const FUSE_READDIRPLUS_AUTO = 1 << 14;
export const FUSE_ASYNC_DIO = 1 << 15;
export const FUSE_WRITEBACK_CACHE = 1 << 16;
export const FUSE_NO_OPEN_SUPPORT = 1 << 17;
export const FUSE_PARALLEL_DIROPS = 1 << 18;
export const FUSE_HANDLE_KILLPRIV = 1 << 19;
export const FUSE_POSIX_ACL = 1 << 20;
export const FUSE_ABORT_ERROR = 1 << 21;
export const FUSE_MAX_PAGES = 1 << 22;
export const FUSE_CACHE_SYMLINKS = 1 << 23;
export const FUSE_NO_OPENDIR_SUPPORT = 1 << 24;
export const FUSE_EXPLICIT_INVAL_DATA = 1 << 25;
export const FUSE_MAP_ALIGNMENT = 1 << 26;

/** fuse_release_in.release_flags */
export const FUSE_RELEASE_FLUSH = 1 << 0;
export const FUSE_RELEASE_FLOCK_UNLOCK = 1 << 1;
/** fuse_getattr_in.getattr_flags: fh is valid */
export const FUSE_GETATTR_FH = 1 << 0;
/** fuse_lk_in.lk_flags: this is flock(2), not fcntl(2) */
export const FUSE_LK_FLOCK = 1 << 0;
/** fuse_write_in.write_flags */
export const FUSE_WRITE_CACHE = 1 << 0;
export const FUSE_WRITE_LOCKOWNER = 1 << 1;
export const FUSE_WRITE_KILL_PRIV = 1 << 2;
/** fuse_read_in.read_flags */
export const FUSE_READ_LOCKOWNER = 1 << 1;
/** fuse_fsync_in.fsync_flags */
export const FUSE_FSYNC_FDATASYNC = 1 << 0;

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

export interface Timespec {
  sec: number;
  nsec: number;
}

/** struct fuse_file_lock. `end` is inclusive; 2^63-1 (OFFSET_MAX) means "to end of file". */
export interface FileLock {
  start: bigint;
  end: bigint;
  /** F_RDLCK 0, F_WRLCK 1, F_UNLCK 2 */
  type: number;
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

// ---------------------------------------------------------------------------------------------
// Reply values

/** struct fuse_attr. Times are seconds + nanoseconds; `size`/`blocks` are numbers (≤ 2^53-1). */
export interface FuseAttr {
  ino: number;
  size: number;
  /** 512-byte blocks allocated */
  blocks: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  /** new_encode_dev(): (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12) — glibc makedev's low 32 bits */
  rdev: number;
  blksize: number;
}

/** The DT_* type for a mode (S_IFMT >> 12): DT_DIR 4, DT_REG 8, DT_LNK 10, DT_CHR 2, DT_BLK 6, DT_FIFO 1, DT_SOCK 12. */
export function direntType(mode: number): number {
  return (mode >>> 12) & 0o17;
}

/**
 * struct fuse_entry_out. A kernel `Stat` (DESIGN.md: ino, size, blocks, atime… as {sec, nsec})
 * already has FuseAttr's shape. Replying to LOOKUP with nodeid 0 and an entryTimeout caches a
 * negative entry (the kernel treats it as ENOENT without asking again until the timeout).
 */
export interface EntryOut {
  nodeid: number;
  generation: number;
  /** Timeouts are in seconds (fractions allowed); 0 = don't cache. */
  entryTimeout: number;
  attrTimeout: number;
  attr: FuseAttr;
}

export interface AttrOut {
  attrTimeout: number;
  attr: FuseAttr;
}

export interface OpenOut {
  fh: number;
  /** FOPEN_* bits */
  openFlags: number;
}

export interface StatfsOut {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
  frsize: number;
}

export interface InitOut {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  /** timestamp granularity in ns (1 = full nanoseconds) */
  timeGran: number;
  maxPages: number;
}

/** One directory entry. `off` is the cookie of the *next* entry (what READDIR passes back). */
export interface Dirent {
  ino: number;
  off: number;
  /** DT_* type: S_IFMT bits >> 12 (DT_DIR 4, DT_REG 8, DT_LNK 10, …), 0 if unknown */
  type: number;
  name: string;
}

// ---------------------------------------------------------------------------------------------
// Emitting

const utf8enc = new TextEncoder();

function setU64(dv: DataView, off: number, v: number): void {
  // v is a non-negative safe integer; split without BigInt to keep the hot path cheap.
  dv.setUint32(off, v >>> 0, true);
  dv.setUint32(off + 4, Math.floor(v / 0x1_0000_0000) >>> 0, true);
}

function setI64(dv: DataView, off: number, v: number): void {
  dv.setBigInt64(off, BigInt(Math.trunc(v)), true);
}

/** Split a timeout in seconds into (u64 sec, u32 nsec) at `off`, `nsecOff`. */
function setTimeout64(dv: DataView, off: number, nsecOff: number, seconds: number): void {
  const s = seconds > 0 && Number.isFinite(seconds) ? seconds : 0;
  const whole = Math.floor(s);
  setU64(dv, off, whole);
  dv.setUint32(nsecOff, Math.min(999_999_999, Math.round((s - whole) * 1e9)), true);
}

/** struct fuse_out_header { u32 len; i32 error; u64 unique; } — `error` is 0 or -errno. */
export function writeOutHeader(dv: DataView, len: number, error: number, unique: bigint): void {
  dv.setUint32(0, len, true);
  dv.setInt32(4, error, true);
  dv.setBigUint64(8, unique, true);
}

/** Allocate a reply of OUT_HEADER_SIZE + bodyLen bytes with its header filled in (error 0). */
function reply(unique: bigint, bodyLen: number): { buf: Uint8Array; dv: DataView } {
  const buf = new Uint8Array(OUT_HEADER_SIZE + bodyLen);
  const dv = new DataView(buf.buffer);
  writeOutHeader(dv, buf.length, 0, unique);
  return { buf, dv };
}

/** An error reply: header only, error = -errno. `errno` may be given positive or negative. */
export function emitError(unique: bigint, errno: number): Uint8Array {
  const { buf, dv } = reply(unique, 0);
  dv.setInt32(4, -Math.abs(errno), true);
  return buf;
}

/** A success reply with no body (UNLINK, RELEASE, FLUSH, SETLK, …). */
export function emitEmpty(unique: bigint): Uint8Array {
  return reply(unique, 0).buf;
}

/** A success reply whose body is raw bytes (READ, READLINK, READDIR, READDIRPLUS, GETXATTR). */
export function emitData(unique: bigint, data: Uint8Array): Uint8Array {
  const { buf } = reply(unique, data.length);
  buf.set(data, OUT_HEADER_SIZE);
  return buf;
}

/** struct fuse_attr at `off` (88 bytes). */
export function writeAttr(dv: DataView, off: number, a: FuseAttr): void {
  setU64(dv, off + 0, a.ino);
  setU64(dv, off + 8, a.size);
  setU64(dv, off + 16, a.blocks);
  setI64(dv, off + 24, a.atime.sec);
  setI64(dv, off + 32, a.mtime.sec);
  setI64(dv, off + 40, a.ctime.sec);
  dv.setUint32(off + 48, a.atime.nsec, true);
  dv.setUint32(off + 52, a.mtime.nsec, true);
  dv.setUint32(off + 56, a.ctime.nsec, true);
  dv.setUint32(off + 60, a.mode, true);
  dv.setUint32(off + 64, a.nlink, true);
  dv.setUint32(off + 68, a.uid, true);
  dv.setUint32(off + 72, a.gid, true);
  dv.setUint32(off + 76, a.rdev, true);
  dv.setUint32(off + 80, a.blksize, true);
  dv.setUint32(off + 84, 0, true); // flags (7.32+) / padding
}

/** struct fuse_entry_out at `off` (128 bytes). */
export function writeEntryOut(dv: DataView, off: number, e: EntryOut): void {
  setU64(dv, off + 0, e.nodeid);
  setU64(dv, off + 8, e.generation);
  setTimeout64(dv, off + 16, off + 32, e.entryTimeout);
  setTimeout64(dv, off + 24, off + 36, e.attrTimeout);
  writeAttr(dv, off + 40, e.attr);
}

export function emitEntryOut(unique: bigint, e: EntryOut): Uint8Array {
  const { buf, dv } = reply(unique, ENTRY_OUT_SIZE);
  writeEntryOut(dv, OUT_HEADER_SIZE, e);
  return buf;
}

/** struct fuse_attr_out { u64 attr_valid; u32 attr_valid_nsec; u32 dummy; struct fuse_attr attr; } */
export function emitAttrOut(unique: bigint, a: AttrOut): Uint8Array {
  const { buf, dv } = reply(unique, ATTR_OUT_SIZE);
  setTimeout64(dv, OUT_HEADER_SIZE, OUT_HEADER_SIZE + 8, a.attrTimeout);
  writeAttr(dv, OUT_HEADER_SIZE + 16, a.attr);
  return buf;
}

function writeOpenOut(dv: DataView, off: number, o: OpenOut): void {
  // struct fuse_open_out { u64 fh; u32 open_flags; u32 padding; }
  setU64(dv, off, o.fh);
  dv.setUint32(off + 8, o.openFlags, true);
}

export function emitOpenOut(unique: bigint, o: OpenOut): Uint8Array {
  const { buf, dv } = reply(unique, OPEN_OUT_SIZE);
  writeOpenOut(dv, OUT_HEADER_SIZE, o);
  return buf;
}

/** CREATE replies with fuse_entry_out followed by fuse_open_out. */
export function emitCreateOut(unique: bigint, e: EntryOut, o: OpenOut): Uint8Array {
  const { buf, dv } = reply(unique, ENTRY_OUT_SIZE + OPEN_OUT_SIZE);
  writeEntryOut(dv, OUT_HEADER_SIZE, e);
  writeOpenOut(dv, OUT_HEADER_SIZE + ENTRY_OUT_SIZE, o);
  return buf;
}

/** struct fuse_write_out { u32 size; u32 padding; } */
export function emitWriteOut(unique: bigint, size: number): Uint8Array {
  const { buf, dv } = reply(unique, WRITE_OUT_SIZE);
  dv.setUint32(OUT_HEADER_SIZE, size, true);
  return buf;
}

/** struct fuse_getxattr_out { u32 size; u32 padding; } — the size-probe reply of GETXATTR/LISTXATTR. */
export function emitXattrSize(unique: bigint, size: number): Uint8Array {
  const { buf, dv } = reply(unique, GETXATTR_OUT_SIZE);
  dv.setUint32(OUT_HEADER_SIZE, size, true);
  return buf;
}

/** struct fuse_kstatfs { u64 blocks, bfree, bavail, files, ffree; u32 bsize, namelen, frsize, padding; u32 spare[6]; } */
export function emitStatfsOut(unique: bigint, s: StatfsOut): Uint8Array {
  const { buf, dv } = reply(unique, STATFS_OUT_SIZE);
  const o = OUT_HEADER_SIZE;
  setU64(dv, o + 0, s.blocks);
  setU64(dv, o + 8, s.bfree);
  setU64(dv, o + 16, s.bavail);
  setU64(dv, o + 24, s.files);
  setU64(dv, o + 32, s.ffree);
  dv.setUint32(o + 40, s.bsize, true);
  dv.setUint32(o + 44, s.namelen, true);
  dv.setUint32(o + 48, s.frsize, true);
  return buf;
}

/**
 * struct fuse_init_out (64 bytes at 7.23+): { u32 major, minor, max_readahead, flags;
 * u16 max_background, congestion_threshold; u32 max_write, time_gran; u16 max_pages,
 * map_alignment; u32 unused[8]; }
 */
export function emitInitOut(unique: bigint, i: InitOut): Uint8Array {
  const { buf, dv } = reply(unique, INIT_OUT_SIZE);
  const o = OUT_HEADER_SIZE;
  dv.setUint32(o + 0, i.major, true);
  dv.setUint32(o + 4, i.minor, true);
  dv.setUint32(o + 8, i.maxReadahead, true);
  dv.setUint32(o + 12, i.flags, true);
  dv.setUint16(o + 16, i.maxBackground, true);
  dv.setUint16(o + 18, i.congestionThreshold, true);
  dv.setUint32(o + 20, i.maxWrite, true);
  dv.setUint32(o + 24, i.timeGran, true);
  dv.setUint16(o + 28, i.maxPages, true);
  return buf;
}

/** struct fuse_lk_out { struct fuse_file_lock lk; } */
export function emitLkOut(unique: bigint, lk: FileLock): Uint8Array {
  const { buf, dv } = reply(unique, LK_OUT_SIZE);
  const o = OUT_HEADER_SIZE;
  dv.setBigUint64(o, BigInt.asUintN(64, lk.start), true);
  dv.setBigUint64(o + 8, BigInt.asUintN(64, lk.end), true);
  dv.setUint32(o + 16, lk.type, true);
  dv.setUint32(o + 20, lk.pid, true);
  return buf;
}

/** struct fuse_lseek_out { u64 offset; } */
export function emitLseekOut(unique: bigint, offset: number): Uint8Array {
  const { buf, dv } = reply(unique, LSEEK_OUT_SIZE);
  setU64(dv, OUT_HEADER_SIZE, offset);
  return buf;
}

/** struct fuse_bmap_out { u64 block; } */
export function emitBmapOut(unique: bigint, block: bigint): Uint8Array {
  const { buf, dv } = reply(unique, BMAP_OUT_SIZE);
  dv.setBigUint64(OUT_HEADER_SIZE, BigInt.asUintN(64, block), true);
  return buf;
}

/** READLINK replies with the target bytes, no NUL. */
export function emitReadlink(unique: bigint, target: string | Uint8Array): Uint8Array {
  return emitData(unique, typeof target === 'string' ? utf8enc.encode(target) : target);
}

// ---------------------------------------------------------------------------------------------
// Directory packing

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * Packs struct fuse_dirent / fuse_direntplus records (each 8-byte aligned, padding zeroed) into a
 * buffer of at most `size` bytes — the `size` of the READDIR(PLUS) request. `add` returns false,
 * adding nothing, once the next record would not fit: the caller stops there and the kernel asks
 * again from the last added entry's `off`.
 *
 *   struct fuse_dirent { u64 ino; u64 off; u32 namelen; u32 type; char name[]; }
 *   struct fuse_direntplus { struct fuse_entry_out entry_out; struct fuse_dirent dirent; }
 *
 * For READDIRPLUS every added record with a non-zero entry.nodeid counts as one LOOKUP for that
 * node (the kernel will FORGET it later), exactly as if LOOKUP had replied with it; entries that
 * `add` refused were never sent and must not be counted.
 */
export class DirentPacker {
  private readonly buf: Uint8Array;
  private readonly dv: DataView;
  private len = 0;
  count = 0;

  constructor(readonly size: number, readonly plus: boolean) {
    this.buf = new Uint8Array(Math.max(0, Math.min(size, 1 << 20)));
    this.dv = new DataView(this.buf.buffer);
  }

  /** `entry` is required (and only used) when packing READDIRPLUS. */
  add(d: Dirent, entry?: EntryOut): boolean {
    const name = utf8enc.encode(d.name);
    const head = this.plus ? DIRENTPLUS_HEADER_SIZE : DIRENT_HEADER_SIZE;
    const rec = align8(head + name.length);
    if (this.len + rec > this.buf.length) return false;
    let o = this.len;
    if (this.plus) {
      if (entry) writeEntryOut(this.dv, o, entry); // else stays zeroed: nodeid 0, no lookup
      o += ENTRY_OUT_SIZE;
    }
    setU64(this.dv, o, d.ino);
    setU64(this.dv, o + 8, d.off);
    this.dv.setUint32(o + 16, name.length, true);
    this.dv.setUint32(o + 20, d.type, true);
    this.buf.set(name, o + DIRENT_HEADER_SIZE);
    this.len += rec;
    this.count++;
    return true;
  }

  /** The packed bytes (a view; padding bytes are zero because the buffer starts zeroed). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
