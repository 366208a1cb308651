/**
 * Interface configuration (what ifconfig(8) and ip-address(8) do): attach
 * and detach interfaces, add and remove IPv4 addresses (each with its
 * connected route), bring interfaces up and down, and hand frames to the
 * driver with the counters and capture taps kept in one place.
 */
import { EADDRINUSE, EADDRNOTAVAIL, EEXIST, EINVAL, ENETDOWN } from '../../kern/errno.ts';
import { prefixMask, type InAddr } from '../addr.ts';
import type { NetStack } from '../netstack.ts';
import { IFF_RUNNING, IFF_UP, type Ifnet } from './ifnet.ts';

/** Hooks other parts of the stack install to follow interface changes (ARP announces, flushes). */
export interface IfHooks {
  addrAdded?(ns: NetStack, ifp: Ifnet, addr: InAddr): void;
  up?(ns: NetStack, ifp: Ifnet): void;
  detached?(ns: NetStack, ifp: Ifnet): void;
}

function hooks(ns: NetStack): IfHooks[] {
  return ns.part('if.hooks', () => [] as IfHooks[]);
}

export function ifAddHooks(ns: NetStack, h: IfHooks): void {
  hooks(ns).push(h);
}

/** Attach an interface to the stack (if_attach). EEXIST when the name is taken. */
export function ifAttach(ns: NetStack, ifp: Ifnet): number {
  if (ns.ifnets.has(ifp.name)) return EEXIST;
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,14}$/.test(ifp.name)) return EINVAL; // IFNAMSIZ 16 with the NUL
  ifp.index = ns.allocIfIndex();
  ns.ifnets.set(ifp.name, ifp);
  ns.k.log('info', `${ifp.name}: attached, mtu ${ifp.mtu}`);
  return 0;
}

/** Detach: routes, addresses and ARP state through ifp go with it. */
export async function ifDetach(ns: NetStack, ifp: Ifnet): Promise<void> {
  if (ns.ifnets.get(ifp.name) !== ifp) return;
  ifp.flags &= ~(IFF_UP | IFF_RUNNING);
  ns.routes.deleteWhere((r) => r.ifp === ifp);
  ifp.addrs.length = 0;
  for (const h of hooks(ns)) h.detached?.(ns, ifp);
  ns.ifnets.delete(ifp.name);
  await ifp.destroy();
  ns.k.log('info', `${ifp.name}: detached`);
}

/** Bring the interface up or down (SIOCSIFFLAGS IFF_UP). */
export function ifSetUp(ns: NetStack, ifp: Ifnet, up: boolean): void {
  const was = ifp.up;
  ifp.flags = up ? ifp.flags | IFF_UP | IFF_RUNNING : ifp.flags & ~(IFF_UP | IFF_RUNNING);
  if (up && !was) for (const h of hooks(ns)) h.up?.(ns, ifp);
}

/**
 * Add an address (ip addr add A/P dev IFP): the interface's subnet becomes a
 * connected route. EEXIST when the interface has it; EADDRINUSE when another
 * interface has it.
 */
export function ifAddrAdd(ns: NetStack, ifp: Ifnet, addr: InAddr, prefix: number): number {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) return EINVAL;
  if (ifp.hasAddr(addr)) return EEXIST;
  for (const other of ns.ifnets.values()) if (other !== ifp && other.hasAddr(addr)) return EADDRINUSE;
  const mask = prefixMask(prefix);
  ifp.addrs.push({ addr, prefix, broadcast: prefix >= 31 ? 0xffffffff : ((addr & mask) | ~mask) >>> 0 });
  if (ifp.kind !== 'loopback' || prefix < 32) {
    const e = ns.routes.add({ dst: addr & mask, prefix, ifp, src: addr, connected: true });
    if (e !== 0 && e !== EEXIST) {
      ifp.addrs.pop();
      return e;
    }
  }
  for (const h of hooks(ns)) h.addrAdded?.(ns, ifp, addr);
  return 0;
}

/** Remove an address and the connected route it brought. EADDRNOTAVAIL when absent. */
export function ifAddrDel(ns: NetStack, ifp: Ifnet, addr: InAddr): number {
  const i = ifp.addrs.findIndex((a) => a.addr === addr);
  if (i < 0) return EADDRNOTAVAIL;
  const [a] = ifp.addrs.splice(i, 1);
  const mask = prefixMask(a!.prefix);
  ns.routes.deleteWhere((r) => r.connected && r.ifp === ifp && r.src === addr && r.dst === ((addr & mask) >>> 0));
  return 0;
}

/** Hand one frame to the driver, counting and tapping it; ENETDOWN when the interface is down. */
export function ifTransmit(ns: NetStack, ifp: Ifnet, frame: Uint8Array): number {
  if (!ifp.up) {
    ifp.counters.txDropped++;
    return ENETDOWN;
  }
  ifp.counters.txPackets++;
  ifp.counters.txBytes += frame.byteLength;
  if (ifp.taps.size > 0) {
    const t = ns.k.hyper.clockRealtime();
    for (const tap of ifp.taps) tap(frame, 'out', t);
  }
  ifp.transmit(frame);
  return 0;
}

/** Count and tap a received frame; false when the interface is down (drop it). */
export function ifReceived(ns: NetStack, ifp: Ifnet, frame: Uint8Array): boolean {
  if (!ifp.up) {
    ifp.counters.rxDropped++;
    return false;
  }
  ifp.counters.rxPackets++;
  ifp.counters.rxBytes += frame.byteLength;
  if (ifp.taps.size > 0) {
    const t = ns.k.hyper.clockRealtime();
    for (const tap of ifp.taps) tap(frame, 'in', t);
  }
  return true;
}
