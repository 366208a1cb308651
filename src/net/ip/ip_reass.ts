/**
 * IPv4 reassembly (RFC 791 §3.2 "reassembly", RFC 815 in spirit; Linux
 * ip_fragment.c for the policies).
 *
 * A queue per (source, destination, protocol, identification) collects
 * fragments until the one without MF says how long the datagram is and the
 * pieces cover it. Policies, all bounding memory and work:
 *   - overlapping fragments discard the whole datagram (Linux since 4.19,
 *     "ip: discard IPv4 datagrams with overlapping segments"); an exact
 *     duplicate of a fragment already held is ignored (a duplicating link
 *     must not kill datagrams);
 *   - a datagram longer than 65535 bytes, a non-final fragment whose length
 *     is not a multiple of 8, or a final fragment contradicting an earlier
 *     one discards the queue;
 *   - a queue lives net.ipv4.ipfrag_time seconds (30); when it expires with
 *     its first fragment present, the sender gets ICMP time exceeded,
 *     "fragment reassembly time exceeded" (RFC 792, RFC 1122 §3.3.2);
 *   - all queues together hold at most net.ipv4.ipfrag_high_thresh bytes and
 *     REASS_MAX_QUEUES queues; beyond that the oldest queues are dropped;
 *   - each queue holds at most REASS_MAX_FRAGS fragments (a datagram cut in
 *     8-byte pieces would otherwise cost 8191 entries).
 *
 * @guardedBy the single virtual CPU
 */
import { Callout } from '../../kern/callout.ts';
import type { Ifnet } from '../iface/ifnet.ts';
import type { NetStack } from '../netstack.ts';
import { IP_MAXPACKET, type Ipv4Packet } from '../wire/ipv4.ts';

export const REASS_MAX_QUEUES = 1024;
export const REASS_MAX_FRAGS = 256;

interface Frag {
  off: number;
  data: Uint8Array;
}

interface ReassQueue {
  readonly key: string;
  frags: Frag[];
  /** Data length once the last fragment arrived, else -1. */
  total: number;
  bytes: number;
  /** The first fragment's datagram (header for delivery and ICMP quoting), once it arrived. */
  first: Uint8Array | null;
  readonly timer: Callout;
  readonly ifp: Ifnet;
}

class Reass {
  readonly queues = new Map<string, ReassQueue>();
  bytes = 0;
}

function state(ns: NetStack): Reass {
  return ns.part('ip.reass', () => new Reass());
}

function discard(ns: NetStack, r: Reass, q: ReassQueue): void {
  q.timer.stop(ns.k);
  r.queues.delete(q.key);
  r.bytes -= q.bytes;
  ns.ipStats.reasmFails++;
}

/** Bytes held by all reassembly queues (tests and /proc). */
export function reassBytes(ns: NetStack): number {
  return state(ns).bytes;
}
export function reassQueues(ns: NetStack): number {
  return state(ns).queues.size;
}

/**
 * Add a fragment. Returns the reassembled datagram's header source (the first
 * fragment) and data when complete, else null. `onTimeout(first)` is called
 * when a queue expires with its first fragment present (for the ICMP error).
 */
export function ipReassemble(
  ns: NetStack, ifp: Ifnet, p: Ipv4Packet, onTimeout: (first: Uint8Array, ifp: Ifnet) => void,
): { first: Uint8Array; data: Uint8Array } | null {
  const r = state(ns);
  ns.ipStats.reasmReqds++;
  const key = `${p.src}:${p.dst}:${p.proto}:${p.id}`;
  let q = r.queues.get(key);
  const len = p.payload.byteLength;
  const end = p.fragOff + len;
  const bad = end + p.hdrLen > IP_MAXPACKET || (p.mf && (len & 7) !== 0) || (p.mf && len === 0);
  if (q === undefined) {
    if (bad) {
      ns.ipStats.reasmFails++;
      return null;
    }
    while (r.queues.size >= REASS_MAX_QUEUES) discard(ns, r, r.queues.values().next().value!);
    q = { key, frags: [], total: -1, bytes: 0, first: null, timer: new Callout('ipreass'), ifp };
    r.queues.set(key, q);
    const qq = q;
    q.timer.reset(ns.k, BigInt(ns.config.ipfragTimeS) * 1_000_000_000n, () => {
      if (r.queues.get(key) !== qq) return;
      discard(ns, r, qq);
      if (qq.first !== null) onTimeout(qq.first, qq.ifp);
    });
  } else if (bad) {
    discard(ns, r, q);
    return null;
  }
  if (!p.mf) {
    if ((q.total >= 0 && q.total !== end) || q.frags.some((f) => f.off + f.data.byteLength > end)) {
      discard(ns, r, q);
      return null;
    }
    q.total = end;
  } else if (q.total >= 0 && end > q.total) {
    discard(ns, r, q);
    return null;
  }
  // Find the insertion point; any overlap but an exact duplicate discards.
  let i = 0;
  while (i < q.frags.length && q.frags[i]!.off < p.fragOff) i++;
  for (const j of [i - 1, i]) {
    const f = q.frags[j];
    if (f === undefined) continue;
    const fend = f.off + f.data.byteLength;
    if (f.off === p.fragOff && fend === end) return null; // duplicate
    if (f.off < end && p.fragOff < fend) {
      discard(ns, r, q);
      return null;
    }
  }
  if (q.frags.length >= REASS_MAX_FRAGS) {
    discard(ns, r, q);
    return null;
  }
  q.frags.splice(i, 0, { off: p.fragOff, data: p.payload.slice() });
  q.bytes += len;
  r.bytes += len;
  if (p.fragOff === 0) q.first = p.datagram.slice(0, p.hdrLen + Math.min(8, len));
  // Memory bound: drop the oldest queues (not this one) while over the threshold.
  for (const old of r.queues.values()) {
    if (r.bytes <= ns.config.ipfragHighThresh) break;
    if (old !== q) discard(ns, r, old);
  }
  if (r.bytes > ns.config.ipfragHighThresh) {
    discard(ns, r, q);
    return null;
  }
  if (q.total < 0 || q.bytes !== q.total || q.first === null) return null;
  // No overlaps and the lengths add up: the fragments tile [0, total).
  const data = new Uint8Array(q.total);
  for (const f of q.frags) data.set(f.data, f.off);
  q.timer.stop(ns.k);
  r.queues.delete(key);
  r.bytes -= q.bytes;
  ns.ipStats.reasmOKs++;
  return { first: q.first, data };
}

/** Stop every reassembly timer (shutdown). */
export function reassFlush(ns: NetStack): void {
  const r = state(ns);
  for (const q of r.queues.values()) q.timer.stop(ns.k);
  r.queues.clear();
  r.bytes = 0;
}

