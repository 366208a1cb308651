/**
 * The buffer cache: fixed-size blocks of block devices kept in memory, shared
 * by every block-device file system of one kernel (Bach's "The Design of the
 * UNIX Operating System" ch. 3, BSD vfs_bio.c, xv6 kernel/bio.c).
 *
 * ## Buffer lifecycle (read this before holding a buffer)
 *
 *   1. `getblk(td, dev, blkno, size)` finds the buffer of (dev, blkno) or
 *      makes one, and returns it *locked* (BSD B_BUSY): the holder alone may
 *      read or change `data`. Its contents are valid only if `valid`.
 *   2. `bread` is getblk plus a disk read when the buffer is not valid;
 *      `breadAhead` also reads up to N following blocks that are not cached in
 *      the same transfer (read-ahead for sequential readers).
 *   3. The holder changes `data` and then gives the buffer back in one of
 *      three ways: `brelse` (unchanged, or changed by someone else's rule),
 *      `bdwrite` (changed: mark dirty, write later — delayed write), or
 *      `bwrite` (changed: write now and wait).
 *   4. A released buffer goes to the tail of one of two LRU lists (BSD's
 *      bqueues): clean or dirty; a held buffer is on neither. Dirty buffers are
 *      written by `bflush(dev)` (fsync, sync, umount: every dirty buffer of
 *      the device in ascending block order, adjacent blocks clustered into one
 *      transfer, then a device cache flush — so when bflush returns, every
 *      write that preceded the call is durable), when dirty data passes half the
 *      memory bound (write-behind, in the writer's getblk), or when the bound is
 *      reached with no clean buffer left to evict.
 *   5. Clean, unlocked buffers are evicted from the clean list's head when the cache
 *      is over `vfs.bufcache.max_bytes` (sysctl); `binval(dev)` drops every
 *      buffer of a device (after its last bflush, at umount).
 *
 * A buffer's lock is a `Mutex` of class `buf`, so lockdep sees every
 * acquisition. Rule: a thread holds at most one buffer at a time (the file
 * systems here copy what they need and release before taking the next), so
 * buffers never nest and need no subclass. The write-back path snapshots a
 * buffer's bytes under its lock, releases it, and writes the snapshot; a
 * buffer with a write in flight is never evicted, so a reader can never see
 * the disk's older copy.
 *
 * Statistics are sysctl nodes `vfs.bufcache.*` (and so /proc/sys/vfs/bufcache/*).
 *
 * @guardedBy each Buf's lock for `data`, `valid` and `dirty` changes made by
 * a holder; the cache's maps and counters by the single virtual CPU (changed
 * without awaiting in between).
 */
import type { Kernel } from '../kern/kernel.ts';
import type { Lwp } from '../kern/sched.ts';
import { LockClass, Mutex } from '../kern/lock.ts';
import type { BlockDevice } from '../kern/blkdev.ts';

export const BUF_CLASS = new LockClass('buf', "a cached disk block's contents and state (B_BUSY)");

/** Default memory bound: host parameter `bufcache.max_bytes`, else 64 MiB. */
const DEFAULT_MAX = 64 * 1024 * 1024;
/** Longest single transfer when clustering writes or reading ahead. */
const MAX_CLUSTER_BYTES = 1024 * 1024;

export class Buf {
  readonly dev: BlockDevice;
  readonly blkno: number;
  readonly size: number;
  /** @guardedBy lock */
  readonly data: Uint8Array;
  /** data holds the disk's block (or newer). @guardedBy lock */
  valid = false;
  /** data is newer than the disk. @guardedBy lock */
  dirty = false;
  /** Writes of a snapshot of this buffer in flight (never evicted meanwhile). */
  writing = 0;
  private readonly k: Kernel;
  /** Made on first use: a block written once and evicted never needs one. */
  private mutex: Mutex | null = null;
  get lock(): Mutex {
    return (this.mutex ??= new Mutex(this.k, BUF_CLASS, 'buf'));
  }

  /** Held by a thread, or wanted by one. */
  get busy(): boolean {
    return this.mutex !== null && (this.mutex.owner !== null || this.mutex.waiting > 0);
  }

  /** Links of the free list it is on (clean or dirty LRU), or null/none while held. */
  prev: Buf | null = null;
  next: Buf | null = null;
  list: BufList | null = null;

  constructor(k: Kernel, dev: BlockDevice, blkno: number, size: number) {
    this.dev = dev;
    this.blkno = blkno;
    this.size = size;
    this.data = new Uint8Array(size);
    this.k = k;
  }
}

/** An intrusive LRU list of released buffers (BSD's bqueues), least recently released first. */
export class BufList {
  head: Buf | null = null;
  tail: Buf | null = null;
  length = 0;

  append(bp: Buf): void {
    bp.list = this;
    bp.prev = this.tail;
    bp.next = null;
    if (this.tail !== null) this.tail.next = bp;
    else this.head = bp;
    this.tail = bp;
    this.length++;
  }

  remove(bp: Buf): void {
    if (bp.prev !== null) bp.prev.next = bp.next;
    else this.head = bp.next;
    if (bp.next !== null) bp.next.prev = bp.prev;
    else this.tail = bp.prev;
    bp.prev = bp.next = null;
    bp.list = null;
    this.length--;
  }
}

export interface BufStats {
  hits: number;
  misses: number;
  reads: number;
  readAhead: number;
  writes: number;
  writeClusters: number;
  evictions: number;
}

export class BufCache {
  readonly k: Kernel;
  /** Per device, buffers by block number. */
  private readonly devs = new Map<BlockDevice, Map<number, Buf>>();
  /** Released clean buffers, least recently released first: eviction takes from the head. */
  private readonly clean = new BufList();
  /** Released dirty buffers, oldest first. */
  private readonly dirtyList = new BufList();
  /** Buffers cached (held or on a list). */
  private count = 0;
  private readonly maxCell: { value: string | number };
  bytes = 0;
  dirtyCount = 0;
  readonly stats: BufStats = { hits: 0, misses: 0, reads: 0, readAhead: 0, writes: 0, writeClusters: 0, evictions: 0 };

  constructor(k: Kernel) {
    this.k = k;
    const param = Number(k.hyper.getParam('bufcache.max_bytes') ?? DEFAULT_MAX);
    const initial = Number.isSafeInteger(param) && param >= 65536 ? param : DEFAULT_MAX;
    this.maxCell = k.sysctl.variable('vfs.bufcache.max_bytes', 'memory bound of the buffer cache (bytes)', initial, {
      writable: true,
      validate: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 65536,
    });
    const ro = (name: string, description: string, get: () => number): void => k.sysctl.register({ name: `vfs.bufcache.${name}`, description, get });
    ro('bytes', 'bytes of cached blocks', () => this.bytes);
    ro('buffers', 'cached blocks', () => this.count);
    ro('dirty', 'cached blocks not yet written', () => this.dirtyCount);
    ro('hits', 'lookups found in the cache', () => this.stats.hits);
    ro('misses', 'lookups that read the disk', () => this.stats.misses);
    ro('reads', 'disk read transfers', () => this.stats.reads);
    ro('read_ahead', 'blocks read ahead of a sequential reader', () => this.stats.readAhead);
    ro('writes', 'blocks written', () => this.stats.writes);
    ro('write_clusters', 'write transfers (adjacent blocks clustered)', () => this.stats.writeClusters);
    ro('evictions', 'blocks evicted for the memory bound', () => this.stats.evictions);
  }

  get maxBytes(): number {
    return this.maxCell.value as number;
  }

  private table(dev: BlockDevice): Map<number, Buf> {
    let t = this.devs.get(dev);
    if (t === undefined) this.devs.set(dev, (t = new Map()));
    return t;
  }

  /** The buffer of (dev, blkno), locked; made (invalid) if absent. */
  async getblk(td: Lwp, dev: BlockDevice, blkno: number, size: number): Promise<Buf> {
    const t = this.table(dev);
    let bp = t.get(blkno);
    if (bp === undefined) {
      // Write-behind: keep dirty data under half the bound, in clustered batches.
      if (this.dirtyCount * size > this.maxBytes / 2) await this.writeDirty(td, this.dirtyList.head?.dev ?? dev, Infinity);
      if (this.bytes + size > this.maxBytes) await this.reclaim(td, size);
      bp = t.get(blkno); // the writes above may have slept while someone else made it
      if (bp === undefined) {
        bp = new Buf(this.k, dev, blkno, size);
        t.set(blkno, bp);
        this.count++;
        this.bytes += size;
      }
    }
    if (bp.size !== size) this.k.panic(`bufcache: block ${blkno} of ${dev.name} asked as ${size} bytes, cached as ${bp.size}`);
    const l = bp.lock.enter(td); // the guard is dropped: brelse/bdwrite/bwrite release the lock
    if (l instanceof Promise) await l;
    bp.list?.remove(bp);
    return bp;
  }

  /**
   * The contents of a cached, valid buffer nobody holds, for a caller that copies them out
   * at once without awaiting (then no lock is needed: one virtual CPU, nothing can change
   * them meanwhile); null otherwise (use bread). Counts as a hit and refreshes its LRU place.
   */
  peek(dev: BlockDevice, blkno: number, size: number): Uint8Array | null {
    const bp = this.devs.get(dev)?.get(blkno);
    if (bp === undefined || !bp.valid || bp.busy || bp.size !== size) return null;
    this.stats.hits++;
    const list = bp.list;
    if (list !== null) {
      list.remove(bp);
      list.append(bp);
    }
    return bp.data;
  }

  /** getblk, then read the block if the buffer is not valid. A failed read throws (buffer released). */
  async bread(td: Lwp, dev: BlockDevice, blkno: number, size: number): Promise<Buf> {
    const bp = await this.getblk(td, dev, blkno, size);
    if (bp.valid) {
      this.stats.hits++;
      return bp;
    }
    this.stats.misses++;
    try {
      await dev.read(blkno * size, bp.data);
    } catch (e) {
      this.brelse(td, bp);
      throw e;
    }
    this.stats.reads++;
    bp.valid = true;
    return bp;
  }

  /**
   * bread, reading ahead: when the block is not cached, the run of up to
   * `ahead` following blocks that are neither cached nor past the device's end
   * comes in the same transfer (BSD breadn / cluster_read). Those extra
   * buffers are left valid and unlocked in the cache.
   */
  async breadAhead(td: Lwp, dev: BlockDevice, blkno: number, size: number, ahead: number): Promise<Buf> {
    const t = this.table(dev);
    const have = t.get(blkno);
    if (ahead <= 0 || (have !== undefined && have.valid)) return this.bread(td, dev, blkno, size);
    const maxBlocks = Math.floor(dev.size / size);
    let n = 0;
    const limit = Math.min(ahead, Math.floor(MAX_CLUSTER_BYTES / size) - 1);
    while (n < limit && blkno + n + 1 < maxBlocks && !t.has(blkno + n + 1)) n++;
    if (n === 0) return this.bread(td, dev, blkno, size);
    const bp = await this.getblk(td, dev, blkno, size);
    if (bp.valid) {
      this.stats.hits++;
      return bp;
    }
    // Claim the read-ahead buffers now (no await until the transfer): they are new, so free.
    const extra: Buf[] = [];
    for (let i = 1; i <= n; i++) {
      if (t.has(blkno + i)) break;
      const xb = new Buf(this.k, dev, blkno + i, size);
      xb.lock.tryAcquire(td); // a second buffer, against the one-at-a-time rule: new, so free, and a trylock
      t.set(blkno + i, xb);
      this.count++;
      this.bytes += size;
      extra.push(xb);
    }
    const big = new Uint8Array(size * (1 + extra.length));
    this.stats.misses++;
    let failed: unknown = null;
    try {
      await dev.read(blkno * size, big);
      this.stats.reads++;
    } catch (e) {
      failed = e;
    }
    for (let i = 0; i < extra.length; i++) {
      const xb = extra[i]!;
      if (failed === null) {
        xb.data.set(big.subarray((i + 1) * size, (i + 2) * size));
        xb.valid = true;
        this.stats.readAhead++;
      }
      this.brelse(td, xb);
    }
    if (failed !== null) {
      this.brelse(td, bp);
      throw failed;
    }
    bp.data.set(big.subarray(0, size));
    bp.valid = true;
    return bp;
  }

  /**
   * Delayed write of a whole block the caller just allocated (its old contents do not
   * matter): with no buffer cached for it, the data goes into a new dirty buffer that no
   * other thread can have reached, so no lock is taken; otherwise as getblk + bdwrite.
   */
  async bwriteNew(td: Lwp, dev: BlockDevice, blkno: number, data: Uint8Array): Promise<void> {
    const size = data.byteLength;
    const t = this.table(dev);
    if (t.get(blkno) === undefined) {
      if (this.dirtyCount * size > this.maxBytes / 2) await this.writeDirty(td, this.dirtyList.head?.dev ?? dev, Infinity);
      if (this.bytes + size > this.maxBytes) await this.reclaim(td, size);
    }
    let bp = t.get(blkno);
    if (bp !== undefined) {
      bp = await this.getblk(td, dev, blkno, size);
      bp.data.set(data);
      this.bdwrite(td, bp);
      return;
    }
    bp = new Buf(this.k, dev, blkno, size);
    t.set(blkno, bp);
    this.count++;
    this.bytes += size;
    bp.data.set(data);
    bp.valid = true;
    bp.dirty = true;
    this.dirtyCount++;
    this.dirtyList.append(bp);
  }

  /** Give a buffer back unchanged (or already marked). */
  brelse(td: Lwp, bp: Buf): void {
    bp.lock.release(td);
    this.relist(bp);
  }

  /** Put a released buffer at the tail of its free list (or forget an invalid one). */
  private relist(bp: Buf): void {
    bp.list?.remove(bp);
    if (!bp.valid && !bp.dirty && bp.writing === 0 && !bp.busy) {
      this.forget(bp);
      return;
    }
    (bp.dirty ? this.dirtyList : this.clean).append(bp);
  }

  /** Delayed write: the buffer changed; write it later. */
  bdwrite(td: Lwp, bp: Buf): void {
    bp.valid = true;
    if (!bp.dirty) {
      bp.dirty = true;
      this.dirtyCount++;
    }
    this.brelse(td, bp);
  }

  /** Synchronous write: the buffer changed; write it now (not flushed), then release it. */
  async bwrite(td: Lwp, bp: Buf): Promise<void> {
    bp.valid = true;
    if (bp.dirty) {
      bp.dirty = false;
      this.dirtyCount--;
    }
    bp.writing++;
    try {
      await bp.dev.write(bp.blkno * bp.size, bp.data);
      this.stats.writes++;
      this.stats.writeClusters++;
    } catch (e) {
      bp.dirty = true;
      this.dirtyCount++;
      throw e;
    } finally {
      bp.writing--;
      this.brelse(td, bp);
    }
  }

  /**
   * Write every dirty buffer of `dev` (ascending block order, adjacent blocks
   * in one transfer of at most 1 MiB), then flush the device's cache. On a
   * failed write the buffers of that cluster stay dirty and the error is thrown.
   */
  async bflush(td: Lwp, dev: BlockDevice): Promise<void> {
    await this.writeDirty(td, dev, Infinity);
    await dev.flush();
  }

  /** Write up to `limit` dirty buffers of dev (all by default), clustered. */
  private async writeDirty(td: Lwp, dev: BlockDevice, limit: number): Promise<void> {
    const dirty: Buf[] = [];
    for (let bp = this.dirtyList.head; bp !== null; bp = bp.next) if (bp.dev === dev) dirty.push(bp);
    // Dirty buffers still held are not on the list: find them in the device's table.
    if (this.dirtyCount > this.dirtyList.length) for (const bp of this.devs.get(dev)?.values() ?? []) if (bp.dirty && bp.list === null) dirty.push(bp);
    if (dirty.length === 0) return;
    dirty.sort((a, b) => a.blkno - b.blkno);
    let i = 0;
    let written = 0;
    while (i < dirty.length && written < limit) {
      const size = dirty[i]!.size;
      let j = i;
      while (j + 1 < dirty.length && dirty[j + 1]!.blkno === dirty[j]!.blkno + 1 && (j + 2 - i) * size <= MAX_CLUSTER_BYTES) j++;
      // Copy each buffer into the cluster under its lock, one at a time (never two buffers
      // held); one cleaned meanwhile by someone else splits the cluster there.
      const out = new Uint8Array((j - i + 1) * size);
      const taken: Buf[] = [];
      const at: number[] = [];
      for (let m = i; m <= j; m++) {
        const bp = dirty[m]!;
        const l = bp.lock.enter(td);
        if (l instanceof Promise) await l;
        if (bp.dirty) {
          out.set(bp.data, (m - i) * size);
          bp.dirty = false;
          this.dirtyCount--;
          bp.writing++;
          taken.push(bp);
          at.push(m - i);
        }
        this.brelse(td, bp);
      }
      const base = dirty[i]!.blkno;
      i = j + 1;
      let a = 0;
      try {
        while (a < taken.length) {
          let b = a + 1;
          while (b < taken.length && at[b] === at[b - 1]! + 1) b++;
          await dev.write((base + at[a]!) * size, out.subarray(at[a]! * size, (at[b - 1]! + 1) * size));
          this.stats.writes += b - a;
          this.stats.writeClusters++;
          written += b - a;
          for (let m = a; m < b; m++) taken[m]!.writing--;
          a = b;
        }
      } catch (e) {
        for (let m = a; m < taken.length; m++) {
          const bp = taken[m]!;
          bp.writing--;
          if (!bp.dirty) {
            bp.dirty = true;
            this.dirtyCount++;
            if (bp.list !== null) this.relist(bp);
          }
        }
        throw e;
      }
    }
  }

  /** Drop every buffer of a device (dirty ones are lost: flush first). */
  binval(dev: BlockDevice): void {
    const t = this.devs.get(dev);
    if (t === undefined) return;
    for (const bp of t.values()) {
      if (bp.dirty) this.dirtyCount--;
      bp.list?.remove(bp);
      this.count--;
      this.bytes -= bp.size;
    }
    this.devs.delete(dev);
  }

  /** Dirty buffers of a device (tests, umount checks). */
  dirtyOf(dev: BlockDevice): number {
    let n = 0;
    for (const bp of this.devs.get(dev)?.values() ?? []) if (bp.dirty) n++;
    return n;
  }

  private forget(bp: Buf): void {
    const t = this.devs.get(bp.dev);
    bp.list?.remove(bp);
    if (t?.get(bp.blkno) === bp) {
      t.delete(bp.blkno);
      this.count--;
      this.bytes -= bp.size;
    }
  }

  /** Make room for `need` bytes: evict clean idle buffers from the LRU head, writing back the oldest dirty ones if that is not enough. */
  private async reclaim(td: Lwp, need: number): Promise<void> {
    for (let round = 0; round < 3 && this.bytes + need > this.maxBytes; round++) {
      // Buffers being written or just handed to a waiter are skipped (moved to the tail).
      let budget = this.clean.length;
      while (this.bytes + need > this.maxBytes && this.clean.head !== null && budget-- > 0) {
        const bp = this.clean.head;
        if (bp.writing > 0 || bp.busy) {
          this.clean.remove(bp);
          this.clean.append(bp);
          continue;
        }
        this.forget(bp);
        this.stats.evictions++;
      }
      if (this.bytes + need <= this.maxBytes || this.dirtyList.head === null) return;
      await this.writeDirty(td, this.dirtyList.head.dev, Infinity);
    }
    // Still over: every buffer is busy; go over the bound rather than deadlock
    // (the next reclaim brings it back).
  }
}

/** This kernel's buffer cache, created (and its sysctl nodes registered) on first use. */
export function bufcache(k: Kernel): BufCache {
  let c = k.lookup<BufCache>('bufcache');
  if (c === undefined) {
    c = new BufCache(k);
    k.provide('bufcache', c);
  }
  return c;
}
