/**
 * Helpers for the VFS unit tests (not a test file itself): boot a kernel
 * with a tmpfs root, act as other processes, assert errno codes, move bytes.
 * It builds the kernel from kern's own pieces rather than the library
 * frontend, which src/vfs may not import (tools/check-arch.ts).
 */
import { expect } from 'vitest';
import { Kernel, type LeakReport } from '../kern/kernel.ts';
import { kernComponent, type kernSyscalls } from '../kern/kern_component.ts';
import { ProcHandle, rfork, type RforkOpts } from '../kern/lwproc.ts';
import type { SysOf } from '../kern/syscall.ts';
import type { Hypercalls } from '../hyper/types.ts';
import { SimHost } from '../hyper/sim/host.ts';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY } from '../kern/constants.ts';
import { vfsComponent } from './vfs_component.ts';
import type { vfsSyscalls } from './vfs_syscalls.ts';
import { tmpfsComponent } from './tmpfs.ts';

/** The system calls of a kern+vfs kernel, typed. */
export type Sys = SysOf<typeof kernSyscalls> & SysOf<typeof vfsSyscalls>;

/** The slice of the library's BootedKernel these tests use. */
export class BootedKernel {
  readonly kernel: Kernel;
  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }
  get sys(): Sys {
    return this.kernel.sys as unknown as Sys;
  }
  get curproc() {
    return this.kernel.cur.proc;
  }
  rfork(opts: RforkOpts = {}): ProcHandle {
    return new ProcHandle(this.kernel, rfork(this.kernel, opts));
  }
  async exit(p: ProcHandle, status = 0): Promise<void> {
    await this.kernel.exitProc(p.proc, (status & 0xff) << 8);
  }
  shutdown(): Promise<LeakReport> {
    return this.kernel.shutdown();
  }
}

/** Boot kern + vfs + tmpfs on the given host. */
export async function boot(opts: { host: Hypercalls }): Promise<BootedKernel> {
  const k = new Kernel(opts.host);
  await k.boot([kernComponent, vfsComponent, tmpfsComponent]);
  return new BootedKernel(k);
}

/** A kernel on the deterministic sim host; fn runs inside host.run (a deadlock fails the test). */
export async function simKernel<T>(fn: (k: BootedKernel, host: SimHost) => Promise<T>, seed = 1, params?: Record<string, string>): Promise<T> {
  // lockdep in strict mode: any lock-order report panics the test.
  const host = new SimHost({ seed, params: { lockdep: 'strict', ...params } });
  const k = await boot({ host });
  try {
    return await host.run(() => fn(k, host), { limitSteps: 5_000_000 });
  } finally {
    host.dispose();
  }
}

/** The typed syscalls of a process handle. */
export const sysOf = (h: ProcHandle): Sys => h.sys as unknown as Sys;

/** A process with the given credentials (created by root, so any ids are allowed). */
export function asUser(k: BootedKernel, uid: number, gid: number, groups: number[] = []): Sys {
  return sysOf(k.rfork({ uid, gid, groups }));
}

/** The errno code a promise fails with, or 'ok'. */
export function code(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? `non-errno failure: ${String(e)}`,
  );
}

export async function expectCode(p: Promise<unknown>, want: string): Promise<void> {
  expect(await code(p)).toBe(want);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export async function writeFile(s: Sys, path: string, data: string | Uint8Array = '', mode = 0o644): Promise<void> {
  const fd = await s.open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
  try {
    const b = typeof data === 'string' ? enc.encode(data) : data;
    if (b.byteLength > 0) await s.write(fd, b);
  } finally {
    await s.close(fd);
  }
}

export async function readFile(s: Sys, path: string): Promise<string> {
  const fd = await s.open(path, O_RDONLY);
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const b = new Uint8Array(65536);
      const n = await s.read(fd, b);
      if (n === 0) break;
      chunks.push(b.subarray(0, n));
    }
    return chunks.map((c) => dec.decode(c)).join('');
  } finally {
    await s.close(fd);
  }
}

/** Names in a directory (without . and ..), sorted. */
export async function ls(s: Sys, path: string): Promise<string[]> {
  const fd = await s.open(path, O_RDONLY);
  const names: string[] = [];
  try {
    for (;;) {
      const ents = (await s.getdents64(fd, 65536)) as { name: string }[];
      if (ents.length === 0) break;
      for (const e of ents) if (e.name !== '.' && e.name !== '..') names.push(e.name);
    }
  } finally {
    await s.close(fd);
  }
  return names.sort();
}


