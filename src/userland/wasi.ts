/**
 * WASI preview1 for WebAssembly programs running as user processes: the
 * `wasi_snapshot_preview1` imports (the witx of WASI snapshot 1) mapped
 * onto the kernel's system calls of the process — WASI descriptors are the
 * process's descriptors, so a module shares stdin/stdout/pipes with the rest
 * of a pipeline.
 *
 * Preopens: "/" (the root, opened at start-up) and "." (the working
 * directory), at the lowest free descriptors from 3, which is where
 * wasi-libc looks for them (fd_prestat_get from 3 until EBADF). wasi-libc
 * strips both names to the empty prefix and, on a tie, prefers the preopen
 * it registered last, so every path a module names — relative or absolute —
 * resolves against the working directory; the two agree when that is "/".
 *
 * Mapped: args_*, environ_*, clock_res_get/clock_time_get, fd_advise (no
 * effect), fd_allocate, fd_close, fd_datasync/fd_sync, fd_fdstat_get,
 * fd_fdstat_set_flags, fd_filestat_get, fd_filestat_set_size,
 * fd_filestat_set_times, fd_pread, fd_pwrite, fd_read, fd_readdir (without
 * "." and ".."), fd_renumber, fd_seek, fd_tell, fd_write, fd_prestat_*,
 * path_create_directory, path_filestat_get, path_filestat_set_times,
 * path_link, path_open, path_readlink, path_remove_directory, path_rename,
 * path_symlink, path_unlink_file, poll_oneoff (clocks and fd readiness),
 * proc_exit, proc_raise (WASI signal numbers translated to Linux's),
 * random_get, sched_yield.
 * Not supported (ENOSYS): sock_* — there is no network faction yet. Rights
 * are not enforced beyond what the kernel's permission checks do.
 */
import { ExitRequest, type Libc } from './libc.ts';
import {
  AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY,
  O_RDWR, O_TRUNC, O_WRONLY, O_DSYNC, O_SYNC, POLLIN, POLLOUT, S_IFMT, S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, S_IFSOCK, UTIME_NOW, UTIME_OMIT,
} from './abi.ts';

/** The parts of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (mod: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number }) => WasmMemory;
  RuntimeError: new (msg?: string) => Error;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** WASI errno values by Linux name (wasi_snapshot_preview1 $errno). */
const WASI_ERRNO = ['SUCCESS', '2BIG', 'ACCES', 'ADDRINUSE', 'ADDRNOTAVAIL', 'AFNOSUPPORT', 'AGAIN', 'ALREADY', 'BADF', 'BADMSG', 'BUSY',
  'CANCELED', 'CHILD', 'CONNABORTED', 'CONNREFUSED', 'CONNRESET', 'DEADLK', 'DESTADDRREQ', 'DOM', 'DQUOT', 'EXIST', 'FAULT', 'FBIG',
  'HOSTUNREACH', 'IDRM', 'ILSEQ', 'INPROGRESS', 'INTR', 'INVAL', 'IO', 'ISCONN', 'ISDIR', 'LOOP', 'MFILE', 'MLINK', 'MSGSIZE', 'MULTIHOP',
  'NAMETOOLONG', 'NETDOWN', 'NETRESET', 'NETUNREACH', 'NFILE', 'NOBUFS', 'NODEV', 'NOENT', 'NOEXEC', 'NOLCK', 'NOLINK', 'NOMEM', 'NOMSG',
  'NOPROTOOPT', 'NOSPC', 'NOSYS', 'NOTCONN', 'NOTDIR', 'NOTEMPTY', 'NOTRECOVERABLE', 'NOTSOCK', 'NOTSUP', 'NOTTY', 'NXIO', 'OVERFLOW',
  'OWNERDEAD', 'PERM', 'PIPE', 'PROTO', 'PROTONOSUPPORT', 'PROTOTYPE', 'RANGE', 'ROFS', 'SPIPE', 'SRCH', 'STALE', 'TIMEDOUT', 'TXTBSY',
  'XDEV', 'NOTCAPABLE'];
const E_BADF = 8, E_INVAL = 28, E_NOSYS = 52, E_IO = 29;

/** A failed call as a WASI errno (anything that is not a system-call error is EIO). */
function wasiErrno(e: unknown): number {
  if (e instanceof ExitRequest) throw e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') throw e;
  const name = code === 'EWOULDBLOCK' ? 'AGAIN' : code === 'EOPNOTSUPP' ? 'NOTSUP' : code.slice(1);
  const i = WASI_ERRNO.indexOf(name);
  return i > 0 ? i : E_IO;
}

// filetype
const FT_UNKNOWN = 0, FT_BLOCK = 1, FT_CHAR = 2, FT_DIR = 3, FT_REG = 4, FT_SOCK_STREAM = 6, FT_SYMLINK = 7;
function filetype(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG: return FT_REG;
    case S_IFDIR: return FT_DIR;
    case S_IFLNK: return FT_SYMLINK;
    case S_IFCHR: return FT_CHAR;
    case S_IFBLK: return FT_BLOCK;
    case S_IFSOCK: return FT_SOCK_STREAM;
    default: return FT_UNKNOWN;
  }
}
/** getdents64 d_type (DT_*) → WASI filetype. */
const DT_TO_FT: Record<number, number> = { 1: FT_UNKNOWN, 2: FT_CHAR, 4: FT_DIR, 6: FT_BLOCK, 8: FT_REG, 10: FT_SYMLINK, 12: FT_SOCK_STREAM };

interface KStat { dev: number; ino: number; mode: number; nlink: number; size: number; atime: { sec: number; nsec: number }; mtime: { sec: number; nsec: number }; ctime: { sec: number; nsec: number } }

/**
 * A WASI signal number (wasi_snapshot_preview1 $signal) as Linux's, or null
 * if there is none. The two agree up to SIGTERM (15); WASI has no SIGSTKFLT
 * (Linux 16), so from SIGCHLD on each WASI number is one less than Linux's
 * (signal(7)), up to SIGSYS: WASI 30, Linux 31.
 */
export function wasiSignal(sig: number): number | null {
  if (!Number.isInteger(sig) || sig < 0 || sig > 30) return null;
  return sig < 16 ? sig : sig + 1;
}

const tsNs = (t: { sec: number; nsec: number }): bigint => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
const nsTs = (ns: bigint): { sec: number; nsec: number } => ({ sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) });

const RIGHTS_ALL = 0x1fffffffn;
const RIGHT_FD_READ = 1n << 1n, RIGHT_FD_WRITE = 1n << 6n;

/** Run a WebAssembly module (bytes) as this process's image; returns its exit status. */
export function runWasi(u: Libc, bytes: Uint8Array): number {
  const sys = u.sys;
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const args = u.argv.map((a) => enc.encode(a + '\0'));
  const envs = u.envp().map((a) => enc.encode(a + '\0'));
  const preopens = new Map<number, string>();
  for (const name of ['/', '.']) {
    try {
      preopens.set(sys.open!(name, O_RDONLY | O_DIRECTORY) as number, name);
    } catch { /* a cwd that went away: no preopen */ }
  }
  let memory: WasmMemory | null = null;
  const mem = (): DataView => new DataView(memory!.buffer);
  const bytesAt = (ptr: number, len: number): Uint8Array => new Uint8Array(memory!.buffer, ptr, len);
  const str = (ptr: number, len: number): string => dec.decode(bytesAt(ptr, len).slice());
  const iovs = (ptr: number, n: number): Uint8Array[] => {
    const dv = mem();
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) out.push(bytesAt(dv.getUint32(ptr + i * 8, true), dv.getUint32(ptr + i * 8 + 4, true)));
    return out;
  };
  /** Copy the kernel's read into the module's buffers (the call filled private copies). */
  const readInto = (targets: Uint8Array[], fn: (bufs: Uint8Array[]) => number): number => {
    const tmp = targets.map((t) => new Uint8Array(t.byteLength));
    const n = fn(tmp);
    let left = n;
    for (let i = 0; i < targets.length && left > 0; i++) {
      const k = Math.min(left, targets[i]!.byteLength);
      targets[i]!.set(tmp[i]!.subarray(0, k));
      left -= k;
    }
    return n;
  };
  const wrap = (fn: (...a: any[]) => number | void) => (...a: any[]): number => {
    try {
      return fn(...a) ?? 0;
    } catch (e) {
      return wasiErrno(e);
    }
  };
  const putStrings = (list: Uint8Array[], ptrs: number, buf: number): void => {
    const dv = mem();
    let o = buf;
    list.forEach((s, i) => {
      dv.setUint32(ptrs + i * 4, o, true);
      bytesAt(o, s.byteLength).set(s);
      o += s.byteLength;
    });
  };
  const writeFilestat = (ptr: number, st: KStat): void => {
    const dv = mem();
    dv.setBigUint64(ptr, BigInt(st.dev), true);
    dv.setBigUint64(ptr + 8, BigInt(st.ino), true);
    dv.setUint8(ptr + 16, filetype(st.mode));
    dv.setBigUint64(ptr + 24, BigInt(st.nlink), true);
    dv.setBigUint64(ptr + 32, BigInt(st.size), true);
    dv.setBigUint64(ptr + 40, tsNs(st.atime), true);
    dv.setBigUint64(ptr + 48, tsNs(st.mtime), true);
    dv.setBigUint64(ptr + 56, tsNs(st.ctime), true);
  };
  const times = (atim: bigint, mtim: bigint, flags: number) => {
    // fstflags: ATIM 1, ATIM_NOW 2, MTIM 4, MTIM_NOW 8.
    const one = (t: bigint, set: number, now: number) => ((flags & now) !== 0 ? { sec: 0, nsec: UTIME_NOW } : (flags & set) !== 0 ? nsTs(t) : { sec: 0, nsec: UTIME_OMIT });
    return [one(atim, 1, 2), one(mtim, 4, 8)];
  };

  const imports = {
    args_sizes_get: wrap((argc: number, size: number) => {
      mem().setUint32(argc, args.length, true);
      mem().setUint32(size, args.reduce((n, a) => n + a.byteLength, 0), true);
    }),
    args_get: wrap((ptrs: number, buf: number) => putStrings(args, ptrs, buf)),
    environ_sizes_get: wrap((n: number, size: number) => {
      mem().setUint32(n, envs.length, true);
      mem().setUint32(size, envs.reduce((s, a) => s + a.byteLength, 0), true);
    }),
    environ_get: wrap((ptrs: number, buf: number) => putStrings(envs, ptrs, buf)),
    clock_res_get: wrap((id: number, out: number) => mem().setBigUint64(out, tsNs(sys.clock_getres!(id) as { sec: number; nsec: number }), true)),
    clock_time_get: wrap((id: number, _prec: bigint, out: number) => mem().setBigUint64(out, tsNs(sys.clock_gettime!(id) as { sec: number; nsec: number }), true)),
    fd_advise: wrap(() => 0),
    fd_allocate: wrap((fd: number, off: bigint, len: bigint) => void sys.fallocate!(fd, 0, Number(off), Number(len))),
    fd_close: wrap((fd: number) => {
      sys.close!(fd);
      preopens.delete(fd);
    }),
    fd_datasync: wrap((fd: number) => void sys.fdatasync!(fd)),
    fd_sync: wrap((fd: number) => void sys.fsync!(fd)),
    fd_fdstat_get: wrap((fd: number, out: number) => {
      const st = sys.fstat!(fd) as KStat;
      const fl = sys.fcntl!(fd, 3 /* F_GETFL */) as number;
      const dv = mem();
      dv.setUint8(out, filetype(st.mode));
      dv.setUint16(out + 2, ((fl & O_APPEND) ? 1 : 0) | ((fl & O_DSYNC) ? 2 : 0) | ((fl & O_NONBLOCK) ? 4 : 0) | ((fl & O_SYNC) === O_SYNC ? 16 : 0), true);
      dv.setBigUint64(out + 8, RIGHTS_ALL, true);
      dv.setBigUint64(out + 16, RIGHTS_ALL, true);
    }),
    fd_fdstat_set_flags: wrap((fd: number, flags: number) => void sys.fcntl!(fd, 4 /* F_SETFL */, ((flags & 1) ? O_APPEND : 0) | ((flags & 4) ? O_NONBLOCK : 0))),
    fd_fdstat_set_rights: wrap(() => 0),
    fd_filestat_get: wrap((fd: number, out: number) => writeFilestat(out, sys.fstat!(fd) as KStat)),
    fd_filestat_set_size: wrap((fd: number, size: bigint) => void sys.ftruncate!(fd, Number(size))),
    fd_filestat_set_times: wrap((fd: number, atim: bigint, mtim: bigint, flags: number) => void sys.futimens!(fd, times(atim, mtim, flags))),
    fd_pread: wrap((fd: number, iov: number, n: number, off: bigint, out: number) => {
      const t = iovs(iov, n);
      mem().setUint32(out, readInto(t, (b) => sys.preadv!(fd, b, Number(off)) as number), true);
    }),
    fd_pwrite: wrap((fd: number, iov: number, n: number, off: bigint, out: number) => {
      mem().setUint32(out, sys.pwritev!(fd, iovs(iov, n), Number(off)) as number, true);
    }),
    fd_read: wrap((fd: number, iov: number, n: number, out: number) => {
      if (fd === 0) u.stdout.flush();
      const t = iovs(iov, n);
      mem().setUint32(out, readInto(t, (b) => sys.readv!(fd, b) as number), true);
    }),
    fd_write: wrap((fd: number, iov: number, n: number, out: number) => {
      mem().setUint32(out, sys.writev!(fd, iovs(iov, n)) as number, true);
    }),
    fd_prestat_get: wrap((fd: number, out: number) => {
      const name = preopens.get(fd);
      if (name === undefined) return E_BADF;
      mem().setUint8(out, 0);
      mem().setUint32(out + 4, enc.encode(name).byteLength, true);
    }),
    fd_prestat_dir_name: wrap((fd: number, ptr: number, len: number) => {
      const name = preopens.get(fd);
      if (name === undefined) return E_BADF;
      bytesAt(ptr, len).set(enc.encode(name).subarray(0, len));
    }),
    fd_readdir: wrap((fd: number, buf: number, len: number, cookie: bigint, used: number) => {
      // Read the whole directory from the start; the cookie is an index into it.
      sys.lseek!(fd, 0, 0);
      const ents: { name: string; ino: number; type: number }[] = [];
      for (let i = 0; i < 100_000; i++) {
        const batch = sys.getdents64!(fd, 65536) as { name: string; ino: number; type: number }[];
        if (batch.length === 0) break;
        for (const e of batch) if (e.name !== '.' && e.name !== '..') ents.push(e);
      }
      const dv = mem();
      let o = 0;
      for (let i = Number(cookie); i < ents.length && o < len; i++) {
        const e = ents[i]!;
        const name = enc.encode(e.name);
        const rec = new Uint8Array(24 + name.byteLength);
        const rv = new DataView(rec.buffer);
        rv.setBigUint64(0, BigInt(i + 1), true);
        rv.setBigUint64(8, BigInt(e.ino), true);
        rv.setUint32(16, name.byteLength, true);
        rv.setUint8(20, DT_TO_FT[e.type] ?? FT_UNKNOWN);
        rec.set(name, 24);
        const k = Math.min(rec.byteLength, len - o);
        bytesAt(buf + o, k).set(rec.subarray(0, k));
        o += k;
      }
      dv.setUint32(used, o, true);
    }),
    fd_renumber: wrap((from: number, to: number) => {
      sys.dup2!(from, to);
      sys.close!(from);
      const p = preopens.get(from);
      preopens.delete(from);
      if (p !== undefined) preopens.set(to, p);
    }),
    fd_seek: wrap((fd: number, off: bigint, whence: number, out: number) => mem().setBigUint64(out, BigInt(sys.lseek!(fd, Number(off), whence) as number), true)),
    fd_tell: wrap((fd: number, out: number) => mem().setBigUint64(out, BigInt(sys.lseek!(fd, 0, 1) as number), true)),
    path_create_directory: wrap((fd: number, p: number, l: number) => void sys.mkdirat!(fd, str(p, l), 0o777)),
    path_filestat_get: wrap((fd: number, flags: number, p: number, l: number, out: number) =>
      writeFilestat(out, sys.newfstatat!(fd, str(p, l), (flags & 1) ? 0 : AT_SYMLINK_NOFOLLOW) as KStat)),
    path_filestat_set_times: wrap((fd: number, flags: number, p: number, l: number, atim: bigint, mtim: bigint, fst: number) =>
      void sys.utimensat!(fd, str(p, l), times(atim, mtim, fst), (flags & 1) ? 0 : AT_SYMLINK_NOFOLLOW)),
    path_link: wrap((ofd: number, flags: number, op: number, ol: number, nfd: number, np: number, nl: number) =>
      void sys.linkat!(ofd, str(op, ol), nfd, str(np, nl), (flags & 1) ? AT_SYMLINK_FOLLOW : 0)),
    path_open: wrap((fd: number, dirflags: number, p: number, l: number, oflags: number, rights: bigint, _inh: bigint, fdflags: number, out: number) => {
      const r = (rights & RIGHT_FD_READ) !== 0n, w = (rights & RIGHT_FD_WRITE) !== 0n || (fdflags & 1) !== 0;
      let flags = (oflags & 2) ? O_RDONLY : r && w ? O_RDWR : w ? O_WRONLY : O_RDONLY;
      if (oflags & 1) flags |= O_CREAT;
      if (oflags & 2) flags |= O_DIRECTORY;
      if (oflags & 4) flags |= O_EXCL;
      if (oflags & 8) flags |= O_TRUNC;
      if (fdflags & 1) flags |= O_APPEND;
      if (fdflags & 4) flags |= O_NONBLOCK;
      if ((dirflags & 1) === 0) flags |= O_NOFOLLOW;
      mem().setUint32(out, sys.openat!(fd, str(p, l), flags, 0o666) as number, true);
    }),
    path_readlink: wrap((fd: number, p: number, l: number, buf: number, len: number, used: number) => {
      const t = enc.encode(String(sys.readlinkat!(fd, str(p, l))));
      const k = Math.min(t.byteLength, len);
      bytesAt(buf, k).set(t.subarray(0, k));
      mem().setUint32(used, k, true);
    }),
    path_remove_directory: wrap((fd: number, p: number, l: number) => void sys.unlinkat!(fd, str(p, l), AT_REMOVEDIR)),
    path_rename: wrap((fd: number, op: number, ol: number, nfd: number, np: number, nl: number) => void sys.renameat!(fd, str(op, ol), nfd, str(np, nl))),
    path_symlink: wrap((op: number, ol: number, fd: number, np: number, nl: number) => void sys.symlinkat!(str(op, ol), fd, str(np, nl))),
    path_unlink_file: wrap((fd: number, p: number, l: number) => void sys.unlinkat!(fd, str(p, l), 0)),
    poll_oneoff: wrap((inp: number, outp: number, n: number, nevents: number) => {
      const dv = mem();
      const fds: { fd: number; events: number }[] = [];
      const subs: { ud: bigint; tag: number; fd: number; deadline: bigint | null }[] = [];
      let soonest: bigint | null = null;
      const now = tsNs(sys.clock_gettime!(1) as { sec: number; nsec: number });
      for (let i = 0; i < n; i++) {
        const b = inp + i * 48;
        const ud = dv.getBigUint64(b, true), tag = dv.getUint8(b + 8);
        if (tag === 0) {
          const id = dv.getUint32(b + 16, true), t = dv.getBigUint64(b + 24, true), abs = (dv.getUint16(b + 40, true) & 1) !== 0;
          const base = id === 1 ? now : tsNs(sys.clock_gettime!(id) as { sec: number; nsec: number });
          const left = abs ? t - base : t;
          const dl = now + (left > 0n ? left : 0n);
          subs.push({ ud, tag, fd: -1, deadline: dl });
          if (soonest === null || dl < soonest) soonest = dl;
        } else {
          const fd = dv.getUint32(b + 16, true);
          subs.push({ ud, tag, fd, deadline: null });
          fds.push({ fd, events: tag === 1 ? POLLIN : POLLOUT });
        }
      }
      let ready: { fd: number; revents: number }[] = [];
      if (fds.length > 0) {
        const ms = soonest === null ? -1 : Number((soonest - now + 999_999n) / 1_000_000n);
        ready = (sys.poll!(fds, ms) as { fds: { fd: number; revents: number }[] }).fds;
      } else if (soonest !== null && soonest > now) sys.nanosleep!(nsTs(soonest - now));
      const after = tsNs(sys.clock_gettime!(1) as { sec: number; nsec: number });
      let k = 0;
      subs.forEach((s, i) => {
        const hit = s.tag === 0 ? after >= s.deadline! : (ready[fds.findIndex((f) => f.fd === s.fd)]?.revents ?? 0) !== 0;
        if (!hit) return;
        const e = outp + k++ * 32;
        dv.setBigUint64(e, s.ud, true);
        dv.setUint16(e + 8, 0, true);
        dv.setUint8(e + 10, s.tag);
        dv.setBigUint64(e + 16, 0n, true);
        dv.setUint16(e + 24, 0, true);
        void i;
      });
      dv.setUint32(nevents, k, true);
    }),
    proc_exit: (code: number): never => { throw new ExitRequest(code); },
    proc_raise: wrap((sig: number) => {
      const linux = wasiSignal(sig);
      if (linux === null) return E_INVAL;
      sys.kill!(sys.getpid!(), linux);
    }),
    random_get: wrap((buf: number, len: number) => {
      const tmp = new Uint8Array(len);
      for (let o = 0; o < len;) o += sys.getrandom!(tmp.subarray(o), 0) as number;
      bytesAt(buf, len).set(tmp);
    }),
    sched_yield: wrap(() => void sys.sched_yield!()),
    sock_accept: () => E_NOSYS, sock_recv: () => E_NOSYS, sock_send: () => E_NOSYS, sock_shutdown: () => E_NOSYS,
  };
  let mod: object;
  try {
    mod = new WA.Module(bytes);
  } catch (e) {
    u.err(`${u.progname}: not a valid WebAssembly module: ${(e as Error).message}\n`);
    return 126;
  }
  const inst = new WA.Instance(mod, { wasi_snapshot_preview1: imports, wasi_unstable: imports });
  memory = inst.exports.memory as WasmMemory;
  const startFn = inst.exports._start as (() => void) | undefined;
  if (typeof startFn !== 'function' || !(memory instanceof WA.Memory)) {
    u.err(`${u.progname}: the module exports no _start and memory (not a WASI command)\n`);
    return 126;
  }
  try {
    startFn();
  } catch (e) {
    if (e instanceof ExitRequest) return e.status;
    if (e instanceof WA.RuntimeError) {
      u.err(`${u.progname}: WebAssembly trap: ${e.message}\n`);
      return 134; // as if killed by SIGABRT
    }
    throw e;
  }
  return 0;
}

