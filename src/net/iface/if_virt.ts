/**
 * virtif: an Ethernet interface whose wire is the host's, through the
 * network hypercalls (rump's if_virt): netifCreate attaches a host-side
 * device (a TAP bridged by socat on the node host, a port on the sim host's
 * network), netifSend queues one frame, frames arrive through the deliver
 * upcall, netifDestroy detaches. The host reports the MTU and MAC.
 */
import type { NetStack } from '../netstack.ts';
import { etherInput } from './ether.ts';
import { ifAttach } from './if.ts';
import { IFF_BROADCAST, IFF_MULTICAST, Ifnet } from './ifnet.ts';

/** Attach the host interface `name`; an errno (ENXIO: the host has none by that name). */
export async function virtifAttach(ns: NetStack, name: string, opts: { mtu?: number } = {}): Promise<Ifnet | number> {
  const k = ns.k;
  let ifp: Ifnet | null = null;
  const info = await k.hyper.netifCreate(name, (frame) => { if (ifp !== null) etherInput(ns, ifp, frame); });
  if (typeof info === 'number') return -info;
  const created: Ifnet = new Ifnet({
    name,
    kind: 'ether',
    lladdr: info.mac.slice(),
    mtu: Math.min(opts.mtu ?? info.mtu, info.mtu),
    flags: IFF_BROADCAST | IFF_MULTICAST,
    transmit: (frame) => k.hyper.netifSend(name, frame),
    destroy: async () => { await k.hyper.netifDestroy(name); },
  });
  const e = ifAttach(ns, created);
  if (e !== 0) {
    await k.hyper.netifDestroy(name);
    return e;
  }
  ifp = created;
  return created;
}
