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
import { Kernel, type LeakReport } from '../../kern/kernel.ts';
import type { Component } from '../../kern/component.ts';
import { kernComponent, type kernSyscalls } from '../../kern/kern_component.ts';
import { ProcHandle, rfork, type RforkOpts } from '../../kern/lwproc.ts';
import type { SysOf } from '../../kern/syscall.ts';
import type { Proc } from '../../kern/proc.ts';
import { EINVAL, ESRCH, KernelError } from '../../kern/errno.ts';
import type { vfsSyscalls } from '../../vfs/vfs_syscalls.ts';
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
  vfs: async () => [(await import('../../vfs/vfs_component.ts')).vfsComponent],
  tmpfs: async () => [(await import('../../vfs/vfs_component.ts')).vfsComponent, (await import('../../vfs/tmpfs.ts')).tmpfsComponent],
  dev: async () => [(await import('../../dev/dev_component.ts')).devComponent],
  devfs: async () => [(await import('../../vfs/vfs_component.ts')).vfsComponent, (await import('../../vfs/devfs.ts')).devfsComponent],
  procfs: async () => [(await import('../../vfs/vfs_component.ts')).vfsComponent, (await import('../../vfs/procfs.ts')).procfsComponent],
  etfs: async () => [(await import('../../vfs/vfs_component.ts')).vfsComponent, (await import('../../vfs/etfs.ts')).etfsComponent],
  net: async () => [(await import('../../net/index.ts')).netComponent],
};

/** Components a plain `boot()` gets: every faction the project has. */
export const defaultComponents: string[] = ['kern', 'vfs', 'tmpfs', 'dev', 'devfs', 'procfs', 'etfs', 'net'];

export interface BootOptions {
  /** Hypercall host (default: a NodeHost). */
  host?: Hypercalls;
  /** Component names or objects (default: all). 'kern' is always included. */
  components?: (string | Component)[];
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

/** Boot a kernel in this process. */
export async function boot(opts: BootOptions = {}): Promise<BootedKernel> {
  let host = opts.host;
  if (host === undefined) {
    const { NodeHost } = await import('../../hyper/node/host.ts');
    const taps = opts.net ? (await import('./net_boot.ts')).tapSpecs(opts.net) : undefined;
    host = new NodeHost(taps ? { taps } : {});
  }
  const k = new Kernel(host);
  await k.boot(await resolveComponents(opts.components ?? defaultComponents));
  if (opts.net) await (await import('./net_boot.ts')).configureNet(k, host, opts.net);
  return new BootedKernel(k);
}
