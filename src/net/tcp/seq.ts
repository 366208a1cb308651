/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): comparisons are by
 * the sign of the 32-bit difference, so they hold across the wrap as long as
 * the two numbers are less than 2^31 apart.
 */

/** a < b in sequence space. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
/** a <= b in sequence space. */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
/** a > b in sequence space. */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
/** a >= b in sequence space. */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
/** a + n mod 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
/** Signed distance a - b (as a 32-bit integer). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}
/** The larger of a and b in sequence space. */
export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}
/** The smaller of a and b in sequence space. */
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}
