/**
 * Interface configuration in one call, as a boot option or `ifconfig eth0
 * 10.0.0.2/24 up` + `route add default gw 10.0.0.1` would do it.
 */
import { EINVAL, err } from '../../kern/errno.ts';
import { parseCidr, parseIp4 } from '../addr.ts';
import type { NetStack } from '../netstack.ts';
import { ifAddrAdd, ifSetUp } from './if.ts';
import type { Ifnet } from './ifnet.ts';

export interface IfConfig {
  /** "A.B.C.D/P" (P defaults to 32). */
  addr?: string;
  /** Default router, "A.B.C.D": becomes the default route through this interface. */
  gateway?: string;
  /** Bring the interface up (default true). */
  up?: boolean;
}

/** Apply cfg to ifp; throws KernelError (EINVAL for malformed addresses, EEXIST...). */
export function ifConfigure(ns: NetStack, ifp: Ifnet, cfg: IfConfig): void {
  if (cfg.up ?? true) ifSetUp(ns, ifp, true);
  if (cfg.addr !== undefined) {
    const c = parseCidr(cfg.addr);
    if (c === null) throw err(EINVAL, cfg.addr);
    const e = ifAddrAdd(ns, ifp, c.addr, c.prefix);
    if (e !== 0) throw err(e, cfg.addr);
  }
  if (cfg.gateway !== undefined) {
    const gw = parseIp4(cfg.gateway);
    if (gw === null) throw err(EINVAL, cfg.gateway);
    const e = ns.routes.add({ dst: 0, prefix: 0, gateway: gw, ifp });
    if (e !== 0) throw err(e, cfg.gateway);
  }
}
