/**
 * Text utilities over stdin or files: head, tail, wc, grep, sort, uniq, tr,
 * cut, tee, printf — POSIX behaviour for the options listed in each usage
 * line; exit status 0 on success, 1 for grep without a match, >1 on errors.
 */
import { IO_CHUNK, type Libc, getopt, text } from '../libc.ts';

/** The bytes of each operand ("-" or none: stdin), with errors reported. */
function inputs(u: Libc, files: string[], each: (data: Uint8Array, name: string) => void): number {
  let st = 0;
  for (const f of files.length === 0 ? ['-'] : files) {
    try {
      each(f === '-' ? u.readAll(0) : u.readFile(f), f);
    } catch (e) {
      u.warn(f, e);
      st = 1;
    }
  }
  return st;
}

function splitLines(s: string): string[] {
  const l = s.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

export function head(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'n:c:', 'head [-n lines | -c bytes] [file ...]');
  if (g === null) return 2;
  const c = g.opts.get('c');
  const n = Number(g.opts.get('n') ?? 10);
  if (c !== undefined) {
    // Read only what is needed, so `yes | head -c N` ends the writer with SIGPIPE.
    let left = Number(c);
    const fd = g.rest[0] && g.rest[0] !== '-' ? (u.sys.open!(g.rest[0], 0) as number) : 0;
    const buf = new Uint8Array(65536);
    while (left > 0) {
      const got = u.read(fd, buf.subarray(0, Math.min(buf.byteLength, left)));
      if (got === 0) break;
      u.out(buf.slice(0, got));
      left -= got;
    }
    return 0;
  }
  if (g.rest.length <= 1) {
    let count = 0;
    const fd = g.rest[0] && g.rest[0] !== '-' ? (u.sys.open!(g.rest[0], 0) as number) : 0;
    if (n <= 0) return 0;
    for (const line of u.lines(fd)) {
      u.out(line + '\n');
      if (++count >= n) break;
    }
    return 0;
  }
  let first = true;
  return inputs(u, g.rest, (d, name) => {
    u.out(`${first ? '' : '\n'}==> ${name} <==\n`);
    first = false;
    for (const l of splitLines(text(d)).slice(0, n)) u.out(l + '\n');
  });
}

export function tail(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'n:c:', 'tail [-n lines | -c bytes] [file]');
  if (g === null) return 2;
  return inputs(u, g.rest.slice(0, 1), (d) => {
    const c = g.opts.get('c');
    if (c !== undefined) return u.out(d.subarray(Math.max(0, d.byteLength - Number(c))));
    const spec = String(g.opts.get('n') ?? '10');
    const lines = splitLines(text(d));
    const out = spec.startsWith('+') ? lines.slice(Number(spec.slice(1)) - 1) : lines.slice(Math.max(0, lines.length - Number(spec)));
    for (const l of out) u.out(l + '\n');
  });
}

export function wc(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'lwc', 'wc [-lwc] [file ...]');
  if (g === null) return 2;
  let sel = ['l', 'w', 'c'].filter((x) => g.opts.has(x));
  if (sel.length === 0) sel = ['l', 'w', 'c'];
  const tot = { l: 0, w: 0, c: 0 };
  const show = (r: Record<string, number>, name: string) => {
    const cols = sel.map((k) => String(r[k]));
    u.out((sel.length === 1 && !name ? cols[0]! : cols.map((x) => x.padStart(7)).join(' ')) + (name ? ` ${name}` : '') + '\n');
  };
  const files = g.rest;
  // wc -c of a stream counts as it reads, without holding it all.
  if (files.length === 0) {
    const r = { l: 0, w: 0, c: 0 };
    const buf = new Uint8Array(IO_CHUNK);
    let inWord = false;
    const bytesOnly = sel.length === 1 && sel[0] === 'c';
    for (;;) {
      const n = u.read(0, buf);
      if (n === 0) break;
      r.c += n;
      if (bytesOnly) continue; // wc -c need not look at the bytes
      for (let i = 0; i < n; i++) {
        const b = buf[i]!;
        if (b === 10) r.l++;
        const sp = b === 32 || (b >= 9 && b <= 13);
        if (!sp && !inWord) r.w++;
        inWord = !sp;
      }
    }
    show(r, '');
    return 0;
  }
  const st = inputs(u, files, (d, name) => {
    const s = text(d);
    const r = { l: (s.match(/\n/g) ?? []).length, w: s.split(/\s+/).filter(Boolean).length, c: d.byteLength };
    tot.l += r.l; tot.w += r.w; tot.c += r.c;
    show(r, name);
  });
  if (files.length > 1) show(tot, 'total');
  return st;
}

export function grep(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'ivcnlqEFe:', 'grep [-ivcnlqEF] [-e pattern | pattern] [file ...]');
  if (g === null) return 2;
  const rest = g.rest.slice();
  const pat = (g.opts.get('e') as string | undefined) ?? rest.shift();
  if (pat === undefined) { u.err('usage: grep [-ivcnlqEF] pattern [file ...]\n'); return 2; }
  let re: RegExp;
  try {
    const src = g.opts.has('F') ? pat.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : g.opts.has('E') ? pat : pat.replace(/\\([(){}|+?])/g, '$1').replace(/(?<!\\)([(){}|+?])/g, '\\$1');
    re = new RegExp(src, g.opts.has('i') ? 'i' : '');
  } catch {
    u.err(`grep: bad pattern: ${pat}\n`);
    return 2;
  }
  let matched = false;
  const many = rest.length > 1;
  const st = inputs(u, rest, (d, name) => {
    let n = 0, ln = 0;
    for (const line of splitLines(text(d))) {
      ln++;
      if (re.test(line) === g.opts.has('v')) continue;
      matched = true;
      n++;
      if (g.opts.has('q') || g.opts.has('c') || g.opts.has('l')) continue;
      u.out(`${many ? name + ':' : ''}${g.opts.has('n') ? ln + ':' : ''}${line}\n`);
    }
    if (g.opts.has('c')) u.out(`${many ? name + ':' : ''}${n}\n`);
    if (g.opts.has('l') && n > 0) u.out(`${name}\n`);
  });
  if (st !== 0) return 2;
  return matched ? 0 : 1;
}

export function sort(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'rnuk:t:', 'sort [-rnu] [-t sep] [-k field] [file ...]');
  if (g === null) return 2;
  const all: string[] = [];
  const st = inputs(u, g.rest, (d) => { all.push(...splitLines(text(d))); });
  const k = g.opts.has('k') ? Number(String(g.opts.get('k')).split(',')[0]) : 0;
  const sep = g.opts.get('t') as string | undefined;
  const key = (l: string): string => {
    if (k === 0) return l;
    const f = sep !== undefined ? l.split(sep) : l.trim().split(/\s+/);
    return f.slice(k - 1).join(sep ?? ' ');
  };
  const num = g.opts.has('n');
  const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  all.sort((a, b) => {
    const ka = key(a), kb = key(b);
    const c = num ? (parseFloat(ka) || 0) - (parseFloat(kb) || 0) || cmpStr(a, b) : cmpStr(ka, kb) || cmpStr(a, b);
    return g.opts.has('r') ? -c : c;
  });
  let prev: string | null = null;
  for (const l of all) {
    if (g.opts.has('u') && prev !== null && key(prev) === key(l)) continue;
    u.out(l + '\n');
    prev = l;
  }
  return st === 0 ? 0 : 2;
}

export function uniq(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'cdu', 'uniq [-c | -d | -u] [input]');
  if (g === null) return 2;
  return inputs(u, g.rest.slice(0, 1), (d) => {
    const lines = splitLines(text(d));
    for (let i = 0; i < lines.length;) {
      let j = i + 1;
      while (j < lines.length && lines[j] === lines[i]) j++;
      const n = j - i;
      if ((!g.opts.has('d') || n > 1) && (!g.opts.has('u') || n === 1)) u.out(`${g.opts.has('c') ? `${String(n).padStart(7)} ` : ''}${lines[i]}\n`);
      i = j;
    }
  });
}

function trSet(s: string): string {
  let out = '';
  const esc = s.replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/\\\\/g, '\\');
  const cls: Record<string, string> = {
    '[:lower:]': 'abcdefghijklmnopqrstuvwxyz', '[:upper:]': 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '[:digit:]': '0123456789', '[:space:]': ' \t\n\r\v\f',
  };
  for (let i = 0; i < esc.length; i++) {
    const c = Object.keys(cls).find((k) => esc.startsWith(k, i));
    if (c) { out += cls[c]; i += c.length - 1; continue; }
    if (esc[i + 1] === '-' && i + 2 < esc.length) {
      for (let x = esc.charCodeAt(i); x <= esc.charCodeAt(i + 2); x++) out += String.fromCharCode(x);
      i += 2;
    } else out += esc[i];
  }
  return out;
}

export function tr(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'ds', 'tr [-d | -s] set1 [set2]');
  if (g === null || g.rest.length === 0) return 2;
  const a = trSet(g.rest[0]!), b = trSet(g.rest[1] ?? '');
  const s = text(u.readAll(0));
  let out = '';
  let last = '';
  for (const c of s) {
    const i = a.indexOf(c);
    let r = c;
    if (i >= 0) {
      if (g.opts.has('d')) continue;
      if (b.length > 0) r = b[Math.min(i, b.length - 1)]!;
    }
    if (g.opts.has('s') && r === last && (b.length > 0 ? b : a).includes(r)) continue;
    out += r;
    last = r;
  }
  u.out(out);
  return 0;
}

export function cut(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'd:f:c:', 'cut -f list [-d delim] | -c list [file ...]');
  if (g === null) return 2;
  const list = String(g.opts.get('f') ?? g.opts.get('c') ?? '');
  const want = (n: number) => list.split(',').some((r) => {
    const [lo, hi] = r.includes('-') ? r.split('-').map((x, i) => (x === '' ? (i === 0 ? 1 : Infinity) : Number(x))) : [Number(r), Number(r)];
    return n >= lo! && n <= hi!;
  });
  const d = String(g.opts.get('d') ?? '\t');
  return inputs(u, g.rest, (data) => {
    for (const l of splitLines(text(data))) {
      if (g.opts.has('c')) u.out([...l].filter((_, i) => want(i + 1)).join('') + '\n');
      else if (!l.includes(d)) u.out(l + '\n');
      else u.out(l.split(d).filter((_, i) => want(i + 1)).join(d) + '\n');
    }
  });
}

export function tee(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'a', 'tee [-a] [file ...]');
  if (g === null) return 2;
  const fds: number[] = [];
  let st = 0;
  for (const f of g.rest) {
    try {
      fds.push(u.sys.open!(f, 0o1 | 0o100 | (g.opts.has('a') ? 0o2000 : 0o1000), 0o666) as number);
    } catch (e) { u.warn(f, e); st = 1; }
  }
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = u.read(0, buf);
    if (n === 0) break;
    u.writeAll(1, buf.subarray(0, n));
    for (const fd of fds) u.writeAll(fd, buf.subarray(0, n));
  }
  return st;
}

/** printf format [arg...]: %s %d %i %x %o %c %% with width/precision/flags, \n \t \\ escapes; the format repeats for extra args. */
export function printf(u: Libc): number {
  const [fmt, ...args] = u.argv.slice(1);
  if (fmt === undefined) { u.err('usage: printf format [argument ...]\n'); return 2; }
  if (fmt === '--help') { u.out('usage: printf format [argument ...]\n'); return 0; }
  let ai = 0, st = 0;
  const esc = (s: string) => s.replace(/\\(n|t|r|\\|a|b|f|v|0[0-7]{0,3}|[0-7]{1,3})/g, (_m, c: string) =>
    c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c === '\\' ? '\\' : c === 'a' ? '\x07' : c === 'b' ? '\b' : c === 'f' ? '\f' : c === 'v' ? '\v' : String.fromCharCode(parseInt(c, 8)));
  do {
    const used = ai;
    const out = fmt.replace(/%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdixXoc%b])/g, (_m, flags: string, width: string, prec: string | undefined, conv: string) => {
      if (conv === '%') return '%';
      const a = args[ai++] ?? '';
      let s: string;
      if (conv === 's') s = prec !== undefined ? a.slice(0, Number(prec)) : a;
      else if (conv === 'b') s = esc(a);
      else if (conv === 'c') s = a.slice(0, 1);
      else {
        let n = a === '' ? 0 : Number(a.startsWith("'") || a.startsWith('"') ? a.charCodeAt(1) : a);
        if (!Number.isFinite(n)) { u.err(`printf: ${a}: expected numeric value\n`); st = 1; n = 0; }
        n = Math.trunc(n);
        s = conv === 'x' ? n.toString(16) : conv === 'X' ? n.toString(16).toUpperCase() : conv === 'o' ? n.toString(8) : String(Math.abs(n));
        if (conv === 'd' || conv === 'i') s = (n < 0 ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '') + s;
      }
      const w = Number(width || 0);
      if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : flags.includes('0') && conv !== 's' ? s.padStart(w, '0') : s.padStart(w);
      return s;
    });
    u.out(esc(out));
    if (ai === used) break;
  } while (ai < args.length);
  return st;
}
