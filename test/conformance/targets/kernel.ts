/**
 * The kernel target: a fresh kernel per test, booted in-process through the
 * library frontend (`boot()`, tmpfs root), with the Target API mapped onto
 * `k.sys.*` in Linux argument order. `asUser` is a process made with
 * `k.rfork({ uid, gid, groups })`; its handle's `sys` acts as that process.
 *
 * The library form of a few calls (readlink, getcwd, getdents64, utimensat)
 * is read off the declarative syscall table's argument kinds, so this adapter
 * follows the C form (caller's buffer) and the returned form alike.
 *
 * Other adapters that reach the same kernel through another frontend
 * (unix-socket remote, worker async/sync) only need a `SysLike` and can reuse
 * `SysTarget` from here.
 */
import { boot, type BootedKernel } from '../../../src/frontends/library/boot.ts';
import { C, type MountOpts, type Capabilities, type Target, type TargetFactory, type TimeArg, type TStat, type TStatfs, type TStatx } from '../target.ts';

/** What a frontend offers: async system calls by name, Linux argument order. */
export type SysLike = Record<string, (...args: unknown[]) => Promise<unknown>>;

/** Argument kinds of each syscall (from the kernel's table), for call-shape decisions. */
export type ArgKinds = (name: string) => readonly string[] | undefined;

const ROOT = '/conformance';

function timeArg(t: TimeArg): { sec: number; nsec: number } {
  if (t === 'now') return { sec: 0, nsec: C.UTIME_NOW };
  if (t === 'omit') return { sec: 0, nsec: C.UTIME_OMIT };
  return { sec: t.sec, nsec: t.nsec };
}

function enosys(name: string): Error {
  const e = new Error(`ENOSYS: the target has no system call ${name}`) as Error & { code: string };
  e.code = 'ENOSYS';
  return e;
}

const td = new TextDecoder();

/** Parse linux_dirent64 records: u64 ino, s64 off, u16 reclen, u8 type, name\0. */
export function parseDirents(buf: Uint8Array, n: number): string[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, n);
  const names: string[] = [];
  let pos = 0;
  while (pos + 19 <= n) {
    const reclen = dv.getUint16(pos + 16, true);
    if (reclen < 19 || pos + reclen > n) throw new Error(`getdents64: bad d_reclen ${reclen} at ${pos} of ${n}`);
    let end = pos + 19;
    while (end < pos + reclen && buf[end] !== 0) end++;
    names.push(td.decode(buf.subarray(pos + 19, end)));
    pos += reclen;
  }
  return names;
}

function statfsOut(r: Record<string, number>): TStatfs {
  const f = (k: string): number => r[k] ?? r[`f_${k}`] ?? NaN;
  return { type: f('type'), bsize: f('bsize'), blocks: f('blocks'), bfree: f('bfree'), bavail: f('bavail'), files: f('files'), ffree: f('ffree') };
}

/** A Target over any `sys` (library, remote, worker): the mapping lives here once. */
export class SysTarget implements Target {
  readonly name: string;
  readonly caps: Capabilities;
  readonly root: string;
  protected readonly s: SysLike;
  protected readonly kinds: ArgKinds;

  constructor(name: string, caps: Capabilities, root: string, sys: SysLike, kinds: ArgKinds) {
    this.name = name;
    this.caps = caps;
    this.root = root;
    this.s = sys;
    this.kinds = kinds;
  }

  protected call(name: string, ...args: unknown[]): Promise<unknown> {
    const f = this.s[name];
    if (typeof f !== 'function') return Promise.reject(enosys(name));
    return f(...args);
  }

  private abs(p: string): string {
    return p.startsWith('/') ? p : `${this.root}/${p}`;
  }

  async open(path: string, flags: number, mode = 0o666): Promise<number> {
    return (await this.call('open', path, flags, mode)) as number;
  }
  async close(fd: number): Promise<void> {
    await this.call('close', fd);
  }
  async read(fd: number, n: number): Promise<Uint8Array> {
    const buf = new Uint8Array(n);
    const got = (await this.call('read', fd, buf)) as number;
    return buf.slice(0, got);
  }
  async write(fd: number, data: Uint8Array | string): Promise<number> {
    return (await this.call('write', fd, typeof data === 'string' ? new TextEncoder().encode(data) : data)) as number;
  }
  async pread(fd: number, n: number, offset: number): Promise<Uint8Array> {
    const buf = new Uint8Array(n);
    const got = (await this.call('pread', fd, buf, offset)) as number;
    return buf.slice(0, got);
  }
  async pwrite(fd: number, data: Uint8Array | string, offset: number): Promise<number> {
    return (await this.call('pwrite', fd, typeof data === 'string' ? new TextEncoder().encode(data) : data, offset)) as number;
  }
  async lseek(fd: number, offset: number, whence: number): Promise<number> {
    return Number(await this.call('lseek', fd, offset, whence));
  }
  async fsync(fd: number): Promise<void> {
    await this.call('fsync', fd);
  }
  async stat(path: string): Promise<TStat> {
    return (await this.call('stat', path)) as TStat;
  }
  async lstat(path: string): Promise<TStat> {
    return (await this.call('lstat', path)) as TStat;
  }
  async fstat(fd: number): Promise<TStat> {
    return (await this.call('fstat', fd)) as TStat;
  }
  async access(path: string, mode: number): Promise<void> {
    await this.call('access', path, mode);
  }
  async mkdir(path: string, mode: number): Promise<void> {
    await this.call('mkdir', path, mode);
  }
  async rmdir(path: string): Promise<void> {
    await this.call('rmdir', path);
  }
  async unlink(path: string): Promise<void> {
    await this.call('unlink', path);
  }
  async rename(from: string, to: string): Promise<void> {
    await this.call('rename', from, to);
  }
  async renameat2(from: string, to: string, flags: number): Promise<void> {
    await this.call('renameat2', C.AT_FDCWD, from, C.AT_FDCWD, to, flags);
  }
  async link(a: string, b: string): Promise<void> {
    await this.call('link', a, b);
  }
  async symlink(target: string, path: string): Promise<void> {
    await this.call('symlink', target, path);
  }
  async readlink(path: string): Promise<string> {
    const k = this.kinds('readlink');
    if (k !== undefined && k.some((a) => a.startsWith('buf'))) {
      const buf = new Uint8Array(4096);
      const n = (await this.call('readlink', path, buf, buf.length)) as number;
      return td.decode(buf.subarray(0, n));
    }
    const r = await this.call('readlink', path);
    return typeof r === 'string' ? r : td.decode(r as Uint8Array);
  }
  async readdir(path: string): Promise<string[]> {
    const fd = (await this.call('open', path, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC, 0)) as number;
    try {
      const names: string[] = [];
      // C form getdents64(fd, buf) fills linux_dirent64 records; the library
      // form getdents64(fd, count) returns the entries.
      const byCount = this.kinds('getdents64')?.[1]?.startsWith('uint') ?? false;
      for (;;) {
        const buf = new Uint8Array(32768);
        const r = await this.call('getdents64', fd, byCount ? buf.length : buf);
        if (Array.isArray(r)) {
          // A library form that returns entries instead of filling a buffer.
          if (r.length === 0) break;
          for (const e of r) names.push(typeof e === 'string' ? e : (e as { name: string }).name);
          continue;
        }
        const n = r as number;
        if (n === 0) break;
        names.push(...parseDirents(buf, n));
      }
      return names.filter((x) => x !== '.' && x !== '..').sort();
    } finally {
      await this.call('close', fd);
    }
  }
  async chmod(path: string, mode: number): Promise<void> {
    await this.call('chmod', path, mode);
  }
  async fchmod(fd: number, mode: number): Promise<void> {
    await this.call('fchmod', fd, mode);
  }
  async chown(path: string, uid: number, gid: number): Promise<void> {
    await this.call('chown', path, uid, gid);
  }
  async lchown(path: string, uid: number, gid: number): Promise<void> {
    await this.call('lchown', path, uid, gid);
  }
  async fchown(fd: number, uid: number, gid: number): Promise<void> {
    await this.call('fchown', fd, uid, gid);
  }
  async truncate(path: string, length: number): Promise<void> {
    await this.call('truncate', path, length);
  }
  async ftruncate(fd: number, length: number): Promise<void> {
    await this.call('ftruncate', fd, length);
  }
  async fallocate(fd: number, mode: number, offset: number, length: number): Promise<void> {
    await this.call('fallocate', fd, mode, offset, length);
  }
  async utimensat(path: string, times: [TimeArg, TimeArg] | null, flags = 0): Promise<void> {
    await this.call('utimensat', C.AT_FDCWD, path, times === null ? null : times.map(timeArg), flags);
  }
  async futimens(fd: number, times: [TimeArg, TimeArg] | null): Promise<void> {
    const t = times === null ? null : times.map(timeArg);
    if (typeof this.s.futimens === 'function') await this.call('futimens', fd, t);
    else await this.call('utimensat', fd, null, t, 0);
  }
  async mknod(path: string, mode: number, dev: number): Promise<void> {
    await this.call('mknod', path, mode, dev);
  }
  async mkfifo(path: string, mode: number): Promise<void> {
    await this.call('mknod', path, C.S_IFIFO | (mode & 0o7777), 0);
  }
  async statfs(path: string): Promise<TStatfs> {
    return statfsOut((await this.call('statfs', path)) as Record<string, number>);
  }
  async chdir(path: string): Promise<void> {
    await this.call('chdir', path);
  }
  async getcwd(): Promise<string> {
    const k = this.kinds('getcwd');
    if (k !== undefined && k.some((a) => a.startsWith('buf'))) {
      const buf = new Uint8Array(4096);
      const n = (await this.call('getcwd', buf)) as number;
      // getcwd(2) returns the length including the NUL.
      return td.decode(buf.subarray(0, buf.indexOf(0) >= 0 ? buf.indexOf(0) : n));
    }
    const r = await this.call('getcwd');
    return typeof r === 'string' ? r : td.decode(r as Uint8Array);
  }
  async umask(mask: number): Promise<number> {
    return (await this.call('umask', mask)) as number;
  }
  async mountTmpfs(path: string, opts: MountOpts = {}): Promise<void> {
    const flags = (opts.readonly ? C.MS_RDONLY : 0) | (opts.remount ? C.MS_REMOUNT : 0);
    await this.call('mount', 'tmpfs', this.abs(path), 'tmpfs', flags, opts.data ?? '');
  }
  async mount(source: string, path: string, fstype: string, flags: number, data: string): Promise<void> {
    await this.call('mount', source, path, fstype, flags, data);
  }
  async umount(path: string): Promise<void> {
    await this.call('umount2', this.abs(path), 0);
  }
  async openat(dirfd: number, path: string, flags: number, mode = 0o666): Promise<number> {
    return (await this.call('openat', dirfd, path, flags, mode)) as number;
  }
  async mkdirat(dirfd: number, path: string, mode: number): Promise<void> {
    await this.call('mkdirat', dirfd, path, mode);
  }
  async unlinkat(dirfd: number, path: string, flags: number): Promise<void> {
    await this.call('unlinkat', dirfd, path, flags);
  }
  async renameat(ofd: number, from: string, nfd: number, to: string): Promise<void> {
    await this.call('renameat', ofd, from, nfd, to);
  }
  async linkat(ofd: number, a: string, nfd: number, b: string, flags: number): Promise<void> {
    await this.call('linkat', ofd, a, nfd, b, flags);
  }
  async symlinkat(target: string, dirfd: number, path: string): Promise<void> {
    await this.call('symlinkat', target, dirfd, path);
  }
  async readlinkat(dirfd: number, path: string): Promise<string> {
    const r = await this.call('readlinkat', dirfd, path);
    return typeof r === 'string' ? r : td.decode(r as Uint8Array);
  }
  async fstatat(dirfd: number, path: string, flags: number): Promise<TStat> {
    return (await this.call(typeof this.s.fstatat === 'function' ? 'fstatat' : 'newfstatat', dirfd, path, flags)) as TStat;
  }
  async faccessat(dirfd: number, path: string, mode: number, flags: number): Promise<void> {
    await this.call('faccessat2', dirfd, path, mode, flags);
  }
  async fchmodat(dirfd: number, path: string, mode: number): Promise<void> {
    await this.call('fchmodat', dirfd, path, mode, 0);
  }
  async fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): Promise<void> {
    await this.call('fchownat', dirfd, path, uid, gid, flags);
  }
  async fchdir(fd: number): Promise<void> {
    await this.call('fchdir', fd);
  }
  async readv(fd: number, sizes: number[]): Promise<Uint8Array[]> {
    const bufs = sizes.map((n) => new Uint8Array(n));
    let left = (await this.call('readv', fd, bufs)) as number;
    return bufs.map((b) => {
      const part = b.slice(0, Math.min(left, b.length));
      left -= part.length;
      return part;
    });
  }
  async writev(fd: number, parts: (Uint8Array | string)[]): Promise<number> {
    return (await this.call('writev', fd, parts.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : p)))) as number;
  }
  async fdatasync(fd: number): Promise<void> {
    await this.call('fdatasync', fd);
  }
  async flock(fd: number, op: number): Promise<void> {
    await this.call('flock', fd, op);
  }
  async creat(path: string, mode: number): Promise<number> {
    return (await this.call('creat', path, mode)) as number;
  }
  async statx(dirfd: number, path: string, flags: number, mask: number): Promise<TStatx> {
    return (await this.call('statx', dirfd, path, flags, mask)) as TStatx;
  }
  async fstatfs(fd: number): Promise<TStatfs> {
    return statfsOut((await this.call('fstatfs', fd)) as Record<string, number>);
  }
  async sync(): Promise<void> {
    await this.call('sync');
  }
  async syncfs(fd: number): Promise<void> {
    await this.call('syncfs', fd);
  }
  async pathconf(path: string, name: number): Promise<number> {
    return (await this.call('pathconf', path, name)) as number;
  }
  asUser(_uid: number, _gid: number, _groups?: number[]): Promise<Target> {
    return Promise.reject(new Error(`${this.name}: asUser is not supported by this adapter`));
  }
  async teardown(): Promise<void> {}
}

export class KernelTarget extends SysTarget {
  private readonly k: BootedKernel;
  private readonly owner: boolean;

  constructor(name: string, caps: Capabilities, k: BootedKernel, sys: SysLike, owner: boolean) {
    super(name, caps, ROOT, sys, (n) => k.kernel.syscalls.byName.get(n)?.args.map(String));
    this.k = k;
    this.owner = owner;
  }

  override async asUser(uid: number, gid: number, groups: number[] = []): Promise<Target> {
    // rfork from init, whose cwd is ROOT (setup chdir'ed there).
    const h = this.k.rfork({ uid, gid, groups, fd: 'clean', comm: `conf-${uid}` });
    const t = new KernelTarget(`kernel(uid ${uid})`, this.caps, this.k, h.sys, false);
    await t.umask(0o022);
    await t.chdir(ROOT);
    return t;
  }

  override async teardown(): Promise<void> {
    if (this.owner) await this.k.shutdown();
  }
}

async function bootKernel(): Promise<BootedKernel> {
  return boot();
}

/** What a kernel reached through the library can do (a tmpfs root). */
export function libraryCaps(sys: SysLike): Capabilities {
  return {
    users: true,
    mount: typeof sys.mount === 'function' && typeof sys.umount2 === 'function',
    renameat2: typeof sys.renameat2 === 'function',
    mknodDevices: true,
    tmpfsRoot: true,
    innerMountIdentity: true,
    roMountMissingNameErofs: true,
    permissionBeforeVictimType: true,
    specialFileModeChecks: true,
    dotdotSearchCheck: true,
    accessAsksServer: true,
  };
}

export const kernelTarget: TargetFactory = {
  name: 'kernel',
  async available() {
    const k = await bootKernel();
    const ok = typeof k.sys.open === 'function' && typeof (k.sys as unknown as SysLike).mkdir === 'function';
    await k.shutdown();
    return ok ? true : 'the kernel has no VFS yet (boot() registers no open/mkdir)';
  },
  async setup(): Promise<Target> {
    const k = await bootKernel();
    const sys = k.sys as unknown as SysLike;
    await sys.mkdir!(ROOT, 0o755);
    await sys.chdir!(ROOT);
    await sys.umask!(0o022);
    return new KernelTarget('kernel', libraryCaps(sys), k, sys, true);
  },
};
