/**
 * The IPv4 header (RFC 791 §3.1):
 *
 *    0                   1                   2                   3
 *   |Version|  IHL  |Type of Service|          Total Length         |
 *   |         Identification        |Flags|      Fragment Offset    |
 *   |  Time to Live |    Protocol   |         Header Checksum       |
 *   |                       Source Address                          |
 *   |                    Destination Address                        |
 *   |                    Options (IHL > 5)          |    Padding    |
 *
 * parse checks version 4, IHL ≥ 5, the total length against what arrived
 * (bytes past it are link padding and are dropped), and the header checksum
 * (RFC 1071). Options are skipped (RFC 1122 §3.2.1.8 lets a host ignore the
 * ones it does not implement). emit writes a 20-byte header without options.
 */
import type { InAddr } from '../addr.ts';
import { checksum } from './checksum.ts';
import { WireError } from './wire.ts';

export const IPV4_HDR_LEN = 20;
/** Largest datagram (RFC 791: Total Length is 16 bits). */
export const IP_MAXPACKET = 65535;
/** Every host must accept datagrams of this size, reassembled (RFC 791 §3.1). */
export const IP_MIN_MTU = 68;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
const IP_RF = 0x8000;

export interface Ipv4Header {
  readonly tos: number;
  /** Header plus payload, in bytes. */
  readonly totalLen: number;
  readonly id: number;
  readonly df: boolean;
  readonly mf: boolean;
  /** Offset of this fragment's data in the original datagram, in bytes (a multiple of 8). */
  readonly fragOff: number;
  readonly ttl: number;
  readonly proto: number;
  readonly src: InAddr;
  readonly dst: InAddr;
  /** 20 + options. */
  readonly hdrLen: number;
}

export interface Ipv4Packet extends Ipv4Header {
  /** The bytes after the header, up to totalLen (a view into the frame). */
  readonly payload: Uint8Array;
  /** Header + payload, without link padding (a view). */
  readonly datagram: Uint8Array;
}

export function parseIpv4(b: Uint8Array): Ipv4Packet | WireError {
  if (b.byteLength < IPV4_HDR_LEN) return new WireError('ipv4', `${b.byteLength} bytes, shorter than a header`);
  const vihl = b[0]!;
  if (vihl >>> 4 !== 4) return new WireError('ipv4', `version ${vihl >>> 4}`);
  const hdrLen = (vihl & 0xf) * 4;
  if (hdrLen < IPV4_HDR_LEN) return new WireError('ipv4', `header length ${hdrLen}`);
  const totalLen = (b[2]! << 8) | b[3]!;
  if (totalLen < hdrLen) return new WireError('ipv4', `total length ${totalLen} < header length ${hdrLen}`);
  if (totalLen > b.byteLength) return new WireError('ipv4', `total length ${totalLen} > ${b.byteLength} bytes received`);
  const hdr = b.subarray(0, hdrLen);
  if (checksum(hdr) !== 0) return new WireError('ipv4', 'bad header checksum');
  const ff = (b[6]! << 8) | b[7]!;
  if ((ff & IP_RF) !== 0) return new WireError('ipv4', 'reserved flag set');
  const dv = new DataView(b.buffer, b.byteOffset, IPV4_HDR_LEN);
  return {
    tos: b[1]!,
    totalLen,
    id: (b[4]! << 8) | b[5]!,
    df: (ff & IP_DF) !== 0,
    mf: (ff & IP_MF) !== 0,
    fragOff: (ff & 0x1fff) * 8,
    ttl: b[8]!,
    proto: b[9]!,
    src: dv.getUint32(12),
    dst: dv.getUint32(16),
    hdrLen,
    payload: b.subarray(hdrLen, totalLen),
    datagram: b.subarray(0, totalLen),
  };
}

/** Write a 20-byte header (no options) at buf[off..off+20], checksum included. */
export function emitIpv4Header(buf: Uint8Array, off: number, h: Omit<Ipv4Header, 'hdrLen'>): void {
  buf[off] = 0x45;
  buf[off + 1] = h.tos;
  buf[off + 2] = h.totalLen >>> 8;
  buf[off + 3] = h.totalLen & 0xff;
  buf[off + 4] = h.id >>> 8;
  buf[off + 5] = h.id & 0xff;
  const ff = (h.df ? IP_DF : 0) | (h.mf ? IP_MF : 0) | ((h.fragOff >>> 3) & 0x1fff);
  buf[off + 6] = ff >>> 8;
  buf[off + 7] = ff & 0xff;
  buf[off + 8] = h.ttl;
  buf[off + 9] = h.proto;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  const s = h.src, d = h.dst;
  buf[off + 12] = s >>> 24; buf[off + 13] = (s >>> 16) & 0xff; buf[off + 14] = (s >>> 8) & 0xff; buf[off + 15] = s & 0xff;
  buf[off + 16] = d >>> 24; buf[off + 17] = (d >>> 16) & 0xff; buf[off + 18] = (d >>> 8) & 0xff; buf[off + 19] = d & 0xff;
  const c = checksum(buf.subarray(off, off + IPV4_HDR_LEN));
  buf[off + 10] = c >>> 8;
  buf[off + 11] = c & 0xff;
}

/** A whole datagram: header + payload. */
export function emitIpv4(h: Omit<Ipv4Header, 'hdrLen' | 'totalLen'>, payload: Uint8Array): Uint8Array {
  const buf = new Uint8Array(IPV4_HDR_LEN + payload.byteLength);
  emitIpv4Header(buf, 0, { ...h, totalLen: buf.byteLength });
  buf.set(payload, IPV4_HDR_LEN);
  return buf;
}
