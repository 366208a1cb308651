/**
 * `anykernel/fs`: `createFs(k)`, a node:fs-compatible facade over a kernel's
 * VFS (promises, callbacks, streams, and the sync API over a worker kernel),
 * so existing Node libraries run on the kernel's files.
 */
export * from '../frontends/library/fs.ts';
