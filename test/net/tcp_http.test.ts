/**
 * Node's http over the kernel's TCP: two kernels on one EtherBus (node host,
 * real time), the server kernel runs http.createServer through the
 * anykernel/net facade, the client kernel's facade carries http.request.
 * Bodies both ways are checked by sha256.
 */
import { describe, expect, it } from 'vitest';
import * as http from 'node:http';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { boot } from '../../src/frontends/library/boot.ts';
import { createNet, EtherBus } from '../../src/frontends/library/net.ts';

function body(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe("Node's http over the kernel's TCP between two kernels on an EtherBus", () => {
  it('POST uploads and GET downloads megabytes with matching sha256, keep-alive reused', async () => {
    const bus = new EtherBus();
    const a = await boot({ net: { eth0: { bus, addr: '10.0.0.1/24' } } });
    const b = await boot({ net: { eth0: { bus, addr: '10.0.0.2/24' } } });
    const download = body(8 << 20, 7);
    const server = http.createServer((req, res) => {
      if (req.method === 'GET') {
        res.setHeader('content-length', download.length);
        res.end(download);
        return;
      }
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      req.on('end', () => res.end(`${n} ${h.digest('hex')}`));
    });
    const ksrv = createNet(a).createServer({ allowHalfOpen: true }, (s) => server.emit('connection', s));
    ksrv.listen(80);
    await once(ksrv, 'listening');
    const netB = createNet(b);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let connections = 0;
    (agent as unknown as { createConnection: () => unknown }).createConnection = () => {
      connections++;
      return netB.createConnection(80, '10.0.0.1');
    };
    const request = (method: string, payload?: Buffer): Promise<{ status: number; body: Buffer }> =>
      new Promise((resolve, reject) => {
        const req = http.request({ method, host: '10.0.0.1', port: 80, path: '/', agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end(payload);
      });
    const up = body(3 << 20, 3);
    const r1 = await request('POST', up);
    expect(r1.body.toString()).toBe(`${up.length} ${sha(up)}`);
    const r2 = await request('GET');
    expect(r2.body.length).toBe(download.length);
    expect(sha(r2.body)).toBe(sha(download));
    expect(connections).toBe(1);
    agent.destroy();
    await new Promise<void>((r) => ksrv.close(() => r()));
    await b.shutdown();
    await a.shutdown();
  }, 60_000);
});
