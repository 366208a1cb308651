/**
 * SOL_SOCKET options (socket(7)), kept by the generic socket layer, and the
 * conversion of option values between callers' forms and kernel form.
 *
 * Callers give a value as a number (or boolean), an object ({ onoff, linger }
 * for SO_LINGER, { sec, usec } for SO_RCVTIMEO/SO_SNDTIMEO), a string
 * (SO_BINDTODEVICE), or bytes in Linux's layout (int: 4 bytes little-endian;
 * linger: two ints; timeval: two 64-bit longs). Integers come back as
 * numbers, the rest as objects or strings.
 */
import { EDOM, EFAULT, EINVAL, ENODEV, ENOPROTOOPT, EPERM, err } from '../../kern/errno.ts';
import type { Lwp } from '../../kern/sched.ts';
import {
  SO_ACCEPTCONN, SO_BINDTODEVICE, SO_BROADCAST, SO_DEBUG, SO_DOMAIN, SO_DONTROUTE, SO_ERROR, SO_KEEPALIVE, SO_LINGER,
  SO_OOBINLINE, SO_PASSCRED, SO_PEERCRED, SO_PRIORITY, SO_PROTOCOL, SO_RCVBUF, SO_RCVBUFFORCE, SO_RCVLOWAT, SO_RCVTIMEO,
  SO_REUSEADDR, SO_REUSEPORT, SO_SNDBUF, SO_SNDBUFFORCE, SO_SNDLOWAT, SO_SNDTIMEO, SO_TYPE,
} from './constants.ts';
import type { SockoptValue } from './protosw.ts';
import { SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF, type Socket } from './socket.ts';

const utf8d = new TextDecoder();

/** An int option value from any caller form; EINVAL for short bytes, EFAULT for junk. */
export function optInt(v: unknown): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw err(EINVAL);
    return Math.trunc(v) | 0;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Uint8Array) {
    if (v.byteLength < 4) throw err(EINVAL);
    return new DataView(v.buffer, v.byteOffset, 4).getInt32(0, true);
  }
  throw err(EFAULT);
}

function optLinger(v: unknown): { onoff: number; linger: number } {
  if (v instanceof Uint8Array) {
    if (v.byteLength < 8) throw err(EINVAL);
    const dv = new DataView(v.buffer, v.byteOffset, 8);
    return { onoff: dv.getInt32(0, true), linger: dv.getInt32(4, true) };
  }
  if (typeof v === 'object' && v !== null) {
    const o = v as { onoff?: unknown; linger?: unknown };
    return { onoff: optInt(o.onoff ?? 0), linger: optInt(o.linger ?? 0) };
  }
  throw err(EFAULT);
}

/** A timeval as a timeout in ns (0 = forever); EDOM for usec outside [0, 1e6) (sock_set_timeout). */
function optTimeout(v: unknown): bigint {
  let sec: number;
  let usec: number;
  if (v instanceof Uint8Array) {
    if (v.byteLength < 16) throw err(EINVAL);
    const dv = new DataView(v.buffer, v.byteOffset, 16);
    sec = Number(dv.getBigInt64(0, true));
    usec = Number(dv.getBigInt64(8, true));
  } else if (typeof v === 'object' && v !== null) {
    const o = v as { sec?: unknown; usec?: unknown };
    if (typeof (o.sec ?? 0) !== 'number' || typeof (o.usec ?? 0) !== 'number') throw err(EINVAL);
    sec = Math.trunc(o.sec as number ?? 0);
    usec = Math.trunc(o.usec as number ?? 0);
  } else throw err(EFAULT);
  if (usec < 0 || usec >= 1_000_000) throw err(EDOM);
  if (sec < 0) return 0n; // Linux: a negative timeout means "do not time out"... as zero
  if (sec === 0 && usec === 0) return 0n;
  return BigInt(sec) * 1_000_000_000n + BigInt(usec) * 1000n;
}

function timeoutValue(ns: bigint): { sec: number; usec: number } {
  return { sec: Number(ns / 1_000_000_000n), usec: Number((ns % 1_000_000_000n) / 1000n) };
}

/** setsockopt(SOL_SOCKET, ...). */
export function solSetsockopt(td: Lwp, so: Socket, name: number, v: unknown): void {
  const o = so.opts;
  const cfg = so.ns.config;
  switch (name) {
    case SO_REUSEADDR: o.reuseaddr = optInt(v) !== 0; break;
    case SO_REUSEPORT: o.reuseport = optInt(v) !== 0; break;
    case SO_KEEPALIVE: o.keepalive = optInt(v) !== 0; break;
    case SO_BROADCAST: o.broadcast = optInt(v) !== 0; break;
    case SO_DONTROUTE: o.dontroute = optInt(v) !== 0; break;
    case SO_OOBINLINE: o.oobinline = optInt(v) !== 0; break;
    case SO_PASSCRED: o.passcred = optInt(v) !== 0; break;
    case SO_DEBUG: o.debug = optInt(v) !== 0; break;
    case SO_PRIORITY: {
      const p = optInt(v);
      if ((p < 0 || p > 6) && !(td.proc.cred.euid === 0)) throw err(EPERM);
      o.priority = p;
      break;
    }
    // socket(7): the kernel doubles the value; the minimum is SOCK_MIN_*; the
    // maximum net.core.[rw]mem_max unless the FORCE variant (root) is used.
    case SO_RCVBUF: case SO_RCVBUFFORCE: {
      if (name === SO_RCVBUFFORCE && !(td.proc.cred.euid === 0)) throw err(EPERM);
      const n = Math.max(0, optInt(v));
      o.rcvbuf = Math.max(SOCK_MIN_RCVBUF, Math.min(name === SO_RCVBUF ? cfg.rmemMax : 0x3fffffff, n) * 2);
      break;
    }
    case SO_SNDBUF: case SO_SNDBUFFORCE: {
      if (name === SO_SNDBUFFORCE && !(td.proc.cred.euid === 0)) throw err(EPERM);
      const n = Math.max(0, optInt(v));
      o.sndbuf = Math.max(SOCK_MIN_SNDBUF, Math.min(name === SO_SNDBUF ? cfg.wmemMax : 0x3fffffff, n) * 2);
      break;
    }
    case SO_RCVLOWAT: o.rcvlowat = Math.max(1, optInt(v)); break;
    case SO_SNDLOWAT: throw err(ENOPROTOOPT); // Linux: not changeable
    case SO_RCVTIMEO: o.rcvtimeoNs = optTimeout(v); break;
    case SO_SNDTIMEO: o.sndtimeoNs = optTimeout(v); break;
    case SO_LINGER: {
      const l = optLinger(v);
      o.linger = { onoff: l.onoff !== 0 ? 1 : 0, linger: Math.max(0, l.linger) };
      break;
    }
    case SO_BINDTODEVICE: {
      const nameStr = typeof v === 'string' ? v : v instanceof Uint8Array ? utf8d.decode(v.subarray(0, v.indexOf(0) >= 0 ? v.indexOf(0) : v.byteLength)) : null;
      if (nameStr === null) throw err(EFAULT);
      if (nameStr !== '' && !so.ns.ifnets.has(nameStr)) throw err(ENODEV);
      if (!(td.proc.cred.euid === 0)) throw err(EPERM);
      o.bindToDevice = nameStr;
      break;
    }
    default:
      throw err(ENOPROTOOPT); // SO_TYPE, SO_ERROR, SO_PROTOCOL, ... are read-only
  }
  so.proto.sockoptChanged?.(name);
}

/** getsockopt(SOL_SOCKET, ...). */
export function solGetsockopt(so: Socket, name: number): SockoptValue {
  const o = so.opts;
  switch (name) {
    case SO_REUSEADDR: return o.reuseaddr ? 1 : 0;
    case SO_REUSEPORT: return o.reuseport ? 1 : 0;
    case SO_KEEPALIVE: return o.keepalive ? 1 : 0;
    case SO_BROADCAST: return o.broadcast ? 1 : 0;
    case SO_DONTROUTE: return o.dontroute ? 1 : 0;
    case SO_OOBINLINE: return o.oobinline ? 1 : 0;
    case SO_PASSCRED: return o.passcred ? 1 : 0;
    case SO_DEBUG: return o.debug ? 1 : 0;
    case SO_PRIORITY: return o.priority;
    case SO_RCVBUF: return o.rcvbuf;
    case SO_SNDBUF: return o.sndbuf;
    case SO_RCVLOWAT: return o.rcvlowat;
    case SO_SNDLOWAT: return 1;
    case SO_RCVTIMEO: return timeoutValue(o.rcvtimeoNs);
    case SO_SNDTIMEO: return timeoutValue(o.sndtimeoNs);
    case SO_LINGER: return { ...o.linger };
    case SO_BINDTODEVICE: return o.bindToDevice;
    case SO_TYPE: return so.type;
    case SO_PROTOCOL: return so.protocol;
    case SO_DOMAIN: return so.family;
    case SO_ACCEPTCONN: return so.listening ? 1 : 0;
    case SO_ERROR: return so.takeError();
    case SO_PEERCRED: {
      const c = so.proto.peercred?.() ?? null;
      return c ?? { pid: 0, uid: -1, gid: -1 };
    }
    default:
      throw err(ENOPROTOOPT);
  }
}
