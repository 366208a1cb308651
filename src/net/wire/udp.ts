/**
 * The UDP header (RFC 768): source port, destination port, length (header +
 * data, ≥ 8), checksum over the pseudo-header (source, destination, zero,
 * protocol 17, UDP length), header and data. A received checksum of 0 means
 * the sender computed none (allowed for IPv4); a computed 0 is sent as
 * 0xffff.
 */
import type { InAddr } from '../addr.ts';
import { foldChecksum, pseudoHeaderSum, sum16 } from './checksum.ts';
import { WireError } from './wire.ts';

export const UDP_HDR_LEN = 8;
const IPPROTO_UDP = 17;

export interface UdpDatagram {
  readonly sport: number;
  readonly dport: number;
  /** The data (a view), trimmed to the UDP length. */
  readonly payload: Uint8Array;
}

/** Parse with the addresses of the IP header (for the pseudo-header checksum). */
export function parseUdp(b: Uint8Array, src: InAddr, dst: InAddr): UdpDatagram | WireError {
  if (b.byteLength < UDP_HDR_LEN) return new WireError('udp', `${b.byteLength} bytes, shorter than a header`);
  const len = (b[4]! << 8) | b[5]!;
  if (len < UDP_HDR_LEN || len > b.byteLength) return new WireError('udp', `length ${len} with ${b.byteLength} bytes received`);
  const ck = (b[6]! << 8) | b[7]!;
  const d = b.subarray(0, len);
  if (ck !== 0 && foldChecksum(sum16(d, pseudoHeaderSum(src, dst, IPPROTO_UDP, len))) !== 0) return new WireError('udp', 'bad checksum');
  return { sport: (b[0]! << 8) | b[1]!, dport: (b[2]! << 8) | b[3]!, payload: b.subarray(UDP_HDR_LEN, len) };
}

/** A whole UDP datagram with its checksum. */
export function emitUdp(u: { sport: number; dport: number; payload: Uint8Array }, src: InAddr, dst: InAddr): Uint8Array {
  const len = UDP_HDR_LEN + u.payload.byteLength;
  const b = new Uint8Array(len);
  b[0] = u.sport >>> 8; b[1] = u.sport & 0xff;
  b[2] = u.dport >>> 8; b[3] = u.dport & 0xff;
  b[4] = len >>> 8; b[5] = len & 0xff;
  b.set(u.payload, UDP_HDR_LEN);
  let c = foldChecksum(sum16(b, pseudoHeaderSum(src, dst, IPPROTO_UDP, len)));
  if (c === 0) c = 0xffff;
  b[6] = c >>> 8; b[7] = c & 0xff;
  return b;
}

/** Gather form: header + the concatenation of parts (sendmsg's iovec). */
export function emitUdpv(sport: number, dport: number, parts: readonly Uint8Array[], src: InAddr, dst: InAddr): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  if (parts.length === 1) return emitUdp({ sport, dport, payload: parts[0]! }, src, dst);
  const payload = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { payload.set(p, o); o += p.byteLength; }
  return emitUdp({ sport, dport, payload }, src, dst);
}
