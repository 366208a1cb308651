/**
 * The console and the controlling terminal, major 5 (Linux
 * drivers/tty/tty_io.c: 5:1 /dev/console, 5:0 /dev/tty; console(4), tty(4)).
 *
 * Output goes straight to the host through the consoleWrite hypercall.
 * Input arrives as consoleSetInput upcalls; the bytes are queued here (at
 * most CONSOLE_INBUF bytes — more is dropped, as a full tty input buffer
 * drops) and readers sleep on a WaitQueue until some arrive:
 *   - read returns what is queued (up to the buffer), blocks while nothing
 *     is, answers EAGAIN instead under O_NONBLOCK, and EINTR when a signal
 *     interrupts the wait;
 *   - poll: POLLIN when input is queued, POLLOUT always.
 * The input upcall is installed when the first description open for
 * reading appears and removed when the last one closes, so a kernel whose
 * console nobody reads does not hold the host's input (on the node host
 * that would keep stdin open).
 *
 * /dev/tty is the caller's controlling terminal. There are no sessions with
 * terminals yet, so every process's controlling terminal is the console and
 * /dev/tty opens it (Linux would answer ENXIO without one).
 *
 * Not supported: a line discipline (no canonical mode, echo, signals from
 * ^C, termios ioctls — ioctl answers ENOTTY, so isatty() is false), virtual
 * consoles, TIOCSCTTY/session ownership. pread/pwrite answer ESPIPE and
 * lseek ESPIPE, as on a Linux tty.
 *
 * @guardedBy the single virtual CPU: the queue changes only between awaits.
 */
import type { Kernel } from '../kern/kernel.ts';
import { WaitQueue, type Lwp } from '../kern/sched.ts';
import { ByteQueue } from '../kern/bytequeue.ts';
import { File, type FileOps } from '../kern/file.ts';
import { EAGAIN, EINTR, ENXIO, ESPIPE, err } from '../kern/errno.ts';
import { O_NONBLOCK, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../kern/constants.ts';
import { type DevDriver, type DevOpenContext, makedev, minor } from '../kern/devsw.ts';

export const TTY_MAJOR = 5;
export const TTY_MINOR = 0;
export const CONSOLE_MINOR = 1;
/** Input queued beyond this is dropped (Linux N_TTY_BUF_SIZE is 4096; a little more room here). */
export const CONSOLE_INBUF = 65536;

/** The console of one kernel: its input queue and readers. */
export class ConsoleDev {
  readonly k: Kernel;
  /** Queued input. @guardedBy single virtual CPU */
  private readonly q = new ByteQueue();
  /** Bytes dropped because the queue was full (for dmesg and tests). */
  dropped = 0;
  /** Open descriptions that may read; the upcall is installed while > 0. */
  private readers = 0;
  readonly rq = new WaitQueue('console');

  constructor(k: Kernel) {
    this.k = k;
  }

  /** The consoleSetInput upcall: queue bytes (copying them) and wake readers. */
  input(bytes: Uint8Array): void {
    const room = CONSOLE_INBUF - this.q.len;
    const take = Math.min(room, bytes.byteLength);
    if (take < bytes.byteLength) this.dropped += bytes.byteLength - take;
    if (take > 0) {
      this.q.push(bytes.subarray(0, take));
      this.rq.wakeup(this.k);
    }
  }

  /** Copy up to buf.byteLength queued bytes out. */
  take(buf: Uint8Array): number {
    return this.q.take(buf);
  }

  /** Bytes queued. */
  get len(): number {
    return this.q.len;
  }

  addReader(): void {
    if (this.readers++ === 0) this.k.hyper.consoleSetInput((b) => this.input(b));
  }

  dropReader(): void {
    if (--this.readers === 0) this.k.hyper.consoleSetInput(null);
  }

  /** Detach from the host (shutdown). */
  detach(): void {
    if (this.readers > 0) this.k.hyper.consoleSetInput(null);
    this.readers = 0;
    this.rq.wakeup(this.k);
  }
}

/** File.data of an open console. */
interface ConsFile {
  readonly dev: ConsoleDev;
  readonly ctx: DevOpenContext;
  readonly reads: boolean;
}

const consoleOps: FileOps<ConsFile> = {
  type: 'device',
  async read(fp, td: Lwp, buf, offset) {
    // A tty has no file position: pread(2) ESPIPE.
    if (offset !== null) throw err(ESPIPE);
    const dev = fp.data.dev;
    if (buf.byteLength === 0) return 0;
    while (dev.len === 0) {
      // read(2) EAGAIN: "the file descriptor ... has been marked nonblocking and the read would block".
      if ((fp.flags & O_NONBLOCK) !== 0) throw err(EAGAIN);
      const why = await dev.rq.sleep(td, { intr: true });
      if (why === 'intr') throw err(EINTR);
    }
    return dev.take(buf);
  },
  write(fp, _td, buf, offset) {
    if (offset !== null) throw err(ESPIPE);
    if (buf.byteLength > 0) fp.data.dev.k.hyper.consoleWrite(buf.slice());
    return buf.byteLength;
  },
  poll(fp, _td, events) {
    let r = POLLOUT | POLLWRNORM;
    if (fp.data.dev.len > 0) r |= POLLIN | POLLRDNORM;
    return r & events;
  },
  pollQueues: (fp) => [fp.data.dev.rq],
  stat: (fp) => fp.data.ctx.stat(),
  close(fp) {
    if (fp.data.reads) fp.data.dev.dropReader();
  },
};

/** The major-5 driver over one kernel's console. */
export function consoleDriver(dev: ConsoleDev): DevDriver {
  return {
    name: 'tty',
    open(_td: Lwp, ctx: DevOpenContext): File {
      const m = minor(ctx.rdev);
      if (m !== TTY_MINOR && m !== CONSOLE_MINOR) throw err(ENXIO);
      const acc = ctx.flags & 3;
      const reads = acc === 0 || acc === 2;
      const fp = new File(consoleOps, { dev, ctx, reads }, ctx.flags);
      if (reads) dev.addReader();
      return fp;
    },
  };
}

/** /dev nodes: tty 0666 and console 0600 as udev makes them. */
export const consoleNodes = [
  { name: 'tty', kind: 'chr', rdev: makedev(TTY_MAJOR, TTY_MINOR), perm: 0o666, gid: 5 },
  { name: 'console', kind: 'chr', rdev: makedev(TTY_MAJOR, CONSOLE_MINOR), perm: 0o600 },
] as const;
