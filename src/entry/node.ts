/**
 * `anykernel/node`: what runs only under Node. The NodeHost (real clocks,
 * crypto randomness, block devices and files through node:fs, console on
 * stdio), installed as the default host of `boot()` by importing this entry,
 * and the FUSE frontend that mounts a kernel file system on the host.
 */
import '../frontends/library/node_default.ts';

export { NodeHost, type NodeHostOptions } from '../hyper/node/host.ts';
export { KernelFuseServer } from '../frontends/fuse/server.ts';
export { FuseSession } from '../frontends/fuse/session.ts';
