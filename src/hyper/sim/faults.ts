/**
 * Named fault sites: where a host (the sim host, or any host under
 * `withFaults`) may inject an I/O error, extra latency, frame loss and the like.
 *
 * A site is a dotted name ("blk.write", "net.loss"). A rule on a site says how
 * often it fires; every decision draws from one seeded Rng, in call order, so a
 * seeded run injects the same faults at the same calls every time. A site with
 * no rule draws nothing (adding a rule on one site does not perturb others
 * unless both are consulted by the same run).
 */
import type { Rng } from './rng.ts';

/** Sites the sim host and `withFaults` consult. Other names are allowed for drivers. */
export type KnownFaultSite =
  | 'blk.open' | 'blk.read' | 'blk.write' | 'blk.flush' | 'blk.latency'
  | 'host.stat' | 'host.open' | 'host.read' | 'host.write' | 'host.latency'
  | 'net.create' | 'net.loss' | 'net.dup' | 'net.reorder' | 'net.latency';
export type FaultSite = KnownFaultSite | (string & {});

export interface FaultRule {
  /** Chance that an eligible call fires (default 1). */
  probability?: number;
  /** Errno returned when an error site fires: negative Linux errno (default -5, EIO). */
  errno?: number;
  /** The first `afterCalls` calls to the site never fire (default 0). */
  afterCalls?: number;
  /** Stop firing after this many fires (default unlimited). */
  times?: number;
  /** Added delay for latency/reorder sites, in ns (default 1 ms). For reorder, the upper bound of a uniform delay. */
  latencyNs?: bigint | number;
}

export interface FaultStats { calls: number; fired: number }

const DEFAULT_LATENCY_NS = 1_000_000n;

export class FaultSet {
  private readonly rules = new Map<string, FaultRule>();
  private readonly stats = new Map<string, FaultStats>();
  private readonly rng: Rng;

  constructor(rng: Rng, rules?: Partial<Record<FaultSite, FaultRule>>) {
    this.rng = rng;
    if (rules) for (const [site, rule] of Object.entries(rules)) if (rule) this.set(site, rule);
  }

  /** Install (or with null, remove) the rule for a site; resets its counters. */
  set(site: FaultSite, rule: FaultRule | null): this {
    if (rule === null) { this.rules.delete(site); this.stats.delete(site); return this; }
    const p = rule.probability ?? 1;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`fault ${site}: probability must be in [0, 1], got ${p}`);
    if (rule.errno !== undefined && !(rule.errno < 0)) throw new RangeError(`fault ${site}: errno must be negative (e.g. -5 for EIO), got ${rule.errno}`);
    this.rules.set(site, { ...rule });
    this.stats.set(site, { calls: 0, fired: 0 });
    return this;
  }
  clear(): void { this.rules.clear(); this.stats.clear(); }
  has(site: FaultSite): boolean { return this.rules.has(site); }

  /** Consult a site: the rule when it fires for this call, else null. */
  check(site: FaultSite): FaultRule | null {
    const rule = this.rules.get(site);
    if (!rule) return null;
    const st = this.stats.get(site)!;
    st.calls++;
    if (st.calls <= (rule.afterCalls ?? 0)) return null;
    if (rule.times !== undefined && st.fired >= rule.times) return null;
    const p = rule.probability ?? 1;
    if (p < 1 && this.rng.float() >= p) return null;
    st.fired++;
    return rule;
  }

  /** Error site: the negative errno to return, or 0 when the call proceeds. */
  errno(site: FaultSite): number {
    const r = this.check(site);
    return r ? (r.errno ?? -5) : 0;
  }

  /** Latency site: extra delay in ns (0n when it does not fire). */
  latency(site: FaultSite): bigint {
    const r = this.check(site);
    return r ? BigInt(r.latencyNs ?? DEFAULT_LATENCY_NS) : 0n;
  }

  /** Reorder site: a uniform random delay in [0, latencyNs] when it fires. */
  jitter(site: FaultSite): bigint {
    const r = this.check(site);
    if (!r) return 0n;
    const max = BigInt(r.latencyNs ?? DEFAULT_LATENCY_NS);
    if (max <= 0n) return 0n;
    // Two draws give 64 bits; plenty for any sensible delay bound.
    const x = (BigInt(this.rng.next32()) << 32n) | BigInt(this.rng.next32());
    return x % (max + 1n);
  }

  /** Calls and fires per site since its rule was set. */
  counters(): Record<string, FaultStats> {
    const out: Record<string, FaultStats> = {};
    for (const [k, v] of this.stats) out[k] = { ...v };
    return out;
  }
}
