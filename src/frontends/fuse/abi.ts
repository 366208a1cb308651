/**
 * The FUSE kernel ABI constants at protocol 7.31: versions, struct sizes, opcodes and flag bits,
 * plus the two small structs both requests and replies use. Source of truth: Linux
 * `include/uapi/linux/fuse.h`. Parsing is in request.ts, emitting in reply.ts; proto.ts is all three.
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

// ---------------------------------------------------------------------------------------------
// Shared structs

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
