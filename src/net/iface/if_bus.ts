/**
 * EtherBus: one Ethernet segment shared by several kernels in one process
 * (rump's shmif, a hub): every station sees every frame another station
 * sends, and its interface keeps what is addressed to it.
 *
 * The bus is an object the caller creates and hands to each kernel; it
 * holds no kernel state. A frame is copied once when sent and delivered to
 * each other station as an upcall through that station's own `schedule`
 * hypercall — never inside the sender's call — so the blocking rule holds
 * and a sim host orders deliveries by its seed.
 *
 * Not supported: stations in other processes, link loss or delay (use the
 * sim host's network for those), frames larger than the bus MTU + 14 (dropped).
 */
import type { Kernel } from '../../kern/kernel.ts';
import type { NetStack } from '../netstack.ts';
import { etherInput } from './ether.ts';
import { IfQueue } from './ifqueue.ts';
import { ifAttach } from './if.ts';
import { IFF_BROADCAST, IFF_MULTICAST, Ifnet } from './ifnet.ts';

interface Station {
  readonly k: Kernel;
  /** Frames for this station, delivered in order by its own host. */
  readonly rxq: IfQueue;
}

export class EtherBus {
  readonly name: string;
  readonly mtu: number;
  private readonly stations = new Set<Station>();
  /** Frames sent and frames dropped for size. */
  readonly stats = { frames: 0, bytes: 0, oversize: 0 };

  constructor(opts: { name?: string; mtu?: number } = {}) {
    this.name = opts.name ?? 'bus0';
    this.mtu = opts.mtu ?? 1500;
  }

  get size(): number {
    return this.stations.size;
  }

  /** @internal a driver joins the segment. */
  join(k: Kernel, deliver: (frame: Uint8Array) => void): Station {
    const s = { k, rxq: new IfQueue(k.hyper, deliver) };
    this.stations.add(s);
    return s;
  }

  /** @internal */
  leave(s: Station): void {
    this.stations.delete(s);
  }

  /** @internal a station transmits. */
  send(from: Station, frame: Uint8Array): void {
    if (!this.stations.has(from)) return;
    if (frame.byteLength > this.mtu + 14) {
      this.stats.oversize++;
      return;
    }
    this.stats.frames++;
    this.stats.bytes += frame.byteLength;
    const copy = frame.slice();
    for (const s of this.stations) if (s !== from) s.rxq.enqueue(copy);
  }
}

/** A locally administered unicast MAC from the host's randomness. */
export function randomMac(ns: NetStack): Uint8Array {
  const mac = new Uint8Array(6);
  ns.k.hyper.getRandom(mac);
  mac[0] = (mac[0]! & 0xfe) | 0x02;
  return mac;
}

/** Attach an interface on `bus` (down, without addresses: configure it next). */
export function busAttach(ns: NetStack, name: string, bus: EtherBus, opts: { mac?: Uint8Array; mtu?: number } = {}): Ifnet | number {
  let station: Station | null = null;
  const ifp: Ifnet = new Ifnet({
    name,
    kind: 'ether',
    lladdr: opts.mac ?? randomMac(ns),
    mtu: Math.min(opts.mtu ?? bus.mtu, bus.mtu),
    flags: IFF_BROADCAST | IFF_MULTICAST,
    transmit: (frame) => { if (station !== null) bus.send(station, frame); },
    destroy: () => {
      if (station !== null) bus.leave(station);
      station = null;
    },
  });
  const e = ifAttach(ns, ifp);
  if (e !== 0) return e;
  station = bus.join(ns.k, (frame) => etherInput(ns, ifp, frame));
  return ifp;
}
