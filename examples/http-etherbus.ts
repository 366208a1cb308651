/**
 * Two kernels in one process on an in-process Ethernet segment, talking
 * HTTP: Node's own http server runs over kernel A's TCP, Node's http client
 * over kernel B's. Run: npx tsx examples/http-etherbus.ts
 *
 * (In a project that installed the package, the imports are 'anykernel'
 * and 'anykernel/net'.)
 */
import * as http from 'node:http';
import { boot } from '../src/entry/index.node.ts';
import { createNet, EtherBus } from '../src/entry/net.ts';

const bus = new EtherBus();
const a = await boot({ net: { eth0: { bus, addr: '10.0.0.1/24' } } });
const b = await boot({ net: { eth0: { bus, addr: '10.0.0.2/24', gateway: '10.0.0.1' } } });

const netA = createNet(a);
const netB = createNet(b);

const app = http.createServer((req, res) => res.end(`hello ${req.socket.remoteAddress} from kernel A\n`));
const server = netA.createServer((socket) => app.emit('connection', socket));
await new Promise<void>((resolve) => server.listen(80, resolve));

const body = await new Promise<string>((resolve, reject) => {
  const req = http.get({ host: '10.0.0.1', port: 80, path: '/', createConnection: () => netB.createConnection(80, '10.0.0.1') }, (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => { text += d; });
    res.on('end', () => resolve(text));
  });
  req.on('error', reject);
});
process.stdout.write(body);

await new Promise<void>((resolve) => server.close(() => resolve()));
app.close();
await a.shutdown();
await b.shutdown();
