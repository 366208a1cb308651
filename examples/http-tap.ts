/**
 * An HTTP server on the kernel's TCP, reachable from Linux through a TAP
 * device. Needs root and socat; run it inside a network namespace so the
 * traffic stays there:
 *
 *   ip netns add demo && ip netns exec demo ip link set lo up
 *   ip netns exec demo npx tsx examples/http-tap.ts ak0 10.0.0.2/24 10.0.0.1/24
 *   ip netns exec demo curl http://10.0.0.2/     # from another shell
 *   ip netns del demo
 *
 * Arguments: TAP name, the kernel's address, the host side's address. It
 * prints "listening on http://ADDR/" and serves until stdin closes or Ctrl-C.
 */
import * as http from 'node:http';
import { boot } from '../src/entry/index.node.ts';
import { createNet } from '../src/entry/net.ts';

const [tap = 'ak0', addr = '10.0.0.2/24', hostAddr = '10.0.0.1/24'] = process.argv.slice(2);
const k = await boot({ net: { eth0: { tap, addr, hostAddr } } });
const net = createNet(k);

let served = 0;
const app = http.createServer((req, res) => {
  served++;
  res.setHeader('content-type', 'text/plain');
  res.end(`anykernel says hello to ${req.socket.remoteAddress} (request ${served}, ${req.method} ${req.url})\n`);
});
const server = net.createServer((socket) => app.emit('connection', socket));
await new Promise<void>((resolve) => server.listen(80, resolve));
process.stdout.write(`listening on http://${addr.split('/')[0]}/\n`);

const stop = async (): Promise<void> => {
  server.close();
  app.close();
  await k.shutdown();
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.resume();
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
