/**
 * anykernel — the root entry point: `boot()` a kernel, call `k.sys.*`.
 *
 * Loads no `node:*` module, here or through anything it imports, so a bundler
 * can build it for a browser; there `boot()` needs `{ host }`. Under Node the
 * package resolves `anykernel` to ./entry/index.node.ts, which installs a
 * NodeHost as the default host and re-exports this file. Node-only things
 * live in `anykernel/node`, `anykernel/remote`, `anykernel/fs`.
 */
export {
  boot, BootedKernel, componentLoaders, defaultComponents, setDefaultHost,
  type BootOptions, type Sys, type KernSys, type VfsSys,
} from './frontends/library/boot.ts';
export * from './kern/constants.ts';
export { KernelError, errno, errnoName, strerror } from './kern/errno.ts';
export type { Stat, Timespec } from './kern/file.ts';
export type { Hypercalls } from './hyper/types.ts';
export type { LeakReport } from './kern/kernel.ts';
export type { ProcHandle, RforkOpts } from './kern/lwproc.ts';
export { Phase, type Component } from './kern/component.ts';
