/**
 * The socket system calls (BSD's uipc_syscalls.c, Linux's net/socket.c),
 * with Linux x86-64 numbers. Each finds the Socket behind the descriptor
 * (EBADF when there is none, ENOTSOCK when it is not a socket), converts
 * addresses and option values at this edge, and calls the protocol's
 * per-socket object through the protocol switch.
 *
 * Library forms (docs/ARCHITECTURE.md: out-values are returned):
 *   socket(domain, type, protocol) → fd         type may carry SOCK_NONBLOCK | SOCK_CLOEXEC
 *   socketpair(domain, type, protocol) → [fd, fd]
 *   bind(fd, addr)  connect(fd, addr)  listen(fd, backlog)
 *   accept(fd) → fd   accept4(fd, flags) → fd   (the peer: getpeername)
 *   sendto(fd, buf, flags?, addr?) → n          send(fd, buf, flags?) → n (library only)
 *   recvfrom(fd, buf, flags?) → [n, addr|null]  recv(fd, buf, flags?) → n (library only)
 *   sendmsg(fd, { name?, iov, control? }, flags?) → n
 *   recvmsg(fd, { iov }, flags?) → { n, name, flags, control }
 *   shutdown(fd, how)  getsockname(fd) → addr  getpeername(fd) → addr
 *   setsockopt(fd, level, name, value)  getsockopt(fd, level, name) → value
 * Addresses are `{ family: AF_INET, addr: '10.0.0.1', port }`,
 * `{ family: AF_UNIX, path }`, or Linux sockaddr bytes (sockaddr.ts).
 */
import { EBADF, EINVAL, ENOTSOCK, EOPNOTSUPP, EFAULT, err } from '../../kern/errno.ts';
import { O_NONBLOCK } from '../../kern/constants.ts';
import { defineSyscall } from '../../kern/syscall.ts';
import type { File } from '../../kern/file.ts';
import type { Lwp } from '../../kern/sched.ts';
import { netOf } from '../netstack.ts';
import {
  MSG_CMSG_CLOEXEC, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_TYPE_MASK, SOL_SOCKET, SOMAXCONN,
} from './constants.ts';
import { parseSockaddr, toUserSockaddr, type SockAddr, type UserSockAddr } from './sockaddr.ts';
import { sendError, socketOps, socreate, sofile, type Socket } from './socket.ts';
import { solGetsockopt, solSetsockopt } from './sockopt.ts';
import type { Control, ProtoSw, SockoptValue } from './protosw.ts';

/** The Socket behind fd: EBADF, ENOTSOCK. */
export function getSock(td: Lwp, fd: number): Socket {
  const fp = td.proc.fdt.peek(fd);
  if (fp === undefined) throw err(EBADF);
  if (fp.ops !== (socketOps as unknown)) throw err(ENOTSOCK);
  return (fp as File<Socket>).data;
}

/** Install a socket's File; the File's reference moves to the table (closed again on EMFILE). */
async function install(td: Lwp, so: Socket, flags: number): Promise<number> {
  const fp = sofile(so, (flags & SOCK_NONBLOCK) !== 0 ? O_NONBLOCK : 0);
  try {
    return td.proc.fdt.alloc(fp, (flags & SOCK_CLOEXEC) !== 0);
  } catch (e) {
    await fp.release(td);
    throw e;
  }
}

/** Linux SOCK_MAX: one past SOCK_PACKET. */
const SOCK_MAX = 11;

function splitType(type: number): { type: number; flags: number } {
  // socket(2): EINVAL for unknown flags or a type beyond SOCK_MAX.
  if ((type & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0 || (type & SOCK_TYPE_MASK) >= SOCK_MAX) throw err(EINVAL);
  return { type: type & SOCK_TYPE_MASK, flags: type & (SOCK_NONBLOCK | SOCK_CLOEXEC) };
}

async function sysSocket(td: Lwp, domain: number, type: number, protocol: number): Promise<number> {
  const t = splitType(type);
  const so = socreate(netOf(td.k), td, domain, t.type, protocol, { uid: td.proc.cred.euid, gid: td.proc.cred.egid });
  return install(td, so, t.flags);
}

async function sysSocketpair(td: Lwp, domain: number, type: number, protocol: number): Promise<[number, number]> {
  const t = splitType(type);
  const ns = netOf(td.k);
  const entry = ns.protosw.find(domain, t.type, protocol);
  // socketpair(2): EOPNOTSUPP for a protocol without pairs (AF_INET).
  if (typeof entry !== 'string' && entry.socketpair === undefined) throw err(EOPNOTSUPP);
  const cred = { uid: td.proc.cred.euid, gid: td.proc.cred.egid };
  const a = socreate(ns, td, domain, t.type, protocol, cred);
  const b = socreate(ns, td, domain, t.type, protocol, cred);
  (entry as ProtoSw).socketpair!(a, b);
  const fa = await install(td, a, t.flags);
  try {
    return [fa, await install(td, b, t.flags)];
  } catch (e) {
    await td.proc.fdt.close(fa, td);
    throw e;
  }
}

function addrArg(v: unknown): SockAddr {
  if (v === undefined || v === null) throw err(EFAULT);
  return parseSockaddr(v);
}

async function sysAccept4(td: Lwp, fd: number, flags: number): Promise<number> {
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== 0) throw err(EINVAL);
  const so = getSock(td, fd);
  const nso = await so.proto.accept(td, so.nonblocking(0));
  return install(td, nso, flags);
}

async function sysSendto(td: Lwp, fd: number, buf: Uint8Array, flags = 0, addr?: unknown): Promise<number> {
  const so = getSock(td, fd);
  const to = addr === undefined || addr === null ? null : parseSockaddr(addr);
  const f = so.nonblocking(flags) ? flags | MSG_DONTWAIT : flags;
  try {
    return await so.proto.send(td, [buf], f, to, null);
  } catch (e) {
    throw sendError(td, so, flags, e);
  }
}

async function sysRecvfrom(td: Lwp, fd: number, buf: Uint8Array, flags = 0): Promise<[number, UserSockAddr | null]> {
  const so = getSock(td, fd);
  const r = await so.proto.recv(td, [buf], so.nonblocking(flags) ? flags | MSG_DONTWAIT : flags);
  return [r.fullLength ?? r.n, r.from === null ? null : toUserSockaddr(r.from)];
}

/** sendmsg's message in library form. */
export interface UserMsghdr {
  name?: unknown;
  iov: Uint8Array[];
  control?: { level: number; type: number; data?: Uint8Array; fds?: number[] }[];
}

function msgIov(v: unknown): Uint8Array[] {
  if (!Array.isArray(v)) throw err(EFAULT);
  if (v.length > 1024) throw err(EINVAL); // UIO_MAXIOV
  for (const b of v) if (!(b instanceof Uint8Array)) throw err(EFAULT);
  return v as Uint8Array[];
}

async function sysSendmsg(td: Lwp, fd: number, msg: UserMsghdr, flags = 0): Promise<number> {
  const so = getSock(td, fd);
  const iov = msgIov(msg.iov);
  const to = msg.name === undefined || msg.name === null ? null : parseSockaddr(msg.name);
  let control: Control[] | null = null;
  if (msg.control !== undefined) {
    if (!Array.isArray(msg.control)) throw err(EFAULT);
    control = [];
    for (const c of msg.control) {
      if (typeof c !== 'object' || c === null || !Number.isInteger(c.level) || !Number.isInteger(c.type)) throw err(EINVAL);
      if (c.level === SOL_SOCKET && c.type === 1) {
        if (!Array.isArray(c.fds) || c.fds.length > 253) throw err(EINVAL); // SCM_MAX_FD
        control.push({ level: 1, type: 1, files: c.fds.map((n) => td.proc.fdt.get(n)) });
      } else {
        if (!(c.data instanceof Uint8Array)) throw err(EINVAL);
        control.push({ level: c.level, type: c.type, data: c.data });
      }
    }
  }
  const f = so.nonblocking(flags) ? flags | MSG_DONTWAIT : flags;
  try {
    return await so.proto.send(td, iov, f, to, control);
  } catch (e) {
    throw sendError(td, so, flags, e);
  }
}

export interface UserRecvResult {
  n: number;
  name: UserSockAddr | null;
  flags: number;
  control: { level: number; type: number; data?: Uint8Array; fds?: number[] }[];
}

async function sysRecvmsg(td: Lwp, fd: number, msg: { iov: Uint8Array[] }, flags = 0): Promise<UserRecvResult> {
  const so = getSock(td, fd);
  const iov = msgIov(msg.iov);
  const r = await so.proto.recv(td, iov, so.nonblocking(flags) ? flags | MSG_DONTWAIT : flags);
  const control: UserRecvResult['control'] = [];
  const files = (r.control ?? []).flatMap((c) => ('files' in c ? c.files : []));
  const fds: number[] = [];
  try {
    for (const f of files) fds.push(td.proc.fdt.alloc(f, (flags & MSG_CMSG_CLOEXEC) !== 0));
  } catch {
    // EMFILE part way: the descriptors not installed are dropped (Linux sets MSG_CTRUNC).
    for (const f of files.slice(fds.length)) await f.release(td);
    r.flags |= 0x8; // MSG_CTRUNC
  }
  let next = 0;
  for (const c of r.control ?? []) {
    if ('files' in c) {
      const mine = fds.slice(next, next + c.files.length);
      next += c.files.length;
      control.push({ level: c.level, type: c.type, fds: mine });
    } else control.push({ level: c.level, type: c.type, data: c.data });
  }
  return { n: r.fullLength ?? r.n, name: r.from === null ? null : toUserSockaddr(r.from), flags: r.flags, control };
}

async function sysGetsockopt(td: Lwp, fd: number, level: number, name: number): Promise<SockoptValue> {
  const so = getSock(td, fd);
  if (level === SOL_SOCKET) return solGetsockopt(so, name);
  return so.proto.getsockopt(td, level, name);
}

async function sysSetsockopt(td: Lwp, fd: number, level: number, name: number, value: unknown): Promise<void> {
  const so = getSock(td, fd);
  if (value === undefined || value === null) throw err(EFAULT);
  if (level === SOL_SOCKET) return solSetsockopt(td, so, name, value);
  return so.proto.setsockopt(td, level, name, value as SockoptValue);
}

export const socketSyscalls = [
  defineSyscall('socket', 41, ['int', 'int', 'int?'], (td, d: number, t: number, p?: number) => sysSocket(td, d, t, p ?? 0)),
  defineSyscall('socketpair', 53, ['int', 'int', 'int?'], (td, d: number, t: number, p?: number) => sysSocketpair(td, d, t, p ?? 0)),
  defineSyscall('bind', 49, ['fd', 'any'], async (td, fd: number, addr: unknown) => {
    const so = getSock(td, fd);
    await so.proto.bind(td, addrArg(addr));
  }),
  defineSyscall('listen', 50, ['fd', 'int'], async (td, fd: number, backlog: number) => {
    const so = getSock(td, fd);
    // listen(2): a backlog above somaxconn is silently truncated; negative means the maximum.
    await so.proto.listen(td, backlog < 0 || backlog > SOMAXCONN ? SOMAXCONN : backlog);
    so.listening = true;
  }),
  defineSyscall('connect', 42, ['fd', 'any'], async (td, fd: number, addr: unknown) => {
    const so = getSock(td, fd);
    await so.proto.connect(td, addrArg(addr), so.nonblocking(0));
  }),
  defineSyscall('accept', 43, ['fd'], (td, fd: number) => sysAccept4(td, fd, 0)),
  defineSyscall('accept4', 288, ['fd', 'int'], sysAccept4),
  defineSyscall('sendto', 44, ['fd', 'buf', 'int?', 'any?'], sysSendto, { bufs: { 1: 'in' } }),
  defineSyscall('send', -1, ['fd', 'buf', 'int?'], (td, fd: number, buf: Uint8Array, flags?: number) => sysSendto(td, fd, buf, flags ?? 0), { bufs: { 1: 'in' } }),
  defineSyscall('recvfrom', 45, ['fd', 'buf', 'int?'], sysRecvfrom, { bufs: { 1: 'out' } }),
  defineSyscall('recv', -1, ['fd', 'buf', 'int?'], async (td, fd: number, buf: Uint8Array, flags?: number) => (await sysRecvfrom(td, fd, buf, flags ?? 0))[0], { bufs: { 1: 'out' } }),
  defineSyscall('sendmsg', 46, ['fd', 'obj', 'int?'], sysSendmsg),
  defineSyscall('recvmsg', 47, ['fd', 'obj', 'int?'], sysRecvmsg),
  defineSyscall('shutdown', 48, ['fd', 'int'], async (td, fd: number, how: number) => {
    const so = getSock(td, fd);
    if (how < 0 || how > 2) throw err(EINVAL);
    await so.proto.shutdown(td, how);
  }),
  defineSyscall('getsockname', 51, ['fd'], (td, fd: number): UserSockAddr => toUserSockaddr(getSock(td, fd).proto.sockname())),
  defineSyscall('getpeername', 52, ['fd'], (td, fd: number): UserSockAddr => toUserSockaddr(getSock(td, fd).proto.peername())),
  defineSyscall('getsockopt', 55, ['fd', 'int', 'int'], sysGetsockopt),
  defineSyscall('setsockopt', 54, ['fd', 'int', 'int', 'any'], sysSetsockopt),
] as const;

