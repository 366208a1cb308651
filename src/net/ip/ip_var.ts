/**
 * What IPv4 offers the transports (UDP here, TCP in ../tcp): the contract
 * between the network layer and the protocols above it, after BSD's protosw
 * `pr_input` / `pr_ctlinput` and `ip_output()`.
 *
 *   down:  ipOutput(ns, { src, dst, proto, ttl, tos, df }, payload)
 *            → 0, or an errno (ENETUNREACH no route, EMSGSIZE too big with DF,
 *              ENETDOWN interface down, EACCES broadcast without SO_BROADCAST,
 *              ENOBUFS the ARP pending queue is full)
 *          routeTo(ns, dst) → the interface, source address, next hop and MTU
 *            a datagram to dst would use (MSS = mtu - 40 for TCP)
 *   up:    ipRegister(ns, { proto, input, ctlinput })
 *            input(ns, ip, payload, ifp)   a validated datagram for us, reassembled
 *            ctlinput(ns, notice)          an ICMP error quoting a datagram we sent
 *
 * Input handlers run in the receive upcall: they must not sleep; they queue
 * data on sockets and wake their WaitQueues. `payload` is a view into the
 * received frame (or the reassembly buffer): copy what you keep.
 */
import type { InAddr } from '../addr.ts';
import type { Ifnet } from '../iface/ifnet.ts';
import type { NetStack } from '../netstack.ts';

/** IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** The validated IPv4 header values of a received datagram (RFC 791 §3.1). */
export interface IpInfo {
  readonly src: InAddr;
  readonly dst: InAddr;
  readonly proto: number;
  readonly ttl: number;
  readonly tos: number;
  readonly id: number;
  /** Don't Fragment was set. */
  readonly df: boolean;
  /** Header length in bytes (20 + options). */
  readonly hdrLen: number;
  /** The whole datagram (header + payload) as received, before reassembly: for ICMP quoting. */
  readonly datagram: Uint8Array;
  /** True when dst was a broadcast address (limited or directed) — no ICMP errors for it. */
  readonly broadcast: boolean;
}

/** What kind of ICMP error a transport is told about. */
export type IcmpNoticeKind = 'unreach' | 'needfrag' | 'timex' | 'paramprob';

/**
 * An ICMP error about a datagram this host sent (RFC 1122 §3.2.2.1: deliver
 * it to the transport that sent the quoted datagram). Like BSD's
 * pr_ctlinput(cmd, sa, ip): the transport finds its socket from the quoted
 * addresses and the first bytes of its own header.
 */
export interface IcmpNotice {
  readonly kind: IcmpNoticeKind;
  readonly type: number;
  readonly code: number;
  /**
   * The errno Linux maps this to (net/ipv4/icmp.c icmp_err_convert): port
   * unreachable → ECONNREFUSED, protocol → ENOPROTOOPT, net → ENETUNREACH,
   * host → EHOSTUNREACH, fragmentation needed → EMSGSIZE, time exceeded →
   * EHOSTUNREACH, parameter problem → EPROTO.
   */
  readonly errno: number;
  /** Hard error (RFC 1122 §4.2.3.9): a connection attempt should fail on it. */
  readonly fatal: boolean;
  /** Next-hop MTU of a 'needfrag' notice (RFC 1191 §4), 0 when the router gave none or otherwise. */
  readonly mtu: number;
  /** Source and destination of the quoted datagram (the one we sent). */
  readonly src: InAddr;
  readonly dst: InAddr;
  readonly proto: number;
  /** Bytes of the quoted datagram after its IP header (≥ 8: ports, TCP sequence number). */
  readonly data: Uint8Array;
  /** The host that sent the ICMP message. */
  readonly from: InAddr;
}

/** A transport as IP sees it (one per protocol number). */
export interface IpProto {
  readonly proto: number;
  readonly name: string;
  /** A datagram for this host with this protocol number (pr_input). */
  input(ns: NetStack, ip: IpInfo, payload: Uint8Array, ifp: Ifnet): void;
  /** An ICMP error about a datagram this protocol sent (pr_ctlinput). */
  ctlinput?(ns: NetStack, notice: IcmpNotice): void;
}

/** Options of one ipOutput call. */
export interface IpOutputOpts {
  /** Source address; 0 picks the route's preferred source (the interface's primary address). */
  src: InAddr;
  dst: InAddr;
  proto: number;
  /** Default: sysctl net.ipv4.ip_default_ttl (64). */
  ttl?: number;
  /** Type of service / DSCP+ECN byte (default 0). */
  tos?: number;
  /** Set Don't Fragment: a datagram larger than the path MTU fails with EMSGSIZE. */
  df?: boolean;
  /** Sending to a broadcast address is allowed (SO_BROADCAST); EACCES otherwise. */
  broadcast?: boolean;
  /** Send through this interface only (SO_BINDTODEVICE). */
  ifp?: Ifnet | null;
  /** IP identification to use (default: the stack's counter). */
  id?: number;
}

/** Where a datagram to some destination goes. */
export interface RouteResult {
  readonly ifp: Ifnet;
  /** The source address a socket without a bound address uses (the interface's primary address). */
  readonly src: InAddr;
  /** The next hop: the gateway, or dst itself on a connected network. */
  readonly nexthop: InAddr;
  /** MTU of the path as far as this host knows: the route's MTU, else the interface's. */
  readonly mtu: number;
  /** dst is a broadcast address for this interface (limited or directed). */
  readonly broadcast: boolean;
  /** dst is one of this host's own addresses (delivered through loopback). */
  readonly local: boolean;
}
