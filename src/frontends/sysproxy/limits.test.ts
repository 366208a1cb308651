/**
 * What one hostile client can make a served kernel hold. Each case runs
 * against a real `anykernel serve` child process (unix socket and TCP on
 * loopback), measures the server's resident memory from /proc/PID/status,
 * and checks that a well-behaved client keeps getting answers meanwhile.
 * Counts and times are bounded; nothing leaves loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClientConn, connect, RemoteKernel as RK, type RemoteKernel } from './client.ts';
import { FrameReader, FrameType } from './protocol.ts';
import { O_CREAT, O_RDONLY, O_WRONLY, RLIMIT_NOFILE, RLIMIT_NPROC } from '../../kern/index.ts';

const bin = path.resolve(import.meta.dirname, '../../../bin/anykernel.mjs');
const MiB = 1024 * 1024;

interface Server {
  child: ChildProcess;
  url: string;
  token: string;
  dir: string;
}

const servers: Server[] = [];

async function startServer(kind: 'unix' | 'tcp', extra: string[] = []): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-limits-'));
  const token = 'limits-test-token-0123456789';
  fs.writeFileSync(path.join(dir, 'token'), token);
  const listen = kind === 'unix' ? `unix:${path.join(dir, 's.sock')}` : 'tcp:127.0.0.1:0';
  const child = spawn(process.execPath, [bin, 'serve', '--listen', listen, '--token-file', path.join(dir, 'token'), ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving on (\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (c) => reject(new Error(`serve exited ${c}: ${err}`)));
  });
  const s = { child, url, token, dir };
  servers.push(s);
  return s;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** A raw socket to the server, for clients that do not behave. */
function rawSocket(url: string): Promise<net.Socket> {
  const m = /^(unix|tcp):(.*)$/.exec(url)!;
  const sock = m[1] === 'unix' ? net.connect(m[2]!) : net.connect(Number(m[2]!.split(':').pop()), '127.0.0.1');
  return new Promise((resolve, reject) => {
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

/** Resolves when the server closes the socket; with the FATAL code it sent, if any. */
function closedWith(sock: net.Socket): Promise<string | null> {
  return new Promise((resolve) => {
    const reader = new FrameReader(1 << 20);
    let code: string | null = null;
    sock.on('data', (d: Buffer) => {
      try {
        for (const f of reader.push(d)) if (f.type === FrameType.FATAL) code = /"?code"?\W+(E[A-Z0-9]+)/.exec(Buffer.from(f.body).toString('latin1'))?.[1] ?? 'FATAL';
      } catch { /* not ours to judge */ }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(code));
  });
}

/** A protocol client over a plain socket whose reading the test controls. */
async function rawClient(s: Server): Promise<{ sock: net.Socket; k: RemoteKernel }> {
  const sock = await rawSocket(s.url);
  const reader = new FrameReader(64 * MiB + 4096);
  const conn = new ClientConn({
    send: (frames) => { for (const f of frames) sock.write(f); },
    send1: (f) => sock.write(f),
    close: () => sock.end(),
  });
  sock.on('data', (d: Buffer) => { for (const f of reader.push(d)) conn.receive(f); });
  sock.on('error', () => undefined);
  sock.on('close', () => conn.lost('closed'));
  const welcome = await conn.hello({ token: s.token });
  return { sock, k: new RK(conn, welcome) };
}

async function stillAnswers(s: Server): Promise<void> {
  const c = await connect(s.url, { token: s.token });
  try {
    expect((await c.sys.stat('/')).mode & 0o170000).toBe(0o040000);
  } finally {
    await c.close();
  }
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.child.kill('SIGKILL');
    await new Promise((r) => s.child.once('exit', r));
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
});

describe('a hostile client cannot grow the server', () => {
  for (const kind of ['unix', 'tcp'] as const) {
    it(`refuses big frames before HELLO at once (${kind})`, async () => {
      // Every raw connection comes from 127.0.0.1: lift the per-address limit so that the frame limit is what answers.
      const s = await startServer(kind, ['--max-connections-per-peer', '1000']);
      await stillAnswers(s);
      const base = rssBytes(s.child.pid!);
      // 128 connections, each announcing a frame of 4 MiB - 1 and sending 1 MiB of it.
      const socks = await Promise.all(Array.from({ length: 128 }, () => rawSocket(s.url)));
      const ends = socks.map(closedWith);
      const head = Buffer.alloc(4);
      head.writeUInt32LE(4 * MiB - 1 - 4, 0);
      const junk = Buffer.alloc(MiB, 0x41);
      for (const sock of socks) {
        sock.write(head);
        sock.write(junk);
      }
      const codes = await Promise.all(ends);
      expect(new Set(codes)).toEqual(new Set(['EMSGSIZE']));
      expect(rssBytes(s.child.pid!) - base).toBeLessThan(64 * MiB);
      await stillAnswers(s);
    });
  }

  it('closes a client that dribbles its HELLO past the deadline, and one whose frame stalls after HELLO', async () => {
    const s = await startServer('unix', ['--hello-timeout', '300', '--frame-timeout', '300']);
    const a = await rawSocket(s.url);
    const aEnd = closedWith(a);
    a.write(Buffer.from([10, 0, 0])); // three bytes of a length prefix, then nothing
    expect(await aEnd).toBe('ETIMEDOUT');
    // After a real HELLO: the start of a 1000-byte frame, then silence.
    const { sock, k } = await rawClient(s);
    expect(await k.sys.getpid()).toBeGreaterThan(0);
    const end = closedWith(sock);
    const head = Buffer.alloc(14);
    head.writeUInt32LE(996, 0);
    sock.write(head);
    expect(await end).toBe('ETIMEDOUT');
    await stillAnswers(s);
  });

  it('limits connections in total and per TCP peer address, with a clear refusal', async () => {
    const s = await startServer('tcp', ['--max-connections', '8', '--max-connections-per-peer', '4']);
    const socks = await Promise.all(Array.from({ length: 6 }, () => rawSocket(s.url)));
    const ends = socks.map(closedWith);
    // The fifth and sixth from 127.0.0.1 are refused; the first four stay until we close them.
    const refused = await Promise.race([Promise.all([ends[4], ends[5]]), new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    expect(refused).toEqual(['EAGAIN', 'EAGAIN']);
    for (const x of socks) x.destroy();
    await Promise.all(ends);
    // The server notices the closes on its own turn: a new connection is admitted once it has.
    for (let i = 0; ; i++) {
      try {
        await stillAnswers(s);
        break;
      } catch (e) {
        if (i === 50 || !/EAGAIN/.test(String(e))) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });

  for (const kind of ['unix', 'tcp'] as const) {
    it(`back-pressures replies: a client that stops reading cannot queue 64 MiB reads without bound (${kind})`, async () => {
      const s = await startServer(kind);
      await stillAnswers(s);
      const base = rssBytes(s.child.pid!);
      const { sock, k } = await rawClient(s); // a plain socket, so that it can stop reading
      const fd = await k.sys.open('/dev/zero', O_RDONLY);
      sock.pause();
      // Twelve 64 MiB reads it never reads back: 768 MiB if the server held every reply.
      const reads = Array.from({ length: 12 }, () => k.sys.read(fd, new Uint8Array(64 * MiB)).catch(() => -1));
      await new Promise((r) => setTimeout(r, 1500));
      const grown = rssBytes(s.child.pid!) - base;
      await stillAnswers(s);
      expect(grown).toBeLessThan(256 * MiB);
      sock.resume();
      const got = await Promise.all(reads);
      for (const n of got) expect(n).toBeGreaterThan(0); // every read completed, some of them short
      await k.close();
    });

    it(`bounds the elements a frame may decode into (${kind})`, async () => {
      const s = await startServer(kind);
      const c = await connect(s.url, { token: s.token });
      // A sysctl value (an `any` argument) holding half a million nulls.
      const r = await c.sys.sysctl('kern.hostname', new Array(1 << 19).fill(null) as unknown as string).then(() => 'ok', (e: Error) => e.message);
      expect(r).toMatch(/ECONNRESET/);
      expect(await c.conn.closed).toMatch(/E2BIG: value holds more than 262144/);
      await stillAnswers(s);
    });

    it(`--max-fds is a hard limit an unprivileged client cannot raise (${kind})`, async () => {
      const s = await startServer(kind, ['--max-fds', '64', '--cred', '1000:1000']);
      const c = await connect(s.url, { token: s.token });
      expect(await c.sys.prlimit64(0, RLIMIT_NOFILE)).toEqual({ cur: 64, max: 64 });
      const up = await c.sys.prlimit64(0, RLIMIT_NOFILE, { cur: 1 << 20, max: 1 << 20 }).then(() => 'ok', (e: { code: string }) => e.code);
      expect(up).toBe('EPERM');
      let opened = 0;
      let last = 'ok';
      while (last === 'ok' && opened < 1000) last = await c.sys.open('/', O_RDONLY).then(() => { opened++; return 'ok'; }, (e: { code: string }) => e.code);
      expect(last).toBe('EMFILE');
      expect(opened).toBe(64);
      await c.close();
    });

    it(`an unprivileged client cannot fork without end (RLIMIT_NPROC) (${kind})`, async () => {
      const s = await startServer(kind, ['--memory', '64M', '--cred', '1000:1000']);
      const base = rssBytes(s.child.pid!);
      const c = await connect(s.url, { token: s.token });
      const { cur } = await c.sys.prlimit64(0, RLIMIT_NPROC);
      expect(cur).toBe(512); // one process per 128 KiB of a 64 MiB kernel
      let forks = 0;
      let last = 'ok';
      while (last === 'ok' && forks < 100_000) last = await c.sys.fork().then(() => { forks++; return 'ok'; }, (e: { code: string }) => e.code);
      expect(last).toBe('EAGAIN');
      expect(forks).toBe(cur - 1); // the client's own process counts
      expect(rssBytes(s.child.pid!) - base).toBeLessThan(128 * MiB);
      await stillAnswers(s);
      await c.close();
    });

    it(`the root tmpfs of a served kernel is bounded: ENOSPC for data and for inodes, within --memory (${kind})`, async () => {
      const s = await startServer(kind, ['--memory', '64M']);
      const base = rssBytes(s.child.pid!);
      const c = await connect(s.url, { token: s.token });
      // Data: 1 MiB writes until the kernel refuses (tmpfs has no blocks reserved for root).
      const fd = await c.sys.open('/tmp-fill', O_CREAT | O_WRONLY, 0o600);
      let wrote = 0;
      let last: string = 'ok';
      const chunk = new Uint8Array(MiB).fill(1);
      while (last === 'ok' && wrote < 640 * MiB) {
        last = await c.sys.write(fd, chunk).then((n) => { wrote += n as number; return n === chunk.byteLength ? 'ok' : 'short'; }, (e: { code: string }) => e.code);
      }
      expect(['ENOSPC', 'short']).toContain(last);
      expect(wrote).toBeLessThan(64 * MiB);
      expect(rssBytes(s.child.pid!) - base).toBeLessThan(192 * MiB);
      await stillAnswers(s);
      await c.sys.close(fd);
      await c.sys.unlink('/tmp-fill');
      // Inodes: empty files until the kernel refuses (a million were never refused before).
      let files = 0;
      last = 'ok';
      while (last === 'ok' && files < 1_000_000) {
        last = await c.sys.open(`/e${files}`, O_CREAT | O_WRONLY, 0o600).then((f) => c.sys.close(f as number)).then(() => { files++; return 'ok'; }, (e: { code: string }) => e.code);
      }
      expect(last).toBe('ENOSPC');
      expect(files).toBeLessThan(70_000);
      await stillAnswers(s);
      await c.close();
    }, 120_000);
  }
});
