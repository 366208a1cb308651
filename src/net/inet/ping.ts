/**
 * ICMP echo ("ping") sockets: socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), as
 * Linux's net/ipv4/ping.c offers them to unprivileged programs.
 *
 * The socket's identifier plays the role of a port: bind() chooses it (0:
 * any free one), and every echo request sent carries it, whatever the
 * caller wrote in the id field. sendto() takes an ICMP message that must be
 * an echo request (type 8, code 0, at least 8 bytes); the kernel fills in
 * the identifier and the checksum. recvfrom() returns the echo replies for
 * that identifier — ICMP header and data — with the replying host as the
 * source address. With IP_RECVTTL set, recvmsg adds an IP_TTL control
 * message with the reply's TTL.
 *
 * Not supported: ICMP errors about our requests (Linux reports them only
 * with IP_RECVERR), net.ipv4.ping_group_range (every user may ping), connect().
 */
import {
  EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EBADF, EINVAL, EMSGSIZE, ENOPROTOOPT, ENOTCONN, EOPNOTSUPP, EDESTADDRREQ, err,
} from '../../kern/errno.ts';
import { POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../../kern/constants.ts';
import type { Lwp } from '../../kern/sched.ts';
import { INADDR_ANY } from '../addr.ts';
import { icmpEcho, icmpState, type EchoReply } from '../ip/icmp.ts';
import { IPPROTO_ICMP } from '../ip/ip_var.ts';
import type { NetStack } from '../netstack.ts';
import { IP_TTL, MSG_PEEK, MSG_TRUNC, SOCK_DGRAM, SOL_IP } from '../socket/constants.ts';
import type { Control, RecvResult, SocketInfo, SocketProto, SockoptValue } from '../socket/protosw.ts';
import { AF_INET, sockaddrIn, type SockAddr } from '../socket/sockaddr.ts';
import type { Socket } from '../socket/socket.ts';
import { optInt } from '../socket/sockopt.ts';
import { emitIcmp, ICMP_ECHO, ICMP_ECHOREPLY } from '../wire/icmp.ts';

/** IP_RECVTTL (include/uapi/linux/in.h). */
export const IP_RECVTTL = 12;
/** Replies queued per socket before new ones are dropped. */
const PING_QUEUE_MAX = 256;

export class PingSocket implements SocketProto {
  readonly so: Socket;
  private ident = 0;
  private readonly q: EchoReply[] = [];
  private closed = false;
  private recvTtl = false;
  private ttl = -1;

  constructor(so: Socket) {
    this.so = so;
  }

  private get ns(): NetStack {
    return this.so.ns;
  }

  private listen_(id: number): boolean {
    const l = icmpState(this.ns).echoListeners;
    if (l.has(id)) return false;
    l.set(id, (r) => {
      if (this.closed || this.q.length >= PING_QUEUE_MAX) return;
      this.q.push(r);
      this.so.notify();
    });
    this.ident = id;
    return true;
  }

  private autobind(): void {
    if (this.ident !== 0) return;
    const start = this.ns.random32() & 0xffff;
    for (let i = 0; i < 0xffff; i++) {
      const id = ((start + i) % 0xffff) + 1;
      if (this.listen_(id)) return;
    }
    throw err(EADDRINUSE);
  }

  bind(_td: Lwp, addr: SockAddr): void {
    if (addr.family !== AF_INET) throw err(EAFNOSUPPORT);
    if (this.ident !== 0) throw err(EINVAL);
    if (addr.addr !== INADDR_ANY && this.ns.ifWithAddr(addr.addr) === null) throw err(EADDRNOTAVAIL);
    if (addr.port === 0) this.autobind();
    else if (!this.listen_(addr.port)) throw err(EADDRINUSE);
  }

  listen(): void { throw err(EOPNOTSUPP); }
  async accept(): Promise<Socket> { throw err(EOPNOTSUPP); }
  connect(): void { throw err(EOPNOTSUPP); }

  async send(_td: Lwp, data: readonly Uint8Array[], _flags: number, to: SockAddr | null): Promise<number> {
    if (to === null) throw err(EDESTADDRREQ);
    if (to.family !== AF_INET) throw err(EAFNOSUPPORT);
    let len = 0;
    for (const d of data) len += d.byteLength;
    if (len < 8) throw err(EINVAL);
    if (len > 65535 - 28) throw err(EMSGSIZE);
    const msg = new Uint8Array(len);
    let o = 0;
    for (const d of data) { msg.set(d, o); o += d.byteLength; }
    // ping_v4_sendmsg: only echo requests.
    if (msg[0] !== ICMP_ECHO || msg[1] !== 0) throw err(EINVAL);
    this.autobind();
    const seq = (msg[6]! << 8) | msg[7]!;
    const e = icmpEcho(this.ns, to.addr, this.ident, seq, msg.subarray(8), this.ttl >= 0 ? this.ttl : undefined);
    if (e !== 0) throw err(e);
    return len;
  }

  async recv(td: Lwp, bufs: readonly Uint8Array[], flags: number): Promise<RecvResult> {
    const nonblock = this.so.nonblocking(flags);
    while (this.q.length === 0) {
      if (this.closed) throw err(EBADF);
      await this.so.wait(td, 'rcv', nonblock);
    }
    const r = (flags & MSG_PEEK) !== 0 ? this.q[0]! : this.q.shift()!;
    const msg = emitIcmp({ type: ICMP_ECHOREPLY, code: 0, rest: ((r.id << 16) | r.seq) >>> 0, data: r.data });
    let n = 0;
    for (const b of bufs) {
      const m = Math.min(b.byteLength, msg.byteLength - n);
      b.set(msg.subarray(n, n + m));
      n += m;
      if (n >= msg.byteLength) break;
    }
    const control: Control[] | undefined = this.recvTtl ? [{ level: SOL_IP, type: IP_TTL, data: new Uint8Array(new Int32Array([r.ttl]).buffer) }] : undefined;
    return { n, from: sockaddrIn(r.from, 0), flags: n < msg.byteLength ? MSG_TRUNC : 0, control };
  }

  shutdown(): void { throw err(ENOTCONN); }

  close(): void {
    this.closed = true;
    if (this.ident !== 0) icmpState(this.ns).echoListeners.delete(this.ident);
    this.q.length = 0;
    this.so.notify();
  }

  poll(): number {
    return (this.q.length > 0 ? POLLIN | POLLRDNORM : 0) | POLLOUT | POLLWRNORM;
  }

  getsockopt(_td: Lwp, level: number, name: number): SockoptValue {
    if (level === SOL_IP && name === IP_TTL) return this.ttl >= 0 ? this.ttl : this.ns.config.defaultTtl;
    if (level === SOL_IP && name === IP_RECVTTL) return this.recvTtl ? 1 : 0;
    throw err(ENOPROTOOPT);
  }

  setsockopt(_td: Lwp, level: number, name: number, value: SockoptValue): void {
    if (level === SOL_IP && name === IP_TTL) {
      const v = optInt(value);
      if (v !== -1 && (v < 1 || v > 255)) throw err(EINVAL);
      this.ttl = v;
      return;
    }
    if (level === SOL_IP && name === IP_RECVTTL) {
      this.recvTtl = optInt(value) !== 0;
      return;
    }
    throw err(ENOPROTOOPT);
  }

  sockname(): SockAddr { return sockaddrIn(INADDR_ANY, this.ident); }
  peername(): SockAddr { throw err(ENOTCONN); }
  readable(): number { return this.q.length > 0 ? 8 + this.q[0]!.data.byteLength : 0; }

  info(): SocketInfo {
    return { proto: 'icmp', local: this.sockname(), remote: null, state: '', stCode: 7, sendQ: 0, recvQ: this.q.length };
  }
}

export function pingInit(ns: NetStack): void {
  ns.protosw.register({ family: AF_INET, type: SOCK_DGRAM, protocol: IPPROTO_ICMP, name: 'icmp', attach: (so) => new PingSocket(so) });
}
