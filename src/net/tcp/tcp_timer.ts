/**
 * TCP timers (BSD tcp_timer.c), all as deadlines on the TCB, run when the
 * TCB's one host timer fires: retransmission (RFC 6298 §5), persist (zero
 * window probes, RFC 9293 §3.8.6.1), keepalive (§3.8.4), delayed ACK
 * (§3.8.6.3), and the 2 MSL TIME-WAIT / orphaned FIN-WAIT-2 limit (§3.6).
 */
import { TCP_ACK } from '../wire/tcp.ts';
import { ccTimeout } from './congestion.ts';
import { rttBackoff } from './rtt.ts';
import { seqAdd } from './seq.ts';
import { Tcb, TcpState } from './tcb.ts';
import { emitSegment, persistInterval, tcpOutput } from './tcp_output.ts';

const EMPTY = new Uint8Array(0);

/** Run every timer of `tcb` whose deadline has passed, then output. */
export function tcpTimer(tcb: Tcb): void {
  if (tcb.state === TcpState.CLOSED) return;
  const t = tcb.host.now();
  tcb.armedAt = Infinity; // the host timer that called us has fired
  if (tcb.closeAt <= t) {
    tcb.closeAt = Infinity;
    tcb.close(tcb.state === TcpState.TIME_WAIT || tcb.state === TcpState.FIN_WAIT_2 ? null : 'ETIMEDOUT');
    return;
  }
  if (tcb.rexmtAt <= t) {
    tcb.rexmtAt = Infinity;
    if (!retransmitTimeout(tcb)) return;
  }
  if (tcb.persistAt <= t) {
    // Send one byte into the zero window and back the probe interval off. A peer that has
    // answered nothing through maxRetries probes is gone (Linux tcp_probe_timer).
    if (tcb.persistShift >= tcb.cfg.maxRetries && t - tcb.lastRecvAt >= persistInterval(tcb)) {
      tcb.close('ETIMEDOUT');
      return;
    }
    tcb.forceProbe = true;
    tcb.persistShift++;
    tcb.persistAt = t + persistInterval(tcb);
  }
  if (tcb.keepAt <= t) {
    tcb.keepAt = Infinity;
    if (!keepaliveTimeout(tcb, t)) return;
  }
  if (tcb.delackAt <= t) {
    tcb.delackAt = Infinity;
    tcb.ackNow = true;
  }
  tcpOutput(tcb);
}

/** RFC 6298 §5.4-5.6: retransmit the earliest unacknowledged segment with a backed-off RTO. False if the connection died. */
function retransmitTimeout(tcb: Tcb): boolean {
  tcb.backoff++;
  const synState = tcb.state === TcpState.SYN_SENT || tcb.state === TcpState.SYN_RECEIVED;
  const limit = synState ? tcb.cfg.synRetries : tcb.cfg.maxRetries;
  if (tcb.backoff > limit) {
    // Linux: ETIMEDOUT to the user; a passive embryonic connection just goes away.
    tcb.close(tcb.passive && tcb.state === TcpState.SYN_RECEIVED ? null : (tcb.softError ?? 'ETIMEDOUT'));
    return false;
  }
  rttBackoff(tcb);
  tcb.rttSeq = -1; // Karn: no sample from anything retransmitted
  if (synState) {
    tcb.sndNxt = tcb.iss; // resend the SYN or SYN-ACK
    return true;
  }
  ccTimeout(tcb);
  tcb.sndNxt = tcb.sndUna; // go back to the first unacknowledged byte (RFC 9293 §3.8.1)
  tcb.highRxt = tcb.sndUna;
  return true;
}

/** RFC 9293 §3.8.4: probe an idle connection with <SEQ=SND.UNA-1>; ETIMEDOUT after keepCnt unanswered probes. */
function keepaliveTimeout(tcb: Tcb, t: number): boolean {
  if (!tcb.keepalive || !tcb.synchronized || tcb.state === TcpState.TIME_WAIT) return true;
  if (t - tcb.lastRecvAt < tcb.keepIdleMs) {
    tcb.keepAt = tcb.lastRecvAt + tcb.keepIdleMs;
    return true;
  }
  if (tcb.keepProbes >= tcb.keepCnt) {
    tcb.close('ETIMEDOUT');
    return false;
  }
  tcb.keepProbes++;
  emitSegment(tcb, seqAdd(tcb.sndUna, -1), TCP_ACK, EMPTY);
  tcb.keepAt = t + tcb.keepIntvlMs;
  return true;
}
