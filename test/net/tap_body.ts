/** The body the TAP interop test's kernel serves: a pattern both sides compute. */
export function bodyChunk(offset: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.imul(offset + i, 2654435761) >>> 24;
  return b;
}
