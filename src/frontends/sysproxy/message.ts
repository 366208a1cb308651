/**
 * The sysproxy message bodies: CALL (ctx, syscall id, args), the zod
 * schemas every control message (HELLO, WELCOME, FORK, EXIT, ERROR, FATAL)
 * is checked against, argument validators derived from the syscall table's
 * arg kinds, and which buffer arguments travel in which direction.
 */
import { z } from 'zod';
import type { ArgKind, ArgSpec, BufUse } from '../../kern/index.ts';
import { PROTO_VERSION, FrameType, ProtocolError, Writer } from './frame.ts';
import { type Value, writeValue, Reader, readValue } from './value.ts';

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
  /** [name, nr, arg kinds, buffer uses] per call; the uses are the table's SyscallDef.bufs as [index, 'in' | 'out'] pairs. */
  syscalls: z.array(z.union([
    z.tuple([z.string(), z.number().int(), z.array(z.string())]),
    z.tuple([z.string(), z.number().int(), z.array(z.string()), z.array(z.tuple([z.number().int().min(0).max(63), z.enum(['in', 'out'])]))]),
  ])),
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

/** A call's buffer uses by argument index (the syscall table's SyscallDef.bufs). */
export type BufUses = Readonly<Record<number, BufUse>>;

export type BufDir = 'in' | 'out' | 'inout';

/**
 * Which way buffer argument `argIndex` travels: as the syscall table says
 * ('out': filled by the kernel, 'in': only read), path bytes only in, and
 * any other buffer both ways — always correct, just slower.
 */
export function bufDirection(uses: BufUses | undefined, argIndex: number, kind?: string): BufDir {
  const u = uses?.[argIndex];
  if (u !== undefined) return u;
  // Path bytes are only read; an 'any' argument given bytes (ioctl) may be filled.
  if (kind !== undefined && kind.startsWith('path')) return 'in';
  return 'inout';
}

/** The WELCOME form of a call's buffer uses, and back. */
export function emitBufUses(uses: BufUses | undefined): [number, BufUse][] {
  return uses === undefined ? [] : Object.entries(uses).map(([i, u]) => [Number(i), u]);
}

export function parseBufUses(pairs: readonly (readonly [number, BufUse])[] | undefined): BufUses | undefined {
  if (pairs === undefined || pairs.length === 0) return undefined;
  const out: Record<number, BufUse> = {};
  for (const [i, u] of pairs) out[i] = u;
  return out;
}

/**
 * How many bytes of the out-buffers to send back: the call's byte count when
 * it returns one (read, pread, readv...), else all of them.
 */
export function outBytesUsed(result: unknown, total: number): number {
  return typeof result === 'number' && Number.isInteger(result) && result >= 0 && result <= total ? result : total;
}
