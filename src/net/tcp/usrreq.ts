/**
 * User requests on a connection (RFC 9293 §3.10 "Event Processing": SEND,
 * RECEIVE, CLOSE, ABORT; BSD's tcp_usrreq): what the socket layer calls.
 * Each returns at once — waiting for room or data is the socket layer's job,
 * driven by the TCB's upcall.
 */
import { Tcb, TcpState } from './tcb.ts';
import { sendAbortRst, tcpOutput } from './tcp_output.ts';

/** SEND (§3.10.2): queue up to tcb.writable bytes; returns how many were taken. */
export function tcpSend(tcb: Tcb, data: Uint8Array): number {
  if (tcb.state !== TcpState.ESTABLISHED && tcb.state !== TcpState.CLOSE_WAIT) return 0;
  if (tcb.finQueued) return 0;
  const n = tcb.sndBuf.push(data);
  if (n > 0) tcpOutput(tcb);
  return n;
}

/**
 * RECEIVE (§3.10.3): copy up to dst.length in-order bytes; `peek` leaves them
 * queued (MSG_PEEK). Reading may open the window, which output announces.
 */
export function tcpRecv(tcb: Tcb, dst: Uint8Array, peek: boolean): number {
  const n = Math.min(dst.byteLength, tcb.rcvBuf.len);
  if (n === 0) return 0;
  tcb.rcvBuf.copyOut(0, dst, 0, n);
  if (!peek) {
    tcb.rcvBuf.drop(n);
    if (tcb.state !== TcpState.CLOSED) tcpOutput(tcb);
  }
  return n;
}

/** shutdown(SHUT_WR) / CLOSE (§3.10.4): queue our FIN after the buffered data. */
export function tcpShutdownWrite(tcb: Tcb): void {
  if (tcb.finQueued) return;
  switch (tcb.state) {
    case TcpState.SYN_SENT:
      tcb.close(null); // "delete the TCB" — nothing was sent yet but the SYN
      return;
    case TcpState.SYN_RECEIVED:
      tcb.finQueued = true; // sent once ESTABLISHED (§3.10.4)
      return;
    case TcpState.ESTABLISHED:
      tcb.finQueued = true;
      tcb.setState(TcpState.FIN_WAIT_1);
      break;
    case TcpState.CLOSE_WAIT:
      tcb.finQueued = true;
      tcb.setState(TcpState.LAST_ACK);
      break;
    default:
      return;
  }
  tcpOutput(tcb);
}

/** shutdown(SHUT_RD): further data is discarded; reads see end of stream. */
export function tcpShutdownRead(tcb: Tcb): void {
  tcb.rdShut = true;
  tcb.rcvBuf.drop(tcb.rcvBuf.len);
}

/**
 * close(2) on the socket: an orderly release, or a reset when unread data
 * would be lost (RFC 9293 §3.10.4 note, RFC 2525 §2.17; Linux does this) or
 * SO_LINGER with a zero timeout asks for one.
 */
export function tcpClose(tcb: Tcb, lingerZero: boolean): void {
  tcb.orphan = true;
  tcb.upcall = null;
  if (tcb.state === TcpState.CLOSED) {
    tcb.close(null);
    return;
  }
  if (lingerZero || (tcb.rcvBuf.len > 0 && !tcb.rdShut)) {
    tcpAbort(tcb);
    return;
  }
  tcpShutdownWrite(tcb);
  if (tcb.state === TcpState.FIN_WAIT_2) tcb.closeAt = tcb.host.now() + 2 * tcb.cfg.mslMs;
}

/** ABORT (§3.10.5): <SEQ=SND.NXT><CTL=RST> in synchronized states, then CLOSED. */
export function tcpAbort(tcb: Tcb): void {
  if (tcb.state === TcpState.CLOSED) return;
  if (tcb.state !== TcpState.SYN_SENT && tcb.state !== TcpState.TIME_WAIT) sendAbortRst(tcb);
  tcb.close(null);
}

/**
 * RECEIVE into several buffers (recvmsg's scatter list): up to their total
 * length of in-order bytes; `peek` leaves them queued (MSG_PEEK).
 */
export function tcpReadv(tcb: Tcb, bufs: readonly Uint8Array[], peek: boolean): number {
  let n = 0;
  for (const b of bufs) {
    const m = Math.min(b.byteLength, tcb.rcvBuf.len - n);
    if (m <= 0) break;
    tcb.rcvBuf.copyOut(n, b, 0, m);
    n += m;
  }
  if (!peek && n > 0) {
    tcb.rcvBuf.drop(n);
    if (tcb.state !== TcpState.CLOSED) tcpOutput(tcb);
  }
  return n;
}
