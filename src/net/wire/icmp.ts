/**
 * ICMP for IPv4 (RFC 792): type, code, checksum over the whole message, a
 * 4-byte type-specific word ("rest": echo id+sequence, the next-hop MTU of
 * a fragmentation-needed message (RFC 1191 §4), a parameter-problem
 * pointer), then data (echo payload, or the quoted IP header + 8 bytes of an
 * error).
 */
import { checksum } from './checksum.ts';
import { WireError } from './wire.ts';

export const ICMP_HDR_LEN = 8;
export const ICMP_ECHOREPLY = 0;
export const ICMP_UNREACH = 3;
export const ICMP_SOURCEQUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIMXCEED = 11;
export const ICMP_PARAMPROB = 12;
export const ICMP_TSTAMP = 13;

// Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).
export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_NEEDFRAG = 4;
export const ICMP_UNREACH_SRCFAIL = 5;
export const ICMP_UNREACH_FILTER_PROHIB = 13;
// Time exceeded codes.
export const ICMP_TIMXCEED_INTRANS = 0;
export const ICMP_TIMXCEED_REASS = 1;

export interface IcmpMessage {
  readonly type: number;
  readonly code: number;
  /** Bytes 4..7 as a big-endian 32-bit word. */
  readonly rest: number;
  readonly data: Uint8Array;
}

/** True for the error types whose data quotes an offending datagram. */
export function isIcmpError(type: number): boolean {
  return type === ICMP_UNREACH || type === ICMP_SOURCEQUENCH || type === ICMP_REDIRECT || type === ICMP_TIMXCEED || type === ICMP_PARAMPROB;
}

export function parseIcmp(b: Uint8Array): IcmpMessage | WireError {
  if (b.byteLength < ICMP_HDR_LEN) return new WireError('icmp', `${b.byteLength} bytes, shorter than a header`);
  if (checksum(b) !== 0) return new WireError('icmp', 'bad checksum');
  return { type: b[0]!, code: b[1]!, rest: ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0, data: b.subarray(ICMP_HDR_LEN) };
}

export function emitIcmp(m: IcmpMessage): Uint8Array {
  const b = new Uint8Array(ICMP_HDR_LEN + m.data.byteLength);
  b[0] = m.type;
  b[1] = m.code;
  b[4] = m.rest >>> 24;
  b[5] = (m.rest >>> 16) & 0xff;
  b[6] = (m.rest >>> 8) & 0xff;
  b[7] = m.rest & 0xff;
  b.set(m.data, ICMP_HDR_LEN);
  const c = checksum(b);
  b[2] = c >>> 8;
  b[3] = c & 0xff;
  return b;
}

/** Echo identifier and sequence number from `rest`. */
export function echoIdSeq(rest: number): { id: number; seq: number } {
  return { id: rest >>> 16, seq: rest & 0xffff };
}
