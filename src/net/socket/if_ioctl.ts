/**
 * Interface and route configuration through ioctl(2) on any socket, as
 * Linux's ifconfig(8) and route(8) do it (netdevice(7), sockios.h). The
 * library form passes `struct ifreq` and `struct rtentry` as objects:
 *
 *   ioctl(fd, SIOCGIFCONF)                              → [{ name, addr }]
 *   ioctl(fd, SIOCGIFFLAGS, { name })                   → { name, flags }
 *   ioctl(fd, SIOCSIFFLAGS, { name, flags })            (IFF_UP brings it up or down)
 *   ioctl(fd, SIOCGIFADDR | SIOCGIFNETMASK | SIOCGIFBRDADDR, { name }) → { name, addr }
 *   ioctl(fd, SIOCSIFADDR, { name, addr, prefix? })     replaces the primary address
 *   ioctl(fd, SIOCSIFNETMASK, { name, addr: mask })     changes its prefix
 *   ioctl(fd, SIOCDIFADDR, { name, addr })              removes an address
 *   ioctl(fd, SIOCGIFMTU | SIOCSIFMTU, { name, mtu? })  → { name, mtu }
 *   ioctl(fd, SIOCGIFHWADDR, { name })                  → { name, hwaddr: 'aa:bb:...' }
 *   ioctl(fd, SIOCGIFINDEX, { name })                   → { name, ifindex }
 *   ioctl(fd, SIOCADDRT | SIOCDELRT, { dst, genmask, gateway?, dev?, metric?, mtu? })
 *
 * Changes need root (EPERM). Unknown interfaces are ENODEV; malformed
 * addresses EINVAL.
 */
import { EADDRNOTAVAIL, EEXIST, EFAULT, EINVAL, ENETUNREACH, ENODEV, EPERM, err } from '../../kern/errno.ts';
import type { Lwp } from '../../kern/sched.ts';
import { formatIp4, maskLength, parseIp4, prefixMask, type InAddr } from '../addr.ts';
import { ifAddrAdd, ifAddrDel, ifSetUp } from '../iface/if.ts';
import { IFF_UP, type Ifnet } from '../iface/ifnet.ts';
import type { NetStack } from '../netstack.ts';
import { formatMac } from '../wire/ether.ts';
import { IP_MIN_MTU } from '../wire/ipv4.ts';

export const SIOCADDRT = 0x890b;
export const SIOCDELRT = 0x890c;
export const SIOCGIFCONF = 0x8912;
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const SIOCGIFADDR = 0x8915;
export const SIOCSIFADDR = 0x8916;
export const SIOCGIFBRDADDR = 0x8919;
export const SIOCGIFNETMASK = 0x891b;
export const SIOCSIFNETMASK = 0x891c;
export const SIOCGIFMTU = 0x8921;
export const SIOCSIFMTU = 0x8922;
export const SIOCGIFHWADDR = 0x8927;
export const SIOCGIFINDEX = 0x8933;
export const SIOCDIFADDR = 0x8936;

/** True for the commands this file answers. */
export function isIfIoctl(cmd: number): boolean {
  return cmd >= 0x8900 && cmd <= 0x89ff;
}

function req(arg: unknown): Record<string, unknown> {
  if (typeof arg !== 'object' || arg === null) throw err(EFAULT);
  return arg as Record<string, unknown>;
}

function ifOf(ns: NetStack, r: Record<string, unknown>): Ifnet {
  if (typeof r.name !== 'string') throw err(EINVAL);
  const ifp = ns.ifnets.get(r.name);
  if (ifp === undefined) throw err(ENODEV);
  return ifp;
}

function addrOf(v: unknown): InAddr {
  const a = typeof v === 'string' ? parseIp4(v) : null;
  if (a === null) throw err(EINVAL);
  return a;
}

/** Linux's default netmask for SIOCSIFADDR without one: the old class of the address. */
function classfulPrefix(a: InAddr): number {
  if (a >>> 31 === 0) return 8;
  if (a >>> 30 === 2) return 16;
  return 24;
}

function root(td: Lwp): void {
  if (td.proc.cred.euid !== 0) throw err(EPERM);
}

export function ifIoctl(ns: NetStack, td: Lwp, cmd: number, arg: unknown): unknown {
  switch (cmd) {
    case SIOCGIFCONF:
      return [...ns.ifnets.values()].flatMap((ifp) => ifp.addrs.map((a) => ({ name: ifp.name, addr: formatIp4(a.addr) })));
    case SIOCGIFFLAGS: {
      const ifp = ifOf(ns, req(arg));
      return { name: ifp.name, flags: ifp.flags };
    }
    case SIOCSIFFLAGS: {
      const r = req(arg);
      const ifp = ifOf(ns, r);
      root(td);
      if (typeof r.flags !== 'number') throw err(EINVAL);
      ifSetUp(ns, ifp, (r.flags & IFF_UP) !== 0);
      return 0;
    }
    case SIOCGIFADDR: case SIOCGIFNETMASK: case SIOCGIFBRDADDR: {
      const ifp = ifOf(ns, req(arg));
      const a = ifp.addrs[0];
      if (a === undefined) throw err(EADDRNOTAVAIL); // no address
      const v = cmd === SIOCGIFADDR ? a.addr : cmd === SIOCGIFNETMASK ? prefixMask(a.prefix) : a.broadcast;
      return { name: ifp.name, addr: formatIp4(v) };
    }
    case SIOCSIFADDR: {
      const r = req(arg);
      const ifp = ifOf(ns, r);
      root(td);
      const a = addrOf(r.addr);
      const old = ifp.addrs[0];
      const prefix = typeof r.prefix === 'number' ? r.prefix : old?.prefix ?? classfulPrefix(a);
      if (old !== undefined) ifAddrDel(ns, ifp, old.addr);
      const e = ifAddrAdd(ns, ifp, a, prefix);
      if (e !== 0) throw err(e);
      return 0;
    }
    case SIOCSIFNETMASK: {
      const r = req(arg);
      const ifp = ifOf(ns, r);
      root(td);
      const len = maskLength(addrOf(r.addr));
      if (len < 0) throw err(EINVAL);
      const old = ifp.addrs[0];
      if (old === undefined) throw err(EADDRNOTAVAIL);
      ifAddrDel(ns, ifp, old.addr);
      const e = ifAddrAdd(ns, ifp, old.addr, len);
      if (e !== 0) throw err(e);
      return 0;
    }
    case SIOCDIFADDR: {
      const r = req(arg);
      const ifp = ifOf(ns, r);
      root(td);
      const e = ifAddrDel(ns, ifp, addrOf(r.addr));
      if (e !== 0) throw err(e);
      return 0;
    }
    case SIOCGIFMTU: {
      const ifp = ifOf(ns, req(arg));
      return { name: ifp.name, mtu: ifp.mtu };
    }
    case SIOCSIFMTU: {
      const r = req(arg);
      const ifp = ifOf(ns, r);
      root(td);
      const mtu = r.mtu;
      if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < IP_MIN_MTU || mtu > (ifp.kind === 'loopback' ? 65536 : ifp.maxMtu)) throw err(EINVAL);
      ifp.mtu = mtu;
      return 0;
    }
    case SIOCGIFHWADDR: {
      const ifp = ifOf(ns, req(arg));
      return { name: ifp.name, hwaddr: formatMac(ifp.lladdr), family: ifp.kind === 'loopback' ? 772 : 1 };
    }
    case SIOCGIFINDEX: {
      const ifp = ifOf(ns, req(arg));
      return { name: ifp.name, ifindex: ifp.index };
    }
    case SIOCADDRT: case SIOCDELRT: {
      const r = req(arg);
      root(td);
      const dst = addrOf(r.dst ?? '0.0.0.0');
      const prefix = maskLength(addrOf(r.genmask ?? '0.0.0.0'));
      if (prefix < 0) throw err(EINVAL);
      const gateway = r.gateway === undefined || r.gateway === null ? 0 : addrOf(r.gateway);
      let ifp: Ifnet | undefined;
      if (typeof r.dev === 'string') {
        ifp = ns.ifnets.get(r.dev);
        if (ifp === undefined) throw err(ENODEV);
      }
      if (cmd === SIOCDELRT) {
        const e = ns.routes.delete(dst, prefix, { gateway: gateway || undefined, ifp });
        if (e !== 0) throw err(e);
        return 0;
      }
      if (ifp === undefined) {
        // route(8) without dev: the interface through which the gateway (or dst) is reachable.
        const via = ns.routes.lookup(gateway !== 0 ? gateway : dst);
        if (via === null) throw err(ENETUNREACH);
        ifp = via.ifp;
      }
      const e = ns.routes.add({
        dst, prefix, gateway, ifp, metric: typeof r.metric === 'number' ? r.metric : 0, mtu: typeof r.mtu === 'number' ? r.mtu : 0,
      });
      if (e !== 0) throw err(e === EEXIST ? EEXIST : e);
      return 0;
    }
    default:
      throw err(EINVAL);
  }
}
