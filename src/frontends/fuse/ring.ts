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
const HEADER = 4;

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
const { fd, ring, timing } = workerData;
const { count, size } = ring;
const ctl = new Int32Array(ring.ctl);
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
  const i = freeSlot();
  const buf = i >= 0 ? views[i] : (spare ??= new Uint8Array(size));
  let n;
  try {
    n = fs.readSync(fd, buf, 0, size, null);
  } catch (e) {
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
}
`;
