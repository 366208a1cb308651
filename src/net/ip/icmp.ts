/**
 * ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2): answering echo requests,
 * sending error messages about datagrams we could not deliver, and handing
 * received errors to the transport that sent the quoted datagram.
 *
 * Error messages are never sent (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7) about
 * an ICMP error message, a datagram to a broadcast or multicast address, a
 * non-initial fragment, or a datagram whose source is not a unicast host.
 * They quote the offending IP header and as much of its data as keeps the
 * message within 576 bytes (RFC 1812 §4.3.2.3), and are rate limited like
 * Linux: per destination a token bucket of ICMP_RATE_BURST tokens refilled
 * every net.ipv4.icmp_ratelimit ms, and overall at most ICMP_MSGS_PER_SEC
 * with a burst of ICMP_MSGS_BURST. Echo replies are not rate limited.
 */
import { EHOSTUNREACH, EMSGSIZE, ENETUNREACH, ENOPROTOOPT, ECONNREFUSED, EOPNOTSUPP, EHOSTDOWN, EPROTO } from '../../kern/errno.ts';
import { INADDR_ANY, isLoopback, isMulticast, type InAddr } from '../addr.ts';
import type { Ifnet } from '../iface/ifnet.ts';
import type { NetStack } from '../netstack.ts';
import {
  echoIdSeq, emitIcmp, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_PARAMPROB, ICMP_SOURCEQUENCH, ICMP_TIMXCEED, ICMP_UNREACH,
  ICMP_UNREACH_NEEDFRAG, isIcmpError, parseIcmp,
} from '../wire/icmp.ts';
import { WireError } from '../wire/wire.ts';
import { ipOutput } from './ip_output.ts';
import { IPPROTO_ICMP, type IcmpNotice, type IcmpNoticeKind, type IpInfo } from './ip_var.ts';

export const ICMP_RATE_BURST = 6;
export const ICMP_MSGS_PER_SEC = 1000;
export const ICMP_MSGS_BURST = 50;
/** Destinations remembered by the rate limiter (the oldest is forgotten first). */
export const ICMP_RATE_DESTS = 1024;
/** Quoted datagrams keep the error message within this size (RFC 1812 §4.3.2.3). */
const ICMP_MAX_MSG = 576;

/** An echo reply as the ping tool sees it. */
export interface EchoReply {
  from: InAddr;
  id: number;
  seq: number;
  ttl: number;
  data: Uint8Array;
}

class IcmpState {
  readonly dests = new Map<InAddr, { tokens: number; lastNs: bigint }>();
  globalTokens = ICMP_MSGS_BURST;
  globalLastNs = 0n;
  /** Echo-reply listeners (ping), by echo identifier. */
  readonly echoListeners = new Map<number, (r: EchoReply) => void>();
  readonly stats = { inMsgs: 0, inErrors: 0, inEchos: 0, outMsgs: 0, outErrors: 0, rateLimited: 0 };
}

export function icmpState(ns: NetStack): IcmpState {
  return ns.part('icmp', () => new IcmpState());
}

/** Linux's icmp_err_convert table for destination unreachable codes 0..15: [errno, fatal]. */
const UNREACH_ERR: readonly [number, boolean][] = [
  [ENETUNREACH, false], [EHOSTUNREACH, false], [ENOPROTOOPT, true], [ECONNREFUSED, true], [EMSGSIZE, false],
  [EOPNOTSUPP, false], [ENETUNREACH, true], [EHOSTDOWN, true], [EHOSTUNREACH, true], [ENETUNREACH, true],
  [EHOSTUNREACH, true], [ENETUNREACH, false], [EHOSTUNREACH, false], [EHOSTUNREACH, true], [EHOSTUNREACH, true],
  [EHOSTUNREACH, true],
];

function allow(ns: NetStack, dst: InAddr): boolean {
  const st = icmpState(ns);
  const now = ns.k.hyper.clockMonotonic();
  // Global bucket: ICMP_MSGS_PER_SEC, burst ICMP_MSGS_BURST (net.ipv4.icmp_msgs_per_sec/burst).
  const refill = Number((now - st.globalLastNs) / 1_000_000n) * (ICMP_MSGS_PER_SEC / 1000);
  st.globalTokens = Math.min(ICMP_MSGS_BURST, st.globalTokens + refill);
  st.globalLastNs = now;
  if (st.globalTokens < 1) return false;
  const period = BigInt(ns.config.icmpRatelimitMs) * 1_000_000n;
  if (period > 0n) {
    let d = st.dests.get(dst);
    if (d === undefined) {
      if (st.dests.size >= ICMP_RATE_DESTS) st.dests.delete(st.dests.keys().next().value!);
      d = { tokens: ICMP_RATE_BURST, lastNs: now };
      st.dests.set(dst, d);
    }
    const gained = Number((now - d.lastNs) / period);
    if (gained > 0) {
      d.tokens = Math.min(ICMP_RATE_BURST, d.tokens + gained);
      d.lastNs += BigInt(gained) * period;
    }
    if (d.tokens < 1) return false;
    d.tokens--;
  }
  st.globalTokens--;
  return true;
}

/**
 * Send an ICMP error about `ip` (a datagram we received): type, code, and
 * the 32-bit `rest` word (next-hop MTU for needfrag, pointer for parameter
 * problem). Silently does nothing where RFC 1122 forbids an error.
 */
export function icmpError(ns: NetStack, ip: IpInfo, type: number, code: number, rest = 0): void {
  const d = ip.datagram;
  if (ip.broadcast || isMulticast(ip.dst) || ip.dst === 0xffffffff) return;
  if (ip.src === INADDR_ANY || ip.src === 0xffffffff || isMulticast(ip.src)) return;
  const fragOff = ((d[6]! << 8) | d[7]!) & 0x1fff;
  if (fragOff !== 0) return;
  if (ip.proto === IPPROTO_ICMP) {
    const t = d[ip.hdrLen];
    if (t === undefined || isIcmpError(t) || t > 18) return;
  }
  if (!allow(ns, ip.src)) {
    icmpState(ns).stats.rateLimited++;
    return;
  }
  const quoted = d.subarray(0, Math.min(d.byteLength, ICMP_MAX_MSG - 20 - 8));
  const msg = emitIcmp({ type, code, rest, data: quoted });
  const st = icmpState(ns);
  st.stats.outMsgs++;
  st.stats.outErrors++;
  // Source: the address the datagram was sent to when it is ours, else the route's choice.
  const src = ns.ifWithAddr(ip.dst) !== null ? ip.dst : INADDR_ANY;
  ipOutput(ns, { src, dst: ip.src, proto: IPPROTO_ICMP, tos: 0xc0 /* internetwork control */ }, msg);
}

/** Parse the header quoted in an error: lenient about lengths, strict about what is read. */
function quotedHeader(q: Uint8Array): { src: InAddr; dst: InAddr; proto: number; hdrLen: number } | null {
  if (q.byteLength < 20 || q[0]! >>> 4 !== 4) return null;
  const hdrLen = (q[0]! & 0xf) * 4;
  if (hdrLen < 20 || q.byteLength < hdrLen + 8) return null; // RFC 792: header + 64 bits
  const dv = new DataView(q.buffer, q.byteOffset, 20);
  return { src: dv.getUint32(12), dst: dv.getUint32(16), proto: q[9]!, hdrLen };
}

/** Deliver an error notice to the transport that owns the quoted datagram. */
export function icmpNotify(ns: NetStack, n: IcmpNotice): void {
  ns.ipsw.get(n.proto)?.ctlinput?.(ns, n);
}

/** Build the notice for an ICMP error message (type, code, rest, quoted data). */
export function icmpNoticeOf(type: number, code: number, rest: number, data: Uint8Array, from: InAddr): IcmpNotice | null {
  const qh = quotedHeader(data);
  if (qh === null) return null;
  let kind: IcmpNoticeKind;
  let errno: number;
  let fatal = false;
  let mtu = 0;
  switch (type) {
    case ICMP_UNREACH:
      if (code > 15) return null;
      [errno, fatal] = UNREACH_ERR[code]!;
      kind = code === ICMP_UNREACH_NEEDFRAG ? 'needfrag' : 'unreach';
      if (kind === 'needfrag') mtu = rest & 0xffff; // RFC 1191 §4: next-hop MTU in the low 16 bits
      break;
    case ICMP_TIMXCEED:
      kind = 'timex';
      errno = EHOSTUNREACH;
      break;
    case ICMP_PARAMPROB:
      kind = 'paramprob';
      errno = EPROTO;
      fatal = true;
      break;
    default:
      return null; // source quench (RFC 6633) and redirects are ignored
  }
  return { kind, type, code, errno, fatal, mtu, src: qh.src, dst: qh.dst, proto: qh.proto, data: data.subarray(qh.hdrLen), from };
}

/** ICMP input (the IpProto for protocol 1). */
export function icmpInput(ns: NetStack, ip: IpInfo, payload: Uint8Array, ifp: Ifnet): void {
  const st = icmpState(ns);
  st.stats.inMsgs++;
  const m = parseIcmp(payload);
  if (m instanceof WireError) {
    st.stats.inErrors++;
    return;
  }
  switch (m.type) {
    case ICMP_ECHO: {
      st.stats.inEchos++;
      // Linux answers pings to broadcast addresses only with icmp_echo_ignore_broadcasts=0.
      if (ns.config.icmpEchoIgnoreAll || ip.broadcast) return;
      const reply = emitIcmp({ type: ICMP_ECHOREPLY, code: 0, rest: m.rest, data: m.data });
      st.stats.outMsgs++;
      ipOutput(ns, { src: ip.dst, dst: ip.src, proto: IPPROTO_ICMP, tos: ip.tos }, reply);
      return;
    }
    case ICMP_ECHOREPLY: {
      const { id, seq } = echoIdSeq(m.rest);
      st.echoListeners.get(id)?.({ from: ip.src, id, seq, ttl: ip.ttl, data: m.data.slice() });
      return;
    }
    case ICMP_UNREACH: case ICMP_TIMXCEED: case ICMP_PARAMPROB: case ICMP_SOURCEQUENCH: {
      const n = icmpNoticeOf(m.type, m.code, m.rest, m.data, ip.src);
      if (n === null) {
        st.stats.inErrors++;
        return;
      }
      // RFC 1122 §3.2.2: only about datagrams this host could have sent.
      if (ns.ifWithAddr(n.src) === null && !(isLoopback(n.src) && ifp.kind === 'loopback')) return;
      icmpNotify(ns, n);
      return;
    }
    default:
      return; // timestamps, redirects, router discovery: ignored
  }
}

/** Send an echo request (ping). 0 or an errno from ipOutput. */
export function icmpEcho(ns: NetStack, dst: InAddr, id: number, seq: number, data: Uint8Array, ttl?: number): number {
  const msg = emitIcmp({ type: ICMP_ECHO, code: 0, rest: ((id << 16) | seq) >>> 0, data });
  icmpState(ns).stats.outMsgs++;
  return ipOutput(ns, { src: INADDR_ANY, dst, proto: IPPROTO_ICMP, ttl }, msg);
}
