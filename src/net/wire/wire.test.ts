/**
 * Round-trip properties for every header in wire/: emit(value) parses back
 * to the value; and parse never throws on arbitrary or mutated bytes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checksum, foldChecksum, pseudoHeaderSum, sum16 } from './checksum.ts';
import { emitEther, ETHER_MIN_LEN, parseEther, formatMac, parseMac } from './ether.ts';
import { emitArp, parseArp } from './arp.ts';
import { emitIpv4, parseIpv4 } from './ipv4.ts';
import { emitIcmp, parseIcmp } from './icmp.ts';
import { emitUdp, emitUdpv, parseUdp } from './udp.ts';
import { WireError } from './wire.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 255 });
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

/** A reference checksum: the RFC 1071 loop, word by word, folding as it goes. */
function refChecksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) {
    s += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

describe('checksum', () => {
  it('matches the word-by-word reference', () => {
    fc.assert(fc.property(bytes(3000), (b) => checksum(b) === refChecksum(b)));
  });
  it('a message with its checksum sums to zero', () => {
    fc.assert(fc.property(bytes(200).filter((b) => b.length % 2 === 0), (b) => {
      const c = checksum(b);
      const w = new Uint8Array(b.length + 2);
      w.set(b);
      w[b.length] = c >>> 8;
      w[b.length + 1] = c & 0xff;
      return checksum(w) === 0 || (c === 0 && refChecksum(w) === 0);
    }));
  });
  it('sums split at even boundaries add up', () => {
    fc.assert(fc.property(bytes(100).filter((b) => b.length % 2 === 0), bytes(100), (a, b) => {
      const all = new Uint8Array(a.length + b.length);
      all.set(a);
      all.set(b, a.length);
      return foldChecksum(sum16(b, sum16(a))) === checksum(all);
    }));
  });
});

describe('ethernet', () => {
  it('round-trips', () => {
    fc.assert(fc.property(mac, mac, fc.integer({ min: 0x600, max: 0xffff }), bytes(1500), (dst, src, type, payload) => {
      const f = emitEther({ dst, src, type, payload });
      expect(f.length).toBe(Math.max(ETHER_MIN_LEN, 14 + payload.length));
      const p = parseEther(f);
      if (p instanceof WireError) throw new Error(String(p));
      expect(p.dst).toEqual(dst);
      expect(p.src).toEqual(src);
      expect(p.type).toBe(type);
      expect(p.payload.subarray(0, payload.length)).toEqual(payload);
    }));
  });
  it('rejects short frames and 802.3 lengths', () => {
    expect(parseEther(new Uint8Array(13))).toBeInstanceOf(WireError);
    const f = new Uint8Array(60);
    f[12] = 0x05; f[13] = 0xdc;
    expect(parseEther(f)).toBeInstanceOf(WireError);
  });
  it('MAC text round-trips', () => {
    fc.assert(fc.property(mac, (m) => { expect(parseMac(formatMac(m))).toEqual(m); }));
    expect(parseMac('00:11:22:33:44')).toBeNull();
  });
});

describe('arp', () => {
  it('round-trips', () => {
    fc.assert(fc.property(fc.constantFrom(1, 2), mac, u32, mac, u32, (op, sha, spa, tha, tpa) => {
      const a = { op, sha, spa, tha, tpa };
      expect(parseArp(emitArp(a))).toEqual(a);
    }));
  });
  it('rejects other hardware, protocols, lengths and operations', () => {
    const good = emitArp({ op: 1, sha: new Uint8Array(6), spa: 1, tha: new Uint8Array(6), tpa: 2 });
    for (const [i, v] of [[1, 6], [2, 0x86], [4, 8], [5, 16], [7, 3]] as const) {
      const b = good.slice();
      b[i] = v;
      expect(parseArp(b)).toBeInstanceOf(WireError);
    }
    expect(parseArp(good.subarray(0, 27))).toBeInstanceOf(WireError);
  });
});

const ipHeader = fc.record({
  tos: u8, id: u16, df: fc.boolean(), mf: fc.boolean(), fragOff: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8),
  ttl: u8, proto: u8, src: u32, dst: u32,
});

describe('ipv4', () => {
  it('round-trips, and ignores link padding', () => {
    fc.assert(fc.property(ipHeader, bytes(1480), fc.integer({ min: 0, max: 40 }), (h, payload, pad) => {
      const d = emitIpv4(h, payload);
      const padded = new Uint8Array(d.length + pad);
      padded.set(d);
      const p = parseIpv4(padded);
      if (p instanceof WireError) throw new Error(String(p));
      expect({ ...h, totalLen: 20 + payload.length, hdrLen: 20 }).toEqual({
        tos: p.tos, id: p.id, df: p.df, mf: p.mf, fragOff: p.fragOff, ttl: p.ttl, proto: p.proto, src: p.src, dst: p.dst, totalLen: p.totalLen, hdrLen: p.hdrLen,
      });
      expect(p.payload).toEqual(payload);
    }));
  });
  it('skips options', () => {
    const d = emitIpv4({ tos: 0, id: 1, df: false, mf: false, fragOff: 0, ttl: 64, proto: 17, src: 1, dst: 2 }, new Uint8Array([9, 9]));
    const withOpt = new Uint8Array(d.length + 4);
    withOpt.set(d.subarray(0, 20));
    withOpt[0] = 0x46;
    withOpt.set([1, 1, 1, 0], 20); // NOP NOP NOP EOL
    withOpt.set(d.subarray(20), 24);
    withOpt[2] = 0; withOpt[3] = withOpt.length;
    withOpt[10] = 0; withOpt[11] = 0;
    const c = checksum(withOpt.subarray(0, 24));
    withOpt[10] = c >>> 8; withOpt[11] = c & 0xff;
    const p = parseIpv4(withOpt);
    if (p instanceof WireError) throw new Error(String(p));
    expect(p.hdrLen).toBe(24);
    expect(p.payload).toEqual(new Uint8Array([9, 9]));
  });
  it('rejects a flipped bit in the header', () => {
    fc.assert(fc.property(ipHeader, fc.integer({ min: 0, max: 159 }), (h, bit) => {
      const d = emitIpv4(h, new Uint8Array(8));
      d[bit >>> 3]! ^= 1 << (bit & 7);
      expect(parseIpv4(d)).toBeInstanceOf(WireError);
    }));
  });
});

describe('icmp', () => {
  it('round-trips', () => {
    fc.assert(fc.property(u8, u8, u32, bytes(600), (type, code, rest, data) => {
      expect(parseIcmp(emitIcmp({ type, code, rest, data }))).toEqual({ type, code, rest, data });
    }));
  });
  it('rejects a bad checksum', () => {
    const m = emitIcmp({ type: 8, code: 0, rest: 5, data: new Uint8Array([1, 2, 3]) });
    m[9]! ^= 0x40;
    expect(parseIcmp(m)).toBeInstanceOf(WireError);
  });
});

describe('udp', () => {
  it('round-trips with the pseudo-header checksum', () => {
    fc.assert(fc.property(u16, u16, bytes(2000), u32, u32, (sport, dport, payload, src, dst) => {
      const d = emitUdp({ sport, dport, payload }, src, dst);
      expect(parseUdp(d, src, dst)).toEqual({ sport, dport, payload });
      expect(emitUdpv(sport, dport, [payload.subarray(0, 3), payload.subarray(3)], src, dst)).toEqual(d);
    }));
  });
  it('a checksum of zero is never sent and zero means none', () => {
    fc.assert(fc.property(u16, u16, bytes(40), u32, u32, (sport, dport, payload, src, dst) => {
      const d = emitUdp({ sport, dport, payload }, src, dst);
      expect((d[6]! << 8) | d[7]!).not.toBe(0);
      d[6] = 0; d[7] = 0;
      expect(parseUdp(d, src, dst)).toEqual({ sport, dport, payload });
    }));
  });
  it('the wrong addresses fail the checksum', () => {
    const d = emitUdp({ sport: 1, dport: 2, payload: new Uint8Array([1]) }, 10, 20);
    expect(parseUdp(d, 10, 21)).toBeInstanceOf(WireError);
    expect(pseudoHeaderSum(1, 2, 17, 8)).toBe(1 + 2 + 17 + 8);
  });
});

describe('bad input', () => {
  it('no parser throws on arbitrary bytes', () => {
    fc.assert(fc.property(bytes(200), u32, u32, (b, s, d) => {
      parseEther(b); parseArp(b); parseIpv4(b); parseIcmp(b); parseUdp(b, s, d);
    }), { numRuns: 2000 });
  });
});

describe('pcap', () => {
  it('records round-trip through the reader', async () => {
    const { pcapGlobalHeader, pcapRecord, parsePcap } = await import('./pcap.ts');
    fc.assert(fc.property(fc.array(fc.tuple(bytes(200), fc.bigInt({ min: 0n, max: 4_000_000_000_000_000_000n })), { maxLength: 10 }), (recs) => {
      const parts = [pcapGlobalHeader(), ...recs.map(([f, t]) => pcapRecord(f, t))];
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) { all.set(p, o); o += p.length; }
      const r = parsePcap(all);
      expect(r?.frames.map((x) => [x.data, x.timeNs / 1000n])).toEqual(recs.map(([f, t]) => [f, t / 1000n]));
    }));
  });
});
