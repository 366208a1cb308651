/**
 * Transport registration and route queries: the part of the IP API in
 * ip_var.ts that needs no packet code. ipOutput is in ip_output.ts.
 */
import { EEXIST, EHOSTUNREACH, ENETUNREACH } from '../../kern/errno.ts';
import { INADDR_BROADCAST, type InAddr } from '../addr.ts';
import type { Ifnet } from '../iface/ifnet.ts';
import type { NetStack } from '../netstack.ts';
import type { IpProto, RouteResult } from './ip_var.ts';

/** Register a transport for its protocol number (one per number). */
export function ipRegister(ns: NetStack, p: IpProto): void {
  if (ns.ipsw.has(p.proto)) throw new Error(`IP protocol ${p.proto} (${p.name}) registered twice: ${EEXIST}`);
  ns.ipsw.set(p.proto, p);
}

/** True when a is a broadcast address of ifp: limited, or a subnet's directed broadcast. */
export function isBroadcastOn(ifp: Ifnet, a: InAddr): boolean {
  if (a === INADDR_BROADCAST) return true;
  for (const x of ifp.addrs) if (x.prefix < 31 && x.broadcast === a) return true;
  return false;
}

/**
 * Where a datagram to dst goes (ip_route_output): ENETUNREACH when no route,
 * EHOSTUNREACH when the route's interface has no address to send from. A
 * destination that is one of our own addresses goes through loopback.
 */
export function routeTo(ns: NetStack, dst: InAddr, ifp?: Ifnet | null): RouteResult | number {
  const own = ns.ifWithAddr(dst);
  if (own !== null && !ifp) {
    const lo = ns.ifnets.get('lo');
    if (lo !== undefined && lo.up) return { ifp: lo, src: dst, nexthop: dst, mtu: lo.mtu, broadcast: false, local: true };
  }
  const r = ns.routes.lookup(dst, ifp);
  if (r === null) return ENETUNREACH;
  const src = r.src !== 0 ? r.src : r.ifp.primaryAddr;
  if (src === 0 && !r.ifp.hasAddr(dst)) return EHOSTUNREACH;
  const mtu = r.mtu !== 0 ? Math.min(r.mtu, r.ifp.mtu) : r.ifp.mtu;
  return { ifp: r.ifp, src, nexthop: r.gateway !== 0 ? r.gateway : dst, mtu, broadcast: isBroadcastOn(r.ifp, dst), local: r.ifp.hasAddr(dst) };
}
