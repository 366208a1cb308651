/**
 * Seeded randomness for the simulation: one root seed, split per subsystem.
 *
 * `splitRng(root, name)` hashes (root seed, subsystem name) with FNV-1a and
 * splitmix64 into the 128-bit state of sfc32 (Chris Doty-Humphrey's Small
 * Fast Counter, 32-bit variant, as in PractRand). Each subsystem ("random",
 * "sched", "faults", "net", ...) gets an independent stream, so adding draws
 * in one subsystem does not shift the choices of another — a seeded run keeps
 * replaying the same way when unrelated code changes.
 *
 * Also here: the 64-bit FNV-1a used by the hash log, done on two 32-bit
 * halves so that hashing is cheap (no BigInt per character).
 */

/** A small, fast, seeded pseudo-random generator. Never crypto quality. */
export interface Rng {
  /** Uniform integer in [0, 2^32). */
  next32(): number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n) for 0 < n <= 2^32. */
  below(n: number): number;
  /** Fill buf with random bytes. */
  fill(buf: Uint8Array): void;
}

const MASK64 = (1n << 64n) - 1n;

/** Normalise a user-facing seed (number or bigint, any sign) to 64 bits. */
export function normalizeSeed(seed: number | bigint): bigint {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    return BigInt(seed) & MASK64;
  }
  return seed & MASK64;
}

/** splitmix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mixer. */
export function mix64(x: bigint): bigint {
  let z = (x + 0x9e3779b97f4a7c15n) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/**
 * Running 64-bit FNV-1a, state held as two uint32 halves.
 * FNV prime 2^40 + 0x1b3: h*p = h*0x1b3 + (h << 40) (mod 2^64).
 */
export class Fnv64 {
  lo = 0x84222325;
  hi = 0xcbf29ce4;

  /** Mix in one UTF-16 code unit (low byte, then high byte when non-zero). */
  private byte(b: number): void {
    const lo = (this.lo ^ b) >>> 0;
    const p = lo * 0x1b3; // < 2^41: exact in a double
    this.lo = p >>> 0;
    this.hi = (Math.imul(this.hi, 0x1b3) + Math.floor(p / 0x100000000) + (lo << 8)) >>> 0;
  }
  string(s: string): this {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.byte(c & 0xff);
      if (c > 0xff) this.byte(c >>> 8);
    }
    return this;
  }
  bytes(b: Uint8Array): this {
    for (let i = 0; i < b.length; i++) this.byte(b[i]!);
    return this;
  }
  get value(): bigint { return (BigInt(this.hi) << 32n) | BigInt(this.lo); }
  hex(): string { return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0'); }
}

/** 32-bit FNV-1a of a byte array: the cheap digest of buffers in the hash log. */
export function fnv32(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** sfc32 seeded from four 32-bit words; the first 12 outputs are discarded. */
export function sfc32(a: number, b: number, c: number, d: number): Rng {
  const next32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next32();
  return {
    next32,
    float: () => next32() / 0x100000000,
    below(n: number): number {
      if (!(n > 0 && n <= 0x100000000)) throw new RangeError(`below(${n}): n must be in (0, 2^32]`);
      return Math.floor((next32() / 0x100000000) * n);
    },
    fill(buf: Uint8Array): void {
      let i = 0;
      for (; i + 4 <= buf.length; i += 4) {
        const w = next32();
        buf[i] = w; buf[i + 1] = w >>> 8; buf[i + 2] = w >>> 16; buf[i + 3] = w >>> 24;
      }
      if (i < buf.length) { let w = next32(); for (; i < buf.length; i++, w >>>= 8) buf[i] = w; }
    },
  };
}

/** The generator for subsystem `name` under root seed `seed`. */
export function splitRng(seed: number | bigint, name: string): Rng {
  const h = new Fnv64().string(name).value;
  const s0 = mix64(normalizeSeed(seed) ^ h);
  const s1 = mix64(s0);
  return sfc32(Number(s0 & 0xffffffffn), Number(s0 >> 32n), Number(s1 & 0xffffffffn), Number(s1 >> 32n));
}
