/**
 * Directories as a process sees them (Linux fs/readdir.c, fs/d_path.c,
 * fs/open.c chdir/chroot): getdents64, chdir, fchdir, chroot, getcwd.
 */
import type { Lwp } from '../kern/sched.ts';
import { defineSyscall } from '../kern/syscall.ts';
import { EBADF, EFAULT, EINVAL, ENOENT, ENOTDIR, EPERM, ERANGE, err } from '../kern/errno.ts';
import { AT_FDCWD, O_NOATIME, O_PATH } from '../kern/constants.ts';
import { type Vnode, readsUnlocked, touchAtime, vref, vrele } from './vnode.ts';
import { fileVnode, lookupPath, procFs } from './namei.ts';
import { MAY_EXEC, checkAccess } from './perm.ts';
import { cred } from './sys_internal.ts';
import { dirPath } from './vfs_getcwd.ts';

// ---- directories ------------------------------------------------------------------------------

export interface Dirent64 {
  ino: number;
  /** Offset (cookie) of the next entry: lseek(fd, off, SEEK_SET) resumes after this one. */
  off: number;
  /** DT_* file type. */
  type: number;
  name: string;
}

const enc = new TextEncoder();

/** Bytes of s as UTF-8 (what TextEncoder would produce, lone surrogates as U+FFFD), without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * getdents64(fd, count | buf): with a byte count, the entries a buffer that
 * size would hold, as objects; with a Uint8Array, fills it with struct
 * linux_dirent64 records (little-endian u64 d_ino, s64 d_off, u16 d_reclen,
 * u8 d_type, NUL-terminated d_name, 8-byte aligned) and returns the bytes used.
 */
async function getdents64(td: Lwp, fd: number, arg: unknown): Promise<Dirent64[] | number> {
  const fp = td.proc.fdt.get(fd);
  const buf = arg instanceof Uint8Array ? arg : null;
  let count: number;
  if (buf !== null) count = buf.byteLength;
  else if (typeof arg === 'number' && Number.isInteger(arg) && arg >= 0) count = arg;
  else throw err(EFAULT);
  if ((fp.flags & O_PATH) !== 0) throw err(EBADF);
  const vp = fileVnode(fp);
  if (vp === null || !vp.isDir) throw err(ENOTDIR);
  const out: Dirent64[] = [];
  const dv = buf === null ? null : new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let used = 0;
  let tooSmall = false;
  {
    const l = readsUnlocked(vp) ? null : vp.lock.enter(td, 'shared');
    using g = l instanceof Promise ? await l : l;
    const r = vp.ops.readdir(vp, td, fp.offset, (ino, type, name, next) => {
      const nlen = utf8Length(name);
      const nameBytes = nlen === name.length || dv === null ? null : enc.encode(name);
      const reclen = (19 + nlen + 1 + 7) & ~7;
      if (used + reclen > count) {
        if (used === 0) tooSmall = true;
        return false;
      }
      if (dv !== null) {
        dv.setBigUint64(used, BigInt(ino), true);
        dv.setBigInt64(used + 8, BigInt(next), true);
        dv.setUint16(used + 16, reclen, true);
        dv.setUint8(used + 18, type);
        if (nameBytes !== null) buf!.set(nameBytes, used + 19);
        else for (let i = 0; i < nlen; i++) buf![used + 19 + i] = name.charCodeAt(i);
        buf!.fill(0, used + 19 + nlen, used + reclen);
      } else out.push({ ino, off: next, type, name });
      used += reclen;
      fp.offset = next;
      return true;
    });
    if (r instanceof Promise) await r;
  }
  // getdents(2) EINVAL: "Result buffer is too small".
  if (tooSmall) throw err(EINVAL);
  const t = touchAtime(td, vp, (fp.flags & O_NOATIME) !== 0);
  if (t !== undefined) await t;
  return buf !== null ? used : out;
}

async function changeDir(td: Lwp, vp: Vnode, which: 'cwd' | 'root'): Promise<number> {
  try {
    if (!vp.isDir) throw err(ENOTDIR);
    checkAccess(vp, cred(td), MAY_EXEC);
    const fs = procFs(td);
    const old = fs[which];
    fs[which] = vref(vp);
    vrele(old);
    return 0;
  } finally {
    vrele(vp);
  }
}

async function getcwd(td: Lwp, size?: number): Promise<string> {
  const fs = procFs(td);
  // getcwd(3) ENOENT: "The current working directory has been unlinked."
  if (fs.cwd.nlink === 0) throw err(ENOENT);
  // Outside the process root (reachable false) Linux prefixes "(unreachable)"; the path from the top is given here.
  const { path } = await dirPath(td, fs.cwd, fs.root);
  if (size !== undefined && enc.encode(path).byteLength + 1 > size) throw err(size === 0 ? EINVAL : ERANGE);
  return path;
}

// ---- the table --------------------------------------------------------------------------------

export const dirSyscalls = [
  defineSyscall('getdents64', 217, ['fd', 'any'], getdents64, { bufs: { 1: 'out' } }),
  defineSyscall('chdir', 80, ['path'], async (td, path: string) => changeDir(td, await lookupPath(td, AT_FDCWD, path, true), 'cwd')),
  defineSyscall('fchdir', 81, ['fd'], (td, fd: number) => {
    const fp = td.proc.fdt.get(fd);
    const vp = fileVnode(fp);
    if (vp === null) throw err(ENOTDIR);
    return changeDir(td, vref(vp), 'cwd');
  }),
  defineSyscall('getcwd', 79, ['uint?'], getcwd),
  defineSyscall('chroot', 161, ['path'], async (td, path: string) => {
    const vp = await lookupPath(td, AT_FDCWD, path, true);
    // chroot(2) EPERM: "The caller has insufficient privilege" (checked after the lookup, as Linux does).
    if (cred(td).euid !== 0) {
      try {
        if (!vp.isDir) throw err(ENOTDIR);
        checkAccess(vp, cred(td), MAY_EXEC);
        throw err(EPERM);
      } finally {
        vrele(vp);
      }
    }
    return changeDir(td, vp, 'root');
  }),
] as const;
