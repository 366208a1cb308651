/**
 * The memory character devices, major 1 (Linux drivers/char/mem.c and
 * drivers/char/random.c; null(4), zero(4), full(4), random(4)):
 *
 *   1:3 /dev/null     reads give EOF, writes succeed and vanish
 *   1:5 /dev/zero     reads fill the buffer with zeros, writes vanish
 *   1:7 /dev/full     reads like zero, writes fail with ENOSPC
 *   1:8 /dev/random   reads give random bytes (getRandom hypercall),
 *   1:9 /dev/urandom  writes are accepted and dropped
 *
 * random and urandom behave the same: like Linux since 5.6 once the pool is
 * initialised, neither ever blocks (the host's getRandom is crypto quality
 * on real hosts, seeded on the sim host). A write to them is accepted, as
 * Linux does, without crediting entropy (there is no pool to mix into: the
 * bytes come straight from the host).
 *
 * lseek: null, zero and full always answer 0 (mem.c null_lseek); random and
 * urandom leave the offset alone and return it (noop_llseek). pread/pwrite
 * work on all of them (the offset is ignored).
 *
 * Not supported: /dev/mem, /dev/kmem, /dev/port, /dev/kmsg (minors 1, 2, 4,
 * 11: open answers ENXIO), the random ioctls (RNDGETENTCNT ...: ENOTTY).
 *
 * @guardedBy nothing: the devices have no mutable state.
 */
import type { Kernel } from '../kern/kernel.ts';
import type { Lwp } from '../kern/sched.ts';
import { File, type FileOps } from '../kern/file.ts';
import { ENOSPC, ENXIO, err } from '../kern/errno.ts';
import { POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../kern/constants.ts';
import { type DevDriver, type DevOpenContext, makedev, minor } from '../kern/devsw.ts';

export const MEM_MAJOR = 1;
export const NULL_MINOR = 3;
export const ZERO_MINOR = 5;
export const FULL_MINOR = 7;
export const RANDOM_MINOR = 8;
export const URANDOM_MINOR = 9;

/** The most random bytes asked of the host in one hypercall (Linux reads in 256-byte-ish chunks too). */
const RANDOM_CHUNK = 65536;

/** File.data of an open memory device. */
export interface MemDevFile {
  readonly k: Kernel;
  readonly minor: number;
  readonly ctx: DevOpenContext;
}

const always = (_fp: File<MemDevFile>, _td: Lwp, events: number): number => events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);

function baseOps(): Omit<FileOps<MemDevFile>, 'read' | 'write'> {
  return {
    type: 'device',
    poll: always,
    pollQueues: () => [],
    stat: (fp) => fp.data.ctx.stat(),
    lseek: (fp) => {
      fp.offset = 0;
      return 0;
    },
    close: () => {},
  };
}

const nullOps: FileOps<MemDevFile> = {
  ...baseOps(),
  // null(4): "Reads from /dev/null always return end of file".
  read: () => 0,
  // "data written to /dev/null ... is discarded", and the write reports success.
  write: (_fp, _td, buf) => buf.byteLength,
};

const zeroOps: FileOps<MemDevFile> = {
  ...baseOps(),
  // zero(4): "Reads from /dev/zero always return bytes containing zero".
  read: (_fp, _td, buf) => {
    buf.fill(0);
    return buf.byteLength;
  },
  write: (_fp, _td, buf) => buf.byteLength,
};

const fullOps: FileOps<MemDevFile> = {
  ...baseOps(),
  // full(4): "Reads from the /dev/full device will return \0 characters".
  read: (_fp, _td, buf) => {
    buf.fill(0);
    return buf.byteLength;
  },
  // full(4): "Writes to the /dev/full device fail with an ENOSPC error".
  write: (_fp, _td, buf) => {
    if (buf.byteLength === 0) return 0;
    throw err(ENOSPC);
  },
};

const randomOps: FileOps<MemDevFile> = {
  ...baseOps(),
  read: (fp, _td, buf) => {
    for (let o = 0; o < buf.byteLength; o += RANDOM_CHUNK) {
      fp.data.k.hyper.getRandom(buf.subarray(o, Math.min(buf.byteLength, o + RANDOM_CHUNK)));
    }
    return buf.byteLength;
  },
  // random(4): "Writing to /dev/random or /dev/urandom will update the entropy pool" — accepted, not credited.
  write: (_fp, _td, buf) => buf.byteLength,
  // noop_llseek: the position is reported, never changed.
  lseek: (fp) => fp.offset,
};

/** The major-1 driver. */
export function memDriver(k: Kernel): DevDriver {
  return {
    name: 'mem',
    open(_td: Lwp, ctx: DevOpenContext): File {
      const m = minor(ctx.rdev);
      const data: MemDevFile = { k, minor: m, ctx };
      switch (m) {
        case NULL_MINOR: return new File(nullOps, data, ctx.flags);
        case ZERO_MINOR: return new File(zeroOps, data, ctx.flags);
        case FULL_MINOR: return new File(fullOps, data, ctx.flags);
        case RANDOM_MINOR:
        case URANDOM_MINOR: return new File(randomOps, data, ctx.flags);
        // open(2) ENXIO: no such device (mem, kmem, port, kmsg are not provided).
        default: throw err(ENXIO);
      }
    },
  };
}

/** The /dev nodes this driver provides (name, number, permissions as on Linux). */
export const memNodes = [
  { name: 'null', kind: 'chr', rdev: makedev(MEM_MAJOR, NULL_MINOR), perm: 0o666 },
  { name: 'zero', kind: 'chr', rdev: makedev(MEM_MAJOR, ZERO_MINOR), perm: 0o666 },
  { name: 'full', kind: 'chr', rdev: makedev(MEM_MAJOR, FULL_MINOR), perm: 0o666 },
  { name: 'random', kind: 'chr', rdev: makedev(MEM_MAJOR, RANDOM_MINOR), perm: 0o666 },
  { name: 'urandom', kind: 'chr', rdev: makedev(MEM_MAJOR, URANDOM_MINOR), perm: 0o666 },
] as const;
