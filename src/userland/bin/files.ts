/**
 * File utilities: ls, mkdir, rmdir, rm, mv, cp, ln, touch, chmod, chown,
 * stat, find — each over the VFS system calls, POSIX options as in its
 * usage line; 0 on success, 1 (or 2 for usage) on failure.
 */
import { IO_CHUNK, type Libc, getopt } from '../libc.ts';
import { O_CREAT, O_DIRECTORY, O_RDONLY, O_TRUNC, O_WRONLY, S_IFDIR, S_IFLNK, S_IFMT } from '../abi.ts';

interface St { mode: number; size: number; nlink: number; uid: number; gid: number; ino: number; mtime: { sec: number } }

function readdir(u: Libc, path: string): string[] {
  const fd = u.sys.open!(path, O_RDONLY | O_DIRECTORY) as number;
  const names: string[] = [];
  try {
    for (let i = 0; i < 100000; i++) {
      const ents = u.sys.getdents64!(fd, 65536) as { name: string }[];
      if (ents.length === 0) break;
      for (const e of ents) names.push(e.name);
    }
  } finally {
    u.sys.close!(fd);
  }
  return names;
}

const isDir = (m: number) => (m & S_IFMT) === S_IFDIR;

function modeString(m: number): string {
  const t = { [S_IFDIR]: 'd', [S_IFLNK]: 'l', 0o020000: 'c', 0o060000: 'b', 0o010000: 'p', 0o140000: 's' }[m & S_IFMT] ?? '-';
  let s = t;
  for (const sh of [6, 3, 0]) {
    const b = (m >> sh) & 7;
    s += (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + (b & 1 ? 'x' : '-');
  }
  return s;
}

/** Run fn per operand, reporting failures as "prog: operand: error". */
function each(u: Libc, ops: string[], fn: (p: string) => void): number {
  let st = 0;
  for (const p of ops) {
    try {
      fn(p);
    } catch (e) {
      u.warn(p, e);
      st = 1;
    }
  }
  return st;
}

export function ls(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'laR1di', 'ls [-ladi1] [file ...]');
  if (g === null) return 2;
  const all = g.opts.has('a'), long = g.opts.has('l');
  const line = (name: string, st: St) =>
    long ? `${modeString(st.mode)} ${String(st.nlink).padStart(2)} ${st.uid} ${st.gid} ${String(st.size).padStart(6)} ${name}\n`
      : `${g.opts.has('i') ? `${st.ino} ` : ''}${name}\n`;
  const ops = g.rest.length === 0 ? ['.'] : g.rest;
  let st = 0;
  const files: string[] = [], dirs: string[] = [];
  for (const p of ops) {
    try {
      const s = u.sys.stat!(p) as St;
      (isDir(s.mode) && !g.opts.has('d') ? dirs : files).push(p);
    } catch (e) {
      u.err(`ls: cannot access '${p}': ${(e as { code?: string }).code === 'ENOENT' ? 'No such file or directory' : String(e)}\n`);
      st = 2;
    }
  }
  for (const f of files.sort()) u.out(line(f, u.sys.lstat!(f) as St));
  for (const d of dirs.sort()) {
    if (ops.length > 1) u.out(`${files.length > 0 || d !== dirs[0] ? '\n' : ''}${d}:\n`);
    try {
      let names = readdir(u, d).sort();
      if (!all) names = names.filter((n) => !n.startsWith('.'));
      for (const n of names) u.out(line(n, u.sys.lstat!(`${d}/${n}`) as St));
    } catch (e) {
      u.warn(d, e);
      st = 2;
    }
  }
  return st;
}

export function mkdir(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'pm:', 'mkdir [-p] [-m mode] dir ...');
  if (g === null) return 2;
  const mode = g.opts.has('m') ? parseInt(String(g.opts.get('m')), 8) : 0o777;
  return each(u, g.rest, (p) => {
    if (!g.opts.has('p')) return void u.sys.mkdir!(p, mode);
    let cur = p.startsWith('/') ? '' : '.';
    for (const part of p.split('/').filter(Boolean)) {
      cur += '/' + part;
      try { u.sys.mkdir!(cur, mode); } catch (e) { if ((e as { code?: string }).code !== 'EEXIST') throw e; }
    }
  });
}

export function rmdir(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), '', 'rmdir dir ...');
  if (g === null) return 2;
  return each(u, g.rest, (p) => u.sys.rmdir!(p));
}

function removeTree(u: Libc, p: string): void {
  const s = u.sys.lstat!(p) as St;
  if (isDir(s.mode)) {
    for (const n of readdir(u, p)) if (n !== '.' && n !== '..') removeTree(u, `${p}/${n}`);
    u.sys.rmdir!(p);
  } else u.sys.unlink!(p);
}

export function rm(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'rRf', 'rm [-rf] file ...');
  if (g === null) return 2;
  const force = g.opts.has('f'), rec = g.opts.has('r') || g.opts.has('R');
  let st = 0;
  for (const p of g.rest) {
    try {
      if (rec) removeTree(u, p);
      else u.sys.unlink!(p);
    } catch (e) {
      if (force && (e as { code?: string }).code === 'ENOENT') continue;
      u.err(`rm: cannot remove '${p}': ${(e as { code?: string }).code === 'EISDIR' ? 'Is a directory' : (e as Error).message}\n`);
      st = 1;
    }
  }
  return st;
}

function copyFile(u: Libc, from: string, to: string): void {
  const st = u.sys.stat!(from) as St;
  const src = u.sys.open!(from, O_RDONLY) as number;
  try {
    const dst = u.sys.open!(to, O_WRONLY | O_CREAT | O_TRUNC, st.mode & 0o777) as number;
    try {
      const buf = new Uint8Array(IO_CHUNK);
      for (;;) {
        const n = u.read(src, buf);
        if (n === 0) break;
        u.writeAll(dst, buf.subarray(0, n));
      }
    } finally {
      u.sys.close!(dst);
    }
  } finally {
    u.sys.close!(src);
  }
}

/** Target path: into a directory when the last operand is one. */
function targetOf(u: Libc, src: string, dst: string): string {
  try {
    if (isDir((u.sys.stat!(dst) as St).mode)) return `${dst}/${src.replace(/\/+$/, '').split('/').pop()}`;
  } catch { /* a new name */ }
  return dst;
}

export function cp(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'rR', 'cp [-r] source ... target');
  if (g === null || g.rest.length < 2) { if (g) u.err('usage: cp [-r] source ... target\n'); return 2; }
  const dst = g.rest.pop()!;
  const copy = (s: string, d: string): void => {
    if (isDir((u.sys.stat!(s) as St).mode)) {
      if (!g.opts.has('r') && !g.opts.has('R')) throw Object.assign(new Error(`-r not specified; omitting directory`), {});
      try { u.sys.mkdir!(d, 0o755); } catch (e) { if ((e as { code?: string }).code !== 'EEXIST') throw e; }
      for (const n of readdir(u, s)) if (n !== '.' && n !== '..') copy(`${s}/${n}`, `${d}/${n}`);
    } else copyFile(u, s, d);
  };
  return each(u, g.rest, (s) => copy(s, targetOf(u, s, dst)));
}

export function mv(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'f', 'mv source ... target');
  if (g === null || g.rest.length < 2) { if (g) u.err('usage: mv source ... target\n'); return 2; }
  const dst = g.rest.pop()!;
  return each(u, g.rest, (s) => u.sys.rename!(s, targetOf(u, s, dst)));
}

export function ln(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'sf', 'ln [-sf] target name');
  if (g === null || g.rest.length !== 2) { if (g) u.err('usage: ln [-sf] target name\n'); return 2; }
  const [t, n] = g.rest as [string, string];
  const name = targetOf(u, t, n);
  return each(u, [name], () => {
    if (g.opts.has('f')) try { u.sys.unlink!(name); } catch { /* absent */ }
    if (g.opts.has('s')) u.sys.symlink!(t, name);
    else u.sys.link!(t, name);
  });
}

export function touch(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'c', 'touch [-c] file ...');
  if (g === null) return 2;
  return each(u, g.rest, (p) => {
    try {
      u.sys.utimensat!(-100, p, null, 0);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT' || g.opts.has('c')) throw e;
      u.sys.close!(u.sys.open!(p, O_WRONLY | O_CREAT, 0o666));
    }
  });
}

export function chmod(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), '', 'chmod octal-mode file ...');
  if (g === null || g.rest.length < 2) { if (g) u.err('usage: chmod octal-mode file ...\n'); return 2; }
  const mode = parseInt(g.rest[0]!, 8);
  if (!/^[0-7]+$/.test(g.rest[0]!)) { u.err(`chmod: invalid mode: '${g.rest[0]}' (octal modes only)\n`); return 1; }
  return each(u, g.rest.slice(1), (p) => u.sys.chmod!(p, mode));
}

export function chown(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), '', 'chown uid[:gid] file ...');
  if (g === null || g.rest.length < 2) { if (g) u.err('usage: chown uid[:gid] file ...\n'); return 2; }
  const [a, b] = g.rest[0]!.split(':');
  return each(u, g.rest.slice(1), (p) => u.sys.chown!(p, a === '' ? -1 : Number(a), b === undefined || b === '' ? -1 : Number(b)));
}

export function stat(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), '', 'stat file ...');
  if (g === null) return 2;
  return each(u, g.rest, (p) => {
    const s = u.sys.lstat!(p) as St & { dev: number; blocks: number };
    u.out(`  File: ${p}\n  Size: ${s.size}\tBlocks: ${s.blocks}\tInode: ${s.ino}\tLinks: ${s.nlink}\n` +
      `Access: (${(s.mode & 0o7777).toString(8).padStart(4, '0')}/${modeString(s.mode)})  Uid: ${s.uid}  Gid: ${s.gid}\nModify: ${s.mtime.sec}\n`);
  });
}

export function find(u: Libc): number {
  const args = u.argv.slice(1);
  if (args[0] === '--help') { u.out('usage: find [path ...] [-name pattern] [-type f|d]\n'); return 0; }
  const paths: string[] = [];
  while (args.length > 0 && !args[0]!.startsWith('-')) paths.push(args.shift()!);
  let name: RegExp | null = null, type: string | null = null;
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '-name') name = new RegExp('^' + args[i + 1]!.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
    else if (args[i] === '-type') type = args[i + 1]!;
    else { u.err(`find: unknown predicate '${args[i]}'\n`); return 2; }
  }
  let st = 0;
  const walk = (p: string, depth: number): void => {
    let s: St;
    try { s = u.sys.lstat!(p) as St; } catch (e) { u.warn(p, e); st = 1; return; }
    const base = p.split('/').filter(Boolean).pop() ?? p;
    const t = isDir(s.mode) ? 'd' : (s.mode & S_IFMT) === S_IFLNK ? 'l' : 'f';
    if ((name === null || name.test(base)) && (type === null || type === t)) u.out(p + '\n');
    if (t === 'd' && depth < 64) {
      let names: string[];
      try { names = readdir(u, p); } catch (e) { u.warn(p, e); st = 1; return; }
      for (const n of names.sort()) if (n !== '.' && n !== '..') walk(p === '/' ? `/${n}` : `${p}/${n}`, depth + 1);
    }
  };
  for (const p of paths.length ? paths : ['.']) walk(p, 0);
  return st;
}
