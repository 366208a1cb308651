/**
 * test(1) / [ expressions (POSIX.1-2017 XCU test): file tests, string and
 * integer comparisons, !, -a, -o and parentheses. Shared by /bin/test and
 * the shell's built-in test. Returns 0 (true), 1 (false) or 2 (error, with
 * a message through `warn`).
 */
import { S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK } from './abi.ts';
import type { Sys } from './libc.ts';

export function testExpr(sys: Sys, args: string[], warn: (msg: string) => void): number {
  let i = 0;
  const statOf = (p: string, l = false): { mode: number; size: number } | null => {
    try {
      return sys[l ? 'lstat' : 'stat']!(p) as { mode: number; size: number };
    } catch {
      return null;
    }
  };
  const access = (p: string, m: number): boolean => {
    try {
      sys.access!(p, m);
      return true;
    } catch {
      return false;
    }
  };
  const int = (s: string): number => {
    if (!/^\s*[-+]?\d+\s*$/.test(s)) throw new Error(`${s}: integer expression expected`);
    return Number(s);
  };
  const unary: Record<string, (a: string) => boolean> = {
    '-e': (a) => statOf(a) !== null,
    '-f': (a) => ((statOf(a)?.mode ?? 0) & S_IFMT) === S_IFREG,
    '-d': (a) => ((statOf(a)?.mode ?? 0) & S_IFMT) === S_IFDIR,
    '-h': (a) => ((statOf(a, true)?.mode ?? 0) & S_IFMT) === S_IFLNK,
    '-L': (a) => ((statOf(a, true)?.mode ?? 0) & S_IFMT) === S_IFLNK,
    '-p': (a) => ((statOf(a)?.mode ?? 0) & S_IFMT) === S_IFIFO,
    '-c': (a) => ((statOf(a)?.mode ?? 0) & S_IFMT) === S_IFCHR,
    '-b': (a) => ((statOf(a)?.mode ?? 0) & S_IFMT) === S_IFBLK,
    '-S': (a) => ((statOf(a)?.mode ?? 0) & S_IFMT) === S_IFSOCK,
    '-s': (a) => (statOf(a)?.size ?? 0) > 0,
    '-r': (a) => access(a, 4),
    '-w': (a) => access(a, 2),
    '-x': (a) => access(a, 1),
    '-n': (a) => a.length > 0,
    '-z': (a) => a.length === 0,
    '-t': (a) => { try { sys.ioctl!(int(a), 0x5401); return true; } catch { return false; } },
  };
  const binary: Record<string, (a: string, b: string) => boolean> = {
    '=': (a, b) => a === b, '==': (a, b) => a === b, '!=': (a, b) => a !== b,
    '<': (a, b) => a < b, '>': (a, b) => a > b,
    '-eq': (a, b) => int(a) === int(b), '-ne': (a, b) => int(a) !== int(b), '-lt': (a, b) => int(a) < int(b),
    '-le': (a, b) => int(a) <= int(b), '-gt': (a, b) => int(a) > int(b), '-ge': (a, b) => int(a) >= int(b),
  };
  const primary = (): boolean => {
    const a = args[i];
    if (a === undefined) throw new Error('argument expected');
    if (a === '!') { i++; return !primary(); }
    if (a === '(' && args.length - i >= 3) {
      i++;
      const v = or();
      if (args[i++] !== ')') throw new Error("')' expected");
      return v;
    }
    if (i + 2 < args.length + 1 && args[i + 1] !== undefined && binary[args[i + 1]!] && args[i + 2] !== undefined) {
      const r = binary[args[i + 1]!]!(a, args[i + 2]!);
      i += 3;
      return r;
    }
    if (unary[a] && args[i + 1] !== undefined) {
      i += 2;
      return unary[a]!(args[i - 1]!);
    }
    i++;
    return a.length > 0;
  };
  const and = (): boolean => {
    let v = primary();
    while (args[i] === '-a') { i++; const r = primary(); v = v && r; }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (args[i] === '-o') { i++; const r = and(); v = v || r; }
    return v;
  };
  try {
    if (args.length === 0) return 1;
    const v = or();
    if (i < args.length) throw new Error(`${args[i]}: unexpected operator`);
    return v ? 0 : 1;
  } catch (e) {
    warn(e instanceof Error ? e.message : String(e));
    return 2;
  }
}
