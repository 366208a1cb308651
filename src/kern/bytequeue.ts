/**
 * A FIFO of bytes kept as a list of copied chunks, so memory is only what is
 * queued. Shared by pipes and the console's input queue; callers enforce
 * their own capacity and do their own wakeups.
 * @guardedBy the single virtual CPU (no awaits inside)
 */
export class ByteQueue {
  /** Queued bytes: chunks[0] from `head` on, then the rest whole. */
  private chunks: Uint8Array[] = [];
  private head = 0;
  /** Bytes queued. */
  len = 0;

  /** Append a copy of bytes. */
  push(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.chunks.push(bytes.slice());
    this.len += bytes.byteLength;
  }

  /** Move up to buf.byteLength queued bytes into buf; returns the count. */
  take(buf: Uint8Array): number {
    let n = 0;
    while (n < buf.byteLength && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const m = Math.min(c.byteLength - this.head, buf.byteLength - n);
      buf.set(c.subarray(this.head, this.head + m), n);
      n += m;
      this.head += m;
      if (this.head === c.byteLength) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.len -= n;
    return n;
  }
}
