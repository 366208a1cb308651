/**
 * ifnet: one network interface as the stack sees it (BSD's struct ifnet,
 * Linux's net_device). Its name, link-level address, MTU, flags, IPv4
 * addresses and counters, and the driver's transmit function.
 *
 * A driver creates the Ifnet with `output` (hand one complete frame to the
 * wire; never suspends, may drop) and calls `etherInput` (iface/ether_input.ts)
 * with every frame it receives. Loopback has no link layer: its output
 * feeds IP input directly (iface/loopback.ts).
 *
 * Lifecycle: created by a driver attach → `ifAttach` (netstack) names it and
 * adds its connected route when an address is set → up/down with
 * `ifSetFlags` → `ifDetach` removes its routes, ARP entries and addresses.
 *
 * @guardedBy the single virtual CPU: fields change only outside awaits.
 */
import type { InAddr } from '../addr.ts';

/** Interface flags (Linux include/uapi/linux/if.h values). */
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_NOARP = 0x80;
export const IFF_PROMISC = 0x100;
export const IFF_MULTICAST = 0x1000;

/** Counters as /proc/net/dev shows them. */
export interface IfCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** One IPv4 address on an interface. */
export interface IfAddr {
  addr: InAddr;
  prefix: number;
  /** The directed broadcast address of the subnet. */
  broadcast: InAddr;
}

/** A tap on an interface: every frame sent or received, for packet capture. */
export type IfTap = (frame: Uint8Array, dir: 'in' | 'out', timeNs: bigint) => void;

export type IfKind = 'loopback' | 'ether';

export class Ifnet {
  /** "lo", "eth0"... unique in its stack. */
  readonly name: string;
  readonly kind: IfKind;
  /** Interface index (1 = first attached, as Linux ifindex). */
  index = 0;
  /** Link-level (MAC) address, 6 bytes; all zero for loopback. */
  readonly lladdr: Uint8Array;
  /** Largest IP datagram the link carries (not counting the link header). */
  mtu: number;
  /** The largest MTU the driver allows (SIOCSIFMTU's bound). */
  readonly maxMtu: number;
  flags: number;
  /** IPv4 addresses, the primary first. */
  readonly addrs: IfAddr[] = [];
  readonly counters: IfCounters = { rxBytes: 0, rxPackets: 0, rxErrors: 0, rxDropped: 0, txBytes: 0, txPackets: 0, txErrors: 0, txDropped: 0 };
  /** Packet-capture taps (pcap writers, tests). */
  readonly taps = new Set<IfTap>();
  /** Hand one frame (Ethernet) or datagram (loopback) to the driver. Never suspends. */
  readonly transmit: (frame: Uint8Array) => void;
  /** Driver's detach (release host resources). */
  readonly destroy: () => Promise<void> | void;

  constructor(opts: {
    name: string;
    kind: IfKind;
    lladdr?: Uint8Array;
    mtu: number;
    maxMtu?: number;
    flags: number;
    transmit: (frame: Uint8Array) => void;
    destroy?: () => Promise<void> | void;
  }) {
    this.name = opts.name;
    this.kind = opts.kind;
    this.lladdr = opts.lladdr ?? new Uint8Array(6);
    this.mtu = opts.mtu;
    this.maxMtu = opts.maxMtu ?? opts.mtu;
    this.flags = opts.flags;
    this.transmit = opts.transmit;
    this.destroy = opts.destroy ?? (() => {});
  }

  get up(): boolean {
    return (this.flags & IFF_UP) !== 0;
  }

  /** The primary IPv4 address, or 0 when there is none. */
  get primaryAddr(): InAddr {
    return this.addrs.length > 0 ? this.addrs[0]!.addr : 0;
  }

  /** True when `a` is one of this interface's addresses. */
  hasAddr(a: InAddr): boolean {
    for (const x of this.addrs) if (x.addr === a) return true;
    return false;
  }
}
