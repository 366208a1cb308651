/**
 * `anykernel/remote`: a kernel in another place. `serve()` a kernel's system
 * calls on a unix socket or TCP port, `connect()` to one, or run a kernel in
 * a worker thread with async and synchronous clients (`startWorkerKernel`).
 * Node only; a served kernel booted here gets a NodeHost by default.
 */
import '../frontends/library/node_default.ts';

export * from '../frontends/sysproxy/index.ts';
