/**
 * Ethernet II framing (IEEE 802.3 with an EtherType, RFC 894): destination
 * MAC, source MAC, EtherType, payload. No FCS (the NIC strips it) and no
 * 802.1Q tags. Frames shorter than 60 bytes are padded on send (802.3
 * minimum frame without FCS); received padding stays in the payload for the
 * upper layer to trim by its own length field.
 */
import { WireError } from './wire.ts';

export const ETHER_HDR_LEN = 14;
/** Minimum frame without the FCS (IEEE 802.3 §3.2.8). */
export const ETHER_MIN_LEN = 60;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;

export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export interface EtherFrame {
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly type: number;
  readonly payload: Uint8Array;
}

export function parseEther(f: Uint8Array): EtherFrame | WireError {
  if (f.byteLength < ETHER_HDR_LEN) return new WireError('ether', `frame of ${f.byteLength} bytes is shorter than the header`);
  const type = (f[12]! << 8) | f[13]!;
  // Values up to 1500 are an 802.3 length (LLC/SNAP follows): not carried here.
  if (type < 0x0600) return new WireError('ether', `802.3 length field ${type}, LLC frames are not supported`);
  return { dst: f.subarray(0, 6), src: f.subarray(6, 12), type, payload: f.subarray(ETHER_HDR_LEN) };
}

/** Write the header at the start of buf (which holds the payload from byte 14). */
export function emitEtherHeader(buf: Uint8Array, dst: Uint8Array, src: Uint8Array, type: number): void {
  buf.set(dst, 0);
  buf.set(src, 6);
  buf[12] = type >>> 8;
  buf[13] = type & 0xff;
}

/** A whole frame: header + payload, padded to the minimum length. */
export function emitEther(e: { dst: Uint8Array; src: Uint8Array; type: number; payload: Uint8Array }): Uint8Array {
  const buf = new Uint8Array(Math.max(ETHER_MIN_LEN, ETHER_HDR_LEN + e.payload.byteLength));
  emitEtherHeader(buf, e.dst, e.src, e.type);
  buf.set(e.payload, ETHER_HDR_LEN);
  return buf;
}

export function isBroadcastMac(m: Uint8Array): boolean {
  return (m[0]! & m[1]! & m[2]! & m[3]! & m[4]! & m[5]!) === 0xff;
}

export function isMulticastMac(m: Uint8Array): boolean {
  return (m[0]! & 1) === 1;
}

export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4] && a[5] === b[5];
}

export function formatMac(m: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + (m[i] ?? 0).toString(16).padStart(2, '0');
  return s;
}

export function parseMac(s: string): Uint8Array | null {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(s);
  if (m === null) return null;
  return new Uint8Array(m.slice(1).map((x) => parseInt(x, 16)));
}
