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
 * Bounds on what one peer can make the server hold (ServeOptions, each with
 * a default below):
 *   - before HELLO succeeds a frame may be at most helloMaxFrame bytes (a
 *     HELLO is under 5 KiB), and the whole HELLO must arrive within
 *     helloTimeoutMs;
 *   - at most maxConnections connections, and maxConnectionsPerPeer from one
 *     TCP address; others get FATAL EAGAIN and are closed;
 *   - after HELLO, a frame that has started arriving must be complete within
 *     frameTimeoutMs (a slow sender cannot pin a 4 MiB buffer forever);
 *   - replies back-pressure: while more than maxReplyBacklog bytes of replies
 *     wait in the socket for a client that does not read them, the server
 *     reads no more requests from it, and those bytes count against the
 *     connection's staging budget (maxStaged), so reads in flight shrink.
 *
 * Not supported: TLS (put the TCP listener behind an SSH tunnel or stunnel).
 */
import * as net from 'node:net';
import * as fs from 'node:fs';
import { dirname as pathDirname } from 'node:path';
import '../library/node_default.ts'; // boot() without a host gets a NodeHost
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
  /** A connection that has not completed HELLO by then is closed (default 10 s). */
  helloTimeoutMs?: number;
  /** Largest frame before HELLO succeeds (default 64 KiB). */
  helloMaxFrame?: number;
  /** Connections at once (default 1024). */
  maxConnections?: number;
  /** Connections at once from one TCP peer address (default 64). */
  maxConnectionsPerPeer?: number;
  /** A frame that has begun to arrive must be complete within this (default 30 s). */
  frameTimeoutMs?: number;
  /** Unsent reply bytes above which a connection's requests stop being read (default 8 MiB). */
  maxReplyBacklog?: number;
}

export const SERVE_DEFAULTS = {
  helloTimeoutMs: 10_000,
  helloMaxFrame: 64 * 1024,
  maxConnections: 1024,
  maxConnectionsPerPeer: 64,
  frameTimeoutMs: 30_000,
  maxReplyBacklog: 8 * 1024 * 1024,
};
type ServerBounds = typeof SERVE_DEFAULTS;

export class SysproxyServer {
  readonly service: SysproxyService;
  readonly address: string;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly unixPath: string | null;
  private readonly bounds: ServerBounds;
  /** Open connections per TCP peer address. */
  private readonly perPeer = new Map<string, number>();
  /** Resolves with the leak report when a client halts the kernel. */
  readonly halted: Promise<LeakReport>;

  constructor(service: SysproxyService, server: net.Server, address: string, unixPath: string | null, halted: Promise<LeakReport>, bounds: Partial<ServerBounds> = {}) {
    this.service = service;
    this.bounds = { ...SERVE_DEFAULTS };
    for (const [key, v] of Object.entries(bounds) as [keyof ServerBounds, number | undefined][]) if (v !== undefined) this.bounds[key] = v;
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
    const bounds = this.bounds;
    this.sockets.add(sock);
    sock.setNoDelay(true);
    const peer = this.unixPath !== null ? null : String(sock.remoteAddress);
    const label = peer === null ? 'unix' : `tcp ${peer}:${sock.remotePort}`;
    // Replies a client leaves unread stay in the socket's buffer: past the bound, stop reading its requests.
    let paused = false;
    const checkBacklog = (): void => {
      if (!paused && sock.writableLength > bounds.maxReplyBacklog) {
        paused = true;
        sock.pause();
      }
    };
    sock.on('drain', () => {
      if (paused) {
        paused = false;
        sock.resume();
      }
    });
    const conn = this.service.accept({
      send: (frames) => {
        if (sock.destroyed) return;
        if (frames.length === 1) sock.write(frames[0]!);
        else {
          sock.cork();
          for (const f of frames) sock.write(f);
          sock.uncork();
        }
        checkBacklog();
      },
      send1: (frame) => {
        if (!sock.destroyed) sock.write(frame);
        checkBacklog();
      },
      // A finished REPLY goes out as a Buffer view of its writer: a plain Uint8Array would be wrapped in one by net.
      sendWriter: (w) => {
        if (!sock.destroyed) sock.write(w.buf.subarray(0, w.pos));
        checkBacklog();
      },
      backlog: () => sock.writableLength,
      close: () => sock.end(),
    }, label);
    if (peer !== null) this.perPeer.set(peer, (this.perPeer.get(peer) ?? 0) + 1);
    if (this.sockets.size > bounds.maxConnections) {
      conn.fatal('EAGAIN', `this server already has ${bounds.maxConnections} connections (its limit); try again later or raise --max-connections`);
    } else if (peer !== null && this.perPeer.get(peer)! > bounds.maxConnectionsPerPeer) {
      conn.fatal('EAGAIN', `${peer} already has ${bounds.maxConnectionsPerPeer} connections to this server (the per-address limit); close some first`);
    }
    // Until HELLO succeeds, frames are small; the limits a client was told in WELCOME apply after it.
    const reader = new FrameReader(Math.min(bounds.helloMaxFrame, this.service.limits.maxFrame));
    // A peer that connects and says nothing (or dribbles its HELLO) would hold a socket forever.
    const helloTimer = setTimeout(() => {
      if (!conn.greeted) conn.fatal('ETIMEDOUT', `no complete HELLO within ${bounds.helloTimeoutMs} ms`);
    }, bounds.helloTimeoutMs);
    helloTimer.unref();
    let frameTimer: NodeJS.Timeout | null = null;
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
      if (conn.greeted) {
        reader.maxFrame = this.service.limits.maxFrame;
        // A frame part-way in must finish within frameTimeoutMs of when it began.
        if (reader.pending === 0) {
          if (frameTimer !== null) clearTimeout(frameTimer);
          frameTimer = null;
        } else if (frameTimer === null) {
          frameTimer = setTimeout(() => conn.fatal('ETIMEDOUT', `a frame was still incomplete after ${bounds.frameTimeoutMs} ms`), bounds.frameTimeoutMs);
          frameTimer.unref();
        }
      }
    });
    sock.on('error', () => { /* 'close' follows */ });
    sock.on('close', () => {
      clearTimeout(helloTimer);
      if (frameTimer !== null) clearTimeout(frameTimer);
      this.sockets.delete(sock);
      if (peer !== null) {
        const n = this.perPeer.get(peer)! - 1;
        if (n > 0) this.perPeer.set(peer, n);
        else this.perPeer.delete(peer);
      }
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

/** listen(2) on `addr`; resolves with the address as clients write it. */
async function listen(server: net.Server, addr: ListenAddr, mode: number): Promise<string> {
  if (addr.kind === 'unix') {
    await clearStaleSocket(addr.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(listenError(addr, e)));
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
    return `unix:${addr.path}`;
  } else {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(listenError(addr, e)));
      server.listen(addr.port, addr.host, () => resolve());
    });
    const a = server.address() as net.AddressInfo;
    return `tcp:${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }
}

/**
 * A listen(2) failure as an Error that names the address, says why, and what
 * to do, with the errno name as `code` (EADDRINUSE, EACCES, ...). Node reports
 * a unix path whose directory is missing as EACCES, so the directory is
 * checked first and that case is ENOENT.
 */
export function listenError(addr: ListenAddr, e: unknown): Error {
  let code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  let why: string;
  if (addr.kind === 'unix') {
    const dir = pathDirname(addr.path);
    if (!fs.existsSync(dir)) {
      code = 'ENOENT';
      why = `the directory ${dir} does not exist; create it (mkdir -p ${dir}) or choose another path`;
    }
    else if (code === 'EACCES' || code === 'EPERM') why = `permission denied creating the socket in ${dir}; choose a directory you can write (e.g. $XDG_RUNTIME_DIR or /tmp)`;
    else if (code === 'EADDRINUSE') why = `${addr.path} is in use; stop the server there or choose another path`;
    else if (code === 'ENAMETOOLONG' || code === 'EINVAL') why = `the path is too long for a unix socket (at most 107 bytes); choose a shorter one`;
    else why = (e as Error).message;
  } else {
    if (code === 'EADDRINUSE') why = `port ${addr.port} is in use; choose another port (tcp:${addr.host}:0 picks a free one)`;
    else if (code === 'EACCES') why = `ports below 1024 need root; choose a port of 1024 or more`;
    else if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') why = `${addr.host} is not an address of this machine; use 127.0.0.1 or 0.0.0.0`;
    else why = (e as Error).message;
  }
  const where = addr.kind === 'unix' ? `unix:${addr.path}` : `tcp:${addr.host}:${addr.port}`;
  return Object.assign(new Error(`cannot listen on ${where}: ${why} (${code})`, { cause: e }), { code });
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
  try {
    address = await listen(server, addr, opts.socketMode ?? 0o600);
  } catch (e) {
    if (opts.kernel === undefined) await kernel.shutdown(); // booted here: do not leave it running
    throw e;
  }
  const srv = new SysproxyServer(service, server, address, addr.kind === 'unix' ? addr.path : null, haltedP, {
    helloTimeoutMs: opts.helloTimeoutMs, helloMaxFrame: opts.helloMaxFrame, maxConnections: opts.maxConnections,
    maxConnectionsPerPeer: opts.maxConnectionsPerPeer, frameTimeoutMs: opts.frameTimeoutMs, maxReplyBacklog: opts.maxReplyBacklog,
  });
  service.log(`serving on ${address}`);
  // Once halted, stop accepting.
  void haltedP.then(() => srv.close());
  return srv;
}
