/**
 * The FUSE target: the host target pointed at a FUSE mount of a kernel — issue 4's "the VFS
 * conformance suite through the FUSE mount, run on the host through node:fs against the mount
 * point". A kernel is served by `anykernel mount --listen unix:SOCK` (src/frontends/fuse/cli.ts)
 * in a child process, one per test file (started on first use, stopped when the test process
 * exits); every test gets a fresh directory on the mount, and every call runs in a host op runner
 * process (../host/op-runner.mjs) exactly as for the host target, so the whole path is
 * node:fs → host kernel → /dev/fuse → KernelFuseServer → kernel VFS.
 *
 * Mount options: `allow_other` (asUser runners are other host users) without
 * `default_permissions`, so every permission decision is the anykernel kernel's, not the host's;
 * entry and attribute caching off (timeouts 0) so each stat sees the kernel's current attributes.
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
import { OpRunner } from '../host/runner-client.ts';
import { C, type Capabilities, type MountOpts, type Target, type TargetFactory } from '../target.ts';
import { connect, type RemoteKernel } from '../../../src/frontends/sysproxy/client.ts';
import { RunnerTarget } from './host.ts';
import { fusePrerequisite, startMount, type Mounted } from '../../fuse/mount.ts';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

let mounted: Promise<Mounted> | undefined;
/** The served kernel's system-call socket (`anykernel mount --listen`), for mount/umount. */
let sockPath: string | undefined;

/** The shared mount of this test process (started once). */
function mount(): Promise<Mounted> {
  sockPath ??= path.join(os.tmpdir(), `akfuse-conf-${process.pid}.sock`);
  mounted ??= startMount({ options: ['allow_other', 'entry_timeout=0', 'attr_timeout=0'], args: ['--listen', `unix:${sockPath}`] }).then((m) => {
    // Stop the server with this process; SIGTERM makes it unmount and exit on its own.
    process.once('exit', () => {
      if (m.child.exitCode === null) m.child.kill('SIGTERM');
    });
    m.child.unref();
    for (const s of [m.child.stdout, m.child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    return m;
  });
  return mounted;
}

interface FuseShared {
  /** The FUSE mount point (host path of the kernel's "/"). */
  mountDir: string;
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
      c = await connect(`unix:${sockPath!}`, this.cred.uid === 0 ? {} : this.cred);
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

export const fuseTarget: TargetFactory = {
  name: 'fuse',
  async available() {
    const missing = fusePrerequisite();
    if (missing === undefined) return true;
    // Under CI the FUSE path must be exercised: a missing prerequisite fails the target.
    if (process.env.CI === 'true') throw new Error(`fuse target: ${missing} (CI runs as root with /dev/fuse)`);
    return `${missing}; the FUSE target needs root and /dev/fuse`;
  },
  async setup(): Promise<Target> {
    const m = await mount();
    const root = fs.mkdtempSync(path.join(m.dir, 'akconf-'));
    fs.chmodSync(root, 0o755);
    const caps: Capabilities = { users: isRoot, mount: true, renameat2: true, mknodDevices: isRoot, tmpfsRoot: false,
      // FUSE protocol limits (test/README.md DIFFERENCES): one st_dev for the whole mount; the
      // host's lookup and may_delete() run before the server is asked.
      innerMountIdentity: false, roMountMissingNameErofs: false, permissionBeforeVictimType: false,
      specialFileModeChecks: false, dotdotSearchCheck: false };
    const r = await OpRunner.acquire({ root, umask: 0o022 });
    const shared: FuseShared = { mountDir: m.dir, clients: new Map(), mounts: [], root, caps, runners: [r], users: new Map() };
    return new FuseTarget('fuse', shared, r, true);
  },
};
