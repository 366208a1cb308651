/**
 * RequestRing: the hand-off of FUSE requests from the reader thread (blocked in read(2) on
 * /dev/fuse) to the thread that runs the kernel, through shared memory instead of a MessagePort:
 * no structured clone, no port machinery, and a futex wake-up when the kernel thread sleeps.
 *
 * Memory (all SharedArrayBuffers, made here and handed to the reader as workerData):
 *   slots   `count` request buffers of `size` bytes each; the reader reads straight into one.
 *   ctl     Int32Array: TAIL (requests published so far), then per slot its STATE (0 free,
 *           1 holding a request), its LEN (bytes read), and the QUEUE of published slot numbers
 *           (a single-producer single-consumer ring of `count` entries: a slot is queued at most
 *           once, so it never overflows).
 *   times   Float64Array, per slot: when its read(2) returned (ms since the epoch), written only
 *           when stage timing is on.
 * The reader fills a free slot, then stores LEN, STATE, the queue entry and TAIL+1 (Atomics.store
 * orders them) and calls Atomics.notify on TAIL, which wakes the kernel thread whether it sleeps
 * in Atomics.wait (lingering after a batch) or has an Atomics.waitAsync pending (back in its event
 * loop). The kernel thread frees a slot (STATE 0) once nothing looks at its bytes: at once for a
 * small request (copied out), after the reply for a big one (WRITE data, used in place).
 * With every slot busy the reader does not wait (the requests holding the slots may be waiting
 * for the very request it would read next, e.g. an INTERRUPT): it reads into a buffer of its own
 * and posts it over the worker's port, as the MessagePort reader does.
 */

export const TAIL = 0;
/** 1 while the kernel thread reads /dev/fuse itself (direct mode); the reader then waits on it. */
export const MODE = 1;
/** 1 while the kernel thread is inside its own read(2). */
export const BLOCKED = 2;
/** The waker's tick waits on this word (notified at the end). */
export const KICK = 3;
/** Reads the kernel thread finished itself: the waker's sign of progress. */
export const READS = 4;
/** 1 once the session is over: the waker exits. */
export const STOP = 5;
/** The waker's and the reader's thread ids: the pid in the header of their wake-up requests. */
export const WAKER_TID = 6;
export const READER_TID = 7;
/**
 * Wake-up requests under way (statfs(2) calls of the reader or the waker not yet returned). The
 * kernel thread keeps reading while this is non-zero: it is the only one that can answer them.
 */
export const WAKING = 8;
/**
 * 1 while the reader thread is in (or about to enter) read(2): the kernel thread then does not
 * read itself. 0 again as soon as that read returns — before the reader may send a wake-up
 * request, which only the kernel thread's own read can take.
 */
export const READER_IN = 9;
/** An event count: bumped and notified at every publish and every park of the reader. */
export const EVENTS = 10;
const HEADER = 12;



/** Requests below this many bytes are copied out of their slot, which is freed at once. */
export const COPY_BELOW = 16384;

export interface RingShape {
  count: number;
  size: number;
  ctl: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  times: SharedArrayBuffer;
}

export function makeRing(count: number, size: number): RingShape {
  return {
    count,
    size,
    ctl: new SharedArrayBuffer((HEADER + 3 * count) * 4),
    slots: new SharedArrayBuffer(count * size),
    times: new SharedArrayBuffer(count * 8),
  };
}

/** Index of slot i's STATE, LEN and queue entry q in ctl. */
export const stateAt = (i: number) => HEADER + i;
export const lenAt = (count: number, i: number) => HEADER + count + i;
export const queueAt = (count: number, q: number) => HEADER + 2 * count + (q % count);

/**
 * The reader, as CommonJS source for an eval'd worker (no loader or build step needed). It runs
 * no event loop: it only reads, publishes and notifies. It mirrors the layout above.
 */
export const RING_READER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { fd, ring, timing, mountpoint } = workerData;
const { count, size } = ring;
const ctl = new Int32Array(ring.ctl);
if (mountpoint) Atomics.store(ctl, ${READER_TID}, Number(fs.readlinkSync('/proc/thread-self').split('/').pop()));
const times = new Float64Array(ring.times);
const views = [];
for (let i = 0; i < count; i++) views.push(new Uint8Array(ring.slots, i * size, size));
const HEADER = ${HEADER};
const COPY_BELOW = ${COPY_BELOW};
let spare;
let next = 0;
function freeSlot() {
  for (let k = 0; k < count; k++) {
    const i = (next + k) % count;
    if (Atomics.load(ctl, HEADER + i) === 0) { next = (i + 1) % count; return i; }
  }
  return -1;
}
for (;;) {
  // Direct mode: the kernel thread reads for now.
  // READER_IN before looking at MODE (the kernel thread stores MODE, then looks at READER_IN):
  // at least one of us sees the other. Before parking, wake the kernel thread so it looks again.
  Atomics.store(ctl, ${READER_IN}, 1);
  if (Atomics.load(ctl, ${MODE}) === 1) {
    Atomics.store(ctl, ${READER_IN}, 0);
    Atomics.add(ctl, ${EVENTS}, 1);
    Atomics.notify(ctl, ${EVENTS});
    while (Atomics.load(ctl, ${MODE}) === 1 && Atomics.load(ctl, ${STOP}) === 0) Atomics.wait(ctl, ${MODE}, 1);
    Atomics.store(ctl, ${READER_IN}, 1);
  }
  // Over: the fd may be closed (or its number reused), so no read after this.
  if (Atomics.load(ctl, ${STOP}) === 1) break;
  const i = freeSlot();
  const buf = i >= 0 ? views[i] : (spare ??= new Uint8Array(size));
  let n;
  try {
    n = fs.readSync(fd, buf, 0, size, null);
    Atomics.store(ctl, ${READER_IN}, 0); // out of read(2): a wake-up below must find the kernel thread reading
  } catch (e) {
    Atomics.store(ctl, ${READER_IN}, 0);
    // EINTR: a signal; ENOENT: the request was interrupted while being read; retry both.
    if (e.code === 'EINTR' || e.code === 'ENOENT' || e.code === 'EAGAIN') continue;
    parentPort.postMessage({ end: e.code || String(e) });
    break;
  }
  if (n === 0) { parentPort.postMessage({ end: 'EOF' }); break; }
  const t = timing ? performance.timeOrigin + performance.now() : 0;
  if (i < 0) {
    // Every slot busy: this one travels by message, in a buffer of its own.
    const req = n < COPY_BELOW ? buf.slice(0, n) : buf.subarray(0, n);
    if (n >= COPY_BELOW) spare = undefined;
    parentPort.postMessage({ req, t }, [req.buffer]);
    continue;
  }
  if (timing) times[i] = t;
  ctl[HEADER + count + i] = n;
  Atomics.store(ctl, HEADER + i, 1);
  const tail = ctl[0];
  ctl[HEADER + 2 * count + (tail % count)] = i;
  Atomics.store(ctl, 0, tail + 1);
  Atomics.notify(ctl, 0);
  Atomics.add(ctl, ${EVENTS}, 1);
  Atomics.notify(ctl, ${EVENTS});
  // The kernel thread went into a read of its own meanwhile: it must wake to see this request.
  // Only a new request ends that read, so send one (and never leave it to the waker: the request
  // just published may be the waker's own, and it waits for its reply).
  if (mountpoint) {
    Atomics.add(ctl, ${WAKING}, 1); // before looking at BLOCKED: the kernel thread looks the other way round
    if (Atomics.load(ctl, ${BLOCKED}) === 1) { try { fs.statfsSync(mountpoint); } catch {} }
    Atomics.sub(ctl, ${WAKING}, 1);
  }
}
`;

/**
 * The waker of direct mode, as eval'd worker source. While the kernel thread reads /dev/fuse
 * itself, its event loop (timers, signals, I/O) only runs between requests; so when that read has
 * made no progress for a whole tick, the waker calls statfs(2) on the
 * mount point: a STATFS request, which ends the read and which the session answers itself. It is
 * STATFS because the host sends it every time (no cache) and under no lock of the mount's
 * directories: a LOOKUP would wait for a directory lock held by the very operation (e.g. mkdir)
 * whose request the waker must bring to the kernel thread's attention. The request's header
 * carries the waker's thread id (Linux fills fuse_in_header.pid from the calling thread), which
 * tells it from a statfs(2) of anyone else. The reader sends the same request when it published
 * one while the kernel thread had gone into its own read.
 */
export const WAKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { ring, mountpoint, tickMs } = workerData;
const ctl = new Int32Array(ring.ctl);
Atomics.store(ctl, ${WAKER_TID}, Number(fs.readlinkSync('/proc/thread-self').split('/').pop()));
let seen = -1;
while (Atomics.load(ctl, ${STOP}) === 0) {
  if (Atomics.load(ctl, ${MODE}) === 0) { Atomics.wait(ctl, ${MODE}, 0); seen = -1; continue; }
  Atomics.wait(ctl, ${KICK}, 0, tickMs);
  const reads = Atomics.load(ctl, ${READS});
  Atomics.add(ctl, ${WAKING}, 1);
  if (Atomics.load(ctl, ${BLOCKED}) === 1 && reads === seen) {
    try { fs.statfsSync(mountpoint); } catch {}
  }
  Atomics.sub(ctl, ${WAKING}, 1);
  seen = reads;
}
`;

/** Is this request a wake-up STATFS? (`ctl` holds the waker's and reader's thread ids; 0: none) */
export function isWake(buf: Uint8Array, n: number, ctl: Int32Array): boolean {
  // fuse_in_header: len u32, opcode u32 @4, unique u64 @8, nodeid u64 @16, uid @24, gid @28, pid @32.
  if (n !== 40 || buf[4] !== 17 /* FUSE_STATFS */ || buf[5] !== 0) return false;
  const pid = buf[32]! | (buf[33]! << 8) | (buf[34]! << 16) | (buf[35]! << 24);
  return pid !== 0 && (pid === Atomics.load(ctl, WAKER_TID) || pid === Atomics.load(ctl, READER_TID));
}

/**
 * A bulk transfer: a request with WRITE data in it (≥ COPY_BELOW bytes) or a READ of 64 KiB or
 * more. Those come several at a time (readahead, big writes) and gain from the reader thread
 * reading the next one while this one is served, so direct mode pauses while they flow.
 */
export function isBulk(buf: Uint8Array, n: number): boolean {
  if (n >= COPY_BELOW) return true;
  // FUSE_READ (15): fuse_read_in { u64 fh; u64 offset; u32 size; … } after the 40-byte header.
  if (n < 60 || buf[4] !== 15 || buf[5] !== 0) return false;
  return (buf[56]! | (buf[57]! << 8) | (buf[58]! << 16) | (buf[59]! << 24)) >>> 0 >= 65536;
}
