import { describe, expect, it } from 'vitest';
import { boot } from './boot.ts';
import { EtherBus } from './net.ts';
import { ifconfig, netstat, ping, route, type ToolSys } from './net_tools.ts';
import { AF_INET, AF_UNIX, SOCK_DGRAM, SOCK_STREAM } from '../../net/index.ts';

const comps = ['kern', 'vfs', 'tmpfs', 'procfs', 'net'];

describe('net tools over system calls', () => {
  it('ifconfig shows and sets interfaces; route shows and edits the table; ping gets answers', async () => {
    const bus = new EtherBus();
    const a = await boot({ components: comps, net: { eth0: { bus, addr: '10.0.0.1/24' } } });
    const b = await boot({ components: comps, net: { eth0: { bus, addr: '10.0.0.2/24' } } });
    const sa = a.sys as unknown as ToolSys;
    const all = await ifconfig(sa, ['-a']);
    expect(all).toMatch(/^eth0: flags=\d+<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500$/m);
    expect(all).toMatch(/inet 10\.0\.0\.1  netmask 255\.255\.255\.0  broadcast 10\.0\.0\.255/);
    expect(all).toMatch(/^lo: flags=\d+<UP,LOOPBACK,RUNNING>  mtu 65536$/m);
    expect(all).toMatch(/inet 127\.0\.0\.1  netmask 255\.0\.0\.0/);
    await ifconfig(sa, ['eth0', '10.0.1.1/16', 'mtu', '1400']);
    expect(await ifconfig(sa, ['eth0'])).toMatch(/mtu 1400[\s\S]*inet 10\.0\.1\.1  netmask 255\.255\.0\.0/);
    await ifconfig(sa, ['eth0', '10.0.0.1/24']);
    await route(sa, ['add', 'default', 'gw', '10.0.0.2']);
    await route(sa, ['add', '-net', '192.168.5.0/24', 'gw', '10.0.0.2', 'metric', '3']);
    const table = await route(sa, ['-n']);
    expect(table).toMatch(/^0\.0\.0\.0\s+10\.0\.0\.2\s+0\.0\.0\.0\s+UG\s+0\s+0\s+0 eth0$/m);
    expect(table).toMatch(/^192\.168\.5\.0\s+10\.0\.0\.2\s+255\.255\.255\.0\s+UG\s+3\s/m);
    expect(table).toMatch(/^10\.0\.0\.0\s+0\.0\.0\.0\s+255\.255\.255\.0\s+U\s/m);
    await route(sa, ['del', '-net', '192.168.5.0/24']);
    expect(await route(sa, [])).not.toMatch(/192\.168\.5\.0/);
    await expect(route(sa, ['del', '-net', '192.168.5.0/24'])).rejects.toThrow(/ESRCH/);
    await expect(ifconfig(sa, ['eth9'])).rejects.toThrow(/ENODEV/);
    const user = a.rfork({ uid: 1000, gid: 1000 });
    await expect(ifconfig(user.sys as unknown as ToolSys, ['eth0', 'down'])).rejects.toThrow(/EPERM.*needs root/);
    const lines: string[] = [];
    const r = await ping(sa, '10.0.0.2', { count: 3, intervalMs: 0 }, (l) => lines.push(l));
    expect(r).toMatchObject({ transmitted: 3, received: 3 });
    expect(lines[1]).toMatch(/^64 bytes from 10\.0\.0\.2: icmp_seq=1 ttl=64 time=/);
    expect(lines.at(-2)).toBe('3 packets transmitted, 3 received, 0% packet loss');
    const lost = await ping(sa, '10.0.0.99', { count: 1, timeoutMs: 50, intervalMs: 0 });
    expect(lost).toMatchObject({ transmitted: 1, received: 0 });
    await a.shutdown();
    await b.shutdown();
  });

  it('netstat lists UDP and unix sockets', async () => {
    const k = await boot({ components: comps, net: { eth0: { bus: new EtherBus(), addr: '10.0.0.1/24' } } });
    const s = await k.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await k.sys.bind(s, { family: AF_INET, addr: '0.0.0.0', port: 5353 });
    const l = await k.sys.socket(AF_UNIX, SOCK_STREAM, 0);
    await k.sys.bind(l, { family: AF_UNIX, path: '/run.sock' });
    await k.sys.listen(l, 4);
    const t = await k.sys.socket(AF_INET, SOCK_STREAM, 0);
    await k.sys.bind(t, { family: AF_INET, addr: '0.0.0.0', port: 8080 });
    await k.sys.listen(t, 8);
    expect(await netstat(k.sys as unknown as ToolSys, ['-a', '-t'])).toMatch(/^tcp\s+0\s+\d+ 0\.0\.0\.0:8080\s+0\.0\.0\.0:\*\s+LISTEN$/m);
    const out = await netstat(k.sys as unknown as ToolSys, ['-a', '-u', '-x']);
    expect(out).toMatch(/^udp\s+0\s+0 0\.0\.0\.0:5353\s+0\.0\.0\.0:\*\s*$/m);
    expect(out).toMatch(/^unix  2      \[ ACC \]\s+STREAM\s+LISTENING\s+\d+\s+\/run\.sock$/m);
    expect(await netstat(k.sys as unknown as ToolSys, ['-u'])).not.toMatch(/5353/);
    await k.shutdown();
  });
});
