/**
 * ARP for IPv4 over Ethernet (RFC 826): hardware type 1, protocol type
 * 0x0800, address lengths 6 and 4, operation request (1) or reply (2).
 * Anything else is a WireError.
 */
import type { InAddr } from '../addr.ts';
import { ETHERTYPE_IPV4 } from './ether.ts';
import { WireError } from './wire.ts';

export const ARP_LEN = 28;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

export interface ArpPacket {
  readonly op: number;
  readonly sha: Uint8Array;
  readonly spa: InAddr;
  readonly tha: Uint8Array;
  readonly tpa: InAddr;
}

export function parseArp(b: Uint8Array): ArpPacket | WireError {
  if (b.byteLength < ARP_LEN) return new WireError('arp', `${b.byteLength} bytes, need ${ARP_LEN}`);
  const dv = new DataView(b.buffer, b.byteOffset, ARP_LEN);
  const htype = dv.getUint16(0), ptype = dv.getUint16(2), hlen = b[4]!, plen = b[5]!, op = dv.getUint16(6);
  if (htype !== 1) return new WireError('arp', `hardware type ${htype}, only Ethernet (1)`);
  if (ptype !== ETHERTYPE_IPV4) return new WireError('arp', `protocol type 0x${ptype.toString(16)}, only IPv4`);
  if (hlen !== 6 || plen !== 4) return new WireError('arp', `address lengths ${hlen}/${plen}, need 6/4`);
  if (op !== ARPOP_REQUEST && op !== ARPOP_REPLY) return new WireError('arp', `operation ${op}`);
  return { op, sha: b.slice(8, 14), spa: dv.getUint32(14), tha: b.slice(18, 24), tpa: dv.getUint32(24) };
}

export function emitArp(a: ArpPacket): Uint8Array {
  const b = new Uint8Array(ARP_LEN);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 1);
  dv.setUint16(2, ETHERTYPE_IPV4);
  b[4] = 6;
  b[5] = 4;
  dv.setUint16(6, a.op);
  b.set(a.sha, 8);
  dv.setUint32(14, a.spa);
  b.set(a.tha, 18);
  dv.setUint32(24, a.tpa);
  return b;
}
