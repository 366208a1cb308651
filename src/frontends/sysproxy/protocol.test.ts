/**
 * Protocol tests: the value codec and frame layer round-trip (property
 * tests against structural equality), the parsers refuse every malformed
 * input with a ProtocolError and never anything else, and the zod validators
 * derived from arg kinds agree with a simple model of the kinds.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FrameReader, FrameType, HEADER_SIZE, MAX_TYPE, InBuf, OutBuf, PROTO_VERSION, ProtocolError, argsValidator, callFrame,
  decodeReplyAt, decodeReplyInto, decodeValue, emitFrame, encodeValue, parseCall, parseFrame, bufDirection, outBytesUsed, Writer, writeReply,
  writeStat, emitBufUses, parseBufUses, type BufUses, type Value,
} from './protocol.ts';
import { defineSyscall, kernSyscalls } from '../../kern/index.ts';
import { SyscallTable } from '../../kern/syscall.ts';

/** Codec values, including the kinds the syscall table declares. */
const valueArb: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(undefined), fc.constant(null), fc.boolean(),
    fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    fc.double(), // NaN, ±Infinity, -0 included
    fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.uint8Array({ maxLength: 64 }),
    fc.nat({ max: 1 << 30 }).map((n) => new OutBuf(n)),
    fc.nat({ max: 1 << 30 }).map((n) => new InBuf(n)),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 5, noNullPrototype: true }),
  ),
})).v;

describe('value codec', () => {
  it('object keys decode right through the string cache, colliding or not (ASCII, non-ASCII, long)', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `k${i}` : i % 3 === 1 ? `é${i}` : `${'x'.repeat(30)}${i}`));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < keys.length; i += 7) {
        const o = Object.fromEntries(keys.slice(i, i + 7).map((k, j) => [k, j]));
        expect(decodeValue(encodeValue(o))).toStrictEqual(o);
      }
    }
  });

  it('decode(encode(v)) equals v for every value', () => {
    fc.assert(fc.property(valueArb, (v) => {
      expect(decodeValue(encodeValue(v))).toStrictEqual(v);
    }), { numRuns: 500 });
  });

  it('keeps -0, NaN, Infinity and 64-bit-plus bigints exact', () => {
    for (const v of [-0, NaN, Infinity, -Infinity, 2 ** 53 + 2, -(2n ** 63n), 2n ** 63n, 12345678901234567890123n]) {
      expect(Object.is(decodeValue(encodeValue(v)), v) || decodeValue(encodeValue(v)) === v).toBe(true);
    }
  });

  it('decoded byte arrays do not alias the frame', () => {
    const enc = encodeValue(new Uint8Array([1, 2, 3]));
    const dec = decodeValue(enc) as Uint8Array;
    enc.fill(0);
    expect([...dec]).toEqual([1, 2, 3]);
  });

  it('random bytes decode to a value or a ProtocolError, never anything else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      try {
        decodeValue(b);
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
      }
    }), { numRuns: 2000 });
  });

  it('every truncation of a valid encoding is refused', () => {
    fc.assert(fc.property(valueArb, (v) => {
      const enc = encodeValue(v);
      for (let n = 0; n < enc.byteLength; n++) expect(() => decodeValue(enc.subarray(0, n))).toThrow(ProtocolError);
    }), { numRuns: 200 });
  });

  it('refuses lying counts, deep nesting, bad UTF-8 and __proto__ keys cheaply', () => {
    const lying = new Uint8Array([10, 0xff, 0xff, 0xff, 0x7f]); // array of 2^31 elements in 0 bytes
    expect(() => decodeValue(lying)).toThrow(/elements/);
    const deep = new Uint8Array(200).fill(10);
    for (let i = 0; i < 40; i++) { deep[i * 5] = 10; deep.set([1, 0, 0, 0], i * 5 + 1); }
    expect(() => decodeValue(deep)).toThrow(ProtocolError);
    expect(() => decodeValue(new Uint8Array([8, 2, 0, 0, 0, 0xc3, 0x28]))).toThrow(/UTF-8/);
    const proto = encodeValue({ ['__proto__x']: 1 });
    proto.set(new TextEncoder().encode('__proto__\0'), 9);
    // An own "__proto__" key: the encoder refuses it (EINVAL), the decoder too (bytes patched in).
    expect(() => encodeValue(JSON.parse('{"__proto__": 1}'))).toThrow(/__proto__/);
    const withProto = encodeValue({ __proto_x: 1 });
    withProto.set(new TextEncoder().encode('__proto__'), 9);
    expect(() => decodeValue(withProto)).toThrow(/__proto__/);
  });
});

describe('decodeReplyInto', () => {
  it('returns the result and copies each returned buffer into its target, like decodeValue + set', () => {
    fc.assert(fc.property(valueArb, fc.array(fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.nat({ max: 8 }), fc.boolean()), { maxLength: 4 }), (result, bufs) => {
      const targets = bufs.map(([b, extra]) => new Uint8Array(b.byteLength + extra).fill(0xee));
      const outs = bufs.map(([b, , asLength]) => (asLength ? b.byteLength : b));
      const got = decodeReplyInto(encodeValue([result, bufs.length === 0 ? null : outs]), targets);
      expect(got).toStrictEqual(decodeValue(encodeValue(result)));
      bufs.forEach(([b, extra, asLength], i) => {
        const want = new Uint8Array(b.byteLength + extra).fill(0xee);
        if (!asLength) want.set(b);
        expect([...targets[i]!]).toEqual([...want]);
      });
    }));
  });

  it('refuses a wrong shape, a buffer count mismatch, a buffer larger than its target, stray bytes', () => {
    const t = [new Uint8Array(2)];
    for (const body of [
      encodeValue([1]), encodeValue({ a: 1 }), encodeValue([1, [new Uint8Array(1)]]) /* 1 out, 0 targets */,
      encodeValue([1, 'x']), encodeValue([1, ['x']]),
    ]) expect(() => decodeReplyInto(body, [])).toThrow(ProtocolError);
    expect(() => decodeReplyInto(encodeValue([1, [new Uint8Array(3)]]), t)).toThrow(/larger/);
    expect(() => decodeReplyInto(encodeValue([1, []]), t)).toThrow(/buffers/);
    const stray = new Uint8Array([...encodeValue([1, null]), 0]);
    expect(() => decodeReplyInto(stray, [])).toThrow(/stray/);
  });
});

describe('T_STAT (a struct stat without its keys)', () => {
  const T_STAT = 14;
  const num = fc.oneof(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.double(), fc.constantFrom(2 ** 53 - 1, -(2 ** 53), 2 ** 32, -1, -0));
  const timeArb = fc.tuple(num, num).map(([sec, nsec]) => ({ sec, nsec }));
  /** A Stat built as vfs_vnops.ts's vnodeStat builds it (same key order), with any numbers. */
  const statArb = fc.tuple(fc.array(num, { minLength: 10, maxLength: 10 }), timeArb, timeArb, timeArb).map(([n, atime, mtime, ctime]) => ({
    dev: n[0]!, ino: n[1]!, mode: n[2]!, nlink: n[3]!, uid: n[4]!, gid: n[5]!, rdev: n[6]!, size: n[7]!, blksize: n[8]!, blocks: n[9]!,
    atime, mtime, ctime,
  }));
  const reply = (v: unknown, outs: unknown = null): Uint8Array => {
    const w = new Writer(16);
    writeReply(w, v, outs, true);
    return w.done();
  };
  /** Every number in order, to compare with Object.is (-0 and NaN exactly). */
  const flat = (s: Record<string, unknown>): unknown[] => Object.entries(s).flatMap(([k, v]) => (typeof v === 'object' && v !== null ? Object.entries(v).map(([k2, x]) => [`${k}.${k2}`, x]) : [[k, v]]));

  it('a Stat-shaped result travels as T_STAT and decodes to the same value, keys in the same order', () => {
    fc.assert(fc.property(statArb, (s) => {
      const enc = reply(s);
      expect(enc[5]).toBe(T_STAT); // after the [result, outs] array header
      expect(enc.byteLength).toBe(5 + 1 + 128 + 1);
      const got = decodeReplyInto(enc, []) as Record<string, unknown>;
      expect(got).toStrictEqual(s);
      const a = flat(got), b = flat(s);
      expect(a.length).toBe(b.length);
      a.forEach((e, i) => {
        expect((e as unknown[])[0]).toBe((b[i] as unknown[])[0]);
        expect(Object.is((e as unknown[])[1], (b[i] as unknown[])[1])).toBe(true);
      });
    }), { numRuns: 500 });
  });

  it('anything not exactly Stat-shaped takes the generic encoding and round-trips', () => {
    const mutations: ((s: Record<string, unknown>) => unknown)[] = [
      (s) => ({ ...s, extra: 1 }),
      (s) => { const c = { ...s }; delete c.blocks; return c; },
      (s) => { const { dev, ...rest } = s; return { ...rest, dev }; }, // dev last: another key order
      (s) => ({ ...s, ino: 5n }),
      (s) => ({ ...s, size: '1' }),
      (s) => ({ ...s, mode: undefined }),
      (s) => ({ ...s, atime: { sec: 1, nsec: 2, x: 3 } }),
      (s) => ({ ...s, mtime: { nsec: 2, sec: 1 } }),
      (s) => ({ ...s, ctime: { sec: 1 } }),
      (s) => ({ ...s, ctime: { sec: 1, nsec: 2n } }),
      (s) => ({ ...s, atime: null }),
      (s) => ({ ...s, atime: [1, 2] }),
      (s) => ({ ...s, mtime: new Uint8Array(2) }),
      (s) => Object.assign(Object.create(null), s),
      (s) => Object.assign(new (class Stat {})(), s),
      (s) => [s],
    ];
    fc.assert(fc.property(statArb, fc.nat({ max: mutations.length - 1 }), (s, m) => {
      const v = mutations[m]!(s);
      const enc = reply(v);
      expect(enc[5]).not.toBe(T_STAT);
      expect(decodeReplyInto(enc, [])).toStrictEqual(decodeValue(encodeValue(v)));
    }), { numRuns: 300 });
  });

  it('with the hint, any value still decodes as it would without it', () => {
    fc.assert(fc.property(valueArb, (v) => {
      expect(decodeReplyInto(reply(v), [])).toStrictEqual(decodeValue(encodeValue(v)));
    }), { numRuns: 300 });
  });

  it('writeStat writes nothing for a non-Stat', () => {
    const w = new Writer(16);
    expect(writeStat(w, { a: 1 })).toBe(false);
    expect(writeStat(w, null)).toBe(false);
    expect(writeStat(w, 3)).toBe(false);
    expect(w.pos).toBe(0);
  });

  it('every truncation of a T_STAT body is refused with ProtocolError; so are stray bytes after it', () => {
    fc.assert(fc.property(statArb, (s) => {
      const w = new Writer(16);
      expect(writeStat(w, s)).toBe(true);
      const enc = w.done();
      expect(decodeValue(enc)).toStrictEqual(s);
      for (let n = 0; n < enc.byteLength; n++) expect(() => decodeValue(enc.subarray(0, n))).toThrow(ProtocolError);
      expect(() => decodeValue(new Uint8Array([...enc, 0]))).toThrow(/stray/);
      const r = reply(s);
      for (let n = 0; n < r.byteLength; n++) expect(() => decodeReplyInto(r.subarray(0, n), [])).toThrow(ProtocolError);
    }), { numRuns: 50 });
  });
});

describe('frames', () => {
  const frameArb = fc.record({
    type: fc.constantFrom(...Object.values(FrameType)),
    id: fc.nat({ max: 0xffffffff }),
    body: fc.uint8Array({ maxLength: 300 }),
  });

  it('parseFrame(emitFrame(f)) round-trips', () => {
    fc.assert(fc.property(frameArb, ({ type, id, body }) => {
      const f = parseFrame(emitFrame(type, id, body), 1 << 20);
      expect(f.type).toBe(type);
      expect(f.id).toBe(id);
      expect([...f.body]).toEqual([...body]);
    }));
  });

  it('FrameReader reassembles frames from any split of the stream', () => {
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat({ max: 400 }), { maxLength: 20 }), (frames, cuts) => {
      const stream = Buffer.concat(frames.map((f) => emitFrame(f.type, f.id, f.body)));
      const points = [...new Set(cuts.map((c) => Math.min(c * 3, stream.byteLength)))].sort((a, b) => a - b);
      const r = new FrameReader(1 << 20);
      const got = [];
      let prev = 0;
      for (const p of [...points, stream.byteLength]) {
        got.push(...r.push(new Uint8Array(stream.subarray(prev, p))));
        prev = p;
      }
      expect(got.map((f) => [f.type, f.id, [...f.body]])).toEqual(frames.map((f) => [f.type, f.id, [...f.body]]));
      expect(r.pending).toBe(0);
    }));
  });

  it('FrameReader reassembles frames read into one reused buffer (transient, first n bytes), whatever follows them', () => {
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat({ max: 400 }), { maxLength: 20 }), fc.uint8Array({ minLength: 1, maxLength: 1 }), (frames, cuts, [junk]) => {
      const stream = Buffer.concat(frames.map((f) => emitFrame(f.type, f.id, f.body)));
      const points = [...new Set(cuts.map((c) => Math.min(c * 3, stream.byteLength)))].sort((a, b) => a - b);
      const r = new FrameReader(1 << 20);
      const rx = new Uint8Array(stream.byteLength + 16);
      const got = [];
      let prev = 0;
      for (const p of [...points, stream.byteLength]) {
        rx.fill(junk!); // what the previous read left, and bytes past this read
        rx.set(stream.subarray(prev, p));
        // Frames returned view rx and must be consumed before it is refilled.
        got.push(...r.push(rx, true, p - prev).map((f) => [f.type, f.id, [...f.body]]));
        prev = p;
      }
      expect(got).toEqual(frames.map((f) => [f.type, f.id, [...f.body]]));
      expect(r.pending).toBe(0);
    }));
  });

  it('FrameReader refuses a length prefix shorter than the header, whole or split', () => {
    const bad = new Uint8Array([4, 0, 0, 0, PROTO_VERSION, FrameType.CALL, 0, 0]);
    expect(() => new FrameReader(1024).push(bad)).toThrow(ProtocolError);
    const r = new FrameReader(1024);
    expect(r.push(bad.subarray(0, 2))).toEqual([]);
    expect(() => r.push(bad.subarray(2))).toThrow(ProtocolError);
  });

  it('frame types are 1..MAX_TYPE without gaps', () => {
    expect(Object.values(FrameType).sort((a, b) => a - b)).toEqual(Array.from({ length: MAX_TYPE }, (_, i) => i + 1));
  });

  it('refuses an oversized frame from its length prefix alone', () => {
    const r = new FrameReader(1024);
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, 1 << 30, true);
    expect(() => r.push(head)).toThrow(/exceeds the limit/);
  });

  it('refuses a wrong version, an unknown type and a short header', () => {
    const f = emitFrame(FrameType.CALL, 1, new Uint8Array(0));
    const v2 = f.slice(); v2[4] = PROTO_VERSION + 1;
    expect(() => parseFrame(v2, 1 << 20)).toThrow(/version/);
    const t = f.slice(); t[5] = 200;
    expect(() => parseFrame(t, 1 << 20)).toThrow(/unknown frame type/);
    expect(() => parseFrame(f.subarray(0, HEADER_SIZE - 1), 1 << 20)).toThrow(/truncated/);
  });

  it('a frame filling the first n bytes of a larger buffer parses in place; n past the buffer is refused', () => {
    fc.assert(fc.property(frameArb, fc.uint8Array({ maxLength: 40 }), ({ type, id, body }, junk) => {
      const f = emitFrame(type, id, body);
      const area = new Uint8Array(f.byteLength + junk.byteLength);
      area.set(f);
      area.set(junk, f.byteLength);
      const got = parseFrame(area, 1 << 20, f.byteLength);
      expect([got.type, got.id]).toEqual([type, id]);
      expect(got.src).toBe(area); // not a copy
      expect([...area.subarray(got.start, got.end)]).toEqual([...body]);
      expect(() => parseFrame(f, 1 << 20, f.byteLength + 1)).toThrow(ProtocolError);
      if (junk.byteLength > 0) expect(() => parseFrame(area, 1 << 20, f.byteLength + 1)).toThrow(/length field/);
    }));
  });

  it('a REPLY decodes in place from a range of a larger buffer, whatever bytes surround it', () => {
    fc.assert(fc.property(valueArb, fc.uint8Array({ maxLength: 30 }), fc.uint8Array({ maxLength: 30 }), (v, before, after) => {
      const body = encodeValue([v, null]);
      const area = new Uint8Array(before.byteLength + body.byteLength + after.byteLength);
      area.set(before);
      area.set(body, before.byteLength);
      area.set(after, before.byteLength + body.byteLength);
      const dv = new DataView(area.buffer);
      const got = decodeReplyAt(area, before.byteLength, before.byteLength + body.byteLength, [], dv);
      expect(got).toStrictEqual(decodeValue(encodeValue(v)));
    }), { numRuns: 300 });
  });

  it('CALL frames carry ctx, syscall id and arguments', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffff }), fc.array(valueArb, { maxLength: 6 }), (ctx, sys, args) => {
      const f = parseFrame(callFrame(7, ctx, sys, args), 1 << 24);
      expect(f.type).toBe(FrameType.CALL);
      expect(f.id).toBe(7);
      expect(parseCall(f.body)).toStrictEqual({ ctx, sysId: sys, args });
    }), { numRuns: 200 });
  });
});

describe('decoded strings', () => {
  it('come out right when more short strings of one length pass than any cache could hold', () => {
    // 3000 distinct ASCII strings of each length, twice, in different orders:
    // whatever a decoder remembers, every string must decode to itself.
    const rnd = fc.sample(fc.integer({ min: 0, max: 0x7f }), 1)[0]!; // a varying seed for the strings
    for (const len of [1, 8, 24, 64, 65]) {
      const strs = Array.from({ length: 3000 }, (_, i) => {
        let s = '';
        for (let j = 0; j < len; j++) s += String.fromCharCode(((i * 7919 + j * 104729 + rnd) ^ (i >> (j % 13))) % 0x80);
        return s;
      });
      const order = [...strs.keys(), ...[...strs.keys()].reverse(), ...strs.keys()];
      for (const i of order) expect(decodeValue(encodeValue(strs[i]))).toBe(strs[i]);
    }
  });

  it('non-ASCII and invalid UTF-8 of cacheable lengths are never confused with cached ASCII', () => {
    expect(decodeValue(encodeValue('abc'))).toBe('abc');
    expect(decodeValue(encodeValue('ab\u00e9'))).toBe('ab\u00e9'); // 4 bytes, like a 4-character ASCII string
    expect(decodeValue(encodeValue('abcd'))).toBe('abcd');
    const bad = encodeValue('abcd');
    bad[bad.byteLength - 1] = 0xff;
    expect(() => decodeValue(bad)).toThrow(/UTF-8/);
  });
});

describe('argument validators derived from arg kinds', () => {
  /** A model of syscall.ts's kinds, written independently: the errno for one argument. */
  function model(kind: string, v: unknown): number {
    const isInt = (x: unknown): boolean => typeof x === 'number' && Number.isInteger(x);
    switch (kind) {
      case 'int': return isInt(v) ? 0 : 22;
      case 'uint': return isInt(v) && (v as number) >= 0 ? 0 : 22;
      case 'fd': return isInt(v) ? 0 : 9;
      case 'off': return Number.isSafeInteger(v) || typeof v === 'bigint' ? 0 : 22;
      case 'path': return typeof v === 'string' || v instanceof Uint8Array ? 0 : 14;
      case 'str': return typeof v === 'string' ? 0 : 14;
      case 'buf': return v instanceof Uint8Array ? 0 : 14;
      case 'bufs': return Array.isArray(v) && v.length <= 1024 && v.every((b) => b instanceof Uint8Array) ? 0 : 14;
      case 'ints': return Array.isArray(v) && v.length <= 65536 && v.every(isInt) ? 0 : 22;
      case 'obj': return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) ? 0 : 14;
      default: return 0;
    }
  }
  const kinds = ['int', 'uint', 'fd', 'off', 'path', 'str', 'buf', 'bufs', 'ints', 'obj', 'any'] as const;

  it('agree with the model on every decodable value', () => {
    fc.assert(fc.property(fc.constantFrom(...kinds), valueArb, (kind, v) => {
      if (v instanceof OutBuf || v instanceof InBuf) return; // replaced by buffers before validation
      const got = argsValidator([kind])([v]);
      const want = v === undefined ? (kind === 'fd' ? 9 : kind === 'buf' || kind === 'path' ? 14 : 22) : model(kind, v);
      if (kind === 'any' || kind === 'obj') {
        // Nested placeholders are not values the server accepts.
        const nested = JSON.stringify(v, (_k, x) => (x instanceof OutBuf || x instanceof InBuf ? '!' : typeof x === 'bigint' ? 0 : x))?.includes('"!"') ?? false;
        if (nested) return;
      }
      expect(got).toBe(want);
    }), { numRuns: 3000 });
  });

  it('optional kinds accept undefined; extra arguments are EINVAL', () => {
    expect(argsValidator(['int?'])([undefined])).toBe(0);
    expect(argsValidator(['int'])([1, 2])).toBe(22);
    expect(argsValidator(['fd', 'buf'])([3])).toBe(14);
  });
});

describe('buffer directions', () => {
  it('come from the syscall table: reads are out, writes are in, the rest in-out', () => {
    const table = new Map<string, { bufs?: BufUses; args: readonly string[]; returnsStat?: boolean }>(kernSyscalls.map((d) => [d.name, d]));
    const dir = (name: string, i: number) => bufDirection(table.get(name)!.bufs, i, table.get(name)!.args[i]);
    expect(dir('read', 1)).toBe('out');
    expect(dir('preadv', 1)).toBe('out');
    expect(dir('getrandom', 0)).toBe('out');
    expect(dir('write', 1)).toBe('in');
    expect(dir('pwritev', 1)).toBe('in');
    expect(dir('ioctl', 2)).toBe('inout');
    expect(bufDirection(undefined, 0, 'path')).toBe('in');
    // So does which calls return a struct stat (sent as a fixed T_STAT body).
    expect([table.get('fstat')!.returnsStat, table.get('read')!.returnsStat]).toEqual([true, undefined]);
    // Every call that names a buffer use names a buffer argument.
    for (const d of kernSyscalls as readonly { name: string; args: readonly string[]; bufs?: BufUses }[]) {
      for (const i of Object.keys(d.bufs ?? {}).map(Number)) expect(d.args[i], d.name).toMatch(/^(buf|bufs|any)\??$/);
    }
    // The table refuses a use that names no buffer.
    const bad = defineSyscall('bad_use', -1, ['fd', 'int'], () => 0, { bufs: { 1: 'out' } });
    expect(() => new SyscallTable().register([bad])).toThrow(/bad_use: bufs names argument 1, which is not a buffer/);
    // WELCOME carries them as pairs, and back.
    fc.assert(fc.property(fc.dictionary(fc.nat({ max: 63 }).map(String), fc.constantFrom('in' as const, 'out' as const)), (d) => {
      const uses = Object.keys(d).length === 0 ? undefined : Object.fromEntries(Object.entries(d).map(([k, v]) => [Number(k), v]));
      expect(parseBufUses(emitBufUses(uses))).toEqual(uses);
    }));
    expect(outBytesUsed(5, 10)).toBe(5);
    expect(outBytesUsed({ x: 1 }, 10)).toBe(10);
    expect(outBytesUsed(11, 10)).toBe(10);
  });
});
