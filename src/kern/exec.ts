/**
 * Program execution: execve(2), posix_spawn(3) and image activators.
 *
 * An image activator (NetBSD's execsw, Linux's binfmt) recognises a kind of
 * executable by its first bytes and turns it into an `Image` the kernel can
 * start. Activators are registered by kind in `execsw(k)`:
 *
 *   script    "#!interpreter [arg]"  → re-executes the interpreter with the
 *             script's path (execve(2) "Interpreter scripts"; at most
 *             MAX_INTERP_DEPTH levels, then ELOOP)
 *   userland  "\x7fUSR name"         → a program of the TypeScript userland
 *             (the file names it, like a.out's magic number names a format)
 *   wasm      "\0asm"                → a WebAssembly (WASI preview1) module;
 *             the whole file is the image
 *
 * Starting an image is the frontend's business: whoever can run images (the
 * monolithic frontend's workers) provides an `ImageRunner` under
 * `k.provide('exec.runner', …)` and says which kinds it runs. Without one,
 * execve answers ENOEXEC after all the checks, as for a format nobody knows.
 *
 * execve as the kernel does it here:
 *   1. namei + permission through the system-call table as the caller
 *      (access X_OK, open O_RDONLY, fstat: a regular file, else EACCES);
 *   2. read the header (BINPRM_BUF_SIZE bytes) and find an activator
 *      (none: ENOEXEC), following #! to the interpreter;
 *   3. the point of no return: close-on-exec descriptors are closed, caught
 *      signals are reset to SIG_DFL (ignored ones stay ignored, the mask
 *      stays — execve(2)), comm/argv/exe are set;
 *   4. the runner starts the image in place of the old one.
 * A failure before step 3 leaves the caller as it was.
 *
 * posix_spawn (`spawn`, no Linux number: glibc builds it from clone+execve)
 * creates the child with a copy of the caller's descriptors, applies the
 * attributes (POSIX_SPAWN_SETSID, _SETPGROUP, glibc's _TCSETPGROUP,
 * _SETSIGMASK, _SETSIGDEF) and
 * then the file actions in order (open, close, dup2, chdir, fchdir), and
 * execs. Any failure ends the child (never seen by wait) and is the call's
 * error, as glibc reports an exec failure from posix_spawn.
 *
 * fork(2) cannot copy a user image that runs in a worker, so processes the
 * frontend runs are created with spawn; fork stays for library contexts
 * (sys_sig.ts).
 */
import { E2BIG, EACCES, EINVAL, ELOOP, ENOEXEC, ENOMEM, EPERM, ESRCH, KernelError, err } from './errno.ts';
import { O_CLOEXEC, O_RDONLY, S_IFMT, S_IFREG, TIOCSPGRP, X_OK } from './constants.ts';
import { defineSyscall, invokeSyscall } from './syscall.ts';
import type { Kernel } from './kernel.ts';
import type { Proc } from './proc.ts';
import type { Lwp } from './sched.ts';
import type { Stat } from './file.ts';
import { parseSigset } from './sys_sig.ts';
import { SIG_UNBLOCKABLE } from './sig.ts';
import { NSIG } from './constants.ts';

/** Bytes of the header an activator sees (Linux BINPRM_BUF_SIZE). */
export const BINPRM_BUF_SIZE = 256;
/** Nested #! interpreters allowed (Linux allows 4 levels of binfmt rewriting). */
export const MAX_INTERP_DEPTH = 4;
/** Largest image read whole (a WebAssembly module). */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
/** Bound on argv + envp (Linux ARG_MAX is 2 MiB with the default stack limit). */
export const ARG_MAX = 2 * 1024 * 1024;

/** What an activator made of an executable: everything a runner needs to start it. */
export interface Image {
  /** Which activator recognised it ('userland', 'wasm', …). */
  readonly kind: string;
  /** The path that was executed (after #! rewriting: the interpreter). */
  readonly path: string;
  readonly argv: string[];
  readonly envp: string[];
  /** Kind-specific: the userland program's name. */
  readonly program?: string;
  /** Kind-specific: the whole file (wasm). */
  readonly bytes?: Uint8Array;
}

/** Reads the rest of an image when an activator needs more than the header. */
export type ReadWhole = () => Promise<Uint8Array>;

export interface ImageActivator {
  readonly kind: string;
  /** Does this header belong to this kind? */
  match(hdr: Uint8Array): boolean;
  /**
   * Make the image, or for #! a request to execute another file instead
   * ({ reexec: path, argv }). Throws ENOEXEC for a malformed header.
   */
  activate(hdr: Uint8Array, path: string, argv: string[], envp: string[], readWhole: ReadWhole): Promise<Image | { reexec: string; argv: string[] }>;
}

/** Provided by a frontend that can run images (k.provide('exec.runner', …)). */
export interface ImageRunner {
  /** Kinds it can start. */
  readonly kinds: readonly string[];
  /**
   * Start `img` as process `p`, replacing whatever image ran there. Called
   * after the point of no return; must not fail (a runner that cannot start
   * the image ends the process with exit status 127 itself).
   */
  start(k: Kernel, p: Proc, img: Image): void;
}

const dec = new TextDecoder();
const enc = new TextEncoder();

/** The header bytes as text up to the first newline (or the whole header). */
function firstLine(hdr: Uint8Array): string | null {
  const nl = hdr.indexOf(10);
  if (nl < 0) return null;
  return dec.decode(hdr.subarray(0, nl));
}

/** "#!interp [arg]": execve(2) — the rest of the line after the interpreter is one optional argument. */
export const scriptActivator: ImageActivator = {
  kind: 'script',
  match: (h) => h[0] === 0x23 && h[1] === 0x21,
  async activate(hdr, path, argv) {
    const line = firstLine(hdr);
    if (line === null) throw err(ENOEXEC); // longer than BINPRM_BUF_SIZE (Linux truncates; we refuse)
    const rest = line.slice(2).replace(/^[ \t]+/, '').replace(/[ \t\r]+$/, '');
    if (rest === '') throw err(ENOEXEC);
    const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(rest)!;
    const interp = m[1]!;
    const opt = m[2];
    const nargv = [interp, ...(opt !== undefined && opt !== '' ? [opt] : []), path, ...argv.slice(1)];
    return { reexec: interp, argv: nargv };
  },
};

/** Magic of a TypeScript userland image: 0x7f 'U' 'S' 'R', a space, the program's name, a newline. */
export const USERLAND_MAGIC = new Uint8Array([0x7f, 0x55, 0x53, 0x52]);

export function userlandImage(program: string): Uint8Array {
  return enc.encode(`\x7fUSR ${program}\n`);
}

export const userlandActivator: ImageActivator = {
  kind: 'userland',
  match: (h) => h.length >= 4 && h[0] === 0x7f && h[1] === 0x55 && h[2] === 0x53 && h[3] === 0x52,
  async activate(hdr, path, argv, envp) {
    const line = firstLine(hdr);
    const name = line?.slice(5).trim() ?? '';
    if (line === null || line[4] !== ' ' || !/^[A-Za-z0-9_.[-]{1,64}$/.test(name)) throw err(ENOEXEC);
    return { kind: 'userland', path, argv, envp, program: name };
  },
};

/** WebAssembly binary magic and version 1 (WebAssembly core spec §5.5.16 "Modules"). */
export const wasmActivator: ImageActivator = {
  kind: 'wasm',
  match: (h) => h.length >= 8 && h[0] === 0 && h[1] === 0x61 && h[2] === 0x73 && h[3] === 0x6d && h[4] === 1 && h[5] === 0 && h[6] === 0 && h[7] === 0,
  async activate(_hdr, path, argv, envp, readWhole) {
    return { kind: 'wasm', path, argv, envp, bytes: await readWhole() };
  },
};

/** The activator switch of one kernel (execsw). */
export class ExecSwitch {
  readonly activators: ImageActivator[] = [scriptActivator, userlandActivator, wasmActivator];

  register(a: ImageActivator): void {
    if (this.activators.some((x) => x.kind === a.kind)) throw new Error(`image activator ${a.kind} registered twice`);
    this.activators.push(a);
  }
}

export function execsw(k: Kernel): ExecSwitch {
  let s = k.lookup<ExecSwitch>('execsw');
  if (s === undefined) {
    s = new ExecSwitch();
    k.provide('execsw', s);
  }
  return s;
}

/** A system call made by the kernel on behalf of process p (namei and permissions as p). */
function sysAs<T>(k: Kernel, p: Proc, name: string, args: unknown[]): Promise<T> {
  return invokeSyscall(k, p, name, args) as Promise<T>;
}

function checkStrings(v: unknown, what: string): string[] {
  if (!Array.isArray(v)) throw err(EINVAL);
  let total = 0;
  for (const s of v) {
    if (typeof s !== 'string' || s.includes('\0')) throw err(EINVAL);
    total += s.length + 1;
    if (total > ARG_MAX) throw new KernelError(E2BIG, what);
  }
  return v.slice() as string[];
}

/** Open, check and read the header of `path` as p: steps 1 and 2 of execve. */
async function loadImage(k: Kernel, p: Proc, path: string, argv: string[], envp: string[]): Promise<Image> {
  let depth = 0;
  for (;;) {
    await sysAs(k, p, 'access', [path, X_OK]);
    const fd = await sysAs<number>(k, p, 'open', [path, O_RDONLY | O_CLOEXEC]);
    let res: Image | { reexec: string; argv: string[] };
    try {
      const st = await sysAs<Stat>(k, p, 'fstat', [fd]);
      // execve(2) EACCES: "the file or a script interpreter is not a regular file"; any x bit must be set.
      if ((st.mode & S_IFMT) !== S_IFREG || (st.mode & 0o111) === 0) throw err(EACCES);
      const hdr = new Uint8Array(BINPRM_BUF_SIZE);
      const n = await sysAs<number>(k, p, 'pread', [fd, hdr, 0]);
      const h = hdr.subarray(0, n);
      const act = execsw(k).activators.find((a) => a.match(h));
      if (act === undefined) throw err(ENOEXEC);
      const readWhole = async (): Promise<Uint8Array> => {
        if (st.size > MAX_IMAGE_BYTES) throw err(ENOMEM);
        const buf = new Uint8Array(st.size);
        let off = 0;
        while (off < buf.byteLength) {
          const r = await sysAs<number>(k, p, 'pread', [fd, buf.subarray(off), off]);
          if (r === 0) break;
          off += r;
        }
        return buf.subarray(0, off);
      };
      res = await act.activate(h, path, argv, envp, readWhole);
    } finally {
      await sysAs(k, p, 'close', [fd]);
    }
    if ('kind' in res) return res;
    if (++depth > MAX_INTERP_DEPTH) throw err(ELOOP);
    path = res.reexec;
    argv = res.argv;
  }
}

function basename(path: string): string {
  const s = path.replace(/\/+$/, '');
  return s.slice(s.lastIndexOf('/') + 1) || '/';
}

/** Step 3 and 4: the point of no return, then the runner. */
async function commit(k: Kernel, td: Lwp | null, p: Proc, img: Image, runner: ImageRunner): Promise<void> {
  await p.fdt.closeOnExec(td);
  // execve(2): "dispositions of any signals that are being caught are reset to the default".
  const s = p.sig;
  for (let i = 1; i < NSIG; i++) {
    const a = s.actions[i]!;
    if (a.handler !== 0 && a.handler !== 1) s.actions[i] = { handler: 0, mask: 0n, flags: 0 };
  }
  s.frames.length = 0;
  s.upcalls.length = 0;
  p.comm = basename(img.argv[0] ?? img.path).slice(0, 15);
  p.argv = img.argv.slice();
  p.environ = img.envp.slice();
  let exe = img.path;
  if (!exe.startsWith('/')) {
    try {
      const cwd = await sysAs<string>(k, p, 'getcwd', []);
      exe = `${cwd === '/' ? '' : cwd}/${exe}`;
    } catch { /* keep it relative */ }
  }
  p.exe = exe;
  runner.start(k, p, img);
}

function runnerFor(k: Kernel, kind: string): ImageRunner {
  const r = k.lookup<ImageRunner>('exec.runner');
  if (r === undefined || !r.kinds.includes(kind)) throw err(ENOEXEC);
  return r;
}

/** execve as process p (the body of execve(2) and of spawn's last step). */
export async function kexecve(k: Kernel, td: Lwp | null, p: Proc, path: string, argvArg: unknown, envpArg: unknown): Promise<void> {
  const argv = checkStrings(argvArg, 'execve');
  const envp = checkStrings(envpArg ?? [], 'execve');
  const img = await loadImage(k, p, path, argv, envp);
  const runner = runnerFor(k, img.kind);
  if (p.state !== 'alive') throw err(ESRCH);
  await commit(k, td, p, img, runner);
}

/** One posix_spawn file action (posix_spawn_file_actions_add*). */
export type SpawnAction =
  | { op: 'open'; fd: number; path: string; flags: number; mode?: number }
  | { op: 'close'; fd: number }
  | { op: 'dup2'; fd: number; newfd: number }
  | { op: 'chdir'; path: string }
  | { op: 'fchdir'; fd: number };

/** posix_spawnattr_t: what the flags would select, as optional fields. */
export interface SpawnAttrs {
  /** POSIX_SPAWN_SETSID. */
  setsid?: boolean;
  /** POSIX_SPAWN_SETPGROUP: 0 makes the child a group leader. */
  pgroup?: number;
  /**
   * glibc's POSIX_SPAWN_TCSETPGROUP: make the child's new process group the
   * foreground group of the terminal on this descriptor before it runs, so
   * a ^C typed at once reaches it (a shell's foreground job).
   */
  tcsetpgrp?: number;
  /** POSIX_SPAWN_SETSIGMASK. */
  sigmask?: unknown;
  /** POSIX_SPAWN_SETSIGDEF: signals reset to SIG_DFL. */
  sigdefault?: unknown;
  /** posix_spawn_file_actions_t: applied in order, as the child (credentials stay the caller's). */
  actions?: SpawnAction[];
}

async function applyAction(k: Kernel, c: Proc, a: unknown): Promise<void> {
  if (typeof a !== 'object' || a === null) throw err(EINVAL);
  const x = a as Record<string, unknown>;
  const int = (v: unknown): number => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw err(EINVAL);
    return v;
  };
  switch (x.op) {
    case 'open': {
      const fd = int(x.fd);
      const nfd = await sysAs<number>(k, c, 'open', [x.path, int(x.flags), x.mode === undefined ? 0o666 : int(x.mode)]);
      if (nfd !== fd) {
        await sysAs(k, c, 'dup2', [nfd, fd]);
        await sysAs(k, c, 'close', [nfd]);
      }
      return;
    }
    case 'close':
      await sysAs(k, c, 'close', [int(x.fd)]);
      return;
    case 'dup2': {
      const fd = int(x.fd), nfd = int(x.newfd);
      // POSIX posix_spawn_file_actions_adddup2: equal descriptors clear FD_CLOEXEC.
      if (fd === nfd) c.fdt.setCloexec(fd, false);
      else await sysAs(k, c, 'dup2', [fd, nfd]);
      return;
    }
    case 'chdir':
      await sysAs(k, c, 'chdir', [x.path]);
      return;
    case 'fchdir':
      await sysAs(k, c, 'fchdir', [int(x.fd)]);
      return;
    default:
      throw err(EINVAL);
  }
}

async function applyAttrs(k: Kernel, c: Proc, attrs: SpawnAttrs): Promise<void> {
  if (attrs.setsid) {
    c.sid = c.pid;
    c.pgid = c.pid;
  }
  if (attrs.pgroup !== undefined) {
    const g = attrs.pgroup;
    if (typeof g !== 'number' || !Number.isInteger(g) || g < 0) throw err(EINVAL);
    if (g !== 0 && g !== c.pid) {
      // setpgid(2) EPERM: the group must exist in the caller's session.
      let found = false;
      for (const q of k.procs.values()) if (q.pgid === g && q.sid === c.sid && q.state === 'alive') found = true;
      if (!found) throw err(EPERM);
    }
    c.pgid = g === 0 ? c.pid : g;
  }
  if (attrs.tcsetpgrp !== undefined) {
    // As the child, with the parent's signal dispositions still in place (a shell ignores SIGTTOU).
    await sysAs(k, c, 'ioctl', [attrs.tcsetpgrp, TIOCSPGRP, c.pgid]);
  }
  if (attrs.sigmask !== undefined) c.sig.mask = parseSigset(attrs.sigmask) & ~SIG_UNBLOCKABLE;
  if (attrs.sigdefault !== undefined) {
    const set = parseSigset(attrs.sigdefault);
    for (let i = 1; i < NSIG; i++) if ((set & (1n << BigInt(i - 1))) !== 0n) c.sig.actions[i] = { handler: 0, mask: 0n, flags: 0 };
  }
}

/** posix_spawn(3): returns the child's pid. */
export async function kspawn(k: Kernel, td: Lwp, path: string, argv: unknown, envp: unknown, attrsArg?: unknown): Promise<number> {
  const parent = td.proc;
  const attrs = (attrsArg ?? {}) as SpawnAttrs;
  if (typeof attrs !== 'object' || attrs === null) throw err(EINVAL);
  const actions = attrs.actions ?? [];
  if (!Array.isArray(actions) || actions.length > 1024) throw err(EINVAL);
  const c = k.newProc(parent, parent.cred.clone(), 'copy', basename(path).slice(0, 15));
  try {
    await applyAttrs(k, c, attrs);
    for (const a of actions) await applyAction(k, c, a);
    await kexecve(k, null, c, path, argv, envp);
  } catch (e) {
    // The child never ran: it leaves no trace for wait (glibc's posix_spawn reaps it).
    await k.exitProc(c, 127 << 8);
    if (c.state === 'zombie') k.reap(c);
    throw e;
  }
  return c.pid;
}

export const execSyscalls = [
  defineSyscall('execve', 59, ['path', 'any', 'any?'], async (td, path: string, argv: unknown, envp?: unknown) => {
    await kexecve(td.k, td, td.proc, path, argv, envp);
    return 0;
  }),
  defineSyscall('spawn', -1, ['path', 'any', 'any?', 'obj?'], (td, path: string, argv: unknown, envp?: unknown, attrs?: unknown) =>
    kspawn(td.k, td, path, argv, envp, attrs)),
] as const;
