/**
 * The IPv4 routing table: longest-prefix match over (destination, prefix)
 * entries, each naming an interface and, for indirect routes, a gateway
 * (RFC 1812 §5.2.4.3: the most specific route wins; among equal prefixes the
 * lowest metric, then the earliest added).
 *
 * Connected routes (the subnet of an interface address) are added and removed
 * with the address (netstack.ts); a default route is 0.0.0.0/0 via a gateway.
 * The table is small (an entry per subnet and gateway), kept sorted most
 * specific first, and searched linearly: a lookup visits at most every entry.
 *
 * @guardedBy the single virtual CPU
 */
import { EEXIST, EINVAL, ENETUNREACH, ESRCH } from '../../kern/errno.ts';
import { INADDR_BROADCAST, prefixMask, type InAddr } from '../addr.ts';
import type { Ifnet } from './ifnet.ts';

/** Route flags as route(8) and /proc/net/route show them (Linux RTF_*). */
export const RTF_UP = 0x1;
export const RTF_GATEWAY = 0x2;
export const RTF_HOST = 0x4;

export interface Route {
  readonly dst: InAddr;
  readonly prefix: number;
  readonly mask: InAddr;
  /** Next-hop router, or 0 for a directly connected destination. */
  readonly gateway: InAddr;
  readonly ifp: Ifnet;
  /** Preferred source address (0: the interface's primary address). */
  readonly src: InAddr;
  /** Path MTU for this route (0: the interface's MTU). */
  readonly mtu: number;
  readonly metric: number;
  /** RTF_UP | RTF_GATEWAY | RTF_HOST. */
  readonly flags: number;
  /** Added by an address (connected route), removed with it. */
  readonly connected: boolean;
}

export interface RouteSpec {
  dst: InAddr;
  prefix: number;
  gateway?: InAddr;
  ifp: Ifnet;
  src?: InAddr;
  mtu?: number;
  metric?: number;
  connected?: boolean;
}

/** The most routes one table holds (bounded memory against runaway configuration). */
export const ROUTE_MAX = 4096;

export class RouteTable {
  private routes: Route[] = [];

  get size(): number {
    return this.routes.length;
  }

  /** Add a route; 0 or EEXIST (same dst/prefix/gateway/metric), EINVAL, ENOBUFS-like ENETUNREACH when full. */
  add(spec: RouteSpec): number {
    if (!Number.isInteger(spec.prefix) || spec.prefix < 0 || spec.prefix > 32) return EINVAL;
    const mask = prefixMask(spec.prefix);
    const dst = (spec.dst & mask) >>> 0;
    const gateway = spec.gateway ?? 0;
    const metric = spec.metric ?? 0;
    for (const r of this.routes) {
      if (r.dst === dst && r.prefix === spec.prefix && r.metric === metric && r.ifp === spec.ifp) return EEXIST;
    }
    if (this.routes.length >= ROUTE_MAX) return ENETUNREACH;
    const flags = RTF_UP | (gateway !== 0 ? RTF_GATEWAY : 0) | (spec.prefix === 32 ? RTF_HOST : 0);
    const route: Route = {
      dst, prefix: spec.prefix, mask, gateway, ifp: spec.ifp, src: spec.src ?? 0, mtu: spec.mtu ?? 0, metric, flags,
      connected: spec.connected ?? false,
    };
    // Most specific first; equal prefixes by metric; equal both: insertion order.
    let i = 0;
    while (i < this.routes.length && (this.routes[i]!.prefix > route.prefix || (this.routes[i]!.prefix === route.prefix && this.routes[i]!.metric <= metric))) i++;
    this.routes.splice(i, 0, route);
    return 0;
  }

  /** Delete the first route matching dst/prefix (and gateway/interface when given); 0 or ESRCH. */
  delete(dst: InAddr, prefix: number, opts: { gateway?: InAddr; ifp?: Ifnet } = {}): number {
    const mask = prefixMask(prefix);
    const i = this.routes.findIndex((r) => r.dst === ((dst & mask) >>> 0) && r.prefix === prefix
      && (opts.gateway === undefined || r.gateway === opts.gateway) && (opts.ifp === undefined || r.ifp === opts.ifp));
    if (i < 0) return ESRCH;
    this.routes.splice(i, 1);
    return 0;
  }

  /** Remove every route through ifp (interface detach) or every matching connected route. */
  deleteWhere(pred: (r: Route) => boolean): number {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => !pred(r));
    return before - this.routes.length;
  }

  /**
   * Longest-prefix match for dst among routes whose interface is up (and is
   * `ifp` when given). The limited broadcast address goes out of the first
   * up interface with a connected route when nothing more specific matches.
   */
  lookup(dst: InAddr, ifp?: Ifnet | null): Route | null {
    for (const r of this.routes) {
      if (((dst & r.mask) >>> 0) !== r.dst) continue;
      if (!r.ifp.up) continue;
      if (ifp && r.ifp !== ifp) continue;
      return r;
    }
    if (dst === INADDR_BROADCAST) {
      for (const r of this.routes) if (r.connected && r.ifp.up && (!ifp || r.ifp === ifp)) return r;
    }
    return null;
  }

  list(): readonly Route[] {
    return this.routes;
  }
}
