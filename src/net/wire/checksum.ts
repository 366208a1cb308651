/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's
 * complement sum of the data taken as big-endian 16-bit words, an odd final
 * byte padded with zero. Sums are kept unfolded in a JS number (exact up to
 * 2^53, so any datagram sums without overflow) and folded at the end.
 */
import type { InAddr } from '../addr.ts';

/** Add bytes to a running (unfolded) sum. `odd` data at a word boundary only (callers sum whole headers). */
export function sum16(b: Uint8Array, initial = 0): number {
  let s = initial;
  const n = b.byteLength;
  let i = 0;
  const end8 = n - 7;
  for (; i < end8; i += 8) {
    s += ((b[i]! << 8) | b[i + 1]!) + ((b[i + 2]! << 8) | b[i + 3]!) + ((b[i + 4]! << 8) | b[i + 5]!) + ((b[i + 6]! << 8) | b[i + 7]!);
  }
  for (; i + 1 < n; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < n) s += b[i]! << 8;
  return s;
}

/** Fold a sum to 16 bits and complement it: the value that goes in a checksum field. */
export function foldChecksum(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

/** The checksum of bytes (a header with its checksum field zeroed, or ICMP). */
export function checksum(b: Uint8Array, initial = 0): number {
  return foldChecksum(sum16(b, initial));
}

/**
 * The TCP/UDP pseudo-header sum (RFC 793 §3.1, RFC 768): source, destination,
 * zero+protocol, and the transport length.
 */
export function pseudoHeaderSum(src: InAddr, dst: InAddr, proto: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length;
}
