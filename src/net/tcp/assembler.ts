/**
 * The out-of-order map of a TCP receive buffer (smoltcp's Assembler): which
 * byte ranges beyond RCV.NXT are already held in the receive ring. Ranges are
 * offsets from RCV.NXT, sorted, disjoint and not adjacent. The count is
 * bounded; a segment that would need more ranges is dropped (the peer
 * retransmits it), so a hostile peer cannot grow this without bound.
 * @guardedBy the single virtual CPU (no awaits inside)
 */
export const ASSEMBLER_MAX_RANGES = 32;

export class Assembler {
  /** [start0, end0, start1, end1, …] offsets from RCV.NXT. */
  private r: number[] = [];
  /** Index (in ranges) of the range that took the latest segment, for SACK ordering. */
  private latest = -1;

  get empty(): boolean {
    return this.r.length === 0;
  }

  /** Bytes held out of order. */
  get bytes(): number {
    let n = 0;
    for (let i = 0; i < this.r.length; i += 2) n += this.r[i + 1]! - this.r[i]!;
    return n;
  }

  /** Highest offset held (0 if none). */
  get end(): number {
    return this.r.length ? this.r[this.r.length - 1]! : 0;
  }

  /** Record [start, end) as held. False (and no change) if that would exceed the range bound. */
  add(start: number, end: number): boolean {
    if (end <= start) return true;
    const r = this.r;
    // First range whose end reaches start, last range whose start reaches end.
    let i = 0;
    while (i < r.length && r[i + 1]! < start) i += 2;
    let j = i;
    while (j < r.length && r[j]! <= end) j += 2;
    if (i === j) {
      // In-order data (start 0) is always taken: advance() consumes it at once.
      if (r.length >= 2 * ASSEMBLER_MAX_RANGES && start > 0) return false;
      r.splice(i, 0, start, end);
    } else {
      const s = Math.min(start, r[i]!);
      const e = Math.max(end, r[j - 1]!);
      r.splice(i, j - i, s, e);
    }
    this.latest = i;
    return true;
  }

  /** If data now starts at offset 0, consume that range and return its length (else 0); rebase the rest. */
  advance(): number {
    const r = this.r;
    if (r.length === 0 || r[0]! > 0) return 0;
    const n = r[1]!;
    r.splice(0, 2);
    for (let i = 0; i < r.length; i++) r[i] = r[i]! - n;
    this.latest = this.latest > 0 ? this.latest - 2 : -1;
    return n;
  }

  /** Forget everything (the connection is gone). */
  clear(): void {
    this.r.length = 0;
    this.latest = -1;
  }

  /**
   * SACK blocks (RFC 2018 §4) as sequence numbers from rcvNxt, at most `max`:
   * the block holding the latest segment first, then the others in order.
   */
  sackBlocks(rcvNxt: number, max: number): number[] | null {
    const r = this.r;
    if (r.length === 0 || max <= 0) return null;
    const out: number[] = [];
    const first = this.latest >= 0 && this.latest < r.length ? this.latest : 0;
    out.push((rcvNxt + r[first]!) >>> 0, (rcvNxt + r[first + 1]!) >>> 0);
    for (let i = 0; i < r.length && out.length < 2 * max; i += 2) {
      if (i === first) continue;
      out.push((rcvNxt + r[i]!) >>> 0, (rcvNxt + r[i + 1]!) >>> 0);
    }
    return out;
  }
}
