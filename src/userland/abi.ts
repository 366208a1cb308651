/**
 * The system-call ABI as user programs see it: the Linux constants (from the
 * kernel's constants table, which is pure data) and the few values the
 * userland needs beyond it — wait-status decoding (<sys/wait.h>), termios
 * and tty ioctls (<asm-generic/termbits.h>, <asm-generic/ioctls.h>), and the
 * SIG_UPCALL handler value the kernel uses for handlers in a process image.
 */
export * from '../kern/constants.ts';

export const SIG_UPCALL = 2;

export const WIFEXITED = (s: number): boolean => (s & 0x7f) === 0;
export const WEXITSTATUS = (s: number): number => (s >> 8) & 0xff;
export const WIFSIGNALED = (s: number): boolean => (s & 0x7f) !== 0 && (s & 0x7f) !== 0x7f;
export const WTERMSIG = (s: number): number => s & 0x7f;
export const WIFSTOPPED = (s: number): boolean => (s & 0xff) === 0x7f;
export const WSTOPSIG = (s: number): number => (s >> 8) & 0xff;
