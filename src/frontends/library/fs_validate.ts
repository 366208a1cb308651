/**
 * Argument validation for `anykernel/fs` (fs.ts), with node:fs's error codes
 * and messages (Node's lib/internal/validators.js, lib/internal/errors.js and
 * lib/internal/fs/utils.js define them): ERR_INVALID_ARG_TYPE,
 * ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE. Every check here runs at the call
 * site, before any system call, so a bad argument throws synchronously from
 * the callback and sync faces (and rejects from `fs.promises`) exactly as
 * node:fs does, never reaching the kernel.
 */
import { Buffer } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';

type CodedError<E extends Error> = E & { code: string };

function coded<E extends Error>(e: E, code: string): CodedError<E> {
  // Node's internal errors: the name shows the code in stack traces, `code` is own and enumerable.
  const c = e as CodedError<E>;
  c.code = code;
  Object.defineProperty(c, 'name', { value: e.name, enumerable: false, writable: true, configurable: true });
  c.stack = `${e.name} [${code}]: ${e.message}${(e.stack ?? '').slice((e.stack ?? '').indexOf('\n'))}`;
  return c;
}

const K_TYPES = ['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol'];
const CLASS_RE = /^([A-Z][a-z0-9]*)+$/;

/** lib/internal/errors.js determineSpecificType: how "Received ..." describes a value. */
export function describeReceived(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'function' && v.name !== '') return `function ${v.name}`;
  if (typeof v === 'object') {
    const ctor = (v as { constructor?: { name?: string } }).constructor;
    if (ctor?.name !== undefined && ctor.name !== '') return `an instance of ${ctor.name}`;
    return inspect(v, { depth: -1 });
  }
  let s = inspect(v, { colors: false });
  if (s.length > 28) s = `${s.slice(0, 25)}...`;
  return `type ${typeof v} (${s})`;
}

function joinTypes(expected: readonly string[]): string {
  const types: string[] = [];
  const instances: string[] = [];
  const other: string[] = [];
  for (const v of expected) {
    if (K_TYPES.includes(v)) types.push(v.toLowerCase());
    else if (CLASS_RE.test(v)) instances.push(v);
    else other.push(v);
  }
  if (instances.length > 0) {
    const pos = types.indexOf('object');
    if (pos !== -1) {
      types.splice(pos, 1);
      instances.push('Object');
    }
  }
  let msg = '';
  if (types.length > 0) {
    if (types.length > 2) msg += `one of type ${types.slice(0, -1).join(', ')}, or ${types[types.length - 1]}`;
    else if (types.length === 2) msg += `one of type ${types[0]} or ${types[1]}`;
    else msg += `of type ${types[0]}`;
    if (instances.length > 0 || other.length > 0) msg += ' or ';
  }
  if (instances.length > 0) {
    if (instances.length > 2) msg += `an instance of ${instances.slice(0, -1).join(', ')}, or ${instances[instances.length - 1]}`;
    else msg += `an instance of ${instances[0]}${instances.length === 2 ? ` or ${instances[1]}` : ''}`;
    if (other.length > 0) msg += ' or ';
  }
  if (other.length > 0) {
    if (other.length > 2) msg += `one of ${other.slice(0, -1).join(', ')}, or ${other[other.length - 1]}`;
    else if (other.length === 2) msg += `one of ${other[0]} or ${other[1]}`;
    else msg += `${other[0]!.toLowerCase() !== other[0] ? 'an ' : ''}${other[0]}`;
  }
  return msg;
}

/** ERR_INVALID_ARG_TYPE (a TypeError). */
export function errArgType(name: string, expected: string | readonly string[], actual: unknown): CodedError<TypeError> {
  const what = name.endsWith(' argument') ? name : `"${name}" ${name.includes('.') ? 'property' : 'argument'}`;
  const list = typeof expected === 'string' ? [expected] : expected;
  return coded(new TypeError(`The ${what} must be ${joinTypes(list)}. Received ${describeReceived(actual)}`), 'ERR_INVALID_ARG_TYPE');
}

/** ERR_INVALID_ARG_VALUE (a TypeError). */
export function errArgValue(name: string, value: unknown, reason = 'is invalid'): CodedError<TypeError> {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  const type = name.includes('.') ? 'property' : 'argument';
  return coded(new TypeError(`The ${type} '${name}' ${reason}. Received ${shown}`), 'ERR_INVALID_ARG_VALUE');
}

function addSeparators(s: string): string {
  let res = '';
  let i = s.length;
  const start = s[0] === '-' ? 1 : 0;
  for (; i >= start + 4; i -= 3) res = `_${s.slice(i - 3, i)}${res}`;
  return `${s.slice(0, i)}${res}`;
}

/** ERR_OUT_OF_RANGE (a RangeError). */
export function errRange(name: string, range: string, input: unknown): CodedError<RangeError> {
  let received: string;
  if (typeof input === 'number' && Number.isInteger(input) && Math.abs(input) > 2 ** 32) received = addSeparators(String(input));
  else if (typeof input === 'bigint') received = `${input > 2n ** 32n || input < -(2n ** 32n) ? addSeparators(String(input)) : String(input)}n`;
  else received = inspect(input);
  return coded(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${received}`), 'ERR_OUT_OF_RANGE');
}

/** A Node-style error with only a code (ERR_FS_EISDIR, ERR_METHOD_NOT_IMPLEMENTED ...). */
export function errCode<E extends Error>(e: E, code: string): CodedError<E> {
  return coded(e, code);
}

// ---- validators ---------------------------------------------------------------------------

export function validateFunction(v: unknown, name: string): asserts v is (...a: unknown[]) => unknown {
  if (typeof v !== 'function') throw errArgType(name, 'Function', v);
}

export function validateBoolean(v: unknown, name: string): asserts v is boolean {
  if (typeof v !== 'boolean') throw errArgType(name, 'boolean', v);
}

export function validateString(v: unknown, name: string): asserts v is string {
  if (typeof v !== 'string') throw errArgType(name, 'string', v);
}

export function validateObject(v: unknown, name: string, nullable = false): void {
  if ((!nullable && v === null) || (v !== null && (typeof v !== 'object' || Array.isArray(v)))) throw errArgType(name, 'Object', v);
}

export function validateInteger(v: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): asserts v is number {
  if (typeof v !== 'number') throw errArgType(name, 'number', v);
  if (!Number.isInteger(v)) throw errRange(name, 'an integer', v);
  if (v < min || v > max) throw errRange(name, `>= ${min} && <= ${max}`, v);
}

export function validateInt32(v: unknown, name: string, min = -2147483648, max = 2147483647): asserts v is number {
  if (typeof v !== 'number') throw errArgType(name, 'number', v);
  if (!Number.isInteger(v)) throw errRange(name, 'an integer', v);
  if (v < min || v > max) throw errRange(name, `>= ${min} && <= ${max}`, v);
}

export function validateUint32(v: unknown, name: string, positive = false): asserts v is number {
  if (typeof v !== 'number') throw errArgType(name, 'number', v);
  if (!Number.isInteger(v)) throw errRange(name, 'an integer', v);
  const min = positive ? 1 : 0;
  if (v < min || v > 4294967295) throw errRange(name, `>= ${min} && <= 4294967295`, v);
}

/** lib/internal/fs/utils.js getValidatedFd. */
export function validFd(fd: unknown, name = 'fd'): number {
  if (Object.is(fd, -0)) return 0;
  validateInt32(fd, name, 0);
  return fd;
}

export function validateBuffer(v: unknown, name = 'buffer'): asserts v is ArrayBufferView {
  if (!ArrayBuffer.isView(v)) throw errArgType(name, ['Buffer', 'TypedArray', 'DataView'], v);
}

/** Node's isURL: a WHATWG URL (or lookalike) with href and protocol. */
function isUrl(v: unknown): v is URL {
  const u = v as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown } | null;
  return u !== null && typeof u === 'object' && Boolean(u.href) && Boolean(u.protocol) && u.auth === undefined && u.path === undefined;
}

/**
 * getValidatedPath: a string, a Buffer/Uint8Array (bytes as the kernel takes
 * them), or a file: URL; no NUL byte anywhere. Returns what the kernel gets.
 */
export function validPath(p: unknown, name = 'path'): string | Uint8Array {
  const v = isUrl(p) ? fileURLToPath(p) : p;
  if (typeof v !== 'string' && !(v instanceof Uint8Array)) throw errArgType(name, ['string', 'Buffer', 'URL'], v);
  if (typeof v === 'string' ? v.includes('\u0000') : v.includes(0)) {
    throw errArgValue(name, v, 'must be a string, Uint8Array, or URL without null bytes');
  }
  return v;
}

/** A validated path as text (for error messages and userland path walks). */
export function pathText(p: string | Uint8Array): string {
  return typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8');
}

const MODE_DESC = 'must be a 32-bit unsigned integer or an octal string';

/** parseFileMode: a number, or an octal string. */
export function validMode(v: unknown, name: string, def?: number): number {
  let m = v ?? def;
  if (typeof m === 'string') {
    if (!/^[0-7]+$/.test(m)) throw errArgValue(name, m, MODE_DESC);
    m = parseInt(m, 8);
  }
  validateUint32(m, name);
  return m;
}

/** assertEncoding. */
export function validEncoding(enc: unknown): void {
  if (enc !== undefined && enc !== null && enc !== 'buffer' && (typeof enc !== 'string' || !Buffer.isEncoding(enc))) {
    throw errArgValue('encoding', enc, 'is invalid encoding');
  }
}

/** getOptions: undefined/null/function → defaults, a string → { encoding }, else an object. */
export function getOptions<T extends object>(o: unknown, defaults: T): T & { encoding?: BufferEncoding | 'buffer' | null; signal?: AbortSignal } {
  if (o === null || o === undefined || typeof o === 'function') return defaults as T & { encoding?: BufferEncoding | null };
  let r: Record<string, unknown>;
  if (typeof o === 'string') r = { ...defaults, encoding: o };
  else if (typeof o !== 'object') throw errArgType('options', ['string', 'Object'], o);
  else r = o as Record<string, unknown>;
  if (r['encoding'] !== 'buffer') validEncoding(r['encoding']);
  if (r['signal'] !== undefined) validateAbortSignal(r['signal'], 'options.signal');
  return r as T & { encoding?: BufferEncoding | null };
}

export function validateAbortSignal(s: unknown, name: string): void {
  if (s !== undefined && (s === null || typeof s !== 'object' || !('aborted' in s))) throw errArgType(name, 'AbortSignal', s);
}

/** The AbortError node:fs rejects with when `signal` fires. */
export function abortError(signal?: AbortSignal): Error {
  const e = new Error('The operation was aborted', signal?.reason !== undefined ? { cause: signal.reason } : undefined) as CodedError<Error>;
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

/** validateOffsetLengthRead. */
export function validateOffsetLengthRead(offset: number, length: number, bufferLength: number): void {
  if (offset < 0) throw errRange('offset', '>= 0', offset);
  if (length < 0) throw errRange('length', '>= 0', length);
  if (offset + length > bufferLength) throw errRange('length', `<= ${bufferLength - offset}`, length);
}

/** validateOffsetLengthWrite. */
export function validateOffsetLengthWrite(offset: number, length: number, byteLength: number): void {
  if (offset > byteLength) throw errRange('offset', `<= ${byteLength}`, offset);
  if (length > byteLength - offset) throw errRange('length', `<= ${byteLength - offset}`, length);
  if (length < 0) throw errRange('length', '>= 0', length);
  validateInt32(length, 'length', 0);
}

/** validatePosition: -1/null for "current position", else a non-negative integer or bigint. */
export function validatePosition(p: unknown, name: string, length: number): void {
  if (typeof p === 'number') validateInteger(p, name, -1);
  else if (typeof p === 'bigint') {
    const max = 2n ** 63n - 1n - BigInt(length);
    if (!(p >= -1n && p <= max)) throw errRange(name, `>= -1 && <= ${max}`, p);
  } else throw errArgType(name, ['integer', 'bigint'], p);
}

/** toUnixTimestamp: seconds from a number, numeric string or Date. */
export function toUnixTimestamp(t: unknown, name = 'time'): number {
  if (typeof t === 'string' && +t == (t as unknown as number)) return +t; // eslint-disable-line eqeqeq
  if (typeof t === 'number' && Number.isFinite(t)) return t < 0 ? Date.now() / 1000 : t;
  if (t instanceof Date) return t.getTime() / 1000;
  throw errArgType(name, ['Date', 'Time in seconds'], t);
}
