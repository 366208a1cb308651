/**
 * The sysproxy wire protocol (version 1): frames, the value codec that
 * carries system-call arguments and results, and the zod schemas every
 * incoming message is checked against before it reaches the kernel.
 *
 * Layering (see README.md in this folder for the byte layout):
 *   bytes ──FrameReader──▶ Frame {type, id, body} ──decodeValue──▶ value
 *         ──zod (schemas derived from the syscall table's arg kinds)──▶ kernel
 *
 * Untrusted bytes are parsed once, here: `parseFrame`/`decodeValue` return a
 * value or throw `ProtocolError` (never anything else), with bounded work per
 * byte (no recursion deeper than MAX_DEPTH, counts checked against the bytes
 * that remain). `emitFrame`/`encodeValue` are their inverses; the round trip
 * is property-tested in protocol.test.ts.
 *
 * The codec is a small tagged binary format (a CBOR-like subset): data
 * buffers travel as raw bytes; an out-buffer (the kernel fills it: read,
 * pread, readv, getrandom...) travels as its length only (`OutBuf`); a large
 * in-buffer travels as its length (`InBuf`) followed by DATA frames.
 *
 * Host-side code: it uses node's Buffer for pooled allocation (a browser
 * host would swap in a Uint8Array writer).
 *
 * Not supported: values other than undefined, null, booleans, numbers,
 * bigints, strings, Uint8Array, arrays and plain objects (functions, Maps,
 * class instances lose their prototype and arrive as plain objects).
 */
import { z } from 'zod';
import type { ArgKind, ArgSpec } from '../../kern/syscall.ts';
import type { Stat } from '../../kern/file.ts';

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
function u32At(b: Uint8Array, o: number): number {
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
  private readonly maxFrame: number;
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

// ---- the value codec ----------------------------------------------------------------

/** Placeholder for an out-buffer: only its length travels; the reply carries the bytes. */
export class OutBuf {
  constructor(readonly length: number) {}
}
/** Placeholder for a large in-buffer whose bytes follow in DATA frames. */
export class InBuf {
  constructor(readonly length: number) {}
}

export type Value =
  | undefined | null | boolean | number | bigint | string | Uint8Array | OutBuf | InBuf
  | Value[] | { [k: string]: Value };

const T_UNDEF = 0, T_NULL = 1, T_FALSE = 2, T_TRUE = 3, T_I32 = 4, T_F64 = 5, T_I64 = 6, T_BIGSTR = 7,
  T_STR = 8, T_BYTES = 9, T_ARRAY = 10, T_OBJECT = 11, T_OUTBUF = 12, T_INBUF = 13, T_STAT = 14;
export const MAX_DEPTH = 32;

const td = new TextDecoder('utf-8', { fatal: true });

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

/** A frame whose body is one value. */
export function valueFrame(type: number, id: number, v: unknown): Uint8Array {
  const w = new Writer(256, true);
  writeValue(w, v);
  return w.frame(type, id);
}

const hasOwn = Object.prototype.hasOwnProperty.call.bind(Object.prototype.hasOwnProperty) as (o: object, k: string) => boolean;
const I64_MIN = -(1n << 63n), I64_MAX = (1n << 63n) - 1n;

export function writeValue(w: Writer, v: unknown, depth = 0): void {
  if (depth > MAX_DEPTH) throw new ProtocolError('EINVAL', `value nested deeper than ${MAX_DEPTH}`);
  switch (typeof v) {
    case 'undefined':
      return w.u8(T_UNDEF);
    case 'boolean':
      return w.u8(v ? T_TRUE : T_FALSE);
    case 'number':
      // (v | 0) === v: an int32, but -0 too (-0 | 0 is +0 and +0 === -0); 1 / -0 is -Infinity.
      if ((v | 0) === v && (v !== 0 || 1 / v > 0)) return w.tagI32(T_I32, v);
      w.u8(T_F64);
      return w.f64(v);
    case 'bigint':
      if (v >= I64_MIN && v <= I64_MAX) {
        w.u8(T_I64);
        return w.i64(v);
      }
      w.u8(T_BIGSTR);
      return w.str(v.toString());
    case 'string':
      w.u8(T_STR);
      return w.str(v);
    case 'object': {
      if (v === null) return w.u8(T_NULL);
      // Plain objects (Stat, Timespec...) first: one prototype load instead of four instanceof walks.
      if (Object.getPrototypeOf(v) === Object.prototype) return writeObject(w, v, depth);
      if (v instanceof Uint8Array) {
        w.u8(T_BYTES);
        w.u32(v.byteLength);
        return w.bytes(v);
      }
      if (v instanceof OutBuf || v instanceof InBuf) {
        w.u8(v instanceof OutBuf ? T_OUTBUF : T_INBUF);
        return w.u32(v.length);
      }
      if (Array.isArray(v)) {
        w.u8(T_ARRAY);
        w.u32(v.length);
        for (const x of v) writeValue(w, x, depth + 1);
        return;
      }
      return writeObject(w, v, depth);
    }
    default:
      throw new ProtocolError('EINVAL', `cannot encode a ${typeof v}`);
  }
}

/**
 * An object as (key, value) pairs: for-in over its own keys (what
 * Object.keys lists) without allocating a key array; the count is patched in
 * once known.
 */
function writeObject(w: Writer, v: object, depth: number): void {
  w.u8(T_OBJECT);
  const at = w.pos;
  w.u32(0);
  let n = 0;
  for (const key in v) {
    if (!hasOwn(v, key)) continue;
    // The decoder refuses it (it would set the prototype): fail this value, not the connection.
    if (key === '__proto__') throw new ProtocolError('EINVAL', 'object key __proto__ cannot be sent');
    w.str(key);
    writeValue(w, (v as Record<string, unknown>)[key], depth + 1);
    n++;
  }
  const b = w.buf;
  b[at] = n; b[at + 1] = n >>> 8; b[at + 2] = n >>> 16; b[at + 3] = n >>> 24;
}

/**
 * T_STAT: a struct stat (src/kern/file.ts `Stat`) without its keys. The body
 * is 16 f64s: dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks,
 * then atime, mtime, ctime as sec, nsec. f64 carries every number exactly
 * (sizes and inode numbers past 2^31, negative times, -0, NaN), and writing
 * 128 bytes in one copy costs far less than 13 keys and 16 tagged values.
 *
 * Only a value of exactly the Stat shape is sent this way (`writeStat`): a
 * plain object whose own enumerable keys are STAT_KEYS in that order (the
 * order of vfs_vnops.ts's vnodeStat), every field a number, every time a
 * plain object with exactly `sec`, `nsec`, both numbers. The decoder rebuilds
 * it with a literal in the same key order, so decoding gives what the
 * generic encoding would have. Anything else takes the generic encoding.
 */
const STAT_KEYS = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blksize', 'blocks', 'atime', 'mtime', 'ctime'];
const STAT_NUMS = 16;
const STAT_BODY = STAT_NUMS * 8;
/** Scratch for one T_STAT body (the event loop is single-threaded; never held across calls). */
const statNums = new Float64Array(STAT_NUMS);
const statBytes = new Uint8Array(statNums.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Fill statNums from `v` if it has exactly the Stat shape. for-in lists the
 * own enumerable string keys in order and then inherited enumerable ones;
 * with Object.prototype as the prototype (checked) the walk is exactly what
 * writeObject would send, and unlike Object.keys it allocates nothing.
 */
function statShape(v: object): boolean {
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  let i = 0;
  for (const key in v) if (i >= 13 || key !== STAT_KEYS[i++]) return false;
  if (i !== 13) return false;
  const o = v as Stat;
  const a = o.dev, b = o.ino, c = o.mode, d = o.nlink, e = o.uid, f = o.gid, g = o.rdev, h = o.size, j = o.blksize, l = o.blocks;
  if (typeof a !== 'number' || typeof b !== 'number' || typeof c !== 'number' || typeof d !== 'number' || typeof e !== 'number'
    || typeof f !== 'number' || typeof g !== 'number' || typeof h !== 'number' || typeof j !== 'number' || typeof l !== 'number') return false;
  const n = statNums;
  n[0] = a; n[1] = b; n[2] = c; n[3] = d; n[4] = e; n[5] = f; n[6] = g; n[7] = h; n[8] = j; n[9] = l;
  return timeShape(o.atime, 10) && timeShape(o.mtime, 12) && timeShape(o.ctime, 14);
}

function timeShape(t: unknown, at: number): boolean {
  if (typeof t !== 'object' || t === null || Object.getPrototypeOf(t) !== Object.prototype) return false;
  let i = 0;
  for (const key in t) if (key !== (i++ === 0 ? 'sec' : 'nsec') || i > 2) return false;
  if (i !== 2) return false;
  const { sec, nsec } = t as { sec: unknown; nsec: unknown };
  if (typeof sec !== 'number' || typeof nsec !== 'number') return false;
  statNums[at] = sec;
  statNums[at + 1] = nsec;
  return true;
}

/** Write `v` as T_STAT if it has exactly the Stat shape; false (nothing written) otherwise. */
export function writeStat(w: Writer, v: unknown): boolean {
  if (typeof v !== 'object' || v === null || !statShape(v)) return false;
  w.u8(T_STAT);
  w.need(STAT_BODY);
  if (LITTLE_ENDIAN) w.buf.set(statBytes, w.pos);
  else for (let i = 0; i < STAT_NUMS; i++) w.buf.writeDoubleLE(statNums[i]!, w.pos + i * 8);
  w.pos += STAT_BODY;
  return true;
}

/**
 * A REPLY body `[result, outs]`. `statHint`: the call returns a struct stat
 * (stat, lstat, fstat, newfstatat...), so a result of exactly that shape
 * goes as T_STAT.
 */
export function writeReply(w: Writer, result: unknown, outs: unknown, statHint: boolean): void {
  w.u8(T_ARRAY);
  w.u32(2);
  if (!statHint || !writeStat(w, result)) writeValue(w, result, 1);
  writeValue(w, outs, 1);
}

export function encodeValue(v: unknown): Uint8Array {
  const w = new Writer();
  writeValue(w, v);
  return w.done();
}

/**
 * Decoded short strings, by content: the same few object keys (a Stat's
 * dev, ino, mode...) and paths arrive in message after message, and a
 * cached string is both cheaper than decoding it again and already
 * internalized, so setting a property or looking a name up is a plain
 * compare. Slots are overwritten on collision; only ASCII strings of at
 * most STR_CACHE_MAX bytes are cached (their UTF-16 units equal their
 * bytes, which the lookup's comparison relies on). A pure cache of
 * immutable strings: sharing it between connections cannot change any
 * result, and it holds at most STR_SLOTS × STR_CACHE_MAX characters.
 */
const STR_CACHE_MAX = 64;
const STR_SLOTS = 1024;
const strCache: string[] = new Array<string>(STR_SLOTS).fill('');

/**
 * Bounds-checked reader over untrusted bytes: the range [start, end) of
 * `bytes` (default all of it; positions are indexes into `bytes`). `dv`, if
 * given, is a DataView over all of `bytes` (same start), kept by the caller
 * so none is made per message.
 */
export class Reader {
  readonly src: Uint8Array;
  pos: number;
  private readonly end: number;
  private view: DataView | null;

  constructor(bytes: Uint8Array, start = 0, end = bytes.byteLength, dv: DataView | null = null) {
    if (start < 0 || end > bytes.byteLength || start > end) throw new RangeError(`Reader range [${start}, ${end}) outside ${bytes.byteLength} bytes`);
    this.src = bytes;
    this.pos = start;
    this.end = end;
    this.view = dv;
  }
  /** A DataView, made only for the f64/i64 reads that need one. */
  get dv(): DataView {
    return (this.view ??= new DataView(this.src.buffer, this.src.byteOffset, this.src.byteLength));
  }
  get left(): number {
    return this.end - this.pos;
  }
  private short(n: number, what: string): never {
    throw new ProtocolError('EPROTO', `truncated ${what}: need ${n} bytes at offset ${this.pos}, have ${this.left}`);
  }
  u8(): number {
    if (this.pos >= this.end) this.short(1, 'u8');
    return this.src[this.pos++]!;
  }
  u16(): number {
    const p = this.pos;
    if (this.end - p < 2) this.short(2, 'u16');
    this.pos = p + 2;
    return this.src[p]! | (this.src[p + 1]! << 8);
  }
  u32(): number {
    const p = this.pos;
    if (this.end - p < 4) this.short(4, 'u32');
    this.pos = p + 4;
    return u32At(this.src, p);
  }
  i32(): number {
    const p = this.pos, b = this.src;
    if (this.end - p < 4) this.short(4, 'i32');
    this.pos = p + 4;
    return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
  }
  f64(): number { if (this.end - this.pos < 8) this.short(8, 'f64'); const v = this.dv.getFloat64(this.pos, true); this.pos += 8; return v; }
  i64(): bigint { if (this.end - this.pos < 8) this.short(8, 'i64'); const v = this.dv.getBigInt64(this.pos, true); this.pos += 8; return v; }
  bytes(n: number): Uint8Array {
    if (this.end - this.pos < n) this.short(n, 'bytes');
    const b = this.src.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** n bytes copied into a fresh plain Uint8Array. */
  copy(n: number): Uint8Array {
    const p = this.pos;
    if (this.end - p < n) this.short(n, 'bytes');
    this.pos = p + n;
    const src = this.src;
    // slice() of a plain Uint8Array is one allocation and one copy; a Buffer's slice is a view.
    if (src.constructor === Uint8Array) return src.slice(p, p + n);
    const out = new Uint8Array(n);
    out.set(src.subarray(p, p + n));
    return out;
  }
  /**
   * A string. Short ASCII ones (object keys, paths: the same few arrive in
   * every message) come from strCache when they are there, which costs
   * less than decoding them and gives an already internalized string.
   */
  str(): string {
    const n = this.u32();
    const p = this.pos;
    if (this.end - p < n) this.short(n, 'bytes');
    if (n <= STR_CACHE_MAX && n > 0) {
      const b = this.src;
      let h = n;
      let ascii = 0;
      for (let i = 0; i < n; i++) {
        const c = b[p + i]!;
        ascii |= c;
        h = (Math.imul(h, 31) + c) | 0;
      }
      if (ascii < 0x80) {
        const slot = h & (STR_SLOTS - 1);
        const cached = strCache[slot]!;
        this.pos = p + n;
        if (cached.length === n) {
          let i = 0;
          while (i < n && cached.charCodeAt(i) === b[p + i]) i++;
          if (i === n) return cached;
        }
        // ASCII: a TextDecoder call costs more than this.
        const s = String.fromCharCode.apply(null, b.subarray(p, p + n) as unknown as number[]);
        strCache[slot] = s;
        return s;
      }
    }
    this.pos = p + n;
    try {
      return td.decode(this.src.subarray(p, p + n));
    } catch {
      throw new ProtocolError('EILSEQ', `string at offset ${p} is not valid UTF-8`);
    }
  }
  /** A T_STAT body (after its tag): the Stat, keys in vnodeStat's order. */
  stat(): Value {
    const p = this.pos;
    if (this.end - p < STAT_BODY) this.short(STAT_BODY, 'stat');
    this.pos = p + STAT_BODY;
    const d = this.dv;
    return {
      dev: d.getFloat64(p, true), ino: d.getFloat64(p + 8, true), mode: d.getFloat64(p + 16, true),
      nlink: d.getFloat64(p + 24, true), uid: d.getFloat64(p + 32, true), gid: d.getFloat64(p + 40, true),
      rdev: d.getFloat64(p + 48, true), size: d.getFloat64(p + 56, true), blksize: d.getFloat64(p + 64, true),
      blocks: d.getFloat64(p + 72, true),
      atime: { sec: d.getFloat64(p + 80, true), nsec: d.getFloat64(p + 88, true) },
      mtime: { sec: d.getFloat64(p + 96, true), nsec: d.getFloat64(p + 104, true) },
      ctime: { sec: d.getFloat64(p + 112, true), nsec: d.getFloat64(p + 120, true) },
    };
  }
}

/**
 * Decode one value. Byte arrays are copied out of the frame so a value
 * never aliases the receive buffer (the kernel may keep a buffer).
 */
export function readValue(r: Reader, depth = 0): Value {
  if (depth > MAX_DEPTH) throw new ProtocolError('EPROTO', `value nested deeper than ${MAX_DEPTH}`);
  const tag = r.u8();
  switch (tag) {
    case T_UNDEF: return undefined;
    case T_NULL: return null;
    case T_FALSE: return false;
    case T_TRUE: return true;
    case T_I32: return r.i32();
    case T_F64: return r.f64();
    case T_I64: return r.i64();
    case T_BIGSTR: {
      const s = r.str();
      if (!/^-?[0-9]{1,4096}$/.test(s)) throw new ProtocolError('EPROTO', `bad bigint text ${JSON.stringify(s.slice(0, 40))}`);
      return BigInt(s);
    }
    case T_STR: return r.str();
    case T_BYTES: {
      const n = r.u32();
      return r.copy(n); // a copy, and a plain Uint8Array even if the frame is a Buffer
    }
    case T_OUTBUF: return new OutBuf(r.u32());
    case T_INBUF: return new InBuf(r.u32());
    case T_STAT: return r.stat();
    case T_ARRAY: {
      const n = r.u32();
      // Every element takes at least one byte: a count larger than what is left is a lie.
      if (n > r.left) throw new ProtocolError('EPROTO', `array of ${n} elements in ${r.left} bytes`);
      const a: Value[] = new Array(n);
      for (let i = 0; i < n; i++) a[i] = readValue(r, depth + 1);
      return a;
    }
    case T_OBJECT: {
      const n = r.u32();
      if (n > r.left / 5) throw new ProtocolError('EPROTO', `object of ${n} fields in ${r.left} bytes`);
      const o: Record<string, Value> = {};
      for (let i = 0; i < n; i++) {
        const key = r.str();
        if (key === '__proto__') throw new ProtocolError('EPROTO', 'object key __proto__ is not allowed');
        o[key] = readValue(r, depth + 1);
      }
      return o;
    }
    default:
      throw new ProtocolError('EPROTO', `unknown value tag ${tag} at offset ${r.pos - 1}`);
  }
}

/** Decode exactly one value filling `bytes`. */
export function decodeValue(bytes: Uint8Array): Value {
  const r = new Reader(bytes);
  const v = readValue(r);
  if (r.left !== 0) throw new ProtocolError('EPROTO', `${r.left} stray bytes after a value`);
  return v;
}

/**
 * Decode a REPLY body `[result, outs]`, copying each returned buffer
 * straight from the frame into the caller's buffer (`targets[i]`), without
 * an intermediate copy. `outs` is null, or one entry per target: bytes (at
 * most the target's length) or a length (the bytes came in DATA frames).
 * Throws ProtocolError for anything else.
 */
export function decodeReplyInto(body: Uint8Array, targets: readonly Uint8Array[]): Value {
  return decodeReplyAt(body, 0, body.byteLength, targets, null);
}

/** decodeReplyInto over the range [start, end) of `src` (a frame's body in place); `dv` as for Reader. */
export function decodeReplyAt(src: Uint8Array, start: number, end: number, targets: readonly Uint8Array[], dv: DataView | null): Value {
  const r = new Reader(src, start, end, dv);
  if (r.u8() !== T_ARRAY || r.u32() !== 2) throw new ProtocolError('EPROTO', 'REPLY body is not [result, outs]');
  const result = readValue(r, 1);
  const tag = r.u8();
  if (tag === T_ARRAY) {
    const n = r.u32();
    if (n !== targets.length) throw new ProtocolError('EPROTO', `REPLY returns ${n} buffers for ${targets.length}`);
    for (let i = 0; i < n; i++) {
      const t = r.u8();
      if (t === T_BYTES) {
        const len = r.u32();
        const dst = targets[i]!;
        if (len > dst.byteLength) throw new ProtocolError('EPROTO', 'REPLY buffer larger than the request');
        dst.set(r.bytes(len));
      } else if (t === T_I32) r.i32();
      else if (t === T_F64) r.f64();
      else throw new ProtocolError('EPROTO', 'REPLY outs must be bytes or lengths');
    }
  } else if (tag !== T_NULL) throw new ProtocolError('EPROTO', 'REPLY outs must be an array or null');
  if (r.left !== 0) throw new ProtocolError('EPROTO', `${r.left} stray bytes after a REPLY`);
  return result;
}

// ---- message bodies -------------------------------------------------------------------

/** CALL body: u32 ctx, u16 syscall id (index in WELCOME's table), value args[]. */
export function emitCall(ctx: number, sysId: number, args: unknown[]): Uint8Array {
  const w = new Writer(64);
  w.u32(ctx);
  w.u16(sysId);
  writeValue(w, args);
  return w.done();
}

/** Patch the call id of a finished frame (the id is assigned when the call is sent). */
export function setFrameId(frame: Uint8Array, id: number): Uint8Array {
  frame[8] = id & 0xff;
  frame[9] = (id >>> 8) & 0xff;
  frame[10] = (id >>> 16) & 0xff;
  frame[11] = (id >>> 24) & 0xff;
  return frame;
}

/** A whole CALL frame (header included), built in one buffer. */
export function callFrame(id: number, ctx: number, sysId: number, args: unknown[]): Uint8Array {
  const w = new Writer(128, true);
  w.u32(ctx);
  w.u16(sysId);
  writeValue(w, args);
  return w.frame(FrameType.CALL, id);
}

export interface CallBody {
  ctx: number;
  sysId: number;
  args: Value[];
}

export function parseCall(body: Uint8Array, start = 0, end = body.byteLength): CallBody {
  const r = new Reader(body, start, end);
  const ctx = r.u32();
  const sysId = r.u16();
  const args = readValue(r);
  if (r.left !== 0) throw new ProtocolError('EPROTO', `${r.left} stray bytes after CALL arguments`);
  if (!Array.isArray(args)) throw new ProtocolError('EPROTO', 'CALL arguments are not an array');
  return { ctx, sysId, args };
}

// ---- zod schemas -------------------------------------------------------------------------

const u8a = z.instanceof(Uint8Array);
/** Any number the codec carries: zod 4's z.number() refuses ±Infinity and NaN, which f64 values may be. */
const anyNumber = z.custom<number>((v) => typeof v === 'number');
/** Any value the codec can produce, checked recursively. */
export const valueSchema: z.ZodType<Value> = z.lazy(() =>
  z.union([
    z.undefined(), z.null(), z.boolean(), anyNumber, z.bigint(), z.string(), u8a,
    z.array(valueSchema), z.record(z.string(), valueSchema),
  ]),
) as z.ZodType<Value>;

const credId = z.number().int().min(0).max(0xfffffffe);

export const helloSchema = z.object({
  version: z.literal(PROTO_VERSION),
  token: z.string().max(4096).optional(),
  uid: credId.optional(),
  gid: credId.optional(),
  groups: z.array(credId).max(65536).optional(),
  comm: z.string().max(64).optional(),
  /** A FORK ticket: become that forked process instead of a new one. */
  attach: z.string().regex(/^[0-9a-f]{32}$/).optional(),
}).strict();
export type Hello = z.infer<typeof helloSchema>;

export const welcomeSchema = z.object({
  version: z.literal(PROTO_VERSION),
  server: z.string(),
  pid: z.number().int(),
  syscalls: z.array(z.tuple([z.string(), z.number().int(), z.array(z.string())])),
  limits: z.object({
    maxFrame: z.number().int().positive(),
    chunk: z.number().int().positive(),
    inline: z.number().int().nonnegative(),
    maxTransfer: z.number().int().positive(),
    maxStaged: z.number().int().positive(),
    maxInFlight: z.number().int().positive(),
    maxFds: z.number().int().positive(),
    maxProcs: z.number().int().positive(),
  }),
});
export type Welcome = z.infer<typeof welcomeSchema>;

export const forkSchema = z.object({ ctx: z.number().int().nonnegative() }).strict();
export const exitSchema = z.object({ ctx: z.number().int().nonnegative(), status: z.number().int().min(0).max(255) }).strict();
export const errorSchema = z.object({
  errno: z.number().int().positive(),
  syscall: z.string(),
  path: z.string().optional(),
  dest: z.string().optional(),
});
export const fatalSchema = z.object({ code: z.string(), message: z.string() });

/** One zod schema per arg kind (after OutBuf/InBuf placeholders became buffers). */
// zod's .int() means *safe* integer; the syscall table's int/uint/fd accept any integer (as syscall.ts checks).
const anyInt = z.number().refine(Number.isInteger);
const KIND_SCHEMAS: Record<ArgKind, z.ZodType> = {
  int: anyInt,
  uint: anyInt.refine((n) => n >= 0),
  fd: anyInt,
  off: z.union([z.number().int(), z.bigint()]),
  path: z.union([z.string(), u8a]),
  str: z.string(),
  buf: u8a,
  bufs: z.array(u8a).max(1024),
  ints: z.array(anyInt).max(65536),
  obj: z.record(z.string(), valueSchema),
  any: valueSchema,
};

/** The errno library mode answers for an argument of the wrong type (syscall.ts's checker). */
function kindErrno(kind: ArgKind): number {
  switch (kind) {
    case 'fd': return 9; // EBADF
    case 'path': case 'str': case 'buf': case 'bufs': case 'obj': return 14; // EFAULT
    default: return 22; // EINVAL
  }
}

export interface ArgsValidator {
  /** 0 when the arguments fit, else the errno library mode would answer. */
  (args: unknown[]): number;
}

/**
 * Derive a validator from a syscall's declared argument kinds. A wrongly
 * typed argument is an expected failure (the same errno `k.sys` gives), not a
 * protocol error: the frame itself was well-formed.
 */
export function argsValidator(specs: readonly ArgSpec[]): ArgsValidator {
  const parts = specs.map((s) => {
    const opt = s.endsWith('?');
    const kind = (opt ? s.slice(0, -1) : s) as ArgKind;
    return { kind, optional: opt, schema: opt ? KIND_SCHEMAS[kind].optional() : KIND_SCHEMAS[kind] };
  });
  return (args) => {
    if (args.length > parts.length) return 22;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (args[i] === undefined && !p.optional) return p.kind === 'fd' ? 9 : p.kind === 'buf' || p.kind === 'path' ? 14 : 22;
      if (!p.schema.safeParse(args[i]).success) return kindErrno(p.kind);
    }
    return 0;
  };
}

// ---- buffer direction ----------------------------------------------------------------------

/**
 * Which 'buf'/'bufs' arguments the kernel fills (out) or only reads (in).
 * The syscall table does not record direction, so it is listed here; a
 * buffer argument of a call not listed is treated as in-out (its bytes go to
 * the server and come back), which is always correct, just slower.
 */
const OUT_ARGS: Record<string, number[]> = {
  read: [1], pread: [1], readv: [1], preadv: [1], getrandom: [0],
  recv: [1], recvfrom: [1], recvmsg: [1], readlink: [1], readlinkat: [2], getdents64: [1],
};
const IN_ARGS: Record<string, number[]> = {
  write: [1], pwrite: [1], writev: [1], pwritev: [1], send: [1], sendto: [1], sendmsg: [1],
};

export type BufDir = 'in' | 'out' | 'inout';

export function bufDirection(name: string, argIndex: number, kind?: string): BufDir {
  if (OUT_ARGS[name]?.includes(argIndex)) return 'out';
  if (IN_ARGS[name]?.includes(argIndex)) return 'in';
  // Path bytes are only read; an 'any' argument given bytes (ioctl) may be filled.
  if (kind !== undefined && kind.startsWith('path')) return 'in';
  return 'inout';
}

/**
 * How many bytes of the out-buffers to send back: the call's byte count when
 * it returns one (read, pread, readv...), else all of them.
 */
export function outBytesUsed(result: unknown, total: number): number {
  return typeof result === 'number' && Number.isInteger(result) && result >= 0 && result <= total ? result : total;
}
