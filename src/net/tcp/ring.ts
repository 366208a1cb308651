/**
 * A fixed-capacity byte ring: the TCP send buffer (bytes from SND.UNA on) and
 * receive buffer (bytes from the application's read point on, and out-of-order
 * data written ahead of the in-order end into the free space).
 *
 * Offsets are relative to the oldest byte held. Memory is the capacity,
 * allocated on first use so that idle or embryonic connections cost nothing.
 * @guardedBy the single virtual CPU (no awaits inside)
 */
export class ByteRing {
  private buf: Uint8Array | null = null;
  private head = 0;
  /** Bytes held (in order from the head). */
  len = 0;
  /** Capacity in bytes (SO_SNDBUF / SO_RCVBUF). */
  capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get free(): number {
    return this.capacity - this.len;
  }

  private storage(): Uint8Array {
    if (this.buf === null) {
      this.buf = new Uint8Array(this.capacity);
      this.head = 0;
    }
    return this.buf;
  }

  /**
   * Change the capacity (never below what is held). Bytes written ahead of
   * len are kept up to the smaller of the two capacities.
   */
  resize(capacity: number): void {
    const c = Math.max(capacity, this.len);
    if (c === this.capacity) return;
    if (this.buf !== null) {
      const b = new Uint8Array(c);
      this.copyOut(0, b, 0, Math.min(c, this.capacity));
      this.buf = b;
      this.head = 0;
    }
    this.capacity = c;
  }

  /** Append up to `free` bytes of src; returns how many were taken. */
  push(src: Uint8Array): number {
    const n = Math.min(src.byteLength, this.free);
    if (n === 0) return 0;
    this.writeAt(this.len, src.subarray(0, n));
    this.len += n;
    return n;
  }

  /** Write src at offset `off` (may be beyond len, within capacity) without changing len. */
  writeAt(off: number, src: Uint8Array): void {
    const b = this.storage();
    const cap = this.capacity;
    let pos = (this.head + off) % cap;
    let i = 0;
    const n = src.byteLength;
    while (i < n) {
      const m = Math.min(n - i, cap - pos);
      b.set(i === 0 && m === n ? src : src.subarray(i, i + m), pos);
      i += m;
      pos = 0;
    }
  }

  /** Extend len over bytes already written with writeAt. */
  commit(n: number): void {
    this.len += n;
  }

  /** Copy n bytes starting at offset `off` into dst at dstOff. */
  copyOut(off: number, dst: Uint8Array, dstOff: number, n: number): void {
    if (n <= 0 || this.buf === null) return;
    const b = this.buf;
    const cap = b.byteLength;
    let pos = (this.head + off) % cap;
    let i = 0;
    while (i < n) {
      const m = Math.min(n - i, cap - pos);
      dst.set(b.subarray(pos, pos + m), dstOff + i);
      i += m;
      pos = 0;
    }
  }

  /** n bytes from offset `off`: a view when contiguous, else a copy. */
  view(off: number, n: number): Uint8Array {
    const b = this.storage();
    const pos = (this.head + off) % this.capacity;
    if (pos + n <= this.capacity) return b.subarray(pos, pos + n);
    const out = new Uint8Array(n);
    this.copyOut(off, out, 0, n);
    return out;
  }

  /** Discard the oldest n bytes. */
  drop(n: number): void {
    const m = Math.min(n, this.len);
    this.len -= m;
    this.head = (this.head + m) % this.capacity;
  }

  /** Release the storage (the connection is gone). */
  release(): void {
    this.buf = null;
    this.len = 0;
    this.head = 0;
  }
}
