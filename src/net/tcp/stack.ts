/**
 * The TCP stack of one kernel: the table of connections and listeners, the
 * demultiplexing of arriving segments (RFC 9293 §3.10.7.1 CLOSED and
 * §3.10.7.2 LISTEN are handled here), initial sequence numbers, and ICMP
 * error delivery. Port allocation and bind rules are the socket layer's
 * (inet/in_pcb.ts). It is independent of IP: segments arrive through
 * `input(src, dst, seg)` and leave through `TcpHost.output`, so two stacks
 * can be wired together directly in a test.
 *
 * SYN floods: each listener keeps at most `synQueueMax` embryonic
 * (SYN-RECEIVED) connections, evicting the oldest when full, and an
 * embryonic connection allocates no buffers; the accept queue is bounded by
 * the listen backlog (a SYN is dropped when it is full, as Linux does).
 * @guardedBy the single virtual CPU: no method awaits.
 */
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpSegment } from '../wire/tcp.ts';
import { seqGt, seqGe, seqLe, seqAdd } from './seq.ts';
import { DEFAULT_TCP_CONFIG, Tcb, TcpState, TCP_MAX_WSCALE, type TcpConfig, type TcpHost } from './tcb.ts';
import { takeSynOptions, tcpInput } from './tcp_input.ts';
import { respondRst, sendAbortRst, tcpOutput } from './tcp_output.ts';
import { tcpTimer } from './tcp_timer.ts';

/** A listening endpoint: its SYN queue and accept queue (RFC 9293 §3.10.7.2). */
export class Listener {
  readonly addr: number;
  readonly port: number;
  backlog: number;
  /** Embryonic connections, oldest first; bounded by synQueueMax. */
  readonly synQueue: Tcb[] = [];
  /** Established connections waiting for accept(); bounded by backlog. */
  readonly acceptQueue: Tcb[] = [];
  /** Wakes accept()/poll when acceptQueue gains an entry. */
  upcall: ((l: Listener) => void) | null = null;
  closed = false;
  /** Options copied to each new connection (SO_RCVBUF, SO_SNDBUF, TCP_NODELAY, …). */
  template: ((tcb: Tcb) => void) | null = null;
  /** SYNs dropped because a queue was full (Linux's ListenOverflows / ListenDrops). */
  overflows = 0;

  constructor(addr: number, port: number, backlog: number) {
    this.addr = addr;
    this.port = port;
    this.backlog = backlog;
  }

  get synQueueMax(): number {
    return Math.min(1024, Math.max(64, 2 * this.backlog));
  }
}

export class TcpStack {
  readonly host: TcpHost;
  readonly cfg: TcpConfig;
  /** Connections by (localPort << 16 | remotePort); a bucket holds the few sharing those ports. */
  private readonly conns = new Map<number, Tcb[]>();
  /** Listeners by local port. */
  private readonly listeners = new Map<number, Listener[]>();
  /** Every state change (tests check them against RFC 9293's diagram). */
  onTransition: ((tcb: Tcb, from: TcpState, to: TcpState) => void) | null = null;
  /** Segments that found no connection and drew a RST, dropped as malformed, etc. */
  readonly stats = { rstSent: 0, synDropped: 0, embryonicEvicted: 0 };

  constructor(host: TcpHost, cfg: Partial<TcpConfig> = {}) {
    this.host = host;
    this.cfg = { ...DEFAULT_TCP_CONFIG, ...cfg };
  }

  // ---- tables -------------------------------------------------------------

  private key(lport: number, rport: number): number {
    return lport * 65536 + rport;
  }

  /** The connection for a 4-tuple, if any. */
  lookup(laddr: number, lport: number, raddr: number, rport: number): Tcb | undefined {
    const b = this.conns.get(this.key(lport, rport));
    if (b === undefined) return undefined;
    for (const t of b) {
      if (t.remoteAddr === raddr && (t.localAddr === laddr || laddr === 0)) return t;
    }
    return undefined;
  }

  /** Every connection (for /proc/net/tcp and netstat). */
  *connections(): IterableIterator<Tcb> {
    for (const b of this.conns.values()) yield* b;
  }

  *allListeners(): IterableIterator<Listener> {
    for (const b of this.listeners.values()) yield* b;
  }

  private insert(tcb: Tcb): void {
    const k = this.key(tcb.localPort, tcb.remotePort);
    let b = this.conns.get(k);
    if (b === undefined) this.conns.set(k, (b = []));
    b.push(tcb);
    tcb.onState = (t, from, to) => this.stateChanged(t, from, to);
  }

  private remove(tcb: Tcb): void {
    const k = this.key(tcb.localPort, tcb.remotePort);
    const b = this.conns.get(k);
    if (b === undefined) return;
    const i = b.indexOf(tcb);
    if (i >= 0) b.splice(i, 1);
    if (b.length === 0) this.conns.delete(k);
  }

  private stateChanged(tcb: Tcb, from: TcpState, to: TcpState): void {
    this.onTransition?.(tcb, from, to);
    const l = tcb.listener as Listener | null;
    if (l !== null && from === TcpState.SYN_RECEIVED) {
      const i = l.synQueue.indexOf(tcb);
      if (i >= 0) l.synQueue.splice(i, 1);
      if (to !== TcpState.CLOSED) {
        if (l.closed) {
          sendAbortRst(tcb);
          tcb.close(null);
          return;
        }
        l.acceptQueue.push(tcb);
        l.upcall?.(l);
      }
    }
    // A connection reset before accept() stays in the accept queue, as on Linux;
    // accept() returns it and the first read reports the error.
    if (to === TcpState.CLOSED) this.remove(tcb);
  }

  // ---- initial sequence numbers ------------------------------------------------

  /** An ISN from the host's randomness (RFC 9293 §3.4.1 asks that ISNs be unpredictable). */
  isn(): number {
    return this.host.random32() >>> 0;
  }

  private newTcb(laddr: number, lport: number, raddr: number, rport: number): Tcb {
    const tcb = new Tcb(this.host, this.cfg, laddr, lport, raddr, rport);
    // RFC 7323 §2.3: the smallest shift that lets the largest buffer be advertised.
    let scale = 0;
    while (scale < TCP_MAX_WSCALE && this.cfg.maxBuf >> scale > 65535) scale++;
    tcb.rcvScale = this.cfg.windowScaling ? scale : 0;
    tcb.tsOffset = this.host.random32();
    tcb.sndMss = this.host.routeMss(raddr);
    return tcb;
  }

  // ---- user requests --------------------------------------------------------

  /** Active open (RFC 9293 §3.10.1): a TCB in SYN-SENT with its SYN sent. `setup` applies socket options first. */
  connect(laddr: number, lport: number, raddr: number, rport: number, setup?: (tcb: Tcb) => void): Tcb {
    const tcb = this.newTcb(laddr, lport, raddr, rport);
    setup?.(tcb);
    tcb.iss = this.isn();
    tcb.sndUna = tcb.iss;
    tcb.sndNxt = tcb.iss;
    tcb.sndMax = tcb.iss;
    tcb.highRxt = tcb.iss;
    tcb.recover = tcb.iss;
    this.insert(tcb);
    tcb.setState(TcpState.SYN_SENT);
    tcpOutput(tcb);
    return tcb;
  }

  /** Passive open: a listener on addr:port (0 = any address). */
  listen(addr: number, port: number, backlog: number): Listener {
    const l = new Listener(addr, port, Math.max(1, backlog));
    let b = this.listeners.get(port);
    if (b === undefined) this.listeners.set(port, (b = []));
    b.push(l);
    return l;
  }

  /** Stop listening: embryonic and unaccepted connections are reset (Linux inet_csk_listen_stop). */
  unlisten(l: Listener): void {
    l.closed = true;
    const b = this.listeners.get(l.port);
    if (b !== undefined) {
      const i = b.indexOf(l);
      if (i >= 0) b.splice(i, 1);
      if (b.length === 0) this.listeners.delete(l.port);
    }
    for (const t of [...l.synQueue, ...l.acceptQueue]) {
      if (t.state !== TcpState.CLOSED) {
        t.orphan = true;
        sendAbortRst(t);
        t.close(null);
      }
    }
    l.synQueue.length = 0;
    l.acceptQueue.length = 0;
  }

  /** Timer callback for a TCB (the host calls this when the deadline it was given passes). */
  timer(tcb: Tcb): void {
    tcpTimer(tcb);
  }

  // ---- segment arrival ---------------------------------------------------------

  /** A segment arrived from `src` for `dst` (already checksummed and parsed). */
  input(src: number, dst: number, seg: TcpSegment): void {
    let tcb = this.lookup(dst, seg.dstPort, src, seg.srcPort);
    if (tcb !== undefined && tcb.state === TcpState.TIME_WAIT && (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN) {
      // A new SYN for a TIME-WAIT connection may reopen it if its sequence number is
      // beyond the old one (RFC 9293 §3.6.1 / RFC 6191 with timestamps).
      const newer = seqGt(seg.seq, tcb.rcvNxt) || (tcb.tsOk && seg.hasTimestamp && seqGt(seg.tsVal, tcb.tsRecent));
      if (newer && this.findListener(dst, seg.dstPort) !== undefined) {
        tcb.close(null);
        tcb = undefined;
      }
    }
    if (tcb !== undefined) {
      const l = tcb.listener as Listener | null;
      if (tcb.state === TcpState.SYN_RECEIVED && l !== null && tcb.passive && l.acceptQueue.length >= l.backlog && (seg.flags & TCP_ACK) && !(seg.flags & TCP_RST)) {
        // Accept queue full: ignore the handshake's last ACK; the SYN-ACK is retransmitted later.
        l.overflows++;
        return;
      }
      tcpInput(tcb, seg);
      return;
    }
    const l = this.findListener(dst, seg.dstPort);
    if (l !== undefined) {
      this.listenInput(l, src, dst, seg);
      return;
    }
    // RFC 9293 §3.10.7.1: CLOSED — answer anything but a RST with a RST.
    if (!(seg.flags & TCP_RST)) this.stats.rstSent++;
    respondRst(this.host, dst, src, seg);
  }

  private findListener(addr: number, port: number): Listener | undefined {
    const b = this.listeners.get(port);
    if (b === undefined) return undefined;
    let any: Listener | undefined;
    for (const l of b) {
      if (l.addr === addr) return l;
      if (l.addr === 0) any = l;
    }
    return any;
  }

  /** RFC 9293 §3.10.7.2: LISTEN. */
  private listenInput(l: Listener, src: number, dst: number, seg: TcpSegment): void {
    const f = seg.flags;
    if (f & TCP_RST) return; // first: ignore a RST
    if (f & TCP_ACK) {
      respondRst(this.host, dst, src, seg); // second: <SEQ=SEG.ACK><CTL=RST>
      return;
    }
    if (!(f & TCP_SYN)) return;
    // Third: a SYN. Bounded queues: drop when the accept queue is full, evict the oldest
    // embryonic connection when the SYN queue is full.
    if (l.acceptQueue.length >= l.backlog) {
      l.overflows++;
      this.stats.synDropped++;
      return;
    }
    if (l.synQueue.length >= l.synQueueMax) {
      const old = l.synQueue.shift()!;
      this.stats.embryonicEvicted++;
      old.listener = null;
      old.close(null);
    }
    const tcb = this.newTcb(dst, seg.dstPort, src, seg.srcPort);
    tcb.passive = true;
    tcb.listener = l;
    l.template?.(tcb);
    tcb.irs = seg.seq;
    tcb.rcvNxt = seqAdd(seg.seq, 1);
    tcb.rcvAdv = tcb.rcvNxt;
    takeSynOptions(tcb, seg);
    tcb.sndWnd = seg.window; // unscaled in a SYN (RFC 7323 §2.2)
    tcb.maxSndWnd = tcb.sndWnd;
    tcb.sndWl1 = seg.seq;
    tcb.iss = this.isn();
    tcb.sndUna = tcb.iss;
    tcb.sndNxt = tcb.iss;
    tcb.sndMax = tcb.iss;
    tcb.highRxt = tcb.iss;
    tcb.recover = tcb.iss;
    tcb.state = TcpState.LISTEN;
    this.insert(tcb);
    l.synQueue.push(tcb);
    tcb.setState(TcpState.SYN_RECEIVED);
    tcpOutput(tcb); // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
  }

  // ---- ICMP errors (RFC 9293 §3.9.2.2, RFC 5927) ---------------------------------

  /**
   * An ICMP error quoted a segment we sent from laddr:lport to raddr:rport
   * with sequence number `seq`. A hard error (RFC 1122 §4.2.3.9; Linux's
   * icmp_err_convert "fatal") aborts a connection still in SYN-SENT with
   * `errnoName` (port unreachable → ECONNREFUSED); otherwise it is kept as a
   * soft error. `mtu` > 0 (fragmentation needed, RFC 1191) lowers the MSS to
   * fit and retransmits.
   */
  icmpError(laddr: number, lport: number, raddr: number, rport: number, seq: number, errnoName: string, hard: boolean, mtu = 0): void {
    const tcb = this.lookup(laddr, lport, raddr, rport);
    if (tcb === undefined) return;
    // RFC 5927 §4.1: act only on errors quoting a sequence number in flight.
    if (!(seqGe(seq, tcb.sndUna) && seqLe(seq, tcb.sndMax))) return;
    if (mtu > 0) {
      const mss = Math.max(68 - 40, mtu - 40);
      if (mss < tcb.sndMss) {
        tcb.sndMss = mss;
        tcb.sndNxt = tcb.sndUna; // resend what was too big
        tcpOutput(tcb);
      }
      return;
    }
    if (tcb.state === TcpState.SYN_SENT && hard) {
      tcb.close(errnoName);
      return;
    }
    tcb.softError = errnoName; // reported if the connection later times out
  }
}
