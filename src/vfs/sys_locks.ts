/**
 * flock(2) (Linux fs/locks.c sys_flock); the lock table is advlock.ts.
 */
import { defineSyscall } from '../kern/syscall.ts';
import { EBADF, EINVAL, err } from '../kern/errno.ts';
import { O_PATH } from '../kern/constants.ts';
import { fileVnode } from './namei.ts';
import { V } from './sys_internal.ts';

// ---- the table --------------------------------------------------------------------------------

export const locksSyscalls = [
  defineSyscall('flock', 73, ['fd', 'int'], async (td, fd: number, op: number) => {
    const fp = td.proc.fdt.get(fd);
    if ((fp.flags & O_PATH) !== 0) throw err(EBADF);
    const vp = fileVnode(fp) ?? V(td).specials.get(fp);
    if (vp === undefined || vp === null) throw err(EINVAL);
    await V(td).locks.flock(td, vp, fp, op);
    return 0;
  }),
] as const;
