/**
 * The ARP cache (RFC 826; BSD if_arp.c, Linux neighbour.c + arp.c): per
 * Ethernet interface, IPv4 address → MAC.
 *
 * Entry lifecycle:
 *   (none) --send--> incomplete: a request is broadcast, frames for it wait
 *                    in a bounded hold queue; retried every ARP_RETRY_NS
 *   incomplete --reply--> resolved: held frames go out; expires after
 *                    ARP_REACHABLE_NS (the next send asks again, RFC 1122 §2.3.2.1)
 *   incomplete --ARP_MAX_TRIES requests unanswered--> (none): held frames
 *                    are dropped and reported to their senders (ns.linkFailure:
 *                    EHOSTUNREACH, as Linux's neighbour failure does)
 *   static entries (arp -s) never expire.
 *
 * Input follows RFC 826's "merge" rule: a packet from a known sender
 * refreshes its entry; a new entry is made only when the packet is for one
 * of our addresses; requests for our addresses are answered. Adding an
 * address or bringing the interface up announces it with a gratuitous ARP
 * (RFC 5227 §3); a packet claiming one of our addresses from another MAC is
 * logged as a conflict.
 *
 * Bounds: at most ARP_MAX_ENTRIES per interface (the oldest non-static entry
 * is evicted), ARP_HOLD_FRAMES / ARP_HOLD_BYTES per incomplete entry (the
 * oldest held frame is dropped), so unanswered traffic cannot grow memory.
 *
 * @guardedBy the single virtual CPU
 */
import { Callout } from '../../kern/callout.ts';
import type { InAddr } from '../addr.ts';
import { formatIp4 } from '../addr.ts';
import type { NetStack } from '../netstack.ts';
import { ARPOP_REPLY, ARPOP_REQUEST, emitArp, parseArp } from '../wire/arp.ts';
import { BROADCAST_MAC, ETHERTYPE_ARP, emitEther, formatMac, macEqual } from '../wire/ether.ts';
import { WireError } from '../wire/wire.ts';
import { ifAddHooks, ifTransmit } from './if.ts';
import type { Ifnet } from './ifnet.ts';

export const ARP_REACHABLE_NS = 60_000_000_000n;
export const ARP_RETRY_NS = 1_000_000_000n;
export const ARP_MAX_TRIES = 3;
export const ARP_MAX_ENTRIES = 1024;
export const ARP_HOLD_FRAMES = 32;
export const ARP_HOLD_BYTES = 256 * 1024;
/** RFC 5227 §1.1 DEFEND_INTERVAL. */
export const ARP_DEFEND_INTERVAL_NS = 10_000_000_000n;

export type ArpState = 'incomplete' | 'resolved' | 'static';

export interface ArpEntry {
  readonly addr: InAddr;
  mac: Uint8Array | null;
  state: ArpState;
  /** Frames (with their Ethernet header room) waiting for resolution. */
  hold: Uint8Array[];
  holdBytes: number;
  tries: number;
  readonly timer: Callout;
}

/** The per-stack ARP tables. */
class ArpTables {
  readonly byIf = new Map<Ifnet, Map<InAddr, ArpEntry>>();
  /** When each of our addresses was last defended (RFC 5227 §2.4: at most once per DEFEND_INTERVAL). */
  readonly defended = new Map<InAddr, bigint>();
  /** Requests sent, replies sent, entries that failed, frames dropped from hold queues. */
  readonly stats = { requests: 0, replies: 0, failed: 0, holdDrops: 0, conflicts: 0 };
}

function tables(ns: NetStack): ArpTables {
  return ns.part('arp', () => {
    const t = new ArpTables();
    ifAddHooks(ns, {
      addrAdded: (ns2, ifp, addr) => { if (ifp.kind === 'ether' && ifp.up) arpAnnounce(ns2, ifp, addr); },
      up: (ns2, ifp) => { if (ifp.kind === 'ether') for (const a of ifp.addrs) arpAnnounce(ns2, ifp, a.addr); },
      detached: (ns2, ifp) => arpFlush(ns2, ifp),
    });
    return t;
  });
}

/** Set up ARP for a stack (installs the interface hooks). */
export function arpInit(ns: NetStack): void {
  tables(ns);
}

function ifTable(ns: NetStack, ifp: Ifnet): Map<InAddr, ArpEntry> {
  const t = tables(ns);
  let m = t.byIf.get(ifp);
  if (m === undefined) {
    m = new Map();
    t.byIf.set(ifp, m);
  }
  return m;
}

function sendArp(ns: NetStack, ifp: Ifnet, op: number, dstMac: Uint8Array, spa: InAddr, tha: Uint8Array, tpa: InAddr): void {
  const payload = emitArp({ op, sha: ifp.lladdr, spa, tha, tpa });
  ifTransmit(ns, ifp, emitEther({ dst: dstMac, src: ifp.lladdr, type: ETHERTYPE_ARP, payload }));
}

const ZERO_MAC = new Uint8Array(6);

/** Gratuitous ARP: a request for our own address (RFC 5227 §3 announcement). */
export function arpAnnounce(ns: NetStack, ifp: Ifnet, addr: InAddr): void {
  sendArp(ns, ifp, ARPOP_REQUEST, BROADCAST_MAC, addr, ZERO_MAC, addr);
}

function drop(ns: NetStack, e: ArpEntry, m: Map<InAddr, ArpEntry>): void {
  e.timer.stop(ns.k);
  m.delete(e.addr);
}

/** Make room: evict the oldest non-static entry (Map order is insertion order). */
function evict(ns: NetStack, ifp: Ifnet, m: Map<InAddr, ArpEntry>): void {
  for (const e of m.values()) {
    if (e.state === 'static') continue;
    for (const f of e.hold) ns.linkFailure(ifp, f);
    drop(ns, e, m);
    return;
  }
}

function armExpiry(ns: NetStack, ifp: Ifnet, e: ArpEntry, m: Map<InAddr, ArpEntry>): void {
  e.timer.reset(ns.k, ARP_REACHABLE_NS, () => { if (m.get(e.addr) === e) m.delete(e.addr); });
}

function request(ns: NetStack, ifp: Ifnet, e: ArpEntry, m: Map<InAddr, ArpEntry>): void {
  const src = ifp.primaryAddr;
  e.tries++;
  tables(ns).stats.requests++;
  sendArp(ns, ifp, ARPOP_REQUEST, BROADCAST_MAC, src, ZERO_MAC, e.addr);
  e.timer.reset(ns.k, ARP_RETRY_NS, () => {
    if (m.get(e.addr) !== e || e.state !== 'incomplete') return;
    if (e.tries < ARP_MAX_TRIES) return request(ns, ifp, e, m);
    // RFC 1122 §2.3.2.2: give up; the senders learn the host is unreachable.
    tables(ns).stats.failed++;
    const held = e.hold;
    e.hold = [];
    e.holdBytes = 0;
    m.delete(e.addr);
    for (const f of held) ns.linkFailure(ifp, f);
  });
}

function fill(frame: Uint8Array, dst: Uint8Array, src: Uint8Array, type: number): void {
  frame.set(dst, 0);
  frame.set(src, 6);
  frame[12] = type >>> 8;
  frame[13] = type & 0xff;
}

/**
 * Send a frame whose bytes from 14 on are filled (the IP datagram) to the
 * next hop `nexthop` on ifp: fill in the Ethernet header now if the MAC is
 * known, else hold the frame and resolve. Returns 0 (sent or held).
 */
export function arpResolveAndSend(ns: NetStack, ifp: Ifnet, nexthop: InAddr, frame: Uint8Array, type: number): number {
  const m = ifTable(ns, ifp);
  let e = m.get(nexthop);
  // The EtherType goes in now: a held frame carries it until the MAC is known.
  frame[12] = type >>> 8;
  frame[13] = type & 0xff;
  if (e !== undefined && e.mac !== null) {
    fill(frame, e.mac, ifp.lladdr, type);
    return ifTransmit(ns, ifp, frame);
  }
  if (e === undefined) {
    if (m.size >= ARP_MAX_ENTRIES) evict(ns, ifp, m);
    e = { addr: nexthop, mac: null, state: 'incomplete', hold: [], holdBytes: 0, tries: 0, timer: new Callout('arp') };
    m.set(nexthop, e);
    e.hold.push(frame);
    e.holdBytes += frame.byteLength;
    request(ns, ifp, e, m);
    return 0;
  }
  // Bounded hold queue: drop the oldest frame to make room (Linux's unres_qlen).
  while (e.hold.length > 0 && (e.hold.length >= ARP_HOLD_FRAMES || e.holdBytes + frame.byteLength > ARP_HOLD_BYTES)) {
    const old = e.hold.shift()!;
    e.holdBytes -= old.byteLength;
    tables(ns).stats.holdDrops++;
    ifp.counters.txDropped++;
  }
  e.hold.push(frame);
  e.holdBytes += frame.byteLength;
  return 0;
}

/** Record nexthop → mac (from a reply or a merge) and send what waited for it. */
function learn(ns: NetStack, ifp: Ifnet, m: Map<InAddr, ArpEntry>, e: ArpEntry, mac: Uint8Array): void {
  if (e.state === 'static') return;
  e.mac = mac.slice();
  e.state = 'resolved';
  e.tries = 0;
  armExpiry(ns, ifp, e, m);
  const held = e.hold;
  e.hold = [];
  e.holdBytes = 0;
  for (const f of held) {
    fill(f, e.mac, ifp.lladdr, (f[12]! << 8) | f[13]!);
    ifTransmit(ns, ifp, f);
  }
}

/** An ARP packet arrived on ifp (the payload after the Ethernet header). */
export function arpInput(ns: NetStack, ifp: Ifnet, payload: Uint8Array): void {
  const a = parseArp(payload);
  if (a instanceof WireError) {
    ifp.counters.rxErrors++;
    return;
  }
  if (macEqual(a.sha, ifp.lladdr)) return; // our own, looped back by a hub
  if (a.sha[0]! & 1) return; // a multicast sender address is never valid (RFC 1812 §3.3.2)
  const m = ifTable(ns, ifp);
  if (a.spa !== 0 && ifp.hasAddr(a.spa)) {
    tables(ns).stats.conflicts++;
    ns.k.log('warning', `${ifp.name}: ${formatMac(a.sha)} claims our address ${formatIp4(a.spa)}`);
    // RFC 5227 §2.4 (b): defend by announcing again, but at most once per
    // DEFEND_INTERVAL — two hosts defending forever would flood the link.
    const now = ns.k.hyper.clockMonotonic();
    const last = tables(ns).defended.get(a.spa);
    if (last === undefined || now - last >= ARP_DEFEND_INTERVAL_NS) {
      tables(ns).defended.set(a.spa, now);
      arpAnnounce(ns, ifp, a.spa);
    }
    return;
  }
  const forUs = ifp.hasAddr(a.tpa);
  let e = a.spa !== 0 ? m.get(a.spa) : undefined;
  if (e !== undefined) learn(ns, ifp, m, e, a.sha); // RFC 826 merge
  else if (forUs && a.spa !== 0) {
    if (m.size >= ARP_MAX_ENTRIES) evict(ns, ifp, m);
    e = { addr: a.spa, mac: null, state: 'incomplete', hold: [], holdBytes: 0, tries: 0, timer: new Callout('arp') };
    m.set(a.spa, e);
    learn(ns, ifp, m, e, a.sha);
  }
  if (forUs && a.op === ARPOP_REQUEST) {
    tables(ns).stats.replies++;
    sendArp(ns, ifp, ARPOP_REPLY, a.sha, a.tpa, a.sha, a.spa);
  }
}

/** arp -s: a permanent entry. */
export function arpSetStatic(ns: NetStack, ifp: Ifnet, addr: InAddr, mac: Uint8Array): void {
  const m = ifTable(ns, ifp);
  const old = m.get(addr);
  if (old !== undefined) drop(ns, old, m);
  const e: ArpEntry = { addr, mac: mac.slice(), state: 'static', hold: [], holdBytes: 0, tries: 0, timer: new Callout('arp') };
  m.set(addr, e);
  for (const f of old?.hold ?? []) arpResolveAndSend(ns, ifp, addr, f, (f[12]! << 8) | f[13]!);
}

/** arp -d. True when there was an entry. */
export function arpDelete(ns: NetStack, ifp: Ifnet, addr: InAddr): boolean {
  const m = ifTable(ns, ifp);
  const e = m.get(addr);
  if (e === undefined) return false;
  drop(ns, e, m);
  return true;
}

/** Forget everything learned on ifp (detach). */
export function arpFlush(ns: NetStack, ifp: Ifnet): void {
  const t = tables(ns);
  const m = t.byIf.get(ifp);
  if (m === undefined) return;
  for (const e of m.values()) e.timer.stop(ns.k);
  t.byIf.delete(ifp);
}

/** Every entry, for arp -a and /proc/net/arp. */
export function arpEntries(ns: NetStack): { ifp: Ifnet; addr: InAddr; mac: Uint8Array | null; state: ArpState; held: number }[] {
  const out: { ifp: Ifnet; addr: InAddr; mac: Uint8Array | null; state: ArpState; held: number }[] = [];
  for (const [ifp, m] of tables(ns).byIf) for (const e of m.values()) out.push({ ifp, addr: e.addr, mac: e.mac, state: e.state, held: e.hold.length });
  return out;
}

export function arpStats(ns: NetStack): Readonly<ArpTables['stats']> {
  return tables(ns).stats;
}

/** Timers still armed (for the leak report at shutdown). */
export function arpStopAll(ns: NetStack): void {
  for (const m of tables(ns).byIf.values()) for (const e of m.values()) e.timer.stop(ns.k);
}
