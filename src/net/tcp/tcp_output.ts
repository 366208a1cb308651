/**
 * TCP output: decide what a connection sends now and build the segments
 * (BSD's tcp_output). Data goes out when the usable window (the smaller of
 * the peer's window and cwnd, less what is in flight) allows, subject to
 * Nagle (RFC 9293 §3.7.4) and sender silly-window avoidance (§3.8.6.2.1);
 * ACKs go out when input asked for one or the delayed-ACK timer ran; window
 * updates when the receive window grew enough (§3.8.6.2.2). Also here:
 * retransmitting one segment (fast retransmit, SACK holes), RST and
 * challenge-ACK segments, and arming the TCB's timer.
 *
 * Segments handed to `TcpHost.output` may view the send ring; the host must
 * copy the payload before returning.
 */
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcpSegment, type TcpSegment } from '../wire/tcp.ts';
import { seqAdd, seqDiff, seqGe, seqGt, seqLt } from './seq.ts';
import { Tcb, TcpState, type TcpHost } from './tcb.ts';

const EMPTY = new Uint8Array(0);
/** Bound on segments one output call emits (the loop ends by itself; this keeps it provably finite). */
const OUTPUT_BURST = 4096;

/** Options bytes an ordinary (non-SYN) segment carries, for the payload limit. */
function optionBytes(tcb: Tcb, sackBlocks: number): number {
  let n = tcb.tsOk ? 12 : 0;
  if (sackBlocks > 0) n += 4 + 8 * sackBlocks;
  return n;
}

/**
 * The window to advertise, in bytes: free receive space, but never moving the
 * right edge left (RFC 9293 §3.8.6.2.2 / §3.10.7.4) and not growing it by
 * less than min(buffer/2, MSS) (receiver SWS avoidance, §3.8.6.2.2).
 */
export function advertisedWindow(tcb: Tcb): number {
  const space = tcb.rcvSpace();
  const cur = Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt));
  if (space <= cur) return cur;
  if (space - cur < Math.min(tcb.rcvBuf.capacity >> 1, tcb.sndMss) && cur > 0) return cur;
  if (space < Math.min(tcb.rcvBuf.capacity >> 1, tcb.sndMss)) return cur;
  return space;
}

/** Build and send one segment with the connection's ACK, window and options. */
export function emitSegment(tcb: Tcb, seq: number, flags: number, payload: Uint8Array): void {
  const syn = (flags & TCP_SYN) !== 0;
  let window: number;
  const wnd = advertisedWindow(tcb);
  if (syn) {
    window = Math.min(wnd, 65535); // RFC 7323 §2.2: the window in a SYN is never scaled
  } else {
    // Round down (RFC 7323 §2.3): rounding up would promise bytes the buffer may not have,
    // and repeated over many ACKs the promise would creep past the buffer.
    window = Math.min(65535, Math.floor(wnd / (1 << tcb.rcvScale)));
  }
  const right = seqAdd(tcb.rcvNxt, syn ? window : window << tcb.rcvScale);
  if ((flags & TCP_ACK) !== 0 && seqGt(right, tcb.rcvAdv)) tcb.rcvAdv = right;
  let sack: number[] | null = null;
  if (tcb.sackOk && !syn && !tcb.ooo.empty) sack = tcb.ooo.sackBlocks(tcb.rcvNxt, tcb.tsOk ? 3 : 4);
  const seg: TcpSegment = {
    srcPort: tcb.localPort,
    dstPort: tcb.remotePort,
    seq,
    ack: (flags & TCP_ACK) !== 0 ? tcb.rcvNxt : 0,
    flags,
    window,
    urgent: 0,
    mss: 0,
    wscale: -1,
    sackPermitted: false,
    hasTimestamp: false,
    tsVal: 0,
    tsEcr: 0,
    sack,
    payload,
  };
  if (syn) {
    // RFC 9293 §3.7.1: announce our MSS on SYNs; RFC 7323 §2.2 / RFC 2018 §2: offer
    // scaling and SACK on a SYN, or accept them on a SYN-ACK only if the peer offered.
    seg.mss = tcb.userMss > 0 ? Math.min(tcb.userMss, tcb.host.routeMss(tcb.remoteAddr)) : tcb.host.routeMss(tcb.remoteAddr);
    const active = tcb.state === TcpState.SYN_SENT;
    if (active ? tcb.cfg.windowScaling : tcb.rcvScale > 0 || tcb.sndScale > 0) seg.wscale = tcb.rcvScale;
    if (active ? tcb.cfg.sack : tcb.sackOk) seg.sackPermitted = true;
    if (active ? tcb.cfg.timestamps : tcb.tsOk) {
      seg.hasTimestamp = true;
      seg.tsVal = tcb.tsNow();
      seg.tsEcr = (flags & TCP_ACK) !== 0 ? tcb.tsRecent : 0;
    }
  } else if (tcb.tsOk) {
    // RFC 7323 §3.2: every non-RST segment carries timestamps once negotiated.
    seg.hasTimestamp = (flags & TCP_RST) === 0;
    seg.tsVal = tcb.tsNow();
    seg.tsEcr = tcb.tsRecent;
  }
  if ((flags & TCP_ACK) !== 0) {
    tcb.lastAckSent = tcb.rcvNxt;
    tcb.ackNow = false;
    tcb.delackAt = Infinity;
    tcb.unackedSegs = 0;
  }
  tcb.host.output(tcb.localAddr, tcb.remoteAddr, seg, tcb);
}

/** Send a RST for a segment that has no connection (RFC 9293 §3.10.7.1). */
export function respondRst(host: TcpHost, localAddr: number, remoteAddr: number, seg: TcpSegment): void {
  if ((seg.flags & TCP_RST) !== 0) return; // never answer a RST
  const out = tcpSegment({ srcPort: seg.dstPort, dstPort: seg.srcPort, flags: TCP_RST });
  if ((seg.flags & TCP_ACK) !== 0) {
    out.seq = seg.ack; // <SEQ=SEG.ACK><CTL=RST>
  } else {
    const len = seg.payload.byteLength + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0);
    out.ack = seqAdd(seg.seq, len); // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    out.flags = TCP_RST | TCP_ACK;
  }
  host.output(localAddr, remoteAddr, out, null);
}

/** Send a RST on a connection we abort (RFC 9293 §3.10.4 ABORT: <SEQ=SND.NXT><CTL=RST>). */
export function sendAbortRst(tcb: Tcb): void {
  emitSegment(tcb, tcb.sndNxt, TCP_RST | TCP_ACK, EMPTY);
}

/**
 * Retransmit up to one segment starting at `seq` (fast retransmit, a SACK
 * hole, a partial ACK). Does not move SND.NXT. Returns bytes of sequence space sent.
 */
export function retransmitAt(tcb: Tcb, seq: number, limit: number): number {
  const base = tcb.sndBufSeq;
  const off = seqDiff(seq, base);
  if (off < 0) return 0;
  const sack = tcb.sackOk && !tcb.ooo.empty ? Math.min(tcb.ooo.sackBlocks(tcb.rcvNxt, 4)!.length >> 1, tcb.tsOk ? 3 : 4) : 0;
  const mss = tcb.payloadMss(optionBytes(tcb, sack));
  // Only what was sent before: bytes beyond SND.MAX are new data, output's business.
  const len = Math.max(0, Math.min(mss, limit, tcb.sndBuf.len - off, seqDiff(tcb.sndMax, seq)));
  let flags = TCP_ACK;
  let space = len;
  if (tcb.finQueued && !tcb.finAcked && seqAdd(seq, len) === tcb.finSeq && seqLt(tcb.finSeq, tcb.sndMax)) {
    flags |= TCP_FIN;
    space++;
  }
  if (space === 0) return 0;
  if (len > 0 && off + len === tcb.sndBuf.len) flags |= TCP_PSH;
  // Karn's algorithm (RFC 6298 §3): a retransmitted segment gives no RTT sample.
  if (tcb.rttSeq >= 0 && seqGe(tcb.rttSeq, seq) && seqLt(tcb.rttSeq, seqAdd(seq, space))) tcb.rttSeq = -1;
  emitSegment(tcb, seq, flags, len > 0 ? tcb.sndBuf.view(off, len) : EMPTY);
  tcb.retransmits++;
  if (tcb.rexmtAt === Infinity) tcb.rexmtAt = tcb.host.now() + tcb.rto;
  return space;
}

/** Send what the connection may send now, then re-arm its timer. */
export function tcpOutput(tcb: Tcb): void {
  for (let i = 0; i < OUTPUT_BURST; i++) {
    if (!outputOne(tcb)) break;
  }
  // Data waits (sender SWS avoidance or a lost window update) with no timer running:
  // the persist timer forces it out (RFC 9293 §3.8.6.2.1 "override timeout"; BSD tcp_setpersist).
  if (
    tcb.synchronized &&
    tcb.state !== TcpState.TIME_WAIT &&
    tcb.rexmtAt === Infinity &&
    tcb.persistAt === Infinity &&
    tcb.sndBuf.len - seqDiff(tcb.sndNxt, tcb.sndBufSeq) > 0
  ) {
    tcb.persistAt = tcb.host.now() + persistInterval(tcb);
  }
  armTimer(tcb);
}

/** Hand the earliest deadline to the host if it changed. */
export function armTimer(tcb: Tcb): void {
  const at = tcb.state === TcpState.CLOSED ? Infinity : tcb.deadline;
  if (at !== tcb.armedAt) {
    tcb.armedAt = at;
    tcb.host.timer(tcb, at);
  }
}

function outputOne(tcb: Tcb): boolean {
  const now = tcb.host.now();
  switch (tcb.state) {
    case TcpState.CLOSED:
    case TcpState.LISTEN:
      return false;
    case TcpState.SYN_SENT:
    case TcpState.SYN_RECEIVED: {
      if (tcb.sndNxt === tcb.iss) {
        // RFC 9293 §3.10.1 / §3.10.7.2: <SEQ=ISS><CTL=SYN> or <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
        const flags = tcb.state === TcpState.SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK;
        if (tcb.rttSeq < 0 && tcb.backoff === 0) {
          tcb.rttSeq = tcb.iss;
          tcb.rttStart = now;
        }
        emitSegment(tcb, tcb.iss, flags, EMPTY);
        tcb.sndNxt = seqAdd(tcb.iss, 1);
        if (seqGt(tcb.sndNxt, tcb.sndMax)) tcb.sndMax = tcb.sndNxt;
        if (tcb.rexmtAt === Infinity) tcb.rexmtAt = now + tcb.rto;
        return false;
      }
      if (tcb.ackNow && tcb.state === TcpState.SYN_RECEIVED) {
        emitSegment(tcb, tcb.sndNxt, TCP_ACK, EMPTY);
      }
      return false;
    }
    case TcpState.TIME_WAIT:
      if (tcb.ackNow) emitSegment(tcb, tcb.sndMax, TCP_ACK, EMPTY);
      return false;
    default:
      break;
  }

  // Zero window (BSD tcp_output): nothing beyond SND.UNA may be in flight; pull SND.NXT back,
  // stop the retransmission timer and let the persist timer probe (RFC 9293 §3.8.6.1).
  if (tcb.sndWnd === 0 && tcb.sndBuf.len > 0) {
    if (tcb.sndNxt !== tcb.sndUna) {
      tcb.sndNxt = tcb.sndUna;
      tcb.rexmtAt = Infinity;
      tcb.backoff = 0;
    }
    if (tcb.persistAt === Infinity && !tcb.forceProbe) tcb.persistAt = now + persistInterval(tcb);
  }

  const base = tcb.sndBufSeq;
  const off = seqDiff(tcb.sndNxt, base);
  const bufLen = tcb.sndBuf.len;
  const unsent = Math.max(0, bufLen - off);
  const inFlight = seqDiff(tcb.sndNxt, tcb.sndUna);
  const sackBlocks = tcb.sackOk && !tcb.ooo.empty ? Math.min(tcb.ooo.sackBlocks(tcb.rcvNxt, 4)!.length >> 1, tcb.tsOk ? 3 : 4) : 0;
  const mss = tcb.payloadMss(optionBytes(tcb, sackBlocks));

  const win = tcb.forceProbe && tcb.sndWnd === 0 ? 1 : Math.min(tcb.sndWnd, tcb.cwnd);
  const usable = win - seqDiff(tcb.sndNxt, tcb.sndUna);
  let len = Math.max(0, Math.min(unsent, usable, mss));
  const finState = tcb.state === TcpState.FIN_WAIT_1 || tcb.state === TcpState.CLOSING || tcb.state === TcpState.LAST_ACK;
  const fin = tcb.finQueued && !tcb.finAcked && finState && seqAdd(tcb.sndNxt, len) === tcb.finSeq;

  let send = false;
  if (len > 0) {
    if (len === mss) send = true;
    // Nagle (RFC 9293 §3.7.4): a short segment only when nothing is in flight, or with TCP_NODELAY,
    // and only if it empties the buffer.
    else if (len === unsent && (tcb.nodelay || inFlight === 0 || tcb.finQueued)) send = true;
    else if (tcb.forceProbe) send = true;
    else if (tcb.maxSndWnd > 0 && len >= tcb.maxSndWnd >> 1) send = true; // §3.8.6.2.1
    else if (seqLt(tcb.sndNxt, tcb.sndMax)) send = true; // retransmitting after a timeout
  }
  if (!send && fin && (len === unsent)) send = true;
  if (!send && tcb.ackNow) send = true;
  if (!send && !tcb.rdShut) {
    // Window update (RFC 9293 §3.8.6.2.2): the right edge would move by 2 MSS or half the buffer.
    const edge = seqAdd(tcb.rcvNxt, advertisedWindow(tcb));
    const grow = seqDiff(edge, tcb.rcvAdv);
    if (grow > 0 && (grow >= 2 * tcb.sndMss || grow >= tcb.rcvBuf.capacity >> 1)) send = true;
  }
  if (!send) return false;
  const withFin = fin && len === unsent;
  let flags = TCP_ACK;
  if (withFin) flags |= TCP_FIN;
  if (len > 0 && len === unsent) flags |= TCP_PSH;
  // A segment without sequence space carries SND.MAX, not a backed-off SND.NXT, so the
  // peer finds it acceptable while we retransmit (BSD tcp_output does the same).
  const seq = space0(len, withFin) ? tcb.sndMax : tcb.sndNxt;
  const wasProbe = tcb.forceProbe && tcb.sndWnd === 0;
  tcb.forceProbe = false;
  const payload = len > 0 ? tcb.sndBuf.view(off, len) : EMPTY;
  const space = len + (withFin ? 1 : 0);
  if (space > 0) {
    if (seqLt(seq, tcb.sndMax)) tcb.retransmits++;
    // RFC 6298 §3 (Karn): time one new segment per round trip when timestamps are off.
    if (!tcb.tsOk && tcb.rttSeq < 0 && seqGe(seq, tcb.sndMax)) {
      tcb.rttSeq = seq;
      tcb.rttStart = now;
    }
  }
  emitSegment(tcb, seq, flags, payload);
  if (space > 0) {
    tcb.sndNxt = seqAdd(seq, space);
    if (seqGt(tcb.sndNxt, tcb.sndMax)) tcb.sndMax = tcb.sndNxt;
    // RFC 6298 §5.1: start the retransmission timer when data goes out and it is not running.
    if (tcb.rexmtAt === Infinity && !wasProbe) tcb.rexmtAt = now + tcb.rto;
    if (!wasProbe && tcb.sndWnd > 0) {
      tcb.persistAt = Infinity; // the retransmission timer covers what is in flight
      tcb.persistShift = 0;
    }
  }
  if (wasProbe) return false;
  return space > 0;
}

function space0(len: number, fin: boolean): boolean {
  return len === 0 && !fin;
}

/** Persist interval: the RTO backed off, between 200 ms and 60 s (BSD TCPTV_PERSMIN/MAX are 5/60 s). */
export function persistInterval(tcb: Tcb): number {
  const base = tcb.srtt > 0 ? tcb.srtt + 4 * tcb.rttvar : tcb.rto;
  return Math.min(60_000, Math.max(tcb.cfg.rtoMinMs, base * (1 << Math.min(tcb.persistShift, 12))));
}
