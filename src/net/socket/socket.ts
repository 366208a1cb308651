/**
 * The generic socket (BSD's struct socket): what every socket has whatever
 * its protocol — family/type/protocol, SOL_SOCKET options, the pending
 * asynchronous error (SO_ERROR), the wait queues sleepers and pollers use —
 * and the File operations that put a socket in the fd table (file type
 * 'socket'), so read/write/poll/fstat/close/fcntl work on it.
 *
 * The protocol's per-socket object (`proto`, a SocketProto from protosw.ts)
 * does the real work; this file only adapts.
 *
 * Lifecycle: `socreate` → Socket + proto.attach → File(socketOps) in the fd
 * table → ... → last File reference → socketOps.close → proto.close; the
 * Socket is garbage once its protocol lets go of it.
 *
 * @guardedBy the single virtual CPU: fields change between awaits only.
 */
import { EAGAIN, EINTR, EINVAL, ENOTTY, EPIPE, EPROTONOSUPPORT, EAFNOSUPPORT, ESOCKTNOSUPPORT, err } from '../../kern/errno.ts';
import { O_NONBLOCK, O_RDWR, POLLERR, POLLHUP, POLLNVAL, S_IFSOCK, SIGPIPE } from '../../kern/constants.ts';
import { File, type FileOps, type Stat } from '../../kern/file.ts';
import { WaitQueue, type Lwp } from '../../kern/sched.ts';
import { psignal } from '../../kern/sig_post.ts';
import type { NetStack } from '../netstack.ts';
import { MSG_DONTWAIT, MSG_NOSIGNAL, SOCK_STREAM } from './constants.ts';
import type { SocketProto } from './protosw.ts';
import { ifIoctl, isIfIoctl } from './if_ioctl.ts';

/** ioctl numbers sockets answer (asm-generic/ioctls.h, linux/sockios.h). */
export const FIONREAD = 0x541b;
export const FIONBIO = 0x5421;
export const SIOCINQ = FIONREAD;
export const SIOCOUTQ = 0x5411;

/** st_dev of every socket: the anonymous sockfs super block. */
export const SOCKFS_DEV = 0x08;

/** Linux's smallest buffer sizes (SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF, approximately). */
export const SOCK_MIN_RCVBUF = 2304;
export const SOCK_MIN_SNDBUF = 4608;

/** SOL_SOCKET option values kept by the socket layer. */
export interface SockOpts {
  reuseaddr: boolean;
  reuseport: boolean;
  keepalive: boolean;
  broadcast: boolean;
  dontroute: boolean;
  oobinline: boolean;
  passcred: boolean;
  debug: boolean;
  /** Buffer limits in bytes as getsockopt reports them (Linux doubles what setsockopt asked). */
  rcvbuf: number;
  sndbuf: number;
  rcvlowat: number;
  /** 0 = wait forever. */
  rcvtimeoNs: bigint;
  sndtimeoNs: bigint;
  linger: { onoff: number; linger: number };
  priority: number;
  /** SO_BINDTODEVICE: interface name or ''. */
  bindToDevice: string;
}

export class Socket {
  readonly ns: NetStack;
  readonly family: number;
  readonly type: number;
  readonly protocol: number;
  /** sockfs inode number (/proc/<pid>/fd names, netstat's inode column). */
  readonly ino: number;
  /** Creator's credentials (the uid column of /proc/net/*). */
  readonly uid: number;
  readonly gid: number;
  proto!: SocketProto;
  readonly opts: SockOpts;
  /** Pending asynchronous error (SO_ERROR), 0 when none. */
  error = 0;
  /** listen() succeeded (SO_ACCEPTCONN). */
  listening = false;
  /** Sleepers waiting to read/accept, and pollers. */
  readonly rcvq: WaitQueue;
  /** Sleepers waiting to write/connect. */
  readonly sndq: WaitQueue;
  /** The File this socket is in, once installed (for O_NONBLOCK). */
  file: File<Socket> | null = null;

  constructor(ns: NetStack, family: number, type: number, protocol: number, cred: { uid: number; gid: number }) {
    this.ns = ns;
    this.family = family;
    this.type = type;
    this.protocol = protocol;
    this.ino = ns.allocIno();
    this.uid = cred.uid;
    this.gid = cred.gid;
    this.rcvq = new WaitQueue('sorcv');
    this.sndq = new WaitQueue('sosnd');
    this.opts = {
      reuseaddr: false, reuseport: false, keepalive: false, broadcast: false, dontroute: false, oobinline: false,
      passcred: false, debug: false,
      rcvbuf: ns.config.rmemDefault, sndbuf: ns.config.wmemDefault, rcvlowat: 1,
      rcvtimeoNs: 0n, sndtimeoNs: 0n, linger: { onoff: 0, linger: 0 }, priority: 0, bindToDevice: '',
    };
  }

  /** Wake everyone waiting on this socket: readiness may have changed. */
  notify(): void {
    this.rcvq.wakeup(this.ns.k);
    this.sndq.wakeup(this.ns.k);
  }

  /** Record an asynchronous error (ICMP, RST, timeout) and wake sleepers. */
  setError(e: number): void {
    this.error = e;
    this.notify();
  }

  /** Read and clear the pending error (SO_ERROR; sock_error()). */
  takeError(): number {
    const e = this.error;
    this.error = 0;
    return e;
  }

  /** True when a call with these flags must not block. */
  nonblocking(flags: number): boolean {
    return (flags & MSG_DONTWAIT) !== 0 || (this.file !== null && (this.file.flags & O_NONBLOCK) !== 0);
  }

  /**
   * Sleep until notify() (or a timeout, or a signal); the caller rechecks its
   * condition. EAGAIN at once when non-blocking, EAGAIN when SO_RCVTIMEO /
   * SO_SNDTIMEO expires, EINTR on a signal.
   */
  async wait(td: Lwp, which: 'rcv' | 'snd', nonblock: boolean): Promise<void> {
    if (nonblock) throw err(EAGAIN);
    const t = which === 'rcv' ? this.opts.rcvtimeoNs : this.opts.sndtimeoNs;
    const why = await (which === 'rcv' ? this.rcvq : this.sndq).sleep(td, { intr: true, timeoutNs: t > 0n ? t : undefined });
    if (why === 'intr') throw err(EINTR);
    if (why === 'timeout') throw err(EAGAIN);
  }
}

/** socket(2)'s checks and the protocol attach; the caller installs the File. */
export function socreate(ns: NetStack, td: Lwp | null, family: number, type: number, protocol: number, cred: { uid: number; gid: number }): Socket {
  const sw = ns.protosw.find(family, type, protocol);
  if (sw === 'family') throw err(EAFNOSUPPORT);
  if (sw === 'type') throw err(family === 1 || family === 2 ? ESOCKTNOSUPPORT : EINVAL);
  if (sw === 'protocol') throw err(EPROTONOSUPPORT);
  const so = new Socket(ns, family, type, sw.protocol, cred);
  so.proto = sw.attach(so, td);
  return so;
}

/**
 * A Socket for a connection accepted on `listener` (sonewconn): same
 * family/type/protocol and owner, SOL_SOCKET options inherited as Linux's
 * sk_clone_lock copies them. The caller sets `proto`.
 */
export function sonewconn(listener: Socket): Socket {
  const so = new Socket(listener.ns, listener.family, listener.type, listener.protocol, { uid: listener.uid, gid: listener.gid });
  Object.assign(so.opts, listener.opts, { linger: { ...listener.opts.linger } });
  return so;
}

/** Wrap a socket in an open file description (one reference). */
export function sofile(so: Socket, statusFlags: number): File<Socket> {
  const fp = new File<Socket>(socketOps, so, O_RDWR | (statusFlags & O_NONBLOCK));
  so.file = fp;
  return fp;
}

/** A failed send on a stream: EPIPE raises SIGPIPE unless MSG_NOSIGNAL (send(2)). */
export function sendError(td: Lwp, so: Socket, flags: number, e: unknown): unknown {
  if ((e as { errno?: number }).errno === EPIPE && so.type === SOCK_STREAM && (flags & MSG_NOSIGNAL) === 0) {
    psignal(td.k, td.proc, SIGPIPE);
  }
  return e;
}

export const socketOps: FileOps<Socket> = {
  type: 'socket',
  async read(fp, td, buf) {
    const r = await fp.data.proto.recv(td, [buf], fp.data.nonblocking(0) ? MSG_DONTWAIT : 0);
    return r.n;
  },
  async write(fp, td, buf) {
    const so = fp.data;
    try {
      return await so.proto.send(td, [buf], so.nonblocking(0) ? MSG_DONTWAIT : 0, null, null);
    } catch (e) {
      throw sendError(td, so, 0, e);
    }
  },
  ioctl(fp, td, cmd, arg) {
    const so = fp.data;
    if (isIfIoctl(cmd)) return ifIoctl(so.ns, td, cmd, arg);
    switch (cmd) {
      case FIONREAD: return so.proto.readable();
      case SIOCOUTQ: return so.proto.unsent?.() ?? 0;
      case FIONBIO:
        fp.flags = arg ? fp.flags | O_NONBLOCK : fp.flags & ~O_NONBLOCK;
        return 0;
      default: throw err(ENOTTY);
    }
  },
  poll(fp, _td, events) {
    const r = fp.data.proto.poll();
    return r & (events | POLLERR | POLLHUP | POLLNVAL);
  },
  pollQueues(fp) {
    return [fp.data.rcvq, fp.data.sndq];
  },
  stat(fp): Stat {
    const so = fp.data;
    const t = { sec: 0, nsec: 0 };
    return {
      dev: SOCKFS_DEV, ino: so.ino, mode: S_IFSOCK | 0o777, nlink: 1, uid: so.uid, gid: so.gid, rdev: 0, size: 0,
      blksize: 4096, blocks: 0, atime: t, mtime: t, ctime: t,
    };
  },
  async close(fp, td) {
    const so = fp.data;
    so.file = null;
    await so.proto.close(td);
    so.notify();
  },
};
