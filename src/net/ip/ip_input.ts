/**
 * IPv4 input (RFC 791, RFC 1122 §3.2.1, BSD ip_input.c): validate, decide
 * whether the datagram is for this host, reassemble, and hand it to its
 * transport; otherwise forward it (when net.ipv4.ip_forward is on) or drop it.
 *
 * "For this host" is the weak host model, as Linux: any of our addresses on
 * any interface, or a broadcast address of the receiving interface.
 * Martians are dropped (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7): a broadcast or
 * multicast source, and loopback addresses arriving on a real interface.
 */
import { EHOSTUNREACH } from '../../kern/errno.ts';
import { isLoopback, isMulticast } from '../addr.ts';
import { ETHER_HDR_LEN, ifOutput } from '../iface/ether.ts';
import type { Ifnet } from '../iface/ifnet.ts';
import type { NetStack } from '../netstack.ts';
import { ICMP_TIMXCEED, ICMP_TIMXCEED_INTRANS, ICMP_TIMXCEED_REASS, ICMP_UNREACH, ICMP_UNREACH_HOST, ICMP_UNREACH_NEEDFRAG, ICMP_UNREACH_NET, ICMP_UNREACH_PROTOCOL } from '../wire/icmp.ts';
import { emitIpv4Header, IPV4_HDR_LEN, parseIpv4, type Ipv4Packet } from '../wire/ipv4.ts';
import { WireError } from '../wire/wire.ts';
import { icmpError, icmpInput, icmpNotify } from './icmp.ts';
import { ipRegister, isBroadcastOn, routeTo } from './ip.ts';
import { fragment } from './ip_output.ts';
import { ipReassemble, reassFlush } from './ip_reass.ts';
import { IPPROTO_ICMP, type IpInfo } from './ip_var.ts';

function info(p: Ipv4Packet, broadcast: boolean, datagram: Uint8Array): IpInfo {
  return { src: p.src, dst: p.dst, proto: p.proto, ttl: p.ttl, tos: p.tos, id: p.id, df: p.df, hdrLen: p.hdrLen, datagram, broadcast };
}

export function ipInput(ns: NetStack, ifp: Ifnet, bytes: Uint8Array): void {
  const st = ns.ipStats;
  st.inReceives++;
  const p = parseIpv4(bytes);
  if (p instanceof WireError) {
    st.inHdrErrors++;
    return;
  }
  const onLo = ifp.kind === 'loopback';
  if (isMulticast(p.src) || p.src === 0xffffffff || (!onLo && (isLoopback(p.src) || isLoopback(p.dst)))) {
    st.inAddrErrors++;
    return;
  }
  const broadcast = isBroadcastOn(ifp, p.dst) || p.dst === 0;
  const ours = broadcast || onLo || ns.ifWithAddr(p.dst) !== null;
  if (!ours) {
    if (isMulticast(p.dst) || !ns.config.ipForward) {
      st.inAddrErrors++;
      return;
    }
    ipForward(ns, p);
    return;
  }
  let payload = p.payload;
  let datagram = p.datagram;
  if (p.mf || p.fragOff !== 0) {
    const whole = ipReassemble(ns, ifp, p, (first) => {
      const fp = parseIpv4Lenient(first);
      if (fp !== null) icmpError(ns, { ...fp, broadcast: false, datagram: first }, ICMP_TIMXCEED, ICMP_TIMXCEED_REASS);
    });
    if (whole === null) return;
    payload = whole.data;
    datagram = whole.first;
  }
  const ip = info(p, broadcast, datagram);
  const pr = ns.ipsw.get(p.proto);
  if (pr === undefined) {
    st.inUnknownProtos++;
    icmpError(ns, ip, ICMP_UNREACH, ICMP_UNREACH_PROTOCOL);
    return;
  }
  st.inDelivers++;
  pr.input(ns, ip, payload, ifp);
}

/** The header fields of a stored first fragment (its total length no longer matches). */
function parseIpv4Lenient(d: Uint8Array): Omit<IpInfo, 'broadcast' | 'datagram'> | null {
  if (d.byteLength < IPV4_HDR_LEN) return null;
  const dv = new DataView(d.buffer, d.byteOffset, IPV4_HDR_LEN);
  return {
    src: dv.getUint32(12), dst: dv.getUint32(16), proto: d[9]!, ttl: d[8]!, tos: d[1]!, id: dv.getUint16(4),
    df: (d[6]! & 0x40) !== 0, hdrLen: (d[0]! & 0xf) * 4,
  };
}

/**
 * Forward a datagram not for us (RFC 1812 §5.2): TTL, route, MTU. The
 * header (options included) is kept, with TTL decremented and the checksum
 * recomputed; fragments made here carry a 20-byte header.
 */
function ipForward(ns: NetStack, p: Ipv4Packet): void {
  const ip = info(p, false, p.datagram);
  if (p.ttl <= 1) {
    icmpError(ns, ip, ICMP_TIMXCEED, ICMP_TIMXCEED_INTRANS);
    return;
  }
  const r = routeTo(ns, p.dst);
  if (typeof r === 'number' || r.local) {
    icmpError(ns, ip, ICMP_UNREACH, r === EHOSTUNREACH ? ICMP_UNREACH_HOST : ICMP_UNREACH_NET);
    return;
  }
  if (r.broadcast) return; // RFC 1812 §5.3.5: directed broadcasts are not forwarded by default
  ns.ipStats.forwDatagrams++;
  if (p.totalLen > r.mtu) {
    if (p.df) {
      icmpError(ns, ip, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, r.mtu & 0xffff);
      return;
    }
    fragment(ns, r.ifp, r.nexthop, false, r.mtu, { tos: p.tos, id: p.id, ttl: p.ttl - 1, proto: p.proto, src: p.src, dst: p.dst }, p.payload, p.fragOff, p.mf);
    return;
  }
  const frame = new Uint8Array(ETHER_HDR_LEN + p.totalLen);
  frame.set(p.datagram, ETHER_HDR_LEN);
  if (p.hdrLen === IPV4_HDR_LEN) {
    emitIpv4Header(frame, ETHER_HDR_LEN, { ...p, ttl: p.ttl - 1 });
  } else {
    // Keep options: patch TTL and recompute the checksum over the whole header.
    frame[ETHER_HDR_LEN + 8] = p.ttl - 1;
    frame[ETHER_HDR_LEN + 10] = 0;
    frame[ETHER_HDR_LEN + 11] = 0;
    let s = 0;
    for (let i = 0; i < p.hdrLen; i += 2) s += (frame[ETHER_HDR_LEN + i]! << 8) | frame[ETHER_HDR_LEN + i + 1]!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    const c = ~s & 0xffff;
    frame[ETHER_HDR_LEN + 10] = c >>> 8;
    frame[ETHER_HDR_LEN + 11] = c & 0xff;
  }
  ifOutput(ns, r.ifp, r.nexthop, frame, false);
}

/**
 * A frame the link layer could not deliver (ARP failed): tell the
 * datagram's transport, as a locally generated host unreachable (Linux's
 * ipv4_link_failure sends itself exactly that).
 */
function linkFailure(ns: NetStack, frame: Uint8Array): void {
  const d = frame.subarray(ETHER_HDR_LEN);
  if (d.byteLength < IPV4_HDR_LEN + 8) return;
  const h = parseIpv4Lenient(d);
  if (h === null) return;
  const fragOff = ((d[6]! << 8) | d[7]!) & 0x1fff;
  if (fragOff !== 0) return;
  icmpNotify(ns, {
    kind: 'unreach', type: ICMP_UNREACH, code: ICMP_UNREACH_HOST, errno: EHOSTUNREACH, fatal: false, mtu: 0,
    src: h.src, dst: h.dst, proto: h.proto, data: d.subarray(h.hdrLen), from: h.src,
  });
}

/** Wire IP into a stack: input hand-off, link failures, ICMP. */
export function ipInit(ns: NetStack): void {
  ns.ipInput = (ifp, datagram) => ipInput(ns, ifp, datagram);
  ns.linkFailure = (_ifp, frame) => linkFailure(ns, frame);
  ipRegister(ns, { proto: IPPROTO_ICMP, name: 'icmp', input: icmpInput });
}

/** Stop IP's timers (shutdown). */
export function ipShutdown(ns: NetStack): void {
  reassFlush(ns);
}
