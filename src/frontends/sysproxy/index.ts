/**
 * The remote-syscall frontend's public API (re-exported by src/index.ts):
 * serve a kernel over a socket, connect to one, or run one in a worker with
 * async and synchronous clients. See README.md in this folder.
 */
export { serve, parseAddress, SysproxyServer, type ServeOptions } from './server.ts';
export { connect, ConnectError, RemoteKernel, RemoteProcess, type ConnectOptions } from './client.ts';
export { startWorkerKernel, WorkerKernel, SyncClient, type SyncSys, type SyncChannelInit, type SyncClientOptions, type WorkerKernelOptions } from './worker.ts';
export { SysproxyService, type ServiceOptions } from './service.ts';
export { PROTO_VERSION, DEFAULT_LIMITS, type Limits } from './protocol.ts';
