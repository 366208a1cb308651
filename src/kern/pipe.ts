/**
 * Pipes (pipe(7)): a bounded byte queue with a read end and a write end.
 *
 * A Pipe is the shared object; each end is an ordinary open file description
 * (File) whose ops are `pipeOps` and whose data is the Pipe, so pipe ends sit
 * in the same fd table as vnodes and sockets and go through the generic
 * read/write/close/fstat/fcntl/ioctl/poll paths. `readers`/`writers` count
 * open *descriptions* of each end, as Linux's pipe->readers/writers do: dup,
 * fork and SCM_RIGHTS share a description and only take a File reference, and
 * the count drops when the description's last reference is released.
 *
 * Rules implemented (pipe(7), read(2), write(2), Linux fs/pipe.c):
 *   - read returns what is there (up to the buffer), blocks while the pipe is
 *     empty and a writer exists, returns 0 (EOF) when empty with no writers,
 *     and EAGAIN instead of blocking under O_NONBLOCK.
 *   - write with no reader fails with EPIPE and SIGPIPE goes to the writer.
 *   - writes of at most PIPE_BUF bytes are atomic: they wait until there is
 *     room for all of it and are copied in one step, so no other writer's
 *     bytes land inside them; under O_NONBLOCK they are all-or-EAGAIN.
 *     Larger writes copy whatever fits, block for more, and may interleave
 *     with other writers; under O_NONBLOCK they return a partial count, or
 *     EAGAIN when nothing fit.
 *   - a blocking read or write is interruptible: a signal ends it with EINTR,
 *     or with the count already transferred when there is one.
 *   - capacity: 65536 bytes by default; fcntl F_GETPIPE_SZ / F_SETPIPE_SZ
 *     (pipeFcntl) read and change it; ioctl FIONREAD says how much is queued.
 *   - poll: read end POLLIN|POLLRDNORM with data, POLLHUP without writers;
 *     write end POLLOUT|POLLWRNORM with at least PIPE_BUF bytes free (so a
 *     PIPE_BUF write would not block), POLLERR without readers.
 *   - fstat: S_IFIFO|0600, a unique inode number on the pipefs device,
 *     st_size 0 (as Linux), atime on read, mtime/ctime on write.
 *
 * Storage is a queue of chunks (copies of what was written), so memory is
 * only what is queued, whatever the capacity. Linux keeps a ring of pages and
 * calls a pipe writable while one page slot is free; counting bytes, the same
 * promise is "a PIPE_BUF write would not block", which is what poll says here.
 *
 * Lifecycle: makePipe (sys_pipe.ts) creates the Pipe and both Files with
 * readers = writers = 1; dup/fork only hold Files; the last release of a
 * File calls pipeOps.close, which drops its end's count and wakes everyone
 * (blocked writers then fail with EPIPE, readers see EOF, pollers HUP/ERR).
 * The Pipe is garbage once both Files are gone. A named FIFO can reuse Pipe
 * and pipeOps per inode; blocking in open(2) until the other end appears is
 * the VFS's part.
 *
 * Not supported: packet mode (pipe2 O_DIRECT), splice/tee/vmsplice,
 * notification pipes, the per-user pipe-user-pages limits.
 *
 * @guardedBy the single virtual CPU: every field changes only between awaits,
 * and each copy in or out happens without an await in the middle.
 */
import { EAGAIN, EBADF, EBUSY, EINTR, EINVAL, ENOMEM, EPERM, EPIPE, ESPIPE, ENOTTY, err } from './errno.ts';
import {
  F_GETPIPE_SZ, F_SETPIPE_SZ, O_NONBLOCK, PIPE_BUF, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDNORM, POLLWRNORM,
  S_IFIFO, SIGPIPE,
} from './constants.ts';
import type { File, FileOps, Stat, Timespec } from './file.ts';
import { WaitQueue, type Lwp } from './sched.ts';
import type { Kernel } from './kernel.ts';
import type { Proc } from './proc.ts';
import { psignal } from './sig_post.ts';
import { ByteQueue } from './bytequeue.ts';

/** Default capacity (Linux: 16 pages). */
export const PIPE_DEF_SIZE = 65536;
/** Smallest capacity F_SETPIPE_SZ gives (one page). */
export const PIPE_MIN_SIZE = 4096;
/** /proc/sys/fs/pipe-max-size: the most an unprivileged F_SETPIPE_SZ may ask for. */
export const PIPE_MAX_SIZE = 1048576;
/** Beyond this round_pipe_size() fails and F_SETPIPE_SZ answers EINVAL. */
const PIPE_SIZE_LIMIT = 2 ** 31;
/** ioctl FIONREAD (asm-generic/ioctls.h): bytes ready to read. */
export const FIONREAD = 0x541b;
/** st_dev of every pipe: the anonymous pipefs super block. */
export const PIPEFS_DEV = 0x0c;

/** Per-kernel pipefs state (inode numbers), kept in the kernel's registry. */
interface PipeFs {
  nextIno: number;
}

function pipefs(k: Kernel): PipeFs {
  let fs = k.lookup<PipeFs>('pipefs');
  if (fs === undefined) {
    fs = { nextIno: 1 };
    k.provide('pipefs', fs);
  }
  return fs;
}

function nsToTs(ns: bigint): Timespec {
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

export class Pipe {
  readonly k: Kernel;
  readonly ino: number;
  readonly uid: number;
  readonly gid: number;
  /** Queued bytes. */
  private readonly q = new ByteQueue();
  /** Most bytes the pipe holds (F_SETPIPE_SZ). */
  capacity = PIPE_DEF_SIZE;
  /** Open descriptions of the read end / the write end. */
  readers = 0;
  writers = 0;
  /** Readers (and read-end pollers) wait here for data or for the last writer to go. */
  readonly rq = new WaitQueue('piperd');
  /** Writers (and write-end pollers) wait here for room or for the last reader to go. */
  readonly wq = new WaitQueue('pipewr');
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;

  constructor(k: Kernel, uid: number, gid: number) {
    this.k = k;
    this.ino = pipefs(k).nextIno++;
    this.uid = uid;
    this.gid = gid;
    const now = nsToTs(k.hyper.clockRealtime());
    this.atime = now;
    this.mtime = now;
    this.ctime = now;
  }

  /** Bytes queued. */
  get len(): number {
    return this.q.len;
  }

  get free(): number {
    return this.capacity - this.len;
  }

  /**
   * Append a copy of bytes (caller checked the room) and wake readers. False,
   * with nothing queued, when the kernel's memory limit has no room for them.
   */
  put(bytes: Uint8Array): boolean {
    if (bytes.byteLength > this.free) this.k.panic(`pipe ${this.ino}: put ${bytes.byteLength} with ${this.free} free`);
    if (!this.k.mem.charge('pipes', bytes.byteLength)) return false;
    this.q.push(bytes);
    this.mtime = this.ctime = nsToTs(this.k.hyper.clockRealtime());
    this.rq.wakeup(this.k);
    return true;
  }

  /** Move up to buf.byteLength queued bytes into buf and wake writers; returns the count. */
  take(buf: Uint8Array): number {
    const n = this.q.take(buf);
    this.k.mem.uncharge('pipes', n);
    if (n > 0) {
      this.atime = nsToTs(this.k.hyper.clockRealtime());
      this.wq.wakeup(this.k);
    }
    return n;
  }

  /** An end's description went away. */
  closeEnd(readEnd: boolean, writeEnd: boolean): void {
    if (readEnd) this.readers--;
    if (writeEnd) this.writers--;
    if (this.readers < 0 || this.writers < 0) this.k.panic(`pipe ${this.ino}: negative end count`);
    // The last end gone: what is still queued is discarded (a FIFO starts empty at its next open).
    if (this.readers === 0 && this.writers === 0 && this.q.len > 0) {
      this.k.mem.uncharge('pipes', this.q.len);
      this.q.take(new Uint8Array(this.q.len));
    }
    // Blocked writers now fail with EPIPE, blocked readers see EOF, pollers see HUP/ERR.
    this.rq.wakeup(this.k);
    this.wq.wakeup(this.k);
  }
}

/**
 * Post SIGPIPE to the writer's process (write(2): "the writing process will
 * also receive a SIGPIPE signal"). Delivery (default action: terminate;
 * SIG_IGN discards it; blocked it stays pending) is sig_post.ts's.
 */
export function postSigpipe(k: Kernel, proc: Proc): void {
  psignal(k, proc, SIGPIPE);
}

function pipeOf(fp: File<Pipe>): Pipe {
  return fp.data;
}

async function pipeRead(fp: File<Pipe>, td: Lwp, buf: Uint8Array, offset: number | null): Promise<number> {
  if (offset !== null) throw err(ESPIPE);
  const p = pipeOf(fp);
  if (buf.byteLength === 0) return 0;
  for (;;) {
    if (p.len > 0) return p.take(buf);
    // read(2) on a pipe: 0 at end of file, i.e. no writer is left.
    if (p.writers === 0) return 0;
    if ((fp.flags & O_NONBLOCK) !== 0) throw err(EAGAIN);
    const why = await p.rq.sleep(td, { intr: true });
    if (why === 'intr') throw err(EINTR);
  }
}

async function pipeWrite(fp: File<Pipe>, td: Lwp, buf: Uint8Array, offset: number | null): Promise<number> {
  if (offset !== null) throw err(ESPIPE);
  const p = pipeOf(fp);
  const total = buf.byteLength;
  // Linux pipe_write: a zero-length write returns 0 before looking at readers.
  if (total === 0) return 0;
  // pipe(7): "POSIX.1 says that writes of less than PIPE_BUF bytes must be atomic".
  const atomic = total <= PIPE_BUF;
  let done = 0;
  for (;;) {
    if (p.readers === 0) {
      // write(2) EPIPE: "fd is connected to a pipe or socket whose reading end is
      // closed. When this happens the writing process will also receive a SIGPIPE".
      // Linux sends the signal even when part of the data went in, and returns that part.
      postSigpipe(td.k, td.proc);
      if (done > 0) return done;
      throw err(EPIPE);
    }
    if (atomic) {
      if (p.free >= total) {
        if (!p.put(buf)) throw err(ENOMEM);
        return total;
      }
    } else if (p.free > 0) {
      const n = Math.min(p.free, total - done);
      // At the kernel's memory limit: what went in so far, else ENOMEM (Linux pipe_write's failed page allocation).
      if (!p.put(buf.subarray(done, done + n))) {
        if (done > 0) return done;
        throw err(ENOMEM);
      }
      done += n;
      if (done === total) return total;
    }
    // pipe(7) O_NONBLOCK: n <= PIPE_BUF fails with EAGAIN if there is no room for
    // all of it; n > PIPE_BUF writes what fits, or fails with EAGAIN when nothing does.
    if ((fp.flags & O_NONBLOCK) !== 0) {
      if (done > 0) return done;
      throw err(EAGAIN);
    }
    const why = await p.wq.sleep(td, { intr: true });
    if (why === 'intr') {
      if (done > 0) return done;
      throw err(EINTR);
    }
  }
}

/** Ready events of a pipe end (Linux pipe_poll), masked by events plus POLLERR|POLLHUP. */
function pipePoll(fp: File<Pipe>, _td: Lwp | null, events: number): number {
  const p = pipeOf(fp);
  let mask = 0;
  if (fp.readable) {
    if (p.len > 0) mask |= POLLIN | POLLRDNORM;
    if (p.writers === 0) mask |= POLLHUP;
  }
  if (fp.writable) {
    if (p.free >= PIPE_BUF) mask |= POLLOUT | POLLWRNORM;
    if (p.readers === 0) mask |= POLLERR;
  }
  return mask & (events | POLLERR | POLLHUP | POLLNVAL);
}

function pipeStat(fp: File<Pipe>): Stat {
  const p = pipeOf(fp);
  return {
    dev: PIPEFS_DEV,
    ino: p.ino,
    mode: S_IFIFO | 0o600,
    nlink: 1,
    uid: p.uid,
    gid: p.gid,
    rdev: 0,
    size: 0,
    blksize: 4096,
    blocks: 0,
    atime: { ...p.atime },
    mtime: { ...p.mtime },
    ctime: { ...p.ctime },
  };
}

function pipeIoctl(fp: File<Pipe>, _td: Lwp, cmd: number): number {
  // FIONREAD: "the number of bytes in the input buffer" (ioctl_tty(2) / pipe(7)).
  if (cmd === FIONREAD) return pipeOf(fp).len;
  throw err(ENOTTY);
}

/** FileOps of both pipe ends; which end a File is comes from its access mode. */
export const pipeOps: FileOps<Pipe> = {
  type: 'pipe',
  read: pipeRead,
  write: pipeWrite,
  ioctl: pipeIoctl,
  poll: pipePoll,
  pollQueues(fp) {
    const p = fp.data;
    const qs: WaitQueue[] = [];
    if (fp.readable) qs.push(p.rq);
    if (fp.writable) qs.push(p.wq);
    return qs;
  },
  stat: pipeStat,
  close(fp) {
    fp.data.closeEnd(fp.readable, fp.writable);
  },
};

/** Round a requested capacity as Linux round_pipe_size does; 0 when too large. */
function roundPipeSize(size: number): number {
  if (size > PIPE_SIZE_LIMIT) return 0;
  if (size <= PIPE_MIN_SIZE) return PIPE_MIN_SIZE;
  return 2 ** Math.ceil(Math.log2(size));
}

/**
 * fcntl F_GETPIPE_SZ / F_SETPIPE_SZ (fcntl(2) "Changing the capacity of a
 * pipe"). EBADF on a file that is not a pipe (Linux get_pipe_info fails).
 */
export function pipeFcntl(td: Lwp, fp: File, cmd: number, arg: unknown): number {
  if (fp.ops !== (pipeOps as FileOps)) throw err(EBADF);
  const p = fp.data as Pipe;
  if (cmd === F_GETPIPE_SZ) return p.capacity;
  if (cmd !== F_SETPIPE_SZ) throw err(EINVAL);
  if (typeof arg !== 'number' || !Number.isInteger(arg) || arg < 0) throw err(EINVAL);
  const size = roundPipeSize(arg);
  if (size === 0) throw err(EINVAL);
  // "Attempts by an unprivileged process to set the pipe capacity above the limit
  // in /proc/sys/fs/pipe-max-size yield the error EPERM" (CAP_SYS_RESOURCE may).
  if (size > p.capacity && size > PIPE_MAX_SIZE && td.proc.cred.euid !== 0) throw err(EPERM);
  // "EBUSY: ... reduce the pipe capacity below the amount of buffer space currently used".
  if (size < p.len) throw err(EBUSY);
  p.capacity = size;
  p.wq.wakeup(td.k);
  return size;
}
