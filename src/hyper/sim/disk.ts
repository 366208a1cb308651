/**
 * In-memory block device with a volatile write cache, for the sim host.
 *
 * Model: a completed write lands in `current` (what reads see) and in an
 * ordered list of unflushed writes; a flush applies every completed write to
 * the `durable` image, in order. `crash(mode)` throws away the cache:
 *
 *   - "none"   (default) no unflushed write survives;
 *   - "prefix" a seeded-random prefix of the unflushed writes (in completion
 *              order) survives — a disk that writes back in order;
 *   - "subset" each unflushed write survives independently with p = 1/2 —
 *              a disk that reorders its write-back cache.
 *
 * Writes are whole: a crash never tears one write (nor one sector) in half.
 */
import type { BlockDevInfo } from '../types.ts';
import type { Rng } from './rng.ts';

export type CrashMode = 'none' | 'prefix' | 'subset';

export class SimDisk {
  readonly name: string;
  readonly sectorSize: number;
  readonly readOnly: boolean;
  private durable: Uint8Array;
  private current: Uint8Array;
  private unflushed: { offset: number; data: Uint8Array }[] = [];

  constructor(name: string, sizeOrImage: number | Uint8Array, opts: { sectorSize?: number; readOnly?: boolean } = {}) {
    this.name = name;
    this.sectorSize = opts.sectorSize ?? 512;
    this.readOnly = opts.readOnly ?? false;
    const size = typeof sizeOrImage === 'number' ? sizeOrImage : sizeOrImage.byteLength;
    if (!Number.isSafeInteger(size) || size < 0 || size % this.sectorSize !== 0) {
      throw new RangeError(`disk ${name}: size ${size} is not a non-negative multiple of the sector size ${this.sectorSize}`);
    }
    this.durable = typeof sizeOrImage === 'number' ? new Uint8Array(size) : sizeOrImage.slice();
    this.current = this.durable.slice();
  }

  get size(): number { return this.durable.byteLength; }
  info(readOnly: boolean): BlockDevInfo { return { size: this.size, sectorSize: this.sectorSize, readOnly: readOnly || this.readOnly }; }
  /** Writes completed but not yet flushed. */
  get dirty(): number { return this.unflushed.length; }

  /** Check an I/O range: 0 when fine, else a negative errno (EINVAL misaligned, EIO out of range). */
  check(offset: number, len: number): number {
    if (!Number.isSafeInteger(offset) || offset % this.sectorSize !== 0 || len % this.sectorSize !== 0) return -22;
    if (offset < 0 || offset + len > this.size) return -5;
    return 0;
  }
  read(offset: number, buf: Uint8Array): void { buf.set(this.current.subarray(offset, offset + buf.byteLength)); }
  write(offset: number, data: Uint8Array): void {
    this.current.set(data, offset);
    this.unflushed.push({ offset, data });
  }
  flush(): void {
    for (const w of this.unflushed) this.durable.set(w.data, w.offset);
    this.unflushed = [];
  }

  /** Lose the volatile cache as described above; returns how many writes were dropped. */
  crash(mode: CrashMode, rng: Rng): number {
    const n = this.unflushed.length;
    let kept: { offset: number; data: Uint8Array }[] = [];
    if (mode === 'prefix') kept = this.unflushed.slice(0, rng.below(n + 1));
    else if (mode === 'subset') kept = this.unflushed.filter(() => rng.next32() < 0x80000000);
    for (const w of kept) this.durable.set(w.data, w.offset);
    this.unflushed = [];
    this.current = this.durable.slice();
    return n - kept.length;
  }

  /** A copy of the durable bytes. */
  image(): Uint8Array { return this.durable.slice(); }
  /** A copy of what reads currently return (durable plus cached writes). */
  currentImage(): Uint8Array { return this.current.slice(); }
}
