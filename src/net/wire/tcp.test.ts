/**
 * TCP wire format: emit → parse round trip, options, checksum against an
 * independent pseudo-header computation, and mutated bytes that never throw.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  emitTcp,
  parseTcp,
  tcpChecksum,
  tcpSackBlocksEmitted,
  tcpSegment,
  TCP_ACK,
  TCP_SYN,
  type TcpSegment,
} from './tcp.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });

const segArb: fc.Arbitrary<TcpSegment> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0xff }),
  window: u16,
  urgent: u16,
  mss: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffff })),
  wscale: fc.integer({ min: -1, max: 14 }),
  sackPermitted: fc.boolean(),
  hasTimestamp: fc.boolean(),
  tsVal: u32,
  tsEcr: u32,
  sack: fc.oneof(fc.constant(null), fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 4 }).map((b) => b.flat())),
  payload: fc.uint8Array({ maxLength: 64 }),
});

/** Checksum by the book: build the pseudo-header and the segment, sum 16-bit words. */
function modelChecksum(src: number, dst: number, seg: Uint8Array): number {
  const buf = new Uint8Array(12 + seg.length + (seg.length & 1));
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, src);
  dv.setUint32(4, dst);
  buf[9] = 6;
  dv.setUint16(10, seg.length);
  buf.set(seg, 12);
  let s = 0;
  for (let i = 0; i < buf.length; i += 2) s += dv.getUint16(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const SRC = 0x0a000001;
const DST = 0x0a000002;

describe('tcp wire', () => {
  it('round-trips every field and option (property)', () => {
    fc.assert(
      fc.property(segArb, u32, u32, (seg, src, dst) => {
        const bytes = emitTcp(seg, src, dst);
        const back = parseTcp(bytes, src, dst);
        if (typeof back === 'string') throw new Error(back);
        const blocks = tcpSackBlocksEmitted(seg);
        const want = {
          ...seg,
          sack: blocks > 0 ? seg.sack!.slice(0, 2 * blocks) : null,
          tsVal: seg.hasTimestamp ? seg.tsVal : 0,
          tsEcr: seg.hasTimestamp ? seg.tsEcr : 0,
        };
        expect({ ...back, payload: Array.from(back.payload) }).toEqual({ ...want, payload: Array.from(seg.payload) });
        expect(bytes.length).toBeLessThanOrEqual(60 + seg.payload.length);
      }),
      { numRuns: 300 },
    );
  });

  it('computes the checksum the pseudo-header way (property)', () => {
    fc.assert(
      fc.property(segArb, u32, u32, (seg, src, dst) => {
        const bytes = emitTcp(seg, src, dst);
        const stored = (bytes[16]! << 8) | bytes[17]!;
        bytes[16] = 0;
        bytes[17] = 0;
        expect(stored).toBe(modelChecksum(src, dst, bytes));
        expect(tcpChecksum(src, dst, bytes)).toBe(stored);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a corrupted checksum and a truncated header', () => {
    const bytes = emitTcp(tcpSegment({ srcPort: 1, dstPort: 2, flags: TCP_SYN, mss: 1460 }), SRC, DST);
    expect(typeof parseTcp(bytes, SRC, DST)).toBe('object');
    bytes[21] ^= 0x40;
    expect(parseTcp(bytes, SRC, DST)).toMatch(/checksum/);
    expect(parseTcp(bytes.subarray(0, 19))).toMatch(/shorter/);
  });

  it('skips unknown options and stops at EOL', () => {
    const seg = emitTcp(tcpSegment({ srcPort: 1, dstPort: 2, flags: TCP_ACK }), SRC, DST);
    // Rebuild with 12 option bytes: unknown kind 30 len 4, MSS, EOL, garbage.
    const b = new Uint8Array(32);
    b.set(seg.subarray(0, 20));
    b[12] = 8 << 4;
    b.set([30, 4, 0xde, 0xad, 2, 4, 0x05, 0xb4, 0, 99, 99, 99], 20);
    const p = parseTcp(b);
    if (typeof p === 'string') throw new Error(p);
    expect(p.mss).toBe(1460);
    expect(p.payload.length).toBe(0);
  });

  it('reports bad option lengths as errors', () => {
    const b = new Uint8Array(24);
    b[12] = 6 << 4;
    b.set([2, 3, 0, 0], 20); // MSS with length 3
    expect(parseTcp(b)).toMatch(/MSS/);
    b.set([5, 2, 0, 0], 20); // empty SACK
    expect(parseTcp(b)).toMatch(/SACK/);
    b.set([7, 1, 0, 0], 20); // length below 2
    expect(parseTcp(b)).toMatch(/bad length/);
    b.set([7, 9, 0, 0], 20); // runs past the header
    expect(parseTcp(b)).toMatch(/bad length/);
  });

  it('never throws on mutated or random bytes (property)', () => {
    fc.assert(
      fc.property(
        segArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (seg, muts, cut) => {
          const bytes = emitTcp(seg, SRC, DST);
          for (const [at, v] of muts) bytes[at % bytes.length] = v;
          const view = bytes.subarray(0, cut % (bytes.length + 1));
          const r = parseTcp(view, SRC, DST);
          const r2 = parseTcp(view);
          expect(typeof r === 'string' || typeof r === 'object').toBe(true);
          if (typeof r2 === 'object') expect(r2.payload.length).toBeLessThanOrEqual(view.length);
        },
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        parseTcp(b);
        parseTcp(b, SRC, DST);
      }),
      { numRuns: 300 },
    );
  });
});
