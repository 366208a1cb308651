/**
 * The declarative system-call table and its dispatcher.
 *
 * Every system call is one `SyscallDef`: its name, its Linux x86-64 number
 * (-1 for calls that exist only for library callers, like sysctl-by-name),
 * a schema of argument kinds, and a handler `(td, ...args)`. Factions register
 * their calls when their component initialises; a kernel booted without a
 * faction simply has no entries for it.
 *
 * Frontends all go through here: the library's `k.sys.*` (built by
 * `buildSys`), remote calls (which derive zod schemas from the same kinds),
 * WASI imports and FUSE requests. The dispatcher
 *   1. checks every argument against its kind and answers a typed errno
 *      (EFAULT for a missing buffer, EBADF for a non-integer fd, EINVAL for a
 *      non-integer count...) before the handler sees it,
 *   2. creates the Lwp the call runs on, bound to the calling process,
 *   3. records ktrace entries when tracing is on,
 *   4. turns a thrown `KernelError` into a rejection carrying `syscall` and
 *      `path`. Anything else thrown is a kernel bug: it is logged to dmesg and
 *      rethrown untouched so that tests see it.
 */
import { EBADF, EFAULT, EINVAL, ENAMETOOLONG, ESRCH, KernelError } from './errno.ts';
import { PATH_MAX } from './constants.ts';
import { Lwp } from './sched.ts';
import type { Kernel } from './kernel.ts';
import type { Proc } from './proc.ts';

/**
 * Argument kinds. A trailing '?' makes the argument optional (undefined is
 * accepted). Handlers may rely on the checked shape:
 *   int     an integer number (flags, counts that may be negative)
 *   uint    a non-negative integer (sizes, modes, ids)
 *   fd      an integer (handlers look it up; non-integers are EBADF)
 *   off     an integer number or bigint (file offsets, lengths)
 *   path    a string (or UTF-8 bytes) without NUL, at most PATH_MAX bytes
 *   str     any string (names, sysctl values)
 *   buf     a Uint8Array (data in or out)
 *   bufs    an array of Uint8Array (readv/writev iovecs)
 *   ints    an array of integers (setgroups)
 *   obj     a plain object; the handler validates its fields
 *   any     anything; the handler validates it
 */
export type ArgKind = 'int' | 'uint' | 'fd' | 'off' | 'path' | 'str' | 'buf' | 'bufs' | 'ints' | 'obj' | 'any';
export type ArgSpec = ArgKind | `${ArgKind}?`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (td: Lwp, ...args: any[]) => unknown;

/**
 * What a call does with a buffer argument: 'out', it fills it without
 * reading it (read-like calls: read, pread, readv, getrandom...); 'in', it
 * only reads it (write-like calls). A buffer argument with neither may be
 * both read and written. Frontends that copy buffers across a boundary
 * (sysproxy) send an 'out' buffer as its length only and bring an 'in' one
 * back not at all.
 */
export type BufUse = 'in' | 'out';

export interface SyscallDef<N extends string = string, H extends Handler = Handler> {
  readonly name: N;
  /** Linux x86-64 syscall number, or -1 when there is none. */
  readonly nr: number;
  readonly args: readonly ArgSpec[];
  readonly handler: H;
  /** Buffer arguments by index ('buf', 'bufs', or 'any' given bytes) the call only fills or only reads. */
  readonly bufs?: Readonly<Record<number, BufUse>>;
  /** The call returns a struct stat (a frontend may carry it in a fixed layout). */
  readonly returnsStat?: boolean;
}

/** Metadata a definition may carry besides its arguments and handler. */
export interface SyscallMeta {
  bufs?: Readonly<Record<number, BufUse>>;
  returnsStat?: boolean;
}

export function defineSyscall<const N extends string, H extends Handler>(
  name: N,
  nr: number,
  args: readonly ArgSpec[],
  handler: H,
  meta?: SyscallMeta,
): SyscallDef<N, H> {
  return meta === undefined ? { name, nr, args, handler } : { name, nr, args, handler, ...meta };
}

/** The library-side signature of a handler: the same arguments minus td, async. */
export type SysFn<H> = H extends (td: Lwp, ...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SysOf<Defs extends readonly SyscallDef<string, any>[]> = {
  [D in Defs[number] as D['name']]: SysFn<D['handler']>;
};

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Byte length of a path as UTF-8, bounded work (stops past the limit). */
function pathTooLong(s: string): boolean {
  if (s.length < PATH_MAX / 3) return false;
  return utf8.encode(s).byteLength >= PATH_MAX;
}

/** Check one argument; 0 when it fits its kind, else the errno to answer. */
function checkArg(kind: ArgKind, v: unknown): number {
  switch (kind) {
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) ? 0 : EINVAL;
    case 'uint':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? 0 : EINVAL;
    case 'fd':
      return typeof v === 'number' && Number.isInteger(v) ? 0 : EBADF;
    case 'off':
      return (typeof v === 'number' && Number.isSafeInteger(v)) || typeof v === 'bigint' ? 0 : EINVAL;
    case 'path':
      if (typeof v !== 'string') return EFAULT; // bytes were decoded by the checker
      if (v.includes('\0')) return EINVAL;
      return pathTooLong(v) ? ENAMETOOLONG : 0;
    case 'str':
      return typeof v === 'string' ? 0 : EFAULT;
    case 'buf':
      return v instanceof Uint8Array ? 0 : EFAULT;
    case 'bufs':
      if (!Array.isArray(v)) return EFAULT;
      if (v.length > 1024) return EINVAL; // IOV_MAX
      for (const b of v) if (!(b instanceof Uint8Array)) return EFAULT;
      return 0;
    case 'ints':
      if (!Array.isArray(v)) return EFAULT;
      for (const x of v) if (typeof x !== 'number' || !Number.isInteger(x)) return EINVAL;
      return 0;
    case 'obj':
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? 0 : EFAULT;
    case 'any':
      return 0;
  }
}

type ArgChecker = (args: unknown[]) => number;

function compileChecks(specs: readonly ArgSpec[]): ArgChecker {
  const kinds = specs.map((s) => (s.endsWith('?') ? s.slice(0, -1) : s) as ArgKind);
  const optional = specs.map((s) => s.endsWith('?'));
  const n = specs.length;
  if (n === 0) return () => 0;
  return (args) => {
    if (args.length > n) return EINVAL;
    for (let i = 0; i < n; i++) {
      let v = args[i];
      // Paths may be given as bytes (as C passes them); handlers see strings.
      if (v instanceof Uint8Array && kinds[i] === 'path') v = args[i] = utf8d.decode(v);
      if (v === undefined) {
        if (optional[i]) continue;
        return kinds[i] === 'fd' ? EBADF : kinds[i] === 'buf' || kinds[i] === 'path' ? EFAULT : EINVAL;
      }
      const e = checkArg(kinds[i]!, v);
      if (e !== 0) return e;
    }
    return 0;
  };
}

/** What each kind expects, for error messages. */
const KIND_WANTS: Record<ArgKind, string> = {
  int: 'an integer',
  uint: 'a non-negative integer',
  fd: 'a file descriptor (an integer)',
  off: 'an integer or bigint offset',
  path: `a path: a string without NUL, shorter than ${PATH_MAX} bytes`,
  str: 'a string',
  buf: 'a Uint8Array',
  bufs: 'an array of at most 1024 Uint8Arrays',
  ints: 'an array of integers',
  obj: 'an object',
  any: 'anything',
};

function shown(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `a Uint8Array of ${v.byteLength} bytes`;
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'object'}` : typeof v;
}

/**
 * Parameter names of a handler after `td`, from its source text; '' where a
 * name cannot be read (destructuring, defaults, rest, compiled code).
 * Only failures call this.
 */
function paramNames(h: Handler): string[] {
  const m = /^[^(]*\(([^)]*)\)/.exec(Function.prototype.toString.call(h));
  // Destructuring, defaults or type arguments may hide commas: then no names rather than wrong ones.
  if (m === null || /[{[(=<]/.test(m[1]!)) return [];
  return m[1]!.split(',').slice(1).map((p) => {
    const name = p.replace(/:.*$/s, '').trim();
    return /^[A-Za-z_$][\w$]*$/.test(name) ? name : '';
  });
}

/**
 * The detail of an argument-check failure: which argument, what it should be,
 * what it was. Built only when a call fails, so the hot path pays nothing.
 */
export function badArgDetail(def: SyscallDef, args: unknown[]): string | undefined {
  if (args.length > def.args.length) return `${def.name} takes at most ${def.args.length} arguments, got ${args.length}`;
  const names = paramNames(def.handler);
  for (let i = 0; i < def.args.length; i++) {
    const spec = def.args[i]!;
    const kind = (spec.endsWith('?') ? spec.slice(0, -1) : spec) as ArgKind;
    const v = args[i];
    if (v === undefined ? spec.endsWith('?') : checkArg(kind, v) === 0) continue;
    const which = `argument ${i + 1}${names[i] ? ` (${names[i]})` : ''}`;
    return `${which}: expected ${KIND_WANTS[kind]}, got ${v === undefined ? 'nothing' : shown(v)}`;
  }
  return undefined;
}

/** Decode UTF-8 path bytes handed in place of a string. */
export function pathArg(v: string | Uint8Array): string {
  return typeof v === 'string' ? v : utf8d.decode(v);
}

/** All system calls of one kernel, by name and by number. */
export class SyscallTable {
  readonly byName = new Map<string, SyscallDef>();
  readonly byNr = new Map<number, SyscallDef>();
  /** Compiled argument checkers, parallel to byName. */
  readonly checkers = new Map<string, ArgChecker>();
  /** Index of the first path-like argument, for KernelError.path. */
  readonly pathIndex = new Map<string, number>();

  register(defs: readonly SyscallDef[]): void {
    for (const d of defs) {
      if (this.byName.has(d.name)) throw new Error(`syscall ${d.name} registered twice`);
      for (const i of Object.keys(d.bufs ?? {})) {
        const a = d.args[Number(i)];
        if (a === undefined || !/^(buf|bufs|any)\??$/.test(a)) throw new Error(`syscall ${d.name}: bufs names argument ${i}, which is not a buffer`);
      }
      this.byName.set(d.name, d);
      if (d.nr >= 0) this.byNr.set(d.nr, d);
      this.checkers.set(d.name, compileChecks(d.args));
      this.pathIndex.set(d.name, d.args.findIndex((a) => a === 'path' || a === 'path?'));
    }
  }
}

/** Where the library's current process lives; `switch` changes it. */
export interface ProcRef {
  proc: Proc;
}

function fixError(k: Kernel, e: unknown, name: string, args: unknown[], pathIdx: number): unknown {
  if (e instanceof KernelError) {
    if (e.syscall === '') e.syscall = name;
    if (e.path === undefined && pathIdx >= 0 && typeof args[pathIdx] === 'string') e.path = args[pathIdx] as string;
    return e;
  }
  k.log('err', `BUG: syscall ${name} threw ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  return e;
}

/**
 * Invoke one system call as process `proc` (the path every frontend takes).
 * Returns a promise; never throws synchronously.
 */
export function invokeSyscall(k: Kernel, proc: Proc, name: string, args: unknown[]): Promise<unknown> {
  const def = k.syscalls.byName.get(name);
  if (def === undefined) return Promise.reject(new KernelError(38 /* ENOSYS */, name));
  return dispatch(k, def, k.syscalls.checkers.get(name)!, k.syscalls.pathIndex.get(name)!, proc, args);
}

/**
 * invokeSyscall for one call looked up once: a frontend that calls the same
 * syscalls over and over (sysproxy) keeps this instead of paying three
 * lookups by name per call. Null if the kernel has no such call.
 */
export function syscallInvoker(k: Kernel, name: string): ((proc: Proc, args: unknown[]) => Promise<unknown>) | null {
  const def = k.syscalls.byName.get(name);
  if (def === undefined) return null;
  const check = k.syscalls.checkers.get(name)!;
  const pathIdx = k.syscalls.pathIndex.get(name)!;
  return (proc, args) => dispatch(k, def, check, pathIdx, proc, args);
}

function dispatch(k: Kernel, def: SyscallDef, check: ArgChecker, pathIdx: number, proc: Proc, args: unknown[]): Promise<unknown> {
  const name = def.name;
  const bad = check(args);
  if (bad !== 0) {
    const p = pathIdx >= 0 && typeof args[pathIdx] === 'string' ? (args[pathIdx] as string) : undefined;
    const e = new KernelError(bad, name, p);
    e.detail = badArgDetail(def, args);
    return Promise.reject(e);
  }
  if (proc.state !== 'alive') return Promise.reject(new KernelError(ESRCH, name));
  if (proc.sig.stopped) return proc.sig.whenContinued().then(() => dispatch(k, def, check, pathIdx, proc, args)); // signal(7) stop
  const td = new Lwp(k, proc, name);
  if (proc.ktrace !== null || k.lockdep !== null) return traced(k, def, td, proc, args, pathIdx);
  let r: unknown;
  const h = def.handler;
  try {
    // Explicit arities avoid the cost of a spread call on the hot path.
    switch (args.length) {
      case 0: r = h(td); break;
      case 1: r = h(td, args[0]); break;
      case 2: r = h(td, args[0], args[1]); break;
      case 3: r = h(td, args[0], args[1], args[2]); break;
      default: r = h(td, ...args);
    }
  } catch (e) {
    return Promise.reject(fixError(k, e, name, args, pathIdx));
  }
  if (r instanceof Promise) return r.catch((e: unknown) => { throw fixError(k, e, name, args, pathIdx); });
  return Promise.resolve(r);
}

/**
 * The slow path: ktrace records, and lockdep's check that a system call
 * returns holding no locks (both off in production).
 */
async function traced(k: Kernel, def: SyscallDef, td: Lwp, proc: Proc, args: unknown[], pathIdx: number): Promise<unknown> {
  // Trace into the buffer that was on at entry (a call that turns ktrace on is not itself traced).
  const kt = proc.ktrace;
  const startNs = kt !== null ? k.hyper.clockMonotonic() : 0n;
  try {
    const result = await def.handler(td, ...args);
    k.lockdep?.assertNoneHeld(td);
    kt?.add({ startNs, endNs: k.hyper.clockMonotonic(), pid: proc.pid, syscall: def.name, args, result, error: null });
    return result;
  } catch (e) {
    k.lockdep?.assertNoneHeld(td);
    const fixed = fixError(k, e, def.name, args, pathIdx);
    const code = fixed instanceof KernelError ? fixed.code : 'BUG';
    kt?.add({ startNs, endNs: k.hyper.clockMonotonic(), pid: proc.pid, syscall: def.name, args, result: -1, error: code });
    throw fixed;
  }
}

/**
 * Build a `sys` object for library callers: one async method per registered
 * system call, acting as `ref.proc` at the moment of each call.
 */
export function buildSys(k: Kernel, ref: ProcRef): Record<string, (...args: unknown[]) => Promise<unknown>> {
  const sys: Record<string, (...args: unknown[]) => Promise<unknown>> = Object.create(null);
  for (const def of k.syscalls.byName.values()) {
    const check = k.syscalls.checkers.get(def.name)!;
    const pathIdx = k.syscalls.pathIndex.get(def.name)!;
    sys[def.name] = (...args: unknown[]) => dispatch(k, def, check, pathIdx, ref.proc, args);
  }
  return sys;
}
