/**
 * TCP input: RFC 9293 §3.10.7 "SEGMENT ARRIVES" for a connection that exists
 * (SYN-SENT and the synchronized states; LISTEN and CLOSED are the stack's,
 * in stack.ts). The steps follow the RFC's order — sequence check, RST, SYN,
 * ACK, text, FIN — with RFC 5961's challenge ACKs for RST and SYN and its ACK
 * acceptance range, RFC 7323 PAWS and TS.Recent, RFC 2018 SACK, and the
 * RFC 5681/6582 congestion reactions in congestion.ts.
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpSegment } from '../wire/tcp.ts';
import { ccDupAck, ccInit, ccNewAck, sackPrune, sackUpdate } from './congestion.ts';
import { rttSample } from './rtt.ts';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq.ts';
import { Tcb, TcpState, TCP_DEFAULT_MSS, TCP_MAX_WSCALE } from './tcb.ts';
import { emitSegment, respondRst, tcpOutput } from './tcp_output.ts';

/** RFC 7323 §5.5: TS.Recent is stale after 24 days idle. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

/** Apply the options of a SYN or SYN-ACK: MSS, window scale, SACK-permitted, timestamps. */
export function takeSynOptions(tcb: Tcb, seg: TcpSegment): void {
  // RFC 9293 §3.7.1: without the option, assume 536; never exceed our route's MSS.
  const peer = seg.mss > 0 ? seg.mss : TCP_DEFAULT_MSS;
  let mss = Math.min(peer, tcb.host.routeMss(tcb.remoteAddr));
  if (tcb.userMss > 0) mss = Math.min(mss, tcb.userMss);
  tcb.sndMss = Math.max(mss, 64);
  // RFC 7323 §2.2: scaling is on only if both SYNs carry the option; shifts above 14 are 14 (§2.3).
  if (seg.wscale >= 0 && tcb.cfg.windowScaling) {
    tcb.sndScale = Math.min(seg.wscale, TCP_MAX_WSCALE);
  } else {
    tcb.sndScale = 0;
    tcb.rcvScale = 0;
  }
  tcb.sackOk = seg.sackPermitted && tcb.cfg.sack;
  if (seg.hasTimestamp && tcb.cfg.timestamps) {
    tcb.tsOk = true;
    tcb.tsRecent = seg.tsVal;
    tcb.tsRecentAt = tcb.host.now();
  } else {
    tcb.tsOk = false;
  }
}

/** Process one segment for `tcb` (not LISTEN/CLOSED), then send what that calls for. */
export function tcpInput(tcb: Tcb, seg: TcpSegment): void {
  const now = tcb.host.now();
  tcb.lastRecvAt = now;
  tcb.keepProbes = 0;
  if (tcb.state === TcpState.SYN_SENT) synSentInput(tcb, seg);
  else segmentArrives(tcb, seg, now);
  if (tcb.keepalive && tcb.synchronized && tcb.state !== TcpState.TIME_WAIT) tcb.keepAt = now + tcb.keepIdleMs;
  if (tcb.state !== TcpState.CLOSED) tcpOutput(tcb);
}

/** RFC 9293 §3.10.7.3: SYN-SENT. */
function synSentInput(tcb: Tcb, seg: TcpSegment): void {
  const f = seg.flags;
  if (f & TCP_ACK) {
    // First: an ACK outside (ISS, SND.NXT] is unacceptable; answer with a RST unless it is one.
    if (seqLe(seg.ack, tcb.iss) || seqGt(seg.ack, tcb.sndMax)) {
      if (!(f & TCP_RST)) respondRst(tcb.host, tcb.localAddr, tcb.remoteAddr, seg);
      return;
    }
  }
  if (f & TCP_RST) {
    // Second: a RST is acceptable only with an acceptable ACK (RFC 5961 §3.2 for SYN-SENT).
    if (f & TCP_ACK) tcb.close('ECONNREFUSED');
    return;
  }
  if (!(f & TCP_SYN)) return; // Fifth: neither SYN nor RST: drop.
  // Fourth: the SYN.
  tcb.irs = seg.seq;
  tcb.rcvNxt = seqAdd(seg.seq, 1);
  tcb.rcvAdv = tcb.rcvNxt;
  takeSynOptions(tcb, seg);
  tcb.sndWnd = seg.window; // RFC 7323 §2.2: the window of a SYN is not scaled
  tcb.maxSndWnd = tcb.sndWnd;
  tcb.sndWl1 = seg.seq;
  tcb.sndWl2 = seg.ack;
  if (f & TCP_ACK) {
    tcb.sndUna = seg.ack;
    if (tcb.tsOk && seg.tsEcr !== 0) rttSample(tcb, seqDiff(tcb.tsNow(), seg.tsEcr));
    else if (tcb.rttSeq >= 0 && tcb.backoff === 0) rttSample(tcb, now(tcb) - tcb.rttStart);
    tcb.rttSeq = -1;
    tcb.backoff = 0;
    tcb.rexmtAt = Infinity;
    ccInit(tcb);
    tcb.ackNow = true;
    tcb.setState(TcpState.ESTABLISHED);
    if (tcb.finQueued) tcb.setState(TcpState.FIN_WAIT_1);
  } else {
    // Simultaneous open (RFC 9293 §3.5, Figure 7): send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    tcb.sndNxt = tcb.iss;
    tcb.rexmtAt = Infinity;
    tcb.setState(TcpState.SYN_RECEIVED);
  }
}

function now(tcb: Tcb): number {
  return tcb.host.now();
}

/** RFC 9293 §3.10.7.4: every state from SYN-RECEIVED on. */
function segmentArrives(tcb: Tcb, seg: TcpSegment, t: number): void {
  const f = seg.flags;
  let payload = seg.payload;
  let seq = seg.seq;
  let syn = (f & TCP_SYN) !== 0;
  let fin = (f & TCP_FIN) !== 0;
  const segLen = payload.byteLength + (syn ? 1 : 0) + (fin ? 1 : 0);

  // A retransmitted SYN while our SYN-ACK is unanswered: send the SYN-ACK again.
  if (tcb.state === TcpState.SYN_RECEIVED && syn && !(f & (TCP_ACK | TCP_RST)) && seg.seq === tcb.irs) {
    tcb.sndNxt = tcb.iss;
    return;
  }

  // RFC 7323 §5.3 R1: PAWS, reject old duplicates by their timestamp.
  if (tcb.tsOk && seg.hasTimestamp && !(f & TCP_RST) && seqLt(seg.tsVal, tcb.tsRecent)) {
    if (t - tcb.tsRecentAt > PAWS_IDLE_MS) {
      tcb.tsRecent = seg.tsVal; // §5.5: an idle connection's TS.Recent is invalid
    } else {
      tcb.ackNow = true;
      return;
    }
  }

  // First: sequence number check (the four cases of RFC 9293 §3.10.7.4).
  const wnd = Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt));
  const rcvEnd = seqAdd(tcb.rcvNxt, wnd);
  let ok: boolean;
  if (segLen === 0) {
    ok = wnd === 0 ? seq === tcb.rcvNxt : seqGe(seq, tcb.rcvNxt) && seqLt(seq, rcvEnd);
  } else if (wnd === 0) {
    // Zero window: still take the ACK and RST of a segment at RCV.NXT; its text is trimmed below.
    ok = seq === tcb.rcvNxt;
  } else {
    const last = seqAdd(seq, segLen - 1);
    ok = (seqGe(seq, tcb.rcvNxt) && seqLt(seq, rcvEnd)) || (seqGe(last, tcb.rcvNxt) && seqLt(last, rcvEnd));
  }
  if (!ok) {
    if (!(f & TCP_RST)) {
      tcb.ackNow = true; // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
      // A retransmitted FIN in TIME-WAIT restarts the 2 MSL timeout (RFC 9293 §3.10.7.4, eighth).
      if (tcb.state === TcpState.TIME_WAIT && fin) tcb.closeAt = t + 2 * tcb.cfg.mslMs;
    }
    return;
  }

  // RFC 7323 §4.3 (2): remember the peer's timestamp for echoing.
  if (tcb.tsOk && seg.hasTimestamp && seqGe(seg.tsVal, tcb.tsRecent) && seqLe(seq, tcb.lastAckSent)) {
    tcb.tsRecent = seg.tsVal;
    tcb.tsRecentAt = t;
  }

  // Trim to the window: drop what lies before RCV.NXT and beyond the right edge.
  if (seqLt(seq, tcb.rcvNxt)) {
    let drop = seqDiff(tcb.rcvNxt, seq);
    if (syn) {
      syn = false;
      drop--;
      seq = seqAdd(seq, 1);
    }
    if (drop >= payload.byteLength) {
      if (drop > payload.byteLength) fin = false; // the FIN too was a duplicate
      payload = payload.subarray(payload.byteLength);
    } else {
      payload = payload.subarray(drop);
    }
    seq = tcb.rcvNxt;
  }
  const room = seqDiff(rcvEnd, seq);
  if (payload.byteLength > room) {
    payload = payload.subarray(0, Math.max(0, room));
    fin = false;
  }

  // Second: RST (RFC 5961 §3.2): only an exact RCV.NXT match resets; others get a challenge ACK.
  if (f & TCP_RST) {
    if (seg.seq !== tcb.rcvNxt) {
      tcb.ackNow = true;
      return;
    }
    switch (tcb.state) {
      case TcpState.SYN_RECEIVED:
        // A passive open returns to LISTEN (the embryonic TCB goes); an active one is refused.
        tcb.close(tcb.passive ? null : 'ECONNREFUSED');
        return;
      case TcpState.ESTABLISHED:
      case TcpState.FIN_WAIT_1:
      case TcpState.FIN_WAIT_2:
      case TcpState.CLOSE_WAIT:
        tcb.close('ECONNRESET');
        return;
      default:
        tcb.close(null); // CLOSING, LAST-ACK, TIME-WAIT
        return;
    }
  }

  // Fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK, drop.
  if (f & TCP_SYN) {
    tcb.ackNow = true;
    return;
  }

  // Fifth: ACK.
  if (!(f & TCP_ACK)) return;
  const ack = seg.ack;
  if (tcb.state === TcpState.SYN_RECEIVED) {
    if (!(seqLt(tcb.sndUna, ack) && seqLe(ack, tcb.sndMax))) {
      respondRst(tcb.host, tcb.localAddr, tcb.remoteAddr, seg); // <SEQ=SEG.ACK><CTL=RST>
      return;
    }
    tcb.sndWnd = seg.window << tcb.sndScale;
    tcb.maxSndWnd = Math.max(tcb.maxSndWnd, tcb.sndWnd);
    tcb.sndWl1 = seg.seq;
    tcb.sndWl2 = ack;
    if (tcb.tsOk && seg.hasTimestamp && seg.tsEcr !== 0) rttSample(tcb, seqDiff(tcb.tsNow(), seg.tsEcr));
    else if (tcb.rttSeq >= 0 && tcb.backoff === 0) rttSample(tcb, t - tcb.rttStart);
    tcb.rttSeq = -1;
    tcb.backoff = 0;
    tcb.sndUna = ack; // the SYN is acknowledged
    tcb.rexmtAt = Infinity;
    ccInit(tcb);
    tcb.setState(TcpState.ESTABLISHED);
    if (tcb.finQueued) tcb.setState(TcpState.FIN_WAIT_1);
  }
  // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
  if (seqGt(ack, tcb.sndMax)) {
    tcb.ackNow = true;
    return;
  }
  if (seqLt(ack, seqAdd(tcb.sndUna, -Math.max(tcb.maxSndWnd, 1)))) {
    tcb.ackNow = true;
    return;
  }
  if (seqLt(tcb.sndUna, ack)) {
    let acked = seqDiff(ack, tcb.sndUna);
    const dataAcked = Math.min(acked, tcb.sndBuf.len);
    if (tcb.finQueued && acked > tcb.sndBuf.len) tcb.finAcked = true; // the ACK covers our FIN
    // RTT: timestamps echo (RFC 7323 §4.2) or the timed segment (RFC 6298 §3, Karn).
    if (tcb.tsOk && seg.hasTimestamp && seg.tsEcr !== 0) rttSample(tcb, seqDiff(tcb.tsNow(), seg.tsEcr));
    else if (tcb.rttSeq >= 0 && seqGt(ack, tcb.rttSeq)) {
      rttSample(tcb, t - tcb.rttStart);
      tcb.rttSeq = -1;
    }
    tcb.backoff = 0;
    tcb.sndBuf.drop(dataAcked);
    tcb.sndUna = ack;
    if (seqLt(tcb.sndNxt, ack)) tcb.sndNxt = ack;
    if (seqLt(tcb.highRxt, ack)) tcb.highRxt = ack;
    sackPrune(tcb);
    if (tcb.sackOk && seg.sack !== null) sackUpdate(tcb, seg.sack);
    if (acked > tcb.sndMss * 64) acked = tcb.sndMss * 64;
    ccNewAck(tcb, acked, ack);
    // RFC 6298 §5.2/§5.3: stop the timer when all is acknowledged, else restart it.
    tcb.rexmtAt = ack === tcb.sndMax ? Infinity : t + tcb.rto;
  } else if (ack === tcb.sndUna) {
    if (tcb.sackOk && seg.sack !== null) sackUpdate(tcb, seg.sack);
    // RFC 5681 §2: a duplicate ACK carries no data, no SYN/FIN, the same window, with data outstanding.
    if (
      payload.byteLength === 0 &&
      !fin &&
      seg.window << tcb.sndScale === tcb.sndWnd &&
      tcb.sndMax !== tcb.sndUna &&
      seg.payload.byteLength === 0
    ) {
      ccDupAck(tcb);
    }
  }
  // Window update (RFC 9293 §3.10.7.4): only from a segment at least as new as the last.
  if (seqLt(tcb.sndWl1, seg.seq) || (tcb.sndWl1 === seg.seq && seqLe(tcb.sndWl2, ack))) {
    tcb.sndWnd = seg.window << tcb.sndScale;
    tcb.sndWl1 = seg.seq;
    tcb.sndWl2 = ack;
    if (tcb.sndWnd > tcb.maxSndWnd) tcb.maxSndWnd = tcb.sndWnd;
    if (tcb.sndWnd > 0) {
      tcb.persistAt = Infinity;
      tcb.persistShift = 0;
    }
  }
  const finAcked = tcb.finAcked;
  switch (tcb.state) {
    case TcpState.FIN_WAIT_1:
      if (finAcked) {
        tcb.setState(TcpState.FIN_WAIT_2);
        // Linux's tcp_fin_timeout: an orphaned FIN-WAIT-2 does not wait forever for the peer's FIN.
        if (tcb.orphan) tcb.closeAt = t + 2 * tcb.cfg.mslMs;
      }
      break;
    case TcpState.CLOSING:
      if (finAcked) enterTimeWait(tcb, t);
      break;
    case TcpState.LAST_ACK:
      if (finAcked) {
        tcb.close(null);
        return;
      }
      break;
    default:
      break;
  }
  // Wake writers once a third of the buffer is free (Linux sk_stream_write_space), not per ACK.
  if (tcb.sndBuf.free >= tcb.sndBuf.capacity / 3 || tcb.sndBuf.len === 0) tcb.upcall?.(tcb);

  // Sixth: URG is not supported (the urgent pointer is ignored; data is delivered in line).

  // Seventh: segment text.
  if (payload.byteLength > 0) {
    if (tcb.state === TcpState.ESTABLISHED || tcb.state === TcpState.FIN_WAIT_1 || tcb.state === TcpState.FIN_WAIT_2) {
      receiveText(tcb, seq, payload, t);
    } else {
      fin = false;
    }
  }

  // Eighth: FIN.
  if (fin) {
    const finAt = seqAdd(seg.seq, seg.payload.byteLength + ((f & TCP_SYN) !== 0 ? 1 : 0));
    if (finAt === tcb.rcvNxt) processFin(tcb, t);
    else if (seqGt(finAt, tcb.rcvNxt)) {
      tcb.rcvFinSeq = finAt; // processed when the gap before it fills
      tcb.ackNow = true;
    }
  } else if (tcb.rcvFinSeq >= 0 && tcb.rcvFinSeq === tcb.rcvNxt && !tcb.finReceived) {
    processFin(tcb, t);
  }
}

/** Put in-window text into the receive ring, in order or ahead of a gap (RFC 9293 §3.10.7.4, seventh). */
function receiveText(tcb: Tcb, seq: number, payload: Uint8Array, t: number): void {
  const off = seqDiff(seq, tcb.rcvNxt);
  if (tcb.rdShut) {
    // After shutdown(SHUT_RD) the bytes are acknowledged and discarded.
    if (off === 0) tcb.rcvNxt = seqAdd(tcb.rcvNxt, payload.byteLength);
    tcb.ackNow = true;
    return;
  }
  // Never write past the ring's free space, whatever window was advertised.
  const n = Math.min(payload.byteLength, tcb.rcvBuf.free - off);
  if (n <= 0) {
    tcb.ackNow = true;
    return;
  }
  const hadGap = !tcb.ooo.empty;
  if (!tcb.ooo.add(off, off + n)) {
    tcb.ackNow = true; // too many holes: drop, the peer retransmits
    return;
  }
  tcb.rcvBuf.writeAt(tcb.rcvBuf.len + off, n === payload.byteLength ? payload : payload.subarray(0, n));
  const adv = tcb.ooo.advance();
  if (adv > 0) {
    tcb.rcvBuf.commit(adv);
    tcb.rcvNxt = seqAdd(tcb.rcvNxt, adv);
    tcb.upcall?.(tcb);
  }
  if (off > 0 || hadGap) {
    // RFC 5681 §4.2: ACK out-of-order segments and segments that fill a gap at once.
    tcb.ackNow = true;
  } else {
    // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: ACK at least every second full-sized segment, else delay.
    if (payload.byteLength >= tcb.sndMss - (tcb.tsOk ? 12 : 0)) tcb.unackedSegs++;
    if (tcb.unackedSegs >= 2) tcb.ackNow = true;
    else if (tcb.delackAt === Infinity) tcb.delackAt = t + tcb.cfg.delackMs;
  }
  if (tcb.rcvFinSeq >= 0 && tcb.rcvFinSeq === tcb.rcvNxt) processFin(tcb, t);
}

/** The peer's FIN is next in sequence (RFC 9293 §3.10.7.4, eighth). */
function processFin(tcb: Tcb, t: number): void {
  if (tcb.finReceived) return;
  tcb.finReceived = true;
  tcb.rcvFinSeq = -1;
  tcb.rcvNxt = seqAdd(tcb.rcvNxt, 1);
  tcb.ackNow = true;
  switch (tcb.state) {
    case TcpState.SYN_RECEIVED:
    case TcpState.ESTABLISHED:
      tcb.setState(TcpState.CLOSE_WAIT);
      break;
    case TcpState.FIN_WAIT_1: {
      // Simultaneous close (RFC 9293 §3.6, Figure 13) unless our FIN is already acknowledged.
      if (tcb.finAcked) enterTimeWait(tcb, t);
      else tcb.setState(TcpState.CLOSING);
      break;
    }
    case TcpState.FIN_WAIT_2:
      enterTimeWait(tcb, t);
      break;
    default:
      break;
  }
  tcb.upcall?.(tcb);
}

/** TIME-WAIT: hold the connection 2 MSL (RFC 9293 §3.6), with only that timer running. */
export function enterTimeWait(tcb: Tcb, t: number): void {
  tcb.rexmtAt = tcb.persistAt = tcb.keepAt = Infinity;
  tcb.closeAt = t + 2 * tcb.cfg.mslMs;
  tcb.sndBuf.release();
  if (tcb.orphan) tcb.rcvBuf.release(); // nobody reads any more: TIME-WAIT holds no buffers
  tcb.setState(TcpState.TIME_WAIT);
}

export { emitSegment };
