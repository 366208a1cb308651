/**
 * `anykernel ctl --server URL TOOL ...`: rumpctrl-style tools that run as a
 * process of a served kernel, through connect() (src/frontends/sysproxy).
 *
 * Paths given to tools are kernel paths, except for cp, which copies between
 * the host and the kernel scp-style: a kernel path is written with a leading
 * ':' (`cp notes.txt :/tmp/notes.txt`, `cp :/etc/motd ./motd`).
 *
 * Every failure says what failed, on which path, and what to try.
 */
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import { UsageError } from './main.ts';
import { readToken } from './serve.ts';
import type { RemoteKernel } from '../frontends/sysproxy/client.ts';
import {
  KernelError, O_CREAT, O_DIRECTORY, O_RDONLY, O_TRUNC, O_WRONLY, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT,
  S_IFREG, S_IFSOCK, type Stat,
} from '../kern/index.ts';

export const CTL_USAGE = `usage: anykernel ctl --server ADDRESS [OPTIONS] TOOL [ARGS...]

Run a tool as a process of the kernel served at ADDRESS (unix:PATH or tcp:HOST:PORT).

options (before TOOL):
  --server ADDRESS     the server (or $ANYKERNEL_SERVER)
  --token-file FILE    token for servers that require one (always over tcp:)
  --uid N --gid N      run the tool with these credentials (lowering from root is allowed)
  -h, --help           this text

tools:
  ls [-l] [-a] [PATH...]          list directories
  cat PATH...                     print files
  cp SRC DST                      copy; kernel paths start with ':' (cp a.txt :/a.txt, cp :/a.txt .)
  mkdir [-p] [-m MODE] PATH...    make directories
  rm [-r] [-f] PATH...            remove files (and directories with -r)
  stat PATH...                    show inode information
  ps                              list processes
  dmesg                           print the kernel message buffer
  sysctl [-a | NAME [VALUE]]      list, read or set kernel variables
  ifconfig [-a | IF [ADDR[/P]] [mtu N] [up|down]]   show or configure interfaces
  route [-n | add|del default gw G | add|del -net A/P [gw G] [dev IF]]   routing table
  netstat [-a] [-t] [-u] [-x]     sockets
  ping [-c N] [-i SEC] [-W SEC] HOST   ICMP echo from the kernel
  halt                            stop the server's kernel (root only)
`;

type AnySys = Record<string, (...a: unknown[]) => Promise<unknown>>;

interface Ctx {
  k: RemoteKernel;
  sys: AnySys;
  out: (s: string) => void;
  /** Bytes to stdout (cat). */
  outBytes: (b: Uint8Array) => void;
}

const CHUNK = 1 << 20;

/** Turn a KernelError into "cannot VERB 'PATH': CODE: text (hint)". */
function explain(verb: string, path: string, e: unknown): Error {
  if (!(e instanceof KernelError)) return e instanceof Error ? e : new Error(String(e));
  const hints: Record<string, string> = {
    EACCES: 'permission denied for this uid; run ctl with --uid of the owner, or as root',
    EPERM: 'not permitted: the operation needs root (run ctl without --uid), or the object does not allow it',
    ENOENT: "check the path; 'anykernel ctl ls' lists directories",
    ENOTDIR: 'a component of the path is not a directory',
    EISDIR: 'it is a directory (rm needs -r; cat and cp need a file)',
    ENOTEMPTY: 'the directory is not empty; use rm -r',
    EEXIST: 'it already exists (mkdir -p accepts that)',
    ENOSYS: 'the server kernel was booted without this component',
    ECONNRESET: 'the connection to the server was lost; is it still running?',
  };
  const hint = hints[e.code];
  return new Error(`cannot ${verb} '${path}': ${e.message.replace(/, \w+( '.*')?$/, '')}${hint ? ` (${hint})` : ''}`);
}

async function attempt<T>(verb: string, path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw explain(verb, path, e);
  }
}

// ---- formatting -----------------------------------------------------------------------

function modeString(mode: number): string {
  const t = mode & S_IFMT;
  const type = t === S_IFDIR ? 'd' : t === S_IFLNK ? 'l' : t === S_IFCHR ? 'c' : t === S_IFBLK ? 'b' : t === S_IFIFO ? 'p' : t === S_IFSOCK ? 's' : '-';
  const rwx = (b: number, s: boolean, sc: string): string =>
    `${b & 4 ? 'r' : '-'}${b & 2 ? 'w' : '-'}${s ? (b & 1 ? sc : sc.toUpperCase()) : b & 1 ? 'x' : '-'}`;
  return type + rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') + rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') + rwx(mode & 7, (mode & 0o1000) !== 0, 't');
}

function typeName(mode: number): string {
  switch (mode & S_IFMT) {
    case S_IFDIR: return 'directory';
    case S_IFREG: return 'regular file';
    case S_IFLNK: return 'symbolic link';
    case S_IFCHR: return 'character special file';
    case S_IFBLK: return 'block special file';
    case S_IFIFO: return 'fifo';
    case S_IFSOCK: return 'socket';
    default: return 'unknown';
  }
}

function isoTime(t: { sec: number; nsec: number }): string {
  return `${new Date(t.sec * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')}.${String(t.nsec).padStart(9, '0')} +0000`;
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

// ---- directory reading ------------------------------------------------------------------

async function readDir(c: Ctx, path: string): Promise<string[]> {
  const fd = (await attempt('open directory', path, () => c.sys.open!(path, O_RDONLY | O_DIRECTORY))) as number;
  const names: string[] = [];
  try {
    for (;;) {
      const ents = (await attempt('read directory', path, () => c.sys.getdents64!(fd, 65536))) as { name: string }[];
      if (!Array.isArray(ents) || ents.length === 0) break;
      for (const e of ents) names.push(e.name);
    }
  } finally {
    await c.sys.close!(fd).catch(() => undefined);
  }
  return names.sort();
}

// ---- tools ------------------------------------------------------------------------------

async function ls(c: Ctx, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { long: { type: 'boolean', short: 'l' }, all: { type: 'boolean', short: 'a' } }, allowPositionals: true });
  const paths = positionals.length > 0 ? positionals : ['/'];
  for (const [i, p] of paths.entries()) {
    const st = (await attempt('access', p, () => c.sys.lstat!(p))) as Stat;
    let entries: [string, string][];
    if ((st.mode & S_IFMT) === S_IFDIR) {
      if (paths.length > 1) c.out(`${i > 0 ? '\n' : ''}${p}:`);
      entries = (await readDir(c, p)).filter((n) => values.all || !n.startsWith('.')).map((n) => [n, joinPath(p, n)]);
    } else entries = [[p, p]];
    for (const [name, full] of entries) {
      if (!values.long) {
        c.out(name);
        continue;
      }
      const s = (await attempt('stat', full, () => c.sys.lstat!(full))) as Stat;
      let line = `${modeString(s.mode)} ${String(s.nlink).padStart(3)} ${String(s.uid).padStart(5)} ${String(s.gid).padStart(5)} ${String(s.size).padStart(10)} ${new Date(s.mtime.sec * 1000).toISOString().slice(0, 16).replace('T', ' ')} ${name}`;
      if ((s.mode & S_IFMT) === S_IFLNK) line += ` -> ${String(await c.sys.readlink!(full).catch(() => '?'))}`;
      c.out(line);
    }
  }
}

async function cat(c: Ctx, args: string[]): Promise<void> {
  if (args.length === 0) throw new UsageError('cat: which file? (cat PATH...)');
  for (const p of args) {
    const fd = (await attempt('open', p, () => c.sys.open!(p, O_RDONLY))) as number;
    try {
      const buf = new Uint8Array(CHUNK);
      for (;;) {
        const n = (await attempt('read', p, () => c.sys.read!(fd, buf))) as number;
        if (n === 0) break;
        c.outBytes(buf.slice(0, n));
      }
    } finally {
      await c.sys.close!(fd).catch(() => undefined);
    }
  }
}

async function cp(c: Ctx, args: string[]): Promise<void> {
  if (args.length !== 2) throw new UsageError("cp: expected SRC DST, with ':' before kernel paths (cp a.txt :/a.txt)");
  const [src, dst] = args as [string, string];
  const srcK = src.startsWith(':'), dstK = dst.startsWith(':');
  if (!srcK && !dstK) throw new UsageError("cp: one side must be a kernel path, written with a leading ':' (cp a.txt :/a.txt)");
  const kpath = (p: string): string => p.slice(1) || '/';
  // Where the bytes come from.
  let readChunk: (buf: Uint8Array) => Promise<number>;
  let closeSrc: () => Promise<void>;
  let mode = 0o644;
  let srcName: string;
  if (srcK) {
    const p = kpath(src);
    srcName = p.replace(/\/+$/, '').replace(/^.*\//, '');
    const st = (await attempt('stat', p, () => c.sys.stat!(p))) as Stat;
    if ((st.mode & S_IFMT) === S_IFDIR) throw new Error(`cannot copy '${p}': it is a directory (cp copies files)`);
    mode = st.mode & 0o777;
    const fd = (await attempt('open', p, () => c.sys.open!(p, O_RDONLY))) as number;
    readChunk = async (buf) => (await attempt('read', p, () => c.sys.read!(fd, buf))) as number;
    closeSrc = async () => { await c.sys.close!(fd).catch(() => undefined); };
  } else {
    srcName = src.replace(/\/+$/, '').replace(/^.*\//, '');
    let fd: number;
    try {
      if (fs.statSync(src).isDirectory()) throw new Error(`cannot copy '${src}': it is a directory (cp copies files)`);
      fd = fs.openSync(src, 'r');
      mode = fs.fstatSync(fd).mode & 0o777;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === undefined) throw e;
      throw new Error(`cannot open host file '${src}': ${(e as NodeJS.ErrnoException).code}`);
    }
    readChunk = async (buf) => fs.readSync(fd, buf, 0, buf.byteLength, null);
    closeSrc = async () => fs.closeSync(fd);
  }
  try {
    const buf = new Uint8Array(CHUNK);
    if (dstK) {
      let p = kpath(dst);
      const st = (await c.sys.stat!(p).catch(() => null)) as Stat | null;
      if (st !== null && (st.mode & S_IFMT) === S_IFDIR) p = joinPath(p, srcName);
      const fd = (await attempt('create', p, () => c.sys.open!(p, O_WRONLY | O_CREAT | O_TRUNC, mode))) as number;
      try {
        for (;;) {
          const n = await readChunk(buf);
          if (n === 0) break;
          let off = 0;
          while (off < n) off += (await attempt('write', p, () => c.sys.write!(fd, buf.subarray(off, n)))) as number;
        }
      } finally {
        await c.sys.close!(fd).catch(() => undefined);
      }
    } else {
      let p = dst;
      if (fs.existsSync(p) && fs.statSync(p).isDirectory()) p = joinPath(p, srcName);
      const fd = fs.openSync(p, 'w', mode);
      try {
        for (;;) {
          const n = await readChunk(buf);
          if (n === 0) break;
          fs.writeSync(fd, buf, 0, n);
        }
      } finally {
        fs.closeSync(fd);
      }
    }
  } finally {
    await closeSrc();
  }
}

async function mkdir(c: Ctx, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { parents: { type: 'boolean', short: 'p' }, mode: { type: 'string', short: 'm' } }, allowPositionals: true });
  if (positionals.length === 0) throw new UsageError('mkdir: which directory? (mkdir [-p] [-m MODE] PATH...)');
  if (values.mode !== undefined && !/^[0-7]{1,4}$/.test(values.mode)) throw new UsageError(`mkdir: -m '${values.mode}' is not an octal mode`);
  const mode = values.mode !== undefined ? parseInt(values.mode, 8) : 0o777;
  for (const p of positionals) {
    if (!values.parents) {
      await attempt('create directory', p, () => c.sys.mkdir!(p, mode));
      continue;
    }
    const parts = p.split('/').filter(Boolean);
    let cur = p.startsWith('/') ? '' : '.';
    for (const part of parts) {
      cur = `${cur}/${part}`;
      await c.sys.mkdir!(cur, mode).catch((e: unknown) => {
        if (e instanceof KernelError && e.code === 'EEXIST') return;
        throw explain('create directory', cur, e);
      });
    }
  }
}

async function removeTree(c: Ctx, p: string): Promise<void> {
  const st = (await attempt('stat', p, () => c.sys.lstat!(p))) as Stat;
  if ((st.mode & S_IFMT) !== S_IFDIR) {
    await attempt('remove', p, () => c.sys.unlink!(p));
    return;
  }
  for (const name of await readDir(c, p)) if (name !== '.' && name !== '..') await removeTree(c, joinPath(p, name));
  await attempt('remove directory', p, () => c.sys.rmdir!(p));
}

async function rm(c: Ctx, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { recursive: { type: 'boolean', short: 'r' }, force: { type: 'boolean', short: 'f' } }, allowPositionals: true });
  if (positionals.length === 0) throw new UsageError('rm: which file? (rm [-r] [-f] PATH...)');
  for (const p of positionals) {
    try {
      if (values.recursive) await removeTree(c, p);
      else await attempt('remove', p, () => c.sys.unlink!(p));
    } catch (e) {
      if (values.force && /ENOENT/.test(String(e))) continue;
      throw e;
    }
  }
}

async function stat(c: Ctx, args: string[]): Promise<void> {
  if (args.length === 0) throw new UsageError('stat: which file? (stat PATH...)');
  for (const p of args) {
    const s = (await attempt('stat', p, () => c.sys.lstat!(p))) as Stat;
    c.out(`  File: ${p}`);
    c.out(`  Size: ${s.size}\tBlocks: ${s.blocks}\tIO Block: ${s.blksize}\t${typeName(s.mode)}`);
    c.out(`Device: ${s.dev}\tInode: ${s.ino}\tLinks: ${s.nlink}`);
    c.out(`Access: (${(s.mode & 0o7777).toString(8).padStart(4, '0')}/${modeString(s.mode)})  Uid: ${s.uid}  Gid: ${s.gid}`);
    c.out(`Access: ${isoTime(s.atime)}`);
    c.out(`Modify: ${isoTime(s.mtime)}`);
    c.out(`Change: ${isoTime(s.ctime)}`);
  }
}

async function ps(c: Ctx): Promise<void> {
  const procs = (await attempt('list processes', '', () => c.sys.ps!())) as { pid: number; ppid: number; uid: number; state: string; nfds: number; comm: string }[];
  c.out(`${'PID'.padStart(7)} ${'PPID'.padStart(7)} ${'UID'.padStart(6)} STATE  ${'FDS'.padStart(4)} COMMAND`);
  for (const p of procs) {
    const mark = p.pid === c.k.pid ? ' (this ctl)' : '';
    c.out(`${String(p.pid).padStart(7)} ${String(p.ppid).padStart(7)} ${String(p.uid).padStart(6)} ${p.state.padEnd(6)} ${String(p.nfds).padStart(4)} ${p.comm}${mark}`);
  }
}

async function sysctl(c: Ctx, args: string[]): Promise<void> {
  if (args.length === 0 || args[0] === '-a') {
    const names = (await c.sys.sysctl_list!('')) as string[];
    for (const n of names) c.out(`${n} = ${String(await c.sys.sysctl!(n).catch((e: KernelError) => `<${e.code}>`))}`);
    return;
  }
  const [name, value] = args as [string, string | undefined];
  if (value === undefined) {
    c.out(String(await attempt('read sysctl', name, () => c.sys.sysctl!(name))));
    return;
  }
  const old = await attempt('read sysctl', name, () => c.sys.sysctl!(name));
  const nv: string | number = typeof old === 'number' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  try {
    await c.sys.sysctl!(name, nv);
  } catch (e) {
    // The kernel answers EPERM both for a read-only variable and for a writable one set by a
    // non-root caller: as root, only the first can be why.
    if (e instanceof KernelError && e.code === 'EPERM' && (await c.sys.geteuid!()) === 0) {
      throw new Error(`cannot set sysctl '${name}': it is read-only (EPERM); 'anykernel ctl sysctl -a' lists the variables and their values`);
    }
    throw explain('set sysctl', name, e);
  }
  c.out(`${name}: ${String(old)} -> ${String(nv)}`);
}

const TOOLS: Record<string, (c: Ctx, args: string[]) => Promise<void>> = {
  ls, cat, cp, mkdir, rm, stat,
  ps: (c) => ps(c),
  dmesg: async (c) => c.out(String(await attempt('read the message buffer', '', () => c.sys.syslog!(3)))),
  sysctl,
  ifconfig: async (c, args) => printTool(c, await (await netTools()).ifconfig(c.sys, args)),
  route: async (c, args) => printTool(c, await (await netTools()).route(c.sys, args)),
  netstat: async (c, args) => printTool(c, await (await netTools()).netstat(c.sys, args)),
  ping: async (c, args) => {
    const { values, positionals } = parseArgs({ args, options: { count: { type: 'string', short: 'c' }, interval: { type: 'string', short: 'i' }, wait: { type: 'string', short: 'W' } }, allowPositionals: true });
    if (positionals.length !== 1) throw new UsageError('ping: which host? (ping [-c N] HOST)');
    const r = await (await netTools()).ping(c.sys, positionals[0]!, {
      count: values.count !== undefined ? Number(values.count) : 4,
      intervalMs: values.interval !== undefined ? Number(values.interval) * 1000 : 1000,
      timeoutMs: values.wait !== undefined ? Number(values.wait) * 1000 : 1000,
    }, c.out);
    if (r.received === 0) throw new Error(`ping: no answer from ${positionals[0]}`);
  },
  halt: async (c) => {
    await attempt('halt', 'kernel', () => c.k.halt());
    c.out('kernel halted');
  },
};

const netTools = () => import('../frontends/library/net_tools.ts');

function printTool(c: Ctx, text: string): void {
  if (text !== '') c.out(text.trimEnd());
}

/** Split global options (before TOOL) from the tool and its own arguments. */
function splitArgs(argv: string[]): { globals: string[]; tool: string | undefined; rest: string[] } {
  const takesValue = new Set(['--server', '--token-file', '--uid', '--gid']);
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const a = argv[i]!;
    i += takesValue.has(a) ? 2 : 1;
  }
  return { globals: argv.slice(0, i), tool: argv[i], rest: argv.slice(i + 1) };
}

export interface CtlIo {
  out?: (s: string) => void;
  outBytes?: (b: Uint8Array) => void;
}

export async function main(argv: string[], io: CtlIo = {}): Promise<number> {
  const { globals, tool, rest } = splitArgs(argv);
  const { values } = parseArgs({
    args: globals,
    options: {
      server: { type: 'string' },
      'token-file': { type: 'string' },
      uid: { type: 'string' },
      gid: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || tool === 'help' || rest.includes('--help')) {
    process.stdout.write(CTL_USAGE);
    return 0;
  }
  const server = values.server ?? process.env.ANYKERNEL_SERVER;
  if (server === undefined) throw new UsageError('--server ADDRESS is required (unix:PATH or tcp:HOST:PORT), or set ANYKERNEL_SERVER');
  if (tool === undefined) throw new UsageError(`which tool? one of: ${Object.keys(TOOLS).join(', ')}`);
  const run = TOOLS[tool];
  if (run === undefined) throw new UsageError(`unknown tool '${tool}'; tools: ${Object.keys(TOOLS).join(', ')}`);
  const id = (s: string | undefined, what: string): number | undefined => {
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s)) throw new UsageError(`${what}: '${s}' is not a number`);
    return Number(s);
  };
  const uid = id(values.uid, '--uid'), gid = id(values.gid, '--gid');
  const { connect } = await import('../frontends/sysproxy/client.ts');
  const k = await connect(server, {
    ...(values['token-file'] !== undefined ? { token: readToken(values['token-file']) } : {}),
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    comm: `ctl ${tool}`,
  });
  const c: Ctx = {
    k,
    sys: k.sys as unknown as AnySys,
    out: io.out ?? ((s) => process.stdout.write(`${s}\n`)),
    outBytes: io.outBytes ?? ((b) => process.stdout.write(b)),
  };
  try {
    await run(c, rest);
  } finally {
    if (tool !== 'halt') await k.close();
  }
  return 0;
}
