/**
 * The loopback interface `lo` (BSD if_loop.c, Linux drivers/net/loopback.c):
 * 127.0.0.1/8, MTU 65536, and whatever this host sends to one of its own
 * addresses. A transmitted frame (Ethernet header with zero addresses, as
 * Linux frames loopback traffic) comes back as input, in order, on a later
 * turn (ifqueue.ts) — never re-entering the sender's call.
 */
import { ip4 } from '../addr.ts';
import type { NetStack } from '../netstack.ts';
import { ETHER_HDR_LEN } from '../wire/ether.ts';
import { ifAddrAdd, ifAttach, ifReceived, ifSetUp } from './if.ts';
import { IfQueue } from './ifqueue.ts';
import { IFF_LOOPBACK, IFF_RUNNING, IFF_UP, Ifnet } from './ifnet.ts';

export const LOOPBACK_MTU = 65536;

export function loopbackAttach(ns: NetStack): Ifnet {
  const rxq = new IfQueue(ns.k.hyper, (frame) => {
    if (!ifReceived(ns, lo, frame)) return;
    ns.ipInput(lo, frame.subarray(ETHER_HDR_LEN));
  });
  const lo: Ifnet = new Ifnet({
    name: 'lo',
    kind: 'loopback',
    mtu: LOOPBACK_MTU,
    flags: IFF_UP | IFF_RUNNING | IFF_LOOPBACK,
    transmit: (frame) => {
      if (!rxq.enqueue(frame)) lo.counters.rxDropped++;
    },
  });
  ifAttach(ns, lo);
  ifAddrAdd(ns, lo, ip4(127, 0, 0, 1), 8);
  ifSetUp(ns, lo, true);
  return lo;
}
