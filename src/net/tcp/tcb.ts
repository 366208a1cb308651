/**
 * The TCP control block (RFC 9293 §3.3.1, "Transmission Control Block"): one
 * connection's state, its sequence variables, buffers, timers and congestion
 * state. It knows nothing of IP: segments go out through `TcpHost.output`,
 * time comes in as milliseconds from `TcpHost.now`, and the one timer a TCB
 * needs is a deadline it hands to `TcpHost.timer` (smoltcp's `poll_at`).
 *
 * The protocol logic lives beside it: `tcp_input.ts` (SEGMENT ARRIVES),
 * `tcp_output.ts` (what to send now), `tcp_timer.ts` (retransmission,
 * persist, keepalive, delayed ACK, TIME-WAIT). `stack.ts` owns the TCBs.
 *
 * Lifecycle: created by connect (SYN-SENT) or by a listener on a SYN
 * (SYN-RECEIVED, embryonic: no buffers allocated until established); it moves
 * through the RFC 9293 §3.3.2 states and ends CLOSED, when the stack drops it
 * from its tables and `onClosed` runs once.
 * @guardedBy the single virtual CPU: every method runs to completion without awaiting.
 */
import type { TcpSegment } from '../wire/tcp.ts';
import { ByteRing } from './ring.ts';
import { Assembler } from './assembler.ts';

/** RFC 9293 §3.3.2 connection states. */
export enum TcpState {
  CLOSED = 0,
  LISTEN = 1,
  SYN_SENT = 2,
  SYN_RECEIVED = 3,
  ESTABLISHED = 4,
  FIN_WAIT_1 = 5,
  FIN_WAIT_2 = 6,
  CLOSE_WAIT = 7,
  CLOSING = 8,
  LAST_ACK = 9,
  TIME_WAIT = 10,
}

export const TCP_STATE_NAMES = [
  'CLOSED',
  'LISTEN',
  'SYN_SENT',
  'SYN_RECEIVED',
  'ESTABLISHED',
  'FIN_WAIT_1',
  'FIN_WAIT_2',
  'CLOSE_WAIT',
  'CLOSING',
  'LAST_ACK',
  'TIME_WAIT',
] as const;

/** Linux's /proc/net/tcp state numbers (include/net/tcp_states.h), indexed by TcpState. */
export const LINUX_TCP_STATE = [7, 10, 2, 3, 1, 4, 5, 8, 11, 9, 6] as const;

/** What the TCP engine needs from whatever carries its segments. */
export interface TcpHost {
  /** Monotonic time in milliseconds. */
  now(): number;
  /** 32 random bits (initial sequence numbers, timestamp offsets, ports). */
  random32(): number;
  /**
   * Send one segment from local address `src` to `dst` (IPv4 as u32), for
   * `tcb` (null for a RST answering a segment without a connection). The
   * payload may view the send buffer: copy it before returning.
   */
  output(src: number, dst: number, seg: TcpSegment, tcb: Tcb | null): void;
  /** (Re)arm this TCB's single timer at absolute time `at` ms; Infinity disarms. */
  timer(tcb: Tcb, at: number): void;
  /** Largest segment payload the route to dst carries without fragmenting (MTU - 40). */
  routeMss(dst: number): number;
}

/** Tunables (Linux defaults where Linux has one). */
export interface TcpConfig {
  /** Maximum segment lifetime; TIME-WAIT lasts 2 MSL (RFC 9293 §3.4.2). Linux holds TIME-WAIT 60 s. */
  mslMs: number;
  /** RFC 6298 §2.4 allows a floor; this stack uses Linux's 200 ms rather than the RFC's 1 s. */
  rtoMinMs: number;
  /** RFC 6298 §2.1 initial RTO. */
  rtoInitMs: number;
  /** RFC 6298 §2.5 permits an upper bound; Linux uses 120 s. */
  rtoMaxMs: number;
  /** Retransmissions of a data segment before ETIMEDOUT (Linux tcp_retries2). */
  maxRetries: number;
  /** SYN retransmissions before ETIMEDOUT (Linux tcp_syn_retries). */
  synRetries: number;
  /** Delayed-ACK delay (RFC 9293 §3.8.6.3 allows up to 500 ms; Linux's minimum is 40 ms). */
  delackMs: number;
  /** Keepalive idle/interval/count (RFC 9293 §3.8.4; Linux tcp_keepalive_*). */
  keepIdleMs: number;
  keepIntvlMs: number;
  keepCnt: number;
  /** Default and largest SO_SNDBUF / SO_RCVBUF. */
  sndBuf: number;
  rcvBuf: number;
  maxBuf: number;
  /** Initial window in segments (RFC 6928). */
  initialWindow: number;
  /** Offer window scaling, timestamps and SACK on SYNs. */
  windowScaling: boolean;
  timestamps: boolean;
  sack: boolean;
}

export const DEFAULT_TCP_CONFIG: TcpConfig = {
  mslMs: 30_000,
  rtoMinMs: 200,
  rtoInitMs: 1_000,
  rtoMaxMs: 120_000,
  maxRetries: 15,
  synRetries: 6,
  delackMs: 40,
  keepIdleMs: 7_200_000,
  keepIntvlMs: 75_000,
  keepCnt: 9,
  sndBuf: 256 * 1024,
  rcvBuf: 256 * 1024,
  maxBuf: 4 * 1024 * 1024,
  initialWindow: 10,
  windowScaling: true,
  timestamps: true,
  sack: true,
};

/** Default MSS when the peer sends none (RFC 9293 §3.7.1: 536 for IPv4). */
export const TCP_DEFAULT_MSS = 536;
/** Largest window-scale shift (RFC 7323 §2.3). */
export const TCP_MAX_WSCALE = 14;

export class Tcb {
  // ---- identity -----------------------------------------------------------
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;

  /** @guardedBy the single virtual CPU */
  state: TcpState = TcpState.CLOSED;
  /** True if created by a listener (SYN-RECEIVED returns to LISTEN on RST, RFC 9293 §3.10.7.4). */
  passive = false;

  // ---- send sequence variables (RFC 9293 §3.3.1) ----------------------------
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** Highest sequence number sent (BSD snd_max); SND.NXT falls back on retransmission. */
  sndMax = 0;
  /** Peer's window, already scaled. */
  sndWnd = 0;
  /** Largest window the peer has offered (for RFC 5961 §5.2 and sender SWS avoidance). */
  maxSndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** Shift applied to the peer's advertised windows (RFC 7323 §2.3). */
  sndScale = 0;
  /** Bytes from SND.UNA that the user wrote (not counting SYN/FIN). */
  readonly sndBuf: ByteRing;
  /** The user closed the sending side: a FIN follows the buffered data. */
  finQueued = false;
  /** Our FIN has been acknowledged. */
  finAcked = false;
  /** Largest payload per segment toward the peer, options not yet subtracted. */
  sndMss = TCP_DEFAULT_MSS;

  // ---- receive sequence variables --------------------------------------------
  irs = 0;
  rcvNxt = 0;
  /** Right edge last advertised (RCV.NXT + RCV.WND when sent); never moves left (RFC 9293 §3.8.6.2.2). */
  rcvAdv = 0;
  /** Shift we apply to our advertised windows. */
  rcvScale = 0;
  /** In-order bytes waiting for the user, then out-of-order bytes ahead in free space. */
  readonly rcvBuf: ByteRing;
  readonly ooo = new Assembler();
  /** A FIN arrived beyond RCV.NXT: its sequence number, processed once the gap fills. */
  rcvFinSeq = -1;
  /** The peer's FIN has been consumed (end of stream after the buffered bytes). */
  finReceived = false;
  /** The user shut down reading: arriving data is discarded (Linux keeps ACKing it). */
  rdShut = false;

  // ---- options ------------------------------------------------------------
  /** RFC 7323 timestamps in use on this connection. */
  tsOk = false;
  /** TS.Recent and the time it was set (RFC 7323 §4.3, §5.5). */
  tsRecent = 0;
  tsRecentAt = 0;
  /** Per-connection offset added to our TSval. */
  tsOffset = 0;
  /** RCV.NXT in the last ACK sent (Last.ACK.sent, RFC 7323 §4.3). */
  lastAckSent = 0;
  /** RFC 2018 SACK in use. */
  sackOk = false;
  /** Peer SACKed ranges above SND.UNA, [l0, r0, l1, r1, …] sorted (the scoreboard). */
  sacked: number[] = [];

  // ---- round-trip timing (RFC 6298) ----------------------------------------
  srtt = 0;
  rttvar = 0;
  rto: number;
  /** Retransmissions since the last forward progress (exponential backoff count). */
  backoff = 0;
  /** Karn's sample: sequence number timed and when it was sent; -1 = none (RFC 6298 §3). */
  rttSeq = -1;
  rttStart = 0;

  // ---- congestion control (RFC 5681, RFC 6582) ------------------------------
  cwnd = 0;
  ssthresh = 0x7fffffff;
  dupAcks = 0;
  /** In fast recovery; `recover` is the RFC 6582 recovery point. */
  inRecovery = false;
  recover = 0;
  /** Bytes ACKed toward the next cwnd increase in congestion avoidance (RFC 5681 §3.1, byte counting). */
  bytesAcked = 0;
  /** Highest sequence retransmitted in SACK recovery (RFC 6675 HighRxt). */
  highRxt = 0;

  // ---- timers: absolute deadlines in ms, Infinity when off ------------------
  rexmtAt = Infinity;
  persistAt = Infinity;
  keepAt = Infinity;
  delackAt = Infinity;
  /** 2MSL in TIME-WAIT, or the connection-establishment/FIN-WAIT-2 limit. */
  closeAt = Infinity;
  /** The deadline last handed to TcpHost.timer. */
  armedAt = Infinity;
  /** Keepalive probes sent without answer. */
  keepProbes = 0;
  /** Time the last segment arrived (keepalive idle). */
  lastRecvAt = 0;
  /** Persist backoff count. */
  persistShift = 0;

  // ---- what output should do next ------------------------------------------
  /** Send an ACK now (RFC 9293 §3.10.7.4: out-of-window segments, FIN, hole fills). */
  ackNow = false;
  /** Full-sized segments received since the last ACK (ACK every second one, RFC 5681 §4.2). */
  unackedSegs = 0;
  /** Send one byte into a zero window on the next output (persist probe). */
  forceProbe = false;

  // ---- socket options --------------------------------------------------------
  nodelay = false;
  keepalive = false;
  keepIdleMs: number;
  keepIntvlMs: number;
  keepCnt: number;
  /** TCP_MAXSEG set by the user (0 = none). */
  userMss = 0;
  /** IP_TTL (-1 = the stack's default) and IP_TOS for this connection's datagrams. */
  ipTtl = -1;
  ipTos = 0;

  /** Pending error for SO_ERROR / the next call (Linux errno name, e.g. 'ECONNRESET'). */
  error: string | null = null;
  /** Last ICMP soft error (RFC 1122 §4.2.3.9): what a timeout reports instead of ETIMEDOUT. */
  softError: string | null = null;
  /** Called when readable/writable/state may have changed (the socket wakes its waiters). */
  upcall: ((tcb: Tcb) => void) | null = null;
  /** Called on every state change (the stack moves listener queues and drops CLOSED TCBs). */
  onState: ((tcb: Tcb, from: TcpState, to: TcpState) => void) | null = null;
  /** The socket was closed by its user: nobody reads any more (orphan, Linux's SOCK_DEAD). */
  orphan = false;
  /** The socket layer's record of this connection (its port-table entry), if any. */
  owner: unknown = null;
  /** Listener this embryonic/unaccepted connection belongs to (set by the stack). */
  listener: unknown = null;
  /** Counters for this connection (retransmits, segments). */
  retransmits = 0;

  readonly host: TcpHost;
  readonly cfg: TcpConfig;

  constructor(host: TcpHost, cfg: TcpConfig, localAddr: number, localPort: number, remoteAddr: number, remotePort: number) {
    this.host = host;
    this.cfg = cfg;
    this.localAddr = localAddr;
    this.localPort = localPort;
    this.remoteAddr = remoteAddr;
    this.remotePort = remotePort;
    this.rto = cfg.rtoInitMs;
    this.sndBuf = new ByteRing(cfg.sndBuf);
    this.rcvBuf = new ByteRing(cfg.rcvBuf);
    this.keepIdleMs = cfg.keepIdleMs;
    this.keepIntvlMs = cfg.keepIntvlMs;
    this.keepCnt = cfg.keepCnt;
  }

  /** Move to state `to` (RFC 9293 §3.3.2), telling the stack and the socket. */
  setState(to: TcpState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.onState?.(this, from, to);
    this.upcall?.(this);
  }

  /**
   * Enter CLOSED: stop every timer and remember `error` for the user. On an
   * error the buffers go (Linux discards queued data on a reset); on an
   * orderly close unread data stays readable.
   */
  close(error: string | null): void {
    if (error !== null) this.error = error;
    this.rexmtAt = this.persistAt = this.keepAt = this.delackAt = this.closeAt = Infinity;
    if (error !== null || this.orphan) {
      this.sndBuf.release();
      this.ooo.clear();
      this.rcvBuf.release();
    }
    this.sacked.length = 0;
    this.setState(TcpState.CLOSED);
    if (this.armedAt !== Infinity) {
      this.armedAt = Infinity;
      this.host.timer(this, Infinity);
    }
  }

  /** Synchronized states: a connection exists in both directions (RFC 9293 §3.5). */
  get synchronized(): boolean {
    return this.state >= TcpState.ESTABLISHED;
  }

  /** Bytes the user can read now. */
  get readable(): number {
    return this.rcvBuf.len;
  }

  /** Bytes the user can write now. */
  get writable(): number {
    if (this.finQueued) return 0;
    return this.sndBuf.free;
  }

  /** Sequence number of the first byte in sndBuf. */
  get sndBufSeq(): number {
    return this.sndUna + (this.state === TcpState.SYN_SENT || this.state === TcpState.SYN_RECEIVED ? 1 : 0);
  }

  /** Sequence number of our FIN (meaningful when finQueued and not yet finAcked). */
  get finSeq(): number {
    return (this.sndUna + this.sndBuf.len) >>> 0;
  }

  /** The next deadline of any timer. */
  get deadline(): number {
    return Math.min(this.rexmtAt, this.persistAt, this.keepAt, this.delackAt, this.closeAt);
  }

  /** Our receive window right now: free buffer space, clamped to what the scale can express. */
  rcvSpace(): number {
    if (this.rdShut) return Math.min(this.rcvBuf.capacity, 65535 << this.rcvScale);
    return Math.min(this.rcvBuf.free, 65535 << this.rcvScale);
  }

  /** TSval we send now (RFC 7323 §4.1: a clock tick of 1 ms). */
  tsNow(): number {
    return (Math.floor(this.host.now()) + this.tsOffset) >>> 0;
  }

  /** Effective payload limit for a segment carrying `optLen` option bytes (RFC 6691). */
  payloadMss(optLen: number): number {
    return Math.max(1, this.sndMss - optLen);
  }
}
