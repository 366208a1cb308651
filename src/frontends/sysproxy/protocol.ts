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
 * The codec lives by concern: frame.ts (header, frame types, limits,
 * FrameReader, Writer), value.ts (the value codec), message.ts (CALL bodies,
 * zod schemas, argument validators, buffer directions); this file gathers
 * them for importers.
 *
 * Not supported: values other than undefined, null, booleans, numbers,
 * bigints, strings, Uint8Array, arrays and plain objects (functions, Maps,
 * class instances lose their prototype and arrive as plain objects).
 */
export * from './frame.ts';
export * from './value.ts';
export * from './message.ts';
