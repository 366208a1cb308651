/**
 * Targets that reach the kernel through the remote-syscall frontends
 * (src/frontends/sysproxy), reusing SysTarget's mapping:
 *
 *   remote-unix   a fresh kernel per test served on a unix socket; calls go
 *                 through connect(); asUser is another connection whose HELLO
 *                 asks for the uid/gid/groups (lowering from root).
 *   worker-async  one kernel in a worker_thread for the whole run, a fresh
 *                 root directory and connection per test; calls over a
 *                 MessagePort.
 *   worker-sync   the same worker, calls through the synchronous
 *                 SharedArrayBuffer client (each wrapped in a promise).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { boot } from '../../../src/frontends/library/boot.ts';
import { serve, type SysproxyServer } from '../../../src/frontends/sysproxy/server.ts';
import { connect, type RemoteKernel } from '../../../src/frontends/sysproxy/client.ts';
import { startWorkerKernel, type SyncClient, type WorkerKernel } from '../../../src/frontends/sysproxy/worker.ts';
import type { Welcome } from '../../../src/frontends/sysproxy/protocol.ts';
import type { Capabilities, Target, TargetFactory } from '../target.ts';
import { SysTarget, type SysLike } from './kernel.ts';

function kindsOf(w: Welcome): (name: string) => readonly string[] | undefined {
  const m = new Map(w.syscalls.map(([name, , kinds]) => [name, kinds]));
  return (name) => m.get(name);
}

function capsOf(w: Welcome): Capabilities {
  const has = (n: string): boolean => w.syscalls.some(([name]) => name === n);
  return { users: true, mount: has('mount') && has('umount2'), renameat2: has('renameat2'), mknodDevices: true, tmpfsRoot: true, innerMountIdentity: true, roMountMissingNameErofs: true, permissionBeforeVictimType: true, specialFileModeChecks: true, dotdotSearchCheck: true, accessAsksServer: true };
}

async function enter(sys: SysLike, root: string, create: boolean): Promise<void> {
  if (create) await sys.mkdir!(root, 0o755);
  await sys.chdir!(root);
  await sys.umask!(0o022);
}

/** A SysTarget over one remote process; `onTeardown` releases what it holds. */
class ProxyTarget extends SysTarget {
  private readonly makeUser: (uid: number, gid: number, groups: number[]) => Promise<Target>;
  private readonly onTeardown: () => Promise<void>;

  constructor(name: string, caps: Capabilities, root: string, sys: SysLike, w: Welcome,
    makeUser: (uid: number, gid: number, groups: number[]) => Promise<Target>, onTeardown: () => Promise<void>) {
    super(name, caps, root, sys, kindsOf(w));
    this.makeUser = makeUser;
    this.onTeardown = onTeardown;
  }

  override asUser(uid: number, gid: number, groups: number[] = []): Promise<Target> {
    return this.makeUser(uid, gid, groups);
  }

  override async teardown(): Promise<void> {
    await this.onTeardown();
  }
}

// ---- remote-unix ------------------------------------------------------------------------

const ROOT = '/conformance';

export const remoteUnixTarget: TargetFactory = {
  name: 'remote-unix',
  async available() {
    const k = await boot();
    const ok = typeof (k.sys as unknown as SysLike).open === 'function';
    await k.shutdown();
    return ok ? true : 'the kernel has no VFS yet';
  },
  async setup(): Promise<Target> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-conf-'));
    const k = await boot();
    const srv: SysproxyServer = await serve({ listen: `unix:${path.join(dir, 'k.sock')}`, kernel: k });
    const users: RemoteKernel[] = [];
    const rk = await connect(srv.address, { comm: 'conformance' });
    await enter(rk.sys as unknown as SysLike, ROOT, true);
    const caps = capsOf(rk.welcome);
    const makeUser = async (uid: number, gid: number, groups: number[]): Promise<Target> => {
      const u = await connect(srv.address, { uid, gid, groups, comm: `conf-${uid}` });
      users.push(u);
      await enter(u.sys as unknown as SysLike, ROOT, false);
      return new ProxyTarget(`remote-unix(uid ${uid})`, caps, ROOT, u.sys as unknown as SysLike, u.welcome, makeUser, async () => {});
    };
    return new ProxyTarget('remote-unix', caps, ROOT, rk.sys as unknown as SysLike, rk.welcome, makeUser, async () => {
      for (const u of users) await u.close();
      await rk.close();
      await srv.close();
      await k.shutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    });
  },
};

// ---- worker-async / worker-sync ------------------------------------------------------------

let shared: Promise<WorkerKernel> | null = null;
let nextRoot = 1;

/** One kernel worker for the whole run (starting one per test would dominate the run time). */
function sharedWorker(): Promise<WorkerKernel> {
  if (shared === null) {
    shared = startWorkerKernel().then((wk) => {
      wk.worker.unref();
      return wk;
    });
  }
  return shared;
}

function syncAsAsync(c: SyncClient): SysLike {
  const out: SysLike = Object.create(null);
  const sys = c.sys as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const [name] of c.welcome.syscalls) {
    out[name] = (...args: unknown[]) => {
      try {
        return Promise.resolve(sys[name]!(...args));
      } catch (e) {
        return Promise.reject(e);
      }
    };
  }
  return out;
}

function workerTarget(name: 'worker-async' | 'worker-sync'): TargetFactory {
  return {
    name,
    async available() {
      const wk = await sharedWorker();
      return typeof (wk.sys as unknown as SysLike).open === 'function' ? true : 'the kernel has no VFS yet';
    },
    async setup(): Promise<Target> {
      const wk = await sharedWorker();
      const root = `/conf-${name}-${nextRoot++}`;
      const open = async (opts: { uid?: number; gid?: number; groups?: number[] }): Promise<{ sys: SysLike; w: Welcome; close(): Promise<void> }> => {
        if (name === 'worker-async') {
          const c = await wk.connect({ ...opts, comm: 'conformance' });
          return { sys: c.sys as unknown as SysLike, w: c.welcome, close: () => c.close() };
        }
        const s = wk.syncClient({ ...opts, comm: 'conformance' });
        return { sys: syncAsAsync(s), w: s.welcome, close: async () => s.close() };
      };
      const main = await open({});
      await enter(main.sys, root, true);
      const caps = capsOf(main.w);
      const users: { close(): Promise<void> }[] = [];
      const makeUser = async (uid: number, gid: number, groups: number[]): Promise<Target> => {
        const u = await open({ uid, gid, groups });
        users.push(u);
        await enter(u.sys, root, false);
        return new ProxyTarget(`${name}(uid ${uid})`, caps, root, u.sys, u.w, makeUser, async () => {});
      };
      return new ProxyTarget(name, caps, root, main.sys, main.w, makeUser, async () => {
        for (const u of users) await u.close();
        await main.close();
      });
    },
  };
}

export const workerAsyncTarget = workerTarget('worker-async');
export const workerSyncTarget = workerTarget('worker-sync');
