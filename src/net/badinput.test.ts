/**
 * Hostile frames: random bytes and mutations of valid frames (ARP, IPv4
 * with UDP and ICMP, fragments) fed to a kernel's Ethernet input never throw,
 * never panic, and leave every bounded structure within its bound; the
 * kernel still answers afterwards. ANYKERNEL_FUZZ_RUNS raises the count.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { onBus } from './testkit.ts';
import { etherInput } from './iface/ether.ts';
import { arpDelete, arpEntries, ARP_MAX_ENTRIES } from './iface/arp.ts';
import { reassBytes, reassQueues, REASS_MAX_QUEUES } from './ip/ip_reass.ts';
import { emitEther, ETHERTYPE_ARP, ETHERTYPE_IPV4, BROADCAST_MAC } from './wire/ether.ts';
import { emitArp } from './wire/arp.ts';
import { emitIpv4 } from './wire/ipv4.ts';
import { emitUdp } from './wire/udp.ts';
import { emitIcmp } from './wire/icmp.ts';
import { ip4 } from './addr.ts';
import { icmpEcho, icmpState } from './ip/icmp.ts';
import { AF_INET, SOCK_DGRAM } from './index.ts';

const RUNS = Number(process.env.ANYKERNEL_FUZZ_RUNS ?? 300);
const A = ip4(10, 0, 0, 1);
const B = ip4(10, 0, 0, 2);

function validFrames(dstMac: Uint8Array): fc.Arbitrary<Uint8Array> {
  const src = new Uint8Array([2, 0, 0, 0, 0, 9]);
  const ipHdr = (proto: number, payload: Uint8Array, extra: { mf?: boolean; fragOff?: number; id?: number; src?: number } = {}) =>
    emitEther({ dst: dstMac, src, type: ETHERTYPE_IPV4, payload: emitIpv4({ tos: 0, id: extra.id ?? 1, df: false, mf: extra.mf ?? false, fragOff: extra.fragOff ?? 0, ttl: 64, proto, src: extra.src ?? A, dst: B }, payload) });
  return fc.oneof(
    fc.record({ op: fc.constantFrom(1, 2), spa: fc.integer({ min: 0, max: 0xffffffff }), tpa: fc.constantFrom(B, A, 0) })
      .map((a) => emitEther({ dst: BROADCAST_MAC, src, type: ETHERTYPE_ARP, payload: emitArp({ op: a.op, sha: src, spa: a.spa, tha: new Uint8Array(6), tpa: a.tpa }) })),
    fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), fc.uint8Array({ maxLength: 300 }))
      .map(([sp, dp, d]) => ipHdr(17, emitUdp({ sport: sp, dport: dp, payload: d }, A, B))),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 100 }))
      .map(([t, c, d]) => ipHdr(1, emitIcmp({ type: t, code: c, rest: 0, data: d }))),
    fc.tuple(fc.integer({ min: 0, max: 8191 }), fc.boolean(), fc.integer({ min: 0, max: 65535 }), fc.uint8Array({ minLength: 8, maxLength: 400 }))
      .map(([off, mf, id, d]) => ipHdr(17, d, { fragOff: off * 8, mf, id })),
  );
}

function mutate(f: Uint8Array, flips: [number, number][]): Uint8Array {
  const m = f.slice();
  for (const [i, v] of flips) if (m.length > 0) m[i % m.length] = v;
  return m;
}

describe('bad input', () => {
  it('random and mutated frames never crash the stack and every queue stays bounded', () => onBus(2, async ([a, b]) => {
    const ifp = b!.eth0!;
    const s = await b!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b!.sys.bind(s, { family: AF_INET, addr: '0.0.0.0', port: 7 });
    const frames = fc.oneof(
      fc.uint8Array({ maxLength: 1600 }),
      validFrames(ifp.lladdr),
      fc.tuple(validFrames(ifp.lladdr), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 })).map(([f, fl]) => mutate(f, fl)),
    );
    fc.assert(fc.property(fc.array(frames, { maxLength: 20 }), (batch) => {
      for (const f of batch) etherInput(b!.ns, ifp, f);
    }), { numRuns: RUNS, seed: 42 });
    expect(reassBytes(b!.ns)).toBeLessThanOrEqual(b!.ns.config.ipfragHighThresh);
    expect(reassQueues(b!.ns)).toBeLessThanOrEqual(REASS_MAX_QUEUES);
    expect(arpEntries(b!.ns).length).toBeLessThanOrEqual(ARP_MAX_ENTRIES);
    // Still alive: a answers b's ping and b answers a's. (Spoofed ARP may have pointed b's
    // entry for A at a made-up MAC, as it would on any host that believes ARP: forget it.)
    arpDelete(b!.ns, ifp, A);
    let got = 0;
    icmpState(a!.ns).echoListeners.set(77, () => { got++; });
    expect(icmpEcho(a!.ns, B, 77, 1, new Uint8Array(8))).toBe(0);
    const r = await b!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b!.sys.connect(r, { family: AF_INET, addr: '10.0.0.1', port: 9 });
    await b!.sys.send(r, new Uint8Array(1));
    await expect(b!.sys.recvfrom(r, new Uint8Array(1))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(got).toBe(1);
  }));

  it('a flood of first fragments that never complete holds at most ipfrag_high_thresh bytes', () => onBus(1, async ([a]) => {
    const ifp = a!.eth0!;
    a!.ns.config.ipfragHighThresh = 256 * 1024;
    const src = new Uint8Array([2, 0, 0, 0, 0, 9]);
    for (let id = 0; id < 3000; id++) {
      const d = emitIpv4({ tos: 0, id, df: false, mf: true, fragOff: 0, ttl: 64, proto: 17, src: ip4(10, 0, 0, 9), dst: ip4(10, 0, 0, 1) }, new Uint8Array(1400));
      etherInput(a!.ns, ifp, emitEther({ dst: ifp.lladdr, src, type: ETHERTYPE_IPV4, payload: d }));
      expect(reassBytes(a!.ns)).toBeLessThanOrEqual(256 * 1024);
    }
    expect(reassQueues(a!.ns)).toBeGreaterThan(100);
  }));

  it('ARP from a thousand spoofed senders cannot grow the cache past its bound', () => onBus(1, async ([a]) => {
    const ifp = a!.eth0!;
    for (let i = 0; i < 3 * ARP_MAX_ENTRIES; i++) {
      const sha = new Uint8Array([2, 1, (i >> 16) & 255, (i >> 8) & 255, i & 255, 1]);
      etherInput(a!.ns, ifp, emitEther({ dst: BROADCAST_MAC, src: sha, type: ETHERTYPE_ARP, payload: emitArp({ op: 1, sha, spa: ip4(10, 0, (i >> 8) & 255, i & 255), tha: new Uint8Array(6), tpa: A }) }));
    }
    expect(arpEntries(a!.ns).length).toBeLessThanOrEqual(ARP_MAX_ENTRIES);
  }));
});
