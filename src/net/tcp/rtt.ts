/**
 * Retransmission timeout estimation (RFC 6298): smoothed RTT and its variance
 * from samples taken by timestamps (RFC 7323 §4) or by timing one segment per
 * round trip (Karn's algorithm, RFC 6298 §3), and the RTO derived from them.
 *
 * The floor is Linux's 200 ms rather than the RFC's 1 s (RFC 6298 §2.4 "MAY
 * be lower"); TcpConfig.rtoMinMs sets it.
 */
import type { Tcb } from './tcb.ts';

/** Clock granularity G in ms (RFC 6298 §2). */
const CLOCK_G = 1;

/** Feed one RTT sample (ms). */
export function rttSample(tcb: Tcb, r: number): void {
  if (!(r >= 0)) return;
  if (tcb.srtt === 0) {
    // RFC 6298 §2.2: the first measurement.
    tcb.srtt = r;
    tcb.rttvar = r / 2;
  } else {
    // RFC 6298 §2.3: alpha = 1/8, beta = 1/4.
    tcb.rttvar = 0.75 * tcb.rttvar + 0.25 * Math.abs(tcb.srtt - r);
    tcb.srtt = 0.875 * tcb.srtt + 0.125 * r;
  }
  tcb.rto = rtoFrom(tcb);
}

/** RFC 6298 §2.3: RTO = SRTT + max(G, 4 RTTVAR), clamped (§2.4, §2.5). */
export function rtoFrom(tcb: Tcb): number {
  const rto = tcb.srtt + Math.max(CLOCK_G, 4 * tcb.rttvar);
  return Math.min(tcb.cfg.rtoMaxMs, Math.max(tcb.cfg.rtoMinMs, rto));
}

/** RFC 6298 §5.5: back the timer off after it expires. */
export function rttBackoff(tcb: Tcb): void {
  tcb.rto = Math.min(tcb.cfg.rtoMaxMs, tcb.rto * 2);
}
