import { describe, expect, it } from 'vitest';
import * as http from 'node:http';
import { once } from 'node:events';
import { boot } from './boot.ts';
import { createNet, EtherBus, type Socket } from './net.ts';
import { SimHost } from '../../hyper/sim/host.ts';
import { SimNetwork } from '../../hyper/sim/network.ts';
import { SimWorld } from '../../hyper/sim/world.ts';
import { AF_INET, SOCK_DGRAM } from '../../net/index.ts';

async function readAll(s: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks).toString();
}

describe('anykernel/net facade over AF_UNIX stream sockets', () => {
  it('echo server and client with pipe(), end() half-close, address()', async () => {
    const k = await boot({ components: ['kern', 'vfs', 'tmpfs', 'net'] });
    const net = createNet(k);
    const server = net.createServer((s) => s.pipe(s));
    server.listen('/echo.sock');
    await once(server, 'listening');
    expect(server.address()).toBe('/echo.sock');
    const c = net.connect('/echo.sock');
    await once(c, 'connect');
    c.end('hello through the kernel');
    expect(await readAll(c)).toBe('hello through the kernel');
    await new Promise<void>((r) => server.close(() => r()));
    expect((await k.shutdown()).openFiles).toEqual([]);
  });

  it('connect errors carry the kernel errno and the address', async () => {
    const k = await boot({ components: ['kern', 'vfs', 'tmpfs', 'net'] });
    const c = createNet(k).connect({ path: '/nobody' });
    const [e] = await once(c, 'error') as [NodeJS.ErrnoException & { address?: string }];
    expect([e.code, e.syscall, e.address]).toEqual(['ENOENT', 'connect', '/nobody']);
    await k.shutdown();
  });

  it("Node's http server and client run over it (emit('connection'), createConnection)", async () => {
    const k = await boot({ components: ['kern', 'vfs', 'tmpfs', 'net'] });
    const net = createNet(k);
    const httpServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => res.end(`${req.method} ${req.url} ${body.length}`));
    });
    const ksrv = net.createServer({ allowHalfOpen: true }, (s) => httpServer.emit('connection', s));
    ksrv.listen('/http.sock');
    await once(ksrv, 'listening');
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request({ method: 'POST', path: '/x', createConnection: () => net.createConnection('/http.sock') as never }, (res) => {
        let b = '';
        res.on('data', (d) => { b += d; });
        res.on('end', () => resolve(`${res.statusCode} ${b}`));
      });
      req.on('error', reject);
      req.end('y'.repeat(100_000));
    });
    expect(body).toBe('200 POST /x 100000');
    ksrv.close();
    httpServer.close();
    await k.shutdown();
  });
});

describe('boot({ net })', () => {
  it('attaches bus interfaces with addresses; kernels talk UDP across them', async () => {
    const bus = new EtherBus();
    const a = await boot({ components: ['kern', 'net'], net: { eth0: { bus, addr: '10.0.0.1/24' } } });
    const b = await boot({ components: ['kern', 'net'], net: { eth0: { bus, addr: '10.0.0.2/24', gateway: '10.0.0.1' } } });
    const s = await b.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b.sys.bind(s, { family: AF_INET, addr: '0.0.0.0', port: 9 });
    const c = await a.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a.sys.sendto(c, new TextEncoder().encode('x'), 0, { family: AF_INET, addr: '10.0.0.2', port: 9 });
    const [n, from] = await b.sys.recvfrom(s, new Uint8Array(4));
    expect([n, from]).toMatchObject([1, { addr: '10.0.0.1' }]);
    await a.shutdown();
    await b.shutdown();
  });

  it('attaches to the sim host network', async () => {
    const world = new SimWorld({ seed: 7, keepLog: false });
    const net = new SimNetwork(world);
    const ha = new SimHost({ world, name: 'a' });
    const hb = new SimHost({ world, name: 'b' });
    await world.run(async () => {
      const a = await boot({ host: ha, components: ['kern', 'net'], net: { eth0: { sim: net, addr: '192.168.1.1/24' } } });
      const b = await boot({ host: hb, components: ['kern', 'net'], net: { eth0: { sim: net, addr: '192.168.1.2/24' } } });
      const s = await b.sys.socket(AF_INET, SOCK_DGRAM, 0);
      await b.sys.bind(s, { family: AF_INET, addr: '0.0.0.0', port: 9 });
      const c = await a.sys.socket(AF_INET, SOCK_DGRAM, 0);
      await a.sys.sendto(c, new Uint8Array(3), 0, { family: AF_INET, addr: '192.168.1.2', port: 9 });
      expect((await b.sys.recvfrom(s, new Uint8Array(4)))[0]).toBe(3);
    }, { limitSteps: 100_000 });
    world.dispose();
  });

  it('explains a bad configuration', async () => {
    await expect(boot({ components: ['kern', 'net'], net: { eth0: { addr: '10.0.0.1/24' } } })).rejects.toThrow(/exactly one of bus, tap, sim, virtif/);
    await expect(boot({ components: ['kern', 'net'], net: { eth0: { bus: new EtherBus(), addr: '10.0.0.300/24' } } })).rejects.toThrow(/EINVAL/);
  });
});

describe('anykernel/net facade over TCP', () => {
  it('connect with localAddress/localPort; remote and local addresses; ECONNREFUSED', async () => {
    const bus = new EtherBus();
    const a = await boot({ components: ['kern', 'net'], net: { eth0: { bus, addr: '10.0.0.1/24' } } });
    const b = await boot({ components: ['kern', 'net'], net: { eth0: { bus, addr: '10.0.0.2/24' } } });
    const server = createNet(a).createServer((s) => {
      s.end(`${s.remoteAddress}:${s.remotePort}`);
    });
    server.listen(7000, '10.0.0.1');
    await once(server, 'listening');
    expect(server.address()).toEqual({ address: '10.0.0.1', family: 'IPv4', port: 7000 });
    const c = createNet(b).connect({ port: 7000, host: '10.0.0.1', localAddress: '10.0.0.2', localPort: 45678 });
    await once(c, 'connect');
    expect([c.localAddress, c.localPort, c.remoteAddress, c.remotePort, c.remoteFamily]).toEqual(['10.0.0.2', 45678, '10.0.0.1', 7000, 'IPv4']);
    expect(await readAll(c)).toBe('10.0.0.2:45678');
    const refused = createNet(b).connect(7001, '10.0.0.1');
    const [e] = await once(refused, 'error') as [NodeJS.ErrnoException & { address?: string; port?: number }];
    expect([e.code, e.syscall, e.address, e.port]).toEqual(['ECONNREFUSED', 'connect', '10.0.0.1', 7001]);
    await new Promise<void>((r) => server.close(() => r()));
    await a.shutdown();
    await b.shutdown();
  });
});

describe('packet capture', () => {
  it('writes a pcap file of an interface that tshark reads without complaint', async () => {
    const { capture } = await import('./pcap.ts');
    const { parsePcap } = await import('../../net/index.ts');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { spawnSync } = await import('node:child_process');
    const bus = new EtherBus();
    const a = await boot({ components: ['kern', 'net'], net: { eth0: { bus, addr: '10.0.0.1/24' } } });
    const b = await boot({ components: ['kern', 'net'], net: { eth0: { bus, addr: '10.0.0.2/24' } } });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'akpcap-')), 'eth0.pcap');
    const cap = capture(a, 'eth0', file);
    const s = await b.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b.sys.bind(s, { family: AF_INET, addr: '0.0.0.0', port: 9 });
    const c = await a.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a.sys.sendto(c, new Uint8Array(3000), 0, { family: AF_INET, addr: '10.0.0.2', port: 9 }); // fragmented
    await b.sys.recvfrom(s, new Uint8Array(4000));
    const d = await a.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a.sys.connect(d, { family: AF_INET, addr: '10.0.0.2', port: 10 });
    await a.sys.send(d, new Uint8Array(10)); // port unreachable comes back
    await expect(a.sys.recvfrom(d, new Uint8Array(4))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await cap.stop();
    const p = parsePcap(new Uint8Array(fs.readFileSync(file)));
    // ARP request + reply, 3 fragments, 1 datagram, 1 ICMP error.
    expect(p?.frames.length).toBe(7);
    const tshark = spawnSync('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-Y', '_ws.malformed || _ws.expert.severity >= warning'], { encoding: 'utf8' });
    if (tshark.error) {
      if (process.env.CI) throw tshark.error;
      console.warn('tshark not installed: skipping the capture check');
    } else {
      expect(tshark.stdout.trim()).toBe('');
      const all = spawnSync('tshark', ['-r', file], { encoding: 'utf8' }).stdout;
      expect(all).toMatch(/ARP/);
      expect(all).toMatch(/Destination unreachable \(Port unreachable\)/);
    }
    await a.shutdown();
    await b.shutdown();
  });
});
