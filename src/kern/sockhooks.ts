/**
 * Hooks that let the network faction meet the file system without either
 * importing the other (docs/ARCHITECTURE.md: factions never import each other).
 *
 * UnixNamespace — where AF_UNIX sockets bound to a path live. bind(2)
 * creates a socket node (S_IFSOCK) in the file system and attaches the
 * socket to it; connect(2)/sendto(2) resolve a path to the socket attached
 * to the node. Whoever provides file-system access registers one under
 * UNIX_NAMESPACE; the net faction falls back to one built on the system-call
 * table (mknodat, stat, faccessat) when nobody has.
 *
 * ProcNet — the files under /proc/net. The net faction registers a
 * generator per name (dev, route, udp, tcp, arp, unix ...) in the registry
 * returned by procNetFiles(k); procfs lists and reads them.
 */
import type { Kernel } from './kernel.ts';
import type { Lwp } from './sched.ts';

export const UNIX_NAMESPACE = 'kern.unix_namespace';

export interface UnixNamespace {
  /**
   * bind(2): create a socket node at `path` with mode `mode & ~umask` and
   * attach `so`. EADDRINUSE when the name exists; ENOENT, ENOTDIR, EACCES,
   * EROFS, ELOOP, ENAMETOOLONG from the path walk. Returns the node's identity.
   */
  bind(td: Lwp, path: string, mode: number, so: object): Promise<string>;
  /**
   * connect(2)/sendto(2): the socket attached to the node at `path`.
   * ENOENT, ENOTDIR, EACCES (search, or write permission on the node),
   * ECONNREFUSED (not a socket node, or no socket attached to it).
   */
  lookup(td: Lwp, path: string): Promise<object>;
  /** The socket closed: detach it from its node (the node itself stays, as on Linux). */
  unbind(id: string, so: object): void;
}

/** A /proc/net file: its text, generated on each open. */
export type ProcNetFile = (k: Kernel) => string;

/** The /proc/net registry of a kernel (created on first use). */
export function procNetFiles(k: Kernel): Map<string, ProcNetFile> {
  let m = k.lookup<Map<string, ProcNetFile>>('kern.procnet');
  if (m === undefined) {
    m = new Map();
    k.provide('kern.procnet', m);
  }
  return m;
}
