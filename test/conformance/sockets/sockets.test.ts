/**
 * Socket conformance, written once and run on two targets: the kernel
 * (k.sys through the library frontend) and the host's own Linux sockets
 * (host-sockets.py, Python's thin wrapper over the system calls). Each case
 * is a script of socket calls; the errno (or success) of every step, and
 * the bytes and addresses where a step returns them, must agree.
 *
 * UDP cases use 127.0.0.1 ports chosen per run; AF_UNIX cases relative paths
 * (a fresh directory on the host, the kernel's tmpfs root). TCP cases belong
 * here too once the kernel registers its (AF_INET, SOCK_STREAM) entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { boot, type BootedKernel } from '../../../src/frontends/library/boot.ts';

const AF_UNIX = 1, AF_INET = 2, SOCK_STREAM = 1, SOCK_DGRAM = 2, SHUT_WR = 1, SHUT_RD = 0, MSG_DONTWAIT = 0x40, MSG_PEEK = 2;
const SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_TYPE = 3, SO_ERROR = 4;
const P = 20000 + (process.pid % 20000);
const lo = (port: number) => ({ family: AF_INET, addr: '127.0.0.1', port });
const un = (p: string) => ({ family: AF_UNIX, path: p });

/** One step: op, arguments ('$name' refers to an earlier result), and where the result goes. */
type Step = [op: string, args: unknown[], as?: string | [string, string]];
type Outcome = { ok: unknown } | { err: string };

interface Target {
  name: string;
  call(op: string, args: unknown[]): Promise<Outcome>;
  reset(): Promise<void>;
}

function hostTarget(): Target & { stop(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aksock-'));
  let child: ChildProcess;
  let rl: readline.Interface;
  const waiting: ((l: string) => void)[] = [];
  const start = () => {
    child = spawn('python3', [path.join(import.meta.dirname, 'host-sockets.py')], { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
    rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (l) => waiting.shift()?.(l));
  };
  start();
  return {
    name: 'host',
    call(op, args) {
      return new Promise((resolve) => {
        waiting.push((l) => resolve(JSON.parse(l) as Outcome));
        child.stdin!.write(`${JSON.stringify({ op, args })}\n`);
      });
    },
    async reset() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill();
      await exited;
      for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { force: true });
      start();
    },
    stop() {
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function kernelTarget(): Target & { stop(): Promise<void> } {
  let k: BootedKernel;
  const fresh = async () => { k = await boot({ components: ['kern', 'vfs', 'tmpfs', 'net'] }); };
  const ready = fresh();
  const sys = () => k.sys as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const norm = (op: string, v: unknown): unknown => {
    if (op === 'recv') return Array.from((v as Uint8Array));
    return v;
  };
  return {
    name: 'kernel',
    async call(op, args) {
      await ready;
      try {
        let v: unknown;
        switch (op) {
          case 'recv': {
            const buf = new Uint8Array(args[1] as number);
            const [n] = (await sys().recvfrom!(args[0], buf, (args[2] as number | undefined) ?? 0)) as [number];
            v = buf.subarray(0, n);
            break;
          }
          case 'send': v = await sys().send!(args[0], new Uint8Array(args[1] as number[]), (args[2] as number | undefined) ?? 0); break;
          case 'sendto': v = await sys().sendto!(args[0], new Uint8Array(args[1] as number[]), args[2], args[3]); break;
          case 'setnonblock': v = await sys().fcntl!(args[0], 4 /* F_SETFL */, 0o4000); v = 0; break;
          case 'bind': case 'connect': case 'listen': case 'shutdown': case 'close': case 'setsockopt':
            await sys()[op]!(...args); v = 0; break;
          default: v = await sys()[op]!(...args);
        }
        return { ok: norm(op, v) };
      } catch (e) {
        return { err: (e as { code?: string }).code ?? String(e) };
      }
    },
    async reset() {
      await ready;
      await k.shutdown();
      await fresh();
    },
    async stop() {
      await ready;
      await k.shutdown();
    },
  };
}

/** Run a script; the list of outcomes, with addresses reduced to what both targets share. */
async function runScript(t: Target, steps: Step[]): Promise<unknown[]> {
  const names = new Map<string, unknown>();
  const sub = (a: unknown): unknown => (typeof a === 'string' && a.startsWith('$') ? names.get(a.slice(1)) : a);
  const out: unknown[] = [];
  for (const [op, args, as] of steps) {
    const r = await t.call(op, args.map(sub));
    if ('ok' in r && as !== undefined) {
      if (Array.isArray(as)) { const [x, y] = r.ok as [unknown, unknown]; names.set(as[0], x); names.set(as[1], y); }
      else names.set(as, r.ok);
    }
    if ('err' in r) out.push(`${op}: ${r.err}`);
    else if (op === 'getsockname' || op === 'getpeername') {
      const a = r.ok as { family: number; addr?: string; port?: number; path?: string };
      out.push(`${op}: ${a.family === AF_UNIX ? `unix '${a.path}'` : `inet ${a.addr}${a.port === 0 ? ':0' : ''}`}`);
    } else if (op === 'socket' || op === 'accept' || op === 'socketpair') out.push(`${op}: ok`);
    else out.push(`${op}: ${JSON.stringify(r.ok)}`);
  }
  return out;
}

const CASES: Record<string, Step[]> = {
  'UDP bind errors': [
    ['socket', [AF_INET, SOCK_DGRAM, 0], 'a'], ['socket', [AF_INET, SOCK_DGRAM, 0], 'b'],
    ['bind', ['$a', lo(P)]], ['bind', ['$b', lo(P)]], ['bind', ['$a', lo(P + 1)]],
    ['bind', ['$b', { family: AF_INET, addr: '10.255.255.1', port: P + 2 }]],
    ['getsockname', ['$a']], ['getpeername', ['$a']], ['listen', ['$a', 1]], ['accept', ['$a']],
    ['shutdown', ['$b', SHUT_RD]], ['getsockopt', ['$a', SOL_SOCKET, SO_TYPE]],
  ],
  'UDP SO_REUSEADDR lets two sockets share a port': [
    ['socket', [AF_INET, SOCK_DGRAM, 0], 'a'], ['socket', [AF_INET, SOCK_DGRAM, 0], 'b'],
    ['setsockopt', ['$a', SOL_SOCKET, SO_REUSEADDR, 1]], ['setsockopt', ['$b', SOL_SOCKET, SO_REUSEADDR, 1]],
    ['bind', ['$a', lo(P + 3)]], ['bind', ['$b', lo(P + 3)]],
  ],
  'UDP datagrams, peek, boundaries, nonblocking': [
    ['socket', [AF_INET, SOCK_DGRAM, 0], 'r'], ['bind', ['$r', lo(P + 4)]], ['setnonblock', ['$r']],
    ['recv', ['$r', 10]],
    ['socket', [AF_INET, SOCK_DGRAM, 0], 's'], ['send', ['$s', [1]]], ['connect', ['$s', lo(P + 4)]],
    ['getpeername', ['$s']], ['send', ['$s', [1, 2, 3]]], ['send', ['$s', [4, 5]]],
    ['recv', ['$r', 2, MSG_PEEK]], ['recv', ['$r', 2]], ['recv', ['$r', 10]], ['recv', ['$r', 10, MSG_DONTWAIT]],
  ],
  'UDP port unreachable on a connected socket is ECONNREFUSED, once': [
    ['socket', [AF_INET, SOCK_DGRAM, 0], 's'], ['connect', ['$s', lo(P + 5)]], ['send', ['$s', [1]]],
    ['recv', ['$s', 4]], ['getsockopt', ['$s', SOL_SOCKET, SO_ERROR]], ['send', ['$s', [1]]], ['recv', ['$s', 4]],
    ['getsockopt', ['$s', SOL_SOCKET, SO_ERROR]],
  ],
  'AF_UNIX stream connect errors': [
    ['socket', [AF_UNIX, SOCK_STREAM, 0], 'a'], ['connect', ['$a', un('nobody.sock')]],
    ['listen', ['$a', 1]], ['accept', ['$a']], ['shutdown', ['$a', SHUT_WR]], ['getpeername', ['$a']],
    ['socket', [AF_UNIX, SOCK_STREAM, 0], 'b'], ['bind', ['$b', un('b.sock')]], ['connect', ['$a', un('b.sock')]],
    ['socket', [AF_UNIX, SOCK_STREAM, 0], 'c'], ['bind', ['$c', un('b.sock')]], ['bind', ['$b', un('b2.sock')]],
    ['socket', [AF_UNIX, SOCK_DGRAM, 0], 'd'], ['bind', ['$d', un('d.sock')]], ['connect', ['$a', un('d.sock')]],
    ['getsockname', ['$b']], ['getsockname', ['$c']],
  ],
  'AF_UNIX stream: accept, data, half-close, EOF, EPIPE, EISCONN': [
    ['socket', [AF_UNIX, SOCK_STREAM, 0], 'l'], ['bind', ['$l', un('l.sock')]], ['listen', ['$l', 4]],
    ['socket', [AF_UNIX, SOCK_STREAM, 0], 'c'], ['connect', ['$c', un('l.sock')]], ['connect', ['$c', un('l.sock')]],
    ['accept', ['$l'], 's'], ['getpeername', ['$c']], ['getpeername', ['$s']], ['getsockname', ['$s']],
    ['send', ['$c', [1, 2, 3, 4]]], ['recv', ['$s', 2]], ['recv', ['$s', 10]],
    ['shutdown', ['$c', SHUT_WR]], ['recv', ['$s', 10]], ['send', ['$c', [9], 0x4000]], ['send', ['$s', [7]]], ['recv', ['$c', 10]],
    ['close', ['$s']], ['recv', ['$c', 10]], ['send', ['$c', [1], 0x4000]],
  ],
  'AF_UNIX datagram sockets': [
    ['socket', [AF_UNIX, SOCK_DGRAM, 0], 'r'], ['bind', ['$r', un('r.sock')]], ['setnonblock', ['$r']],
    ['socket', [AF_UNIX, SOCK_DGRAM, 0], 's'], ['sendto', ['$s', [1, 2], 0, un('r.sock')]], ['sendto', ['$s', [3], 0, un('nobody.sock')]],
    ['send', ['$s', [1]]], ['recv', ['$r', 1]], ['recv', ['$r', 10]],
    ['socket', [AF_UNIX, SOCK_STREAM, 0], 'st'], ['bind', ['$st', un('st.sock')]], ['sendto', ['$s', [1], 0, un('st.sock')]],
    ['listen', ['$r', 1]], ['close', ['$r']], ['sendto', ['$s', [1], 0, un('r.sock')]],
  ],
  'TCP bind, listen and connect errors': [
    ['socket', [AF_INET, SOCK_STREAM, 0], 'b'],
    ['bind', ['$b', lo(P + 11)]], ['listen', ['$b', 4]], ['getsockopt', ['$b', SOL_SOCKET, 30 /* SO_ACCEPTCONN */]],
    ['socket', [AF_INET, SOCK_STREAM, 0], 'c'], ['bind', ['$c', lo(P + 11)]],
    ['setsockopt', ['$c', SOL_SOCKET, SO_REUSEADDR, 1]], ['bind', ['$c', lo(P + 11)]],
    ['socket', [AF_INET, SOCK_STREAM, 0], 'd'], ['setnonblock', ['$b']], ['accept', ['$b']], ['accept', ['$d']],
    ['shutdown', ['$d', SHUT_WR]], ['send', ['$d', [1], 0x4000]], ['recv', ['$d', 4]],
    ['socketpair', [AF_INET, SOCK_STREAM, 0]],
  ],
  'TCP connect, accept, data, half-close, EOF, EISCONN, EPIPE': [
    ['socket', [AF_INET, SOCK_STREAM, 0], 'l'], ['setsockopt', ['$l', SOL_SOCKET, SO_REUSEADDR, 1]],
    ['bind', ['$l', lo(P + 12)]], ['listen', ['$l', 4]],
    ['socket', [AF_INET, SOCK_STREAM, 0], 'c'], ['connect', ['$c', lo(P + 12)]], ['connect', ['$c', lo(P + 12)]],
    ['accept', ['$l'], 's'], ['getpeername', ['$c']], ['getsockname', ['$s']],
    ['send', ['$c', [1, 2, 3]]], ['recv', ['$s', 3, 0x100 /* MSG_WAITALL */]],
    ['shutdown', ['$c', SHUT_WR]], ['recv', ['$s', 10]], ['send', ['$s', [4, 5]]], ['recv', ['$c', 2, 0x100]],
    ['close', ['$s']], ['recv', ['$c', 10]],
    ['getsockopt', ['$c', SOL_SOCKET, SO_ERROR]],
  ],
  'TCP connect to a closed port is ECONNREFUSED': [
    ['socket', [AF_INET, SOCK_STREAM, 0], 'c'], ['connect', ['$c', lo(P + 13)]], ['getsockopt', ['$c', SOL_SOCKET, SO_ERROR]],
  ],
  // Linux: a refused connect leaves the socket closed and unconnected — getpeername is
  // ENOTCONN and connect may be tried again.
  'TCP after a refused connect the socket is unconnected and may connect again': [
    ['socket', [AF_INET, SOCK_STREAM, 0], 'c'], ['connect', ['$c', lo(P + 14)]], ['getpeername', ['$c']],
    ['connect', ['$c', lo(P + 14)]],
  ],
  'socketpair': [
    ['socketpair', [AF_UNIX, SOCK_STREAM, 0], ['a', 'b']], ['send', ['$a', [5, 6]]], ['recv', ['$b', 10]],
    ['getsockname', ['$a']], ['getpeername', ['$a']], ['close', ['$a']], ['recv', ['$b', 10]],
    ['socketpair', [AF_INET, SOCK_DGRAM, 0]],
  ],
};

/**
 * Where the kernel still differs from Linux. Each runs as `it.fails`: it
 * passes while the difference lasts and fails once the kernel is fixed —
 * then move the case into CASES.
 */
const KNOWN_DIFFERENCES: Record<string, Step[]> = {};

const hasPython = spawnSync('python3', ['-c', 'import socket']).status === 0;
if (!hasPython && process.env.CI) throw new Error('socket conformance: python3 is required in CI');

(hasPython ? describe : describe.skip)('socket conformance: kernel and Linux agree', () => {
  let host: ReturnType<typeof hostTarget>;
  let kern: ReturnType<typeof kernelTarget>;
  beforeAll(() => {
    host = hostTarget();
    kern = kernelTarget();
  });
  afterAll(async () => {
    host.stop();
    await kern.stop();
  });
  for (const [name, steps] of Object.entries(KNOWN_DIFFERENCES)) {
    it.fails(`known difference: ${name}`, async () => {
      await host.reset();
      await kern.reset();
      expect(await runScript(kern, steps)).toEqual(await runScript(host, steps));
    });
  }
  for (const [name, steps] of Object.entries(CASES)) {
    it(name, async () => {
      await host.reset();
      await kern.reset();
      const want = await runScript(host, steps);
      const got = await runScript(kern, steps);
      expect(got).toEqual(want);
    });
  }
});
