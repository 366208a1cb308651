/**
 * A kernel on a host TAP device, for the Linux interop suite: run inside the
 * test's network namespace as `tsx tap-kernel.fixture.ts TAP ADDR/P HOSTADDR/P`.
 * It answers pings (the kernel's ICMP), echoes UDP datagrams on port 7,
 * prints "ready" once the TAP is up, and halts when stdin closes.
 */
import '../../src/frontends/library/node_default.ts';
import { boot } from '../../src/frontends/library/boot.ts';
import { AF_INET, SOCK_DGRAM } from '../../src/net/index.ts';

const [tap, addr, hostAddr] = process.argv.slice(2);
const k = await boot({ components: ['kern', 'net'], net: { eth0: { tap: tap!, addr: addr!, hostAddr: hostAddr! } } });
const s = await k.sys.socket(AF_INET, SOCK_DGRAM, 0);
await k.sys.bind(s, { family: AF_INET, addr: '0.0.0.0', port: 7 });
void (async () => {
  const buf = new Uint8Array(65536);
  for (;;) {
    let r;
    try { r = await k.sys.recvfrom(s, buf); } catch { return; }
    const [n, from] = r;
    if (from) await k.sys.sendto(s, buf.subarray(0, n), 0, from).catch(() => {});
  }
})();
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => {
  void k.shutdown().then(() => process.exit(0));
});
