/**
 * The hash log: every hypercall and upcall of a simulation, in order, with a
 * running 64-bit FNV-1a over a canonical text of each entry.
 *
 * Two runs of the same seed must produce the same log; when they do not,
 * `firstDivergence` names the first entry that differs, which is usually one
 * step after the nondeterminism crept in. Entries hold short digests (a
 * Uint8Array is `u8[len]#fnv32`), not data, so recording stays cheap enough
 * to leave on in every test. With `keep: false` only the hash is kept.
 */
import { Fnv64, fnv32 } from './rng.ts';

export interface HashLogEntry {
  /** Position in the log. */
  readonly i: number;
  /** Virtual monotonic time (ns) when the entry was appended. */
  readonly t: bigint;
  /** Which host (SimHost name) made or received the call. */
  readonly host: string;
  /** Hypercall name; upcalls are "upcall:<kind>", completions of async calls "<name>:done". */
  readonly call: string;
  readonly args: string;
  readonly result: string;
}

/** Canonical, short text of a hypercall argument or result. */
export function digest(v: unknown): string {
  switch (typeof v) {
    case 'undefined': return '-';
    case 'number': case 'boolean': return String(v);
    case 'bigint': return `${v}n`;
    case 'string': return v.length <= 64 ? JSON.stringify(v) : `str[${v.length}]#${fnv32(new TextEncoder().encode(v)).toString(16)}`;
    case 'function': return 'fn';
    case 'symbol': return String(v);
    case 'object': {
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return `u8[${v.length}]#${fnv32(v).toString(16)}`;
      if (Array.isArray(v)) return `[${v.map(digest).join(',')}]`;
      const parts: string[] = [];
      for (const k of Object.keys(v)) parts.push(`${k}:${digest((v as Record<string, unknown>)[k])}`);
      return `{${parts.join(',')}}`;
    }
  }
}

export function entryText(e: Omit<HashLogEntry, 'i'>): string {
  return `${e.t} ${e.host} ${e.call}(${e.args})=${e.result}`;
}

export interface Divergence {
  index: number;
  a: HashLogEntry | undefined;
  b: HashLogEntry | undefined;
}

export class HashLog {
  private readonly fnv = new Fnv64();
  private readonly items: HashLogEntry[] = [];
  private n = 0;
  readonly keep: boolean;

  constructor(keep = true) { this.keep = keep; }

  append(t: bigint, host: string, call: string, args: string, result: string): void {
    const e = { i: this.n++, t, host, call, args, result };
    this.fnv.string(entryText(e)).string('\n');
    if (this.keep) this.items.push(e);
  }

  get length(): number { return this.n; }
  entries(): readonly HashLogEntry[] { return this.items; }
  /** 16 hex digits of the running hash. */
  hash(): string { return this.fnv.hex(); }

  /** Index and entries of the first difference, or null when the logs are equal. */
  static firstDivergence(a: readonly HashLogEntry[], b: readonly HashLogEntry[]): Divergence | null {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = a[i], y = b[i];
      if (!x || !y || entryText(x) !== entryText(y)) return { index: i, a: x, b: y };
    }
    return null;
  }
}
