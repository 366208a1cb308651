/**
 * The pcap capture file format (libpcap's classic format, as tcpdump,
 * tshark and Wireshark read it): a 24-byte global header (magic a1b2c3d4
 * written little-endian, version 2.4, snaplen, link type 1 = Ethernet), then
 * per frame a 16-byte record header (seconds, microseconds, captured length,
 * original length) and the bytes. Emit only: the kernel produces bytes, a
 * host-side writer puts them in a file.
 */

export const PCAP_MAGIC = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_SNAPLEN = 262144;

export function pcapGlobalHeader(snaplen = PCAP_SNAPLEN, linktype = LINKTYPE_ETHERNET): Uint8Array {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, PCAP_MAGIC, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setInt32(8, 0, true); // thiszone
  dv.setUint32(12, 0, true); // sigfigs
  dv.setUint32(16, snaplen, true);
  dv.setUint32(20, linktype, true);
  return b;
}

/** One record: header and (up to snaplen bytes of) the frame; time is wall-clock ns. */
export function pcapRecord(frame: Uint8Array, timeNs: bigint, snaplen = PCAP_SNAPLEN): Uint8Array {
  const cap = Math.min(frame.byteLength, snaplen);
  const b = new Uint8Array(16 + cap);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, Number(timeNs / 1_000_000_000n), true);
  dv.setUint32(4, Number((timeNs % 1_000_000_000n) / 1000n), true);
  dv.setUint32(8, cap, true);
  dv.setUint32(12, frame.byteLength, true);
  b.set(frame.subarray(0, cap), 16);
  return b;
}

/** Read a capture back (tests): the frames and their times. Null when the bytes are not a pcap file. */
export function parsePcap(b: Uint8Array): { frames: { timeNs: bigint; data: Uint8Array; origLen: number }[]; linktype: number } | null {
  if (b.byteLength < 24) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== PCAP_MAGIC) return null;
  const linktype = dv.getUint32(20, true);
  const frames: { timeNs: bigint; data: Uint8Array; origLen: number }[] = [];
  let o = 24;
  while (o + 16 <= b.byteLength) {
    const sec = dv.getUint32(o, true), usec = dv.getUint32(o + 4, true), cap = dv.getUint32(o + 8, true), orig = dv.getUint32(o + 12, true);
    if (o + 16 + cap > b.byteLength) return null;
    frames.push({ timeNs: BigInt(sec) * 1_000_000_000n + BigInt(usec) * 1000n, data: b.subarray(o + 16, o + 16 + cap), origLen: orig });
    o += 16 + cap;
  }
  return o === b.byteLength ? { frames, linktype } : null;
}
