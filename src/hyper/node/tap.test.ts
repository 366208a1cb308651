/**
 * The node host's UDP-carried interfaces without a TAP: two NodeHosts whose
 * interfaces point at each other's UDP port are one Ethernet cable, so two
 * kernels ping and exchange UDP over real loopback sockets.
 */
import { describe, expect, it } from 'vitest';
import * as dgram from 'node:dgram';
import { NodeHost } from './host.ts';
import { boot } from '../../frontends/library/boot.ts';
import { AF_INET, SOCK_DGRAM } from '../../net/index.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

describe('NodeHost UDP netifs', () => {
  it('carry frames between two kernels, one frame per datagram', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const ha = new NodeHost({ taps: { eth0: { localPort: pa, peerPort: pb } } });
    const hb = new NodeHost({ taps: { eth0: { localPort: pb, peerPort: pa, mac: '02:00:00:00:00:0b' } } });
    const a = await boot({ host: ha, components: ['kern', 'net'], net: { eth0: { virtif: true, addr: '10.9.0.1/24' } } });
    const b = await boot({ host: hb, components: ['kern', 'net'], net: { eth0: { virtif: true, addr: '10.9.0.2/24' } } });
    try {
      expect(ha.udpNetifs?.portsOf('eth0')).toEqual({ local: pa, peer: pb });
      const s = await b.sys.socket(AF_INET, SOCK_DGRAM, 0);
      await b.sys.bind(s, { family: AF_INET, addr: '0.0.0.0', port: 9 });
      const c = await a.sys.socket(AF_INET, SOCK_DGRAM, 0);
      const data = new Uint8Array(3000).map((_, i) => i);
      await a.sys.sendto(c, data, 0, { family: AF_INET, addr: '10.9.0.2', port: 9 });
      const buf = new Uint8Array(4000);
      const [n, from] = await b.sys.recvfrom(s, buf);
      expect(buf.subarray(0, n)).toEqual(data);
      expect(from).toMatchObject({ addr: '10.9.0.1' });
    } finally {
      await a.shutdown();
      await b.shutdown();
      ha.dispose();
      hb.dispose();
    }
  });
});
