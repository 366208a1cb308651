/**
 * A small C library for the TypeScript userland: what a program running in
 * a user process uses instead of libc. It sits on `sys`, the synchronous
 * system calls of the process (each call blocks until the kernel answers, as
 * a trap would), and adds what C programs expect of their libc:
 *
 *   - errno: a failed call throws `SysError` with `errno` and `code`
 *     ('ENOENT'); `strerror` has the glibc texts of the common ones;
 *   - stdio: buffered stdout/stderr (`out`, `err`, flushed at exit, before a
 *     read of stdin, and when a buffer passes 64 KiB), `readAll`, `lines`;
 *   - signals: `signal(sig, fn)` installs a handler the kernel delivers at
 *     system-call boundaries (SIG_UPCALL): after every call the library
 *     checks the flag the kernel sets, takes the signals (`sigtake`), runs
 *     the handlers and returns from each with rt_sigreturn;
 *   - process helpers: `spawn` (posix_spawn with file actions), `waitpid`,
 *     `exit`, the environment, `getopt`-style flag parsing.
 *
 * It imports no kernel code: only the Linux ABI numbers (abi.ts).
 */
import { O_RDONLY, SIG_UPCALL } from './abi.ts';

/** The process's system calls: synchronous, Linux argument order; failures throw. */
export type Sys = Record<string, (...a: any[]) => any>;

/** A failed system call, as errno. */
export class SysError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(errno: number, code: string, syscall: string, path?: string) {
    super(`${code}: ${syscall}${path !== undefined ? ` '${path}'` : ''}`);
    this.errno = errno;
    this.code = code;
  }
}

/** Thrown by exit() to unwind the program; the runtime turns it into _exit. */
export class ExitRequest {
  readonly status: number;
  constructor(status: number) {
    this.status = status;
  }
}

const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted', ENOENT: 'No such file or directory', ESRCH: 'No such process',
  EINTR: 'Interrupted system call', EIO: 'Input/output error', ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long', ENOEXEC: 'Exec format error', EBADF: 'Bad file descriptor',
  ECHILD: 'No child processes', EAGAIN: 'Resource temporarily unavailable', ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied', EBUSY: 'Device or resource busy', EEXIST: 'File exists', EXDEV: 'Invalid cross-device link',
  ENODEV: 'No such device', ENOTDIR: 'Not a directory', EISDIR: 'Is a directory', EINVAL: 'Invalid argument',
  EMFILE: 'Too many open files', ENOTTY: 'Inappropriate ioctl for device', EFBIG: 'File too large',
  ENOSPC: 'No space left on device', ESPIPE: 'Illegal seek', EROFS: 'Read-only file system', EMLINK: 'Too many links',
  EPIPE: 'Broken pipe', ENAMETOOLONG: 'File name too long', ENOSYS: 'Function not implemented',
  ENOTEMPTY: 'Directory not empty', ELOOP: 'Too many levels of symbolic links', ENOTSUP: 'Operation not supported',
  EOPNOTSUPP: 'Operation not supported', ETIMEDOUT: 'Connection timed out',
};

export function strerror(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') return STRERROR[code] ?? code;
  return e instanceof Error ? e.message : String(e);
}

/** The code of a failed call ('ENOENT'), or null for anything else. */
export function errcode(e: unknown): string | null {
  const c = (e as { code?: unknown; errno?: unknown }).code;
  return typeof c === 'string' && typeof (e as { errno?: unknown }).errno === 'number' ? c : null;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const FLUSH_AT = 64 * 1024;
/**
 * The buffer size of bulk copies (cat, cp, wc): each system call crosses
 * threads, so fewer, larger transfers go faster (a pipe holds up to 1 MiB).
 */
export const IO_CHUNK = 1024 * 1024;

/** A buffered output stream on a descriptor (stdio's FILE, line-buffered on request). */
export class OutStream {
  private readonly u: Libc;
  readonly fd: number;
  private parts: Uint8Array[] = [];
  private size = 0;
  lineBuffered: boolean;

  constructor(u: Libc, fd: number, lineBuffered: boolean) {
    this.u = u;
    this.fd = fd;
    this.lineBuffered = lineBuffered;
  }

  write(s: string | Uint8Array): void {
    const b = typeof s === 'string' ? enc.encode(s) : s;
    if (b.byteLength === 0) return;
    this.parts.push(b);
    this.size += b.byteLength;
    if (this.size >= FLUSH_AT || (this.lineBuffered && b.includes(10))) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    const all = this.parts.length === 1 ? this.parts[0]! : concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    this.u.writeAll(this.fd, all);
  }
}

export function concat(parts: Uint8Array[], size = parts.reduce((n, p) => n + p.byteLength, 0)): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

export type SigFn = (sig: number) => void;

/** Everything a program gets: its arguments, environment, system calls and stdio. */
export class Libc {
  readonly sys: Sys;
  readonly argv: string[];
  readonly env: Map<string, string>;
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  /** Set by the kernel (through the runner) when signals wait for their handlers. */
  private readonly sigflag: Int32Array | null;
  private readonly handlers = new Map<number, SigFn>();
  private inHandler = false;

  constructor(rawSys: Sys, argv: string[], envp: string[], sigflag: Int32Array | null) {
    this.sigflag = sigflag;
    this.argv = argv;
    this.env = new Map();
    for (const e of envp) {
      const i = e.indexOf('=');
      if (i > 0) this.env.set(e.slice(0, i), e.slice(i + 1));
    }
    // Every call goes through here: errors become SysError, and pending handlers run after it.
    const sys: Sys = Object.create(null);
    const self = this;
    for (const name of Object.keys(rawSys)) {
      const f = rawSys[name]!;
      sys[name] = function (...a: unknown[]) {
        let r: unknown;
        try {
          r = f(...a);
        } catch (e) {
          self.checkSignals();
          const c = e as { errno?: number; code?: string; syscall?: string; path?: string };
          if (typeof c.errno === 'number' && typeof c.code === 'string') throw new SysError(c.errno, c.code, c.syscall ?? name, c.path);
          throw e;
        }
        self.checkSignals();
        return r;
      };
    }
    this.sys = sys;
    this.stdout = new OutStream(this, 1, false);
    this.stderr = new OutStream(this, 2, true);
  }

  /** Run the handlers of signals the kernel delivered (at a system-call boundary). */
  private checkSignals(): void {
    const f = this.sigflag;
    if (f === null || this.inHandler || Atomics.load(f, 0) === 0) return;
    Atomics.store(f, 0, 0);
    this.inHandler = true;
    try {
      const sigs = this.sys.sigtake!() as number[];
      for (const sig of sigs) {
        try {
          this.handlers.get(sig)?.(sig);
        } finally {
          this.sys.rt_sigreturn!();
        }
      }
    } finally {
      this.inHandler = false;
    }
  }

  /** signal(2) with BSD semantics: 'default', 'ignore' or a handler function. */
  signal(sig: number, h: 'default' | 'ignore' | SigFn, flags = 0x1000_0000 /* SA_RESTART */): void {
    if (typeof h === 'function') {
      this.handlers.set(sig, h);
      this.sys.sigaction!(sig, { handler: SIG_UPCALL, flags });
    } else {
      this.handlers.delete(sig);
      this.sys.sigaction!(sig, { handler: h === 'ignore' ? 1 : 0 });
    }
  }

  out(s: string | Uint8Array): void {
    this.stdout.write(s);
  }

  err(s: string | Uint8Array): void {
    this.stderr.write(s);
  }

  /** Program name for messages (basename of argv[0]). */
  get progname(): string {
    const a = this.argv[0] ?? '?';
    return a.slice(a.lastIndexOf('/') + 1);
  }

  /** "prog: what: strerror" on stderr (perror(3) / warn(3)). */
  warn(what: string, e?: unknown): void {
    this.err(`${this.progname}: ${what}${e !== undefined ? `: ${strerror(e)}` : ''}\n`);
  }

  /** Write all of buf (a short write is continued, EINTR retried). */
  writeAll(fd: number, buf: Uint8Array): void {
    let off = 0;
    while (off < buf.byteLength) {
      try {
        off += this.sys.write!(fd, off === 0 ? buf : buf.subarray(off)) as number;
      } catch (e) {
        if (errcode(e) === 'EINTR') continue;
        throw e;
      }
    }
  }

  /** read(2), retrying EINTR. */
  read(fd: number, buf: Uint8Array): number {
    if (fd === 0) this.stdout.flush();
    for (;;) {
      try {
        return this.sys.read!(fd, buf) as number;
      } catch (e) {
        if (errcode(e) === 'EINTR') continue;
        throw e;
      }
    }
  }

  /** Everything until end of file. */
  readAll(fd: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let size = 0;
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = this.read(fd, buf);
      if (n === 0) break;
      parts.push(buf.slice(0, n));
      size += n;
    }
    return concat(parts, size);
  }

  readFile(path: string): Uint8Array {
    const fd = this.sys.open!(path, O_RDONLY) as number;
    try {
      return this.readAll(fd);
    } finally {
      this.sys.close!(fd);
    }
  }

  /** Iterate the lines of a descriptor (without their newlines), reading as it goes. */
  *lines(fd: number): Generator<string> {
    let carry = '';
    const buf = new Uint8Array(65536);
    const d = new TextDecoder();
    for (;;) {
      const n = this.read(fd, buf);
      if (n === 0) break;
      carry += d.decode(buf.subarray(0, n), { stream: true });
      let i: number;
      while ((i = carry.indexOf('\n')) >= 0) {
        yield carry.slice(0, i);
        carry = carry.slice(i + 1);
      }
    }
    carry += d.decode();
    if (carry !== '') yield carry;
  }

  /** The environment as envp strings. */
  envp(): string[] {
    return [...this.env].map(([k, v]) => `${k}=${v}`);
  }

  /** Find a command on $PATH (execvp's search); null when absent. */
  which(cmd: string): string | null {
    if (cmd.includes('/')) return cmd;
    for (const dir of (this.env.get('PATH') ?? '/bin:/sbin').split(':')) {
      const p = `${dir || '.'}/${cmd}`;
      try {
        this.sys.access!(p, 1);
        return p;
      } catch { /* next */ }
    }
    return null;
  }

  exit(status: number): never {
    throw new ExitRequest(status);
  }
}

export function text(b: Uint8Array): string {
  return dec.decode(b);
}

/** The program entry point every /bin program exports. */
export type Main = (u: Libc) => number | void;

/**
 * Parse single-letter options (getopt(3) with POSIX behaviour: options
 * before operands, "--" ends them, "-abc" groups). `spec` lists the letters;
 * a letter followed by ':' takes an argument. Returns null after printing a
 * usage message for an unknown option.
 */
export function getopt(u: Libc, args: string[], spec: string, usage: string): { opts: Map<string, string | true>; rest: string[] } | null {
  const opts = new Map<string, string | true>();
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') { i++; break; }
    if (a === '--help') {
      u.out(`usage: ${usage}\n`);
      u.exit(0);
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const at = spec.indexOf(c);
      if (at < 0 || c === ':') {
        u.err(`${u.progname}: invalid option -- '${c}'\nusage: ${usage}\n`);
        return null;
      }
      if (spec[at + 1] === ':') {
        const v = j + 1 < a.length ? a.slice(j + 1) : args[++i];
        if (v === undefined) {
          u.err(`${u.progname}: option requires an argument -- '${c}'\nusage: ${usage}\n`);
          return null;
        }
        opts.set(c, v);
        break;
      }
      opts.set(c, true);
    }
  }
  return { opts, rest: args.slice(i) };
}

/**
 * echo's backslash escapes (POSIX XSI echo, as dash's echo has them): \a \b
 * \c (stop output, no newline) \f \n \r \t \v \\ and \0nnn (octal).
 * Returns the text and whether \c ended it.
 */
export function echoEscapes(s: string): { text: string; stop: boolean } {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) { out += c; continue; }
    const n = s[++i]!;
    switch (n) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'c': return { text: out, stop: true };
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '0': {
        const m = /^[0-7]{0,3}/.exec(s.slice(i + 1))![0];
        out += String.fromCharCode(parseInt(m || '0', 8) & 0xff);
        i += m.length;
        break;
      }
      default: out += '\\' + n;
    }
  }
  return { text: out, stop: false };
}
