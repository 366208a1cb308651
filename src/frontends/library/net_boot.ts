/**
 * `boot({ net })`: attach and configure a kernel's network interfaces.
 *
 *   boot({ net: { eth0: { bus, addr: '10.0.0.1/24', gateway? } } })   an in-process EtherBus
 *   boot({ net: { eth0: { tap: 'ak0', addr: '10.0.0.2/24' } } })       a host TAP through socat (node host)
 *   boot({ host: sim, net: { eth0: { sim: network, addr } } })          the sim host's network
 *   boot({ host, net: { eth0: { virtif: true, addr } } })               the given host's own interface eth0
 *
 * Each interface comes up with its address and, with `gateway`, a default
 * route through it. Loopback is always there.
 */
import type { Kernel } from '../../kern/index.ts';
import type { Hypercalls } from '../../hyper/types.ts';
import type { SimNetwork } from '../../hyper/sim/network.ts';
import type { SimHost } from '../../hyper/sim/host.ts';
import type { UdpNetifSpec } from '../../hyper/node/tap.ts';
import { busAttach, ifConfigure, netOf, parseMac, virtifAttach, type EtherBus, type IfConfig } from '../../net/index.ts';
import { KernelError } from '../../kern/index.ts';

export interface NetIfOptions extends IfConfig {
  /** An in-process Ethernet segment (anykernel/net's EtherBus). */
  bus?: EtherBus;
  /** A host TAP device name: the node host bridges it with socat. */
  tap?: string;
  /** With `tap`: the host side's address ("10.0.0.1/24"), set by socat. */
  hostAddr?: string;
  /** The sim host's network (the kernel's host must be a SimHost in the same world). */
  sim?: SimNetwork;
  /** Whatever interface of this name the given host provides (its netifCreate): e.g. a NodeHost's `taps` entry. */
  virtif?: true;
  /** Interface MTU (default: the wire's). */
  mtu?: number;
  /** MAC address ("02:00:00:00:00:01"); default random, locally administered. */
  mac?: string;
}

export type NetOptions = Record<string, NetIfOptions>;

/** The TAP specs a NodeHost needs for these options (undefined when none). */
export function tapSpecs(net: NetOptions | undefined): Record<string, UdpNetifSpec> | undefined {
  if (net === undefined) return undefined;
  const out: Record<string, UdpNetifSpec> = {};
  let any = false;
  for (const [name, o] of Object.entries(net)) {
    if (o.tap === undefined) continue;
    out[name] = { tap: o.tap, hostAddr: o.hostAddr, mtu: o.mtu, mac: o.mac };
    any = true;
  }
  return any ? out : undefined;
}

function fail(name: string, what: string): never {
  throw new Error(`boot: net.${name}: ${what}`);
}

/** Attach and configure every interface of `net` on a booted kernel. */
export async function configureNet(k: Kernel, host: Hypercalls, net: NetOptions): Promise<void> {
  const ns = netOf(k);
  for (const [name, o] of Object.entries(net)) {
    const kinds = [o.bus, o.tap, o.sim, o.virtif].filter((x) => x !== undefined).length;
    if (kinds !== 1) fail(name, 'give exactly one of bus, tap, sim, virtif');
    let mac: Uint8Array | undefined;
    if (o.mac !== undefined) {
      const m = parseMac(o.mac);
      if (m === null) fail(name, `mac '${o.mac}' is not six hex octets`);
      mac = m;
    }
    let r;
    if (o.bus !== undefined) r = busAttach(ns, name, o.bus, { mac, mtu: o.mtu });
    else {
      if (o.sim !== undefined) {
        if (host.hostName !== 'sim') fail(name, 'sim: the kernel must run on a SimHost (boot({ host: sim }))');
        o.sim.attach(host as unknown as SimHost, [name]);
      }
      r = await virtifAttach(ns, name, { mtu: o.mtu });
    }
    if (typeof r === 'number') {
      const why = o.tap !== undefined ? `cannot attach TAP '${o.tap}' (${new KernelError(r).code}): is socat installed, are you root, does the host know this interface?` : new KernelError(r).message;
      fail(name, why);
    }
    try {
      ifConfigure(ns, r, o);
    } catch (e) {
      fail(name, e instanceof Error ? e.message : String(e));
    }
  }
}
