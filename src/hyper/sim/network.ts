/**
 * SimNetwork: one simulated Ethernet segment (a hub) shared by SimHosts.
 *
 * A frame sent on one interface is delivered, as an event, to every other
 * interface on the segment (a hub floods; the receiving kernel filters by
 * MAC). Each delivery passes the network's fault sites, drawn from the
 * world's rng("net:<name>/faults") in send order:
 *
 *   net.loss     the copy for this receiver is dropped;
 *   net.dup      the receiver gets the frame twice;
 *   net.latency  extra delay on top of the segment's base latency;
 *   net.reorder  a uniform random extra delay in [0, latencyNs], so later
 *                frames can overtake earlier ones;
 *   net.corrupt  one bit of the receiver's copy is flipped (position drawn
 *                from rng("net:<name>/corrupt")), as a bad cable would.
 *
 * `partition(a, b)` cuts the path between two hosts in both directions
 * (frames between them are dropped and counted) until `heal()`.
 *
 * Frames larger than mtu + 14 (the Ethernet header) are dropped and counted.
 * All hosts on a segment must share one SimWorld (one virtual clock).
 */
import type { HostErrno, HostNetif } from '../types.ts';
import { FaultSet, type FaultRule, type FaultSite } from './faults.ts';
import type { SimHost } from './host.ts';
import type { SimWorld } from './world.ts';

export interface SimNetworkOptions {
  /** Segment name (default "net0"); it names the fault rng stream. */
  name?: string;
  /** Base one-way latency of every delivery (default 10 µs). */
  latencyNs?: bigint | number;
  /** MTU reported to kernels (default 1500). */
  mtu?: number;
  faults?: Partial<Record<FaultSite, FaultRule>>;
}

export interface SimNetworkStats { sent: number; delivered: number; lost: number; duplicated: number; oversize: number; corrupted: number; partitioned: number }

interface Port {
  host: SimHost;
  ifname: string;
  deliver: (frame: Uint8Array) => void;
  info: HostNetif;
  /** Frames in flight from this port, per receiver, in send order. */
  links: Map<Port, { due: bigint; frame: Uint8Array }[]>;
}

export class SimNetwork {
  readonly name: string;
  readonly world: SimWorld;
  readonly faults: FaultSet;
  readonly mtu: number;
  private readonly latencyNs: bigint;
  private readonly ports = new Map<string, Port>();
  private readonly counts: SimNetworkStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, oversize: 0, corrupted: 0, partitioned: 0 };
  private readonly corruptRng;
  /** Host-name pairs ("a|b", both orders) whose frames are dropped. */
  private readonly cuts = new Set<string>();

  constructor(worldOrHost: SimWorld | SimHost, opts: SimNetworkOptions = {}) {
    this.world = 'world' in worldOrHost ? worldOrHost.world : worldOrHost;
    this.name = opts.name ?? 'net0';
    this.mtu = opts.mtu ?? 1500;
    this.latencyNs = BigInt(opts.latencyNs ?? 10_000);
    this.faults = new FaultSet(this.world.rng(`net:${this.name}/faults`), opts.faults);
    this.corruptRng = this.world.rng(`net:${this.name}/corrupt`);
  }

  /** Cut the path between two hosts (both directions) until heal(). */
  partition(a: SimHost, b: SimHost): this {
    this.cuts.add(`${a.name}|${b.name}`);
    this.cuts.add(`${b.name}|${a.name}`);
    return this;
  }

  /** Restore every cut path (or only the one between a and b). */
  heal(a?: SimHost, b?: SimHost): this {
    if (a === undefined || b === undefined) this.cuts.clear();
    else {
      this.cuts.delete(`${a.name}|${b.name}`);
      this.cuts.delete(`${b.name}|${a.name}`);
    }
    return this;
  }

  /** Let `host` attach interfaces to this segment (all of them, or only the names given). */
  attach(host: SimHost, ifnames?: readonly string[]): this {
    if (host.world !== this.world) {
      throw new Error(`SimNetwork ${this.name}: host ${host.name} runs in another SimWorld; create hosts with { world } to share one clock`);
    }
    host.attachNetwork(this, ifnames ? new Set(ifnames) : null);
    return this;
  }

  stats(): SimNetworkStats { return { ...this.counts }; }

  /** @internal called by SimHost.netifCreate. */
  join(host: SimHost, ifname: string, deliver: (frame: Uint8Array) => void): HostNetif | HostErrno {
    const key = `${host.name}/${ifname}`;
    if (this.ports.has(key)) return -17; // EEXIST
    const mac = new Uint8Array(6);
    host.rng(`mac:${this.name}/${ifname}`).fill(mac);
    mac[0] = (mac[0]! & 0xfe) | 0x02; // unicast, locally administered
    const info: HostNetif = { name: ifname, mtu: this.mtu, mac };
    this.ports.set(key, { host, ifname, deliver, info, links: new Map() });
    return info;
  }
  /** @internal */
  leave(host: SimHost, ifname: string): HostErrno {
    return this.ports.delete(`${host.name}/${ifname}`) ? 0 : -6; // ENXIO
  }
  /** @internal drop every port of a crashed host. */
  leaveAll(host: SimHost): void {
    for (const [k, p] of this.ports) if (p.host === host) this.ports.delete(k);
  }
  /** @internal */
  has(host: SimHost, ifname: string): boolean { return this.ports.has(`${host.name}/${ifname}`); }

  /** @internal called by SimHost.netifSend (the frame is already a private copy). */
  send(host: SimHost, ifname: string, frame: Uint8Array): void {
    const from = this.ports.get(`${host.name}/${ifname}`);
    if (!from) return;
    this.counts.sent++;
    if (frame.byteLength > this.mtu + 14) { this.counts.oversize++; return; }
    for (const to of this.ports.values()) {
      if (to === from) continue;
      if (this.cuts.size > 0 && this.cuts.has(`${host.name}|${to.host.name}`)) { this.counts.partitioned++; continue; }
      if (this.faults.check('net.loss')) { this.counts.lost++; continue; }
      const copies = this.faults.check('net.dup') ? 2 : 1;
      if (copies === 2) this.counts.duplicated++;
      for (let c = 0; c < copies; c++) {
        const base = this.world.now + this.latencyNs + this.faults.latency('net.latency');
        const jitter = this.faults.jitter('net.reorder');
        let copy = frame;
        if (frame.byteLength > 0 && this.faults.check('net.corrupt')) {
          copy = frame.slice();
          const bit = this.corruptRng.next32() % (copy.byteLength * 8);
          copy[bit >>> 3]! ^= 1 << (bit & 7);
          this.counts.corrupted++;
        }
        if (jitter > 0n) this.world.enqueue(base + jitter, () => this.arrive(to, copy), to.host.name);
        else this.fifo(from, to, base, copy);
      }
    }
  }

  /**
   * A link (sender port -> receiver port) is FIFO, like a real wire: frames
   * due at the same instant must not be shuffled by the event queue's seeded
   * tie-break. Only the head of each link's queue has an event; frames hit
   * by net.reorder bypass the link queue.
   */
  private fifo(from: Port, to: Port, due: bigint, frame: Uint8Array): void {
    let link = from.links.get(to);
    if (!link) { link = []; from.links.set(to, link); }
    link.push({ due, frame });
    if (link.length === 1) this.armLink(link, to);
  }
  private armLink(link: { due: bigint; frame: Uint8Array }[], to: Port): void {
    this.world.enqueue(link[0]!.due, () => {
      const head = link.shift()!;
      if (link.length > 0) this.armLink(link, to);
      this.arrive(to, head.frame);
    }, to.host.name);
  }
  private arrive(to: Port, frame: Uint8Array): void {
    // The port may have been destroyed (or its host crashed) meanwhile.
    if (this.ports.get(`${to.host.name}/${to.ifname}`) !== to) return;
    this.counts.delivered++;
    to.host.upcallDeliver(to.ifname, to.deliver, frame.slice());
  }
}
