/**
 * TCP socket conformance: each scenario — a list of socket operations — runs
 * on two targets, the kernel (its system calls, over its loopback) and the
 * host's Linux sockets on 127.0.0.1 (sock_runner.py), and the results of
 * every step must agree: the errno of each failure, the bytes of each
 * receive, the order in which they happen.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { boot } from '../../src/frontends/library/boot.ts';
import {
  AF_INET, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_PEEK, MSG_WAITALL, SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, SO_ERROR,
  SO_LINGER, SO_REUSEADDR,
} from '../../src/net/index.ts';

type Op = [string, ...(string | number)[]];

const SCENARIOS: Record<string, Op[]> = {
  'connect to a port nobody listens on': [
    ['socket', 'x'], ['bind', 'x', '127.0.0.1', 0], ['socket', 'a'],
    ['connect', 'a', '127.0.0.1', '@x'], ['soerror', 'a'], ['getpeername', 'a'], ['recv', 'a', 4],
  ],
  'listen, connect, accept, data both ways, half-close, close': [
    ['socket', 'l'], ['bind', 'l', '127.0.0.1', 0], ['listen', 'l', 5],
    ['socket', 'c'], ['connect', 'c', '127.0.0.1', '@l'], ['accept', 'l', 's'],
    ['send', 'c', 'hello'], ['recv', 's', 5, 'waitall'], ['shutdown', 'c', 'wr'], ['recv', 's', 10],
    ['send', 's', 'bye'], ['recv', 'c', 3, 'waitall'], ['send', 'c', 'more'], ['close', 's'], ['recv', 'c', 10],
    ['getpeername', 'c'], ['close', 'c'], ['close', 'l'],
  ],
  'calls on an unconnected socket, then on a listener': [
    ['socket', 'a'], ['recv', 'a', 4], ['send', 'a', 'x'], ['shutdown', 'a', 'wr'], ['getpeername', 'a'],
    ['bind', 'a', '127.0.0.1', 0], ['bind', 'a', '127.0.0.1', 0], ['listen', 'a', 5], ['listen', 'a', 10],
    ['connect', 'a', '127.0.0.1', '@a'], ['recv', 'a', 4], ['send', 'a', 'x'], ['getpeername', 'a'],
  ],
  'address conflicts and SO_REUSEADDR': [
    ['socket', 'l'], ['bind', 'l', '127.0.0.1', 0], ['listen', 'l', 5],
    ['socket', 'b'], ['bind', 'b', '127.0.0.1', '@l'], ['reuseaddr', 'b'], ['bind', 'b', '127.0.0.1', '@l'],
    ['bind', 'b', '0.0.0.0', '@l'], ['bind', 'b', '10.9.9.9', 0], ['close', 'l'], ['bind', 'b', '127.0.0.1', '@l'],
  ],
  'SO_LINGER zero resets: ECONNRESET once, then end of file, then EPIPE': [
    ['socket', 'l'], ['bind', 'l', '127.0.0.1', 0], ['listen', 'l', 5],
    ['socket', 'c'], ['connect', 'c', '127.0.0.1', '@l'], ['accept', 'l', 's'],
    ['linger0', 's'], ['close', 's'], ['sleep'], ['recv', 'c', 4], ['recv', 'c', 4], ['send', 'c', 'x'], ['soerror', 'c'],
  ],
  'closing with unread data resets the peer': [
    ['socket', 'l'], ['bind', 'l', '127.0.0.1', 0], ['listen', 'l', 5],
    ['socket', 'c'], ['connect', 'c', '127.0.0.1', '@l'], ['accept', 'l', 's'],
    ['send', 'c', 'unread'], ['sleep'], ['close', 's'], ['sleep'], ['send', 'c', 'x'], ['sleep'], ['recv', 'c', 4],
  ],
  'non-blocking connect, MSG_PEEK and MSG_DONTWAIT': [
    ['socket', 'l'], ['bind', 'l', '127.0.0.1', 0], ['listen', 'l', 5],
    ['socket', 'n', 'nb'], ['connect', 'n', '127.0.0.1', '@l'], ['sleep'], ['soerror', 'n'], ['connect', 'n', '127.0.0.1', '@l'],
    ['accept', 'l', 's'], ['recv', 'n', 4, 'dontwait'], ['send', 's', 'abcdef'], ['sleep'],
    ['recv', 'n', 2, 'peek'], ['recv', 'n', 6], ['shutdown', 's', 'rdwr'], ['sleep'], ['recv', 'n', 4],
  ],
  'a connected socket cannot listen or bind again': [
    ['socket', 'l'], ['bind', 'l', '127.0.0.1', 0], ['listen', 'l', 5],
    ['socket', 'c'], ['connect', 'c', '127.0.0.1', '@l'], ['listen', 'c', 5], ['bind', 'c', '127.0.0.1', 0],
    ['connect', 'c', '127.0.0.1', '@l'], ['shutdown', 'c', 'rd'], ['recv', 'c', 4],
  ],
  'accept on a socket that is not listening; send after shutdown': [
    ['socket', 'a'], ['accept', 'a', 'x'], ['bind', 'a', '127.0.0.1', 0], ['accept', 'a', 'x'],
    ['socket', 'l'], ['bind', 'l', '127.0.0.1', 0], ['listen', 'l', 0],
    ['socket', 'c'], ['connect', 'c', '127.0.0.1', '@l'], ['accept', 'l', 's'],
    ['shutdown', 'c', 'wr'], ['send', 'c', 'x'], ['soerror', 'c'], ['recv', 's', 4], ['send', 's', 'ok'], ['recv', 'c', 2, 'waitall'],
    ['shutdown', 's', 'rdwr'], ['send', 's', 'x'], ['recv', 's', 4], ['shutdown', 's', 'wr'],
  ],
  'closing a listener resets the connections it had not accepted': [
    ['socket', 'l'], ['bind', 'l', '127.0.0.1', 0], ['listen', 'l', 5],
    ['socket', 'c'], ['connect', 'c', '127.0.0.1', '@l'], ['sleep'], ['close', 'l'], ['sleep'],
    ['recv', 'c', 4], ['recv', 'c', 4], ['send', 'c', 'x'],
  ],
  'a bound port is taken for 0.0.0.0 and the same address, until closed': [
    ['socket', 'a'], ['bind', 'a', '127.0.0.1', 0],
    ['socket', 'b'], ['bind', 'b', '0.0.0.0', '@a'], ['bind', 'b', '127.0.0.1', '@a'],
    ['reuseaddr', 'a'], ['reuseaddr', 'b'], ['bind', 'b', '127.0.0.1', '@a'],
  ],
};

function linux(ops: Op[]): unknown[] {
  const out = execFileSync('python3', [path.join(import.meta.dirname, 'sock_runner.py')], { input: JSON.stringify(ops) });
  return JSON.parse(out.toString()) as unknown[];
}

async function kernel(ops: Op[]): Promise<unknown[]> {
  const k = await boot();
  const sys = k.sys as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const fds = new Map<string, number>();
  const fd = (h: string | number): number => fds.get(String(h))!;
  const port = async (ref: string | number): Promise<number> =>
    typeof ref === 'string' && ref.startsWith('@') ? ((await sys.getsockname!(fd(ref.slice(1)))) as { port: number }).port : Number(ref);
  const out: unknown[] = [];
  for (const [name, ...a] of ops) {
    try {
      let r: unknown = 'ok';
      switch (name) {
        case 'socket':
          fds.set(String(a[0]), (await sys.socket!(AF_INET, SOCK_STREAM | (a[1] === 'nb' ? SOCK_NONBLOCK : 0), 0)) as number);
          break;
        case 'bind': await sys.bind!(fd(a[0]!), { family: AF_INET, addr: a[1], port: await port(a[2]!) }); break;
        case 'listen': await sys.listen!(fd(a[0]!), a[1]); break;
        case 'connect': await sys.connect!(fd(a[0]!), { family: AF_INET, addr: a[1], port: await port(a[2]!) }); break;
        case 'accept': fds.set(String(a[1]), (await sys.accept!(fd(a[0]!))) as number); break;
        case 'send': r = await sys.send!(fd(a[0]!), new TextEncoder().encode(String(a[1])), MSG_NOSIGNAL); break;
        case 'recv': {
          let flags = 0;
          for (const f of a.slice(2)) flags |= f === 'peek' ? MSG_PEEK : f === 'dontwait' ? MSG_DONTWAIT : MSG_WAITALL;
          const buf = new Uint8Array(Number(a[1]));
          const [n] = (await sys.recvfrom!(fd(a[0]!), buf, flags)) as [number];
          r = new TextDecoder().decode(buf.subarray(0, n));
          break;
        }
        case 'shutdown': await sys.shutdown!(fd(a[0]!), a[1] === 'rd' ? SHUT_RD : a[1] === 'wr' ? SHUT_WR : SHUT_RDWR); break;
        case 'close': await sys.close!(fd(a[0]!)); break;
        case 'soerror': {
          const e = (await sys.getsockopt!(fd(a[0]!), SOL_SOCKET, SO_ERROR)) as number;
          r = e === 0 ? 0 : ({ 104: 'ECONNRESET', 111: 'ECONNREFUSED', 32: 'EPIPE', 110: 'ETIMEDOUT' } as Record<number, string>)[e] ?? e;
          break;
        }
        case 'reuseaddr': await sys.setsockopt!(fd(a[0]!), SOL_SOCKET, SO_REUSEADDR, 1); break;
        case 'linger0': await sys.setsockopt!(fd(a[0]!), SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 }); break;
        case 'getpeername': await sys.getpeername!(fd(a[0]!)); break;
        case 'sleep': await new Promise((res) => setTimeout(res, 100)); break;
        default: r = `unknown op ${name}`;
      }
      out.push(r);
    } catch (e) {
      out.push((e as { code?: string }).code ?? String(e));
    }
  }
  await k.shutdown();
  return out;
}

function havePython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import socket'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const python = process.platform === 'linux' && havePython();
if (!python && process.env.CI !== 'true') console.warn('tcp_conformance.test: skipped, needs python3 on Linux for the host target');

describe.skipIf(!python && process.env.CI !== 'true')('TCP socket conformance: the kernel and Linux agree step by step', () => {
  for (const [name, ops] of Object.entries(SCENARIOS)) {
    it(name, async () => {
      const want = linux(ops);
      const got = await kernel(ops);
      expect(got.map((r, i) => `${JSON.stringify(ops[i])} -> ${JSON.stringify(r)}`)).toEqual(want.map((r, i) => `${JSON.stringify(ops[i])} -> ${JSON.stringify(r)}`));
    });
  }
});
