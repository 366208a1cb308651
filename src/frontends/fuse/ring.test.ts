/**
 * ring.ts without /dev/fuse: which requests count as wake-ups (only a bare STATFS from the
 * waker's or the reader's thread id), and that the layout's indices never overlap.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isWake, lenAt, makeRing, queueAt, READER_TID, stateAt, WAKER_TID } from './ring.ts';

function header(opcode: number, pid: number, len = 40): Uint8Array {
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, len, true);
  dv.setUint32(4, opcode, true);
  dv.setBigUint64(8, 77n, true);
  dv.setBigUint64(16, 1n, true);
  dv.setUint32(32, pid, true);
  return b;
}

describe('isWake', () => {
  const ctl = new Int32Array(makeRing(4, 4096).ctl);
  ctl[WAKER_TID] = 4242;
  ctl[READER_TID] = 4243;

  it('is a STATFS from the waker or the reader, nothing else', () => {
    expect(isWake(header(17, 4242), 40, ctl)).toBe(true);
    expect(isWake(header(17, 4243), 40, ctl)).toBe(true);
    expect(isWake(header(17, 999), 40, ctl)).toBe(false); // someone else's statfs(2): the handler's
    expect(isWake(header(3, 4242), 40, ctl)).toBe(false); // GETATTR from the waker's id
    expect(isWake(header(17, 4242, 48), 48, ctl)).toBe(false); // not a bare header
    expect(isWake(header(17 + 256, 4242), 40, ctl)).toBe(false);
  });

  it('never matches pid 0 or when no thread ids are known', () => {
    const none = new Int32Array(makeRing(4, 4096).ctl);
    expect(isWake(header(17, 0), 40, none)).toBe(false);
    fc.assert(fc.property(fc.integer({ min: 0, max: 0x7fffffff }), (pid) => !isWake(header(17, pid), 40, none)));
  });
});

describe('ring layout', () => {
  it('slot states, lengths and queue entries occupy distinct words inside ctl', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), (count) => {
        const r = makeRing(count, 4096);
        const words = new Int32Array(r.ctl).length;
        const seen = new Set<number>();
        for (let i = 0; i < count; i++) for (const w of [stateAt(i), lenAt(count, i), queueAt(count, i), queueAt(count, i + count * 3)]) {
          expect(w).toBeGreaterThan(READER_TID);
          expect(w).toBeLessThan(words);
          seen.add(w);
        }
        return seen.size === 3 * count;
      }),
      { numRuns: 50 },
    );
  });
});
