/**
 * The Ethernet link layer of an interface (BSD if_ethersubr.c): input
 * filters frames by destination MAC and dispatches by EtherType (ARP here,
 * IPv4 to the stack's ipInput); output fills in the Ethernet header of a
 * frame whose IP datagram is already in place, resolving the next hop's MAC
 * through ARP. Loopback frames carry a header with zero addresses and skip
 * ARP.
 */
import { isMulticast, type InAddr } from '../addr.ts';
import type { NetStack } from '../netstack.ts';
import {
  BROADCAST_MAC, ETHER_HDR_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, isBroadcastMac, macEqual, parseEther,
} from '../wire/ether.ts';
import { WireError } from '../wire/wire.ts';
import { arpInput, arpResolveAndSend } from './arp.ts';
import { ifReceived, ifTransmit } from './if.ts';
import { IFF_PROMISC, type Ifnet } from './ifnet.ts';

/** A frame arrived from ifp's driver. Runs to completion; never throws on bad bytes. */
export function etherInput(ns: NetStack, ifp: Ifnet, frame: Uint8Array): void {
  if (!ifReceived(ns, ifp, frame)) return;
  const e = parseEther(frame);
  if (e instanceof WireError) {
    ifp.counters.rxErrors++;
    return;
  }
  // Another station's unicast on a shared segment, or a multicast group we did not join.
  if (!macEqual(e.dst, ifp.lladdr) && !isBroadcastMac(e.dst) && (ifp.flags & IFF_PROMISC) === 0) return;
  switch (e.type) {
    case ETHERTYPE_ARP:
      arpInput(ns, ifp, e.payload);
      return;
    case ETHERTYPE_IPV4:
      ns.ipInput(ifp, e.payload);
      return;
    default:
      ifp.counters.rxDropped++; // IPv6 and everything else: not spoken here
  }
}

/** RFC 1112 §6.4: a multicast group's MAC (01:00:5e + low 23 bits). */
function multicastMac(a: InAddr): Uint8Array {
  return new Uint8Array([0x01, 0x00, 0x5e, (a >>> 16) & 0x7f, (a >>> 8) & 0xff, a & 0xff]);
}

/**
 * Send the IPv4 datagram at frame[14..] to nexthop on ifp. 0, or ENETDOWN.
 * The frame is owned by the link layer from here on (it may wait in ARP's
 * hold queue).
 */
export function ifOutput(ns: NetStack, ifp: Ifnet, nexthop: InAddr, frame: Uint8Array, broadcast: boolean): number {
  if (ifp.kind === 'loopback') {
    frame.fill(0, 0, 12);
    frame[12] = ETHERTYPE_IPV4 >>> 8;
    frame[13] = ETHERTYPE_IPV4 & 0xff;
    return ifTransmit(ns, ifp, frame);
  }
  if (broadcast || isMulticast(nexthop)) {
    frame.set(broadcast ? BROADCAST_MAC : multicastMac(nexthop), 0);
    frame.set(ifp.lladdr, 6);
    frame[12] = ETHERTYPE_IPV4 >>> 8;
    frame[13] = ETHERTYPE_IPV4 & 0xff;
    return ifTransmit(ns, ifp, frame);
  }
  return arpResolveAndSend(ns, ifp, nexthop, frame, ETHERTYPE_IPV4);
}

export { ETHER_HDR_LEN };
