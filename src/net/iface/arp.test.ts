/**
 * The ARP cache between kernels on an EtherBus (sim host, virtual time):
 * gratuitous announcements, resolution, expiry and re-resolution, the
 * bounded hold queue, retries and failure, static entries, conflicts.
 */
import { describe, expect, it } from 'vitest';
import { onBus } from '../testkit.ts';
import { ip4 } from '../addr.ts';
import { parseArp, ARPOP_REQUEST } from '../wire/arp.ts';
import { parseEther, ETHERTYPE_ARP } from '../wire/ether.ts';
import { WireError } from '../wire/wire.ts';
import { ifAddrAdd } from './if.ts';
import { arpDelete, arpEntries, arpSetStatic, arpStats, ARP_HOLD_FRAMES, ARP_MAX_TRIES, ARP_REACHABLE_NS } from './arp.ts';
import type { Ifnet } from './ifnet.ts';
import { AF_INET, SOCK_DGRAM } from '../index.ts';

type Seen = { op: number; spa: number; tpa: number };
function watchArp(ifp: Ifnet, dir: 'in' | 'out'): Seen[] {
  const seen: Seen[] = [];
  ifp.taps.add((f, d) => {
    if (d !== dir) return;
    const e = parseEther(f);
    if (e instanceof WireError || e.type !== ETHERTYPE_ARP) return;
    const a = parseArp(e.payload);
    if (!(a instanceof WireError)) seen.push({ op: a.op, spa: a.spa, tpa: a.tpa });
  });
  return seen;
}

const B = ip4(10, 0, 0, 2);

describe('ARP', () => {
  it('announces a new address with a gratuitous request, and a peer learns nothing it did not ask for', () => onBus(2, async ([a, b], _bus, world) => {
    const out = watchArp(a!.eth0!, 'out');
    ifAddrAdd(a!.ns, a!.eth0!, ip4(10, 0, 0, 11), 24);
    await world.sleep(1_000_000n);
    expect(out).toEqual([{ op: ARPOP_REQUEST, spa: ip4(10, 0, 0, 11), tpa: ip4(10, 0, 0, 11) }]);
    // RFC 826 merge: b had no entry for it, and the request was not for b: b adds none.
    expect(arpEntries(b!.ns).map((e) => e.addr)).not.toContain(ip4(10, 0, 0, 11));
  }));

  it('resolves once, expires after the reachable time, then asks again', () => onBus(2, async ([a], _bus, world) => {
    const out = watchArp(a!.eth0!, 'out');
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    const to = { family: AF_INET, addr: '10.0.0.2', port: 9 };
    for (let i = 0; i < 3; i++) await a!.sys.sendto(c, new Uint8Array(1), 0, to);
    await world.sleep(1_000_000n);
    expect(out.filter((x) => x.op === ARPOP_REQUEST && x.tpa === B)).toHaveLength(1);
    expect(arpEntries(a!.ns).find((e) => e.addr === B)?.state).toBe('resolved');
    await world.sleep(ARP_REACHABLE_NS + 1_000_000n);
    expect(arpEntries(a!.ns).find((e) => e.addr === B)).toBeUndefined();
    await a!.sys.sendto(c, new Uint8Array(1), 0, to);
    await world.sleep(1_000_000n);
    expect(out.filter((x) => x.op === ARPOP_REQUEST && x.tpa === B)).toHaveLength(2);
  }));

  it('an unanswered address: ARP_MAX_TRIES requests a second apart, a bounded hold queue, then failure', () => onBus(1, async ([a], _bus, world) => {
    const out = watchArp(a!.eth0!, 'out');
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    for (let i = 0; i < ARP_HOLD_FRAMES + 10; i++) await a!.sys.sendto(c, new Uint8Array(1), 0, { family: AF_INET, addr: '10.0.0.50', port: 9 });
    expect(arpEntries(a!.ns).find((e) => e.addr === ip4(10, 0, 0, 50))?.held).toBe(ARP_HOLD_FRAMES);
    expect(arpStats(a!.ns).holdDrops).toBe(10);
    await world.sleep(10_000_000_000n);
    expect(out.filter((x) => x.tpa === ip4(10, 0, 0, 50))).toHaveLength(ARP_MAX_TRIES);
    expect(arpEntries(a!.ns).find((e) => e.addr === ip4(10, 0, 0, 50))).toBeUndefined();
    expect(arpStats(a!.ns).failed).toBe(1);
  }));

  it('static entries never expire nor ask; a request for our address is answered', () => onBus(2, async ([a, b], _bus, world) => {
    const inB = watchArp(b!.eth0!, 'out');
    arpSetStatic(a!.ns, a!.eth0!, B, b!.eth0!.lladdr);
    const out = watchArp(a!.eth0!, 'out');
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a!.sys.sendto(c, new Uint8Array(1), 0, { family: AF_INET, addr: '10.0.0.2', port: 9 });
    await world.sleep(2n * ARP_REACHABLE_NS);
    expect(out.filter((x) => x.op === ARPOP_REQUEST)).toHaveLength(0);
    expect(arpEntries(a!.ns).find((e) => e.addr === B)?.state).toBe('static');
    // b had to resolve a to answer the ICMP port unreachable: it asked, a replied.
    expect(inB.some((x) => x.op === ARPOP_REQUEST && x.tpa === ip4(10, 0, 0, 1))).toBe(true);
    expect(arpStats(a!.ns).replies).toBeGreaterThanOrEqual(1);
    expect(arpDelete(a!.ns, a!.eth0!, B)).toBe(true);
    expect(arpDelete(a!.ns, a!.eth0!, B)).toBe(false);
  }));

  it('another station claiming our address is logged and answered with an announcement', () => onBus(2, async ([a, b], _bus, world) => {
    const out = watchArp(a!.eth0!, 'out');
    ifAddrAdd(b!.ns, b!.eth0!, ip4(10, 0, 0, 1), 24); // b takes a's address
    await world.sleep(1_000_000n);
    // Each defends once (RFC 5227's DEFEND_INTERVAL), so the exchange ends.
    expect(arpStats(a!.ns).conflicts).toBeGreaterThanOrEqual(1);
    expect(arpStats(a!.ns).conflicts).toBeLessThanOrEqual(2);
    expect(out.some((x) => x.op === ARPOP_REQUEST && x.spa === ip4(10, 0, 0, 1) && x.tpa === ip4(10, 0, 0, 1))).toBe(true);
    expect(a!.k.msgbuf.format()).toMatch(/claims our address 10\.0\.0\.1/);
  }));
});
