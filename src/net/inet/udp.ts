/**
 * UDP (RFC 768, RFC 1122 §4.1; Linux udp.c for socket behaviour): the
 * transport for protocol 17 and its sockets (AF_INET, SOCK_DGRAM).
 *
 * Input: checksum-verified datagrams go to the best-matching socket
 * (in_pcb.ts lookup), or to every matching socket for a broadcast; nobody
 * listening answers ICMP port unreachable (RFC 1122 §4.1.3.1), except for
 * broadcasts. A socket's receive queue holds at most SO_RCVBUF bytes,
 * counting each datagram as its length plus UDP_SKB_OVERHEAD (Linux counts
 * skb truesize); datagrams beyond that are dropped and counted.
 *
 * Sockets: bind (explicit or implicit ephemeral on first send/connect),
 * connect to set a default peer and filter input (AF_UNSPEC dissolves it),
 * sendto/recvfrom with MSG_PEEK, MSG_DONTWAIT, MSG_TRUNC; ICMP errors about
 * datagrams of a connected socket become its pending error (port
 * unreachable → ECONNREFUSED), reported by the next send or receive, as
 * Linux's sk_err.
 *
 * Not supported: UDP-Lite, UDP_CORK/MSG_MORE, IP_RECVERR error queues,
 * IP_PKTINFO, multicast membership, GSO/GRO.
 */
import {
  EACCES, EAFNOSUPPORT, EBADF, EDESTADDRREQ, EINVAL, EMSGSIZE, ENOPROTOOPT, ENOTCONN, EOPNOTSUPP, EPIPE, err,
} from '../../kern/errno.ts';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRNORM } from '../../kern/constants.ts';
import type { Lwp } from '../../kern/sched.ts';
import { INADDR_ANY, INADDR_BROADCAST, INADDR_LOOPBACK, type InAddr } from '../addr.ts';
import type { Ifnet } from '../iface/ifnet.ts';
import { ipRegister, routeTo } from '../ip/ip.ts';
import { icmpError } from '../ip/icmp.ts';
import { ipOutput } from '../ip/ip_output.ts';
import { IPPROTO_UDP, type IcmpNotice, type IpInfo } from '../ip/ip_var.ts';
import type { NetStack } from '../netstack.ts';
import {
  IP_MTU, IP_MTU_DISCOVER, IP_TOS, IP_TTL, MSG_PEEK, MSG_TRUNC, SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_DGRAM, SOL_IP,
} from '../socket/constants.ts';
import type { RecvResult, SocketInfo, SocketProto, SockoptValue } from '../socket/protosw.ts';
import { AF_INET, AF_UNSPEC, sockaddrIn, type SockAddr } from '../socket/sockaddr.ts';
import type { Socket } from '../socket/socket.ts';
import { optInt } from '../socket/sockopt.ts';
import { ICMP_UNREACH, ICMP_UNREACH_PORT } from '../wire/icmp.ts';
import { IPV4_HDR_LEN } from '../wire/ipv4.ts';
import { emitUdpv, parseUdp, UDP_HDR_LEN } from '../wire/udp.ts';
import { WireError } from '../wire/wire.ts';
import { newPcb, PcbTable, type InPcb } from './in_pcb.ts';

/** Bookkeeping charged per queued datagram on top of its length. */
export const UDP_SKB_OVERHEAD = 256;
/** Largest payload: 65535 - IP header - UDP header. */
export const UDP_MAX_PAYLOAD = 65535 - IPV4_HDR_LEN - UDP_HDR_LEN;

/** Linux /proc/net/snmp "Udp:" counters. */
export interface UdpStats {
  inDatagrams: number;
  noPorts: number;
  inErrors: number;
  outDatagrams: number;
  rcvbufErrors: number;
  inCsumErrors: number;
}

interface Dgram {
  from: SockAddr;
  data: Uint8Array;
}

interface UdpPcb extends InPcb {
  readonly so: Socket;
  readonly proto: UdpSocket;
}

class UdpState {
  readonly table: PcbTable<UdpPcb>;
  readonly stats: UdpStats = { inDatagrams: 0, noPorts: 0, inErrors: 0, outDatagrams: 0, rcvbufErrors: 0, inCsumErrors: 0 };
  constructor(ns: NetStack) {
    this.table = new PcbTable<UdpPcb>(ns, 'udp');
  }
}

export function udpState(ns: NetStack): UdpState {
  return ns.part('udp', () => new UdpState(ns));
}

/** The per-socket protocol object of a UDP socket. */
export class UdpSocket implements SocketProto {
  readonly so: Socket;
  readonly pcb: UdpPcb;
  private readonly q: Dgram[] = [];
  private qbytes = 0;
  private shutRd = false;
  private shutWr = false;
  private closed = false;
  /** IP_TTL (-1: the default), IP_TOS. */
  private ttl = -1;
  private tos = 0;
  /** The local address was given by bind (connect(AF_UNSPEC) keeps it). */
  private boundAddr = false;

  constructor(so: Socket, uid: number) {
    this.so = so;
    this.pcb = Object.assign(newPcb(uid), { so, proto: this });
  }

  private get ns(): NetStack {
    return this.so.ns;
  }
  private get table(): PcbTable<UdpPcb> {
    return udpState(this.ns).table;
  }

  private localOk = (a: InAddr): boolean => {
    if (this.ns.ifWithAddr(a) !== null) return true;
    for (const ifp of this.ns.ifnets.values()) for (const x of ifp.addrs) if (x.broadcast === a) return true;
    return a === INADDR_BROADCAST;
  };

  private syncOpts(): void {
    this.pcb.reuseaddr = this.so.opts.reuseaddr;
    this.pcb.reuseport = this.so.opts.reuseport;
    const dev = this.so.opts.bindToDevice;
    this.pcb.boundIf = dev !== '' ? this.ns.ifnets.get(dev)?.index ?? 0 : 0;
  }

  private boundIfp(): Ifnet | null {
    const dev = this.so.opts.bindToDevice;
    return dev !== '' ? this.ns.ifnets.get(dev) ?? null : null;
  }

  bind(td: Lwp, addr: SockAddr): void {
    if (addr.family !== AF_INET) throw err(EAFNOSUPPORT);
    this.syncOpts();
    const e = this.table.bind(this.pcb, addr.addr, addr.port, { root: td.proc.cred.euid === 0, localOk: this.localOk });
    if (e !== 0) throw err(e);
    this.boundAddr = addr.addr !== INADDR_ANY;
  }

  /** Implicit bind to an ephemeral port (first send or connect). */
  private autobind(): void {
    if (this.pcb.lport !== 0) return;
    this.syncOpts();
    const e = this.table.bind(this.pcb, INADDR_ANY, 0, { root: true, localOk: this.localOk });
    if (e !== 0) throw err(e);
  }

  listen(): void {
    throw err(EOPNOTSUPP);
  }

  async accept(): Promise<Socket> {
    throw err(EOPNOTSUPP);
  }

  connect(_td: Lwp, addr: SockAddr): void {
    if (addr.family === AF_UNSPEC) {
      // connect(2): AF_UNSPEC dissolves the association.
      this.pcb.faddr = 0;
      this.pcb.fport = 0;
      if (!this.boundAddr) this.pcb.laddr = INADDR_ANY;
      return;
    }
    if (addr.family !== AF_INET) throw err(EAFNOSUPPORT);
    const dst = addr.addr === INADDR_ANY ? INADDR_LOOPBACK : addr.addr;
    const r = routeTo(this.ns, dst, this.boundIfp());
    if (typeof r === 'number') throw err(r);
    if (r.broadcast && !this.so.opts.broadcast) throw err(EACCES) // connect to a broadcast address needs SO_BROADCAST;
    this.autobind();
    const laddr = this.pcb.laddr !== INADDR_ANY ? this.pcb.laddr : r.src;
    this.pcb.laddr = laddr;
    this.pcb.faddr = dst;
    this.pcb.fport = addr.port;
  }

  async send(_td: Lwp, data: readonly Uint8Array[], _flags: number, to: SockAddr | null): Promise<number> {
    const pending = this.so.takeError();
    if (pending !== 0) throw err(pending);
    if (this.shutWr) throw err(EPIPE);
    let dst: InAddr;
    let dport: number;
    if (to !== null && to.family !== AF_UNSPEC) {
      if (to.family !== AF_INET) throw err(EAFNOSUPPORT);
      dst = to.addr === INADDR_ANY ? INADDR_LOOPBACK : to.addr;
      dport = to.port;
      if (dport === 0) throw err(EINVAL); // Linux udp_sendmsg: EINVAL for port 0
    } else {
      if (this.pcb.faddr === 0) throw err(EDESTADDRREQ);
      dst = this.pcb.faddr;
      dport = this.pcb.fport;
    }
    let len = 0;
    for (const d of data) len += d.byteLength;
    if (len > UDP_MAX_PAYLOAD) throw err(EMSGSIZE);
    this.autobind();
    let src = this.pcb.laddr;
    if (src === INADDR_ANY || (to !== null && this.pcb.faddr === 0 && !this.boundAddr)) {
      const r = routeTo(this.ns, dst, this.boundIfp());
      if (typeof r === 'number') throw err(r);
      src = this.boundAddr ? this.pcb.laddr : r.src;
    }
    const dgram = emitUdpv(this.pcb.lport, dport, data, src, dst);
    const e = ipOutput(this.ns, {
      src, dst, proto: IPPROTO_UDP, ttl: this.ttl >= 0 ? this.ttl : undefined, tos: this.tos,
      broadcast: this.so.opts.broadcast, ifp: this.boundIfp(),
    }, dgram);
    if (e !== 0) throw err(e);
    udpState(this.ns).stats.outDatagrams++;
    return len;
  }

  async recv(td: Lwp, bufs: readonly Uint8Array[], flags: number): Promise<RecvResult> {
    const nonblock = this.so.nonblocking(flags);
    for (;;) {
      if (this.closed) throw err(EBADF); // closed under a sleeping reader
      const pending = this.so.takeError();
      if (pending !== 0) throw err(pending);
      if (this.q.length > 0) break;
      if (this.shutRd) return { n: 0, from: null, flags: 0 };
      await this.so.wait(td, 'rcv', nonblock);
    }
    const d = (flags & MSG_PEEK) !== 0 ? this.q[0]! : this.q.shift()!;
    if ((flags & MSG_PEEK) === 0) this.qbytes -= d.data.byteLength + UDP_SKB_OVERHEAD;
    let n = 0;
    for (const b of bufs) {
      if (n >= d.data.byteLength) break;
      const m = Math.min(b.byteLength, d.data.byteLength - n);
      b.set(d.data.subarray(n, n + m));
      n += m;
    }
    const truncated = n < d.data.byteLength;
    return {
      n, from: d.from, flags: truncated ? MSG_TRUNC : 0,
      fullLength: (flags & MSG_TRUNC) !== 0 ? d.data.byteLength : undefined,
    };
  }

  /** Queue a datagram that arrived for this socket; false when SO_RCVBUF is full. */
  deliver(from: SockAddr, payload: Uint8Array): boolean {
    if (this.closed) return false;
    const cost = payload.byteLength + UDP_SKB_OVERHEAD;
    if (this.qbytes + cost > this.so.opts.rcvbuf) return false;
    this.q.push({ from, data: payload.slice() });
    this.qbytes += cost;
    this.so.notify();
    return true;
  }

  shutdown(_td: Lwp, how: number): void {
    // Linux inet_shutdown: ENOTCONN on a socket that is not connected (but still applies it).
    const connected = this.pcb.faddr !== 0;
    if (how === SHUT_RD || how === SHUT_RDWR) this.shutRd = true;
    if (how === SHUT_WR || how === SHUT_RDWR) this.shutWr = true;
    this.so.notify();
    if (!connected) throw err(ENOTCONN);
  }

  close(): void {
    this.closed = true;
    this.table.remove(this.pcb);
    this.q.length = 0;
    this.qbytes = 0;
  }

  poll(): number {
    let r = 0;
    if (this.q.length > 0) r |= POLLIN | POLLRDNORM;
    if (this.shutRd) r |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (this.shutRd && this.shutWr) r |= POLLHUP;
    if (this.so.error !== 0) r |= POLLERR;
    if (!this.shutWr) r |= POLLOUT | POLLWRNORM;
    return r;
  }

  getsockopt(_td: Lwp, level: number, name: number): SockoptValue {
    if (level === SOL_IP) {
      if (name === IP_TTL) return this.ttl >= 0 ? this.ttl : this.ns.config.defaultTtl;
      if (name === IP_TOS) return this.tos;
      if (name === IP_MTU_DISCOVER) return 1; // IP_PMTUDISC_WANT
      if (name === IP_MTU) {
        // ip(7) IP_MTU: the path MTU of a connected socket; ENOTCONN otherwise.
        if (this.pcb.faddr === 0) throw err(ENOTCONN);
        const r = routeTo(this.ns, this.pcb.faddr, this.boundIfp());
        if (typeof r === 'number') throw err(r);
        return r.mtu;
      }
    }
    throw err(ENOPROTOOPT);
  }

  setsockopt(_td: Lwp, level: number, name: number, value: SockoptValue): void {
    if (level === SOL_IP) {
      const v = optInt(value);
      if (name === IP_TTL) {
        // ip(7): 1..255, or -1 for the default.
        if (v !== -1 && (v < 1 || v > 255)) throw err(EINVAL);
        this.ttl = v;
        return;
      }
      if (name === IP_TOS) {
        this.tos = v & 0xff;
        return;
      }
      if (name === IP_MTU_DISCOVER) {
        if (v < 0 || v > 5) throw err(EINVAL);
        return;
      }
    }
    throw err(ENOPROTOOPT);
  }

  sockoptChanged(): void {
    this.syncOpts();
  }

  sockname(): SockAddr {
    return sockaddrIn(this.pcb.laddr, this.pcb.lport);
  }

  peername(): SockAddr {
    if (this.pcb.faddr === 0) throw err(ENOTCONN);
    return sockaddrIn(this.pcb.faddr, this.pcb.fport);
  }

  readable(): number {
    return this.q.length > 0 ? this.q[0]!.data.byteLength : 0;
  }

  info(): SocketInfo {
    const connected = this.pcb.faddr !== 0;
    return {
      proto: 'udp', local: this.sockname(), remote: connected ? sockaddrIn(this.pcb.faddr, this.pcb.fport) : sockaddrIn(0, 0),
      state: connected ? 'ESTABLISHED' : '', stCode: connected ? 1 : 7, sendQ: 0, recvQ: this.qbytes,
    };
  }

  /** An ICMP error about a datagram this socket sent. */
  ctlinput(n: IcmpNotice): void {
    if (n.kind === 'needfrag') return; // no path MTU discovery for UDP
    // Linux reports ICMP errors to connected sockets only (without IP_RECVERR).
    if (this.pcb.faddr === 0) return;
    this.so.setError(n.errno);
  }
}

function udpInput(ns: NetStack, ip: IpInfo, payload: Uint8Array, ifp: Ifnet): void {
  const st = udpState(ns);
  const u = parseUdp(payload, ip.src, ip.dst);
  if (u instanceof WireError) {
    st.stats.inErrors++;
    if (u.reason === 'bad checksum') st.stats.inCsumErrors++;
    return;
  }
  const from = sockaddrIn(ip.src, u.sport);
  if (ip.broadcast) {
    let any = false;
    for (const pcb of st.table.matchAll(ip.dst, u.dport, ip.src, u.sport)) {
      if (pcb.boundIf !== 0 && pcb.boundIf !== ifp.index) continue;
      any = true;
      if (pcb.proto.deliver(from, u.payload)) st.stats.inDatagrams++;
      else st.stats.rcvbufErrors++;
    }
    if (!any) st.stats.noPorts++;
    return;
  }
  const pcb = st.table.lookup(ip.dst, u.dport, ip.src, u.sport, true, ifp.index);
  if (pcb === null) {
    st.stats.noPorts++;
    icmpError(ns, ip, ICMP_UNREACH, ICMP_UNREACH_PORT);
    return;
  }
  if (pcb.proto.deliver(from, u.payload)) st.stats.inDatagrams++;
  else {
    st.stats.rcvbufErrors++;
    st.stats.inErrors++;
  }
}

function udpCtlinput(ns: NetStack, n: IcmpNotice): void {
  if (n.data.byteLength < 4) return;
  const sport = (n.data[0]! << 8) | n.data[1]!;
  const dport = (n.data[2]! << 8) | n.data[3]!;
  const pcb = udpState(ns).table.lookup(n.src, sport, n.dst, dport, true);
  pcb?.proto.ctlinput(n);
}

/** Register UDP with IP and the protocol switch. */
export function udpInit(ns: NetStack): void {
  ipRegister(ns, { proto: IPPROTO_UDP, name: 'udp', input: udpInput, ctlinput: udpCtlinput });
  ns.protosw.register({
    family: AF_INET, type: SOCK_DGRAM, protocol: IPPROTO_UDP, name: 'udp',
    attach: (so, td) => new UdpSocket(so, td?.proc.cred.euid ?? 0),
  });
}
