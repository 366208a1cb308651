/**
 * Internet protocol control blocks (BSD's in_pcb.c, Linux's inet_hashtables
 * and inet_connection_sock bind logic): the local/foreign address and port
 * of each UDP or TCP endpoint, port binding with Linux's SO_REUSEADDR /
 * SO_REUSEPORT rules, ephemeral port allocation, and demultiplexing of
 * arriving segments to the endpoint that wants them.
 *
 * One PcbTable per transport (UDP and TCP each have their own port space).
 * A pcb is in the table from bind (explicit or implicit) until remove.
 *
 * Demultiplexing (lookup): an exact 4-tuple match first (connected
 * endpoints), then the best wildcard match — a pcb bound to this local
 * address before one bound to INADDR_ANY, unconnected before nothing — as
 * Linux's compute_score prefers the most specific socket.
 *
 * Index: pcbs are kept in a Map keyed by local port; each bucket is a short
 * list scanned linearly (a bucket holds the sockets sharing one port: a
 * listener and its accepted connections, or REUSEADDR/REUSEPORT groups).
 * Every operation is bounded by the bucket size; ephemeral allocation visits
 * at most the size of the port range.
 *
 * @guardedBy the single virtual CPU
 */
import { EACCES, EADDRINUSE, EADDRNOTAVAIL, EINVAL } from '../../kern/errno.ts';
import { INADDR_ANY, type InAddr } from '../addr.ts';
import type { NetStack } from '../netstack.ts';

/** Ports below this need root (CAP_NET_BIND_SERVICE; net.ipv4.ip_unprivileged_port_start). */
export const PORT_PRIVILEGED = 1024;

/** The address part of an endpoint, owned by its protocol's socket object. */
export interface InPcb {
  laddr: InAddr;
  lport: number;
  /** 0 / 0 while not connected. */
  faddr: InAddr;
  fport: number;
  /** SO_REUSEADDR and SO_REUSEPORT as they were at bind time. */
  reuseaddr: boolean;
  reuseport: boolean;
  /** Owner uid (SO_REUSEPORT groups must share it). */
  uid: number;
  /** A TCP listener: REUSEADDR does not let another socket share its port. */
  listening: boolean;
  /** A TCP endpoint in TIME_WAIT: REUSEADDR on the new socket lets it share. */
  timewait: boolean;
  /** SO_BINDTODEVICE interface index, 0 for any. */
  boundIf: number;
}

/** A fresh unbound pcb. */
export function newPcb(uid: number): InPcb {
  return { laddr: 0, lport: 0, faddr: 0, fport: 0, reuseaddr: false, reuseport: false, uid, listening: false, timewait: false, boundIf: 0 };
}

export class PcbTable<T extends InPcb> {
  readonly name: string;
  private readonly ns: NetStack;
  private readonly byPort = new Map<number, T[]>();
  private count = 0;

  constructor(ns: NetStack, name: string) {
    this.ns = ns;
    this.name = name;
  }

  get size(): number {
    return this.count;
  }

  /** Every pcb (netstat, /proc/net), in port order of insertion. */
  *all(): IterableIterator<T> {
    for (const b of this.byPort.values()) yield* b;
  }

  /** True when `a` and `b` may not both hold the port (Linux inet_csk_bind_conflict / udp_lib_lport_inuse). */
  private conflicts(a: InPcb, b: InPcb): boolean {
    if (a === b) return false;
    if (a.laddr !== INADDR_ANY && b.laddr !== INADDR_ANY && a.laddr !== b.laddr) return false;
    if (a.boundIf !== 0 && b.boundIf !== 0 && a.boundIf !== b.boundIf) return false;
    if (a.reuseport && b.reuseport && a.uid === b.uid && !a.timewait) return false;
    // SO_REUSEADDR (socket(7)): both ask for it and the holder is not a listener;
    // a TIME_WAIT holder yields to a new socket asking for it.
    if (b.reuseaddr && (a.reuseaddr || a.timewait) && !a.listening) return false;
    return true;
  }

  /** Would binding pcb to (laddr, port) conflict? 0 or EADDRINUSE. */
  check(pcb: T, laddr: InAddr, port: number): number {
    const bucket = this.byPort.get(port);
    if (bucket === undefined) return 0;
    const probe: InPcb = { ...pcb, laddr, lport: port };
    for (const e of bucket) if (this.conflicts(e, probe)) return EADDRINUSE;
    return 0;
  }

  /**
   * bind(2): give pcb the local address and port (0 = ephemeral). 0 or an
   * errno: EINVAL already bound, EADDRNOTAVAIL not one of our addresses,
   * EACCES a privileged port without root, EADDRINUSE.
   */
  bind(pcb: T, laddr: InAddr, port: number, opts: { root: boolean; localOk: (a: InAddr) => boolean }): number {
    if (pcb.lport !== 0) return EINVAL;
    if (laddr !== INADDR_ANY && !opts.localOk(laddr)) return EADDRNOTAVAIL;
    if (port !== 0) {
      if (port < PORT_PRIVILEGED && !opts.root) return EACCES;
      const e = this.check(pcb, laddr, port);
      if (e !== 0) return e;
      this.insert(pcb, laddr, port);
      return 0;
    }
    const p = this.ephemeral(pcb, laddr, null);
    if (p === 0) return EADDRINUSE; // Linux: the whole range is taken
    this.insert(pcb, laddr, p);
    return 0;
  }

  /**
   * Choose a free ephemeral port for pcb (Linux __inet_hash_connect, RFC 6056
   * §3.3.1 "simple port randomization": a random start, then sequential).
   * With `foreign` given, a port is also acceptable when the existing users
   * differ in the 4-tuple (for connect). 0 when none is free.
   */
  ephemeral(pcb: T, laddr: InAddr, foreign: { faddr: InAddr; fport: number } | null): number {
    const lo = this.ns.config.portLo;
    const hi = this.ns.config.portHi;
    const n = hi - lo + 1;
    if (n <= 0) return 0;
    const start = this.ns.random32() % n;
    for (let i = 0; i < n; i++) {
      const port = lo + ((start + i) % n);
      const bucket = this.byPort.get(port);
      if (bucket === undefined) return port;
      if (foreign === null) continue; // bind(0) takes only a port nobody holds
      // For an outgoing connection only the exact 4-tuple must be unique,
      // but do not share with a wildcard listener or a bound-only socket.
      let ok = true;
      for (const e of bucket) {
        if (e.faddr === 0 || (e.faddr === foreign.faddr && e.fport === foreign.fport && (e.laddr === laddr || e.laddr === INADDR_ANY))) { ok = false; break; }
      }
      if (ok) return port;
    }
    return 0;
  }

  /** Insert pcb under (laddr, port); the caller checked for conflicts. */
  insert(pcb: T, laddr: InAddr, port: number): void {
    if (pcb.lport !== 0) this.remove(pcb);
    pcb.laddr = laddr;
    pcb.lport = port;
    let b = this.byPort.get(port);
    if (b === undefined) {
      b = [];
      this.byPort.set(port, b);
    }
    b.push(pcb);
    this.count++;
  }

  /** Set the foreign address (connect); pcb keeps its bucket. EADDRINUSE when the 4-tuple is taken. */
  connect(pcb: T, laddr: InAddr, faddr: InAddr, fport: number): number {
    const b = this.byPort.get(pcb.lport);
    if (b !== undefined) {
      for (const e of b) {
        if (e !== pcb && e.faddr === faddr && e.fport === fport && e.laddr === laddr) return EADDRINUSE;
      }
    }
    pcb.laddr = laddr;
    pcb.faddr = faddr;
    pcb.fport = fport;
    return 0;
  }

  /** Take pcb out of the table (close); harmless when it is not in it. */
  remove(pcb: T): void {
    const b = this.byPort.get(pcb.lport);
    if (b === undefined) return;
    const i = b.indexOf(pcb);
    if (i < 0) return;
    b.splice(i, 1);
    this.count--;
    if (b.length === 0) this.byPort.delete(pcb.lport);
  }

  /**
   * The endpoint for a datagram/segment from (faddr, fport) to (laddr, lport)
   * arriving on interface ifIndex: an exact connected match, else (when
   * `wildcard`) the most specific unconnected one. Null when nobody wants it.
   */
  lookup(laddr: InAddr, lport: number, faddr: InAddr, fport: number, wildcard: boolean, ifIndex = 0): T | null {
    const b = this.byPort.get(lport);
    if (b === undefined) return null;
    let best: T | null = null;
    let bestScore = -1;
    for (const e of b) {
      if (e.boundIf !== 0 && ifIndex !== 0 && e.boundIf !== ifIndex) continue;
      if (e.faddr !== 0) {
        if (e.faddr === faddr && e.fport === fport && (e.laddr === laddr || e.laddr === INADDR_ANY)) return e;
        continue;
      }
      if (!wildcard) continue;
      if (e.laddr !== INADDR_ANY && e.laddr !== laddr) continue;
      const score = (e.laddr !== INADDR_ANY ? 2 : 0) + (e.boundIf !== 0 ? 1 : 0);
      if (score > bestScore) {
        best = e;
        bestScore = score;
      }
    }
    return best;
  }

  /** Every unconnected or matching pcb for a broadcast datagram (UDP delivers to all of them). */
  *matchAll(laddr: InAddr, lport: number, faddr: InAddr, fport: number): IterableIterator<T> {
    const b = this.byPort.get(lport);
    if (b === undefined) return;
    for (const e of b) {
      if (e.laddr !== INADDR_ANY && e.laddr !== laddr) continue;
      if (e.faddr !== 0 && (e.faddr !== faddr || e.fport !== fport)) continue;
      yield e;
    }
  }
}
