/**
 * The reference target: the host's Linux through node:fs, on a fresh
 * directory under /dev/shm (tmpfs, like the kernel's root) or os.tmpdir().
 *
 * Every call runs in an op runner process (../host/op-runner.mjs) so that the
 * target has its own cwd, umask and fd table and `asUser` can switch
 * credentials (setgroups/setgid/setuid) — node:fs has no per-call
 * credentials. The few calls node:fs lacks or bends are made for real through
 * a perl syscall() helper; the list is in op-runner.mjs.
 *
 * Capabilities: other users, mounts and device nodes need root (CI runs as
 * root); without it those tests are skipped here (test/README.md).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OpRunner } from '../host/runner-client.ts';
import { C, type MountOpts, type Capabilities, type Target, type TargetFactory, type TimeArg, type TStat, type TStatfs, type TStatx } from '../target.ts';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function baseDir(): string {
  try {
    if (fs.statSync('/dev/shm').isDirectory()) {
      fs.accessSync('/dev/shm', fs.constants.W_OK);
      return '/dev/shm';
    }
  } catch {
    // fall through to the OS temp dir
  }
  return os.tmpdir();
}

/** Shared by a root target and its asUser children. */
interface HostShared {
  root: string;
  caps: Capabilities;
  runners: OpRunner[];
  /** Absolute mount points, newest last. */
  mounts: string[];
  users: Map<string, HostTarget>;
}

/**
 * Every Target call done by an op runner (node:fs plus the perl shim) on the
 * host's view of some directory. The host target is this on a /dev/shm dir;
 * the FUSE target (fuse.ts) is this on a directory of the FUSE mount.
 * Subclasses decide mounts, asUser and teardown.
 */
export class RunnerTarget implements Target {
  readonly name: string;
  readonly caps: Capabilities;
  readonly root: string;
  protected readonly r: OpRunner;

  constructor(name: string, caps: Capabilities, root: string, runner: OpRunner) {
    this.name = name;
    this.caps = caps;
    this.root = root;
    this.r = runner;
  }

  async open(p: string, flags: number, mode?: number): Promise<number> {
    return (await this.r.call('open', p, flags, mode)) as number;
  }
  async close(fd: number): Promise<void> {
    await this.r.call('close', fd);
  }
  async read(fd: number, n: number): Promise<Uint8Array> {
    return (await this.r.call('read', fd, n)) as Uint8Array;
  }
  async write(fd: number, data: Uint8Array | string): Promise<number> {
    return (await this.r.call('write', fd, data)) as number;
  }
  async pread(fd: number, n: number, offset: number): Promise<Uint8Array> {
    return (await this.r.call('pread', fd, n, offset)) as Uint8Array;
  }
  async pwrite(fd: number, data: Uint8Array | string, offset: number): Promise<number> {
    return (await this.r.call('pwrite', fd, data, offset)) as number;
  }
  async lseek(fd: number, offset: number, whence: number): Promise<number> {
    return (await this.r.call('lseek', fd, offset, whence)) as number;
  }
  async fsync(fd: number): Promise<void> {
    await this.r.call('fsync', fd);
  }
  async stat(p: string): Promise<TStat> {
    return (await this.r.call('stat', p)) as TStat;
  }
  async lstat(p: string): Promise<TStat> {
    return (await this.r.call('lstat', p)) as TStat;
  }
  async fstat(fd: number): Promise<TStat> {
    return (await this.r.call('fstat', fd)) as TStat;
  }
  async access(p: string, mode: number): Promise<void> {
    await this.r.call('access', p, mode);
  }
  async mkdir(p: string, mode: number): Promise<void> {
    await this.r.call('mkdir', p, mode);
  }
  async rmdir(p: string): Promise<void> {
    await this.r.call('rmdir', p);
  }
  async unlink(p: string): Promise<void> {
    await this.r.call('unlink', p);
  }
  async rename(a: string, b: string): Promise<void> {
    await this.r.call('rename', a, b);
  }
  async renameat2(a: string, b: string, flags: number): Promise<void> {
    await this.r.call('renameat2', a, b, flags);
  }
  async link(a: string, b: string): Promise<void> {
    await this.r.call('link', a, b);
  }
  async symlink(target: string, p: string): Promise<void> {
    await this.r.call('symlink', target, p);
  }
  async readlink(p: string): Promise<string> {
    return (await this.r.call('readlink', p)) as string;
  }
  async readdir(p: string): Promise<string[]> {
    return (await this.r.call('readdir', p)) as string[];
  }
  async chmod(p: string, mode: number): Promise<void> {
    await this.r.call('chmod', p, mode);
  }
  async fchmod(fd: number, mode: number): Promise<void> {
    await this.r.call('fchmod', fd, mode);
  }
  async chown(p: string, uid: number, gid: number): Promise<void> {
    await this.r.call('chown', p, uid, gid);
  }
  async lchown(p: string, uid: number, gid: number): Promise<void> {
    await this.r.call('lchown', p, uid, gid);
  }
  async fchown(fd: number, uid: number, gid: number): Promise<void> {
    await this.r.call('fchown', fd, uid, gid);
  }
  async truncate(p: string, length: number): Promise<void> {
    await this.r.call('truncate', p, length);
  }
  async ftruncate(fd: number, length: number): Promise<void> {
    await this.r.call('ftruncate', fd, length);
  }
  async fallocate(fd: number, mode: number, offset: number, length: number): Promise<void> {
    await this.r.call('fallocate', fd, mode, offset, length);
  }
  async utimensat(p: string, times: [TimeArg, TimeArg] | null, flags = 0): Promise<void> {
    await this.r.call('utimensat', p, times, flags);
  }
  async futimens(fd: number, times: [TimeArg, TimeArg] | null): Promise<void> {
    await this.r.call('futimens', fd, times);
  }
  async mknod(p: string, mode: number, dev: number): Promise<void> {
    await this.r.call('mknod', p, mode, dev);
  }
  async mkfifo(p: string, mode: number): Promise<void> {
    // mkfifo(3) is mknod(path, S_IFIFO | mode, 0).
    await this.r.call('mknod', p, C.S_IFIFO | (mode & 0o7777), 0);
  }
  async statfs(p: string): Promise<TStatfs> {
    return (await this.r.call('statfs', p)) as TStatfs;
  }
  async chdir(p: string): Promise<void> {
    await this.r.call('chdir', p);
  }
  async getcwd(): Promise<string> {
    return (await this.r.call('getcwd')) as string;
  }
  async umask(mask: number): Promise<number> {
    return (await this.r.call('umask', mask)) as number;
  }
  async openat(dirfd: number, p: string, flags: number, mode?: number): Promise<number> {
    return (await this.r.call('openat', dirfd, p, flags, mode)) as number;
  }
  async mkdirat(dirfd: number, p: string, mode: number): Promise<void> {
    await this.r.call('mkdirat', dirfd, p, mode);
  }
  async unlinkat(dirfd: number, p: string, flags: number): Promise<void> {
    await this.r.call('unlinkat', dirfd, p, flags);
  }
  async renameat(ofd: number, a: string, nfd: number, b: string): Promise<void> {
    await this.r.call('renameat', ofd, a, nfd, b);
  }
  async linkat(ofd: number, a: string, nfd: number, b: string, flags: number): Promise<void> {
    await this.r.call('linkat', ofd, a, nfd, b, flags);
  }
  async symlinkat(target: string, dirfd: number, p: string): Promise<void> {
    await this.r.call('symlinkat', target, dirfd, p);
  }
  async readlinkat(dirfd: number, p: string): Promise<string> {
    return (await this.r.call('readlinkat', dirfd, p)) as string;
  }
  async fstatat(dirfd: number, p: string, flags: number): Promise<TStat> {
    return (await this.r.call('fstatat', dirfd, p, flags)) as TStat;
  }
  async faccessat(dirfd: number, p: string, mode: number, flags: number): Promise<void> {
    await this.r.call('faccessat', dirfd, p, mode, flags);
  }
  async fchmodat(dirfd: number, p: string, mode: number): Promise<void> {
    await this.r.call('fchmodat', dirfd, p, mode);
  }
  async fchownat(dirfd: number, p: string, uid: number, gid: number, flags: number): Promise<void> {
    await this.r.call('fchownat', dirfd, p, uid, gid, flags);
  }
  async fchdir(fd: number): Promise<void> {
    await this.r.call('fchdir', fd);
  }
  async readv(fd: number, sizes: number[]): Promise<Uint8Array[]> {
    return (await this.r.call('readv', fd, sizes)) as Uint8Array[];
  }
  async writev(fd: number, parts: (Uint8Array | string)[]): Promise<number> {
    return (await this.r.call('writev', fd, parts)) as number;
  }
  async fdatasync(fd: number): Promise<void> {
    await this.r.call('fdatasync', fd);
  }
  async flock(fd: number, op: number): Promise<void> {
    await this.r.call('flock', fd, op);
  }

  async creat(p: string, mode: number): Promise<number> {
    // creat(2) is defined as exactly this open(2).
    return (await this.r.call('open', p, C.O_CREAT | C.O_WRONLY | C.O_TRUNC, mode)) as number;
  }
  async statx(dirfd: number, p: string, flags: number, mask: number): Promise<TStatx> {
    return (await this.r.call('statx', dirfd, p, flags, mask)) as TStatx;
  }
  async fstatfs(fd: number): Promise<TStatfs> {
    return (await this.r.call('fstatfs', fd)) as TStatfs;
  }
  async sync(): Promise<void> {
    await this.r.call('sync');
  }
  async syncfs(fd: number): Promise<void> {
    await this.r.call('syncfs', fd);
  }
  async pathconf(p: string, name: number): Promise<number> {
    return (await this.r.call('pathconf', p, name)) as number;
  }
  async mountTmpfs(_p: string, _opts: MountOpts = {}): Promise<void> {
    throw new Error(`${this.name}: caps.mount is false`);
  }
  async mount(_source: string, _p: string, _fstype: string, _flags: number, _data: string): Promise<void> {
    throw new Error(`${this.name}: caps.mount is false`);
  }
  async umount(_p: string): Promise<void> {
    throw new Error(`${this.name}: caps.mount is false`);
  }
  asUser(_uid: number, _gid: number, _groups?: number[]): Promise<Target> {
    return Promise.reject(new Error(`${this.name}: asUser is not supported here`));
  }
  async teardown(): Promise<void> {}
}

class HostTarget extends RunnerTarget {
  private readonly shared: HostShared;
  private readonly isOwner: boolean;

  constructor(name: string, shared: HostShared, runner: OpRunner, isOwner: boolean) {
    super(name, shared.caps, shared.root, runner);
    this.shared = shared;
    this.isOwner = isOwner;
  }

  private abs(p: string): string {
    return path.resolve(this.root, p);
  }

  override async mountTmpfs(p: string, opts: MountOpts = {}): Promise<void> {
    const flags = (opts.readonly ? C.MS_RDONLY : 0) | (opts.remount ? C.MS_REMOUNT : 0);
    // Without size= a host tmpfs may take half the RAM; the kernel's default is its own.
    const data = opts.data ?? (opts.remount ? '' : 'size=16m,mode=0755');
    await this.mount('tmpfs', p, 'tmpfs', flags, data);
  }
  override async mount(source: string, p: string, fstype: string, flags: number, data: string): Promise<void> {
    const abs = this.abs(p);
    await this.r.call('mount', source, abs, fstype, flags, data);
    if ((flags & C.MS_REMOUNT) === 0) this.shared.mounts.push(abs);
  }
  override async umount(p: string): Promise<void> {
    const abs = this.abs(p);
    await this.r.call('umount', abs, 0);
    const i = this.shared.mounts.lastIndexOf(abs);
    if (i >= 0) this.shared.mounts.splice(i, 1);
  }

  override async asUser(uid: number, gid: number, groups: number[] = []): Promise<Target> {
    if (!this.caps.users) throw new Error('host target: asUser needs root (caps.users is false)');
    const key = `${uid}:${gid}:${groups.join(',')}`;
    const have = this.shared.users.get(key);
    if (have !== undefined) return have;
    const r = await OpRunner.acquire({ root: this.root, uid, gid, groups });
    this.shared.runners.push(r);
    const t = new HostTarget(`${this.name}(uid ${uid})`, this.shared, r, false);
    this.shared.users.set(key, t);
    return t;
  }

  override async teardown(): Promise<void> {
    if (!this.isOwner) return;
    // MNT_DETACH: a test may have left files open on a mount.
    for (const m of this.shared.mounts.reverse()) await this.r.call('umount', m, 2).catch(() => {});
    this.shared.mounts.length = 0;
    for (const r of this.shared.runners) await r.release();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

export const hostTarget: TargetFactory = {
  name: 'host',
  async available() {
    return true;
  },
  async setup(): Promise<Target> {
    const root = fs.mkdtempSync(path.join(baseDir(), 'akconf-'));
    fs.chmodSync(root, 0o755);
    const tmpfsRoot = fs.statfsSync(root).type === C.TMPFS_MAGIC;
    const caps: Capabilities = { users: isRoot, mount: isRoot, renameat2: true, mknodDevices: isRoot, tmpfsRoot, innerMountIdentity: true, roMountMissingNameErofs: true, permissionBeforeVictimType: true, specialFileModeChecks: true, dotdotSearchCheck: true, accessAsksServer: true };
    const r = await OpRunner.acquire({ root, umask: 0o022 });
    const shared: HostShared = { root, caps, runners: [r], mounts: [], users: new Map() };
    return new HostTarget('host', shared, r, true);
  },
};
