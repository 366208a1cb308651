/**
 * The FUSE kernel ABI, protocol 7.31, in one import: constants (abi.ts), request parsing
 * (request.ts) and reply emitting (reply.ts).
 *
 * Untrusted bytes from /dev/fuse are parsed once into validated request values; replies are
 * emitted as one buffer per write(2). See each file's header for the details.
 */
export * from './abi.ts';
export * from './request.ts';
export * from './reply.ts';
