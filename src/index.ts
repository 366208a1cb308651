/**
 * anykernel — the library entry point. `boot()` a kernel, call `k.sys.*`.
 */
export { boot, BootedKernel, componentLoaders, defaultComponents, type BootOptions, type Sys } from './frontends/library/boot.ts';
export * from './kern/constants.ts';
export { KernelError, errno, errnoName, strerror } from './kern/errno.ts';
export type { Stat, Timespec } from './kern/file.ts';
export type { Hypercalls } from './hyper/types.ts';
export { NodeHost } from './hyper/node/host.ts';
export type { LeakReport } from './kern/kernel.ts';
export { Phase, type Component } from './kern/component.ts';
export { connect, serve, startWorkerKernel, SyncClient, type RemoteKernel, type ConnectOptions, type WorkerKernel, type SyncSys } from './frontends/sysproxy/index.ts';
