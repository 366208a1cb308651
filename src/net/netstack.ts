/**
 * NetStack: all networking state of one kernel (a "vnet"). There is no
 * module-level state in src/net: every table hangs off the NetStack that
 * hangs off its Kernel (`netOf(k)`), so two kernels in one process are two
 * independent hosts on a wire.
 *
 * Who owns what:
 *   ifnets, routes          iface/ (interfaces, routing table); ARP state lives on each Ifnet's driver side
 *   ipsw                    ip/ (transports register with ipRegister)
 *   protosw                 socket/ (socket(2) looks entries up here)
 *   ports                   inet/in_pcb.ts (one PcbTable per transport)
 *   config                  sysctl net.ipv4.* (net_component.ts)
 *
 * @guardedBy the single virtual CPU: input runs to completion in upcalls,
 * system calls change tables only between awaits.
 */
import { ENODEV, err } from '../kern/errno.ts';
import type { Kernel } from '../kern/kernel.ts';
import type { Ifnet } from './iface/ifnet.ts';
import { RouteTable } from './iface/route.ts';
import type { IpProto } from './ip/ip_var.ts';
import { ProtoSwTable } from './socket/protosw.ts';

/** Tunables (Linux's sysctl names under net.ipv4; defaults as Linux). */
export interface NetConfig {
  /** net.ipv4.ip_forward: route datagrams not addressed to us (default off). */
  ipForward: boolean;
  /** net.ipv4.ip_default_ttl. */
  defaultTtl: number;
  /** net.ipv4.ip_local_port_range: ephemeral ports [lo, hi]. */
  portLo: number;
  portHi: number;
  /** net.ipv4.icmp_ratelimit: ms between ICMP errors to one destination (token refill interval). */
  icmpRatelimitMs: number;
  /** net.ipv4.icmp_echo_ignore_all. */
  icmpEchoIgnoreAll: boolean;
  /** net.ipv4.ipfrag_time: seconds a reassembly waits for missing fragments. */
  ipfragTimeS: number;
  /** net.ipv4.ipfrag_high_thresh: bytes all reassembly queues may hold. */
  ipfragHighThresh: number;
  /** net.core.rmem_default/max, wmem_default/max (bytes). */
  rmemDefault: number;
  rmemMax: number;
  wmemDefault: number;
  wmemMax: number;
}

export const DEFAULT_CONFIG: NetConfig = {
  ipForward: false,
  defaultTtl: 64,
  portLo: 32768,
  portHi: 60999,
  icmpRatelimitMs: 1000,
  icmpEchoIgnoreAll: false,
  ipfragTimeS: 30,
  ipfragHighThresh: 4 * 1024 * 1024,
  rmemDefault: 212992,
  rmemMax: 212992,
  wmemDefault: 212992,
  wmemMax: 212992,
};

/** IP-level counters (a subset of Linux's /proc/net/snmp Ip: line). */
export interface IpStats {
  inReceives: number;
  inHdrErrors: number;
  inAddrErrors: number;
  inUnknownProtos: number;
  inDiscards: number;
  inDelivers: number;
  forwDatagrams: number;
  outRequests: number;
  outNoRoutes: number;
  outDiscards: number;
  reasmReqds: number;
  reasmOKs: number;
  reasmFails: number;
  fragOKs: number;
  fragFails: number;
  fragCreates: number;
}

export class NetStack {
  readonly k: Kernel;
  readonly config: NetConfig = { ...DEFAULT_CONFIG };
  /** Interfaces by name, in attach order. */
  readonly ifnets = new Map<string, Ifnet>();
  readonly routes = new RouteTable();
  /** Transports by IP protocol number. */
  readonly ipsw = new Map<number, IpProto>();
  readonly protosw = new ProtoSwTable();
  readonly ipStats: IpStats = {
    inReceives: 0, inHdrErrors: 0, inAddrErrors: 0, inUnknownProtos: 0, inDiscards: 0, inDelivers: 0, forwDatagrams: 0,
    outRequests: 0, outNoRoutes: 0, outDiscards: 0, reasmReqds: 0, reasmOKs: 0, reasmFails: 0, fragOKs: 0, fragFails: 0, fragCreates: 0,
  };
  /**
   * Named per-stack objects other parts of the faction hang here (the ARP
   * state, reassembly queues, UDP's PcbTable, TCP's tables): one Map, no
   * module globals.
   */
  readonly parts = new Map<string, unknown>();
  /**
   * IPv4 input for a received datagram (the netisr hand-off from the link
   * layer): installed by ip/ at component init, so iface/ needs no import
   * of the layer above it.
   */
  ipInput: (ifp: Ifnet, datagram: Uint8Array) => void = () => {};
  /**
   * A frame (Ethernet header room + IP datagram) could not be delivered to
   * its next hop (ARP gave up): ip/ reports it to the sender as a local
   * host-unreachable error. Installed by ip/ like ipInput.
   */
  linkFailure: (ifp: Ifnet, frame: Uint8Array) => void = () => {};
  /** Next interface index. */
  private nextIndex = 1;
  /** Socket inode numbers (sockfs). */
  private nextIno = 1;
  private readonly rnd = new Uint8Array(4);
  private readonly rndView = new DataView(this.rnd.buffer);

  constructor(k: Kernel) {
    this.k = k;
  }

  /** 32 random bits from the host (ephemeral ports, IP ids, ISNs). */
  random32(): number {
    this.k.hyper.getRandom(this.rnd);
    return this.rndView.getUint32(0);
  }

  /** A per-stack singleton, created on first use. */
  part<T>(name: string, make: () => T): T {
    let v = this.parts.get(name) as T | undefined;
    if (v === undefined) {
      v = make();
      this.parts.set(name, v);
    }
    return v;
  }

  allocIfIndex(): number {
    return this.nextIndex++;
  }

  allocIno(): number {
    return this.nextIno++;
  }

  /** The interface with this name; ENODEV when there is none. */
  ifByName(name: string): Ifnet {
    const ifp = this.ifnets.get(name);
    if (ifp === undefined) throw err(ENODEV);
    return ifp;
  }

  /** The interface that has address a, if any. */
  ifWithAddr(a: number): Ifnet | null {
    for (const ifp of this.ifnets.values()) if (ifp.hasAddr(a)) return ifp;
    return null;
  }
}

/** The kernel's network stack; throws ENODEV-like panic-free error when the kernel has no net component. */
export function netOf(k: Kernel): NetStack {
  const ns = k.lookup<NetStack>('net');
  if (ns === undefined) throw new Error('this kernel was booted without the net component');
  return ns;
}
