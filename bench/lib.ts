/**
 * Small benchmark helpers: warm up, time a batch, report ns/op and ratios.
 * Benchmarks print; they never assert on time.
 */

export interface Row {
  name: string;
  /** Nanoseconds per operation (lower is better), or undefined when rate is given. */
  nsPerOp?: number;
  /** Operations or bytes per second (higher is better). */
  rate?: number;
  unit?: string;
  note?: string;
}

export async function timeAsync(n: number, fn: (i: number) => Promise<unknown>, warm = Math.min(n, 10_000)): Promise<number> {
  for (let i = 0; i < warm; i++) await fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

export function timeSync(n: number, fn: (i: number) => unknown, warm = Math.min(n, 10_000)): number {
  for (let i = 0; i < warm; i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

/** Run fn `runs` times and return the median of its results. */
export async function median(runs: number, fn: () => Promise<number> | number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await fn());
  return medianOf(xs);
}

/** The median of samples (the mean of the middle two for an even count). */
export function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export function fmtNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

export function printTable(title: string, rows: Row[]): void {
  console.log(`\n## ${title}`);
  for (const r of rows) {
    const v = r.nsPerOp !== undefined ? fmtNs(r.nsPerOp) : `${r.rate!.toFixed(r.rate! < 100 ? 2 : 0)} ${r.unit ?? 'ops/s'}`;
    console.log(`  ${r.name.padEnd(52)} ${v.padStart(14)}${r.note ? '   ' + r.note : ''}`);
  }
}

/** "1.85x node:fs" style ratio text; >1 means ours is faster. */
export function ratio(oursNs: number, peerNs: number, peer: string): string {
  return `${(peerNs / oursNs).toFixed(2)}x vs ${peer} (>1 = faster)`;
}
