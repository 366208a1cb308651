/**
 * TCP sockets (AF_INET, SOCK_STREAM): the SocketProto the generic socket
 * layer calls (socket/protosw.ts), over the engine's user requests
 * (usrreq.ts). Errno choices follow Linux's net/ipv4/tcp.c and af_inet.c:
 * ECONNREFUSED for a RST answering our SYN, ECONNRESET for a reset
 * connection, EPIPE (with SIGPIPE, raised by the socket layer) for sending
 * on a connection shut down for writing or never connected, ENOTCONN for
 * receiving on an unconnected socket, EISCONN, EALREADY, EINPROGRESS,
 * EADDRINUSE, EADDRNOTAVAIL, ETIMEDOUT.
 *
 * Lifecycle: attach → (bind) → listen | connect → … → close. A closed
 * socket's connection lives on as an orphan (FIN-WAIT, TIME-WAIT) keeping
 * its port until the engine drops it (tcp_proto.ts removes the pcb).
 * @guardedBy the single virtual CPU: state changes between awaits only.
 */
import {
  EAFNOSUPPORT, EAGAIN, EADDRNOTAVAIL, EALREADY, ECONNABORTED, EINPROGRESS, EINVAL, EISCONN, ENOPROTOOPT, ENOTCONN, EPIPE, errno, err,
  type ErrnoCode,
} from '../../kern/errno.ts';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRNORM } from '../../kern/constants.ts';
import type { Lwp } from '../../kern/sched.ts';
import { INADDR_ANY, INADDR_LOOPBACK, type InAddr } from '../addr.ts';
import { newPcb } from '../inet/in_pcb.ts';
import { routeTo } from '../ip/ip.ts';
import { IPPROTO_TCP } from '../ip/ip_var.ts';
import { netOf, type NetStack } from '../netstack.ts';
import { INET_SOCK_HEADER, inetSockLine } from '../procnet.ts';
import { procNetFiles } from '../../kern/sockhooks.ts';
import {
  IP_TOS, IP_TTL, MSG_PEEK, MSG_WAITALL, SHUT_RD, SHUT_RDWR, SHUT_WR, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, SOCK_STREAM, SOL_IP, SOL_TCP,
  TCP_CONGESTION, TCP_INFO, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_MAXSEG, TCP_NODELAY, TCP_SYNCNT,
} from '../socket/constants.ts';
import type { RecvResult, SocketInfo, SocketProto, SockoptValue } from '../socket/protosw.ts';
import { AF_INET, sockaddrIn, type SockAddr } from '../socket/sockaddr.ts';
import { sonewconn, type Socket } from '../socket/socket.ts';
import { optInt } from '../socket/sockopt.ts';
import type { Listener } from './stack.ts';
import { LINUX_TCP_STATE, Tcb, TcpState } from './tcb.ts';
import { tcpIpInit, tcpNet, type TcpNet, type TcpPcb } from './tcp_proto.ts';
import { armTimer } from './tcp_output.ts';
import { tcpClose, tcpReadv, tcpSend, tcpShutdownRead, tcpShutdownWrite, tcpAbort } from './usrreq.ts';

/** Linux's /proc/net/tcp state names (tcp_states.h, as netstat prints them). */
const LINUX_STATE_NAME = ['CLOSE', 'LISTEN', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT'];

/** TCP_MIN_MSS and TCP_MAX_WINDOW-derived bounds Linux applies to TCP_MAXSEG. */
const TCP_MIN_MSS = 88;
const TCP_MAX_MSS = 32767;

function errnoOf(name: string): number {
  return errno[name as ErrnoCode] ?? errno.EIO;
}

export class TcpSocket implements SocketProto {
  readonly so: Socket;
  readonly pcb: TcpPcb;
  tcb: Tcb | null = null;
  listener: Listener | null = null;
  private shutRd = false;
  private shutWr = false;
  /** Linux's sock->state: where connect(2) stands, apart from the TCP state. */
  private sockState: 'unconnected' | 'connecting' | 'connected' = 'unconnected';
  /** TCP-level options, applied to each connection this socket makes or accepts. */
  private nodelay = false;
  private userMss = 0;
  private keepIdleS = 7200;
  private keepIntvlS = 75;
  private keepCnt = 9;
  private synCnt = 0;
  private ttl = -1;
  private tos = 0;
  /** SO_RCVBUF/SO_SNDBUF were set explicitly (else the stack's larger defaults apply). */
  private rcvbufSet = false;
  private sndbufSet = false;

  constructor(so: Socket, uid: number) {
    this.so = so;
    this.pcb = Object.assign(newPcb(uid), { tcb: null, ino: so.ino });
  }

  private get ns(): NetStack {
    return this.so.ns;
  }
  private get tn(): TcpNet {
    return tcpNet(this.ns);
  }

  /** The engine's upcall: readiness changed; a fresh error becomes the socket's pending error once. */
  private readonly wake = (t: Tcb): void => {
    if (t.error !== null) {
      this.so.setError(errnoOf(t.error));
      t.error = null;
      return;
    }
    this.so.notify();
  };

  private localOk = (a: InAddr): boolean => this.ns.ifWithAddr(a) !== null;

  private syncPcb(): void {
    this.pcb.reuseaddr = this.so.opts.reuseaddr;
    this.pcb.reuseport = this.so.opts.reuseport;
    const dev = this.so.opts.bindToDevice;
    this.pcb.boundIf = dev !== '' ? this.ns.ifnets.get(dev)?.index ?? 0 : 0;
  }

  /** Copy this socket's options onto a connection (connect, or one accepted from our listener). */
  private applyOpts(t: Tcb): void {
    t.nodelay = this.nodelay;
    t.userMss = this.userMss;
    t.keepalive = this.so.opts.keepalive;
    t.keepIdleMs = this.keepIdleS * 1000;
    t.keepIntvlMs = this.keepIntvlS * 1000;
    t.keepCnt = this.keepCnt;
    t.ipTtl = this.ttl;
    t.ipTos = this.tos;
    if (this.rcvbufSet) t.rcvBuf.resize(this.so.opts.rcvbuf);
    if (this.sndbufSet) t.sndBuf.resize(this.so.opts.sndbuf);
  }

  private adopt(t: Tcb): void {
    this.tcb = t;
    this.pcb.tcb = t;
    t.owner = this.pcb;
    t.upcall = this.wake;
    if (t.error !== null) {
      this.so.error = errnoOf(t.error);
      t.error = null;
    }
  }

  bind(td: Lwp, addr: SockAddr): void {
    if (addr.family !== AF_INET) throw err(EAFNOSUPPORT);
    if (this.tcb !== null || this.listener !== null) throw err(EINVAL);
    this.syncPcb();
    const e = this.tn.table.bind(this.pcb, addr.addr, addr.port, { root: td.proc.cred.euid === 0, localOk: this.localOk });
    if (e !== 0) throw err(e);
  }

  private autobind(): void {
    if (this.pcb.lport !== 0) return;
    this.syncPcb();
    const e = this.tn.table.bind(this.pcb, INADDR_ANY, 0, { root: true, localOk: this.localOk });
    if (e !== 0) throw err(e);
  }

  listen(_td: Lwp, backlog: number): void {
    if (this.tcb !== null) throw err(EINVAL); // listen(2) on a connected socket
    if (this.listener !== null) {
      this.listener.backlog = Math.max(1, backlog);
      return;
    }
    this.syncPcb();
    this.pcb.listening = true;
    if (this.pcb.lport === 0) {
      this.autobind();
    } else {
      // Another socket bound to the port with SO_REUSEADDR may not share it with a listener.
      const { laddr, lport } = this.pcb;
      this.tn.table.remove(this.pcb);
      const e = this.tn.table.check(this.pcb, laddr, lport);
      this.tn.table.insert(this.pcb, laddr, lport);
      if (e !== 0) {
        this.pcb.listening = false;
        throw err(e);
      }
    }
    const l = this.tn.stack.listen(this.pcb.laddr, this.pcb.lport, backlog);
    l.template = (t) => this.applyOpts(t);
    l.upcall = () => this.so.notify();
    this.listener = l;
    this.so.listening = true;
  }

  /**
   * connect(2) as Linux's inet_stream_connect, by the socket-level state:
   * unconnected starts an attempt (EINPROGRESS when non-blocking);
   * connecting waits (EALREADY when non-blocking) and reports the outcome
   * once — 0 when established, the error (or ECONNABORTED) when it failed,
   * after which the socket is unconnected again; connected is EISCONN.
   */
  async connect(td: Lwp, addr: SockAddr, nonblock: boolean): Promise<void> {
    if (addr.family !== AF_INET) throw err(EAFNOSUPPORT);
    if (this.listener !== null || this.sockState === 'connected') throw err(EISCONN);
    let inProgress = EALREADY;
    if (this.sockState === 'unconnected') {
      this.startConnect(addr.addr, addr.port);
      this.sockState = 'connecting';
      inProgress = EINPROGRESS;
    }
    const t = this.tcb!;
    if (t.state === TcpState.SYN_SENT || t.state === TcpState.SYN_RECEIVED) {
      if (nonblock) throw err(inProgress);
      await this.waitConnected(td);
    }
    if (isClosed(t)) {
      const e = this.so.takeError();
      this.disconnect();
      throw err(e !== 0 ? e : ECONNABORTED);
    }
    this.sockState = 'connected';
  }

  private startConnect(addr: InAddr, fport: number): void {
    const dst = addr === INADDR_ANY ? INADDR_LOOPBACK : addr;
    const dev = this.so.opts.bindToDevice;
    const r = routeTo(this.ns, dst, dev !== '' ? this.ns.ifnets.get(dev) ?? null : null);
    if (typeof r === 'number') throw err(r);
    const laddr = this.pcb.laddr !== INADDR_ANY ? this.pcb.laddr : r.src;
    const tn = this.tn;
    this.syncPcb();
    if (this.pcb.lport === 0) {
      const port = tn.table.ephemeral(this.pcb, laddr, { faddr: dst, fport });
      if (port === 0) throw err(EADDRNOTAVAIL); // Linux: the ephemeral range is exhausted
      tn.table.insert(this.pcb, INADDR_ANY, port);
    }
    if (tn.table.connect(this.pcb, laddr, dst, fport) !== 0 || tn.stack.lookup(laddr, this.pcb.lport, dst, fport) !== undefined) {
      throw err(EADDRNOTAVAIL); // that 4-tuple is taken
    }
    const t = tn.stack.connect(laddr, this.pcb.lport, dst, fport, (x) => {
      this.applyOpts(x);
      this.adopt(x);
    });
    this.adopt(t);
  }

  /** A failed attempt has been reported: back to unconnected (Linux tcp_disconnect), keeping the bound port. */
  private disconnect(): void {
    if (this.tcb !== null) this.tcb.owner = null;
    this.tcb = null;
    this.pcb.tcb = null;
    this.pcb.faddr = 0;
    this.pcb.fport = 0;
    this.sockState = 'unconnected';
  }

  /** Sleep until the attempt is no longer in SYN-SENT/SYN-RECEIVED. */
  private async waitConnected(td: Lwp): Promise<void> {
    for (;;) {
      const t = this.tcb!;
      if (t.state !== TcpState.SYN_SENT && t.state !== TcpState.SYN_RECEIVED) return;
      try {
        await this.so.wait(td, 'snd', false);
      } catch (e) {
        // SO_SNDTIMEO ran out: connect(2) says EINPROGRESS, and the attempt goes on.
        if ((e as { errno?: number }).errno === EAGAIN) throw err(EINPROGRESS);
        throw e;
      }
    }
  }

  async accept(td: Lwp, nonblock: boolean): Promise<Socket> {
    for (;;) {
      const l = this.listener;
      if (l === null) throw err(EINVAL);
      const t = l.acceptQueue.shift();
      if (t !== undefined) return this.spawn(t);
      await this.so.wait(td, 'rcv', nonblock);
    }
  }

  /** A Socket for a connection from our accept queue (sonewconn). */
  private spawn(t: Tcb): Socket {
    const nso = sonewconn(this.so);
    const p = new TcpSocket(nso, this.so.uid);
    p.nodelay = this.nodelay;
    p.userMss = this.userMss;
    p.keepIdleS = this.keepIdleS;
    p.keepIntvlS = this.keepIntvlS;
    p.keepCnt = this.keepCnt;
    p.ttl = this.ttl;
    p.tos = this.tos;
    p.rcvbufSet = this.rcvbufSet;
    p.sndbufSet = this.sndbufSet;
    nso.proto = p;
    p.syncPcb();
    this.tn.table.insert(p.pcb, t.localAddr, t.localPort);
    p.pcb.faddr = t.remoteAddr;
    p.pcb.fport = t.remotePort;
    p.adopt(t);
    p.sockState = 'connected';
    return nso;
  }

  async send(td: Lwp, data: readonly Uint8Array[], flags: number): Promise<number> {
    const nonblock = this.so.nonblocking(flags);
    const e0 = this.so.takeError();
    if (e0 !== 0) throw err(e0);
    const t = this.tcb;
    // Linux sk_stream_wait_connect: EPIPE on a socket that is not connecting or connected.
    if (t === null || this.shutWr) throw err(EPIPE);
    let sent = 0;
    for (const chunk of data) {
      let off = 0;
      while (off < chunk.byteLength) {
        const st = t.state;
        if (st === TcpState.SYN_SENT || st === TcpState.SYN_RECEIVED) {
          await this.waitOr(td, 'snd', nonblock, sent);
          continue;
        }
        if ((st !== TcpState.ESTABLISHED && st !== TcpState.CLOSE_WAIT) || t.finQueued) {
          if (sent > 0) return sent;
          const e = this.so.takeError();
          throw err(e !== 0 ? e : EPIPE);
        }
        const n = tcpSend(t, off === 0 ? chunk : chunk.subarray(off));
        off += n;
        sent += n;
        if (n === 0) {
          if (nonblock) {
            if (sent > 0) return sent;
            throw err(EAGAIN);
          }
          const r = await this.waitOr(td, 'snd', false, sent);
          if (r) return sent;
        }
      }
    }
    return sent;
  }

  /** Wait; with progress already made, an interruption returns true (the caller reports the partial count). */
  private async waitOr(td: Lwp, which: 'rcv' | 'snd', nonblock: boolean, progress: number): Promise<boolean> {
    try {
      await this.so.wait(td, which, nonblock);
      return false;
    } catch (e) {
      if (progress > 0) return true;
      throw e;
    }
  }

  async recv(td: Lwp, bufs: readonly Uint8Array[], flags: number): Promise<RecvResult> {
    const nonblock = this.so.nonblocking(flags);
    const peek = (flags & MSG_PEEK) !== 0;
    const waitall = (flags & MSG_WAITALL) !== 0 && !peek;
    let cap = 0;
    for (const b of bufs) cap += b.byteLength;
    if (this.listener !== null) throw err(ENOTCONN);
    let n = 0;
    for (;;) {
      const t = this.tcb;
      if (t === null) throw err(ENOTCONN);
      if (cap === 0) return { n: 0, from: null, flags: 0 };
      if (t.readable > 0) {
        n += tcpReadv(t, n === 0 ? bufs : rest(bufs, n), peek);
        if (!waitall || n === cap) return { n, from: null, flags: 0 };
      }
      const e = this.so.error;
      if (e !== 0) {
        if (n > 0) return { n, from: null, flags: 0 };
        this.so.takeError();
        throw err(e);
      }
      if (t.finReceived || this.shutRd || t.state === TcpState.CLOSED) {
        return { n, from: null, flags: 0 };
      }
      if (n > 0 && nonblock) return { n, from: null, flags: 0 };
      if (await this.waitOr(td, 'rcv', nonblock, n)) return { n, from: null, flags: 0 };
    }
  }

  shutdown(_td: Lwp, how: number): void {
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) throw err(EINVAL);
    const rd = how === SHUT_RD || how === SHUT_RDWR;
    const wr = how === SHUT_WR || how === SHUT_RDWR;
    if (this.listener !== null) {
      // Linux inet_shutdown: SHUT_RD on a listener stops it; the socket stays open.
      if (rd) this.stopListening();
      this.so.notify();
      return;
    }
    const t = this.tcb;
    if (t === null || t.state === TcpState.CLOSED) {
      if (rd) this.shutRd = true;
      if (wr) this.shutWr = true;
      this.so.notify();
      throw err(ENOTCONN);
    }
    if (t.state === TcpState.SYN_SENT) {
      tcpAbort(t); // Linux disconnects a connection still being set up
      this.so.notify();
      return;
    }
    if (rd) {
      this.shutRd = true;
      tcpShutdownRead(t);
    }
    if (wr) {
      this.shutWr = true;
      tcpShutdownWrite(t);
    }
    this.so.notify();
  }

  private stopListening(): void {
    if (this.listener === null) return;
    this.tn.stack.unlisten(this.listener);
    this.listener = null;
    this.pcb.listening = false;
    this.so.listening = false;
  }

  async close(td: Lwp | null): Promise<void> {
    const tn = this.tn;
    if (this.listener !== null) {
      this.stopListening();
      tn.table.remove(this.pcb);
      return;
    }
    const t = this.tcb;
    if (t === null || t.state === TcpState.CLOSED) {
      tn.table.remove(this.pcb);
      return;
    }
    const linger = this.so.opts.linger;
    tcpClose(t, linger.onoff !== 0 && linger.linger === 0);
    if (isClosed(t)) {
      tn.table.remove(this.pcb);
      return;
    }
    if (linger.onoff !== 0 && linger.linger > 0 && td !== null) {
      // SO_LINGER (socket(7)): close waits until the data and FIN are acknowledged or the time is up.
      t.upcall = () => this.so.notify();
      const deadline = td.k.hyper.clockMonotonic() + BigInt(linger.linger) * 1_000_000_000n;
      while (!t.finAcked && !isClosed(t)) {
        const left = deadline - td.k.hyper.clockMonotonic();
        if (left <= 0n) break;
        const why = await this.so.sndq.sleep(td, { intr: true, timeoutNs: left });
        if (why !== 'woken') break;
      }
      t.upcall = null;
    }
    if (isClosed(t)) tn.table.remove(this.pcb);
  }

  poll(): number {
    let r = 0;
    if (this.so.error !== 0) r |= POLLERR;
    const l = this.listener;
    if (l !== null) return l.acceptQueue.length > 0 ? r | POLLIN | POLLRDNORM : r;
    const t = this.tcb;
    // Linux tcp_poll: an unconnected or closed socket is HUP and writable (a write fails at once).
    if (t === null || t.state === TcpState.CLOSED) return r | POLLHUP | POLLOUT | POLLWRNORM | (t !== null ? POLLIN | POLLRDNORM | POLLRDHUP : 0);
    if (t.state === TcpState.SYN_SENT || t.state === TcpState.SYN_RECEIVED) return r;
    if (t.readable > 0) r |= POLLIN | POLLRDNORM;
    if (t.finReceived || this.shutRd) r |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (this.shutWr || t.finQueued) r |= POLLOUT | POLLWRNORM;
    // sk_stream_is_writeable: free space at least half of what is queued.
    else if (t.sndBuf.free > 0 && t.sndBuf.free >= t.sndBuf.len >> 1) r |= POLLOUT | POLLWRNORM;
    if ((this.shutWr || t.finQueued) && (t.finReceived || this.shutRd)) r |= POLLHUP;
    return r;
  }

  getsockopt(_td: Lwp, level: number, name: number): SockoptValue {
    const t = this.tcb;
    if (level === SOL_TCP) {
      switch (name) {
        case TCP_NODELAY: return this.nodelay ? 1 : 0;
        case TCP_MAXSEG: return t !== null && t.synchronized ? t.sndMss : this.userMss > 0 ? this.userMss : 536;
        case TCP_KEEPIDLE: return this.keepIdleS;
        case TCP_KEEPINTVL: return this.keepIntvlS;
        case TCP_KEEPCNT: return this.keepCnt;
        case TCP_SYNCNT: return this.synCnt > 0 ? this.synCnt : this.tn.stack.cfg.synRetries;
        case TCP_CONGESTION: return 'reno';
        case TCP_INFO: return tcpInfo(t);
        default: throw err(ENOPROTOOPT);
      }
    }
    if (level === SOL_IP) {
      if (name === IP_TTL) return this.ttl >= 0 ? this.ttl : this.ns.config.defaultTtl;
      if (name === IP_TOS) return this.tos;
    }
    throw err(ENOPROTOOPT);
  }

  setsockopt(_td: Lwp, level: number, name: number, value: SockoptValue): void {
    const t = this.tcb;
    if (level === SOL_TCP) {
      const v = optInt(value);
      switch (name) {
        case TCP_NODELAY:
          this.nodelay = v !== 0;
          if (t !== null) {
            t.nodelay = this.nodelay;
            if (t.synchronized) tcpSend(t, new Uint8Array(0)); // push what Nagle held back
          }
          return;
        case TCP_MAXSEG:
          if (v < TCP_MIN_MSS || v > TCP_MAX_MSS) throw err(EINVAL);
          this.userMss = v;
          if (t !== null && !t.synchronized) t.userMss = v;
          return;
        case TCP_KEEPIDLE:
        case TCP_KEEPINTVL:
          if (v < 1 || v > 32767) throw err(EINVAL);
          if (name === TCP_KEEPIDLE) this.keepIdleS = v;
          else this.keepIntvlS = v;
          if (t !== null) this.applyKeepalive(t);
          return;
        case TCP_KEEPCNT:
          if (v < 1 || v > 127) throw err(EINVAL);
          this.keepCnt = v;
          if (t !== null) t.keepCnt = v;
          return;
        case TCP_SYNCNT:
          if (v < 1 || v > 127) throw err(EINVAL);
          this.synCnt = v;
          return;
        default:
          throw err(ENOPROTOOPT);
      }
    }
    if (level === SOL_IP) {
      const v = optInt(value);
      if (name === IP_TTL) {
        if (v !== -1 && (v < 1 || v > 255)) throw err(EINVAL);
        this.ttl = v;
        if (t !== null) t.ipTtl = v;
        return;
      }
      if (name === IP_TOS) {
        this.tos = v & 0xff;
        if (t !== null) t.ipTos = this.tos;
        return;
      }
    }
    throw err(ENOPROTOOPT);
  }

  private applyKeepalive(t: Tcb): void {
    t.keepalive = this.so.opts.keepalive;
    t.keepIdleMs = this.keepIdleS * 1000;
    t.keepIntvlMs = this.keepIntvlS * 1000;
    t.keepAt = t.keepalive && t.synchronized && t.state !== TcpState.TIME_WAIT ? t.lastRecvAt + t.keepIdleMs : Infinity;
    armTimer(t);
  }

  sockoptChanged(name: number): void {
    this.syncPcb();
    const t = this.tcb;
    if (name === SO_KEEPALIVE && t !== null) this.applyKeepalive(t);
    if (name === SO_RCVBUF) {
      this.rcvbufSet = true;
      if (t !== null) t.rcvBuf.resize(this.so.opts.rcvbuf);
    }
    if (name === SO_SNDBUF) {
      this.sndbufSet = true;
      if (t !== null) t.sndBuf.resize(this.so.opts.sndbuf);
    }
  }

  sockname(): SockAddr {
    return sockaddrIn(this.pcb.laddr, this.pcb.lport);
  }

  peername(): SockAddr {
    const t = this.tcb;
    // Linux inet_getname: ENOTCONN in CLOSE and SYN-SENT; a TIME-WAIT connection's socket is CLOSE.
    if (t === null || t.state === TcpState.CLOSED || t.state === TcpState.SYN_SENT || t.state === TcpState.TIME_WAIT) throw err(ENOTCONN);
    return sockaddrIn(t.remoteAddr, t.remotePort);
  }

  readable(): number {
    return this.tcb?.readable ?? 0;
  }

  unsent(): number {
    return this.tcb?.sndBuf.len ?? 0;
  }

  info(): SocketInfo {
    const l = this.listener;
    if (l !== null) {
      return { proto: 'tcp', local: this.sockname(), remote: sockaddrIn(0, 0), state: 'LISTEN', stCode: 10, sendQ: l.backlog, recvQ: l.acceptQueue.length };
    }
    const t = this.tcb;
    if (t === null) return { proto: 'tcp', local: this.sockname(), remote: sockaddrIn(0, 0), state: 'CLOSE', stCode: 7, sendQ: 0, recvQ: 0 };
    return tcbInfo(t);
  }
}

/** One /proc/net/tcp row for a connection (also for orphans, which have no socket). */
export function tcbInfo(t: Tcb): SocketInfo {
  return {
    proto: 'tcp',
    local: sockaddrIn(t.localAddr, t.localPort),
    remote: sockaddrIn(t.remoteAddr, t.remotePort),
    state: LINUX_STATE_NAME[t.state]!,
    stCode: LINUX_TCP_STATE[t.state]!,
    sendQ: t.sndBuf.len,
    recvQ: t.readable,
  };
}

/** Every TCP endpoint of a stack, listeners and connections with or without a socket (netstat, /proc/net/tcp). */
export function tcpSocketInfo(ns: NetStack): SocketInfo[] {
  return tcpEndpoints(ns).map((e) => e.info);
}

/** Endpoints with their owner's uid and socket inode (0 when the socket is gone). */
function tcpEndpoints(ns: NetStack): { info: SocketInfo; uid: number; ino: number }[] {
  const tn = tcpNet(ns);
  const out: { info: SocketInfo; uid: number; ino: number }[] = [];
  for (const pcb of tn.table.all()) {
    if (!pcb.listening) continue;
    const l = [...tn.stack.allListeners()].find((x) => x.port === pcb.lport && x.addr === pcb.laddr);
    if (l === undefined) continue;
    out.push({
      info: { proto: 'tcp', local: sockaddrIn(l.addr, l.port), remote: sockaddrIn(0, 0), state: 'LISTEN', stCode: 10, sendQ: l.backlog, recvQ: l.acceptQueue.length },
      uid: pcb.uid,
      ino: pcb.ino,
    });
  }
  for (const t of tn.stack.connections()) {
    const owner = t.owner as TcpPcb | null;
    out.push({ info: tcbInfo(t), uid: owner?.uid ?? 0, ino: owner !== null && !t.orphan ? owner.ino : 0 });
  }
  return out;
}

/** /proc/net/tcp in Linux's format (proc(5)). */
export function tcpProcText(ns: NetStack): string {
  let s = INET_SOCK_HEADER;
  let sl = 0;
  for (const e of tcpEndpoints(ns)) s += inetSockLine(sl++, e.info, e.uid, e.ino);
  return s;
}

/** TCP_INFO (a subset of Linux's struct tcp_info, by field name). */
function tcpInfo(t: Tcb | null): Record<string, number> {
  if (t === null) return { state: 7 };
  return {
    state: LINUX_TCP_STATE[t.state]!,
    retransmits: t.backoff,
    rto: Math.round(t.rto * 1000),
    snd_mss: t.sndMss,
    rcv_mss: t.sndMss,
    snd_wscale: t.sndScale,
    rcv_wscale: t.rcvScale,
    rtt: Math.round(t.srtt * 1000),
    rttvar: Math.round(t.rttvar * 1000),
    snd_ssthresh: Math.min(t.ssthresh, 0x7fffffff),
    snd_cwnd: Math.ceil(t.cwnd / Math.max(1, t.sndMss)),
    total_retrans: t.retransmits,
    rcv_space: t.rcvBuf.capacity,
  };
}

/** A function, so that TypeScript does not narrow the state across calls that change it. */
function isClosed(t: Tcb): boolean {
  return t.state === TcpState.CLOSED;
}

function rest(bufs: readonly Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of bufs) {
    if (skip >= b.byteLength) {
      skip -= b.byteLength;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/** Register TCP with IP (protocol 6) and the protocol switch (AF_INET, SOCK_STREAM). */
export function tcpInit(ns: NetStack): void {
  tcpIpInit(ns);
  procNetFiles(ns.k).set('tcp', (k) => tcpProcText(netOf(k)));
  ns.protosw.register({
    family: AF_INET,
    type: SOCK_STREAM,
    protocol: IPPROTO_TCP,
    name: 'tcp',
    attach: (so, td) => new TcpSocket(so, td?.proc.cred.euid ?? 0),
  });
}

/** Stop TCP's timers (kernel shutdown). */
export function tcpShutdown(ns: NetStack): void {
  tcpNet(ns).shutdown();
}
