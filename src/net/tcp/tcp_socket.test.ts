/**
 * TCP sockets between two kernels on an EtherBus (sim host): data through
 * the socket system calls both ways, and the Linux errno of each failure
 * case — ECONNREFUSED, EINPROGRESS/SO_ERROR, ECONNRESET then EPIPE, ENOTCONN,
 * EISCONN, EADDRINUSE — plus MSG_PEEK/MSG_WAITALL/MSG_DONTWAIT, shutdown,
 * SO_LINGER, and the bounded SYN queue under a flood.
 */
import { describe, expect, it } from 'vitest';
import {
  AF_INET, SOCK_STREAM, SOCK_NONBLOCK, MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL, MSG_NOSIGNAL, SOL_SOCKET, SO_ERROR, SO_LINGER,
  SO_REUSEADDR, SHUT_WR, SOL_TCP, TCP_NODELAY, TCP_MAXSEG,
} from '../index.ts';
import { POLLOUT, POLLIN, POLLHUP } from '../../kern/constants.ts';
import { dec, enc, expectCode, onBus, type TestHost } from '../testkit.ts';
import { tcpNet } from './tcp_proto.ts';
import { tcpProcText, tcpSocketInfo } from './tcp_socket.ts';
import { tcpSegment, TCP_SYN } from '../wire/tcp.ts';

const A = (addr: string, port: number) => ({ family: AF_INET, addr, port });

async function listenOn(h: TestHost, port: number, backlog = 16): Promise<number> {
  const s = await h.sys.socket(AF_INET, SOCK_STREAM, 0);
  await h.sys.bind(s, A('0.0.0.0', port));
  await h.sys.listen(s, backlog);
  return s;
}

async function readAll(h: TestHost, fd: number, want: number): Promise<Uint8Array> {
  const out = new Uint8Array(want);
  let n = 0;
  while (n < want) {
    const m = await h.sys.recvfrom(fd, out.subarray(n));
    if (m[0] === 0) break;
    n += m[0];
  }
  return out.subarray(0, n);
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('TCP sockets between two kernels on a bus', () => {
  it('connect, accept, a megabyte each way, orderly close to TIME_WAIT', () => onBus(2, async ([a, b]) => {
    const l = await listenOn(b!, 80);
    const c = await a!.sys.socket(AF_INET, SOCK_STREAM, 0);
    await a!.sys.connect(c, A('10.0.0.2', 80));
    const s = await b!.sys.accept(l);
    const me = (await a!.sys.getsockname(c)) as { port: number };
    expect(await b!.sys.getpeername(s)).toEqual(A('10.0.0.1', me.port));
    expect(await a!.sys.getpeername(c)).toEqual(A('10.0.0.2', 80));
    const up = pattern(1 << 20, 1);
    const down = pattern(300_000, 2);
    const [got, back] = await Promise.all([
      readAll(b!, s, up.length),
      (async () => {
        await a!.sys.send(c, up);
        return readAll(a!, c, down.length);
      })(),
      b!.sys.send(s, down),
    ]);
    expect(Buffer.from(got).equals(Buffer.from(up))).toBe(true);
    expect(Buffer.from(back).equals(Buffer.from(down))).toBe(true);
    await a!.sys.shutdown(c, SHUT_WR);
    expect(await b!.sys.recvfrom(s, new Uint8Array(10))).toEqual([0, null]); // EOF
    await b!.sys.close(s);
    expect(await a!.sys.recvfrom(c, new Uint8Array(10))).toEqual([0, null]);
    await a!.sys.close(c);
    const states = tcpSocketInfo(a!.ns).map((r) => r.state);
    expect(states).toEqual(['TIME_WAIT']); // the active closer holds TIME_WAIT
    // /proc/net/tcp as Linux prints it: the listener (st 0A) on port 80 = 0x0050, TIME_WAIT is 06.
    expect(tcpProcText(b!.ns)).toMatch(/^ +0: 00000000:0050 00000000:0000 0A /m);
    expect(tcpProcText(a!.ns)).toMatch(/^ +0: 0100000A:[0-9A-F]{4} 0200000A:0050 06 /m);
    await b!.sys.close(l);
  }));

  it('ECONNREFUSED from a RST, and from non-blocking connect through SO_ERROR', () => onBus(2, async ([a]) => {
    const c = await a!.sys.socket(AF_INET, SOCK_STREAM, 0);
    await expectCode(a!.sys.connect(c, A('10.0.0.2', 81)), 'ECONNREFUSED');
    const n = await a!.sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    await expectCode(a!.sys.connect(n, A('10.0.0.2', 81)), 'EINPROGRESS');
    await expectCode(a!.sys.connect(n, A('10.0.0.2', 81)), 'EALREADY');
    const r = await a!.sys.poll([{ fd: n, events: POLLOUT }], 5000);
    expect(r).toBeTruthy();
    expect(await a!.sys.getsockopt(n, SOL_SOCKET, SO_ERROR)).toBe(111);
    expect(await a!.sys.getsockopt(n, SOL_SOCKET, SO_ERROR)).toBe(0);
  }));

  it('non-blocking connect completes with POLLOUT and SO_ERROR 0', () => onBus(2, async ([a, b]) => {
    const l = await listenOn(b!, 90);
    const n = await a!.sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    await expectCode(a!.sys.connect(n, A('10.0.0.2', 90)), 'EINPROGRESS');
    await a!.sys.poll([{ fd: n, events: POLLOUT }], 5000);
    expect(await a!.sys.getsockopt(n, SOL_SOCKET, SO_ERROR)).toBe(0);
    await expectCode(a!.sys.connect(n, A('10.0.0.2', 90)), 'ok'); // Linux reports the completion once
    await expectCode(a!.sys.connect(n, A('10.0.0.2', 90)), 'EISCONN');
    await expectCode(a!.sys.recvfrom(n, new Uint8Array(4), MSG_DONTWAIT), 'EAGAIN');
    const s = await b!.sys.accept(l);
    await b!.sys.send(s, enc('hello world'));
    await a!.sys.poll([{ fd: n, events: POLLIN }], 5000);
    const buf = new Uint8Array(5);
    const [p] = await a!.sys.recvfrom(n, buf, MSG_PEEK);
    expect(dec(buf.subarray(0, p))).toBe('hello');
    const all = new Uint8Array(11);
    expect((await a!.sys.recvfrom(n, all, MSG_WAITALL))[0]).toBe(11);
    expect(dec(all)).toBe('hello world');
  }));

  it('ENOTCONN, EPIPE, EADDRINUSE and SO_REUSEADDR', () => onBus(2, async ([a, b]) => {
    const c = await a!.sys.socket(AF_INET, SOCK_STREAM, 0);
    await expectCode(a!.sys.recvfrom(c, new Uint8Array(4)), 'ENOTCONN');
    await expectCode(a!.sys.send(c, enc('x'), MSG_NOSIGNAL), 'EPIPE');
    await expectCode(a!.sys.getpeername(c), 'ENOTCONN');
    await expectCode(a!.sys.shutdown(c, SHUT_WR), 'ENOTCONN');
    const l = await listenOn(b!, 7000);
    const d = await b!.sys.socket(AF_INET, SOCK_STREAM, 0);
    await expectCode(b!.sys.bind(d, A('0.0.0.0', 7000)), 'EADDRINUSE');
    await b!.sys.setsockopt(d, SOL_SOCKET, SO_REUSEADDR, 1);
    await expectCode(b!.sys.bind(d, A('0.0.0.0', 7000)), 'EADDRINUSE'); // a listener never shares
    await expectCode(b!.sys.bind(d, A('10.9.9.9', 7001)), 'EADDRNOTAVAIL');
    await b!.sys.close(l);
    await b!.sys.bind(d, A('0.0.0.0', 7000));
  }));

  it('a reset connection reports ECONNRESET once, then EPIPE; SO_LINGER 0 sends the RST', () => onBus(2, async ([a, b]) => {
    const l = await listenOn(b!, 80);
    const c = await a!.sys.socket(AF_INET, SOCK_STREAM, 0);
    await a!.sys.connect(c, A('10.0.0.2', 80));
    const s = await b!.sys.accept(l);
    await b!.sys.setsockopt(s, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 });
    await b!.sys.close(s);
    await a!.sys.poll([{ fd: c, events: POLLIN }], 5000);
    await expectCode(a!.sys.recvfrom(c, new Uint8Array(4)), 'ECONNRESET');
    expect((await a!.sys.recvfrom(c, new Uint8Array(4)))[0]).toBe(0);
    await expectCode(a!.sys.send(c, enc('x'), MSG_NOSIGNAL), 'EPIPE');
    const r = await a!.sys.poll([{ fd: c, events: POLLIN }], 0);
    expect(r).toBeTruthy();
  }));

  it('closing with unread data resets the connection (RFC 2525 §2.17)', () => onBus(2, async ([a, b]) => {
    const l = await listenOn(b!, 80);
    const c = await a!.sys.socket(AF_INET, SOCK_STREAM, 0);
    await a!.sys.connect(c, A('10.0.0.2', 80));
    const s = await b!.sys.accept(l);
    await a!.sys.send(c, enc('unread'));
    await b!.sys.poll([{ fd: s, events: POLLIN }], 5000);
    await b!.sys.close(s);
    await a!.sys.poll([{ fd: c, events: POLLIN | POLLHUP }], 5000);
    await expectCode(a!.sys.recvfrom(c, new Uint8Array(4)), 'ECONNRESET');
  }));

  it('TCP_NODELAY and TCP_MAXSEG options', () => onBus(2, async ([a, b]) => {
    const l = await listenOn(b!, 80);
    const c = await a!.sys.socket(AF_INET, SOCK_STREAM, 0);
    expect(await a!.sys.getsockopt(c, SOL_TCP, TCP_NODELAY)).toBe(0);
    await a!.sys.setsockopt(c, SOL_TCP, TCP_NODELAY, 1);
    expect(await a!.sys.getsockopt(c, SOL_TCP, TCP_NODELAY)).toBe(1);
    await expectCode(a!.sys.setsockopt(c, SOL_TCP, TCP_MAXSEG, 10), 'EINVAL');
    await a!.sys.setsockopt(c, SOL_TCP, TCP_MAXSEG, 1000);
    await a!.sys.connect(c, A('10.0.0.2', 80));
    expect(await a!.sys.getsockopt(c, SOL_TCP, TCP_MAXSEG)).toBe(1000);
    const s = await b!.sys.accept(l);
    expect(await b!.sys.getsockopt(s, SOL_TCP, TCP_MAXSEG)).toBe(1000); // the peer announced 1000
  }));

  it('a SYN flood keeps the SYN queue bounded and the listener serving', () => onBus(2, async ([a, b]) => {
    const l = await listenOn(b!, 80, 8);
    const tn = tcpNet(b!.ns);
    // 5000 SYNs from spoofed ports that never complete the handshake.
    for (let i = 0; i < 5000; i++) {
      tn.stack.input(0x0a0000fe, 0x0a000002, tcpSegment({ srcPort: 1024 + i, dstPort: 80, seq: i * 7919, flags: TCP_SYN, window: 1000, mss: 1460 }));
    }
    const lis = [...tn.stack.allListeners()][0]!;
    expect(lis.synQueue.length).toBeLessThanOrEqual(lis.synQueueMax);
    expect(tn.stack.stats.embryonicEvicted).toBeGreaterThan(0);
    expect([...tn.stack.connections()].length).toBeLessThanOrEqual(lis.synQueueMax);
    const c = await a!.sys.socket(AF_INET, SOCK_STREAM, 0);
    await a!.sys.connect(c, A('10.0.0.2', 80));
    const s = await b!.sys.accept(l);
    await a!.sys.send(c, enc('ok'));
    expect(dec(await readAll(b!, s, 2))).toBe('ok');
  }));

  it('ICMP: port unreachable fails a connect with ECONNREFUSED; fragmentation needed lowers the MSS (RFC 1191)', () => onBus(2, async ([a, b]) => {
    const tn = tcpNet(a!.ns);
    const quote = (t: { localPort: number; remotePort: number; sndUna: number }): Uint8Array => {
      const d = new Uint8Array(8);
      const dv = new DataView(d.buffer);
      dv.setUint16(0, t.localPort);
      dv.setUint16(2, t.remotePort);
      dv.setUint32(4, t.sndUna);
      return d;
    };
    const n = await a!.sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    await expectCode(a!.sys.connect(n, A('10.0.0.99', 80)), 'EINPROGRESS');
    const t = [...tn.stack.connections()][0]!;
    const notice = { kind: 'unreach' as const, type: 3, code: 3, errno: 111, fatal: true, mtu: 0, src: t.localAddr, dst: t.remoteAddr, proto: 6, from: t.remoteAddr };
    // A quoted sequence number outside the window is ignored (RFC 5927 §4.1).
    tn.ctlinput({ ...notice, data: quote({ ...t, sndUna: (t.sndUna + 100000) >>> 0 }) });
    expect(await a!.sys.getsockopt(n, SOL_SOCKET, SO_ERROR)).toBe(0);
    tn.ctlinput({ ...notice, data: quote(t) });
    expect(await a!.sys.getsockopt(n, SOL_SOCKET, SO_ERROR)).toBe(111);

    const l = await listenOn(b!, 80);
    const c = await a!.sys.socket(AF_INET, SOCK_STREAM, 0);
    await a!.sys.connect(c, A('10.0.0.2', 80));
    const s = await b!.sys.accept(l);
    const tc = [...tn.stack.connections()].find((x) => x.state === 4)!;
    expect(tc.sndMss).toBe(1460);
    await a!.sys.send(c, new Uint8Array(20_000));
    tn.ctlinput({ ...notice, kind: 'needfrag', code: 4, errno: 90, fatal: false, mtu: 1000, dst: tc.remoteAddr, data: quote(tc) });
    expect(tc.sndMss).toBe(960);
    expect((await readAll(b!, s, 20_000)).length).toBe(20_000);
  }));
});
