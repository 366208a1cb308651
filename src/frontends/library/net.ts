/**
 * `anykernel/net`: a node:net-compatible facade over a kernel's sockets, so
 * code written for node:net — and Node's own http — runs over the kernel's
 * TCP/IP stack (or its AF_UNIX sockets).
 *
 *     import { boot } from 'anykernel';
 *     import { createNet, EtherBus } from 'anykernel/net';
 *     const bus = new EtherBus();
 *     const a = await boot({ net: { eth0: { bus, addr: '10.0.0.1/24' } } });
 *     const netA = createNet(a);
 *     netA.createServer((s) => s.pipe(s)).listen(7);
 *     http.createServer(handler).emit('connection', netA.connect(80, '10.0.0.1'));
 *
 * A Socket is a stream.Duplex over one kernel socket descriptor: one
 * blocking read outstanding while the stream flows (paused streams read
 * nothing, so the kernel's receive window closes — back-pressure end to
 * end), writes in order, end() as shutdown(SHUT_WR), destroy() as close().
 * A Server runs one accept loop. Failures are the kernel's errors (code,
 * errno, syscall) with node:net's `address`/`port` added.
 *
 * Family-agnostic where node:net is: a `path` means AF_UNIX, a port means
 * AF_INET (TCP: the kernel's (AF_INET, SOCK_STREAM) protocol-switch entry).
 *
 * Not supported: IPv6, DNS names (hosts must be IPv4 literals or
 * 'localhost'), `fd`/`handle` options, `pauseOnConnect`, cluster sharing.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { BootedKernel, Sys } from './boot.ts';
import {
  AF_INET, AF_UNIX, EtherBus, IPPROTO_TCP, isIP, SHUT_WR, SOCK_STREAM, SOL_SOCKET, SO_KEEPALIVE, SO_REUSEADDR, TCP_NODELAY,
  type UserSockAddr,
} from '../../net/index.ts';

export { EtherBus, isIP };
export const isIPv4 = (s: string): boolean => isIP(s) === 4;
export const isIPv6 = (s: string): boolean => isIP(s) === 6;

/** What createNet needs: anything with a kernel `sys` (a BootedKernel, a ProcHandle). */
export interface SysProvider {
  readonly sys: unknown;
}

type Addr = { port?: number; host?: string; path?: string; localAddress?: string; localPort?: number };

const READ_SIZE = 65536;

function hostOf(host: string | undefined): string {
  if (host === undefined || host === '' || host === 'localhost') return '127.0.0.1';
  if (isIP(host) === 4) return host;
  const e = new Error(`getaddrinfo ENOTFOUND ${host} (anykernel/net takes IPv4 literals only)`) as NodeJS.ErrnoException;
  e.code = 'ENOTFOUND';
  throw e;
}

function decorate(e: unknown, a: Addr): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  const x = err as Error & { address?: string; port?: number };
  if (a.path !== undefined) x.address = a.path;
  else {
    x.address = a.host;
    x.port = a.port;
  }
  return err;
}

function sockaddrOf(a: Addr): UserSockAddr {
  if (a.path !== undefined) return { family: AF_UNIX, path: a.path };
  return { family: AF_INET, addr: hostOf(a.host), port: a.port ?? 0 };
}

/** Parse connect()/listen() arguments the way node:net does. */
function normalize(args: unknown[]): { addr: Addr; cb: (() => void) | undefined; backlog?: number } {
  const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
  const [a0, a1, a2] = args;
  if (typeof a0 === 'object' && a0 !== null) {
    const o = a0 as { port?: number | string; host?: string; path?: string; backlog?: number; localAddress?: string; localPort?: number };
    return {
      addr: { port: o.port === undefined ? undefined : Number(o.port), host: o.host, path: o.path, localAddress: o.localAddress, localPort: o.localPort },
      cb, backlog: o.backlog,
    };
  }
  if (typeof a0 === 'string' && !/^\d+$/.test(a0)) return { addr: { path: a0 }, cb, backlog: typeof a1 === 'number' ? a1 : undefined };
  return {
    addr: { port: a0 === undefined || a0 === null ? 0 : Number(a0), host: typeof a1 === 'string' ? a1 : undefined },
    cb,
    backlog: typeof a1 === 'number' ? a1 : typeof a2 === 'number' ? a2 : undefined,
  };
}

export interface NetFacade {
  Socket: new (opts?: SocketOptions) => Socket;
  Server: new (opts?: object | ((s: Socket) => void), listener?: (s: Socket) => void) => Server;
  createServer(opts?: object | ((s: Socket) => void), listener?: (s: Socket) => void): Server;
  connect(...args: unknown[]): Socket;
  createConnection(...args: unknown[]): Socket;
  isIP: typeof isIP;
  isIPv4: typeof isIPv4;
  isIPv6: typeof isIPv6;
}

export interface SocketOptions {
  allowHalfOpen?: boolean;
  /** @internal an already-connected kernel descriptor (from accept). */
  kfd?: number;
  /** @internal its addresses, known before the 'connection' event (node:net has them then). */
  names?: { local: UserSockAddr | null; remote: UserSockAddr | null };
}

export class Socket extends Duplex {
  private readonly sys: Sys;
  /** The kernel descriptor, or -1 before connect / after close. */
  fd = -1;
  connecting = false;
  private reading = false;
  /** The stream asked for data before the connection was up. */
  private readWanted = false;
  private timeoutMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private local: UserSockAddr | null = null;
  private remote: UserSockAddr | null = null;
  bytesRead = 0;
  private written = 0;
  server: Server | null = null;

  constructor(sys: Sys, opts: SocketOptions = {}) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false, emitClose: true, autoDestroy: true });
    this.sys = sys;
    if (opts.kfd !== undefined) {
      this.fd = opts.kfd;
      this.local = opts.names?.local ?? null;
      this.remote = opts.names?.remote ?? null;
      // As node:net's Socket: start reading at once, so EOF is noticed (and the socket
      // closes) even when nobody listens for data.
      this.read(0);
    }
  }

  get bytesWritten(): number {
    return this.written;
  }
  get pending(): boolean {
    return this.fd < 0 || this.connecting;
  }
  get readyState(): string {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }
  get remoteAddress(): string | undefined {
    return this.remote?.family === AF_INET ? this.remote.addr : undefined;
  }
  get remotePort(): number | undefined {
    return this.remote?.family === AF_INET ? this.remote.port : undefined;
  }
  get remoteFamily(): string | undefined {
    return this.remote?.family === AF_INET ? 'IPv4' : undefined;
  }
  get localAddress(): string | undefined {
    return this.local?.family === AF_INET ? this.local.addr : undefined;
  }
  get localPort(): number | undefined {
    return this.local?.family === AF_INET ? this.local.port : undefined;
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    if (this.local?.family === AF_INET) return { address: this.local.addr, family: 'IPv4', port: this.local.port };
    return {};
  }

  private async fetchNames(): Promise<void> {
    try {
      this.local = (await this.sys.getsockname(this.fd)) as UserSockAddr;
      this.remote = (await this.sys.getpeername(this.fd)) as UserSockAddr;
    } catch { /* not connected or closed: leave unknown */ }
  }

  connect(...args: unknown[]): this {
    const { addr, cb } = normalize(args);
    if (cb) this.once('connect', cb);
    this.connecting = true;
    void this.doConnect(addr);
    return this;
  }

  private async doConnect(a: Addr): Promise<void> {
    try {
      const sa = sockaddrOf(a);
      this.fd = await this.sys.socket(sa.family === AF_UNIX ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
      if (sa.family === AF_INET && (a.localAddress !== undefined || a.localPort !== undefined)) {
        await this.sys.bind(this.fd, { family: AF_INET, addr: a.localAddress ?? '0.0.0.0', port: a.localPort ?? 0 });
      }
      await this.sys.connect(this.fd, sa);
      await this.fetchNames();
      this.connecting = false;
      this.emit('connect');
      this.emit('ready');
      if (this.readWanted) this.pump();
      else if (!this.isPaused()) this.read(0);
    } catch (e) {
      this.connecting = false;
      this.destroy(decorate(e, a));
    }
  }

  override _read(): void {
    if (this.fd < 0 || this.connecting) {
      this.readWanted = true;
      return;
    }
    this.pump();
  }

  /** Keep one kernel read outstanding while the consumer wants data. */
  private pump(): void {
    if (this.reading || this.fd < 0 || this.destroyed) return;
    this.reading = true;
    const buf = new Uint8Array(READ_SIZE);
    this.sys.read(this.fd, buf).then((n) => {
      this.reading = false;
      if (this.destroyed) return;
      this.touch();
      if (n === 0) {
        this.push(null);
        this.read(0); // as node:net: lets 'end' fire on a stream nobody reads
        return;
      }
      this.bytesRead += n;
      if (this.push(buf.subarray(0, n))) this.pump();
    }, (e: unknown) => {
      this.reading = false;
      if (!this.destroyed) this.destroy(e instanceof Error ? e : new Error(String(e)));
    });
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.fd < 0 || this.connecting) {
      this.once('connect', () => this._write(chunk, _enc, cb));
      return;
    }
    void this.writeAll(chunk).then(() => cb(), (e: unknown) => cb(e instanceof Error ? e : new Error(String(e))));
  }

  private async writeAll(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.byteLength) {
      const n = await this.sys.write(this.fd, chunk.subarray(off));
      off += n;
      this.written += n;
    }
    this.touch();
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (this.fd < 0) return cb();
    this.sys.shutdown(this.fd, SHUT_WR).then(() => cb(), (e: { code?: string }) => cb(e.code === 'ENOTCONN' ? null : (e as Error)));
  }

  override _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
    this.clearTimer();
    const fd = this.fd;
    this.fd = -1;
    if (fd < 0) return cb(e);
    this.sys.close(fd).then(() => cb(e), () => cb(e));
  }

  setNoDelay(noDelay = true): this {
    if (this.fd >= 0 && this.remote?.family === AF_INET) void this.sys.setsockopt(this.fd, IPPROTO_TCP, TCP_NODELAY, noDelay ? 1 : 0).catch(() => {});
    return this;
  }

  setKeepAlive(enable = false): this {
    if (this.fd >= 0) void this.sys.setsockopt(this.fd, SOL_SOCKET, SO_KEEPALIVE, enable ? 1 : 0).catch(() => {});
    return this;
  }

  /** node:net's idle timeout: 'timeout' after ms without activity (0 turns it off). */
  setTimeout(ms: number, cb?: () => void): this {
    this.timeoutMs = ms;
    if (cb) {
      if (ms === 0) this.off('timeout', cb);
      else this.once('timeout', cb);
    }
    this.touch();
    return this;
  }

  get timeout(): number | undefined {
    return this.timeoutMs || undefined;
  }

  private touch(): void {
    this.clearTimer();
    if (this.timeoutMs > 0 && !this.destroyed) {
      this.timer = setTimeout(() => this.emit('timeout'), this.timeoutMs);
      this.timer.unref();
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  destroySoon(): void {
    this.end();
  }
  resetAndDestroy(): this {
    return this.destroy();
  }
}

export class Server extends EventEmitter {
  private readonly sys: Sys;
  private fd = -1;
  private addr: UserSockAddr | null = null;
  private readonly conns = new Set<Socket>();
  private closing = false;
  private readonly allowHalfOpen: boolean;
  maxConnections = 0;
  listening = false;

  constructor(sys: Sys, listener?: (s: Socket) => void, opts: { allowHalfOpen?: boolean } = {}) {
    super();
    this.sys = sys;
    this.allowHalfOpen = opts.allowHalfOpen ?? false;
    if (listener) this.on('connection', listener);
  }

  listen(...args: unknown[]): this {
    const { addr, cb, backlog } = normalize(args);
    if (cb) this.once('listening', cb);
    void this.doListen(addr, backlog ?? 511);
    return this;
  }

  private async doListen(a: Addr, backlog: number): Promise<void> {
    try {
      const sa = a.path !== undefined ? sockaddrOf(a) : { family: AF_INET, addr: a.host === undefined ? '0.0.0.0' : hostOf(a.host), port: a.port ?? 0 } as UserSockAddr;
      this.fd = await this.sys.socket(sa.family === AF_UNIX ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
      // node:net sets SO_REUSEADDR on TCP listeners.
      if (sa.family === AF_INET) await this.sys.setsockopt(this.fd, SOL_SOCKET, SO_REUSEADDR, 1);
      await this.sys.bind(this.fd, sa);
      await this.sys.listen(this.fd, backlog);
      this.addr = (await this.sys.getsockname(this.fd)) as UserSockAddr;
      this.listening = true;
      this.emit('listening');
      void this.acceptLoop();
    } catch (e) {
      if (this.fd >= 0) await this.sys.close(this.fd).catch(() => {});
      this.fd = -1;
      this.emit('error', decorate(e, a));
    }
  }

  private async acceptLoop(): Promise<void> {
    while (!this.closing && this.fd >= 0) {
      let kfd: number;
      try {
        kfd = await this.sys.accept(this.fd);
      } catch (e) {
        if (this.closing) return;
        const code = (e as { code?: string }).code;
        if (code === 'EINTR' || code === 'ECONNABORTED' || code === 'EMFILE') continue;
        this.emit('error', e);
        return;
      }
      if (this.maxConnections > 0 && this.conns.size >= this.maxConnections) {
        await this.sys.close(kfd).catch(() => {});
        continue;
      }
      const names = { local: null as UserSockAddr | null, remote: null as UserSockAddr | null };
      try {
        names.local = (await this.sys.getsockname(kfd)) as UserSockAddr;
        names.remote = (await this.sys.getpeername(kfd)) as UserSockAddr;
      } catch { /* the peer is already gone: the socket will read EOF */ }
      const s = new Socket(this.sys, { kfd, allowHalfOpen: this.allowHalfOpen, names });
      s.server = this;
      this.conns.add(s);
      s.once('close', () => {
        this.conns.delete(s);
        this.maybeClosed();
      });
      this.emit('connection', s);
    }
  }

  address(): { address: string; family: string; port: number } | string | null {
    if (this.addr === null) return null;
    if (this.addr.family === AF_UNIX) return this.addr.path;
    if (this.addr.family === AF_INET) return { address: this.addr.addr, family: 'IPv4', port: this.addr.port };
    return null;
  }

  close(cb?: (e?: Error) => void): this {
    if (cb) this.once('close', cb);
    if (!this.listening) {
      queueMicrotask(() => this.emit('close'));
      return this;
    }
    this.closing = true;
    this.listening = false;
    const fd = this.fd;
    this.fd = -1;
    void this.sys.close(fd).catch(() => {}).then(() => this.maybeClosed());
    return this;
  }

  private maybeClosed(): void {
    if (this.closing && this.fd < 0 && this.conns.size === 0) {
      this.closing = false;
      this.emit('close');
    }
  }

  getConnections(cb: (e: Error | null, n: number) => void): this {
    queueMicrotask(() => cb(null, this.conns.size));
    return this;
  }

  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/** The node:net-shaped API over one kernel (acting as its current process, or a ProcHandle's). */
export function createNet(k: SysProvider | BootedKernel): NetFacade {
  const sys = k.sys as Sys;
  const S = class extends Socket {
    constructor(opts?: SocketOptions) {
      super(sys, opts);
    }
  };
  const Srv = class extends Server {
    constructor(opts?: object | ((s: Socket) => void), listener?: (s: Socket) => void) {
      super(sys, typeof opts === 'function' ? (opts as (s: Socket) => void) : listener, typeof opts === 'object' ? opts : {});
    }
  };
  const connect = (...args: unknown[]): Socket => {
    const o = args[0];
    const allowHalfOpen = typeof o === 'object' && o !== null ? (o as { allowHalfOpen?: boolean }).allowHalfOpen : undefined;
    return new S({ allowHalfOpen }).connect(...args);
  };
  return {
    Socket: S,
    Server: Srv,
    createServer: (opts, listener) => new Srv(opts, listener),
    connect,
    createConnection: connect,
    isIP,
    isIPv4,
    isIPv6,
  };
}
