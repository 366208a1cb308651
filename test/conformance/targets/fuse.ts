/**
 * The FUSE target: the host target pointed at a FUSE mount of a kernel — issue 4's "the VFS
 * conformance suite through the FUSE mount, run on the host through node:fs against the mount
 * point". A kernel is served by `anykernel mount` (src/frontends/fuse/cli.ts) in a child process,
 * one per test file (started on first use, stopped when the test process exits); every test gets
 * a fresh directory on the mount, and every call runs in a host op runner process
 * (../host/op-runner.mjs) exactly as for the host target, so the whole path is
 * node:fs → host kernel → /dev/fuse → KernelFuseServer → kernel VFS.
 *
 * Mount options: `allow_other` (asUser runners are other host users) without
 * `default_permissions`, so every permission decision is the anykernel kernel's, not the host's;
 * entry and attribute caching off (timeouts 0) so each stat sees the kernel's current attributes.
 *
 * Capabilities: users and device nodes need root (as on the host); `mount` is false — a tmpfs
 * mounted inside the FUSE mount would be the host's, not the kernel's; `tmpfsRoot` is false (statfs
 * says FUSE_SUPER_MAGIC). Known differences are in ../KNOWN-FAILURES.md (FUSE section).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OpRunner } from '../host/runner-client.ts';
import type { Capabilities, Target, TargetFactory } from '../target.ts';
import { RunnerTarget } from './host.ts';
import { fusePrerequisite, startMount, type Mounted } from '../../fuse/mount.ts';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

let mounted: Promise<Mounted> | undefined;

/** The shared mount of this test process (started once). */
function mount(): Promise<Mounted> {
  mounted ??= startMount({ options: ['allow_other', 'entry_timeout=0', 'attr_timeout=0'] }).then((m) => {
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
  root: string;
  caps: Capabilities;
  runners: OpRunner[];
  users: Map<string, FuseTarget>;
}

/** The runner-backed mapping comes from RunnerTarget (host.ts); only mounts, users and teardown differ. */
class FuseTarget extends RunnerTarget {
  private readonly shared: FuseShared;
  private readonly isOwner: boolean;

  constructor(name: string, shared: FuseShared, runner: OpRunner, isOwner: boolean) {
    super(name, shared.caps, shared.root, runner);
    this.shared = shared;
    this.isOwner = isOwner;
  }

  override async mountTmpfs(): Promise<void> {
    throw new Error('fuse target: caps.mount is false (a tmpfs mounted here would be the host\'s)');
  }
  override async umount(): Promise<void> {
    throw new Error('fuse target: caps.mount is false');
  }

  override async asUser(uid: number, gid: number, groups: number[] = []): Promise<Target> {
    if (!this.caps.users) throw new Error('fuse target: asUser needs root (caps.users is false)');
    const key = `${uid}:${gid}:${groups.join(',')}`;
    const have = this.shared.users.get(key);
    if (have !== undefined) return have;
    const r = await OpRunner.acquire({ root: this.root, uid, gid, groups });
    this.shared.runners.push(r);
    const t = new FuseTarget(`${this.name}(uid ${uid})`, this.shared, r, false);
    this.shared.users.set(key, t);
    return t;
  }

  override async teardown(): Promise<void> {
    if (!this.isOwner) return;
    for (const r of this.shared.runners) await r.release();
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
    const caps: Capabilities = { users: isRoot, mount: false, renameat2: true, mknodDevices: isRoot, tmpfsRoot: false };
    const r = await OpRunner.acquire({ root, umask: 0o022 });
    const shared: FuseShared = { root, caps, runners: [r], users: new Map() };
    return new FuseTarget('fuse', shared, r, true);
  },
};
