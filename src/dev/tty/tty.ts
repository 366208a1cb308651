/**
 * A terminal device: the line discipline (ldisc.ts) between an input
 * source and an output sink, as open files (tty(4), termios(3), ioctl_tty(2)).
 *
 *   input(bytes)  typed bytes arrive (the console's input upcall): echo goes
 *                 to the output, ^C/^\/^Z signal the foreground process group,
 *                 readers wake;
 *   read          job control first (a background group gets SIGTTIN, or EIO
 *                 — session.ts), then waits for a line (canonical) or bytes;
 *                 EAGAIN with O_NONBLOCK, EINTR when a signal comes;
 *   write         with TOSTOP a background group gets SIGTTOU; output
 *                 processing, then the sink;
 *   ioctl         TCGETS, TCSETS/TCSETSW/TCSETSF (termios objects), TIOCGPGRP,
 *                 TIOCSPGRP (tcsetpgrp), TIOCGWINSZ, TIOCSWINSZ (SIGWINCH to the
 *                 foreground group on a change), TIOCSCTTY, TIOCNOTTY, FIONREAD.
 *
 * Opening a terminal without O_NOCTTY makes it the controlling terminal of a
 * session leader that has none (Linux tty_open). The tty is a `Ctty` of
 * src/kern/session.ts, which keeps the session side.
 *
 * @guardedBy the single virtual CPU: state changes only between awaits.
 */
import type { Kernel } from '../../kern/kernel.ts';
import { WaitQueue, type Lwp } from '../../kern/sched.ts';
import { File, type FileOps } from '../../kern/file.ts';
import { EAGAIN, EINTR, EINVAL, ENOTTY, ESPIPE, err } from '../../kern/errno.ts';
import {
  FIONREAD, O_NOCTTY, O_NONBLOCK, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, SIGWINCH, TCGETS, TCSETS, TCSETSF, TCSETSW,
  TIOCGPGRP, TIOCGWINSZ, TIOCNOTTY, TIOCSCTTY, TIOCSPGRP, TIOCSWINSZ, TOSTOP, type Winsize,
} from '../../kern/constants.ts';
import { killpg } from '../../kern/sig_post.ts';
import { dropCtty, maybeAcquireCtty, setCtty, ttyCheckRead, ttyCheckWrite, ttySetPgrp, type Ctty } from '../../kern/session.ts';
import type { DevOpenContext } from '../../kern/devsw.ts';
import { LineDiscipline, parseTermios } from './ldisc.ts';

export class Tty implements Ctty {
  readonly k: Kernel;
  readonly name: string;
  pgrp = 0;
  sid = 0;
  readonly ld = new LineDiscipline();
  /** Readers (and pollers) wait here for input. */
  readonly rq: WaitQueue;
  winsize: Winsize = { row: 24, col: 80, xpixel: 0, ypixel: 0 };
  private readonly sink: (bytes: Uint8Array) => void;

  constructor(k: Kernel, name: string, sink: (bytes: Uint8Array) => void) {
    this.k = k;
    this.name = name;
    this.sink = sink;
    this.rq = new WaitQueue(`tty:${name}`);
  }

  /** Bytes typed on the terminal. */
  input(bytes: Uint8Array): void {
    const r = this.ld.input(bytes);
    if (r.echo.length > 0) this.sink(this.ld.output(Uint8Array.from(r.echo)));
    for (const sig of r.signals) if (this.pgrp > 0) killpg(this.k, this.pgrp, sig);
    this.rq.wakeup(this.k);
  }

  /** The input side closed (end of a host's piped stdin): readers see end of file. */
  hangup(): void {
    this.ld.hangup();
    this.rq.wakeup(this.k);
  }

  /** The window changed size (the host terminal was resized). */
  resize(ws: Winsize): void {
    const changed = ws.row !== this.winsize.row || ws.col !== this.winsize.col;
    this.winsize = { ...ws };
    if (changed && this.pgrp > 0) killpg(this.k, this.pgrp, SIGWINCH);
  }

  write(bytes: Uint8Array): void {
    if (bytes.byteLength > 0) this.sink(this.ld.output(bytes.slice()));
  }

  /** Open a description of this terminal (a driver's open). */
  open(td: Lwp, ctx: DevOpenContext, onClose?: () => void): File {
    if ((ctx.flags & O_NOCTTY) === 0 && td.proc.pid !== 0) maybeAcquireCtty(this.k, td.proc, this);
    return new File(ttyOps, { tty: this, ctx, onClose }, ctx.flags);
  }
}

interface TtyFile {
  readonly tty: Tty;
  readonly ctx: DevOpenContext;
  readonly onClose: (() => void) | undefined;
}

function winsizeArg(v: unknown): Winsize {
  if (typeof v !== 'object' || v === null) throw err(EINVAL);
  const w = v as Record<string, unknown>;
  const n = (x: unknown): number => {
    if (x === undefined) return 0;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffff) throw err(EINVAL);
    return x;
  };
  return { row: n(w.row), col: n(w.col), xpixel: n(w.xpixel), ypixel: n(w.ypixel) };
}

const ttyOps: FileOps<TtyFile> = {
  type: 'device',
  async read(fp, td, buf, offset) {
    if (offset !== null) throw err(ESPIPE); // a tty has no file position
    const tty = fp.data.tty;
    await ttyCheckRead(td, tty);
    if (buf.byteLength === 0) return 0;
    for (;;) {
      const r = tty.ld.read(buf.byteLength);
      if (r === 0) return 0;
      if (r !== null) {
        buf.set(r);
        return r.byteLength;
      }
      if ((fp.flags & O_NONBLOCK) !== 0) throw err(EAGAIN);
      const why = await tty.rq.sleep(td, { intr: true });
      if (why === 'intr') throw err(EINTR);
      await ttyCheckRead(td, tty); // moved to the background while asleep
    }
  },
  async write(fp, td, buf, offset) {
    if (offset !== null) throw err(ESPIPE);
    const tty = fp.data.tty;
    if ((tty.ld.termios.lflag & TOSTOP) !== 0) await ttyCheckWrite(td, tty);
    tty.write(buf);
    return buf.byteLength;
  },
  async ioctl(fp, td, cmd, arg) {
    const tty = fp.data.tty;
    const k = tty.k;
    switch (cmd) {
      case TCGETS: {
        const t = tty.ld.termios;
        return { iflag: t.iflag, oflag: t.oflag, cflag: t.cflag, lflag: t.lflag, cc: t.cc.slice() };
      }
      case TCSETS: case TCSETSW: case TCSETSF: {
        const t = parseTermios(arg);
        if (t === null) throw err(EINVAL);
        await ttyCheckWrite(td, tty); // tcsetattr from the background: SIGTTOU (POSIX §11.1.4)
        if (cmd === TCSETSF) tty.ld.flushInput();
        tty.ld.setTermios(t);
        tty.rq.wakeup(k);
        return 0;
      }
      case TIOCGPGRP:
        if (tty.sid === 0 || tty.sid !== td.proc.sid) throw err(ENOTTY);
        return tty.pgrp;
      case TIOCSPGRP:
        if (typeof arg !== 'number') throw err(EINVAL);
        await ttySetPgrp(td, tty, arg);
        tty.rq.wakeup(k); // a reader that was in the background may now read
        return 0;
      case TIOCGWINSZ:
        return { ...tty.winsize };
      case TIOCSWINSZ:
        tty.resize(winsizeArg(arg));
        return 0;
      case TIOCSCTTY:
        setCtty(k, td.proc, tty, arg === 1);
        return 0;
      case TIOCNOTTY:
        dropCtty(k, td.proc, tty);
        return 0;
      case FIONREAD:
        return tty.ld.available;
      default:
        throw err(ENOTTY);
    }
  },
  poll(fp, _td, events) {
    let r = POLLOUT | POLLWRNORM;
    if (fp.data.tty.ld.readable) r |= POLLIN | POLLRDNORM;
    return r & events;
  },
  pollQueues: (fp) => [fp.data.tty.rq],
  stat: (fp) => fp.data.ctx.stat(),
  close(fp) {
    fp.data.onClose?.();
  },
};
