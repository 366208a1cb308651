/**
 * Packet capture of a kernel's interface to a pcap file (tshark, tcpdump
 * and Wireshark read it). The kernel hands every frame it sends or receives
 * on the interface to a tap; this host-side writer appends them to the file.
 *
 *     const cap = capture(k, 'eth0', '/tmp/eth0.pcap');
 *     ...
 *     await cap.stop();
 *
 * Or collect in memory with `captureBytes(k, 'eth0')` (what seeded tests
 * compare across runs).
 */
import * as fs from 'node:fs';
import type { BootedKernel } from './boot.ts';
import { netOf, pcapGlobalHeader, pcapRecord, type IfTap } from '../../net/index.ts';

export interface Capture {
  /** Frames recorded so far. */
  readonly frames: number;
  /** Detach the tap and finish the file. */
  stop(): Promise<void>;
}

function tapOn(k: BootedKernel, ifname: string, tap: IfTap): () => void {
  const ifp = netOf(k.kernel).ifnets.get(ifname);
  if (ifp === undefined) throw new Error(`capture: no interface '${ifname}' (have: ${[...netOf(k.kernel).ifnets.keys()].join(', ')})`);
  ifp.taps.add(tap);
  return () => ifp.taps.delete(tap);
}

/** Record every frame of `ifname` to a pcap file at `path` (host path). */
export function capture(k: BootedKernel, ifname: string, path: string): Capture {
  const fd = fs.openSync(path, 'w');
  fs.writeSync(fd, pcapGlobalHeader());
  let frames = 0;
  const untap = tapOn(k, ifname, (frame, _dir, timeNs) => {
    frames++;
    fs.writeSync(fd, pcapRecord(frame, timeNs));
  });
  return {
    get frames() { return frames; },
    async stop() {
      untap();
      fs.closeSync(fd);
    },
  };
}

/** Record in memory; `bytes()` gives the pcap file so far. */
export function captureBytes(k: BootedKernel, ifname: string): { bytes(): Uint8Array; stop(): void } {
  const parts: Uint8Array[] = [pcapGlobalHeader()];
  const untap = tapOn(k, ifname, (frame, _dir, timeNs) => { parts.push(pcapRecord(frame, timeNs)); });
  return {
    bytes() {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      let o = 0;
      for (const p of parts) { out.set(p, o); o += p.byteLength; }
      return out;
    },
    stop: untap,
  };
}
