/**
 * The POSIX line discipline (termios(3), POSIX.1-2017 §11.1 "General
 * Terminal Interface"; Linux n_tty.c): what happens to bytes between the
 * keyboard and a reading process, and between a writing process and the
 * screen. Pure logic with no kernel state, so a model test can drive it:
 *
 *   input(bytes) → { echo, signals }   typed bytes: input flags (ICRNL,
 *       IGNCR, INLCR), then with ISIG the INTR/QUIT/SUSP characters become
 *       SIGINT/SIGQUIT/SIGTSTP (and flush the input unless NOFLSH); with
 *       ICANON lines are edited (ERASE, WERASE, KILL) and become readable at
 *       NL, EOL or EOF; without it every byte is readable at once. ECHO
 *       echoes (control characters as ^X with ECHOCTL; ECHOE erases with
 *       "\b \b"; ECHONL echoes NL alone).
 *   read(max) → bytes | 0 (end of file) | null (nothing yet)   canonical
 *       reads return at most one line; ^D on an empty line is end of file
 *       once; non-canonical reads return what is queued (VMIN 0 makes an
 *       empty read return 0 bytes instead of waiting; VTIME is not kept).
 *   output(bytes) → bytes   OPOST with ONLCR turns NL into CR NL.
 *
 * Bounds: a line holds at most MAX_CANON bytes (more are dropped, as Linux
 * drops them), queued input at most MAX_INPUT.
 */
import {
  ECHO, ECHOCTL, ECHOE, ECHOK, ECHONL, ICANON, ICRNL, IEXTEN, ISIG, NCCS, NOFLSH, ONLCR, OPOST, SIGINT, SIGQUIT, SIGTSTP,
  VEOF, VERASE, VINTR, VKILL, VMIN, VQUIT, VSUSP, VTIME, VWERASE, IXON, type Termios,
} from '../../kern/constants.ts';

export const MAX_CANON = 4095;
export const MAX_INPUT = 65536;
const IGNCR = 0o200, INLCR = 0o100;
const VEOL = 11, VEOL2 = 16;

/** Linux's defaults for a new terminal (tty_std_termios): cooked, echoing, signals on. */
export function defaultTermios(): Termios {
  const cc = new Array<number>(NCCS).fill(0);
  cc[VINTR] = 0x03; // ^C
  cc[VQUIT] = 0x1c; // ^\
  cc[VERASE] = 0x7f; // DEL
  cc[VKILL] = 0x15; // ^U
  cc[VEOF] = 0x04; // ^D
  cc[VTIME] = 0;
  cc[VMIN] = 1;
  cc[VSUSP] = 0x1a; // ^Z
  cc[VWERASE] = 0x17; // ^W
  return { iflag: ICRNL | IXON, oflag: OPOST | ONLCR, cflag: 0o277 /* B38400 | CS8 | CREAD */, lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | IEXTEN | 0o4000 /* ECHOKE */, cc };
}

/** Validate a termios from a caller (TCSETS): numbers in range and NCCS control characters. */
export function parseTermios(v: unknown): Termios | null {
  if (typeof v !== 'object' || v === null) return null;
  const t = v as Record<string, unknown>;
  const u32 = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffff_ffff;
  if (!u32(t.iflag) || !u32(t.oflag) || !u32(t.cflag) || !u32(t.lflag)) return null;
  if (!Array.isArray(t.cc) || t.cc.length > NCCS) return null;
  const cc = new Array<number>(NCCS).fill(0);
  for (let i = 0; i < t.cc.length; i++) {
    const c = t.cc[i];
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 255) return null;
    cc[i] = c;
  }
  return { iflag: t.iflag, oflag: t.oflag, cflag: t.cflag, lflag: t.lflag, cc };
}

export interface InputResult {
  /** Bytes to echo to the terminal's output. */
  echo: number[];
  /** Signals for the foreground process group, in order. */
  signals: number[];
}

/** One chunk of readable input: bytes, or an end-of-file mark (^D on an empty line). */
type Chunk = Uint8Array | 'eof';

export class LineDiscipline {
  termios: Termios = defaultTermios();
  /** The line being edited (canonical mode). */
  private line: number[] = [];
  /** Readable input: whole lines (canonical) or bytes (raw). */
  private readonly ready: Chunk[] = [];
  private readyBytes = 0;
  /** Bytes dropped because a bound was reached. */
  dropped = 0;

  get canonical(): boolean {
    return (this.termios.lflag & ICANON) !== 0;
  }

  /** Bytes a read could take now (FIONREAD). */
  get available(): number {
    return this.readyBytes;
  }

  /** Would read() return something (data or end of file) now? */
  get readable(): boolean {
    return this.ready.length > 0 || (!this.canonical && this.termios.cc[VMIN] === 0);
  }

  private push(c: Chunk): void {
    if (c !== 'eof') {
      if (this.readyBytes + c.byteLength > MAX_INPUT) {
        this.dropped += c.byteLength;
        return;
      }
      this.readyBytes += c.byteLength;
    }
    this.ready.push(c);
  }

  /** Discard queued and partial input (TCSETSF, TCFLSH, a signal without NOFLSH). */
  flushInput(): void {
    this.line = [];
    this.ready.length = 0;
    this.readyBytes = 0;
  }

  /** Switching ICANON off makes the partial line readable; switching it on keeps raw bytes readable. */
  setTermios(t: Termios): void {
    const wasCanon = this.canonical;
    this.termios = t;
    if (wasCanon && !this.canonical && this.line.length > 0) {
      this.push(Uint8Array.from(this.line));
      this.line = [];
    }
  }

  /** End of file from the far side (the host's input closed): whatever is edited becomes readable, then EOF. */
  hangup(): void {
    if (this.line.length > 0) this.push(Uint8Array.from(this.line));
    this.line = [];
    this.ready.push('eof');
  }

  private echoChar(out: number[], c: number): void {
    const lf = this.termios.lflag;
    if ((lf & ECHO) === 0) {
      if (c === 10 && (lf & ECHONL) !== 0 && this.canonical) out.push(10);
      return;
    }
    if (c < 32 && c !== 10 && c !== 9 && (lf & ECHOCTL) !== 0) out.push(0x5e, c + 64); // ^X
    else if (c === 0x7f && (lf & ECHOCTL) !== 0) out.push(0x5e, 0x3f); // ^?
    else out.push(c);
  }

  /** Erase the last character of the line on screen (ECHOE) and in the buffer. */
  private eraseOne(out: number[]): boolean {
    const c = this.line.pop();
    if (c === undefined) return false;
    const lf = this.termios.lflag;
    if ((lf & ECHO) !== 0 && (lf & ECHOE) !== 0) {
      const w = c < 32 && c !== 9 && (lf & ECHOCTL) !== 0 ? 2 : 1;
      for (let i = 0; i < w; i++) out.push(8, 32, 8);
    }
    return true;
  }

  input(bytes: Uint8Array): InputResult {
    const t = this.termios;
    const cc = t.cc;
    const res: InputResult = { echo: [], signals: [] };
    for (let c of bytes) {
      if (c === 13) {
        if ((t.iflag & IGNCR) !== 0) continue;
        if ((t.iflag & ICRNL) !== 0) c = 10;
      } else if (c === 10 && (t.iflag & INLCR) !== 0) c = 13;
      if ((t.lflag & ISIG) !== 0) {
        const sig = c === cc[VINTR] ? SIGINT : c === cc[VQUIT] ? SIGQUIT : c === cc[VSUSP] ? SIGTSTP : 0;
        if (sig !== 0 && c !== 0) {
          if ((t.lflag & NOFLSH) === 0) this.flushInput();
          this.echoChar(res.echo, c);
          if ((t.lflag & ECHO) !== 0) res.echo.push(10);
          res.signals.push(sig);
          continue;
        }
      }
      if (!this.canonical) {
        this.push(Uint8Array.of(c));
        this.echoChar(res.echo, c);
        continue;
      }
      if (c === cc[VERASE] || (c === 8 && cc[VERASE] === 0x7f)) {
        this.eraseOne(res.echo);
        continue;
      }
      if (c === cc[VWERASE] && (t.lflag & IEXTEN) !== 0) {
        while (this.line.length > 0 && this.line[this.line.length - 1] === 32) this.eraseOne(res.echo);
        while (this.line.length > 0 && this.line[this.line.length - 1] !== 32) this.eraseOne(res.echo);
        continue;
      }
      if (c === cc[VKILL]) {
        if ((t.lflag & ECHOE) !== 0) while (this.eraseOne(res.echo));
        else {
          this.line = [];
          if ((t.lflag & ECHOK) !== 0 && (t.lflag & ECHO) !== 0) res.echo.push(10);
        }
        continue;
      }
      if (c === cc[VEOF]) {
        // ^D: the line so far becomes readable without a newline; on an empty line, end of file.
        this.push(this.line.length > 0 ? Uint8Array.from(this.line) : 'eof');
        this.line = [];
        continue;
      }
      if (c === 10 || (c !== 0 && (c === cc[VEOL] || c === cc[VEOL2]))) {
        this.line.push(c);
        this.echoChar(res.echo, c);
        this.push(Uint8Array.from(this.line));
        this.line = [];
        continue;
      }
      if (this.line.length >= MAX_CANON) {
        this.dropped++;
        continue;
      }
      this.line.push(c);
      this.echoChar(res.echo, c);
    }
    return res;
  }

  /** Take up to `max` readable bytes: canonical reads stop at the end of a line. 0: end of file. null: nothing yet. */
  read(max: number): Uint8Array | 0 | null {
    const head = this.ready[0];
    if (head === undefined) return this.readable ? new Uint8Array(0) : null;
    if (head === 'eof') {
      this.ready.shift();
      return 0;
    }
    if (this.canonical) {
      if (head.byteLength <= max) {
        this.ready.shift();
        this.readyBytes -= head.byteLength;
        return head;
      }
      this.ready[0] = head.subarray(max);
      this.readyBytes -= max;
      return head.subarray(0, max);
    }
    // Raw: gather bytes across chunks up to max, stopping at an EOF mark.
    const out: number[] = [];
    while (out.length < max && this.ready.length > 0 && this.ready[0] !== 'eof') {
      const c = this.ready[0] as Uint8Array;
      const n = Math.min(max - out.length, c.byteLength);
      for (let i = 0; i < n; i++) out.push(c[i]!);
      if (n === c.byteLength) this.ready.shift();
      else this.ready[0] = c.subarray(n);
      this.readyBytes -= n;
    }
    return Uint8Array.from(out);
  }

  /** Output processing (OPOST): ONLCR maps NL to CR NL. */
  output(buf: Uint8Array): Uint8Array {
    const t = this.termios;
    if ((t.oflag & OPOST) === 0 || (t.oflag & ONLCR) === 0 || !buf.includes(10)) return buf;
    const out: number[] = [];
    for (const c of buf) {
      if (c === 10) out.push(13);
      out.push(c);
    }
    return Uint8Array.from(out);
  }
}
