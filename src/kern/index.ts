/**
 * The public surface of kern: what frontends and the CLI may use
 * (tools/check-arch.ts enforces that they import src/kern only through this
 * file). Everything else in src/kern is internal and may change.
 *
 * - The Kernel object, its leak report, components and boot phases.
 * - Processes as outside callers see them: rfork/ProcHandle (library
 *   contexts), CredProcs (one process per caller credential set, for server
 *   frontends), teardownTree (end a client's process tree), Proc and Cred.
 * - The system-call table: defineSyscall, invoking calls by name, the
 *   typed `SysOf` mapping and the argument kinds frontends marshal.
 * - Open files (`File`, `Stat`, `Timespec`) and fallocate on a File.
 * - Linux errno values and `KernelError`; the ABI constants by name.
 */
export { Kernel, type LeakReport } from './kernel.ts';
export { Phase, type Component } from './component.ts';
export { kernComponent, kernSyscalls } from './kern_component.ts';
export { ProcHandle, rfork, CredProcs, type RforkOpts, type CredProcsOpts } from './lwproc.ts';
export { Cred, Proc, teardownTree } from './proc.ts';
export type { Lwp } from './sched.ts';
export {
  defineSyscall, invokeSyscall, syscallInvoker, type ArgKind, type ArgSpec, type BufUse, type SyscallDef, type SysOf,
} from './syscall.ts';
export type { File, Stat, Timespec } from './file.ts';
export { doRead, doWrite, fileFallocate, fileFsync, fileTruncate } from './sys_descrip.ts';
export { fileLseek } from './file.ts';
export * from './errno.ts';
export * from './constants.ts';
export {
  RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS, RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_MEMLOCK,
  RLIMIT_AS, RLIMIT_LOCKS, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO, RLIMIT_RTTIME, RLIM_NLIMITS,
  RLIM_INFINITY, NR_OPEN, Rlimits, setRlimit, parseRlimitSpec, type Rlimit,
} from './rlimit.ts';
export type { Image, ImageRunner } from './exec.ts';
export { kexecve, userlandImage, execsw } from './exec.ts';
export { wExited, wSignaled } from './sig_post.ts';
export { MemAccount, type MemCategory } from './memacct.ts';
