/**
 * Descriptor system calls that work on any file type (kern_descrip.c and
 * sys_generic.c in BSD): read/write and their positioned and vectored forms,
 * lseek, close, dup/dup2/dup3, fcntl, ioctl, fstat. Each looks the fd up in
 * the caller's table and calls the file's ops; what the file *is* (vnode,
 * pipe, socket, device) is the ops' business.
 */
import { EBADF, EFBIG, EINVAL, ENODEV, EOPNOTSUPP, ESPIPE, EOVERFLOW, EISDIR, err } from './errno.ts';
import {
  FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_NO_HIDE_STALE, FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_ZERO_RANGE, S_IFBLK, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG,
  F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK, F_SETLKW, FD_CLOEXEC,
  O_ACCMODE, O_APPEND, O_ASYNC, O_CLOEXEC, O_DIRECT, O_NOATIME, O_NONBLOCK, O_PATH, F_GETOWN, F_SETOWN, F_GETPIPE_SZ, F_SETPIPE_SZ,
} from './constants.ts';
import { defineSyscall } from './syscall.ts';
import { type File, type Stat, fileIoctl, fileLseek } from './file.ts';
import type { Lwp } from './sched.ts';
import { pipeFcntl } from './pipe.ts';

/** Largest byte count one read/write transfers (Linux MAX_RW_COUNT). */
export const MAX_RW_COUNT = 0x7ffff000;

function getFile(td: Lwp, fd: number): File {
  return td.proc.fdt.get(fd);
}

function readable(fp: File): void {
  if ((fp.flags & O_PATH) !== 0 || !fp.readable) throw err(EBADF);
}
function writable(fp: File): void {
  if ((fp.flags & O_PATH) !== 0 || !fp.writable) throw err(EBADF);
}

function clampBuf(buf: Uint8Array): Uint8Array {
  return buf.byteLength > MAX_RW_COUNT ? buf.subarray(0, MAX_RW_COUNT) : buf;
}

function offsetArg(off: number | bigint): number {
  const n = typeof off === 'bigint' ? Number(off) : off;
  if (n < 0) throw err(EINVAL);
  if (!Number.isSafeInteger(n)) throw err(EOVERFLOW);
  return n;
}

/**
 * read(2) (offset null) or pread(2) on an open file (Linux vfs_read): EBADF
 * unless open for reading, EISDIR for a directory; what frontends holding
 * Files rather than descriptors (the FUSE server) call too.
 */
export async function doRead(td: Lwp, fp: File, buf: Uint8Array, offset: number | null): Promise<number> {
  readable(fp);
  if (!fp.ops.read) throw err(fp.ops.type === 'vnode' ? EISDIR : EINVAL);
  if (buf.byteLength === 0 && offset === null) return 0;
  return fp.ops.read(fp, td, clampBuf(buf), offset);
}

/** write(2) (offset null) or pwrite(2) on an open file (Linux vfs_write): EBADF unless open for writing. */
export async function doWrite(td: Lwp, fp: File, buf: Uint8Array, offset: number | null): Promise<number> {
  writable(fp);
  if (!fp.ops.write) throw err(EINVAL);
  return fp.ops.write(fp, td, clampBuf(buf), offset);
}

/** fsync(2)/fdatasync(2) on an open file: EBADF for O_PATH, EINVAL when it cannot be synced. */
export async function fileFsync(td: Lwp, fp: File, datasync: boolean): Promise<void> {
  if ((fp.flags & O_PATH) !== 0) throw err(EBADF);
  if (!fp.ops.fsync) throw err(EINVAL);
  await fp.ops.fsync(fp, td, datasync);
}

/** ftruncate(2) on an open file (len checked non-negative): EBADF for O_PATH, EINVAL unless a writable file. */
export async function fileTruncate(td: Lwp, fp: File, len: number): Promise<void> {
  if ((fp.flags & O_PATH) !== 0) throw err(EBADF);
  if (!fp.ops.truncate) throw err(EINVAL);
  if (!fp.writable) throw err(EINVAL);
  await fp.ops.truncate(fp, td, len);
}

/** Close fd in td's process. */
export async function doClose(td: Lwp, fd: number): Promise<number> {
  await td.proc.fdt.close(fd, td);
  return 0;
}

async function dup3(td: Lwp, oldfd: number, newfd: number, flags: number): Promise<number> {
  const fdt = td.proc.fdt;
  if ((flags & ~O_CLOEXEC) !== 0) throw err(EINVAL);
  const fp = fdt.get(oldfd);
  if (oldfd === newfd) throw err(EINVAL);
  if (newfd < 0 || newfd >= fdt.limit) throw err(EBADF);
  const old = fdt.installAt(newfd, fp.hold(), (flags & O_CLOEXEC) !== 0);
  if (old) await old.release(td);
  return newfd;
}

/** Status flags F_SETFL may change (Linux SETFL_MASK). */
const SETFL_MASK = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

async function fcntl(td: Lwp, fd: number, cmd: number, arg?: unknown): Promise<unknown> {
  const fdt = td.proc.fdt;
  const fp = fdt.get(fd);
  const intArg = (): number => {
    if (typeof arg !== 'number' || !Number.isInteger(arg)) throw err(EINVAL);
    return arg;
  };
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const min = intArg();
      if (min < 0 || min >= fdt.limit) throw err(EINVAL);
      return fdt.alloc(fp.hold(), cmd === F_DUPFD_CLOEXEC, min);
    }
    case F_GETFD:
      return fdt.getCloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      fdt.setCloexec(fd, (intArg() & FD_CLOEXEC) !== 0);
      return 0;
    case F_GETFL:
      return fp.flags & ~O_CLOEXEC;
    case F_SETFL: {
      const v = intArg();
      if ((fp.flags & O_PATH) !== 0) throw err(EBADF);
      fp.flags = (fp.flags & ~SETFL_MASK) | (v & SETFL_MASK);
      fp.ops.setFlags?.(fp, fp.flags);
      return 0;
    }
    case F_GETOWN:
      return 0;
    case F_SETOWN:
      intArg();
      return 0;
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
      if ((fp.flags & O_PATH) !== 0) throw err(EBADF);
      if (typeof arg !== 'object' || arg === null) throw err(EINVAL);
      if (!fp.ops.advlock) throw err(EINVAL);
      return fp.ops.advlock(fp, td, cmd === F_GETLK ? 'getlk' : cmd === F_SETLK ? 'setlk' : 'setlkw', arg);
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
      return pipeFcntl(td, fp, cmd, arg);
    default:
      throw err(EINVAL);
  }
}

async function lseek(td: Lwp, fd: number, offset: number | bigint, whence: number): Promise<number> {
  const fp = getFile(td, fd);
  if ((fp.flags & O_PATH) !== 0) throw err(EBADF);
  const off = typeof offset === 'bigint' ? Number(offset) : offset;
  if (!Number.isSafeInteger(off)) throw err(EINVAL);
  return fileLseek(fp, td, off, whence);
}

async function fstat(td: Lwp, fd: number): Promise<Stat> {
  const fp = getFile(td, fd);
  if (!fp.ops.stat) throw err(EBADF);
  return fp.ops.stat(fp, td);
}

async function readv(td: Lwp, fd: number, bufs: Uint8Array[], offset: number | null): Promise<number> {
  const fp = getFile(td, fd);
  let total = 0;
  let sum = 0;
  for (const b of bufs) sum += b.byteLength;
  if (sum > MAX_RW_COUNT) throw err(EINVAL);
  for (const b of bufs) {
    if (b.byteLength === 0) continue;
    const n = await doRead(td, fp, b, offset === null ? null : offset + total);
    total += n;
    if (n < b.byteLength) break;
  }
  return total;
}

async function writev(td: Lwp, fd: number, bufs: Uint8Array[], offset: number | null): Promise<number> {
  const fp = getFile(td, fd);
  let sum = 0;
  for (const b of bufs) sum += b.byteLength;
  if (sum > MAX_RW_COUNT) throw err(EINVAL);
  // Gather into one write so the transfer is atomic where the file type promises
  // atomicity (PIPE_BUF on pipes, O_APPEND on regular files).
  const one = new Uint8Array(sum);
  let o = 0;
  for (const b of bufs) {
    one.set(b, o);
    o += b.byteLength;
  }
  writable(fp);
  return doWrite(td, fp, one, offset);
}

export const descripSyscalls = [
  defineSyscall('read', 0, ['fd', 'buf'], (td, fd: number, buf: Uint8Array) => doRead(td, getFile(td, fd), buf, null), { bufs: { 1: 'out' } }),
  defineSyscall('write', 1, ['fd', 'buf'], (td, fd: number, buf: Uint8Array) => doWrite(td, getFile(td, fd), buf, null), { bufs: { 1: 'in' } }),
  defineSyscall('pread', 17, ['fd', 'buf', 'off'], (td, fd: number, buf: Uint8Array, offset: number | bigint) => {
    const fp = getFile(td, fd);
    if (fp.ops.type === 'pipe' || fp.ops.type === 'socket') throw err(ESPIPE);
    return doRead(td, fp, buf, offsetArg(offset));
  }, { bufs: { 1: 'out' } }),
  defineSyscall('pwrite', 18, ['fd', 'buf', 'off'], (td, fd: number, buf: Uint8Array, offset: number | bigint) => {
    const fp = getFile(td, fd);
    if (fp.ops.type === 'pipe' || fp.ops.type === 'socket') throw err(ESPIPE);
    return doWrite(td, fp, buf, offsetArg(offset));
  }, { bufs: { 1: 'in' } }),
  defineSyscall('readv', 19, ['fd', 'bufs'], (td, fd: number, bufs: Uint8Array[]) => readv(td, fd, bufs, null), { bufs: { 1: 'out' } }),
  defineSyscall('writev', 20, ['fd', 'bufs'], (td, fd: number, bufs: Uint8Array[]) => writev(td, fd, bufs, null), { bufs: { 1: 'in' } }),
  defineSyscall('preadv', 295, ['fd', 'bufs', 'off'], (td, fd: number, bufs: Uint8Array[], offset: number | bigint) => {
    const fp = getFile(td, fd);
    if (fp.ops.type === 'pipe' || fp.ops.type === 'socket') throw err(ESPIPE);
    return readv(td, fd, bufs, offsetArg(offset));
  }, { bufs: { 1: 'out' } }),
  defineSyscall('pwritev', 296, ['fd', 'bufs', 'off'], (td, fd: number, bufs: Uint8Array[], offset: number | bigint) => {
    const fp = getFile(td, fd);
    if (fp.ops.type === 'pipe' || fp.ops.type === 'socket') throw err(ESPIPE);
    return writev(td, fd, bufs, offsetArg(offset));
  }, { bufs: { 1: 'in' } }),
  defineSyscall('lseek', 8, ['fd', 'off', 'int'], lseek),
  defineSyscall('close', 3, ['fd'], doClose),
  defineSyscall('dup', 32, ['fd'], (td, fd: number) => {
    const fp = td.proc.fdt.get(fd);
    return td.proc.fdt.alloc(fp.hold(), false);
  }),
  defineSyscall('dup2', 33, ['fd', 'fd'], async (td, oldfd: number, newfd: number) => {
    if (oldfd === newfd) {
      td.proc.fdt.get(oldfd);
      return newfd;
    }
    return dup3(td, oldfd, newfd, 0);
  }),
  defineSyscall('dup3', 292, ['fd', 'fd', 'int'], dup3),
  defineSyscall('fcntl', 72, ['fd', 'int', 'any?'], fcntl),
  defineSyscall('ioctl', 16, ['fd', 'uint', 'any?'], (td, fd: number, cmd: number, arg?: unknown) => {
    const fp = getFile(td, fd);
    if ((fp.flags & O_PATH) !== 0) throw err(EBADF);
    return fileIoctl(fp, td, cmd, arg);
  }),
  defineSyscall('fstat', 5, ['fd'], fstat, { returnsStat: true }),
  defineSyscall('fsync', 74, ['fd'], async (td, fd: number) => {
    await fileFsync(td, getFile(td, fd), false);
    return 0;
  }),
  defineSyscall('fdatasync', 75, ['fd'], async (td, fd: number) => {
    await fileFsync(td, getFile(td, fd), true);
    return 0;
  }),
  defineSyscall('ftruncate', 77, ['fd', 'off'], async (td, fd: number, length: number | bigint) => {
    const fp = getFile(td, fd);
    const len = typeof length === 'bigint' ? Number(length) : length;
    if (len < 0) throw err(EINVAL);
    await fileTruncate(td, fp, len);
    return 0;
  }),
  defineSyscall('fallocate', 285, ['fd', 'int', 'off', 'off'], async (td, fd: number, mode: number, offset: number | bigint, length: number | bigint) => {
    await fileFallocate(td, getFile(td, fd), mode, Number(offset), Number(length));
    return 0;
  }),
] as const;

/**
 * fallocate(2) on an open file: Linux vfs_fallocate()'s checks, in its order, then the file's
 * own op (vnode files: the file system's). Shared by the syscall and the FUSE server's FALLOCATE.
 */
export async function fileFallocate(td: Lwp, fp: File, mode: number, off: number, len: number): Promise<void> {
  if (off < 0 || len <= 0) throw err(EINVAL);
  if ((mode & ~FALLOC_SUPPORTED) !== 0) throw err(EOPNOTSUPP);
  if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) === (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) throw err(EOPNOTSUPP);
  if ((mode & FALLOC_FL_PUNCH_HOLE) !== 0 && (mode & FALLOC_FL_KEEP_SIZE) === 0) throw err(EOPNOTSUPP);
  if ((mode & FALLOC_FL_COLLAPSE_RANGE) !== 0 && (mode & ~FALLOC_FL_COLLAPSE_RANGE) !== 0) throw err(EINVAL);
  if ((mode & FALLOC_FL_INSERT_RANGE) !== 0 && (mode & ~FALLOC_FL_INSERT_RANGE) !== 0) throw err(EINVAL);
  if ((mode & FALLOC_FL_UNSHARE_RANGE) !== 0 && (mode & ~(FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE)) !== 0) throw err(EINVAL);
  if ((fp.flags & O_PATH) !== 0 || !fp.writable) throw err(EBADF);
  const type = fp.ops.stat !== undefined ? (await fp.ops.stat(fp, td)).mode & S_IFMT : 0;
  if (type === S_IFIFO) throw err(ESPIPE);
  if (type === S_IFDIR) throw err(EISDIR);
  if (type !== S_IFREG && type !== S_IFBLK) throw err(ENODEV);
  if (!Number.isSafeInteger(off + len)) throw err(EFBIG);
  if (fp.ops.fallocate === undefined) throw err(EOPNOTSUPP);
  await fp.ops.fallocate(fp, td, mode, off, len);
}

/** Every fallocate(2) mode bit Linux knows (FALLOC_FL_SUPPORTED_MASK); a file system may take fewer. */
const FALLOC_SUPPORTED = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_NO_HIDE_STALE | FALLOC_FL_COLLAPSE_RANGE
  | FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE;

export { O_ACCMODE };
