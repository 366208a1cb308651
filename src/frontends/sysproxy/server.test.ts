/**
 * The socket server and connect() client end to end: arguments of every kind
 * reach the kernel intact, many calls share a connection, large transfers
 * stream, dropped connections leave nothing behind, bad bytes end only their
 * own connection, and the security rules hold (socket mode, TCP token,
 * credentials).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { boot, type BootedKernel } from '../library/boot.ts';
import { defineSyscall, KernelError } from '../../kern/index.ts';
import { serve, parseAddress, type SysproxyServer } from './server.ts';
import { connect, type RemoteKernel } from './client.ts';
import { FrameReader, FrameType, PROTO_VERSION, decodeValue, emitFrame, encodeValue, parseFrame, type Frame } from './protocol.ts';

/** Test-only calls: echo every argument kind back, and a buffer call the proxy knows nothing about. */
const KINDS = ['int', 'uint', 'fd', 'off', 'path', 'str', 'buf', 'bufs', 'ints', 'obj', 'any'] as const;
const testSyscalls = [
  defineSyscall('test_echo', -1, KINDS.map((k) => `${k}?` as const), (_td, ...args: unknown[]) => args),
  // In-out buffer (not in the direction table): reverses it in place, returns the sum.
  defineSyscall('test_reverse', -1, ['buf'], (_td, b: Uint8Array) => {
    b.reverse();
    return b.reduce((s, x) => s + x, 0);
  }),
];

let dir: string;
let k: BootedKernel;
let srv: SysproxyServer;
const clients: RemoteKernel[] = [];

async function client(opts = {}): Promise<RemoteKernel> {
  const c = await connect(srv.address, opts);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-sysproxy-'));
  k = await boot();
  k.kernel.syscalls.register(testSyscalls);
  k.kernel.rebuildSys();
  srv = await serve({ listen: `unix:${path.join(dir, 'k.sock')}`, kernel: k });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await srv.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** What the server leaves behind once every connection is gone. */
async function leaks(): Promise<string[]> {
  for (const c of clients.splice(0)) await c.close();
  await srv.service.whenIdle();
  const r = k.kernel.leakReport();
  return [...r.openFiles, ...r.processes, ...r.heldLocks, ...r.other];
}

/** A raw socket speaking frames by hand. */
async function raw(): Promise<{ sock: net.Socket; frames: Frame[]; closed: Promise<void>; send(b: Uint8Array): void }> {
  const addr = parseAddress(srv.address);
  const sock = addr.kind === 'unix' ? net.connect(addr.path) : net.connect(addr.port, addr.host);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const frames: Frame[] = [];
  const reader = new FrameReader(1 << 26);
  sock.on('data', (d) => frames.push(...reader.push(new Uint8Array(d))));
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  return { sock, frames, closed, send: (b) => sock.write(b) };
}

const hello = (extra: Record<string, unknown> = {}): Uint8Array => emitFrame(FrameType.HELLO, 1, encodeValue({ version: PROTO_VERSION, ...extra }));

describe('system calls through the unix socket', () => {
  it('have the same names and results as k.sys', async () => {
    const c = await client();
    const local = Object.keys(k.sys).sort();
    expect(Object.keys(c.sys).sort()).toEqual(local);
    expect(await c.sys.getpid()).toBe(c.pid);
    expect(await c.sys.getppid()).toBe(1);
    expect(await c.sys.uname()).toEqual(await k.sys.uname());
    const ps = (await c.sys.ps()) as { pid: number; comm: string }[];
    expect(ps.find((p) => p.pid === c.pid)?.comm).toBe('sysproxy:client');
  });

  it('reject with KernelError carrying code, errno and syscall', async () => {
    const c = await client();
    const e = await c.sys.close(4000).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KernelError);
    expect(e).toMatchObject({ code: 'EBADF', errno: 9, syscall: 'close' });
    // Wrongly typed arguments get the errno library mode gives, and the connection lives on.
    const local = await k.sys.read('x' as never, new Uint8Array(1)).catch((x: KernelError) => x.code);
    expect(await c.sys.read('x' as never, new Uint8Array(1)).catch((x: KernelError) => x.code)).toBe(local);
    expect(await c.sys.write(0, 'not bytes' as never).catch((x: KernelError) => x.code)).toBe('EFAULT');
    expect(await c.sys.getpid()).toBe(c.pid);
  });

  it('carry every argument kind intact (property: remote echo equals local echo)', async () => {
    const c = await client();
    const sys = c.sys as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const local = k.sys as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    // No own "__proto__" keys at any depth: the protocol refuses them (fast-check generates them on purpose).
    const json: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 }).filter((v) => !JSON.stringify(v).includes('"__proto__":'));
    const arg = fc.tuple(
      fc.integer(), fc.nat(), fc.integer({ min: -1, max: 1 << 20 }),
      fc.oneof(fc.maxSafeNat(), fc.bigInt({ min: 0n, max: 1n << 62n })),
      fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !s.includes('\0')), fc.uint8Array({ maxLength: 10 })),
      fc.string({ maxLength: 30 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 4 }),
      fc.array(fc.integer(), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 5 }).filter((s) => s !== '__proto__'), json, { maxKeys: 4, noNullPrototype: true }),
      json,
    );
    await fc.assert(fc.asyncProperty(arg, async (args) => {
      // Same value, or the same errno (the kernel's own argument checks apply on both paths).
      const settle = (p: Promise<unknown>): Promise<unknown> => p.then((v) => ({ v }), (e: KernelError) => ({ code: e.code, path: e.path }));
      const want = await settle(local.test_echo!(...args));
      const got = await settle(sys.test_echo!(...args));
      expect(got).toEqual(want);
    }), { numRuns: 150 });
  });

  it('send in-out buffers both ways and out-buffers back trimmed to the count', async () => {
    const c = await client();
    const b = new Uint8Array([1, 2, 3, 250]);
    expect(await (c.sys as unknown as Record<string, (b: Uint8Array) => Promise<number>>).test_reverse!(b)).toBe(256);
    expect([...b]).toEqual([250, 3, 2, 1]);
    const [r, w] = await c.sys.pipe();
    expect(await c.sys.write(w, new TextEncoder().encode('hello'))).toBe(5);
    const buf = new Uint8Array(100).fill(7);
    expect(await c.sys.read(r, buf)).toBe(5);
    expect(new TextDecoder().decode(buf.subarray(0, 5))).toBe('hello');
    expect(buf[5]).toBe(7); // beyond the count: untouched
    const v = [new Uint8Array(2), new Uint8Array(3)];
    await c.sys.writev(w, [new Uint8Array([1, 2]), new Uint8Array([3, 4, 5])]);
    expect(await c.sys.readv(r, v)).toBe(5);
    expect(v.map((x) => [...x])).toEqual([[1, 2], [3, 4, 5]]);
  });

  it('keep many calls in flight on one connection', async () => {
    const c = await client();
    const [r, w] = await c.sys.pipe();
    // A read that blocks until the end; everything else must complete meanwhile.
    const buf = new Uint8Array(4);
    let readDone = false;
    const blocked = c.sys.read(r, buf).then((n) => { readDone = true; return n; });
    const many = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? c.sys.getpid() : i % 3 === 1 ? c.sys.getuid() : c.sys.clock_getres(1))));
    expect(many.filter((x) => x === c.pid)).toHaveLength(100);
    expect(readDone).toBe(false);
    await c.sys.write(w, new Uint8Array([9, 8, 7, 6]));
    expect(await blocked).toBe(4);
    expect([...buf]).toEqual([9, 8, 7, 6]);
  });

  it('move 8 MiB through a pipe in both directions, byte for byte', async () => {
    const c = await client();
    const [r, w] = await c.sys.pipe();
    const size = 8 << 20;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 4) new DataView(data.buffer).setUint32(i, i * 2654435761 >>> 0, true);
    const writer = c.sys.write(w, data);
    const got = new Uint8Array(size);
    let have = 0;
    while (have < size) {
      const n = await c.sys.read(r, got.subarray(have));
      expect(n).toBeGreaterThan(0);
      have += n;
    }
    expect(await writer).toBe(size);
    expect(Buffer.compare(got, data)).toBe(0);
    // And an 8 MiB out-buffer streamed back in DATA frames.
    const rnd = new Uint8Array(size);
    expect(await c.sys.getrandom(rnd, 0)).toBe(size);
    expect(rnd.subarray(size - 4096).some((x) => x !== 0)).toBe(true);
  });

  it('fork gives a child context with a copy of the fd table', async () => {
    const c = await client();
    const [r, w] = await c.sys.pipe();
    const child = await c.fork();
    expect(child.pid).not.toBe(c.pid);
    expect(await child.sys.getpid()).toBe(child.pid);
    expect(await child.sys.getppid()).toBe(c.pid);
    await child.sys.write(w, new Uint8Array([42]));
    await child.sys.close(w);
    const b = new Uint8Array(1);
    expect(await c.sys.read(r, b)).toBe(1);
    expect(b[0]).toBe(42);
    await child.exit(3);
    // The zombie is the parent's to reap, through the kernel's wait4.
    const st = (await c.sys.wait4(child.pid, 0)) as unknown;
    expect(JSON.stringify(st)).toContain(String(child.pid));
    expect(await child.sys.getpid().catch((e: KernelError) => e.code)).toBe('ESRCH');
  });
});

describe('connection lifecycle', () => {
  it('a forked context can be taken over by a new connection with its ticket', async () => {
    const parent = await client({ uid: 1000, gid: 1000 });
    const [r, w] = await parent.sys.pipe();
    const child = await parent.fork();
    expect(child.ticket).toMatch(/^[0-9a-f]{32}$/);
    const attached = await client({ attach: child.ticket! });
    expect(attached.pid).toBe(child.pid);
    expect(await attached.sys.getuid()).toBe(1000);
    expect(await attached.sys.getppid()).toBe(parent.pid);
    await attached.sys.write(w, new Uint8Array([5])); // the fork's copy of the descriptor
    const b = new Uint8Array(1);
    expect(await parent.sys.read(r, b)).toBe(1);
    // The old handle no longer reaches it; a ticket works once.
    await expect(child.sys.getpid()).rejects.toMatchObject({ code: 'ESRCH' });
    await expect(connect(srv.address, { attach: child.ticket! })).rejects.toThrow(/no forked process waits for this attach ticket/);
    await expect(connect(srv.address, { attach: child.ticket!, uid: 0 })).rejects.toThrow(/EINVAL/);
    // Closing the parent's connection leaves the attached process alone...
    await parent.close();
    clients.splice(clients.indexOf(parent), 1);
    while (srv.service.conns.size > 1) await new Promise((res) => setImmediate(res));
    expect(await attached.sys.getpid()).toBe(child.pid);
    // ...and closing its own connection ends it.
    expect(await leaks()).toEqual([]);
  });

  it('a dropped connection takes its processes and descriptors with it, even mid-call', async () => {
    const a = await client();
    const b = await client();
    const [r] = await a.sys.pipe();
    const child = await a.fork();
    await child.sys.pipe();
    const pending = a.sys.read(r, new Uint8Array(10)).catch((e: KernelError) => e.code); // blocks forever
    // A process made by the kernel's own fork(2), holding copies of a's descriptors.
    const grandchild = (await child.sys.fork()) as number;
    const pids = [a.pid, child.pid, grandchild];
    await a.close();
    expect(await pending).toBe('ECONNRESET');
    clients.splice(clients.indexOf(a), 1);
    await b.sys.getpid(); // still served
    // Wait until the server has torn a's connection down (b remains).
    while (srv.service.conns.size > 1) await new Promise((res) => setImmediate(res));
    const ps = (await b.sys.ps()) as { pid: number }[];
    for (const pid of pids) expect(ps.some((p) => p.pid === pid)).toBe(false);
    expect(await leaks()).toEqual([]);
  });

  it('what a forked context leaves behind when it exits stays in the connection\'s tree and ends with it', async () => {
    const a = await client({ comm: 'tree' });
    const child = await a.fork();
    // Two processes made by the kernel's own fork(2) in the context: one is killed (a zombie), one runs.
    const running = (await child.sys.fork()) as number;
    const killed = (await child.sys.fork()) as number;
    await child.sys.kill(killed, 9);
    await child.exit(0);
    // Orphaned by the exit, both are adopted by the connection's process, not by init.
    const byPid = new Map(((await a.sys.ps()) as { pid: number; ppid: number; state: string }[]).map((p) => [p.pid, p]));
    expect(byPid.get(running)).toMatchObject({ ppid: a.pid, state: 'alive' });
    expect(byPid.get(killed)).toMatchObject({ ppid: a.pid, state: 'zombie' });
    // Renaming nothing and matching no name, the disconnect ends and reaps all of them.
    expect(await leaks()).toEqual([]);
  });

  it('a process the kernel only lends to a connection (accept\'s adopt) is neither made a subreaper nor ended', async () => {
    const p = k.rfork({ comm: 'lent' }).proc;
    const sent: Uint8Array[] = [];
    const conn = srv.service.accept({ send: (fs) => sent.push(...fs), send1: (f) => sent.push(f), close: () => {} }, 'lent', { adopt: p });
    conn.receive(parseFrame(hello(), 1 << 20));
    expect(sent.map((f) => parseFrame(f, 1 << 26).type)).toEqual([FrameType.WELCOME]);
    expect(p.subreaper).toBe(false);
    conn.lost('test over');
    await srv.service.whenIdle();
    expect(p.state).toBe('alive');
    await k.kernel.exitProc(p, 0);
    k.kernel.reap(p);
  });

  it('halt: refused to a non-root client, honoured for root, with a clean leak report', async () => {
    const user = await client({ uid: 1000, gid: 1000 });
    await expect(user.halt()).rejects.toMatchObject({ code: 'EPERM' });
    await user.close();
    clients.length = 0;
    const root = await client();
    await root.halt();
    const report = await srv.halted;
    expect(report.clean).toBe(true);
    await root.closed;
    clients.length = 0;
  });
});

describe('robustness: bad input ends only its own connection', () => {
  const cases: [string, (s: (b: Uint8Array) => void) => void, RegExp][] = [
    ['random bytes', (s) => s(new Uint8Array([5, 0, 0, 0, 9, 9, 9, 9, 9])), /version|type|truncated/],
    ['an oversized frame', (s) => { const h = new Uint8Array(8); new DataView(h.buffer).setUint32(0, 1 << 30, true); s(h); }, /exceeds the limit/],
    ['a CALL before HELLO', (s) => s(emitFrame(FrameType.CALL, 1, new Uint8Array(7))), /HELLO first/],
    ['a wrongly typed HELLO', (s) => s(emitFrame(FrameType.HELLO, 1, encodeValue({ version: 1, uid: 'root' }))), /bad HELLO/],
    ['a HELLO that is not a value', (s) => s(emitFrame(FrameType.HELLO, 1, new Uint8Array([99]))), /unknown value tag/],
    ['an unknown syscall id', (s) => { s(hello()); s(emitFrame(FrameType.CALL, 2, new Uint8Array([0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0, 0]))); }, /syscall id/],
    ['truncated CALL arguments', (s) => { s(hello()); s(emitFrame(FrameType.CALL, 2, new Uint8Array([0, 0, 0, 0, 0, 0, 10, 5, 0, 0, 0]))); }, /truncated|elements/],
    ['a server-only frame type', (s) => { s(hello()); s(emitFrame(FrameType.REPLY, 2, encodeValue(null))); }, /may not send/],
    ['DATA nobody asked for', (s) => { s(hello()); s(emitFrame(FrameType.DATA, 9, new Uint8Array(3))); }, /expects none/],
  ];
  for (const [what, act, msg] of cases) {
    it(`${what}: FATAL with a reason, connection closed, others unaffected`, async () => {
      const good = await client();
      const bad = await raw();
      act(bad.send);
      await bad.closed;
      const fatal = bad.frames.find((f) => f.type === FrameType.FATAL);
      expect(fatal).toBeDefined();
      const body = decodeValue(fatal!.body) as { code: string; message: string };
      expect(body.message).toMatch(msg);
      expect(await good.sys.getpid()).toBe(good.pid);
      expect(await leaks()).toEqual([]);
    });
  }

  it('random frames after a valid HELLO never crash the server (property)', async () => {
    const good = await client();
    // CALL, DATA, FORK, EXIT with random bodies (HALT would legitimately stop the server).
    await fc.assert(fc.asyncProperty(fc.constantFrom(3, 6, 7, 8), fc.uint8Array({ maxLength: 40 }), async (type, body) => {
      const bad = await raw();
      bad.send(hello());
      bad.send(emitFrame(type, 5, body));
      // An answer, a FATAL, or silence (a CALL still waiting for its DATA); then we hang up.
      let closed = false;
      void bad.closed.then(() => { closed = true; });
      for (let i = 0; i < 50 && bad.frames.length < 2 && !closed; i++) await new Promise((r) => setImmediate(r));
      bad.sock.destroy();
      await bad.closed;
      expect(await good.sys.getpid()).toBe(good.pid);
    }), { numRuns: 60 });
    expect(await leaks()).toEqual([]);
  });

  it('a client disconnecting half-way through a frame or its DATA leaves nothing', async () => {
    const bad = await raw();
    bad.send(hello());
    const f = emitFrame(FrameType.CALL, 2, new Uint8Array(20));
    bad.send(f.subarray(0, 15));
    bad.sock.destroy();
    await bad.closed;
    expect(await leaks()).toEqual([]);
  });

  it('too many calls in flight is refused', async () => {
    await srv.close();
    srv = await serve({ listen: `unix:${path.join(dir, 'k2.sock')}`, kernel: k, limits: { maxInFlight: 2 } });
    const bad = await raw();
    bad.send(hello());
    while (bad.frames.length === 0) await new Promise((r) => setImmediate(r));
    const welcome = decodeValue(bad.frames[0]!.body) as { syscalls: [string][] };
    const nanosleep = welcome.syscalls.findIndex(([n]) => n === 'nanosleep');
    const call = (id: number): Uint8Array => {
      const body = new Uint8Array(6 + encodeValue([{ sec: 1000, nsec: 0 }]).byteLength);
      new DataView(body.buffer).setUint16(4, nanosleep, true);
      body.set(encodeValue([{ sec: 1000, nsec: 0 }]), 6);
      return emitFrame(FrameType.CALL, id, body);
    };
    for (let i = 0; i < 3; i++) bad.send(call(10 + i));
    await bad.closed;
    const fatal = bad.frames.find((f) => f.type === FrameType.FATAL)!;
    expect((decodeValue(fatal.body) as { message: string }).message).toMatch(/in flight/);
    expect(await leaks()).toEqual([]);
  });

  it('staging is bounded per connection: a flood of announced DATA is refused, a real client queues', async () => {
    await srv.close();
    srv = await serve({ listen: `unix:${path.join(dir, 'k4.sock')}`, kernel: k, limits: { maxTransfer: 1 << 20, maxStaged: 1 << 20 } });
    // A well-behaved client with 8 concurrent 512 KiB writes waits for budget instead of tripping it.
    const c = await client();
    const [r, w] = await c.sys.pipe();
    const chunk = new Uint8Array(512 * 1024).fill(3);
    const writes = Array.from({ length: 8 }, () => c.sys.write(w, chunk));
    const got = new Uint8Array(8 * chunk.byteLength);
    let have = 0;
    while (have < got.byteLength) have += await c.sys.read(r, got.subarray(have));
    expect(await Promise.all(writes)).toEqual(Array(8).fill(chunk.byteLength));
    expect(got.every((x) => x === 3)).toBe(true);
    // A raw client announcing 2 × 768 KiB of DATA it never sends is cut off.
    const bad = await raw();
    bad.send(hello());
    while (bad.frames.length === 0) await new Promise((res) => setImmediate(res));
    const welcome = decodeValue(bad.frames[0]!.body) as { syscalls: [string][] };
    const write = welcome.syscalls.findIndex(([n]) => n === 'write');
    const inbuf = (id: number): Uint8Array => {
      const args = encodeValue([1, null]);
      args[args.length - 1] = 13; // InBuf tag in place of null...
      const body = new Uint8Array(6 + args.byteLength + 4);
      new DataView(body.buffer).setUint16(4, write, true);
      body.set(args, 6);
      new DataView(body.buffer).setUint32(6 + args.byteLength, 768 * 1024, true); // ...with its length
      return emitFrame(FrameType.CALL, id, body);
    };
    bad.send(inbuf(2));
    bad.send(inbuf(3));
    await bad.closed;
    const fatal = bad.frames.find((f) => f.type === FrameType.FATAL)!;
    expect((decodeValue(fatal.body) as { message: string }).message).toMatch(/would stage .* the limit is 1048576/);
    expect(await c.sys.getpid()).toBe(c.pid);
  });

  it('a connection that never says HELLO is closed', async () => {
    await srv.close();
    srv = await serve({ listen: `unix:${path.join(dir, 'k5.sock')}`, kernel: k, helloTimeoutMs: 50 });
    const quiet = await raw();
    await quiet.closed;
    const fatal = quiet.frames.find((f) => f.type === FrameType.FATAL)!;
    expect((decodeValue(fatal.body) as { message: string }).message).toMatch(/no complete HELLO within 50 ms/);
  });

  it('per-connection RLIMIT_NOFILE', async () => {
    await srv.close();
    srv = await serve({ listen: `unix:${path.join(dir, 'k3.sock')}`, kernel: k, limits: { maxFds: 6 } });
    const c = await client();
    await c.sys.pipe();
    await c.sys.pipe();
    await c.sys.pipe();
    await expect(c.sys.pipe()).rejects.toMatchObject({ code: 'EMFILE' });
  });
});

describe('security', () => {
  it('the unix socket is mode 0600 unless told otherwise', async () => {
    expect(fs.statSync(path.join(dir, 'k.sock')).mode & 0o777).toBe(0o600);
    const s2 = await serve({ listen: `unix:${path.join(dir, 'g.sock')}`, kernel: k, socketMode: 0o660 });
    expect(fs.statSync(path.join(dir, 'g.sock')).mode & 0o777).toBe(0o660);
    await s2.close();
  });

  it('refuses to start on a live socket or a non-socket path', async () => {
    await expect(serve({ listen: `unix:${path.join(dir, 'k.sock')}`, kernel: k })).rejects.toThrow(/already listening/);
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    await expect(serve({ listen: `unix:${path.join(dir, 'file')}`, kernel: k })).rejects.toThrow(/not a socket/);
  });

  it('TCP needs a token: none configured refuses to start; none or a wrong one refuses the client', async () => {
    await expect(serve({ listen: 'tcp:127.0.0.1:0', kernel: k })).rejects.toThrow(/token/);
    const tcp = await serve({ listen: 'tcp:127.0.0.1:0', kernel: k, token: 's3cret' });
    try {
      await expect(connect(tcp.address)).rejects.toThrow(/requires a token/);
      await expect(connect(tcp.address, { token: 'guess' })).rejects.toThrow(/wrong token/);
      fs.writeFileSync(path.join(dir, 'tok'), 's3cret\n');
      const c = await connect(tcp.address, { tokenFile: path.join(dir, 'tok') });
      expect(await c.sys.getpid()).toBe(c.pid);
      await c.close();
    } finally {
      await tcp.close();
    }
  });

  it('lowering credentials is allowed; the kernel then refuses to raise them', async () => {
    const c = await client({ uid: 1000, gid: 100, groups: [100, 5] });
    expect(await c.sys.getuid()).toBe(1000);
    expect(await c.sys.getgid()).toBe(100);
    expect(await c.sys.getgroups()).toEqual([5, 100]);
    await expect(c.sys.setuid(0)).rejects.toMatchObject({ code: 'EPERM' });
    await expect(c.sys.sysctl('kern.hostname', 'pwned')).rejects.toMatchObject({ code: 'EPERM' });
    const child = await c.fork();
    expect(await child.sys.getuid()).toBe(1000);
  });

  it('a non-root base cannot be raised by HELLO unless the server allows it', async () => {
    await srv.close();
    srv = await serve({ listen: `unix:${path.join(dir, 'u.sock')}`, kernel: k, cred: { uid: 1000, gid: 1000 } });
    const c = await client();
    expect(await c.sys.geteuid()).toBe(1000);
    await expect(connect(srv.address, { uid: 0 })).rejects.toThrow(/--allow-setcred/);
    await expect(connect(srv.address, { uid: 1000, gid: 1000, groups: [0] })).rejects.toThrow(/EPERM/);
    await srv.close();
    srv = await serve({ listen: `unix:${path.join(dir, 'a.sock')}`, kernel: k, cred: { uid: 1000, gid: 1000 }, allowSetcred: true });
    const r = await client({ uid: 0, gid: 0 });
    expect(await r.sys.geteuid()).toBe(0);
  });

  it('a non-root client cannot read a root-owned 0600 file', async (ctx) => {
    const sys = k.sys as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    if (typeof sys.open !== 'function') return ctx.skip(); // needs the VFS faction in the default boot
    const fd = (await sys.open('/secret', 0o101 /* O_WRONLY|O_CREAT */, 0o600)) as number;
    await sys.write!(fd, new TextEncoder().encode('root only'));
    await sys.close!(fd);
    const user = await client({ uid: 1000, gid: 1000 });
    const usys = user.sys as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    await expect(usys.open!('/secret', 0)).rejects.toMatchObject({ code: 'EACCES', path: '/secret' });
    const root = await client();
    const rsys = root.sys as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const rfd = (await rsys.open!('/secret', 0)) as number;
    const b = new Uint8Array(20);
    expect(await rsys.read!(rfd, b)).toBe(9);
    await rsys.close!(rfd);
    await sys.unlink!('/secret');
  });
});
