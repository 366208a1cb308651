/**
 * The sysproxy frame codec: the 12-byte header (u32 length, u8 version,
 * u8 type, u16 flags, u32 id), frame types, limits, `emitFrame`/`parseFrame`
 * and the streaming `FrameReader` that cuts a byte stream into frames.
 * Untrusted bytes are parsed once here: `parseFrame` and `FrameReader` return
 * frames or throw `ProtocolError`, never anything else.
 */


export const PROTO_VERSION = 1;
/** Bytes before the body: u32 length, u8 version, u8 type, u16 flags, u32 id. */
export const HEADER_SIZE = 12;

export const FrameType = {
  HELLO: 1,
  WELCOME: 2,
  CALL: 3,
  REPLY: 4,
  ERROR: 5,
  DATA: 6,
  FORK: 7,
  EXIT: 8,
  HALT: 9,
  FATAL: 10,
} as const;
export type FrameTypeName = keyof typeof FrameType;
const TYPE_NAMES = new Map<number, FrameTypeName>(Object.entries(FrameType).map(([k, v]) => [v, k as FrameTypeName]));
/** Frame types are 1..MAX_TYPE with no gaps (checked by a test). */
export const MAX_TYPE = 10;

export function frameTypeName(t: number): string {
  return TYPE_NAMES.get(t) ?? `type ${t}`;
}

/** Default limits; the server announces its own in WELCOME. */
export const DEFAULT_LIMITS = {
  /** Largest frame accepted (header included). */
  maxFrame: 4 * 1024 * 1024,
  /** DATA frames carry at most this many bytes. */
  chunk: 1024 * 1024,
  /** Buffers up to this size travel inline in CALL/REPLY; larger ones in DATA frames. */
  inline: 64 * 1024,
  /** Largest staging buffer for one call's data, either direction (bigger reads are short, bigger writes are split). */
  maxTransfer: 64 * 1024 * 1024,
  /** Staging bytes of all calls in flight on one connection together (announced so clients queue instead). */
  maxStaged: 256 * 1024 * 1024,
  /** Calls in flight per connection. */
  maxInFlight: 256,
  /** Open descriptors per connection process (RLIMIT_NOFILE). */
  maxFds: 1024,
  /** Process contexts (main + forks) per connection. */
  maxProcs: 64,
};
export type Limits = typeof DEFAULT_LIMITS;

/** A broken message: the connection that sent it is closed with a FATAL frame. */
export class ProtocolError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'ProtocolError';
  }
}

/**
 * A parsed frame: its header fields, and its body as the range
 * [start, end) of `src`. The body view is made only when `body` is read:
 * making a typed-array view costs about 0.1 µs, a good part of a small
 * call's budget, and the hot paths (CALL, REPLY) decode the range in place.
 */
export class Frame {
  private view: Uint8Array | null = null;

  constructor(
    readonly type: number,
    readonly flags: number,
    readonly id: number,
    readonly src: Uint8Array,
    readonly start: number,
    readonly end: number,
  ) {}

  /** A frame whose body is all of `body`. */
  static of(type: number, flags: number, id: number, body: Uint8Array): Frame {
    return new Frame(type, flags, id, body, 0, body.byteLength);
  }

  get body(): Uint8Array {
    return (this.view ??= this.src.subarray(this.start, this.end));
  }
}

// ---- frames ------------------------------------------------------------------------

/** The whole frame, length prefix included. */
export function emitFrame(type: number, id: number, body: Uint8Array, flags = 0): Uint8Array {
  const w = new Writer(HEADER_SIZE + body.byteLength, true);
  w.bytes(body);
  return w.frame(type, id, flags);
}

/**
 * Parse one complete frame (length prefix included) filling the first `n`
 * bytes of `bytes` (default: all of them). The frame's body is a range of
 * `bytes`, not a copy.
 */
export function parseFrame(bytes: Uint8Array, maxFrame: number, n = bytes.byteLength): Frame {
  if (n > bytes.byteLength) throw new ProtocolError('EPROTO', `frame of ${n} bytes announced in a buffer of ${bytes.byteLength}`);
  if (n < HEADER_SIZE) throw new ProtocolError('EPROTO', `truncated frame: ${n} bytes, header needs ${HEADER_SIZE}`);
  const len = u32At(bytes, 0);
  if (len + 4 > maxFrame) throw new ProtocolError('EMSGSIZE', `frame of ${len + 4} bytes exceeds the limit of ${maxFrame}`);
  if (len + 4 !== n) throw new ProtocolError('EPROTO', `frame length field says ${len + 4} bytes, got ${n}`);
  return frameAt(bytes, 0, len + 4);
}

/** u32 little-endian at `o` (bounds already checked by the caller). */
export function u32At(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** The frame of `len` bytes (length prefix included, already checked) at `o` in `b`: version and type checked, body a view. */
function frameAt(b: Uint8Array, o: number, len: number): Frame {
  const version = b[o + 4]!;
  if (version !== PROTO_VERSION) throw new ProtocolError('EPROTONOSUPPORT', `protocol version ${version}, this side speaks ${PROTO_VERSION}`);
  const type = b[o + 5]!;
  if (type < 1 || type > MAX_TYPE) throw new ProtocolError('EPROTO', `unknown frame type ${type}`);
  return new Frame(type, b[o + 6]! | (b[o + 7]! << 8), u32At(b, o + 8), b, o + HEADER_SIZE, o + len);
}

/**
 * Splits a byte stream into frames. The length prefix is checked against
 * maxFrame as soon as it arrives, so an oversized frame is refused before its
 * body is buffered.
 */
export class FrameReader {
  /** Largest frame accepted; a server lowers it until HELLO succeeds. */
  maxFrame: number;
  private chunks: Uint8Array[] = [];
  private have = 0;

  constructor(maxFrame: number) {
    this.maxFrame = maxFrame;
  }

  /**
   * Feed the first `n` bytes of `data` (default all); returns the complete
   * frames (throws ProtocolError on a bad one). `transient`: `data` will be overwritten once this returns (a
   * reused read buffer), so bytes kept for a later frame are copied — the
   * frames returned still view it and must be consumed at once. (`data`
   * must then be a plain Uint8Array: a Buffer's slice() is a view.)
   */
  push(data: Uint8Array, transient = false, n = data.byteLength): Frame[] {
    if (n > data.byteLength) throw new RangeError(`push of ${n} bytes from a buffer of ${data.byteLength}`);
    if (this.have === 0) return this.pushWhole(data, transient, n);
    data = transient ? data.slice(0, n) : n === data.byteLength ? data : data.subarray(0, n);
    this.chunks.push(data);
    this.have += data.byteLength;
    const out: Frame[] = [];
    for (;;) {
      if (this.have < 4) break;
      const head = this.peek(4);
      const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) + 4;
      if (len > this.maxFrame) throw new ProtocolError('EMSGSIZE', `frame of ${len} bytes exceeds the limit of ${this.maxFrame}`);
      if (this.have < len) break;
      out.push(parseFrame(this.take(len), this.maxFrame));
    }
    return out;
  }

  /**
   * The common case: nothing buffered, and `data` starts at a frame boundary.
   * Whole frames are parsed in place (one body view each); only a trailing
   * partial frame is kept.
   */
  private pushWhole(data: Uint8Array, transient: boolean, n: number): Frame[] {
    const out: Frame[] = [];
    let o = 0;
    while (n - o >= 4) {
      const len = u32At(data, o) + 4;
      if (len > this.maxFrame) throw new ProtocolError('EMSGSIZE', `frame of ${len} bytes exceeds the limit of ${this.maxFrame}`);
      if (n - o < len) break;
      if (len < HEADER_SIZE) throw new ProtocolError('EPROTO', `truncated frame: ${len} bytes, header needs ${HEADER_SIZE}`);
      out.push(frameAt(data, o, len));
      o += len;
    }
    if (o < n) {
      this.chunks.push(transient ? data.slice(o, n) : o === 0 && n === data.byteLength ? data : data.subarray(o, n));
      this.have = n - o;
    }
    return out;
  }

  /** Bytes received but not yet a whole frame. */
  get pending(): number {
    return this.have;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.byteLength >= n) return first.subarray(0, n);
    return this.copy(n, false);
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.byteLength >= n) {
      const r = first.subarray(0, n);
      if (first.byteLength === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.have -= n;
      return r;
    }
    return this.copy(n, true);
  }

  private copy(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let o = 0;
    let i = 0;
    while (o < n) {
      const c = this.chunks[i]!;
      const k = Math.min(c.byteLength, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (consume) {
        if (k === c.byteLength) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      } else i++;
    }
    if (consume) this.have -= n;
    return out;
  }
}


/**
 * Growable little-endian writer. Backed by node Buffers: small ones come
 * from Node's slab pool, which makes a small frame far cheaper than a fresh
 * ArrayBuffer (frames are allocated per call). A writer may reserve the frame
 * header up front so `frame()` finishes a frame in place, without a copy.
 */
export class Writer {
  buf: Buffer;
  pos: number;

  /** `size`: a first buffer of that many bytes, or a given buffer to write into (growing leaves it for a copy). */
  constructor(size: number | Buffer = 256, reserveHeader = false) {
    this.buf = typeof size === 'number' ? Buffer.allocUnsafe(size) : size;
    this.pos = reserveHeader ? HEADER_SIZE : 0;
  }

  /** Make room for n more bytes. */
  need(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.pos + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }
  // Plain byte stores: cheaper than Buffer's range-checked writeUInt32LE & co.
  u8(v: number): void { if (this.pos + 1 > this.buf.byteLength) this.need(1); this.buf[this.pos++] = v; }
  u16(v: number): void {
    if (this.pos + 2 > this.buf.byteLength) this.need(2);
    const b = this.buf, p = this.pos;
    b[p] = v; b[p + 1] = v >>> 8;
    this.pos = p + 2;
  }
  u32(v: number): void {
    if (this.pos + 4 > this.buf.byteLength) this.need(4);
    const b = this.buf, p = this.pos;
    b[p] = v; b[p + 1] = v >>> 8; b[p + 2] = v >>> 16; b[p + 3] = v >>> 24;
    this.pos = p + 4;
  }
  i32(v: number): void { this.u32(v); }
  /** A tag byte and an i32 in one bounds check (the commonest value). */
  tagI32(tag: number, v: number): void {
    if (this.pos + 5 > this.buf.byteLength) this.need(5);
    const b = this.buf, p = this.pos;
    b[p] = tag; b[p + 1] = v; b[p + 2] = v >>> 8; b[p + 3] = v >>> 16; b[p + 4] = v >>> 24;
    this.pos = p + 5;
  }
  f64(v: number): void { this.need(8); this.buf.writeDoubleLE(v, this.pos); this.pos += 8; }
  i64(v: bigint): void { this.need(8); this.buf.writeBigInt64LE(v, this.pos); this.pos += 8; }
  bytes(b: Uint8Array): void { this.need(b.byteLength); this.buf.set(b, this.pos); this.pos += b.byteLength; }
  str(s: string): void {
    // Worst case 3 bytes per UTF-16 unit.
    if (this.pos + 4 + s.length * 3 > this.buf.byteLength) this.need(4 + s.length * 3);
    if (s.length <= 64) {
      // Short ASCII strings (object keys, paths) are the common case: copy them
      // byte by byte rather than pay a UTF-8 encoder call each.
      const b = this.buf;
      const start = this.pos + 4;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[start + i] = c;
      }
      if (i === s.length) {
        const p = this.pos;
        b[p] = i; b[p + 1] = i >>> 8; b[p + 2] = 0; b[p + 3] = 0;
        this.pos = start + i;
        return;
      }
    }
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.pos);
    this.pos += 4 + n;
  }
  done(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
  }
  /**
   * Write the header of a frame whose header space was reserved; the frame
   * is then the first `pos` bytes of `buf` (returned). For a writer over a
   * shared area, where the length is all the peer needs: no view is made.
   */
  finish(type: number, id: number, flags = 0): number {
    const b = this.buf;
    const len = this.pos - 4;
    b[0] = len; b[1] = len >>> 8; b[2] = len >>> 16; b[3] = len >>> 24;
    b[4] = PROTO_VERSION;
    b[5] = type;
    b[6] = flags; b[7] = flags >>> 8;
    b[8] = id; b[9] = id >>> 8; b[10] = id >>> 16; b[11] = id >>> 24;
    return this.pos;
  }
  /** Finish a frame whose header space was reserved: the whole frame, length prefix included. */
  frame(type: number, id: number, flags = 0): Uint8Array {
    this.finish(type, id, flags);
    return this.done();
  }
}

/** May this frame's ArrayBuffer be transferred (it views the whole buffer, not a pooled slab)? */
export function ownsBuffer(f: Uint8Array): boolean {
  return f.byteOffset === 0 && f.byteLength === f.buffer.byteLength && !(f.buffer instanceof SharedArrayBuffer);
}

/**
 * Post one frame on a MessagePort, transferring (not cloning) its bytes.
 * A frame on a pooled slab is copied to its own ArrayBuffer first: cloning a
 * view clones its whole ArrayBuffer (the 8 KiB slab), and transferring the
 * slab would detach other frames' bytes.
 */
export function postFrame(port: { postMessage(v: unknown, transfer: ArrayBuffer[]): void }, f: Uint8Array): void {
  if (!ownsBuffer(f)) {
    const c = new Uint8Array(f.byteLength);
    c.set(f);
    f = c;
  }
  port.postMessage(f, [f.buffer as ArrayBuffer]);
}
