/**
 * ktrace: a per-process trace of system calls (arguments, result, timestamps),
 * printable strace-style. Enabled per process; the dispatcher records into it,
 * and signal delivery (sig_post.ts) adds `--- SIG ---` / `+++ killed +++` notes.
 */

export interface KtraceRecord {
  /** Monotonic ns at entry and exit. */
  startNs: bigint;
  endNs: bigint;
  pid: number;
  syscall: string;
  args: unknown[];
  /** Return value, or the errno code on failure. */
  result: unknown;
  error: string | null;
  /**
   * Set for events that are not system calls — signal deliveries and deaths,
   * printed like strace's `--- SIGUSR1 ---` and `+++ killed by SIGTERM +++`.
   * The note is the whole text; syscall/args/result are empty then.
   */
  note?: string;
}

export class Ktrace {
  readonly records: KtraceRecord[] = [];
  /** Keep at most this many records (oldest dropped): tracing never grows unbounded. */
  readonly limit: number;
  dropped = 0;

  constructor(limit = 10_000) {
    this.limit = limit;
  }

  add(r: KtraceRecord): void {
    if (this.records.length >= this.limit) {
      this.records.shift();
      this.dropped++;
    }
    this.records.push(r);
  }
}

/** JSON replacer for values JSON cannot show: bigints (signal sets), byte buffers, handlers. */
function jsonSafe(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return '<fn>';
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
  return v;
}

function fmtArg(a: unknown): string {
  if (typeof a === 'string') return JSON.stringify(a.length > 64 ? a.slice(0, 64) + '...' : a);
  if (a instanceof Uint8Array) return `<${a.byteLength} bytes>`;
  if (typeof a === 'bigint') return a.toString();
  if (a === undefined) return 'undefined';
  if (typeof a === 'function') return '<fn>';
  try {
    const s = JSON.stringify(a, jsonSafe);
    return s === undefined ? String(a) : s.length > 80 ? s.slice(0, 80) + '...' : s;
  } catch {
    return String(a);
  }
}

/** strace-style line: `[pid 3] 0.000012 open("/a", 0o101, 0o644) = 3 <0.000004>`. */
export function formatKtrace(r: KtraceRecord, originNs = 0n): string {
  const t = (ns: bigint): string => (Number(ns) / 1e9).toFixed(6);
  if (r.note !== undefined) return `[pid ${r.pid}] ${t(r.startNs - originNs)} ${r.note}`;
  const res = r.error !== null ? `-1 ${r.error}` : fmtArg(r.result);
  return `[pid ${r.pid}] ${t(r.startNs - originNs)} ${r.syscall}(${r.args.map(fmtArg).join(', ')}) = ${res} <${t(r.endNs - r.startNs)}>`;
}
