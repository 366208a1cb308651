/**
 * Congestion control: RFC 5681 slow start and congestion avoidance with the
 * RFC 6582 NewReno fast retransmit and fast recovery, using SACK information
 * (RFC 2018) to choose which hole to retransmit next during recovery.
 *
 * Not implemented: the full RFC 6675 pipe estimator — recovery keeps
 * NewReno's window inflation and retransmits one SACK hole per incoming ACK.
 */
import { retransmitAt } from './tcp_output.ts';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from './seq.ts';
import type { Tcb } from './tcb.ts';

/** Largest congestion window (keeps arithmetic in small integers). */
const CWND_MAX = 1 << 30;
/** Most SACK scoreboard ranges kept; further blocks are ignored (bounded memory). */
const SCOREBOARD_MAX = 64;

/** Initial window when the connection is established (RFC 6928: IW = 10 segments). */
export function ccInit(tcb: Tcb): void {
  tcb.cwnd = tcb.cfg.initialWindow * tcb.sndMss;
  tcb.ssthresh = CWND_MAX; // RFC 5681 §3.1: "arbitrarily high"
  tcb.dupAcks = 0;
  tcb.inRecovery = false;
  tcb.recover = tcb.iss; // RFC 6582 §3.2 step 1
  tcb.bytesAcked = 0;
}

function flightSize(tcb: Tcb): number {
  return seqDiff(tcb.sndMax, tcb.sndUna);
}

/** A cumulative ACK advanced SND.UNA by `acked` to `ack` (called after SND.UNA moved). */
export function ccNewAck(tcb: Tcb, acked: number, ack: number): void {
  const mss = tcb.sndMss;
  tcb.dupAcks = 0;
  if (tcb.inRecovery) {
    if (seqGe(ack, tcb.recover)) {
      // RFC 6582 §3.2 step 6: full acknowledgment; deflate the window.
      tcb.inRecovery = false;
      tcb.cwnd = Math.min(tcb.ssthresh, Math.max(seqDiff(tcb.sndMax, ack), 0) + mss);
    } else {
      // RFC 6582 §3.2 step 5: partial acknowledgment; retransmit the first unacknowledged
      // segment, deflate by the amount acked, add back one SMSS if at least that much was acked.
      tcb.cwnd = Math.max(mss, tcb.cwnd - acked + (acked >= mss ? mss : 0));
      if (!tcb.sackOk || seqLe(tcb.highRxt, ack)) tcb.highRxt = ack;
      retransmitNextHole(tcb);
    }
    return;
  }
  if (tcb.cwnd < tcb.ssthresh) {
    // RFC 5681 §3.1 (2): slow start, at most one SMSS per ACK.
    tcb.cwnd = Math.min(CWND_MAX, tcb.cwnd + Math.min(acked, mss));
  } else {
    // RFC 5681 §3.1 (3), counted in bytes: one SMSS per window of data acknowledged.
    tcb.bytesAcked += acked;
    if (tcb.bytesAcked >= tcb.cwnd) {
      tcb.bytesAcked -= tcb.cwnd;
      tcb.cwnd = Math.min(CWND_MAX, tcb.cwnd + mss);
    }
  }
}

/** A duplicate ACK arrived (RFC 5681 §2 definition, checked by the caller). */
export function ccDupAck(tcb: Tcb): void {
  const mss = tcb.sndMss;
  tcb.dupAcks++;
  if (tcb.inRecovery) {
    // RFC 6582 §3.2 step 4 / RFC 5681 §3.2 step 4: inflate for each segment that left the network.
    tcb.cwnd = Math.min(CWND_MAX, tcb.cwnd + mss);
    if (tcb.sackOk) retransmitNextHole(tcb);
    return;
  }
  if (tcb.dupAcks !== 3) return;
  // RFC 6582 §3.2 step 2: only if the ACK covers more than `recover` (avoid a second reduction).
  if (!seqGt(tcb.sndUna, tcb.recover)) return;
  // RFC 5681 §3.2 steps 2-3 (eq. 4): ssthresh = max(FlightSize / 2, 2 SMSS).
  tcb.ssthresh = Math.max(flightSize(tcb) >> 1, 2 * mss);
  tcb.recover = tcb.sndMax;
  tcb.inRecovery = true;
  tcb.highRxt = tcb.sndUna;
  retransmitNextHole(tcb);
  tcb.cwnd = tcb.ssthresh + 3 * mss;
}

/** Retransmission timeout: RFC 5681 §3.1 eq. 4 and the loss window of one segment. */
export function ccTimeout(tcb: Tcb): void {
  if (tcb.backoff <= 1) tcb.ssthresh = Math.max(flightSize(tcb) >> 1, 2 * tcb.sndMss);
  tcb.cwnd = tcb.sndMss;
  tcb.bytesAcked = 0;
  tcb.inRecovery = false;
  tcb.dupAcks = 0;
  tcb.recover = tcb.sndMax; // RFC 6582 §4: no fast retransmit for data sent before the timeout
  tcb.sacked.length = 0; // RFC 2018 §8: the receiver may have reneged
}

/**
 * Retransmit the next hole at or after max(SND.UNA, HighRxt): with SACK, the
 * first byte not SACKed below the highest SACKed byte; without SACK, only
 * SND.UNA itself (NewReno). Returns whether something was sent.
 */
export function retransmitNextHole(tcb: Tcb): boolean {
  let start = seqMax(tcb.sndUna, tcb.highRxt);
  let limit = tcb.sndMss;
  if (tcb.sackOk && tcb.sacked.length > 0) {
    const s = tcb.sacked;
    const top = s[s.length - 1]!;
    for (let i = 0; i < s.length; i += 2) {
      if (seqLe(s[i + 1]!, start)) continue;
      if (seqLe(s[i]!, start)) {
        start = s[i + 1]!; // inside a SACKed block: skip past it
        continue;
      }
      limit = Math.min(limit, seqDiff(s[i]!, start));
      break;
    }
    if (!seqLt(start, top)) {
      // Nothing below the highest SACKed byte is missing; fall back to NewReno's choice.
      if (start !== tcb.sndUna) return false;
      limit = tcb.sndMss;
    }
  } else if (start !== tcb.sndUna) {
    return false;
  }
  const sent = retransmitAt(tcb, start, limit);
  if (sent > 0) tcb.highRxt = seqAdd(start, sent);
  return sent > 0;
}

/** Merge the peer's SACK blocks into the scoreboard (RFC 2018 §4), ignoring invalid ones. */
export function sackUpdate(tcb: Tcb, blocks: number[]): void {
  const s = tcb.sacked;
  for (let b = 0; b + 1 < blocks.length; b += 2) {
    let l = blocks[b]!;
    const r = blocks[b + 1]!;
    if (!seqLt(l, r) || seqLe(r, tcb.sndUna) || seqGt(r, tcb.sndMax)) continue; // stale, D-SACK or bogus
    if (seqLt(l, tcb.sndUna)) l = tcb.sndUna;
    let i = 0;
    while (i < s.length && seqLt(s[i + 1]!, l)) i += 2;
    let j = i;
    while (j < s.length && seqLe(s[j]!, r)) j += 2;
    if (i === j) {
      if (s.length >= 2 * SCOREBOARD_MAX) continue;
      s.splice(i, 0, l, r);
    } else {
      const nl = seqLt(l, s[i]!) ? l : s[i]!;
      const nr = seqGt(r, s[j - 1]!) ? r : s[j - 1]!;
      s.splice(i, j - i, nl, nr);
    }
  }
}

/** Drop scoreboard ranges that SND.UNA has passed. */
export function sackPrune(tcb: Tcb): void {
  const s = tcb.sacked;
  let k = 0;
  while (k < s.length && seqLe(s[k + 1]!, tcb.sndUna)) k += 2;
  if (k > 0) s.splice(0, k);
  if (s.length > 0 && seqLt(s[0]!, tcb.sndUna)) s[0] = tcb.sndUna;
}
