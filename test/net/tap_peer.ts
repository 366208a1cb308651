/**
 * The kernel side of the TAP interop test (tcp_tap.test.ts), run inside the
 * test's network namespace: a kernel attached to TAP `ak0` through socat,
 * serving a deterministic body over Node's http on the kernel's TCP, and
 * fetching a file from the Linux HTTP server on the host side. Reports on
 * stdout as JSON lines; exits when stdin closes.
 */
import * as http from 'node:http';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { boot } from '../../src/entry/index.node.ts';
import { createNet } from '../../src/frontends/library/net.ts';
import { bodyChunk } from './tap_body.ts';

const [tap, kaddr, haddr, sizeArg, fetchUrl] = process.argv.slice(2);
const size = Number(sizeArg);


const k = await boot({ net: { eth0: { tap: tap!, addr: kaddr!, hostAddr: haddr! } } });
const net = createNet(k);
const server = http.createServer((req, res) => {
  res.setHeader('content-length', size);
  const chunk = 1 << 20;
  let off = 0;
  const pump = (): void => {
    while (off < size) {
      const n = Math.min(chunk, size - off);
      const ok = res.write(bodyChunk(off, n));
      off += n;
      if (!ok) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
  void req;
});
const ksrv = net.createServer({ allowHalfOpen: true }, (s) => server.emit('connection', s));
ksrv.listen(8080);
await once(ksrv, 'listening');
console.log(JSON.stringify({ ready: true }));

process.stdin.on('data', async (d) => {
  const cmd = d.toString().trim();
  if (cmd === 'fetch') {
    try {
      const u = new URL(fetchUrl!);
      const r = await new Promise<{ status: number; sha: string; n: number }>((resolve, reject) => {
        const req = http.request({ host: u.hostname, port: Number(u.port), path: u.pathname, createConnection: () => net.createConnection(Number(u.port), u.hostname) as never }, (res) => {
          const h = createHash('sha256');
          let n = 0;
          res.on('data', (c: Buffer) => { h.update(c); n += c.length; });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, sha: h.digest('hex'), n }));
        });
        req.on('error', reject);
        req.end();
      });
      console.log(JSON.stringify({ fetched: r }));
    } catch (e) {
      console.log(JSON.stringify({ error: String(e) }));
    }
  }
});
process.stdin.on('end', async () => {
  ksrv.close();
  await k.shutdown();
  process.exit(0);
});
