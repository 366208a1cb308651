/**
 * The sysproxy value codec: a small tagged binary format (a CBOR-like
 * subset) for system-call arguments and results. Data buffers travel as raw
 * bytes; an out-buffer (the kernel fills it: read, pread, readv, getrandom...)
 * travels as its length only (`OutBuf`); a large in-buffer travels as its
 * length (`InBuf`) followed by DATA frames. A Stat travels as a fixed 128-byte
 * body. `decodeValue` returns a value or throws `ProtocolError`, with bounded
 * work per byte (no recursion deeper than MAX_DEPTH, counts checked against
 * the bytes that remain).
 *
 * Host-side code: it uses node's Buffer for pooled allocation (a browser
 * host would swap in a Uint8Array writer).
 *
 * Not supported: values other than undefined, null, booleans, numbers,
 * bigints, strings, Uint8Array, arrays and plain objects (functions, Maps,
 * class instances lose their prototype and arrive as plain objects).
 */
import type { Stat } from '../../kern/index.ts';
import { ProtocolError, u32At, Writer } from './frame.ts';

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
/**
 * Array elements and object fields one decoded value may hold, all levels
 * together. The largest legitimate argument is a poll(2) array at
 * RLIMIT_NOFILE's hard ceiling of pollfds (3 fields each) or a setgroups(2)
 * list of NGROUPS_MAX ids; 2^18 covers 65536 pollfds. Without it, a 4 MiB
 * frame of nulls would decode into four million array slots.
 */
export const MAX_ELEMENTS = 1 << 18;

const td = new TextDecoder('utf-8', { fatal: true });

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
  /** Array elements and object fields still allowed in this value (MAX_ELEMENTS). */
  elems = MAX_ELEMENTS;

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
      if ((r.elems -= n) < 0) throw new ProtocolError('E2BIG', `value holds more than ${MAX_ELEMENTS} array elements and object fields`);
      const a: Value[] = new Array(n);
      for (let i = 0; i < n; i++) a[i] = readValue(r, depth + 1);
      return a;
    }
    case T_OBJECT: {
      const n = r.u32();
      if (n > r.left / 5) throw new ProtocolError('EPROTO', `object of ${n} fields in ${r.left} bytes`);
      if ((r.elems -= n) < 0) throw new ProtocolError('E2BIG', `value holds more than ${MAX_ELEMENTS} array elements and object fields`);
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
