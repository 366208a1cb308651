/**
 * `--net IF=KIND:ARG,key=value,...` for `anykernel serve` (and any CLI that
 * boots a kernel with interfaces):
 *
 *   --net eth0=tap:ak0,addr=10.0.0.2/24[,gw=10.0.0.1][,hostaddr=10.0.0.1/24][,mtu=N][,mac=02:..]
 *
 * tap:NAME bridges the interface to the host TAP device NAME through socat
 * (root, and socat installed); hostaddr gives the host side of the TAP an
 * address.
 */
import { UsageError } from './main.ts';
import type { NetOptions } from '../frontends/library/net_boot.ts';

export function parseNetSpecs(specs: readonly string[]): NetOptions {
  const out: NetOptions = {};
  for (const spec of specs) {
    const m = /^([A-Za-z][A-Za-z0-9_.-]{0,14})=([a-z]+):([^,]+)((?:,[a-z]+=[^,]+)*)$/.exec(spec);
    if (m === null) throw new UsageError(`--net: '${spec}' is not IF=tap:NAME,addr=A.B.C.D/P[,gw=A.B.C.D]`);
    const [, ifname, kind, arg, rest] = m;
    if (kind !== 'tap') throw new UsageError(`--net ${ifname}: '${kind}' is not a kind this command attaches (tap:NAME)`);
    if (out[ifname!]) throw new UsageError(`--net: ${ifname} given twice`);
    const o: NetOptions[string] = { tap: arg };
    for (const kv of rest!.split(',').filter(Boolean)) {
      const [k, v] = kv.split('=') as [string, string];
      switch (k) {
        case 'addr': o.addr = v; break;
        case 'gw': case 'gateway': o.gateway = v; break;
        case 'hostaddr': o.hostAddr = v; break;
        case 'mtu': {
          if (!/^\d+$/.test(v)) throw new UsageError(`--net ${ifname}: mtu '${v}' is not a number`);
          o.mtu = Number(v);
          break;
        }
        case 'mac': o.mac = v; break;
        default: throw new UsageError(`--net ${ifname}: unknown key '${k}' (addr, gw, hostaddr, mtu, mac)`);
      }
    }
    out[ifname!] = o;
  }
  return out;
}
