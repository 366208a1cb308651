/**
 * Socket addresses: the kernel's form, and the two forms callers give.
 *
 * Inside the stack (what a protocol's per-socket object sees):
 *   { family: AF_INET, addr: InAddr (number), port }    struct sockaddr_in
 *   { family: AF_UNIX, path }                           struct sockaddr_un
 *     path '' is the unnamed address; a leading '\0' marks Linux's abstract namespace.
 *
 * From callers (parseSockaddr, the edge where untrusted addresses are checked):
 *   - an object: { family: AF_INET, addr: '10.0.0.1', port: 80 } or
 *     { family: AF_UNIX, path: '/tmp/s' } (library callers, the node facade);
 *   - bytes in Linux's layout (C programs, WASI, remote calls): sockaddr_in is
 *     family u16 (host order), port u16 (network order), addr u32 (network
 *     order), 8 zero bytes; sockaddr_un is family u16 then up to 108 path bytes.
 * Results go back to callers as objects (`toUserSockaddr`), or as bytes with
 * `emitSockaddr`.
 */
import { EAFNOSUPPORT, EINVAL, ENAMETOOLONG, err } from '../../kern/errno.ts';
import { formatIp4, parseIp4, type InAddr } from '../addr.ts';

/** Address families (include/linux/socket.h). */
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_LOCAL = AF_UNIX;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_PACKET = 17;
export const AF_NETLINK = 16;

/** sizeof(sockaddr_un.sun_path). */
export const UNIX_PATH_MAX = 108;

export interface SockAddrIn {
  readonly family: typeof AF_INET;
  readonly addr: InAddr;
  readonly port: number;
}
export interface SockAddrUn {
  readonly family: typeof AF_UNIX;
  readonly path: string;
}
/** AF_UNSPEC in connect() dissolves a datagram association (connect(2)). */
export interface SockAddrUnspec {
  readonly family: typeof AF_UNSPEC;
}
export type SockAddr = SockAddrIn | SockAddrUn | SockAddrUnspec;

/** What callers give and get back: addresses as text. */
export type UserSockAddrIn = { family: typeof AF_INET; addr: string; port: number };
export type UserSockAddrUn = { family: typeof AF_UNIX; path: string };
export type UserSockAddr = UserSockAddrIn | UserSockAddrUn | { family: typeof AF_UNSPEC };

export function sockaddrIn(addr: InAddr, port: number): SockAddrIn {
  return { family: AF_INET, addr, port };
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/**
 * Check and convert a caller's address. Errors as Linux gives them: EINVAL
 * for a short or malformed address, EAFNOSUPPORT for an unsupported family,
 * ENAMETOOLONG-free (a unix path longer than sun_path is EINVAL).
 */
export function parseSockaddr(v: unknown): SockAddr {
  if (v instanceof Uint8Array) return parseSockaddrBytes(v);
  if (typeof v !== 'object' || v === null) throw err(EINVAL);
  const o = v as { family?: unknown; addr?: unknown; port?: unknown; path?: unknown };
  switch (o.family) {
    case AF_INET: {
      const port = o.port ?? 0;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw err(EINVAL);
      let addr: InAddr | null;
      if (o.addr === undefined) addr = 0;
      else if (typeof o.addr === 'number') addr = Number.isInteger(o.addr) && o.addr >= 0 && o.addr <= 0xffffffff ? o.addr : null;
      else if (typeof o.addr === 'string') addr = parseIp4(o.addr);
      else addr = null;
      if (addr === null) throw err(EINVAL);
      return { family: AF_INET, addr, port };
    }
    case AF_UNIX: {
      if (typeof o.path !== 'string') throw err(EINVAL);
      if (utf8.encode(o.path).byteLength > UNIX_PATH_MAX) throw err(EINVAL);
      return { family: AF_UNIX, path: o.path };
    }
    case AF_UNSPEC:
      return { family: AF_UNSPEC };
    case AF_INET6:
      throw err(EAFNOSUPPORT);
    default:
      if (typeof o.family === 'number' && Number.isInteger(o.family)) throw err(EAFNOSUPPORT);
      throw err(EINVAL);
  }
}

/** Linux's byte layout (see the header). */
export function parseSockaddrBytes(b: Uint8Array): SockAddr {
  if (b.byteLength < 2) throw err(EINVAL);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const family = dv.getUint16(0, true);
  switch (family) {
    case AF_INET:
      if (b.byteLength < 16) throw err(EINVAL);
      return { family: AF_INET, port: dv.getUint16(2, false), addr: dv.getUint32(4, false) };
    case AF_UNIX: {
      let p = b.subarray(2, Math.min(b.byteLength, 2 + UNIX_PATH_MAX + 1));
      if (p.byteLength > UNIX_PATH_MAX) {
        // Linux accepts a full sun_path only when a NUL ends it within the buffer.
        if (p[UNIX_PATH_MAX] !== 0) throw err(EINVAL);
        p = p.subarray(0, UNIX_PATH_MAX);
      }
      if (p.byteLength > 0 && p[0] !== 0) {
        const nul = p.indexOf(0);
        if (nul >= 0) p = p.subarray(0, nul);
      }
      return { family: AF_UNIX, path: utf8d.decode(p) };
    }
    case AF_UNSPEC:
      return { family: AF_UNSPEC };
    default:
      throw err(EAFNOSUPPORT);
  }
}

/** Linux's byte layout of an address (getsockname for C callers). */
export function emitSockaddr(a: SockAddr): Uint8Array {
  if (a.family === AF_INET) {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, AF_INET, true);
    dv.setUint16(2, a.port, false);
    dv.setUint32(4, a.addr, false);
    return b;
  }
  if (a.family === AF_UNIX) {
    const p = utf8.encode(a.path);
    if (p.byteLength > UNIX_PATH_MAX) throw err(ENAMETOOLONG);
    const b = new Uint8Array(2 + p.byteLength + (p[0] === 0 || p.byteLength === 0 ? 0 : 1));
    new DataView(b.buffer).setUint16(0, AF_UNIX, true);
    b.set(p, 2);
    return b;
  }
  const b = new Uint8Array(2);
  return b;
}

/** The caller's form of a kernel address. */
export function toUserSockaddr(a: SockAddr): UserSockAddr {
  if (a.family === AF_INET) return { family: AF_INET, addr: formatIp4(a.addr), port: a.port };
  if (a.family === AF_UNIX) return { family: AF_UNIX, path: a.path };
  return { family: AF_UNSPEC };
}
