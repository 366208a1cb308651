/**
 * pipe(2) and pipe2(2): create a pipe (pipe.ts) and install its two ends in
 * the caller's fd table.
 *
 * Library form (docs/ARCHITECTURE.md: calls that fill an out-array in C return it):
 *   k.sys.pipe()        → Promise<[readFd, writeFd]>
 *   k.sys.pipe2(flags)  → Promise<[readFd, writeFd]>, flags O_CLOEXEC | O_NONBLOCK
 *
 * Not supported: O_DIRECT (packet mode) and O_NOTIFICATION_PIPE answer EINVAL.
 */
import { EINVAL, err } from './errno.ts';
import { O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_WRONLY } from './constants.ts';
import { defineSyscall } from './syscall.ts';
import { File } from './file.ts';
import { Pipe, pipeOps } from './pipe.ts';
import type { Lwp } from './sched.ts';

/** Make a pipe and its two open file descriptions (each with one reference). */
export function makePipe(td: Lwp, statusFlags: number): [File<Pipe>, File<Pipe>] {
  const cred = td.proc.cred;
  const p = new Pipe(td.k, cred.fsuid, cred.fsgid);
  const r = new File(pipeOps, p, O_RDONLY | statusFlags);
  const w = new File(pipeOps, p, O_WRONLY | statusFlags);
  p.readers = 1;
  p.writers = 1;
  return [r, w];
}

async function pipe2(td: Lwp, flags: number): Promise<[number, number]> {
  // pipe(2) EINVAL: "Invalid value in flags".
  if ((flags & ~(O_CLOEXEC | O_NONBLOCK)) !== 0) throw err(EINVAL);
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const [r, w] = makePipe(td, flags & O_NONBLOCK);
  const fdt = td.proc.fdt;
  let rfd: number;
  try {
    rfd = fdt.alloc(r, cloexec);
  } catch (e) {
    await r.release(td);
    await w.release(td);
    throw e; // EMFILE
  }
  try {
    return [rfd, fdt.alloc(w, cloexec)];
  } catch (e) {
    await fdt.close(rfd, td);
    await w.release(td);
    throw e;
  }
}

export const pipeSyscalls = [
  defineSyscall('pipe', 22, [], (td) => pipe2(td, 0)),
  defineSyscall('pipe2', 293, ['int'], pipe2),
] as const;
