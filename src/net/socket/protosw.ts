/**
 * The protocol switch (BSD's protosw + pr_usrreqs, Linux's proto_ops): per
 * (family, type, protocol) one `ProtoSw` entry, whose `attach` gives each new
 * socket its per-socket protocol object, a `SocketProto`. The generic socket
 * layer (socket.ts, sys_socket.ts) does the descriptor work — fd table, file
 * flags, SOL_SOCKET options, SIGPIPE, address conversion — and calls the
 * protocol object for everything protocol-specific.
 *
 * Rules a SocketProto keeps:
 *   - Blocking: wait with `so.wait(td, 'rcv' | 'snd')` (socket.ts), which
 *     sleeps on the socket's WaitQueues, honours SO_RCVTIMEO/SO_SNDTIMEO
 *     (EAGAIN when they expire), ends with EINTR on a signal, and throws
 *     EAGAIN at once for a non-blocking call. Recheck the condition after
 *     every wakeup.
 *   - Non-blocking: `flags & MSG_DONTWAIT` in send/recv (the socket layer
 *     adds it for O_NONBLOCK descriptors); the `nonblock` argument of
 *     connect/accept. Non-blocking connect that cannot finish at once throws
 *     EINPROGRESS; a second connect while it is pending throws EALREADY; the
 *     outcome is reported through SO_ERROR (`so.error`) and POLLOUT.
 *   - Wakeups: call `so.notify()` whenever readiness may have changed (data
 *     arrived, space freed, connection established or failed, peer closed);
 *     it wakes sleepers and pollers alike.
 *   - Errors are thrown as KernelError with Linux's errno for that call.
 *   - Asynchronous errors (ICMP, RST, timeouts) go to `so.setError(errno)`:
 *     the next call or getsockopt(SO_ERROR) reports it once.
 *   - close() is called once, for the last reference; the object may live on
 *     (TCP's FIN_WAIT/TIME_WAIT) but must release its descriptor-side state.
 */
import type { Lwp } from '../../kern/sched.ts';
import type { SockAddr } from './sockaddr.ts';
import type { Socket } from './socket.ts';

/** One received message (recvmsg's answer). */
export interface RecvResult {
  /** Bytes copied into the caller's buffers. */
  n: number;
  /** Source address (datagram sockets; null for connected stream sockets). */
  from: SockAddr | null;
  /** MSG_TRUNC (datagram longer than the buffers), MSG_CTRUNC, MSG_EOR. */
  flags: number;
  /** Ancillary data received (SCM_RIGHTS file descriptions for AF_UNIX). */
  control?: Control[];
  /** With MSG_TRUNC in the request, the datagram's real length (recv(2)). */
  fullLength?: number;
}

/** Ancillary data (cmsg) in kernel form. */
export type Control =
  | { level: 1; type: 1; files: import('../../kern/file.ts').File[] } // SOL_SOCKET, SCM_RIGHTS
  | { level: number; type: number; data: Uint8Array };

/** Values of socket options in kernel form (sockopt.ts converts to and from callers' forms). */
export type SockoptValue =
  | number
  | { onoff: number; linger: number } // SO_LINGER
  | { sec: number; usec: number } // SO_RCVTIMEO, SO_SNDTIMEO
  | { pid: number; uid: number; gid: number } // SO_PEERCRED
  | string // SO_BINDTODEVICE, TCP_CONGESTION
  | Uint8Array // anything else, raw
  | Record<string, number>; // TCP_INFO and friends

/** One row of netstat / /proc/net/{tcp,udp,unix}. */
export interface SocketInfo {
  /** "tcp", "udp", "unix". */
  proto: string;
  local: SockAddr | null;
  remote: SockAddr | null;
  /** TCP state name (ESTABLISHED, LISTEN ...), '' for stateless protocols; Linux st code in stCode. */
  state: string;
  stCode: number;
  /** Bytes queued to send (tx_queue) and to read (rx_queue). */
  sendQ: number;
  recvQ: number;
}

/** The per-socket protocol object (one per socket, created by ProtoSw.attach). */
export interface SocketProto {
  bind(td: Lwp, addr: SockAddr): void | Promise<void>;
  /** Start accepting connections; backlog already clamped to [0, SOMAXCONN]. */
  listen(td: Lwp, backlog: number): void | Promise<void>;
  /** AF_UNSPEC on a datagram socket dissolves the association. */
  connect(td: Lwp, addr: SockAddr, nonblock: boolean): void | Promise<void>;
  /** The next completed connection, as a new Socket already attached to its protocol object. */
  accept(td: Lwp, nonblock: boolean): Promise<Socket>;
  /**
   * Send the concatenation of `data` (gather). `to` is the sendto address or
   * null. Returns bytes accepted (a stream may accept less when
   * non-blocking). EPIPE on a shut-down stream (the socket layer raises
   * SIGPIPE unless MSG_NOSIGNAL).
   */
  send(td: Lwp, data: readonly Uint8Array[], flags: number, to: SockAddr | null, control: readonly Control[] | null): Promise<number>;
  /** Receive into `bufs` (scatter), honouring MSG_PEEK, MSG_WAITALL, MSG_TRUNC, MSG_DONTWAIT. */
  recv(td: Lwp, bufs: readonly Uint8Array[], flags: number): Promise<RecvResult>;
  /** SHUT_RD, SHUT_WR, SHUT_RDWR; ENOTCONN when not connected. */
  shutdown(td: Lwp, how: number): void | Promise<void>;
  /** The last descriptor reference went away (SO_LINGER is in so.opts.linger). */
  close(td: Lwp | null): void | Promise<void>;
  /** Ready events now: POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP, POLLPRI (unmasked). */
  poll(): number;
  /** Options of this protocol's levels (not SOL_SOCKET); ENOPROTOOPT for unknown ones. */
  getsockopt(td: Lwp, level: number, name: number): SockoptValue;
  setsockopt(td: Lwp, level: number, name: number, value: SockoptValue): void;
  /** A SOL_SOCKET option changed (so.opts already holds the new value). */
  sockoptChanged?(name: number): void;
  /** getsockname(2): the bound address (the unspecified address of the family when unbound). */
  sockname(): SockAddr;
  /** getpeername(2): ENOTCONN when not connected. */
  peername(): SockAddr;
  /** Bytes ready to read (ioctl FIONREAD / SIOCINQ). */
  readable(): number;
  /** Bytes queued but not yet sent/acknowledged (ioctl SIOCOUTQ). */
  unsent?(): number;
  /** SO_PEERCRED (AF_UNIX). */
  peercred?(): { pid: number; uid: number; gid: number } | null;
  /** For netstat and /proc/net. */
  info(): SocketInfo;
}

/** One entry of the protocol switch. */
export interface ProtoSw {
  readonly family: number;
  /** SOCK_STREAM, SOCK_DGRAM, ... */
  readonly type: number;
  /** IPPROTO_TCP, IPPROTO_UDP, or 0 for families without protocol numbers. */
  readonly protocol: number;
  /** "tcp", "udp", "unix-stream" ... */
  readonly name: string;
  /** Attach the protocol to a new socket (pru_attach); may throw EPROTONOSUPPORT, EACCES, ENOBUFS. */
  attach(so: Socket, td: Lwp | null): SocketProto;
  /** socketpair(2): connect two freshly attached sockets to each other (AF_UNIX). */
  socketpair?(a: Socket, b: Socket): void;
}

/**
 * The table socket(2) searches: an exact (family, type, protocol) match, or,
 * for protocol 0, the first entry registered for (family, type) — as Linux's
 * inetsw picks TCP for (AF_INET, SOCK_STREAM, 0).
 */
export class ProtoSwTable {
  private readonly entries: ProtoSw[] = [];

  register(p: ProtoSw): void {
    if (this.entries.some((e) => e.family === p.family && e.type === p.type && e.protocol === p.protocol)) {
      throw new Error(`protosw ${p.name}: (${p.family}, ${p.type}, ${p.protocol}) registered twice`);
    }
    this.entries.push(p);
  }

  /** Find the entry; null with the reason socket(2) gives: 'family' | 'type' | 'protocol'. */
  find(family: number, type: number, protocol: number): ProtoSw | 'family' | 'type' | 'protocol' {
    let famSeen = false;
    let typeSeen = false;
    for (const e of this.entries) {
      if (e.family !== family) continue;
      famSeen = true;
      if (e.type !== type) continue;
      typeSeen = true;
      if (protocol === 0 || e.protocol === protocol) return e;
    }
    return !famSeen ? 'family' : !typeSeen ? 'type' : 'protocol';
  }

  list(): readonly ProtoSw[] {
    return this.entries;
  }
}
