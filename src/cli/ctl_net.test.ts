/**
 * The network tools of `anykernel ctl` against an in-process server whose
 * kernel sits on an EtherBus with a second kernel: ifconfig, route,
 * netstat and ping travel as remote system calls.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { serve, type SysproxyServer } from '../frontends/sysproxy/server.ts';
import { boot, type BootedKernel } from '../frontends/library/boot.ts';
import { EtherBus } from '../frontends/library/net.ts';
import { main as ctl } from './ctl.ts';
import { parseNetSpecs } from './netspec.ts';

let dir: string;
let srv: SysproxyServer;
let peer: BootedKernel;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-ctlnet-'));
  const bus = new EtherBus();
  srv = await serve({ listen: `unix:${path.join(dir, 's.sock')}`, boot: { net: { eth0: { bus, addr: '10.1.0.1/24' } } } });
  peer = await boot({ components: ['kern', 'net'], net: { eth0: { bus, addr: '10.1.0.2/24' } } });
});

afterEach(async () => {
  await srv.close();
  if (!srv.kernel.kernel.shuttingDown) await srv.kernel.shutdown();
  await peer.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<string[]> {
  const lines: string[] = [];
  await ctl(['--server', srv.address, ...args], { out: (s) => lines.push(s), outBytes: () => {} });
  return lines;
}

describe('anykernel ctl network tools', () => {
  it('ifconfig, route, netstat, ping', async () => {
    expect((await run('ifconfig')).join('\n')).toMatch(/inet 10\.1\.0\.1  netmask 255\.255\.255\.0/);
    await run('route', 'add', 'default', 'gw', '10.1.0.2');
    expect((await run('route', '-n')).join('\n')).toMatch(/^0\.0\.0\.0\s+10\.1\.0\.2\s+0\.0\.0\.0\s+UG/m);
    expect((await run('netstat', '-a', '-u')).join('\n')).toMatch(/^Proto Recv-Q Send-Q/m);
    const p = await run('ping', '-c', '2', '-i', '0', '10.1.0.2');
    expect(p.join('\n')).toMatch(/2 packets transmitted, 2 received, 0% packet loss/);
    await expect(run('ping', '-c', '1', '-i', '0', '-W', '0.05', '10.1.0.77')).rejects.toThrow(/no answer from 10\.1\.0\.77/);
  });

  it('--net specs parse, and bad ones are explained', () => {
    expect(parseNetSpecs(['eth0=tap:ak0,addr=10.0.0.2/24,gw=10.0.0.1'])).toEqual({ eth0: { tap: 'ak0', addr: '10.0.0.2/24', gateway: '10.0.0.1' } });
    expect(() => parseNetSpecs(['eth0=bus:x'])).toThrow(/not a kind/);
    expect(() => parseNetSpecs(['eth0'])).toThrow(/IF=tap:NAME/);
    expect(() => parseNetSpecs(['eth0=tap:a,color=red'])).toThrow(/unknown key 'color'/);
  });
});
