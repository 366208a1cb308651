import { describe, expect, it } from 'vitest';
import { SimHost } from '../hyper/sim/host.ts';
import { SimWorld } from '../hyper/sim/world.ts';
import { vfsComponent } from '../vfs/vfs_component.ts';
import { tmpfsComponent } from '../vfs/tmpfs.ts';
import { procfsComponent } from '../vfs/procfs.ts';
import { O_RDONLY } from '../kern/constants.ts';
import { busAttach, EtherBus } from './iface/if_bus.ts';
import { ifConfigure } from './iface/config.ts';
import { AF_INET, AF_UNIX, SOCK_DGRAM, SOCK_STREAM } from './index.ts';
import { hexAddr } from './procnet.ts';
import { netKernel, type NetSys } from './testkit.ts';
import { ip4 } from './addr.ts';

type Sys = NetSys & { open(p: string, f: number): Promise<number>; getdents64?: unknown; mkdir(p: string, m: number): Promise<void> };

async function cat(sys: Sys, path: string): Promise<string> {
  const fd = await sys.open(path, O_RDONLY);
  const buf = new Uint8Array(65536);
  const n = await sys.read(fd, buf);
  await sys.close(fd);
  return new TextDecoder().decode(buf.subarray(0, n));
}

describe('/proc/net', () => {
  it('dev, route, arp, udp, unix, snmp in Linux formats', async () => {
    const world = new SimWorld({ seed: 2, keepLog: false });
    await world.run(async () => {
      const bus = new EtherBus();
      const a = await netKernel(new SimHost({ world, name: 'a' }), [vfsComponent, tmpfsComponent, procfsComponent]);
      const b = await netKernel(new SimHost({ world, name: 'b' }));
      for (const [h, addr] of [[a, '10.0.0.1/24'], [b, '10.0.0.2/24']] as const) {
        const ifp = busAttach(h.ns, 'eth0', bus);
        if (typeof ifp === 'number') throw new Error('attach');
        ifConfigure(h.ns, ifp, { addr, gateway: h === a ? '10.0.0.254' : undefined });
      }
      const sys = a.sys as unknown as Sys;
      await sys.mkdir('/proc', 0o555).catch(() => {});
      const u = await sys.socket(AF_INET, SOCK_DGRAM, 0);
      await sys.bind(u, { family: AF_INET, addr: '10.0.0.1', port: 53 });
      const t = await b.sys.socket(AF_INET, SOCK_DGRAM, 0);
      await b.sys.bind(t, { family: AF_INET, addr: '0.0.0.0', port: 99 });
      await sys.sendto(u, new Uint8Array(5), 0, { family: AF_INET, addr: '10.0.0.2', port: 99 });
      await b.sys.recvfrom(t, new Uint8Array(8));
      const l = await sys.socket(AF_UNIX, SOCK_STREAM, 0);
      await sys.bind(l, { family: AF_UNIX, path: '/s' });
      await sys.listen(l, 1);

      const dev = await cat(sys, '/proc/net/dev');
      expect(dev.split('\n')[0]).toBe('Inter-|   Receive                                                |  Transmit');
      expect(dev).toMatch(/^\s+eth0:\s+\d+\s+\d+\s+0\s+0\s/m);
      expect(dev).toMatch(/^\s+lo:/m);
      const route = (await cat(sys, '/proc/net/route')).split('\n');
      expect(route[0]!.startsWith('Iface\tDestination\tGateway \tFlags')).toBe(true);
      expect(route[0]!.length).toBe(127);
      expect(route).toContain('eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0'.padEnd(127));
      expect(route).toContain('eth0\t00000000\tFE00000A\t0003\t0\t0\t0\t00000000\t0\t0\t0'.padEnd(127));
      const arp = await cat(sys, '/proc/net/arp');
      expect(arp).toMatch(/^10\.0\.0\.2\s+0x1\s+0x2\s+([0-9a-f]{2}:){5}[0-9a-f]{2}\s+\*\s+eth0$/m);
      const udp = (await cat(sys, '/proc/net/udp')).split('\n');
      expect(udp[1]).toMatch(/^\s+0: 0100000A:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000\s+0\s+0 \d+ 2 0000000000000000 0\s*$/);
      const unix = await cat(sys, '/proc/net/unix');
      expect(unix).toMatch(/^0000000000000000: 00000002 00000000 00010000 0001 01\s+\d+ \/s$/m);
      expect(await cat(sys, '/proc/net/snmp')).toMatch(/^Udp: \d+ 0 0 1 0 0 0$/m);
      expect(hexAddr(ip4(10, 0, 0, 1))).toBe('0100000A');
    }, { limitSteps: 200_000 });
    world.dispose();
  });
});

describe('net sysctls', () => {
  it('ip_local_port_range reads and writes as Linux prints it', async () => {
    const world = new SimWorld({ seed: 3, keepLog: false });
    await world.run(async () => {
      const h = await netKernel(new SimHost({ world, name: 'a' }));
      const cred = h.k.proc0.cred;
      expect(h.k.sysctl.read('net.ipv4.ip_local_port_range')).toBe('32768\t60999');
      h.k.sysctl.write('net.ipv4.ip_local_port_range', '40000 40000', cred);
      const s = await h.sys.socket(AF_INET, SOCK_DGRAM, 0);
      await h.sys.bind(s, { family: AF_INET, addr: '0.0.0.0', port: 0 });
      expect(await h.sys.getsockname(s)).toMatchObject({ port: 40000 });
      expect(() => h.k.sysctl.write('net.ipv4.ip_local_port_range', '5 4', cred)).toThrow(/EINVAL/);
      expect(h.k.sysctl.read('net.ipv4.ip_forward')).toBe(0);
    }, { limitSteps: 100_000 });
    world.dispose();
  });
});
