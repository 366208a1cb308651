/**
 * Open files and file-descriptor tables.
 *
 * Three levels, as in every Unix:
 *   fd (small integer, per process)  →  FdTable slot {file, cloexec}
 *   File (open file description: offset, status flags, refcount)
 *   ops + data (what the file is: a vnode, a pipe end, a socket, a device)
 *
 * Vnodes, pipes, sockets and devices share one fd table because every File
 * carries a `FileOps` vtable; the syscall layer never looks at what a file is.
 *
 * Lifecycle: a File is created with refs = 1 by whoever opens it and
 * installed in a table. dup/fork/SCM_RIGHTS take references (`hold`); close
 * drops one (`release`); the last release calls `ops.close`. `fdt.close(fd)`
 * removes the slot first, then releases, so a concurrent lookup never sees a
 * half-closed file.
 */
import { EBADF, EINVAL, EMFILE, ESPIPE, ENOTTY, err } from './errno.ts';
import { O_ACCMODE, O_RDONLY, O_WRONLY, OPEN_MAX } from './constants.ts';
import type { Lwp, WaitQueue } from './sched.ts';

export interface Timespec {
  sec: number;
  nsec: number;
}

/** Linux struct stat without the st_ prefix (docs/ARCHITECTURE.md). */
export interface Stat {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
}

export type FileType = 'vnode' | 'pipe' | 'socket' | 'device' | 'event';

/**
 * Per-type file operations. Missing optional methods get the Linux answer
 * for that operation on a file that cannot do it (ESPIPE for lseek on a pipe,
 * ENOTTY for ioctl, EINVAL for read on a file that has none).
 */
export interface FileOps<D = unknown> {
  readonly type: FileType;
  /** Read into buf at `offset` (a number) or at/advancing fp.offset (null). */
  read?(fp: File<D>, td: Lwp, buf: Uint8Array, offset: number | null): Promise<number> | number;
  write?(fp: File<D>, td: Lwp, buf: Uint8Array, offset: number | null): Promise<number> | number;
  lseek?(fp: File<D>, td: Lwp, offset: number, whence: number): Promise<number> | number;
  ioctl?(fp: File<D>, td: Lwp, cmd: number, arg: unknown): Promise<unknown> | unknown;
  /** Ready events now (POLLIN|POLLOUT|POLLHUP|...), masked by `events` plus POLLERR|POLLHUP|POLLNVAL. */
  poll(fp: File<D>, td: Lwp, events: number): number;
  /** The queues a poller sleeps on to learn that poll() may now say more. */
  pollQueues(fp: File<D>): WaitQueue[];
  stat?(fp: File<D>, td: Lwp): Promise<Stat> | Stat;
  /** fcntl F_GETLK/F_SETLK/F_SETLKW and flock(2): advisory locks (vnodes only). */
  advlock?(fp: File<D>, td: Lwp, op: 'getlk' | 'setlk' | 'setlkw' | 'flock', arg: unknown): Promise<unknown> | unknown;
  /** fsync/fdatasync. */
  fsync?(fp: File<D>, td: Lwp, dataOnly: boolean): Promise<void> | void;
  /** ftruncate. */
  truncate?(fp: File<D>, td: Lwp, length: number): Promise<void> | void;
  /**
   * fallocate(2) on a regular file, after the generic checks (sys_descrip.ts): the mode's
   * flags, offset ≥ 0, length > 0, a writable description, the end within 2^53-1.
   */
  fallocate?(fp: File<D>, td: Lwp, mode: number, offset: number, length: number): Promise<void> | void;
  /** Called when F_SETFL changes status flags (O_NONBLOCK, O_APPEND...). */
  setFlags?(fp: File<D>, flags: number): void;
  /**
   * A descriptor for this file is being closed by td's process (every close,
   * not only the last): POSIX record locks are released here (fcntl(2)).
   */
  closefd?(fp: File<D>, td: Lwp | null): void;
  /** The last reference went away. */
  close(fp: File<D>, td: Lwp | null): Promise<void> | void;
}

/** An open file description. */
export class File<D = unknown> {
  readonly ops: FileOps<D>;
  readonly data: D;
  /** Access mode and status flags (O_RDONLY/O_WRONLY/O_RDWR | O_APPEND | O_NONBLOCK ...). */
  flags: number;
  /** File offset for read/write/lseek. @guardedBy offset users (one op at a time per description) */
  offset = 0;
  refs = 1;

  constructor(ops: FileOps<D>, data: D, flags: number) {
    this.ops = ops;
    this.data = data;
    this.flags = flags;
  }

  get readable(): boolean {
    const a = this.flags & O_ACCMODE;
    return a === O_RDONLY || a === 2;
  }
  get writable(): boolean {
    const a = this.flags & O_ACCMODE;
    return a === O_WRONLY || a === 2;
  }

  hold(): this {
    this.refs++;
    return this;
  }

  /** Drop a reference; the last one closes the file. */
  async release(td: Lwp | null): Promise<void> {
    this.ops.closefd?.(this, td);
    if (--this.refs === 0) await this.ops.close(this, td);
  }
}

/** Default behaviours for ops a file type does not have. */
export function fileLseek(fp: File, td: Lwp, offset: number, whence: number): Promise<number> | number {
  if (!fp.ops.lseek) throw err(ESPIPE);
  return fp.ops.lseek(fp, td, offset, whence);
}
export function fileIoctl(fp: File, td: Lwp, cmd: number, arg: unknown): Promise<unknown> | unknown {
  if (!fp.ops.ioctl) throw err(ENOTTY);
  return fp.ops.ioctl(fp, td, cmd, arg);
}

interface FdSlot {
  file: File;
  cloexec: boolean;
}

/**
 * A process's descriptor table. Shared between processes created with a
 * shared table (CLONE_FILES / RUMP_RFFD_SHARE), hence its own refcount.
 */
export class FdTable {
  private slots: (FdSlot | undefined)[] = [];
  /** Lowest slot that might be free (search hint). */
  private lowFree = 0;
  /** RLIMIT_NOFILE. */
  limit: number;
  refs = 1;

  constructor(limit = OPEN_MAX) {
    this.limit = limit;
  }

  /** Number of open descriptors. */
  get count(): number {
    let n = 0;
    for (const s of this.slots) if (s) n++;
    return n;
  }

  /** Look up an fd; throws EBADF. */
  get(fd: number): File {
    const s = this.slots[fd];
    if (s === undefined) throw err(EBADF);
    return s.file;
  }

  /** Look up without throwing. */
  peek(fd: number): File | undefined {
    return this.slots[fd]?.file;
  }

  getCloexec(fd: number): boolean {
    const s = this.slots[fd];
    if (s === undefined) throw err(EBADF);
    return s.cloexec;
  }

  setCloexec(fd: number, on: boolean): void {
    const s = this.slots[fd];
    if (s === undefined) throw err(EBADF);
    s.cloexec = on;
  }

  /** Install file at the lowest free fd >= minFd (takes over the caller's reference). */
  alloc(file: File, cloexec = false, minFd = 0): number {
    if (minFd < 0 || minFd >= this.limit) throw err(EINVAL);
    // Invariant: every slot below lowFree is occupied.
    let fd = Math.max(minFd, this.lowFree);
    while (fd < this.slots.length && this.slots[fd] !== undefined) fd++;
    if (fd >= this.limit) throw err(EMFILE);
    this.slots[fd] = { file, cloexec };
    if (fd === this.lowFree) this.lowFree = fd + 1;
    return fd;
  }

  /** Put file at exactly fd, returning whatever was there (caller releases it). */
  installAt(fd: number, file: File, cloexec: boolean): File | undefined {
    if (fd < 0 || fd >= this.limit) throw err(EBADF);
    const old = this.slots[fd];
    this.slots[fd] = { file, cloexec };
    if (fd === this.lowFree) this.lowFree = fd + 1;
    return old?.file;
  }

  /** Remove fd from the table and return its file (caller releases it). */
  remove(fd: number): File {
    const s = this.slots[fd];
    if (s === undefined) throw err(EBADF);
    this.slots[fd] = undefined;
    if (fd < this.lowFree) this.lowFree = fd;
    while (this.slots.length > 0 && this.slots[this.slots.length - 1] === undefined) this.slots.pop();
    return s.file;
  }

  /** Remove and release (close(2)). */
  async close(fd: number, td: Lwp | null): Promise<void> {
    await this.remove(fd).release(td);
  }

  /** A copy for fork: every file gains a reference. */
  fork(): FdTable {
    const t = new FdTable(this.limit);
    t.slots = this.slots.map((s) => (s ? { file: s.file.hold(), cloexec: s.cloexec } : undefined));
    t.lowFree = this.lowFree;
    return t;
  }

  /** [fd, file] pairs in fd order. */
  *entries(): IterableIterator<[number, File, boolean]> {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s) yield [i, s.file, s.cloexec];
    }
  }

  /** Close everything (process exit). */
  async closeAll(td: Lwp | null): Promise<void> {
    for (let i = this.slots.length - 1; i >= 0; i--) if (this.slots[i]) await this.close(i, td);
  }

  /** Close fds marked close-on-exec (execve). */
  async closeOnExec(td: Lwp | null): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i]?.cloexec) await this.close(i, td);
  }
}
