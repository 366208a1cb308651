/**
 * IPv4 output (RFC 791 §3.2, RFC 1122 §3.3, BSD ip_output.c): route the
 * datagram, choose the source address, build the header, fragment when it
 * exceeds the MTU (unless DF), and hand each frame to the link layer.
 *
 * Frames are built in place: one buffer per frame with 14 bytes of room for
 * the Ethernet header in front of the IP header, so the datagram is copied
 * once on its way to the driver.
 */
import { EACCES, EINVAL, EMSGSIZE } from '../../kern/errno.ts';
import { INADDR_ANY, isMulticast } from '../addr.ts';
import { ETHER_HDR_LEN, ifOutput } from '../iface/ether.ts';
import type { Ifnet } from '../iface/ifnet.ts';
import type { NetStack } from '../netstack.ts';
import { emitIpv4Header, IP_MAXPACKET, IPV4_HDR_LEN } from '../wire/ipv4.ts';
import { routeTo } from './ip.ts';
import type { IpOutputOpts } from './ip_var.ts';

/** The next IP identification (RFC 6864: unique per source/destination/protocol while in flight). */
export function ipNextId(ns: NetStack): number {
  const st = ns.part('ip.id', () => ({ next: ns.random32() & 0xffff }));
  const id = st.next;
  st.next = (st.next + 1) & 0xffff;
  return id;
}

/**
 * A payload the transport writes straight into the frame (TCP emits its
 * segment there), saving a buffer and a copy per datagram: `len` bytes,
 * written by `write(frame, at)` before ipOutput hands the frame on.
 */
export interface PayloadWriter {
  readonly len: number;
  write(frame: Uint8Array, at: number): void;
}

/**
 * Send one datagram. Returns 0, or an errno: ENETUNREACH / EHOSTUNREACH no
 * route, EMSGSIZE too big for the path with DF (or for IP), EACCES broadcast
 * without permission, ENETDOWN interface down, EINVAL bad source.
 */
export function ipOutput(ns: NetStack, o: IpOutputOpts, data: Uint8Array | PayloadWriter): number {
  ns.ipStats.outRequests++;
  const r = routeTo(ns, o.dst, o.ifp);
  if (typeof r === 'number') {
    ns.ipStats.outNoRoutes++;
    return r;
  }
  if (r.broadcast && !o.broadcast) return EACCES;
  const src = o.src !== INADDR_ANY ? o.src : r.src;
  if (isMulticast(src) || src === 0xffffffff) return EINVAL;
  const plen = data instanceof Uint8Array ? data.byteLength : data.len;
  const total = IPV4_HDR_LEN + plen;
  if (total > IP_MAXPACKET) return EMSGSIZE;
  const ttl = o.ttl ?? ns.config.defaultTtl;
  const tos = o.tos ?? 0;
  const id = o.id ?? ipNextId(ns);
  const df = o.df ?? false;
  if (total <= r.mtu) {
    const frame = new Uint8Array(ETHER_HDR_LEN + total);
    emitIpv4Header(frame, ETHER_HDR_LEN, { tos, totalLen: total, id, df, mf: false, fragOff: 0, ttl, proto: o.proto, src, dst: o.dst });
    if (data instanceof Uint8Array) frame.set(data, ETHER_HDR_LEN + IPV4_HDR_LEN);
    else data.write(frame, ETHER_HDR_LEN + IPV4_HDR_LEN);
    return ifOutput(ns, r.ifp, r.nexthop, frame, r.broadcast);
  }
  if (df) {
    ns.ipStats.fragFails++;
    return EMSGSIZE;
  }
  let payload: Uint8Array;
  if (data instanceof Uint8Array) payload = data;
  else {
    payload = new Uint8Array(plen);
    data.write(payload, 0);
  }
  return fragment(ns, r.ifp, r.nexthop, r.broadcast, r.mtu, { tos, id, ttl, proto: o.proto, src, dst: o.dst }, payload, 0, false);
}

/**
 * Split payload (which starts at byte `baseOff` of the original datagram's
 * data, and is followed by more when `moreAfter`) into fragments of at most
 * mtu bytes (RFC 791 §3.2 "fragmentation": data in multiples of 8 except the
 * last; MF on all but the last).
 */
export function fragment(
  ns: NetStack, ifp: Ifnet, nexthop: number, broadcast: boolean, mtu: number,
  h: { tos: number; id: number; ttl: number; proto: number; src: number; dst: number },
  payload: Uint8Array, baseOff: number, moreAfter: boolean,
): number {
  const chunk = (mtu - IPV4_HDR_LEN) & ~7;
  if (chunk < 8) return EMSGSIZE;
  for (let off = 0; off < payload.byteLength; off += chunk) {
    const n = Math.min(chunk, payload.byteLength - off);
    const last = off + n >= payload.byteLength;
    const frame = new Uint8Array(ETHER_HDR_LEN + IPV4_HDR_LEN + n);
    emitIpv4Header(frame, ETHER_HDR_LEN, {
      ...h, totalLen: IPV4_HDR_LEN + n, df: false, mf: !last || moreAfter, fragOff: baseOff + off,
    });
    frame.set(payload.subarray(off, off + n), ETHER_HDR_LEN + IPV4_HDR_LEN);
    ns.ipStats.fragCreates++;
    const e = ifOutput(ns, ifp, nexthop, frame, broadcast);
    if (e !== 0) return e;
  }
  ns.ipStats.fragOKs++;
  return 0;
}
