/**
 * AF_UNIX sockets (unix(7); BSD uipc_usrreq.c, Linux af_unix.c): stream
 * and datagram sockets within one kernel, named by a path in the file system
 * (unix_ns.ts, through kern's UnixNamespace hook), by an abstract name (a
 * leading NUL), or unnamed; socketpair(2); SCM_RIGHTS descriptor passing;
 * SO_PEERCRED.
 *
 * Stream: listen/connect/accept as Linux — connect completes as soon as the
 * connection is queued on the listener (blocking, or EAGAIN, while its
 * backlog is full); bytes sent sit in the peer's receive queue, at most the
 * sender's SO_SNDBUF of them; a record carrying descriptors is never merged
 * with its neighbours on receive. Closing a socket makes its peer read EOF
 * and get EPIPE on write; unread data at close gives the peer ECONNRESET.
 *
 * Datagram: each send is one record in the receiver's queue, which holds at
 * most UNIX_MAX_DGRAM_QLEN records (net.unix.max_dgram_qlen); a full queue
 * blocks the sender or answers EAGAIN. Sending to a socket connected to
 * someone else is EPERM; to a closed one ECONNREFUSED.
 *
 * Lifecycle: attach (unbound) → bind → listen → accept gives connected
 * sockets; or connect / socketpair → connected → shutdown → close. The
 * namespace entry goes at close (a path's node stays in the file system).
 *
 * Not supported: SOCK_SEQPACKET, SCM_CREDENTIALS, the garbage collector for
 * descriptor cycles in flight (a socket sent over itself and closed keeps
 * its queue until the kernel goes), autobind on connect/send with SO_PASSCRED.
 *
 * @guardedBy the single virtual CPU: queue changes happen between awaits.
 */
import {
  EADDRINUSE, EAFNOSUPPORT, EAGAIN, EBADF, ECONNREFUSED, ECONNRESET, EINTR, EINVAL, EISCONN, EMSGSIZE, ENOPROTOOPT, ENOTCONN,
  EOPNOTSUPP, EPERM, EPIPE, EPROTOTYPE, err, isKernelError,
} from '../../kern/errno.ts';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRNORM } from '../../kern/constants.ts';
import type { File } from '../../kern/file.ts';
import { WaitQueue, sleepOn, type Lwp } from '../../kern/sched.ts';
import type { NetStack } from '../netstack.ts';
import { MSG_PEEK, MSG_TRUNC, MSG_WAITALL, SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_DGRAM, SOCK_STREAM } from './constants.ts';
import type { Control, RecvResult, SocketInfo, SocketProto, SockoptValue } from './protosw.ts';
import { AF_UNIX, AF_UNSPEC, type SockAddr, type SockAddrUn } from './sockaddr.ts';
import { sonewconn, type Socket } from './socket.ts';
import { abstractNames, unixNamespace } from './unix_ns.ts';

/** Every live AF_UNIX socket of a stack (/proc/net/unix, netstat). */
export function unixSockets(ns: NetStack): Set<Socket> {
  return ns.part('unix.all', () => new Set<Socket>());
}

/** net.unix.max_dgram_qlen. */
export const UNIX_MAX_DGRAM_QLEN = 10;

interface Rec {
  data: Uint8Array;
  /** Bytes of data already read (stream). */
  off: number;
  files: File[] | null;
  from: SockAddrUn;
}

interface Cred {
  pid: number;
  uid: number;
  gid: number;
}

const UNNAMED: SockAddrUn = { family: AF_UNIX, path: '' };

type UState = 'idle' | 'listening' | 'connected' | 'closed';

export class UnixSocket implements SocketProto {
  readonly so: Socket;
  readonly stream: boolean;
  state: UState = 'idle';
  /** Bound name ('\0...' abstract), or null. */
  name: string | null = null;
  private nsId: string | null = null;
  peer: UnixSocket | null = null;
  private readonly rq: Rec[] = [];
  private rqBytes = 0;
  private rcvShut = false;
  private sndShut = false;
  /** Stream: the peer closed (we read EOF, writes fail with EPIPE). */
  private peerGone = false;
  private backlog = 0;
  private readonly acceptq: UnixSocket[] = [];
  /** Woken whenever this socket's receive or accept queue shrinks (blocked senders/connectors wait here). */
  readonly drainq = new WaitQueue('unixdrain');
  cred: Cred;
  peerCred: Cred | null = null;

  constructor(so: Socket, cred: Cred) {
    this.so = so;
    this.stream = so.type === SOCK_STREAM;
    this.cred = cred;
    unixSockets(so.ns).add(so);
  }

  private get ns(): NetStack {
    return this.so.ns;
  }

  private myAddr(): SockAddrUn {
    return this.name === null ? UNNAMED : { family: AF_UNIX, path: this.name };
  }

  // ---- naming --------------------------------------------------------------------------------

  async bind(td: Lwp, addr: SockAddr): Promise<void> {
    if (addr.family !== AF_UNIX) throw err(EINVAL); // unix_bind: EINVAL for another family
    if (this.name !== null) throw err(EINVAL);
    if (addr.path === '') return this.autobind();
    if (addr.path.startsWith('\0')) {
      const names = abstractNames(this.ns);
      if (names.has(addr.path)) throw err(EADDRINUSE);
      names.set(addr.path, this);
      this.name = addr.path;
      return;
    }
    const id = await unixNamespace(this.ns).bind(td, addr.path, 0o777, this);
    if (this.name !== null || this.state === 'closed') {
      // Raced with another bind or a close while creating the node.
      unixNamespace(this.ns).unbind(id, this);
      throw err(EINVAL);
    }
    this.nsId = id;
    this.name = addr.path;
  }

  /** unix(7) autobind: an abstract name of five hex digits. */
  private autobind(): void {
    const names = abstractNames(this.ns);
    for (let i = 0; i < 0x100000; i++) {
      const n = `\0${((this.ns.random32() + i) & 0xfffff).toString(16).padStart(5, '0')}`;
      if (names.has(n)) continue;
      names.set(n, this);
      this.name = n;
      return;
    }
    throw err(EADDRINUSE);
  }

  /** The socket a name refers to, checked for type (EPROTOTYPE) and life (ECONNREFUSED). */
  private async resolve(td: Lwp, addr: SockAddr): Promise<UnixSocket> {
    if (addr.family !== AF_UNIX) throw err(EAFNOSUPPORT);
    if (addr.path === '') throw err(EINVAL);
    let target: object | undefined;
    if (addr.path.startsWith('\0')) target = abstractNames(this.ns).get(addr.path);
    else target = await unixNamespace(this.ns).lookup(td, addr.path);
    if (!(target instanceof UnixSocket) || target.state === 'closed') throw err(ECONNREFUSED);
    if (target.stream !== this.stream) throw err(EPROTOTYPE);
    return target;
  }

  // ---- connection setup ----------------------------------------------------------------------

  listen(_td: Lwp, backlog: number): void {
    if (!this.stream) throw err(EOPNOTSUPP);
    if (this.name === null || this.state === 'connected') throw err(EINVAL);
    this.state = 'listening';
    this.backlog = backlog;
    this.so.notify();
  }

  async connect(td: Lwp, addr: SockAddr, nonblock: boolean): Promise<void> {
    if (!this.stream) return this.dgramConnect(td, addr);
    if (this.state === 'connected') throw err(EISCONN);
    if (this.state === 'listening') throw err(EINVAL);
    const target = await this.resolve(td, addr);
    for (;;) {
      if (target.state !== 'listening') throw err(ECONNREFUSED);
      if ((this.state as UState) === 'connected') throw err(EISCONN);
      // unix_stream_connect: wait while the backlog is full (unix_recvq_full).
      if (target.acceptq.length <= target.backlog) break;
      if (nonblock) throw err(EAGAIN);
      const why = await sleepOn(td, [target.drainq, this.so.sndq], { intr: true, timeoutNs: this.so.opts.sndtimeoNs || undefined });
      if (why === 'intr') throw err(EINTR);
      if (why === 'timeout') throw err(EAGAIN);
    }
    const eso = sonewconn(target.so);
    const embryo = new UnixSocket(eso, target.cred);
    eso.proto = embryo;
    embryo.name = target.name;
    embryo.state = 'connected';
    embryo.peer = this;
    embryo.peerCred = { pid: td.proc.pid, uid: td.proc.cred.euid, gid: td.proc.cred.egid };
    this.peer = embryo;
    this.peerCred = target.cred;
    this.state = 'connected';
    target.acceptq.push(embryo);
    target.so.notify();
    this.so.notify();
  }

  private async dgramConnect(td: Lwp, addr: SockAddr): Promise<void> {
    if (addr.family === AF_UNSPEC) {
      this.peer = null;
      this.state = 'idle';
      return;
    }
    const target = await this.resolve(td, addr);
    this.peer = target;
    this.peerCred = target.cred;
    this.state = 'connected';
  }

  async accept(td: Lwp, nonblock: boolean): Promise<Socket> {
    if (!this.stream) throw err(EOPNOTSUPP);
    for (;;) {
      if (this.state === 'closed') throw err(EBADF);
      if (this.state !== 'listening') throw err(EINVAL);
      const u = this.acceptq.shift();
      if (u !== undefined) {
        this.drainq.wakeup(this.ns.k);
        return u.so;
      }
      await this.so.wait(td, 'rcv', nonblock);
    }
  }

  // ---- data ------------------------------------------------------------------------------------

  async send(td: Lwp, data: readonly Uint8Array[], flags: number, to: SockAddr | null, control: readonly Control[] | null): Promise<number> {
    const files = filesOf(control);
    let total = 0;
    for (const d of data) total += d.byteLength;
    const nonblock = this.so.nonblocking(flags);
    if (!this.stream) return this.dgramSend(td, data, total, to, files, nonblock);
    // unix_stream_sendmsg: an address on a stream socket is EISCONN / EOPNOTSUPP.
    if (to !== null && to.family !== AF_UNSPEC) throw err(this.state === 'connected' ? EISCONN : EOPNOTSUPP);
    const pending = this.so.takeError();
    if (pending !== 0) throw err(pending);
    if (this.state !== 'connected') throw err(ENOTCONN);
    const flat = concat(data, total);
    let sent = 0;
    let first = true;
    while (sent < total || (total === 0 && first)) {
      const peer = this.peer;
      if (this.sndShut || this.peerGone || peer === null || peer.state === 'closed' || peer.rcvShut) {
        if (sent > 0) return sent;
        throw err(EPIPE);
      }
      const room = this.so.opts.sndbuf - peer.rqBytes;
      if (room <= 0) {
        try {
          await this.so.wait(td, 'snd', nonblock);
        } catch (e) {
          if (sent > 0 && isKernelError(e) && (e.errno === EAGAIN || e.errno === EINTR)) return sent;
          throw e;
        }
        continue;
      }
      const n = Math.min(room, total - sent);
      if (n > 0 || first) {
        peer.enqueue({ data: flat.slice(sent, sent + n), off: 0, files: first ? files : null, from: this.myAddr() });
      }
      first = false;
      sent += n;
      if (total === 0) break;
    }
    return sent;
  }

  private async dgramSend(td: Lwp, data: readonly Uint8Array[], total: number, to: SockAddr | null, files: File[] | null, nonblock: boolean): Promise<number> {
    const pending = this.so.takeError();
    if (pending !== 0) throw err(pending);
    if (this.sndShut) throw err(EPIPE);
    if (total > this.so.opts.sndbuf - 32) throw err(EMSGSIZE);
    let target: UnixSocket;
    if (to !== null && to.family !== AF_UNSPEC) target = await this.resolve(td, to);
    else if (this.peer !== null) target = this.peer;
    else throw err(ENOTCONN);
    const flat = concat(data, total);
    for (;;) {
      if (target.state === 'closed') {
        if (target === this.peer) {
          this.peer = null;
          this.state = 'idle';
        }
        throw err(ECONNREFUSED);
      }
      if (target.peer !== null && target.peer !== this) throw err(EPERM);
      if (target.rcvShut) throw err(EPIPE);
      if (target.rq.length < UNIX_MAX_DGRAM_QLEN) break;
      if (nonblock) throw err(EAGAIN);
      const why = await sleepOn(td, [target.drainq], { intr: true, timeoutNs: this.so.opts.sndtimeoNs || undefined });
      if (why === 'intr') throw err(EINTR);
      if (why === 'timeout') throw err(EAGAIN);
    }
    target.enqueue({ data: flat, off: 0, files, from: this.myAddr() });
    return total;
  }

  private enqueue(r: Rec): void {
    this.rq.push(r);
    this.rqBytes += r.data.byteLength;
    this.so.notify();
  }

  async recv(td: Lwp, bufs: readonly Uint8Array[], flags: number): Promise<RecvResult> {
    const nonblock = this.so.nonblocking(flags);
    const peek = (flags & MSG_PEEK) !== 0;
    if (!this.stream) {
      for (;;) {
        if (this.state === 'closed') throw err(EBADF); // closed under a sleeping reader
        const pending = this.so.takeError();
        if (pending !== 0) throw err(pending);
        if (this.rq.length > 0) break;
        if (this.rcvShut) return { n: 0, from: null, flags: 0 };
        await this.so.wait(td, 'rcv', nonblock);
      }
      const r = peek ? this.rq[0]! : this.rq.shift()!;
      if (!peek) {
        this.rqBytes -= r.data.byteLength;
        this.drainq.wakeup(this.ns.k);
      }
      const n = scatter(bufs, r.data, 0);
      return {
        n, from: r.from, flags: n < r.data.byteLength ? MSG_TRUNC : 0,
        fullLength: (flags & MSG_TRUNC) !== 0 ? r.data.byteLength : undefined, control: takeFiles(r, peek),
      };
    }
    if (this.state === 'listening') throw err(EINVAL);
    let want = 0;
    for (const b of bufs) want += b.byteLength;
    let got = 0;
    let control: Control[] | undefined;
    for (;;) {
      // Copy from the queue; a record with descriptors ends the read (it is not merged).
      let i = 0;
      let skip = 0;
      while (got < want && i < this.rq.length) {
        const r = this.rq[i]!;
        if (r.files !== null && got > 0) break;
        const start = r.off + (peek ? skip : 0);
        const avail = r.data.byteLength - start;
        const n = scatterAt(bufs, got, r.data.subarray(start, start + Math.min(avail, want - got)));
        got += n;
        if (r.files !== null) control = takeFiles(r, peek);
        if (peek) {
          if (start + n >= r.data.byteLength) { i++; skip = 0; } else skip += n;
        } else {
          r.off += n;
          this.rqBytes -= n;
          if (r.off >= r.data.byteLength) this.rq.shift();
        }
        if (control !== undefined) break;
      }
      if (got > 0 && !peek) this.peer?.so.notify(); // room for the writer
      if (got >= want || control !== undefined) break;
      if (got > 0 && ((flags & MSG_WAITALL) === 0 || peek)) break;
      if (this.rcvShut || this.peerGone) break;
      if (this.state === 'closed') throw err(EBADF);
      const pending = this.so.takeError();
      if (pending !== 0) {
        if (got > 0) break;
        throw err(pending);
      }
      try {
        await this.so.wait(td, 'rcv', nonblock);
      } catch (e) {
        if (got > 0 && isKernelError(e) && (e.errno === EAGAIN || e.errno === EINTR)) break;
        throw e;
      }
    }
    return { n: got, from: null, flags: 0, control };
  }

  // ---- teardown ---------------------------------------------------------------------------------

  shutdown(_td: Lwp, how: number): void {
    // unix_shutdown: no ENOTCONN — an unconnected socket just records the shutdown.
    if (how === SHUT_RD || how === SHUT_RDWR) this.rcvShut = true;
    if (how === SHUT_WR || how === SHUT_RDWR) this.sndShut = true;
    // unix_shutdown: the peer of a stream sees the mirror image.
    const p = this.peer;
    if (this.stream && p !== null) {
      if (how === SHUT_WR || how === SHUT_RDWR) p.rcvShut = true;
      if (how === SHUT_RD || how === SHUT_RDWR) p.sndShut = true;
      p.so.notify();
    }
    this.so.notify();
  }

  close(): void {
    unixSockets(this.ns).delete(this.so);
    const wasListening = this.state === 'listening';
    this.state = 'closed';
    if (this.name !== null) {
      if (this.nsId !== null) unixNamespace(this.ns).unbind(this.nsId, this);
      else if (this.name.startsWith('\0') && abstractNames(this.ns).get(this.name) === this) abstractNames(this.ns).delete(this.name);
    }
    if (wasListening) {
      for (const e of this.acceptq.splice(0)) e.close();
    }
    const p = this.peer;
    if (this.stream && p !== null) {
      p.peerGone = true;
      if (this.rq.length > 0) p.so.error = ECONNRESET; // unix_release_sock: unread data resets the peer
      p.so.notify();
      p.drainq.wakeup(this.ns.k);
    }
    this.peer = null;
    for (const r of this.rq.splice(0)) for (const f of r.files ?? []) void f.release(null);
    this.rqBytes = 0;
    this.drainq.wakeup(this.ns.k);
    this.so.notify();
  }

  poll(): number {
    let r = 0;
    if (this.so.error !== 0) r |= POLLERR;
    if (this.state === 'listening') return r | (this.acceptq.length > 0 ? POLLIN | POLLRDNORM : 0);
    if (this.rq.length > 0) r |= POLLIN | POLLRDNORM;
    if (this.rcvShut || this.peerGone) r |= POLLIN | POLLRDNORM | POLLRDHUP;
    if ((this.rcvShut && this.sndShut) || this.peerGone) r |= POLLHUP;
    if (this.stream && this.state !== 'connected') r |= POLLHUP; // unix_poll: a stream socket in TCP_CLOSE
    const p = this.peer;
    if (!this.sndShut) {
      if (this.stream) {
        // unix_writable: at most a quarter of SO_SNDBUF in flight.
        if (p === null || p.rqBytes * 4 <= this.so.opts.sndbuf) r |= POLLOUT | POLLWRNORM;
      } else if (p === null || p.rq.length < UNIX_MAX_DGRAM_QLEN) r |= POLLOUT | POLLWRNORM;
    }
    return r;
  }

  getsockopt(): SockoptValue {
    throw err(ENOPROTOOPT);
  }

  setsockopt(): void {
    throw err(ENOPROTOOPT);
  }

  sockname(): SockAddr {
    return this.myAddr();
  }

  peername(): SockAddr {
    if (this.state !== 'connected' || this.peer === null) throw err(ENOTCONN);
    return this.peer.myAddr();
  }

  readable(): number {
    if (!this.stream) return this.rq.length > 0 ? this.rq[0]!.data.byteLength : 0;
    return this.rqBytes;
  }

  unsent(): number {
    return this.peer?.rqBytes ?? 0;
  }

  peercred(): Cred | null {
    return this.peerCred;
  }

  info(): SocketInfo {
    const st = this.state === 'listening' ? 'LISTEN' : this.state === 'connected' ? 'CONNECTED' : '';
    return {
      proto: 'unix', local: this.myAddr(), remote: this.peer?.myAddr() ?? null, state: st,
      stCode: this.state === 'listening' ? 1 : this.state === 'connected' ? 3 : 1, sendQ: this.unsent(), recvQ: this.rqBytes,
    };
  }
}

function filesOf(control: readonly Control[] | null): File[] | null {
  if (control === null) return null;
  const out: File[] = [];
  for (const c of control) {
    if ('files' in c) for (const f of c.files) out.push(f.hold());
    else throw err(EINVAL); // only SCM_RIGHTS is understood
  }
  return out.length > 0 ? out : null;
}

/** The descriptors of a record for the receiver: moved, or (MSG_PEEK) shared with new references. */
function takeFiles(r: Rec, peek: boolean): Control[] | undefined {
  if (r.files === null) return undefined;
  const files = peek ? r.files.map((f) => f.hold()) : r.files;
  if (!peek) r.files = null;
  return [{ level: 1, type: 1, files }];
}

function concat(data: readonly Uint8Array[], total: number): Uint8Array {
  if (data.length === 1) return data[0]!.slice();
  const out = new Uint8Array(total);
  let o = 0;
  for (const d of data) {
    out.set(d, o);
    o += d.byteLength;
  }
  return out;
}

/** Copy src into the iovec starting at byte `at` of the whole iovec; returns bytes copied. */
function scatterAt(bufs: readonly Uint8Array[], at: number, src: Uint8Array): number {
  let skip = at;
  let n = 0;
  for (const b of bufs) {
    if (skip >= b.byteLength) {
      skip -= b.byteLength;
      continue;
    }
    const m = Math.min(b.byteLength - skip, src.byteLength - n);
    b.set(src.subarray(n, n + m), skip);
    n += m;
    skip = 0;
    if (n >= src.byteLength) break;
  }
  return n;
}

function scatter(bufs: readonly Uint8Array[], src: Uint8Array, at: number): number {
  return scatterAt(bufs, at, src);
}

/** Register AF_UNIX stream and datagram sockets. */
export function unixInit(ns: NetStack): void {
  const attach = (so: Socket, td: Lwp | null): UnixSocket =>
    new UnixSocket(so, { pid: td?.proc.pid ?? 0, uid: td?.proc.cred.euid ?? 0, gid: td?.proc.cred.egid ?? 0 });
  const socketpair = (a: Socket, b: Socket): void => {
    const ua = a.proto as UnixSocket;
    const ub = b.proto as UnixSocket;
    ua.peer = ub;
    ub.peer = ua;
    ua.state = ub.state = 'connected';
    ua.peerCred = ub.cred;
    ub.peerCred = ua.cred;
  };
  ns.protosw.register({ family: AF_UNIX, type: SOCK_STREAM, protocol: 0, name: 'unix-stream', attach, socketpair });
  ns.protosw.register({ family: AF_UNIX, type: SOCK_DGRAM, protocol: 0, name: 'unix-dgram', attach, socketpair });
}
