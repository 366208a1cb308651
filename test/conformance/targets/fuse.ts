/**
 * The FUSE target: the host target pointed at a FUSE mount of a kernel: the VFS
 * conformance suite through the FUSE mount, run on the host through node:fs against the mount
 * point. A kernel is served by `anykernel mount --listen unix:SOCK` (src/frontends/fuse/cli.ts)
 * in a child process, one per test file (started on first use, stopped when the test process
 * exits); every test gets a fresh directory on the mount, and every call runs in a host op runner
 * process (../host/op-runner.mjs) exactly as for the host target, so the whole path is
 * node:fs → host kernel → /dev/fuse → KernelFuseServer → kernel VFS.
 *
 * Two targets, two mounts:
 *   - `fuse`: `allow_other` (asUser runners are other host users) without `default_permissions`,
 *     so every permission decision is the anykernel kernel's, not the host's;
 *   - `fuse-dp`: `allow_other,default_permissions`, the multi-user configuration the CLI
 *     documents: the host checks mode bits from the server's attributes before it asks the
 *     server, in Linux's order, and the server checks again with the caller's credentials.
 * Both turn entry and attribute caching off (timeouts 0) so each stat sees the kernel's current
 * attributes.
 *
 * mount(2)/umount2(2) (caps.mount) run inside the served kernel through its system-call socket,
 * as a client with the target's credentials; the new file system shows through the FUSE mount.
 * umount retries once after asking the host to drop unused cached inodes (its cache holds FUSE
 * lookups on the mounted file system; see KNOWN-FAILURES.md, FUSE section).
 *
 * Capabilities: users and device nodes need root (as on the host); `tmpfsRoot` is false (statfs
 * says FUSE_SUPER_MAGIC). Known differences are in ../KNOWN-FAILURES.md (FUSE section).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { OpRunner } from '../host/runner-client.ts';
import { C, type Capabilities, type MountOpts, type Target, type TargetFactory } from '../target.ts';
import { connect, type RemoteKernel } from '../../../src/frontends/sysproxy/client.ts';
import { RunnerTarget } from './host.ts';
import { fusePrerequisite, startMount, type Mounted } from '../../fuse/mount.ts';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

interface Served {
  mount: Mounted;
  /** The served kernel's system-call socket (`anykernel mount --listen`), for mount/umount. */
  sockPath: string;
}

/** The shared mounts of this test process, by option set (each started once). */
const mounted = new Map<string, Promise<Served>>();

function mount(options: string[], extraArgs: string[] = []): Promise<Served> {
  const key = [...options, ...extraArgs].join(',');
  let m = mounted.get(key);
  if (m === undefined) {
    const sockPath = path.join(os.tmpdir(), `akfuse-conf-${process.pid}-${mounted.size}.sock`);
    m = startMount({ options, args: [...extraArgs, '--listen', `unix:${sockPath}`] }).then((mount) => {
      // Stop the server with this process; SIGTERM makes it unmount and exit on its own.
      process.once('exit', () => {
        if (mount.child.exitCode === null) mount.child.kill('SIGTERM');
      });
      mount.child.unref();
      for (const s of [mount.child.stdout, mount.child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
      return { mount, sockPath };
    });
    mounted.set(key, m);
  }
  return m;
}

interface FuseShared {
  /** The FUSE mount point (host path of the kernel's "/"). */
  mountDir: string;
  sockPath: string;
  /** Kernel-side clients per credentials, for mount(2)/umount2(2). */
  clients: Map<string, RemoteKernel>;
  /** Kernel paths of mounts a test made, newest last. */
  mounts: string[];
  root: string;
  caps: Capabilities;
  runners: OpRunner[];
  users: Map<string, FuseTarget>;
}

/** The runner-backed mapping comes from RunnerTarget (host.ts); only mounts, users and teardown differ. */
class FuseTarget extends RunnerTarget {
  private readonly shared: FuseShared;
  private readonly isOwner: boolean;

  private readonly cred: { uid: number; gid: number; groups: number[] };

  constructor(name: string, shared: FuseShared, runner: OpRunner, isOwner: boolean, cred = { uid: 0, gid: 0, groups: [] as number[] }) {
    super(name, shared.caps, shared.root, runner);
    this.cred = cred;
    this.shared = shared;
    this.isOwner = isOwner;
  }

  /** The kernel path of a host path on the mount (the kernel's "/" is the mount point). */
  private kpath(p: string): string {
    const rel = path.relative(this.shared.mountDir, path.resolve(this.root, p));
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`fuse target: ${p} is not on the FUSE mount`);
    return '/' + rel;
  }

  /** A system-call client of the served kernel acting with this target's credentials. */
  private async client(): Promise<RemoteKernel> {
    const key = `${this.cred.uid}:${this.cred.gid}:${this.cred.groups.join(',')}`;
    let c = this.shared.clients.get(key);
    if (c === undefined) {
      c = await connect(`unix:${this.shared.sockPath}`, this.cred.uid === 0 ? {} : this.cred);
      this.shared.clients.set(key, c);
    }
    return c;
  }

  override async mountTmpfs(p: string, opts: MountOpts = {}): Promise<void> {
    const flags = (opts.readonly ? C.MS_RDONLY : 0) | (opts.remount ? C.MS_REMOUNT : 0);
    await this.mount('tmpfs', p, 'tmpfs', flags, opts.data ?? '');
  }
  override async mount(source: string, p: string, fstype: string, flags: number, data: string): Promise<void> {
    // mount(2) inside the served kernel: the new file system shows through the FUSE mount.
    const kp = this.kpath(p);
    const c = await this.client();
    // A read-only remount is EBUSY while a file is open for writing. The host's close(2) returns
    // before its FUSE RELEASE reaches the server (fuse_file_put sends it asynchronously), so a
    // remount right after closing the last writer can still see it: retry EBUSY briefly. A writer
    // that is really open keeps it EBUSY (mounts.test.ts asserts that too).
    for (let i = 0; ; i++) {
      try {
        await c.sys.mount(source, kp, fstype, flags, data);
        break;
      } catch (e) {
        const again = (e as { code?: string }).code === 'EBUSY' && (flags & (C.MS_REMOUNT | C.MS_RDONLY)) === (C.MS_REMOUNT | C.MS_RDONLY) && i < 20;
        if (!again) throw e;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    if ((flags & C.MS_REMOUNT) === 0) this.shared.mounts.push(kp);
  }
  override async umount(p: string): Promise<void> {
    const kp = this.kpath(p);
    const c = await this.client();
    try {
      await c.sys.umount2(kp, 0);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EBUSY') throw e;
      // The host's inode cache holds FUSE lookups (vnode references in the server) on the
      // mounted file system long after its last use; a local tmpfs has no such holder. Ask the
      // host to drop unused dentries and inodes (it sends FORGET), then try once more: open
      // files and cwds inside still keep it busy, as they must.
      fs.writeFileSync('/proc/sys/vm/drop_caches', '2');
      await new Promise((r) => setTimeout(r, 100));
      await c.sys.umount2(kp, 0);
    }
    const i = this.shared.mounts.lastIndexOf(kp);
    if (i >= 0) this.shared.mounts.splice(i, 1);
  }

  override async asUser(uid: number, gid: number, groups: number[] = []): Promise<Target> {
    if (!this.caps.users) throw new Error('fuse target: asUser needs root (caps.users is false)');
    const key = `${uid}:${gid}:${groups.join(',')}`;
    const have = this.shared.users.get(key);
    if (have !== undefined) return have;
    const r = await OpRunner.acquire({ root: this.root, uid, gid, groups });
    this.shared.runners.push(r);
    const t = new FuseTarget(`${this.name}(uid ${uid})`, this.shared, r, false, { uid, gid, groups });
    this.shared.users.set(key, t);
    return t;
  }

  override async teardown(): Promise<void> {
    if (!this.isOwner) return;
    for (const r of this.shared.runners) await r.release();
    // Detach what the test left mounted (open files may keep it busy), then end the clients.
    const root = this.shared.clients.get('0:0:');
    for (const kp of this.shared.mounts.reverse()) await root?.sys.umount2(kp, 2 /* MNT_DETACH */).catch(() => {});
    for (const c of this.shared.clients.values()) await c.close().catch(() => {});
    // The server runs in another process: synchronous calls on the mount are safe here.
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * `served` gives extra `anykernel mount` arguments (another file system than the tmpfs root,
 * e.g. `--type ext2 --image IMG`), made once per test process.
 */
function fuseFactory(name: string, options: string[], hostChecksPermissions: boolean, served?: () => string[]): TargetFactory {
  let extra: string[] | undefined;
  return {
    name,
    async available() {
      const missing = fusePrerequisite();
      if (missing === undefined) return true;
      // Under CI the FUSE path must be exercised: a missing prerequisite fails the target.
      if (process.env.CI === 'true') throw new Error(`${name} target: ${missing} (CI runs as root with /dev/fuse)`);
      return `${missing}; the FUSE targets need root and /dev/fuse`;
    },
    async setup(): Promise<Target> {
      extra ??= served?.() ?? [];
      const { mount: m, sockPath } = await mount(options, extra);
      const root = fs.mkdtempSync(path.join(m.dir, 'akconf-'));
      fs.chmodSync(root, 0o755);
      const caps: Capabilities = { users: isRoot, mount: true, renameat2: true, mknodDevices: isRoot, tmpfsRoot: false,
        // FUSE protocol limits (test/README.md DIFFERENCES): one st_dev for the whole mount.
        innerMountIdentity: false, roMountMissingNameErofs: false,
        // Without default_permissions the host's lookup and may_delete() run before the server
        // is asked; with it, the host makes those permission checks itself, in Linux's order.
        permissionBeforeVictimType: hostChecksPermissions, specialFileModeChecks: hostChecksPermissions, dotdotSearchCheck: hostChecksPermissions,
        // With default_permissions the host answers access(2) from the mode bits alone.
        accessAsksServer: !hostChecksPermissions };
      const r = await OpRunner.acquire({ root, umask: 0o022 });
      const shared: FuseShared = { mountDir: m.dir, sockPath, clients: new Map(), mounts: [], root, caps, runners: [r], users: new Map() };
      return new FuseTarget(name, shared, r, true);
    },
  };
}

export const fuseTarget = fuseFactory('fuse', ['allow_other', 'entry_timeout=0', 'attr_timeout=0'], false);
export const fuseDpTarget = fuseFactory('fuse-dp', ['allow_other', 'default_permissions', 'entry_timeout=0', 'attr_timeout=0'], true);
/** `fuse` over an ext2 image (mkfs.ext2, 4 KiB blocks, 256 MiB) instead of the tmpfs root: lklfuse's use. */
export const fuseExt2Target = fuseFactory('fuse-ext2', ['allow_other', 'entry_timeout=0', 'attr_timeout=0'], false, () => {
  const img = path.join(os.tmpdir(), `akfuse-ext2-${process.pid}.img`);
  execFileSync('mkfs.ext2', ['-F', '-q', '-b', '4096', img, '256M']);
  process.once('exit', () => fs.rmSync(img, { force: true }));
  return ['--type', 'ext2', '--image', img];
});
