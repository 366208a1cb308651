/**
 * The AF_UNIX namespace: bound path names (through kern's UnixNamespace
 * hook, sockhooks.ts) and Linux's abstract names (a leading NUL: never in the
 * file system, one table per stack, gone when the socket closes).
 *
 * When no file-system faction has registered a UnixNamespace, the fallback
 * here uses the system-call table as the calling process: mknodat creates
 * the socket node (so permissions, umask, EEXIST → EADDRINUSE come from the
 * VFS), stat gives the node's identity (device and inode), and faccessat
 * checks write permission before a connect. A node whose socket has closed
 * stays in the file system and refuses connections, as on Linux.
 *
 * Not supported by the fallback: telling a node apart from a later node
 * that reuses its inode number while the first socket is still bound.
 */
import { EADDRINUSE, ECONNREFUSED, EEXIST, ENOENT, isKernelError, err } from '../../kern/errno.ts';
import { AT_FDCWD, S_IFMT, S_IFSOCK } from '../../kern/constants.ts';
import { invokeSyscall } from '../../kern/syscall.ts';
import type { Lwp } from '../../kern/sched.ts';
import type { Stat } from '../../kern/file.ts';
import { UNIX_NAMESPACE, type UnixNamespace } from '../../kern/sockhooks.ts';
import type { NetStack } from '../netstack.ts';

const W_OK = 2;

/** A nested system call as the caller; its errors are reported as the outer call's (bind, connect). */
async function nested(td: Lwp, name: string, args: unknown[]): Promise<unknown> {
  try {
    return await invokeSyscall(td.k, td.proc, name, args);
  } catch (e) {
    if (isKernelError(e)) throw err(e.errno, e.path);
    throw e;
  }
}
const AT_EACCESS = 0x200;

/** The fallback namespace over the system-call table. */
class SyscallUnixNamespace implements UnixNamespace {
  private readonly bound = new Map<string, object>();

  async bind(td: Lwp, path: string, mode: number, so: object): Promise<string> {
    const k = td.k;
    if (!k.syscalls.byName.has('mknodat')) throw err(ENOENT); // no file system in this kernel
    try {
      await nested(td, 'mknodat', [AT_FDCWD, path, S_IFSOCK | (mode & 0o777), 0]);
    } catch (e) {
      // bind(2): EADDRINUSE "the given address is already in use" — any existing name.
      if (isKernelError(e) && e.errno === EEXIST) throw err(EADDRINUSE, path);
      throw e;
    }
    const st = (await nested(td, 'stat', [path])) as Stat;
    const id = `${st.dev}:${st.ino}`;
    this.bound.set(id, so);
    return id;
  }

  async lookup(td: Lwp, path: string): Promise<object> {
    const k = td.k;
    if (!k.syscalls.byName.has('stat')) throw err(ENOENT);
    const st = (await nested(td, 'stat', [path])) as Stat;
    if ((st.mode & S_IFMT) !== S_IFSOCK) throw err(ECONNREFUSED, path);
    // connect(2) EACCES: "write permission is denied on the socket file".
    await nested(td, 'faccessat', [AT_FDCWD, path, W_OK, AT_EACCESS]);
    const so = this.bound.get(`${st.dev}:${st.ino}`);
    if (so === undefined) throw err(ECONNREFUSED, path);
    return so;
  }

  unbind(id: string, so: object): void {
    if (this.bound.get(id) === so) this.bound.delete(id);
  }
}

/** The namespace for path names: the registered one, else the fallback (per stack). */
export function unixNamespace(ns: NetStack): UnixNamespace {
  return ns.k.lookup<UnixNamespace>(UNIX_NAMESPACE) ?? ns.part('unix.ns', () => new SyscallUnixNamespace());
}

/** Abstract names (sockaddr_un paths starting with NUL). */
export function abstractNames(ns: NetStack): Map<string, object> {
  return ns.part('unix.abstract', () => new Map<string, object>());
}
