/**
 * Network interfaces of the node host carried as UDP datagrams on loopback,
 * one Ethernet frame per datagram (rump's virtif over a socket). With a TAP
 * name, the host starts `socat` to bridge the datagrams to a TAP device
 * (socat -b 65536 TUN[:ADDR/P],tun-type=tap,tun-name=NAME,iff-no-pi,iff-up
 * UDP4-DATAGRAM:127.0.0.1:OURS,bind=127.0.0.1:THEIRS) and waits for the
 * device to appear; without one, the caller bridges `localPort`/`peerPort`
 * itself.
 *
 * socat runs in the host's network namespace; run the process inside the
 * namespace the TAP should live in. The TAP has no checksum offload: the
 * kernel's checksums are what Linux checks.
 */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import type { HostErrno, HostNetif } from '../types.ts';

const ENXIO = -6, EEXIST = -17, EIO = -5, ETIMEDOUT = -110;

export interface UdpNetifSpec {
  /** TAP device to create through socat (e.g. "ak0"); omit to bridge peerPort yourself. */
  tap?: string;
  /** Address and prefix for the host side of the TAP ("10.0.0.1/24"); none by default. */
  hostAddr?: string;
  /** The UDP port the bridge sends to us (0: any free one). */
  localPort?: number;
  /** The UDP port of the bridge (0 with a TAP: a free one is picked). */
  peerPort?: number;
  /** MTU reported to the kernel (default 1500). */
  mtu?: number;
  /** MAC of the kernel's interface ("02:..."); random locally administered by default. */
  mac?: string;
  /** socat binary (default "socat"). */
  socat?: string;
}

interface Port {
  sock: dgram.Socket;
  peerPort: number;
  child: ChildProcess | null;
  info: HostNetif;
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function parseMac(s: string): Uint8Array | null {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(s);
  return m ? new Uint8Array(m.slice(1).map((x) => parseInt(x, 16))) : null;
}

async function waitForDevice(name: string, child: ChildProcess, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (fs.existsSync(`/sys/class/net/${name}`)) return true;
    if (child.exitCode !== null) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** The netif provider NodeHost uses for `taps`. */
export class UdpNetifs {
  private readonly specs: Record<string, UdpNetifSpec>;
  private readonly ports = new Map<string, Port>();
  /** socat's stderr, per interface (for error messages). */
  readonly logs = new Map<string, string>();

  constructor(specs: Record<string, UdpNetifSpec>) {
    this.specs = specs;
  }

  has(name: string): boolean {
    return name in this.specs;
  }

  async create(name: string, deliver: (frame: Uint8Array) => void): Promise<HostNetif | HostErrno> {
    const spec = this.specs[name];
    if (spec === undefined) return ENXIO;
    if (this.ports.has(name)) return EEXIST;
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(spec.localPort ?? 0, '127.0.0.1', () => { sock.off('error', reject); resolve(); });
      });
    } catch {
      sock.close();
      return EIO;
    }
    const local = sock.address().port;
    let peerPort = spec.peerPort ?? 0;
    let child: ChildProcess | null = null;
    if (spec.tap !== undefined) {
      if (peerPort === 0) peerPort = await freeUdpPort();
      const tun = `TUN${spec.hostAddr ? `:${spec.hostAddr}` : ''},tun-type=tap,tun-name=${spec.tap},iff-no-pi,iff-up`;
      child = spawn(spec.socat ?? 'socat', ['-b', '65536', tun, `UDP4-DATAGRAM:127.0.0.1:${local},bind=127.0.0.1:${peerPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr?.on('data', (b: Buffer) => { log += b.toString(); this.logs.set(name, log.slice(-4000)); });
      child.on('error', (e) => { log += String(e); this.logs.set(name, log); });
      if (!(await waitForDevice(spec.tap, child, 5000))) {
        child.kill('SIGKILL');
        sock.close();
        return child.exitCode === null ? ETIMEDOUT : ENXIO;
      }
    }
    const mac = spec.mac !== undefined ? parseMac(spec.mac) : null;
    const m = mac ?? randomFillSync(new Uint8Array(6));
    if (mac === null) m[0] = (m[0]! & 0xfe) | 0x02;
    const info: HostNetif = { name, mtu: spec.mtu ?? 1500, mac: m };
    sock.on('message', (msg: Buffer) => deliver(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength)));
    sock.unref();
    this.ports.set(name, { sock, peerPort, child, info });
    return info;
  }

  send(name: string, frame: Uint8Array): void {
    const p = this.ports.get(name);
    if (p === undefined || p.peerPort === 0) return;
    p.sock.send(frame, p.peerPort, '127.0.0.1');
  }

  async destroy(name: string): Promise<HostErrno> {
    const p = this.ports.get(name);
    if (p === undefined) return ENXIO;
    this.ports.delete(name);
    p.sock.close();
    if (p.child !== null && p.child.exitCode === null) {
      const exited = new Promise<void>((r) => p.child!.once('exit', () => r()));
      p.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
    return 0;
  }

  /** The UDP ports of an attached interface (for a caller that bridges it itself). */
  portsOf(name: string): { local: number; peer: number } | null {
    const p = this.ports.get(name);
    return p ? { local: p.sock.address().port, peer: p.peerPort } : null;
  }

  /** Stop every bridge synchronously (process exit). */
  killAll(): void {
    for (const p of this.ports.values()) {
      try { p.sock.close(); } catch { /* already closed */ }
      if (p.child !== null && p.child.exitCode === null) p.child.kill('SIGKILL');
    }
    this.ports.clear();
  }
}
