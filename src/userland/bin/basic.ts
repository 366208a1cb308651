/**
 * The smallest programs: true, false, echo, cat, yes — the first things a
 * shell runs and the plumbing of most pipelines.
 */
import { IO_CHUNK, type Libc, echoEscapes, getopt } from '../libc.ts';

export function true_(): number {
  return 0;
}

export function false_(): number {
  return 1;
}

/** echo [-n] [string...]: POSIX (XSI) echo with the common -n, backslash escapes as dash's echo has them. */
export function echo(u: Libc): number {
  const args = u.argv.slice(1);
  if (args[0] === '--help') {
    u.out('usage: echo [-n] [string ...]\n');
    return 0;
  }
  let nl = true;
  while (args[0] === '-n') {
    nl = false;
    args.shift();
  }
  const { text, stop } = echoEscapes(args.join(' '));
  u.out(text + (nl && !stop ? '\n' : ''));
  return 0;
}

/** cat [-u] [file...]: concatenate files ("-" is stdin) to stdout. */
export function cat(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'u', 'cat [-u] [file ...]');
  if (g === null) return 2;
  const files = g.rest.length === 0 ? ['-'] : g.rest;
  let status = 0;
  const buf = new Uint8Array(IO_CHUNK);
  u.stdout.flush();
  for (const f of files) {
    let fd = 0;
    try {
      if (f !== '-') fd = u.sys.open!(f, 0) as number;
      for (;;) {
        const n = u.read(fd, buf);
        if (n === 0) break;
        u.writeAll(1, buf.subarray(0, n));
      }
    } catch (e) {
      u.warn(f, e);
      status = 1;
    } finally {
      if (fd !== 0) u.sys.close!(fd);
    }
  }
  return status;
}

/** yes [string...]: repeat a line until killed (or the pipe closes). */
export function yes(u: Libc): number {
  if (u.argv[1] === '--help') {
    u.out('usage: yes [string ...]\n');
    return 0;
  }
  const line = (u.argv.length > 1 ? u.argv.slice(1).join(' ') : 'y') + '\n';
  const chunk = new TextEncoder().encode(line.repeat(Math.max(1, Math.floor(8192 / line.length))));
  for (;;) u.writeAll(1, chunk);
}
