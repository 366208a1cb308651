import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatIp4, ip4, isIP, maskLength, parseCidr, parseIp4, prefixMask } from './addr.ts';
import { AF_INET, AF_UNIX, emitSockaddr, parseSockaddr, parseSockaddrBytes } from './socket/sockaddr.ts';

describe('IPv4 text', () => {
  it('round-trips every address', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (a) => parseIp4(formatIp4(a)) === a));
  });
  it('rejects what inet_pton rejects', () => {
    for (const s of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '1.2.3.-4']) expect(parseIp4(s)).toBeNull();
    expect(parseIp4('0.0.0.0')).toBe(0);
    expect(parseIp4('255.255.255.255')).toBe(0xffffffff);
    expect(ip4(10, 0, 0, 1)).toBe(parseIp4('10.0.0.1'));
  });
  it('prefixes and masks agree', () => {
    for (let n = 0; n <= 32; n++) expect(maskLength(prefixMask(n))).toBe(n);
    expect(maskLength(0xff00ff00)).toBe(-1);
    expect(parseCidr('10.1.2.3/24')).toEqual({ addr: ip4(10, 1, 2, 3), prefix: 24 });
    expect(parseCidr('10.1.2.3/33')).toBeNull();
  });
  it('isIP as node:net answers', () => {
    expect(isIP('127.0.0.1')).toBe(4);
    expect(isIP('::1')).toBe(6);
    expect(isIP('fe80::1%eth0')).toBe(6);
    expect(isIP('2001:db8::ff00:42:8329')).toBe(6);
    expect(isIP('::ffff:10.0.0.1')).toBe(6);
    expect(isIP('1:2:3:4:5:6:7:8')).toBe(6);
    expect(isIP('1:2:3:4:5:6:7:8:9')).toBe(0);
    expect(isIP('1::2::3')).toBe(0);
    expect(isIP('localhost')).toBe(0);
    expect(isIP('')).toBe(0);
  });
});

describe('sockaddr', () => {
  it('bytes round-trip for AF_INET', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 65535 }), (addr, port) => {
      const a = { family: AF_INET, addr, port } as const;
      expect(parseSockaddrBytes(emitSockaddr(a))).toEqual(a);
    }));
  });
  it('bytes round-trip for AF_UNIX paths and abstract names', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 100 }).filter((s) => !s.includes('\0') && new TextEncoder().encode(s).byteLength <= 107), (path) => {
      expect(parseSockaddrBytes(emitSockaddr({ family: AF_UNIX, path }))).toEqual({ family: AF_UNIX, path });
      const abs = `\0${path}`;
      if (new TextEncoder().encode(abs).byteLength <= 108) expect(parseSockaddrBytes(emitSockaddr({ family: AF_UNIX, path: abs }))).toEqual({ family: AF_UNIX, path: abs });
    }));
  });
  it('objects are checked', () => {
    expect(parseSockaddr({ family: AF_INET, addr: '10.0.0.1', port: 7 })).toEqual({ family: AF_INET, addr: ip4(10, 0, 0, 1), port: 7 });
    expect(() => parseSockaddr({ family: AF_INET, addr: '10.0.0.256', port: 7 })).toThrow(/EINVAL/);
    expect(() => parseSockaddr({ family: AF_INET, addr: '10.0.0.1', port: 70000 })).toThrow(/EINVAL/);
    expect(() => parseSockaddr({ family: 10, addr: '::1', port: 1 })).toThrow(/EAFNOSUPPORT/);
    expect(() => parseSockaddr({ family: 99 })).toThrow(/EAFNOSUPPORT/);
    expect(() => parseSockaddr({ family: AF_UNIX, path: 'x'.repeat(109) })).toThrow(/EINVAL/);
    expect(() => parseSockaddr(new Uint8Array(1))).toThrow(/EINVAL/);
    expect(() => parseSockaddr(new Uint8Array([2, 0, 0, 80]))).toThrow(/EINVAL/);
  });
});
