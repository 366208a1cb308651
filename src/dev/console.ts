/**
 * The console and the controlling terminal, major 5 (Linux
 * drivers/tty/tty_io.c: 5:1 /dev/console, 5:0 /dev/tty; console(4), tty(4)).
 *
 * The console is a terminal (tty/tty.ts) whose output goes to the host
 * through the consoleWrite hypercall and whose input arrives as
 * consoleSetInput upcalls, through the POSIX line discipline (tty/ldisc.ts):
 * canonical lines with echo and editing by default, ^C/^\/^Z signals to the
 * foreground process group, termios and window-size ioctls, job control.
 * The input upcall is installed when the first description open for
 * reading appears and removed when the last one closes (or kept for good
 * with `pin()`, as a booted system's console is), so a kernel whose console
 * nobody reads does not hold the host's input.
 *
 * /dev/tty is the caller's controlling terminal; a process without one gets
 * the console (Linux would answer ENXIO).
 *
 * Not supported: virtual consoles, pseudo-terminals.
 *
 * @guardedBy the single virtual CPU: the queue changes only between awaits.
 */
import type { Kernel } from '../kern/kernel.ts';
import type { Lwp } from '../kern/sched.ts';
import type { File } from '../kern/file.ts';
import { ENXIO, err } from '../kern/errno.ts';
import { type DevDriver, type DevOpenContext, makedev, minor } from '../kern/devsw.ts';
import { cttyOf } from '../kern/session.ts';
import { Tty } from './tty/tty.ts';

export const TTY_MAJOR = 5;
export const TTY_MINOR = 0;
export const CONSOLE_MINOR = 1;

/** The console of one kernel: a terminal (tty/tty.ts) on the host's console. */
export class ConsoleDev {
  readonly k: Kernel;
  /** The console terminal: line discipline, foreground group, window size. */
  readonly tty: Tty;
  /** Open descriptions that may read; the upcall is installed while > 0. */
  private readers = 0;
  /** Keep the host's input attached even with no reader (the monolithic console). */
  pinned = false;

  constructor(k: Kernel) {
    this.k = k;
    this.tty = new Tty(k, 'console', (b) => k.hyper.consoleWrite(b));
  }

  /** The consoleSetInput upcall: typed bytes go through the line discipline. */
  input(bytes: Uint8Array): void {
    this.tty.input(bytes);
  }

  /** Bytes dropped because the input queue or a line was full. */
  get dropped(): number {
    return this.tty.ld.dropped;
  }

  /** Attach the host's input for good (a booted system's console always listens). */
  pin(): void {
    if (!this.pinned && this.readers === 0) this.k.hyper.consoleSetInput((b) => this.input(b));
    this.pinned = true;
  }

  addReader(): void {
    if (this.readers++ === 0 && !this.pinned) this.k.hyper.consoleSetInput((b) => this.input(b));
  }

  dropReader(): void {
    if (--this.readers === 0 && !this.pinned) this.k.hyper.consoleSetInput(null);
  }

  /** Detach from the host (shutdown). */
  detach(): void {
    if (this.readers > 0 || this.pinned) this.k.hyper.consoleSetInput(null);
    this.readers = 0;
    this.pinned = false;
    this.tty.rq.wakeup(this.k);
  }
}

/** The major-5 driver over one kernel's console. */
export function consoleDriver(dev: ConsoleDev): DevDriver {
  return {
    name: 'tty',
    open(td: Lwp, ctx: DevOpenContext): File {
      const m = minor(ctx.rdev);
      if (m !== TTY_MINOR && m !== CONSOLE_MINOR) throw err(ENXIO);
      // /dev/tty is the caller's controlling terminal; without one, the console.
      const tty = m === TTY_MINOR ? (cttyOf(dev.k, td.proc) as Tty | null) ?? dev.tty : dev.tty;
      const acc = ctx.flags & 3;
      const reads = acc === 0 || acc === 2;
      if (reads && tty === dev.tty) dev.addReader();
      return tty.open(td, ctx, reads && tty === dev.tty ? () => dev.dropReader() : undefined);
    },
  };
}

/** /dev nodes: tty 0666 and console 0600 as udev makes them. */
export const consoleNodes = [
  { name: 'tty', kind: 'chr', rdev: makedev(TTY_MAJOR, TTY_MINOR), perm: 0o666, gid: 5 },
  { name: 'console', kind: 'chr', rdev: makedev(TTY_MAJOR, CONSOLE_MINOR), perm: 0o600 },
] as const;
