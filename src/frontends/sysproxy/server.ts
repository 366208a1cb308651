/**
 * The socket half of the sysproxy server (`anykernel serve`): listens on a
 * unix socket or a TCP port, splits each connection's byte stream into frames
 * (FrameReader, which refuses an oversized frame from its length prefix
 * alone) and hands them to a ServerConn of the SysproxyService.
 *
 *     const srv = await serve({ listen: 'unix:/tmp/ak.sock' });      // boots a kernel
 *     const srv = await serve({ listen: 'tcp:127.0.0.1:0', token, kernel });
 *     srv.address  // 'unix:/tmp/ak.sock' or 'tcp:127.0.0.1:40123'
 *     await srv.close();                                              // stops listening
 *
 * Security: the unix socket is bound under umask 0177 and then chmod'ed to
 * socketMode (default 0600), so no other host user can connect in between;
 * TCP refuses to start without a token (anyone who can reach the port could
 * otherwise act as root in the kernel).
 *
 * Not supported: TLS (put the TCP listener behind an SSH tunnel or stunnel),
 * write back-pressure towards slow readers (bounded instead by maxInFlight ×
 * maxTransfer per connection).
 */
import * as net from 'node:net';
import * as fs from 'node:fs';
import { boot, type BootOptions, type BootedKernel } from '../library/boot.ts';
import type { LeakReport } from '../../kern/index.ts';
import { FrameReader } from './protocol.ts';
import { SysproxyService, type ServiceOptions } from './service.ts';

export type ListenAddr = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Parse `unix:PATH`, `unix://PATH`, `tcp:HOST:PORT`, `tcp://HOST:PORT` (IPv6 hosts in brackets). */
export function parseAddress(url: string): ListenAddr {
  const m = /^(unix|tcp):(?:\/\/)?(.*)$/.exec(url);
  if (m === null) throw new Error(`bad address '${url}': expected unix:PATH or tcp:HOST:PORT`);
  if (m[1] === 'unix') {
    if (m[2] === '') throw new Error(`bad address '${url}': the unix socket path is empty`);
    return { kind: 'unix', path: m[2]! };
  }
  const t = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(m[2]!);
  if (t === null || Number(t[2]) > 65535) throw new Error(`bad address '${url}': expected tcp:HOST:PORT with PORT 0-65535`);
  return { kind: 'tcp', host: (t[1] || '127.0.0.1').replace(/^\[|\]$/g, ''), port: Number(t[2]) };
}

export interface ServeOptions extends ServiceOptions {
  /** unix:PATH or tcp:HOST:PORT. */
  listen: string;
  /** Serve this kernel (default: boot one with `boot`). */
  kernel?: BootedKernel;
  boot?: BootOptions;
  /** Mode of the unix socket (default 0o600). */
  socketMode?: number;
  /** A connection that has not sent HELLO by then is closed (default 10 s). */
  helloTimeoutMs?: number;
}

export class SysproxyServer {
  readonly service: SysproxyService;
  readonly address: string;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly unixPath: string | null;
  private readonly helloTimeoutMs: number;
  /** Resolves with the leak report when a client halts the kernel. */
  readonly halted: Promise<LeakReport>;

  constructor(service: SysproxyService, server: net.Server, address: string, unixPath: string | null, halted: Promise<LeakReport>, helloTimeoutMs = 10_000) {
    this.service = service;
    this.helloTimeoutMs = helloTimeoutMs;
    this.server = server;
    this.address = address;
    this.unixPath = unixPath;
    this.halted = halted;
    server.on('connection', (s) => this.onSocket(s));
  }

  get kernel(): BootedKernel {
    return this.service.kernel;
  }

  private onSocket(sock: net.Socket): void {
    if (this.service.halted) {
      sock.destroy();
      return;
    }
    this.sockets.add(sock);
    sock.setNoDelay(true);
    const label = this.unixPath !== null ? 'unix' : `tcp ${sock.remoteAddress}:${sock.remotePort}`;
    const conn = this.service.accept({
      send: (frames) => {
        if (sock.destroyed) return;
        if (frames.length === 1) sock.write(frames[0]!);
        else {
          sock.cork();
          for (const f of frames) sock.write(f);
          sock.uncork();
        }
      },
      send1: (frame) => {
        if (!sock.destroyed) sock.write(frame);
      },
      // A finished REPLY goes out as a Buffer view of its writer: a plain Uint8Array would be wrapped in one by net.
      sendWriter: (w) => {
        if (!sock.destroyed) sock.write(w.buf.subarray(0, w.pos));
      },
      close: () => sock.end(),
    }, label);
    const reader = new FrameReader(this.service.limits.maxFrame);
    // A peer that connects and says nothing would hold a socket forever.
    const helloTimer = setTimeout(() => {
      if (!conn.greeted) conn.fatal('ETIMEDOUT', `no HELLO within ${this.helloTimeoutMs} ms`);
    }, this.helloTimeoutMs);
    helloTimer.unref();
    sock.on('data', (data: Buffer) => {
      let frames;
      try {
        // Not transient (net gives each read its own Buffer): frames may view it as it is.
        frames = reader.push(data);
      } catch (e) {
        conn.protocolError(e);
        return;
      }
      for (const f of frames) conn.receive(f);
    });
    sock.on('error', () => { /* 'close' follows */ });
    sock.on('close', () => {
      clearTimeout(helloTimer);
      this.sockets.delete(sock);
      conn.lost('connection closed by peer');
    });
  }

  /** Stop listening and drop every connection (their processes exit). */
  async close(): Promise<void> {
    // server.close() waits for open connections: drop them first.
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
    await this.service.whenIdle();
    if (this.unixPath !== null) fs.rmSync(this.unixPath, { force: true });
  }
}

/** Remove a stale unix socket left by a dead server; refuse to touch a live one or a non-socket. */
async function clearStaleSocket(path: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; choose another --listen path`);
  const live = await new Promise<boolean>((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (live) throw new Error(`a server is already listening on ${path}; stop it or choose another path`);
  fs.rmSync(path, { force: true });
}

/** Boot (or take) a kernel and serve its system calls. */
export async function serve(opts: ServeOptions): Promise<SysproxyServer> {
  const addr = parseAddress(opts.listen);
  if (addr.kind === 'tcp' && (opts.token === undefined || opts.token === '')) {
    throw new Error('serving over TCP needs a token: pass --token-file FILE (anyone reaching the port would be root in the kernel)');
  }
  let halted!: (r: LeakReport) => void;
  const haltedP = new Promise<LeakReport>((r) => { halted = r; });
  const kernel = opts.kernel ?? (await boot(opts.boot ?? {}));
  const service = new SysproxyService(kernel, {
    ...opts,
    onHalt: (r) => {
      opts.onHalt?.(r);
      halted(r);
    },
  });
  const server = net.createServer({ noDelay: true } as net.ServerOpts);
  let address: string;
  if (addr.kind === 'unix') {
    await clearStaleSocket(addr.path);
    const mode = opts.socketMode ?? 0o600;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // bind(2) happens inside listen(); a tight umask closes the window before chmod.
      let old: number | null = null;
      try {
        old = process.umask(0o177);
      } catch { /* not allowed in workers: chmod below still applies */ }
      try {
        server.listen(addr.path, () => resolve());
      } finally {
        if (old !== null) process.umask(old);
      }
    });
    fs.chmodSync(addr.path, mode);
    address = `unix:${addr.path}`;
  } else {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => resolve());
    });
    const a = server.address() as net.AddressInfo;
    address = `tcp:${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }
  const srv = new SysproxyServer(service, server, address, addr.kind === 'unix' ? addr.path : null, haltedP, opts.helloTimeoutMs);
  service.log(`serving on ${address}`);
  // Once halted, stop accepting.
  void haltedP.then(() => srv.close());
  return srv;
}
