/**
 * TCP header wire format: parse and emit (RFC 9293 §3.1), the options this
 * stack understands (RFC 9293 §3.2 MSS, RFC 7323 §2 window scale and §3
 * timestamps, RFC 2018 SACK-permitted and SACK blocks), and the checksum over
 * the IPv4 pseudo-header (RFC 9293 §3.1, "Checksum").
 *
 * `parseTcp` reads untrusted bytes once into a `TcpSegment` value or returns
 * a string saying what was wrong; it never throws. `emitTcp` writes a segment
 * back. Options are kept flat on the segment (no per-option objects) so the
 * per-segment path allocates one object plus the payload view.
 */
import { foldChecksum, pseudoHeaderSum, sum16 } from './checksum.ts';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

/** Minimum header length (no options), RFC 9293 §3.1 "Data Offset". */
export const TCP_HEADER_LEN = 20;
/** Largest header: data offset is 4 bits of 32-bit words. */
export const TCP_MAX_HEADER_LEN = 60;

// Option kinds, RFC 9293 §3.2 and the IANA registry.
const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WSCALE = 3;
const OPT_SACK_PERMITTED = 4;
const OPT_SACK = 5;
const OPT_TIMESTAMP = 8;

/** Most SACK blocks that fit in 40 option bytes (RFC 2018 §3: 4, or 3 with timestamps). */
export const TCP_MAX_SACK_BLOCKS = 4;

/** One parsed TCP segment (header fields, options, and the payload as a view). */
export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number; // u32
  ack: number; // u32
  flags: number; // TCP_* bits (the low 8 bits of the flags field)
  window: number; // u16, unscaled as on the wire
  urgent: number;
  /** MSS option value, or 0 if absent (RFC 9293 §3.7.1). */
  mss: number;
  /** Window-scale shift count, or -1 if absent (RFC 7323 §2.2). */
  wscale: number;
  /** SACK-permitted option present (RFC 2018 §2). */
  sackPermitted: boolean;
  /** Timestamps option present (RFC 7323 §3.2); tsVal/tsEcr are meaningful only then. */
  hasTimestamp: boolean;
  tsVal: number;
  tsEcr: number;
  /** SACK blocks as [left0, right0, left1, right1, …] (RFC 2018 §3), or null. */
  sack: number[] | null;
  payload: Uint8Array;
}

/** A segment with every option absent; fields to fill in before emitting. */
export function tcpSegment(init: Partial<TcpSegment> & { srcPort: number; dstPort: number }): TcpSegment {
  return {
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    urgent: 0,
    mss: 0,
    wscale: -1,
    sackPermitted: false,
    hasTimestamp: false,
    tsVal: 0,
    tsEcr: 0,
    sack: null,
    payload: EMPTY,
    ...init,
  };
}

const EMPTY = new Uint8Array(0);

/**
 * TCP checksum of `seg` (header and payload) with the IPv4 pseudo-header
 * (RFC 9293 §3.1: source, destination, zero, protocol 6, TCP length).
 * Returns the value to store; checking a received segment gives 0 when it is good.
 */
export function tcpChecksum(srcAddr: number, dstAddr: number, seg: Uint8Array, start = 0, end = seg.byteLength): number {
  const view = start === 0 && end === seg.byteLength ? seg : seg.subarray(start, end);
  return foldChecksum(sum16(view, pseudoHeaderSum(srcAddr, dstAddr, 6, end - start)));
}

function fixedOptionsLength(h: TcpSegment): number {
  let n = 0;
  if (h.mss > 0) n += 4;
  if (h.wscale >= 0) n += 4; // NOP + 3
  if (h.sackPermitted) n += h.hasTimestamp ? 2 : 4; // shares a word with timestamps
  if (h.hasTimestamp) n += h.sackPermitted ? 10 : 12; // NOP NOP + 10
  return n;
}

/** SACK blocks emitTcp writes: as many of h.sack as fit in the 40 option bytes (RFC 2018 §3). */
export function tcpSackBlocksEmitted(h: TcpSegment): number {
  if (h.sack === null) return 0;
  const room = Math.max(0, Math.floor((40 - fixedOptionsLength(h) - 4) / 8));
  return Math.min(h.sack.length >> 1, room);
}

/** Length of the options emitTcp writes for `h` (a multiple of 4, at most 40). */
export function tcpOptionsLength(h: TcpSegment): number {
  const blocks = tcpSackBlocksEmitted(h);
  return fixedOptionsLength(h) + (blocks > 0 ? 4 + 8 * blocks : 0); // NOP NOP kind len + blocks
}

/**
 * Parse a TCP segment. `srcAddr`/`dstAddr` (IPv4, u32) enable the checksum
 * check; pass `null` to skip it (as for segments already verified by hardware).
 */
export function parseTcp(bytes: Uint8Array, srcAddr: number | null = null, dstAddr: number | null = null): TcpSegment | string {
  const len = bytes.byteLength;
  if (len < TCP_HEADER_LEN) return `tcp: segment of ${len} bytes is shorter than the 20-byte header`;
  const off = (bytes[12]! >> 4) * 4;
  if (off < TCP_HEADER_LEN) return `tcp: data offset ${off} is below 20`;
  if (off > len) return `tcp: data offset ${off} exceeds the segment length ${len}`;
  if (srcAddr !== null && dstAddr !== null) {
    const c = tcpChecksum(srcAddr, dstAddr, bytes);
    if (c !== 0) return `tcp: bad checksum (residue 0x${c.toString(16)})`;
  }
  const seg: TcpSegment = {
    srcPort: (bytes[0]! << 8) | bytes[1]!,
    dstPort: (bytes[2]! << 8) | bytes[3]!,
    seq: ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0,
    ack: ((bytes[8]! << 24) | (bytes[9]! << 16) | (bytes[10]! << 8) | bytes[11]!) >>> 0,
    flags: bytes[13]!,
    window: (bytes[14]! << 8) | bytes[15]!,
    urgent: (bytes[18]! << 8) | bytes[19]!,
    mss: 0,
    wscale: -1,
    sackPermitted: false,
    hasTimestamp: false,
    tsVal: 0,
    tsEcr: 0,
    sack: null,
    payload: bytes.subarray(off),
  };
  // RFC 9293 §3.2: options; unknown kinds with a sane length are skipped,
  // a length that runs past the header or is below 2 ends the segment as malformed.
  let i = TCP_HEADER_LEN;
  while (i < off) {
    const kind = bytes[i]!;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= off) return `tcp: option ${kind} at ${i} has no length byte`;
    const olen = bytes[i + 1]!;
    if (olen < 2 || i + olen > off) return `tcp: option ${kind} at ${i} has bad length ${olen}`;
    switch (kind) {
      case OPT_MSS:
        if (olen !== 4) return `tcp: MSS option length ${olen}, expected 4`;
        seg.mss = (bytes[i + 2]! << 8) | bytes[i + 3]!;
        break;
      case OPT_WSCALE:
        if (olen !== 3) return `tcp: window scale option length ${olen}, expected 3`;
        seg.wscale = bytes[i + 2]!;
        break;
      case OPT_SACK_PERMITTED:
        if (olen !== 2) return `tcp: SACK-permitted option length ${olen}, expected 2`;
        seg.sackPermitted = true;
        break;
      case OPT_SACK: {
        if ((olen - 2) % 8 !== 0 || olen === 2) return `tcp: SACK option length ${olen} is not 2 + 8n`;
        const blocks: number[] = [];
        for (let j = i + 2; j < i + olen; j += 4) {
          blocks.push(((bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!) >>> 0);
        }
        seg.sack = blocks;
        break;
      }
      case OPT_TIMESTAMP:
        if (olen !== 10) return `tcp: timestamp option length ${olen}, expected 10`;
        seg.hasTimestamp = true;
        seg.tsVal = ((bytes[i + 2]! << 24) | (bytes[i + 3]! << 16) | (bytes[i + 4]! << 8) | bytes[i + 5]!) >>> 0;
        seg.tsEcr = ((bytes[i + 6]! << 24) | (bytes[i + 7]! << 16) | (bytes[i + 8]! << 8) | bytes[i + 9]!) >>> 0;
        break;
      default:
        break; // unknown option: skipped by its length
    }
    i += olen;
  }
  return seg;
}

function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}

/**
 * Write `h` (header, options, then `h.payload`) into `out` at `at`, and fill in
 * the checksum for the given IPv4 addresses. `out` must have room for
 * tcpEmitLength(h) bytes from `at`. Returns the number of bytes written.
 */
export function emitTcpInto(h: TcpSegment, srcAddr: number, dstAddr: number, out: Uint8Array, at: number): number {
  const optLen = tcpOptionsLength(h);
  const hl = TCP_HEADER_LEN + optLen;
  const total = hl + h.payload.byteLength;
  const b = out;
  b[at] = h.srcPort >>> 8;
  b[at + 1] = h.srcPort & 0xff;
  b[at + 2] = h.dstPort >>> 8;
  b[at + 3] = h.dstPort & 0xff;
  put32(b, at + 4, h.seq >>> 0);
  put32(b, at + 8, h.ack >>> 0);
  b[at + 12] = (hl / 4) << 4;
  b[at + 13] = h.flags & 0xff;
  b[at + 14] = (h.window >>> 8) & 0xff;
  b[at + 15] = h.window & 0xff;
  b[at + 16] = 0;
  b[at + 17] = 0;
  b[at + 18] = h.urgent >>> 8;
  b[at + 19] = h.urgent & 0xff;
  let i = at + TCP_HEADER_LEN;
  if (h.mss > 0) {
    b[i++] = OPT_MSS;
    b[i++] = 4;
    b[i++] = h.mss >>> 8;
    b[i++] = h.mss & 0xff;
  }
  if (h.wscale >= 0) {
    b[i++] = OPT_NOP;
    b[i++] = OPT_WSCALE;
    b[i++] = 3;
    b[i++] = h.wscale;
  }
  if (h.sackPermitted && h.hasTimestamp) {
    // The layout Linux sends: SACK-permitted, then timestamps, in 12 bytes.
    b[i++] = OPT_SACK_PERMITTED;
    b[i++] = 2;
  } else if (h.sackPermitted) {
    b[i++] = OPT_NOP;
    b[i++] = OPT_NOP;
    b[i++] = OPT_SACK_PERMITTED;
    b[i++] = 2;
  } else if (h.hasTimestamp) {
    b[i++] = OPT_NOP;
    b[i++] = OPT_NOP;
  }
  if (h.hasTimestamp) {
    b[i++] = OPT_TIMESTAMP;
    b[i++] = 10;
    put32(b, i, h.tsVal >>> 0);
    put32(b, i + 4, h.tsEcr >>> 0);
    i += 8;
  }
  const blocks = tcpSackBlocksEmitted(h);
  if (blocks > 0) {
    b[i++] = OPT_NOP;
    b[i++] = OPT_NOP;
    b[i++] = OPT_SACK;
    b[i++] = 2 + 8 * blocks;
    for (let j = 0; j < 2 * blocks; j += 2) {
      put32(b, i, h.sack![j]! >>> 0);
      put32(b, i + 4, h.sack![j + 1]! >>> 0);
      i += 8;
    }
  }
  b.set(h.payload, i);
  const c = tcpChecksum(srcAddr, dstAddr, b, at, at + total);
  b[at + 16] = c >>> 8;
  b[at + 17] = c & 0xff;
  return total;
}

/** Bytes emitTcpInto writes for `h`. */
export function tcpEmitLength(h: TcpSegment): number {
  return TCP_HEADER_LEN + tcpOptionsLength(h) + h.payload.byteLength;
}

/** Emit `h` into a fresh buffer. */
export function emitTcp(h: TcpSegment, srcAddr: number, dstAddr: number): Uint8Array {
  const out = new Uint8Array(tcpEmitLength(h));
  emitTcpInto(h, srcAddr, dstAddr, out, 0);
  return out;
}

/** Flag bits as text ("SYN|ACK"), for traces and errors. */
export function tcpFlagsText(flags: number): string {
  const names: string[] = [];
  if (flags & TCP_FIN) names.push('FIN');
  if (flags & TCP_SYN) names.push('SYN');
  if (flags & TCP_RST) names.push('RST');
  if (flags & TCP_PSH) names.push('PSH');
  if (flags & TCP_ACK) names.push('ACK');
  if (flags & TCP_URG) names.push('URG');
  if (flags & TCP_ECE) names.push('ECE');
  if (flags & TCP_CWR) names.push('CWR');
  return names.length ? names.join('|') : '-';
}
