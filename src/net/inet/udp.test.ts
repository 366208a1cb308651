import { describe, expect, it } from 'vitest';
import { AF_INET, SOCK_DGRAM, MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, SOL_SOCKET, SO_RCVBUF, SO_ERROR, SOCK_NONBLOCK, SHUT_RD, IPPROTO_UDP, SOL_IP, IP_MTU } from '../index.ts';
import { dec, enc, expectCode, onBus } from '../testkit.ts';
import { udpState } from './udp.ts';

const A = (addr: string, port: number) => ({ family: AF_INET, addr, port });

describe('UDP sockets between two kernels on a bus', () => {
  it('sendto/recvfrom round trip with ARP on the way, getsockname/getpeername', () => onBus(2, async ([a, b]) => {
    const s = await b!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b!.sys.bind(s, A('0.0.0.0', 7000));
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    expect(await a!.sys.sendto(c, enc('hello'), 0, A('10.0.0.2', 7000))).toBe(5);
    const buf = new Uint8Array(100);
    const [n, from] = await b!.sys.recvfrom(s, buf);
    expect(dec(buf.subarray(0, n))).toBe('hello');
    expect(from).toMatchObject({ family: AF_INET, addr: '10.0.0.1' });
    const me = await a!.sys.getsockname(c) as { port: number };
    expect(from).toEqual(A('10.0.0.1', me.port));
    expect(me.port).toBeGreaterThanOrEqual(32768);
    // Reply to the sender.
    await b!.sys.sendto(s, enc('world'), 0, from);
    const [m] = await a!.sys.recvfrom(c, buf);
    expect(dec(buf.subarray(0, m))).toBe('world');
    await expectCode(a!.sys.getpeername(c), 'ENOTCONN');
    await expectCode(a!.sys.getsockopt(c, SOL_IP, IP_MTU), 'ENOTCONN');
    await a!.sys.connect(c, A('10.0.0.2', 7000));
    expect(await a!.sys.getsockopt(c, SOL_IP, IP_MTU)).toBe(1500);
    expect(await a!.sys.getpeername(c)).toEqual(A('10.0.0.2', 7000));
    expect(await a!.sys.getsockname(c)).toEqual(A('10.0.0.1', me.port));
    await a!.sys.close(c);
    await b!.sys.close(s);
  }));

  it('MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT and datagram boundaries', () => onBus(2, async ([a, b]) => {
    const s = await b!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b!.sys.bind(s, A('10.0.0.2', 9));
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a!.sys.connect(c, A('10.0.0.2', 9));
    await expectCode(b!.sys.recvfrom(s, new Uint8Array(4), MSG_DONTWAIT), 'EAGAIN');
    await a!.sys.send(c, enc('abcdefgh'));
    await a!.sys.send(c, enc('xy'));
    const small = new Uint8Array(3);
    const [p] = await b!.sys.recvfrom(s, small, MSG_PEEK);
    expect([p, dec(small)]).toEqual([3, 'abc']);
    const r = await b!.sys.recvmsg(s, { iov: [small] }, MSG_TRUNC);
    expect(r.n).toBe(8); // MSG_TRUNC in the request: the real length
    expect(r.flags & MSG_TRUNC).toBe(MSG_TRUNC);
    const big = new Uint8Array(10);
    const [n2] = await b!.sys.recvfrom(s, big);
    expect(dec(big.subarray(0, n2))).toBe('xy');
  }));

  it('port unreachable makes a connected socket fail with ECONNREFUSED, once', () => onBus(2, async ([a]) => {
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a!.sys.connect(c, A('10.0.0.2', 4444));
    await a!.sys.send(c, enc('x'));
    await expectCode(a!.sys.recvfrom(c, new Uint8Array(4)), 'ECONNREFUSED');
    expect(await a!.sys.getsockopt(c, SOL_SOCKET, SO_ERROR)).toBe(0);
    // Unconnected sockets do not hear about ICMP errors.
    const u = await a!.sys.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    await a!.sys.sendto(u, enc('x'), 0, A('10.0.0.2', 4444));
    await a!.sys.send(c, enc('y'));
    await expectCode(a!.sys.recvfrom(c, new Uint8Array(4)), 'ECONNREFUSED');
    await expectCode(a!.sys.recvfrom(u, new Uint8Array(4)), 'EAGAIN');
  }));

  it('a host that does not answer ARP: connected socket gets EHOSTUNREACH', () => onBus(2, async ([a]) => {
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a!.sys.connect(c, A('10.0.0.77', 5));
    await a!.sys.send(c, enc('x'));
    await expectCode(a!.sys.recvfrom(c, new Uint8Array(4)), 'EHOSTUNREACH');
  }));

  it('SO_RCVBUF bounds the queue; the rest are dropped and counted', () => onBus(2, async ([a, b]) => {
    const s = await b!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b!.sys.setsockopt(s, SOL_SOCKET, SO_RCVBUF, 2000);
    expect(await b!.sys.getsockopt(s, SOL_SOCKET, SO_RCVBUF)).toBe(4000);
    await b!.sys.bind(s, A('0.0.0.0', 5000));
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    for (let i = 0; i < 20; i++) await a!.sys.sendto(c, new Uint8Array(500), 0, A('10.0.0.2', 5000));
    // Let every datagram arrive: one more round trip through a second socket.
    const t = await b!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b!.sys.bind(t, A('0.0.0.0', 5001));
    await a!.sys.sendto(c, enc('!'), 0, A('10.0.0.2', 5001));
    await b!.sys.recvfrom(t, new Uint8Array(4));
    let got = 0;
    for (;;) {
      try { await b!.sys.recvfrom(s, new Uint8Array(600), MSG_DONTWAIT); got++; } catch { break; }
    }
    expect(got).toBe(5); // 5 × (500 + 256) ≤ 4000 < 6 × 756
    expect(udpState(b!.ns).stats.rcvbufErrors).toBe(15);
  }));

  it('errno for bind and send edge cases matches Linux', () => onBus(1, async ([a]) => {
    const s = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await expectCode(a!.sys.bind(s, A('10.9.9.9', 0)), 'EADDRNOTAVAIL');
    await a!.sys.bind(s, A('0.0.0.0', 6000));
    await expectCode(a!.sys.bind(s, A('0.0.0.0', 6001)), 'EINVAL');
    const t = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await expectCode(a!.sys.bind(t, A('10.0.0.1', 6000)), 'EADDRINUSE');
    await expectCode(a!.sys.send(t, enc('x')), 'EDESTADDRREQ');
    await expectCode(a!.sys.sendto(t, new Uint8Array(65508), 0, A('10.0.0.1', 6000)), 'EMSGSIZE');
    await expectCode(a!.sys.sendto(t, enc('x'), 0, A('192.168.1.1', 1)), 'ENETUNREACH');
    await expectCode(a!.sys.sendto(t, enc('x'), 0, A('10.0.0.255', 1)), 'EACCES');
    await expectCode(a!.sys.listen(t, 1), 'EOPNOTSUPP');
    await expectCode(a!.sys.shutdown(t, SHUT_RD), 'ENOTCONN');
    await expectCode(a!.sys.socket(AF_INET, 99, 0), 'EINVAL');
    await expectCode(a!.sys.socket(AF_INET, 4 /* SOCK_RDM */, 0), 'ESOCKTNOSUPPORT');
    await expectCode(a!.sys.socket(AF_INET, SOCK_DGRAM, 6), 'EPROTONOSUPPORT');
    await expectCode(a!.sys.socket(10, SOCK_DGRAM, 0), 'EAFNOSUPPORT');
  }));

  it('loopback: a kernel talks to itself on 127.0.0.1 and on its own address', () => onBus(1, async ([a]) => {
    const s = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a!.sys.bind(s, A('0.0.0.0', 53));
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await a!.sys.sendto(c, enc('lo'), 0, A('127.0.0.1', 53));
    await a!.sys.sendto(c, enc('own'), 0, A('10.0.0.1', 53));
    const buf = new Uint8Array(8);
    const [n1, f1] = await a!.sys.recvfrom(s, buf);
    expect([dec(buf.subarray(0, n1)), (f1 as { addr: string }).addr]).toEqual(['lo', '127.0.0.1']);
    const [n2, f2] = await a!.sys.recvfrom(s, buf);
    expect([dec(buf.subarray(0, n2)), (f2 as { addr: string }).addr]).toEqual(['own', '10.0.0.1']);
  }));
});

describe('UDP on a jumbo EtherBus (MTU 65535)', () => {
  it('a 60000-byte datagram goes out in one frame and arrives whole', () => onBus(2, async ([a, b]) => {
    const s = await b!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await b!.sys.bind(s, A('0.0.0.0', 9));
    const c = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
    const data = new Uint8Array(60000).map((_, i) => i % 251);
    await a!.sys.sendto(c, data, 0, A('10.0.0.2', 9));
    const buf = new Uint8Array(65536);
    const [n] = await b!.sys.recvfrom(s, buf);
    expect(buf.subarray(0, n)).toEqual(data);
    expect(a!.ns.ipStats.fragCreates).toBe(0);
    expect(b!.ns.ipStats.reasmReqds).toBe(0);
  }, { mtu: 65535 }));
});
