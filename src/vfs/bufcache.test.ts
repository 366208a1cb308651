/**
 * The buffer cache against a recording fake disk: hits and misses,
 * delayed writes clustered in ascending order before the flush, read-ahead
 * in one transfer, the memory bound (clean buffers evicted, dirty ones
 * written back first), the sysctl statistics, and the buffer lock's class.
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '../kern/kernel.ts';
import { Lwp } from '../kern/sched.ts';
import { SimHost } from '../hyper/sim/host.ts';
import { type BlockDevice, newBlkStats } from '../kern/blkdev.ts';
import { BufCache } from './bufcache.ts';

function fakeDisk(blocks: number, bs: number): BlockDevice & { bytes: Uint8Array; log: string[] } {
  const bytes = new Uint8Array(blocks * bs);
  const log: string[] = [];
  return {
    name: 'fake0', rdev: 0x700, size: bytes.byteLength, sectorSize: 512, readOnly: false, stats: newBlkStats(), bytes, log,
    async read(off, buf) { log.push(`r${off / bs}+${buf.byteLength / bs}`); buf.set(bytes.subarray(off, off + buf.byteLength)); },
    async write(off, data) { log.push(`w${off / bs}+${data.byteLength / bs}`); bytes.set(data, off); },
    async flush() { log.push('flush'); },
  };
}

function setup(): { k: Kernel; bc: BufCache; td: Lwp } {
  const k = new Kernel(new SimHost({ seed: 1 }));
  return { k, bc: new BufCache(k), td: new Lwp(k, k.proc0, 'test') };
}

describe('buffer cache', () => {
  it('reads once, then hits; the buffer is locked while held, with lock class buf', async () => {
    const { k, bc, td } = setup();
    const d = fakeDisk(16, 1024);
    d.bytes[5 * 1024] = 42;
    const bp = await bc.bread(td, d, 5, 1024);
    expect(bp.data[0]).toBe(42);
    expect(bp.lock.owned(td)).toBe(true);
    expect(bp.lock.lockClass.name).toBe('buf');
    bc.brelse(td, bp);
    expect(bp.lock.owner).toBeNull();
    bc.brelse(td, await bc.bread(td, d, 5, 1024));
    expect(d.log).toEqual(['r5+1']);
    expect(k.sysctl.read('vfs.bufcache.hits')).toBe(1);
    expect(k.sysctl.read('vfs.bufcache.misses')).toBe(1);
  });

  it('peek gives a valid idle buffer without a lock, and nothing for a held or missing one', async () => {
    const { bc, td } = setup();
    const d = fakeDisk(8, 1024);
    expect(bc.peek(d, 2, 1024)).toBeNull();
    const bp = await bc.bread(td, d, 2, 1024);
    expect(bc.peek(d, 2, 1024)).toBeNull(); // held
    bc.brelse(td, bp);
    expect(bc.peek(d, 2, 1024)).toBe(bp.data);
    await bc.bwriteNew(td, d, 5, new Uint8Array(1024).fill(3));
    expect(bc.peek(d, 5, 1024)![0]).toBe(3);
    expect(bc.dirtyOf(d)).toBe(1);
  });

  it('delayed writes go out in ascending order, adjacent blocks in one transfer, then a flush', async () => {
    const { bc, td } = setup();
    const d = fakeDisk(32, 1024);
    for (const b of [9, 3, 4, 5, 20, 10]) {
      const bp = await bc.getblk(td, d, b, 1024);
      bp.data.fill(b);
      bc.bdwrite(td, bp);
    }
    expect(bc.dirtyOf(d)).toBe(6);
    expect(d.log).toEqual([]);
    await bc.bflush(td, d);
    expect(d.log).toEqual(['w3+3', 'w9+2', 'w20+1', 'flush']);
    expect(d.bytes[4 * 1024]).toBe(4);
    expect(bc.dirtyOf(d)).toBe(0);
    expect(bc.stats.writeClusters).toBe(3);
  });

  it('reads ahead the uncached blocks that follow, in the same transfer', async () => {
    const { bc, td } = setup();
    const d = fakeDisk(64, 1024);
    bc.brelse(td, await bc.bread(td, d, 6, 1024));
    const bp = await bc.breadAhead(td, d, 2, 1024, 8);
    bc.brelse(td, bp);
    // 3, 4, 5 follow 2; 6 is cached, so the run stops there.
    expect(d.log).toEqual(['r6+1', 'r2+4']);
    for (const b of [3, 4, 5]) bc.brelse(td, await bc.bread(td, d, b, 1024));
    expect(d.log.length).toBe(2);
    expect(bc.stats.readAhead).toBe(3);
  });

  it('stays within its memory bound, writing dirty buffers back before evicting them', async () => {
    const { k, bc, td } = setup();
    k.sysctl.write('vfs.bufcache.max_bytes', 65536, k.proc0.cred);
    const d = fakeDisk(512, 1024);
    for (let b = 0; b < 300; b++) {
      const bp = await bc.getblk(td, d, b, 1024);
      bp.data.fill(b & 0xff);
      bp.valid = true;
      if (b % 3 === 0) bc.bdwrite(td, bp);
      else bc.brelse(td, bp);
      expect(bc.bytes).toBeLessThanOrEqual(65536);
    }
    await bc.bflush(td, d);
    // Every dirty block reached the disk with its contents, evicted or not.
    for (let b = 0; b < 300; b += 3) expect(d.bytes[b * 1024]).toBe(b & 0xff);
    expect(bc.stats.evictions).toBeGreaterThan(200);
    expect(() => k.sysctl.write('vfs.bufcache.max_bytes', 10, k.proc0.cred)).toThrow();
  });

  it('a failed write leaves the buffers dirty and reports the error', async () => {
    const { bc, td } = setup();
    const d = fakeDisk(8, 1024);
    const bp = await bc.getblk(td, d, 1, 1024);
    bc.bdwrite(td, bp);
    const write = d.write;
    d.write = async () => { throw new Error('EIO'); };
    await expect(bc.bflush(td, d)).rejects.toThrow('EIO');
    expect(bc.dirtyOf(d)).toBe(1);
    d.write = write;
    await bc.bflush(td, d);
    expect(bc.dirtyOf(d)).toBe(0);
  });
});
