/**
 * The public surface of src/kern for frontends and the CLI: what they may
 * reach of the base without importing its files one by one.
 */
export type { Kernel, LeakReport } from './kernel.ts';
export type { Proc } from './proc.ts';
export type { Image, ImageRunner } from './exec.ts';
export { kexecve, userlandImage, execsw } from './exec.ts';
export { defineSyscall, invokeSyscall } from './syscall.ts';
export { KernelError, err, errno } from './errno.ts';
export { wExited, wSignaled } from './sig_post.ts';
