/**
 * The library frontend: `boot()` gives a kernel linked into the caller's
 * process, `k.sys.*` are its system calls (typed, async, Linux argument order,
 * failures reject with KernelError), and process contexts are rump's lwproc.
 *
 *     import { boot, O_CREAT, O_WRONLY } from 'anykernel';
 *     const k = await boot();
 *     const fd = await k.sys.open('/hello', O_CREAT | O_WRONLY, 0o644);
 *     await k.sys.write(fd, new TextEncoder().encode('hi\n'));
 *     await k.sys.close(fd);
 *     console.log(await k.sys.stat('/hello'));
 *     const report = await k.shutdown();   // leaked files, locks, threads
 *
 * Components are named; each name maps to a dynamic import, so a kernel
 * booted without a faction never loads its code.
 */
import type { Hypercalls } from '../../hyper/types.ts';
import {
  EINVAL, ESRCH, kernComponent, Kernel, KernelError, ProcHandle, rfork, type Component, type kernSyscalls,
  type LeakReport, type Proc, type RforkOpts, type SysOf,
} from '../../kern/index.ts';
import type { vfsSyscalls } from '../../vfs/index.ts';
import type { socketSyscalls } from '../../net/index.ts';

/** The base system calls every kernel has. */
export type KernSys = SysOf<typeof kernSyscalls>;
/** The file-system system calls (src/vfs). */
export type VfsSys = SysOf<typeof vfsSyscalls>;
/** The socket system calls (src/net). */
export type NetSys = SysOf<typeof socketSyscalls>;

/**
 * All system calls of a full kernel. Factions extend this interface by
 * declaration merging in their own frontend typing files (see ./sys-types.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Sys extends KernSys, VfsSys, NetSys {}

/** Component loaders by name: the only place that knows where factions live. */
export const componentLoaders: Record<string, () => Promise<Component[]>> = {
  kern: async () => [kernComponent],
  vfs: async () => [(await import('../../vfs/index.ts')).vfsComponent],
  tmpfs: async () => [(await import('../../vfs/index.ts')).vfsComponent, (await import('../../vfs/index.ts')).tmpfsComponent],
  dev: async () => [(await import('../../dev/index.ts')).devComponent],
  devfs: async () => [(await import('../../vfs/index.ts')).vfsComponent, (await import('../../vfs/index.ts')).devfsComponent],
  procfs: async () => [(await import('../../vfs/index.ts')).vfsComponent, (await import('../../vfs/index.ts')).procfsComponent],
  etfs: async () => [(await import('../../vfs/index.ts')).vfsComponent, (await import('../../vfs/index.ts')).etfsComponent],
  net: async () => [(await import('../../net/index.ts')).netComponent],
  blk: async () => [(await import('../../dev/index.ts')).blkComponent],
  ext2: async () => [(await import('../../vfs/index.ts')).vfsComponent, (await import('../../dev/index.ts')).blkComponent, (await import('../../vfs/index.ts')).ext2Component],
};

/** Components a plain `boot()` gets: every faction the project has. */
export const defaultComponents: string[] = ['kern', 'vfs', 'tmpfs', 'dev', 'devfs', 'procfs', 'etfs', 'blk', 'ext2', 'net'];

/**
 * Where a kernel booted without `host` gets one. Nothing is installed here,
 * so this module (and the root entry) loads no `node:*` module: the node
 * entries (`anykernel` under the `node` export condition, `anykernel/node`)
 * install a NodeHost factory; elsewhere `boot()` needs `{ host }`.
 */
let defaultHost: ((hints?: HostHints) => Hypercalls) | null = null;

/** What boot() asks of a default host beyond the defaults: TAP interfaces (`net: { eth0: { tap } }`). */
export interface HostHints {
  taps?: Record<string, import('../../hyper/node/tap.ts').UdpNetifSpec>;
}

/** Install the host factory `boot()` uses when no `host` is given (null removes it). */
export function setDefaultHost(factory: ((hints?: HostHints) => Hypercalls) | null): void {
  defaultHost = factory;
}

export interface BootOptions {
  /** Hypercall host (default: the installed default host — a NodeHost under Node). */
  host?: Hypercalls;
  /** Component names or objects (default: all). 'kern' is always included. */
  components?: (string | Component)[];
  /**
   * The root file system: 'tmpfs' (default) or 'ext2:IMAGE' (a host image path on the node
   * host, a disk name on the sim host; append ':ro' for read-only).
   */
  root?: string;
  /** Network interfaces to attach and configure (net_boot.ts): `{ eth0: { bus | tap | sim, addr, gateway? } }`. */
  net?: import('./net_boot.ts').NetOptions;
}

export class BootedKernel {
  readonly kernel: Kernel;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }

  /** System calls as the current library process. */
  get sys(): Sys {
    return this.kernel.sys as unknown as Sys;
  }

  get hyper(): Hypercalls {
    return this.kernel.hyper;
  }

  /** The process k.sys currently acts as. */
  get curproc(): Proc {
    return this.kernel.cur.proc;
  }

  /** Create a process (rump_lwproc_rfork); returns a handle with its own bound sys. */
  rfork(opts: RforkOpts = {}): ProcHandle {
    return new ProcHandle(this.kernel, rfork(this.kernel, opts));
  }

  /** Make a process current for k.sys (rump_lwproc_switch). */
  switch(p: ProcHandle | Proc | number): void {
    const proc = typeof p === 'number' ? this.kernel.procs.get(p) : p instanceof ProcHandle ? p.proc : p;
    if (proc === undefined || proc.pid === 0) throw new KernelError(ESRCH, 'lwproc_switch');
    if (proc.state !== 'alive') throw new KernelError(EINVAL, 'lwproc_switch');
    this.kernel.cur.proc = proc;
  }

  /** A handle for an existing pid. */
  proc(pid: number): ProcHandle {
    const p = this.kernel.procs.get(pid);
    if (p === undefined || pid === 0 || p.state === 'reaped') throw new KernelError(ESRCH, 'lwproc');
    return new ProcHandle(this.kernel, p);
  }

  /** End a library process (rump_lwproc_releaselwp): it becomes a zombie for its parent to reap. */
  async exit(p: ProcHandle | Proc, status = 0): Promise<void> {
    const proc = p instanceof ProcHandle ? p.proc : p;
    await this.kernel.exitProc(proc, (status & 0xff) << 8);
  }

  /** The kernel message buffer, dmesg-formatted. */
  dmesg(): string {
    return this.kernel.msgbuf.format();
  }

  /** Halt the kernel; reports what was still held. */
  shutdown(): Promise<LeakReport> {
    return this.kernel.shutdown();
  }
}

async function resolveComponents(list: (string | Component)[]): Promise<Component[]> {
  const out: Component[] = [];
  const seen = new Set<string>();
  const names = list.some((c) => c === 'kern' || (typeof c !== 'string' && c.name === 'kern')) ? list : ['kern', ...list];
  for (const c of names) {
    if (typeof c !== 'string') {
      if (!seen.has(c.name)) out.push(c);
      seen.add(c.name);
      continue;
    }
    const load = componentLoaders[c];
    if (load === undefined) throw new Error(`unknown component '${c}' (known: ${Object.keys(componentLoaders).join(', ')})`);
    for (const comp of await load()) {
      if (seen.has(comp.name)) continue;
      seen.add(comp.name);
      out.push(comp);
    }
  }
  return out;
}

/** A host that models time itself (SimHost) and can hold its clock for unmodelled host work. */
interface OutsideAware {
  outside<T>(work: Promise<T>): Promise<T>;
}

function hasOutside(host: Hypercalls): host is Hypercalls & OutsideAware {
  return typeof (host as Partial<OutsideAware>).outside === 'function';
}

/** Put the component mounting `root` ahead of tmpfs (which mounts a root only when none is). */
async function withRoot(comps: Component[], root: string): Promise<Component[]> {
  const m = /^ext2:(.+?)(:ro)?$/.exec(root);
  if (m === null) throw new Error(`root '${root}': expected tmpfs or ext2:IMAGE[:ro]`);
  const { ext2RootComponent } = await import('../../vfs/index.ts');
  const out = comps.filter((c) => c.name !== 'ext2');
  for (const c of await resolveComponents(['vfs', 'blk'])) if (!out.some((o) => o.name === c.name)) out.push(c);
  const at = out.findIndex((c) => c.name === 'tmpfs');
  out.splice(at < 0 ? out.length : at, 0, ext2RootComponent(m[1]!, m[2] !== undefined));
  return out;
}

/** Boot a kernel in this process. */
export async function boot(opts: BootOptions = {}): Promise<BootedKernel> {
  let host = opts.host;
  if (host === undefined) {
    if (defaultHost === null) {
      throw new TypeError(
        "boot(): no host given and no default host installed. Under Node, import from 'anykernel' or 'anykernel/node' " +
          "(they install a NodeHost); elsewhere pass one: boot({ host: new SimHost() }) with SimHost from 'anykernel/sim', " +
          'or your own Hypercalls implementation.',
      );
    }
    const taps = opts.net ? (await import('./net_boot.ts')).tapSpecs(opts.net) : undefined;
    host = defaultHost(taps ? { taps } : undefined);
  }
  // Loading components is a dynamic import: real host work that a simulation
  // host does not model. Inside sim.run(...) it must hold the virtual clock
  // instead of looking like a deadlock, so a host that offers outside() gets it.
  const loading = resolveComponents(opts.components ?? defaultComponents);
  const components = await (hasOutside(host) ? host.outside(loading) : loading);
  const k = new Kernel(host);
  let comps = components;
  if (opts.root !== undefined && opts.root !== 'tmpfs') {
    const rooted = withRoot(comps, opts.root);
    comps = await (hasOutside(host) ? host.outside(rooted) : rooted);
  }
  await k.boot(comps);
  if (opts.net) await (await import('./net_boot.ts')).configureNet(k, host, opts.net);
  return new BootedKernel(k);
}
