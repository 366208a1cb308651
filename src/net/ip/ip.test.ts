/**
 * IPv4 end to end between kernels: forwarding through a router kernel (off
 * by default), TTL expiry, fragmentation needed with DF, reassembly rules
 * (overlaps, duplicates, timeouts with ICMP time exceeded), routing.
 */
import { describe, expect, it } from 'vitest';
import { SimHost } from '../../hyper/sim/host.ts';
import { SimWorld } from '../../hyper/sim/world.ts';
import { busAttach, EtherBus } from '../iface/if_bus.ts';
import { ifConfigure } from '../iface/config.ts';
import { etherInput } from '../iface/ether.ts';
import { ip4 } from '../addr.ts';
import { AF_INET, IP_TTL, SOCK_DGRAM, SOL_IP } from '../index.ts';
import { netKernel, expectCode, onBus, type TestHost } from '../testkit.ts';
import { emitEther, ETHERTYPE_IPV4 } from '../wire/ether.ts';
import { emitIpv4, parseIpv4 } from '../wire/ipv4.ts';
import { emitUdp } from '../wire/udp.ts';
import { parseIcmp } from '../wire/icmp.ts';
import { WireError } from '../wire/wire.ts';
import { reassBytes, reassQueues } from './ip_reass.ts';
import { icmpEcho, icmpState } from './icmp.ts';

/** a (10.1.0.2) — router r (10.1.0.1 | 10.2.0.1) — b (10.2.0.2), each side its own bus. */
async function routed<T>(fn: (a: TestHost, r: TestHost, b: TestHost, world: SimWorld) => Promise<T>, opts: { mtu2?: number } = {}): Promise<T> {
  const world = new SimWorld({ seed: 5, keepLog: false });
  try {
    return await world.run(async () => {
      const bus1 = new EtherBus(), bus2 = new EtherBus({ mtu: opts.mtu2 ?? 1500 });
      const a = await netKernel(new SimHost({ world, name: 'a' }));
      const r = await netKernel(new SimHost({ world, name: 'r' }));
      const b = await netKernel(new SimHost({ world, name: 'b' }));
      const att = (h: TestHost, name: string, bus: EtherBus, addr: string, gateway?: string) => {
        const ifp = busAttach(h.ns, name, bus);
        if (typeof ifp === 'number') throw new Error('attach');
        ifConfigure(h.ns, ifp, { addr, gateway });
        return ifp;
      };
      a.eth0 = att(a, 'eth0', bus1, '10.1.0.2/24', '10.1.0.1');
      r.eth0 = att(r, 'eth0', bus1, '10.1.0.1/24');
      att(r, 'eth1', bus2, '10.2.0.1/24');
      b.eth0 = att(b, 'eth0', bus2, '10.2.0.2/24', '10.2.0.1');
      return await fn(a, r, b, world);
    }, { limitSteps: 2_000_000 });
  } finally {
    world.dispose();
  }
}

const to = (addr: string, port: number) => ({ family: AF_INET, addr, port });

describe('forwarding', () => {
  it('is off by default, and on with net.ipv4.ip_forward', () => routed(async (a, r, b) => {
    const s = await b.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b.sys.bind(s, to('0.0.0.0', 9));
    const c = await a.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a.sys.sendto(c, new Uint8Array([1]), 0, to('10.2.0.2', 9));
    // A marker behind it on the same link: once r refuses it, r has seen (and dropped) the first.
    const m = await a.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a.sys.connect(m, to('10.1.0.1', 1));
    await a.sys.send(m, new Uint8Array(1));
    await expectCode(a.sys.recvfrom(m, new Uint8Array(1)), 'ECONNREFUSED');
    expect(r.ns.ipStats.forwDatagrams).toBe(0);
    r.k.sysctl.write('net.ipv4.ip_forward', 1, r.k.proc0.cred);
    await a.sys.sendto(c, new Uint8Array([2]), 0, to('10.2.0.2', 9));
    const buf = new Uint8Array(4);
    const [n, from] = await b.sys.recvfrom(s, buf);
    expect([n, buf[0], from]).toEqual([1, 2, to('10.1.0.2', (await a.sys.getsockname(c) as { port: number }).port)]);
    expect(r.ns.ipStats.forwDatagrams).toBe(1);
  }));

  it('TTL 1 through a router: ICMP time exceeded back to the sender', () => routed(async (a, r) => {
    r.k.sysctl.write('net.ipv4.ip_forward', 1, r.k.proc0.cred);
    const c = await a.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a.sys.setsockopt(c, SOL_IP, IP_TTL, 1);
    await a.sys.connect(c, to('10.2.0.2', 9));
    await a.sys.send(c, new Uint8Array(1));
    await expectCode(a.sys.recvfrom(c, new Uint8Array(1)), 'EHOSTUNREACH');
  }));

  it('DF across a smaller MTU: the router answers fragmentation needed with its next-hop MTU', () => routed(async (a, r, _b, world) => {
    r.k.sysctl.write('net.ipv4.ip_forward', 1, r.k.proc0.cred);
    const seen: number[] = [];
    a.eth0!.taps.add((f, dir) => {
      if (dir !== 'in' || f[12] !== 8 || f[13] !== 0) return;
      const ip = parseIpv4(f.subarray(14));
      if (ip instanceof WireError || ip.proto !== 1) return;
      const m = parseIcmp(ip.payload);
      if (!(m instanceof WireError) && m.type === 3 && m.code === 4) seen.push(m.rest & 0xffff);
    });
    // A raw DF datagram from a to b, larger than the second link's MTU (600).
    const udp = emitUdp({ sport: 5, dport: 9, payload: new Uint8Array(1000) }, ip4(10, 1, 0, 2), ip4(10, 2, 0, 2));
    const frame = emitEther({ dst: r.eth0!.lladdr, src: a.eth0!.lladdr, type: ETHERTYPE_IPV4, payload: emitIpv4({ tos: 0, id: 9, df: true, mf: false, fragOff: 0, ttl: 64, proto: 17, src: ip4(10, 1, 0, 2), dst: ip4(10, 2, 0, 2) }, udp) });
    etherInput(r.ns, r.eth0!, frame);
    await world.sleep(1_000_000n);
    expect(seen).toEqual([600]);
  }, { mtu2: 600 }));

  it('without DF the router fragments for the smaller link and b reassembles', () => routed(async (a, r, b) => {
    r.k.sysctl.write('net.ipv4.ip_forward', 1, r.k.proc0.cred);
    const s = await b.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b.sys.bind(s, to('0.0.0.0', 9));
    const c = await a.sys.socket(AF_INET, SOCK_DGRAM, 0);
    const data = new Uint8Array(5000).map((_, i) => i * 7);
    await a.sys.sendto(c, data, 0, to('10.2.0.2', 9));
    const buf = new Uint8Array(6000);
    const [n] = await b.sys.recvfrom(s, buf);
    expect(buf.subarray(0, n)).toEqual(data);
    expect(b.ns.ipStats.reasmOKs).toBe(1);
    expect(r.ns.ipStats.fragCreates).toBeGreaterThanOrEqual(9);
  }, { mtu2: 600 }));
});

describe('reassembly', () => {
  const frag = (id: number, off: number, mf: boolean, data: Uint8Array) =>
    emitIpv4({ tos: 0, id, df: false, mf, fragOff: off, ttl: 64, proto: 17, src: ip4(10, 0, 0, 2), dst: ip4(10, 0, 0, 1) }, data);

  it('out of order and duplicated fragments reassemble; overlaps discard; timeouts send time exceeded', () => onBus(2, async ([a, b], _bus, world) => {
    const s = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a!.sys.bind(s, to('0.0.0.0', 9));
    const payload = emitUdp({ sport: 1, dport: 9, payload: new Uint8Array(40).fill(7) }, ip4(10, 0, 0, 2), ip4(10, 0, 0, 1));
    const send = (d: Uint8Array) => etherInput(a!.ns, a!.eth0!, emitEther({ dst: a!.eth0!.lladdr, src: b!.eth0!.lladdr, type: ETHERTYPE_IPV4, payload: d }));
    // Out of order, with a duplicate.
    send(frag(1, 24, true, payload.subarray(24, 40)));
    send(frag(1, 40, false, payload.subarray(40)));
    send(frag(1, 24, true, payload.subarray(24, 40)));
    send(frag(1, 0, true, payload.subarray(0, 24)));
    const [n] = await a!.sys.recvfrom(s, new Uint8Array(64));
    expect(n).toBe(40);
    // Overlap: the datagram is discarded.
    send(frag(2, 0, true, payload.subarray(0, 24)));
    send(frag(2, 16, true, payload.subarray(16, 40)));
    expect(reassQueues(a!.ns)).toBe(0);
    send(frag(2, 40, false, payload.subarray(40))); // a straggler starts a queue that can never complete
    expect(reassQueues(a!.ns)).toBe(1);
    await expectCode(a!.sys.recvfrom(s, new Uint8Array(64), 0x40), 'EAGAIN');
    await world.sleep(31_000_000_000n);
    expect(reassQueues(a!.ns)).toBe(0);
    // A first fragment that never completes: after ipfrag_time, ICMP time exceeded (reassembly).
    let timex = 0;
    b!.eth0!.taps.add((f, dir) => {
      if (dir !== 'in' || f[12] !== 8) return;
      const ip = parseIpv4(f.subarray(14));
      if (ip instanceof WireError || ip.proto !== 1) return;
      const m = parseIcmp(ip.payload);
      if (!(m instanceof WireError) && m.type === 11 && m.code === 1) timex++;
    });
    send(frag(3, 0, true, payload.subarray(0, 24)));
    expect(reassBytes(a!.ns)).toBe(24);
    await world.sleep(31_000_000_000n);
    expect(reassQueues(a!.ns)).toBe(0);
    expect(timex).toBe(1);
  }));

  it('ping with a payload larger than the MTU goes out fragmented and comes back whole', () => onBus(2, async ([a]) => {
    let got = 0;
    icmpState(a!.ns).echoListeners.set(5, (r) => { got = r.data.byteLength; });
    expect(icmpEcho(a!.ns, ip4(10, 0, 0, 2), 5, 1, new Uint8Array(4000))).toBe(0);
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a!.sys.connect(c, to('10.0.0.2', 1));
    await a!.sys.send(c, new Uint8Array(1));
    await expectCode(a!.sys.recvfrom(c, new Uint8Array(1)), 'ECONNREFUSED');
    expect(got).toBe(4000);
  }));
});
