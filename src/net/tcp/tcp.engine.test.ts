/**
 * Scenarios of the TCP engine on a simulated link that the random property
 * does not reach: simultaneous open and close (RFC 9293 §3.5, §3.6), RFC 5961
 * blind RST and SYN handling, keepalive timing out a vanished peer,
 * zero-window probing while the reader sleeps, TIME-WAIT lasting 2 MSL, and
 * SYN-SENT giving up with ETIMEDOUT.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TCP_ACK, TCP_RST, TCP_SYN, tcpSegment, type TcpSegment } from '../wire/tcp.ts';
import { ADDR_A, ADDR_B, CLEAN_LINK, SimLink } from './simlink.ts';
import { seqAdd, seqLe } from './seq.ts';
import { Tcb, TcpState, TCP_STATE_NAMES } from './tcb.ts';
import { tcpRecv, tcpSend, tcpShutdownWrite } from './usrreq.ts';
import { armTimer } from './tcp_output.ts';

function trace(link: SimLink): string[] {
  const out: string[] = [];
  for (const end of [link.a, link.b]) {
    end.stack.onTransition = (_t, from, to) => out.push(`${end.addr === ADDR_A ? 'A' : 'B'} ${TCP_STATE_NAMES[from]}>${TCP_STATE_NAMES[to]}`);
  }
  return out;
}

function established(link: SimLink): { ta: Tcb; tb: Tcb } {
  const l = link.b.stack.listen(0, 80, 4);
  const ta = link.a.stack.connect(ADDR_A, 40000, ADDR_B, 80);
  link.run(() => ta.state === TcpState.ESTABLISHED && l.acceptQueue.length === 1);
  const tb = l.acceptQueue.shift()!;
  return { ta, tb };
}

describe('tcp engine scenarios', () => {
  it('simultaneous open: both SYN-SENT, both through SYN-RECEIVED to ESTABLISHED', () => {
    const link = new SimLink(5, { ...CLEAN_LINK, delayMs: 10 });
    const log = trace(link);
    const ta = link.a.stack.connect(ADDR_A, 5000, ADDR_B, 6000);
    const tb = link.b.stack.connect(ADDR_B, 6000, ADDR_A, 5000);
    expect(link.run(() => ta.state === TcpState.ESTABLISHED && tb.state === TcpState.ESTABLISHED)).toBe(true);
    for (const side of ['A', 'B']) {
      expect(log.filter((l) => l.startsWith(side))).toEqual([
        `${side} CLOSED>SYN_SENT`, `${side} SYN_SENT>SYN_RECEIVED`, `${side} SYN_RECEIVED>ESTABLISHED`,
      ]);
    }
    expect(tcpSend(ta, new Uint8Array([1, 2, 3]))).toBe(3);
    link.run(() => tb.readable === 3);
    const buf = new Uint8Array(3);
    expect(tcpRecv(tb, buf, false)).toBe(3);
    expect([...buf]).toEqual([1, 2, 3]);
  });

  it('simultaneous close: both FIN-WAIT-1, CLOSING, TIME-WAIT, then CLOSED after 2 MSL', () => {
    const link = new SimLink(6, { ...CLEAN_LINK, delayMs: 10 });
    const { ta, tb } = established(link);
    const log = trace(link);
    tcpShutdownWrite(ta);
    tcpShutdownWrite(tb);
    expect(link.run(() => ta.state === TcpState.TIME_WAIT && tb.state === TcpState.TIME_WAIT)).toBe(true);
    for (const side of ['A', 'B']) {
      expect(log.filter((l) => l.startsWith(side))).toEqual([
        `${side} ESTABLISHED>FIN_WAIT_1`, `${side} FIN_WAIT_1>CLOSING`, `${side} CLOSING>TIME_WAIT`,
      ]);
    }
    const t0 = link.now;
    link.run(() => ta.state === TcpState.CLOSED);
    expect(link.now - t0).toBeGreaterThanOrEqual(2 * link.a.stack.cfg.mslMs - 1);
    expect(link.now - t0).toBeLessThan(2 * link.a.stack.cfg.mslMs + 100);
  });

  it('RFC 5961: an in-window RST that misses RCV.NXT draws a challenge ACK and changes nothing', () => {
    const link = new SimLink(7, CLEAN_LINK);
    const { ta, tb } = established(link);
    const sent: TcpSegment[] = [];
    link.onSegment = (src, _dst, seg) => { if (src === ADDR_B) sent.push(seg); };
    const rst = (seq: number): TcpSegment => tcpSegment({ srcPort: 40000, dstPort: 80, seq, flags: TCP_RST });
    link.b.stack.input(ADDR_A, ADDR_B, rst(seqAdd(tb.rcvNxt, 100)));
    link.run(() => sent.length > 0);
    expect(tb.state).toBe(TcpState.ESTABLISHED);
    expect(sent[0]!.flags).toBe(TCP_ACK); // the challenge ACK
    expect(sent[0]!.ack).toBe(tb.rcvNxt);
    // A SYN on the established connection: a challenge ACK too (§4.2).
    sent.length = 0;
    link.b.stack.input(ADDR_A, ADDR_B, tcpSegment({ srcPort: 40000, dstPort: 80, seq: 12345, flags: TCP_SYN }));
    link.run(() => sent.length > 0);
    expect(tb.state).toBe(TcpState.ESTABLISHED);
    expect(sent[0]!.flags & (TCP_ACK | TCP_RST)).toBe(TCP_ACK);
    // The exact RST resets.
    link.b.stack.input(ADDR_A, ADDR_B, rst(tb.rcvNxt));
    expect(tb.state).toBe(TcpState.CLOSED);
    expect(tb.error).toBe('ECONNRESET');
    void ta;
  });

  it('keepalive: a peer that vanished is declared dead after idle + count x interval', () => {
    const link = new SimLink(8, CLEAN_LINK);
    const { ta } = established(link);
    ta.keepalive = true;
    ta.keepIdleMs = 10_000;
    ta.keepIntvlMs = 1_000;
    ta.keepCnt = 3;
    ta.keepAt = link.now + ta.keepIdleMs;
    armTimer(ta);
    link.impair = { ...CLEAN_LINK, loss: 1 };
    const t0 = link.now;
    expect(link.run(() => ta.state === TcpState.CLOSED)).toBe(true);
    expect(ta.error).toBe('ETIMEDOUT');
    expect(link.now - t0).toBeGreaterThanOrEqual(10_000 + 3 * 1_000 - 50);
    expect(link.now - t0).toBeLessThan(10_000 + 4 * 1_000 + 500);
  });

  it('zero window: the sender probes while the reader sleeps and resumes when it reads', () => {
    const link = new SimLink(9, CLEAN_LINK, { rcvBuf: 4096 });
    const { ta, tb } = established(link);
    const data = new Uint8Array(20_000).map((_, i) => i & 0xff);
    let sent = tcpSend(ta, data);
    let probes = 0;
    link.onSegment = (src, _dst, seg) => { if (src === ADDR_A && seg.payload.length === 1) probes++; };
    link.run(() => tb.rcvBuf.free === 0 && ta.sndWnd === 0);
    const t0 = link.now;
    link.run(() => link.now - t0 > 30_000); // the reader sleeps 30 s
    expect(probes).toBeGreaterThan(2);
    expect(ta.state).toBe(TcpState.ESTABLISHED);
    const got: number[] = [];
    const buf = new Uint8Array(1000);
    expect(link.run(() => {
      if (sent < data.length) sent += tcpSend(ta, data.subarray(sent));
      for (let n = tcpRecv(tb, buf, false); n > 0; n = tcpRecv(tb, buf, false)) got.push(...buf.subarray(0, n));
      return got.length === data.length;
    })).toBe(true);
    expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
  });

  it('SYN-SENT gives up with ETIMEDOUT after the SYN retries, backing off', () => {
    const link = new SimLink(10, { ...CLEAN_LINK, loss: 1 }, { synRetries: 3 });
    const syns: number[] = [];
    link.onSegment = (src, _dst, seg) => { if (src === ADDR_A && seg.flags & TCP_SYN) syns.push(link.now); };
    const ta = link.a.stack.connect(ADDR_A, 40000, ADDR_B, 80);
    expect(link.run(() => ta.state === TcpState.CLOSED)).toBe(true);
    expect(ta.error).toBe('ETIMEDOUT');
    expect(syns.length).toBe(4);
    const gaps = syns.slice(1).map((t, i) => t - syns[i]!);
    expect(gaps).toEqual([1000, 2000, 4000]); // RFC 6298 §5.5: doubling from the 1 s initial RTO
  });

  it('a new SYN with a higher sequence number reopens a TIME-WAIT connection (RFC 9293 §3.6.1)', () => {
    const link = new SimLink(12, CLEAN_LINK);
    const { ta, tb } = established(link);
    tcpShutdownWrite(tb); // the server closes first and holds TIME-WAIT
    link.run(() => ta.state === TcpState.CLOSE_WAIT);
    tcpShutdownWrite(ta);
    link.run(() => tb.state === TcpState.TIME_WAIT && ta.state === TcpState.CLOSED);
    const old = tb.rcvNxt;
    link.a.stack.isn = () => seqAdd(old, 100_000);
    const l = [...link.b.stack.allListeners()][0]!;
    const t0 = link.now;
    const again = link.a.stack.connect(ADDR_A, 40000, ADDR_B, 80);
    expect(link.run(() => again.state === TcpState.ESTABLISHED && l.acceptQueue.length === 1)).toBe(true);
    expect(link.now - t0).toBeLessThan(100); // no SYN retransmission was needed
    expect(tb.state).toBe(TcpState.CLOSED);
  });

  it('Nagle holds small writes while data is unacknowledged; TCP_NODELAY sends each (RFC 9293 §3.7.4)', () => {
    for (const nodelay of [false, true]) {
      const link = new SimLink(13, { ...CLEAN_LINK, delayMs: 20 });
      const { ta, tb } = established(link);
      ta.nodelay = nodelay;
      const sizes: number[] = [];
      link.onSegment = (src, _dst, seg) => { if (src === ADDR_A && seg.payload.length > 0) sizes.push(seg.payload.length); };
      for (let i = 0; i < 11; i++) tcpSend(ta, new Uint8Array(1));
      link.run(() => tb.readable === 11);
      expect(sizes).toEqual(nodelay ? Array(11).fill(1) : [1, 10]);
    }
  });

  it('delayed ACK: one small segment is ACKed after the delay, two full ones at once (RFC 5681 §4.2)', () => {
    const link = new SimLink(14, { ...CLEAN_LINK, delayMs: 1 });
    const { ta, tb } = established(link);
    const acks: number[] = [];
    link.onSegment = (src, _dst, seg) => { if (src === ADDR_B && seg.payload.length === 0) acks.push(link.now); };
    let t0 = link.now;
    tcpSend(ta, new Uint8Array(10));
    link.run(() => acks.length === 1);
    expect(acks[0]! - t0).toBeGreaterThanOrEqual(link.b.stack.cfg.delackMs);
    acks.length = 0;
    t0 = link.now;
    tcpSend(ta, new Uint8Array(2 * ta.payloadMss(12)));
    link.run(() => acks.length === 1);
    expect(acks[0]! - t0).toBeLessThan(5);
    void tb;
  });

  it('SACK recovery retransmits exactly the lost segments within the first RTO', () => {
    for (const sack of [true, false]) {
      const link = new SimLink(15, { ...CLEAN_LINK, delayMs: 5 }, { sack });
      const { ta, tb } = established(link);
      const mss = ta.payloadMss(ta.tsOk ? 12 : 0);
      const base = ta.sndNxt;
      const lost = new Set([3, 6, 9].map((i) => seqAdd(base, i * mss)));
      const seen = new Map<number, number>();
      link.dropIf = (src, seg) => {
        if (src !== ADDR_A || seg.payload.length === 0) return false;
        const n = (seen.get(seg.seq) ?? 0) + 1;
        seen.set(seg.seq, n);
        return n === 1 && lost.has(seg.seq);
      };
      const t0 = link.now;
      tcpSend(ta, new Uint8Array(20 * mss));
      expect(link.run(() => tb.readable === 20 * mss)).toBe(true);
      const resent = [...seen.entries()].filter(([, n]) => n > 1).map(([q]) => q).sort((x, y) => x - y);
      expect(resent).toEqual([...lost].sort((x, y) => x - y));
      if (sack) expect(link.now - t0).toBeLessThan(ta.cfg.rtoMinMs); // all holes repaired in fast recovery
    }
  });

  it('hostile segments never throw, never grow the tables past their bounds, keep the invariants (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7fffffff }),
        fc.array(
          fc.record({
            port: fc.constantFrom(40000, 40001, 1234),
            dport: fc.constantFrom(80, 81),
            seqOff: fc.integer({ min: -70000, max: 70000 }),
            ackOff: fc.integer({ min: -70000, max: 70000 }),
            flags: fc.integer({ min: 0, max: 0xff }),
            window: fc.integer({ min: 0, max: 0xffff }),
            len: fc.integer({ min: 0, max: 3000 }),
            wscale: fc.integer({ min: -1, max: 20 }),
            mss: fc.integer({ min: 0, max: 0xffff }),
            ts: fc.option(fc.tuple(fc.nat(), fc.nat())),
            sack: fc.option(fc.array(fc.integer({ min: -70000, max: 70000 }), { minLength: 2, maxLength: 8 })),
          }),
          { maxLength: 200 },
        ),
        (seed, segs) => {
          const link = new SimLink(seed, CLEAN_LINK, { rcvBuf: 8192 });
          const { ta, tb } = established(link);
          tcpSend(ta, new Uint8Array(5000));
          tcpSend(tb, new Uint8Array(3000));
          for (const g of segs) {
            const base = g.port === 40000 ? tb : null;
            const seq = (base ? base.rcvNxt + g.seqOff : g.seqOff) >>> 0;
            const ack = (base ? base.sndUna + g.ackOff : g.ackOff) >>> 0;
            const seg = tcpSegment({
              srcPort: g.port, dstPort: g.dport, seq, ack, flags: g.flags, window: g.window, payload: new Uint8Array(g.len),
              wscale: g.wscale > 14 ? 14 : g.wscale, mss: g.mss,
              hasTimestamp: g.ts !== null, tsVal: g.ts?.[0] ?? 0, tsEcr: g.ts?.[1] ?? 0,
              sack: g.sack === null ? null : g.sack.map((x) => (seq + x) >>> 0).slice(0, g.sack.length & ~1),
            });
            link.b.stack.input(ADDR_A, ADDR_B, seg);
            link.run(() => link.pending === 0, 2000);
            for (const t of link.b.stack.connections()) {
              expect(seqLe(t.sndUna, t.sndNxt) && seqLe(t.sndNxt, t.sndMax)).toBe(true);
              expect(t.rcvBuf.len).toBeLessThanOrEqual(t.rcvBuf.capacity);
            }
            expect([...link.b.stack.connections()].length).toBeLessThanOrEqual(2 + 64);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
