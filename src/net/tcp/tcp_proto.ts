/**
 * TCP in the kernel: the per-NetStack TCP state (the engine's TcpStack, the
 * port table, one callout per connection), and the glue to IP — segments go
 * out through ipOutput, arrive through the IpProto entry for protocol 6, and
 * ICMP errors arrive through ctlinput (RFC 1122 §4.2.3.9, RFC 1191 PMTU).
 *
 * The engine (stack.ts and friends) knows nothing of this file; this file is
 * its TcpHost: time from the hypercall clock, randomness from the hypercall
 * RNG (ISNs, timestamp offsets), timers as kern Callouts.
 */
import { Callout } from '../../kern/callout.ts';
import { EMSGSIZE, errnoName } from '../../kern/errno.ts';
import type { Ifnet } from '../iface/ifnet.ts';
import { ipRegister, routeTo } from '../ip/ip.ts';
import { ipOutput, type PayloadWriter } from '../ip/ip_output.ts';
import { IPPROTO_TCP, type IcmpNotice, type IpInfo } from '../ip/ip_var.ts';
import type { NetStack } from '../netstack.ts';
import { PcbTable, type InPcb } from '../inet/in_pcb.ts';
import { emitTcpInto, parseTcp, tcpEmitLength, type TcpSegment } from '../wire/tcp.ts';
import { TcpStack } from './stack.ts';
import { Tcb, TcpState, TCP_DEFAULT_MSS, type TcpConfig, type TcpHost } from './tcb.ts';

/** A TCP endpoint's address record in the port table; `tcb` once it has a connection. */
export interface TcpPcb extends InPcb {
  tcb: Tcb | null;
  /** The socket's inode number (netstat -p, /proc/net/tcp); kept after close for orphans. */
  ino: number;
}

/** Linux /proc/net/snmp "Tcp:" counters (a subset). */
export interface TcpStats {
  inSegs: number;
  outSegs: number;
  inErrs: number;
  inCsumErrors: number;
  outRsts: number;
  activeOpens: number;
  passiveOpens: number;
}

/** Writes one TCP segment (header, options, payload, checksum) into an IP frame. */
class SegmentWriter implements PayloadWriter {
  seg: TcpSegment | null = null;
  src = 0;
  dst = 0;
  len = 0;
  write(frame: Uint8Array, at: number): void {
    emitTcpInto(this.seg!, this.src, this.dst, frame, at);
  }
}

/** Everything TCP keeps per network stack. */
export class TcpNet {
  readonly ns: NetStack;
  readonly stack: TcpStack;
  readonly table: PcbTable<TcpPcb>;
  readonly stats: TcpStats = { inSegs: 0, outSegs: 0, inErrs: 0, inCsumErrors: 0, outRsts: 0, activeOpens: 0, passiveOpens: 0 };
  /** Reused for every segment: ipOutput calls write() before it returns or re-enters TCP. */
  private readonly writer = new SegmentWriter();
  /** One callout per connection with a pending deadline. */
  private readonly callouts = new Map<Tcb, { callout: Callout; at: number }>();

  constructor(ns: NetStack, cfg: Partial<TcpConfig> = {}) {
    this.ns = ns;
    this.table = new PcbTable<TcpPcb>(ns, 'tcp');
    const k = ns.k;
    const host: TcpHost = {
      now: () => Number(k.hyper.clockMonotonic()) / 1e6,
      random32: () => ns.random32(),
      output: (src, dst, seg, tcb) => this.output(src, dst, seg, tcb),
      timer: (tcb, at) => this.timer(tcb, at),
      routeMss: (dst) => {
        const r = routeTo(ns, dst);
        return typeof r === 'number' ? TCP_DEFAULT_MSS : Math.max(TCP_DEFAULT_MSS, r.mtu - 40);
      },
    };
    this.stack = new TcpStack(host, { ...cfg, sndBuf: Math.max(ns.config.wmemDefault, 256 * 1024), rcvBuf: Math.max(ns.config.rmemDefault, 256 * 1024) });
    this.stack.onTransition = (tcb, from, to) => this.transition(tcb, from, to);
  }

  /** Emit the segment straight into IP's frame, with Don't Fragment set (RFC 1191: TCP does PMTU discovery). */
  private output(src: number, dst: number, seg: TcpSegment, tcb: Tcb | null): void {
    const w = this.writer;
    w.seg = seg;
    w.src = src;
    w.dst = dst;
    w.len = tcpEmitLength(seg);
    this.stats.outSegs++;
    if (seg.flags & 0x04) this.stats.outRsts++;
    const e = ipOutput(this.ns, { src, dst, proto: IPPROTO_TCP, df: true, ttl: tcb !== null && tcb.ipTtl >= 0 ? tcb.ipTtl : undefined, tos: tcb?.ipTos ?? 0 }, w);
    w.seg = null;
    if (e === EMSGSIZE && tcb !== null) {
      // The route's MTU shrank under us: take the new one for later segments.
      const r = routeTo(this.ns, dst);
      if (typeof r !== 'number' && r.mtu - 40 < tcb.sndMss) tcb.sndMss = Math.max(64, r.mtu - 40);
    }
    // Other errors (no route, ARP queue full) are losses: retransmission deals with them.
  }

  /**
   * The TCB's deadline moved to `at`. Callouts are re-armed lazily: a pending
   * callout that fires no later than `at` is kept (when it fires early, the
   * engine finds nothing due and the callout is set again for the real
   * deadline), so the per-ACK restart of the retransmission timer costs no
   * host timer operation.
   */
  private timer(tcb: Tcb, at: number): void {
    const k = this.ns.k;
    let c = this.callouts.get(tcb);
    // Nothing due: a pending callout is left to fire and find nothing (cheaper than
    // cancelling and re-arming around every ACK); closing the TCB stops it.
    if (at === Infinity) return;
    if (c !== undefined && c.callout.pending && c.at <= at) return;
    if (c === undefined) {
      c = { callout: new Callout('tcp'), at };
      this.callouts.set(tcb, c);
    }
    const entry = c;
    entry.at = at;
    const now = Number(k.hyper.clockMonotonic()) / 1e6;
    entry.callout.reset(k, BigInt(Math.max(0, Math.ceil((at - now) * 1e6))), () => {
      const due = tcb.deadline;
      if (due === Infinity || tcb.state === TcpState.CLOSED) {
        this.callouts.delete(tcb);
        return;
      }
      if (due > Number(k.hyper.clockMonotonic()) / 1e6 + 0.001) {
        // Fired for an earlier deadline that has since moved: sleep until the real one.
        this.timer(tcb, due);
        return;
      }
      this.callouts.delete(tcb);
      this.stack.timer(tcb);
    });
  }

  private transition(tcb: Tcb, from: TcpState, to: TcpState): void {
    if (from === TcpState.LISTEN && to === TcpState.SYN_RECEIVED) this.stats.passiveOpens++;
    if (from === TcpState.CLOSED && to === TcpState.SYN_SENT) this.stats.activeOpens++;
    const pcb = tcb.owner as TcpPcb | null;
    if (pcb === null) return;
    if (to === TcpState.TIME_WAIT) pcb.timewait = true;
    if (to === TcpState.CLOSED) {
      const c = this.callouts.get(tcb);
      if (c !== undefined) {
        c.callout.stop(this.ns.k);
        this.callouts.delete(tcb);
      }
      // A connection whose socket is gone leaves the port table with its last state.
      if (tcb.orphan) this.table.remove(pcb);
    }
  }

  /** Stop every timer (kernel shutdown). */
  shutdown(): void {
    for (const c of this.callouts.values()) c.callout.stop(this.ns.k);
    this.callouts.clear();
  }

  input(ip: IpInfo, payload: Uint8Array): void {
    this.stats.inSegs++;
    // RFC 1122 §4.2.3.10: segments to broadcast or multicast addresses are dropped.
    if (ip.broadcast) return;
    const seg = parseTcp(payload, ip.src, ip.dst);
    if (typeof seg === 'string') {
      this.stats.inErrs++;
      if (seg.includes('checksum')) this.stats.inCsumErrors++;
      return;
    }
    this.stack.input(ip.src, ip.dst, seg);
  }

  ctlinput(n: IcmpNotice): void {
    if (n.data.byteLength < 8) return;
    const d = n.data;
    const sport = (d[0]! << 8) | d[1]!;
    const dport = (d[2]! << 8) | d[3]!;
    const seq = ((d[4]! << 24) | (d[5]! << 16) | (d[6]! << 8) | d[7]!) >>> 0;
    const mtu = n.kind === 'needfrag' ? (n.mtu > 0 ? n.mtu : 576) : 0;
    this.stack.icmpError(n.src, sport, n.dst, dport, seq, errnoName(n.errno), n.fatal, mtu);
  }
}

/** The kernel's TCP state (created by tcpInit). */
export function tcpNet(ns: NetStack): TcpNet {
  return ns.part('tcp', () => new TcpNet(ns));
}

/** Register TCP as IP protocol 6; the socket side registers itself in tcp_socket.ts. */
export function tcpIpInit(ns: NetStack): void {
  const tn = tcpNet(ns);
  ipRegister(ns, {
    proto: IPPROTO_TCP,
    name: 'tcp',
    input: (_ns: NetStack, ip: IpInfo, payload: Uint8Array, _ifp: Ifnet) => tn.input(ip, payload),
    ctlinput: (_ns: NetStack, n: IcmpNotice) => tn.ctlinput(n),
  });
}
