/**
 * The page pool: 64 KiB pages for file data (tmpfs today, a buffer cache
 * later), the kernel's counterpart of uvm's free page queues.
 *
 * Pages are carved from 4 MiB slabs — one ArrayBuffer per 64 pages, so a
 * big file costs a handful of allocations and the GC tracks slabs, not
 * pages. A page a file system gives back (a file unlinked or truncated) goes
 * on a free list and is handed out again before any new slab is made, up to
 * `maxFreeBytes` (sysctl vm.pagepool_max, host parameter `pagepool_max`);
 * beyond that it is dropped for the GC.
 *
 * Why keep free pages at all: memory the process has never touched costs a
 * page fault per 4 KiB on first write. On the VMs we measure on that is
 * ~4 µs a fault, which caps writing into fresh memory near 1 GB/s whatever
 * the copy costs; a reused page is already mapped and takes the copy at
 * memory speed (≥ 3 GB/s there). A real kernel keeps its free pages for the
 * same reason. The price is memory: up to maxFreeBytes stay with this kernel
 * after files are deleted (0 gives every page back at once).
 *
 * Reused pages are zeroed before they are handed out, except the range the
 * caller says it is about to overwrite (`alloc(from, to)`): no file can see
 * another file's old bytes. A fresh slab page is zero already.
 *
 * @guardedBy the kernel's single thread: alloc and release never suspend.
 */

/** Bytes per page. */
export const PAGE_SIZE = 65536;
/** Pages per slab (4 MiB). */
const SLAB_PAGES = 64;
/** Default most bytes of free pages kept (pagepool_max). */
export const DEFAULT_POOL_MAX = 256 * 1024 * 1024;

export class PagePool {
  /** Most bytes of free pages kept for reuse; more are dropped. */
  maxFreeBytes: number;
  private readonly free: Uint8Array[] = [];
  private slab: ArrayBuffer | null = null;
  private slabNext = 0;
  /** Counters for sysctl/procfs and tests. */
  readonly stats = { fresh: 0, reused: 0, released: 0, dropped: 0 };

  constructor(maxFreeBytes = DEFAULT_POOL_MAX) {
    this.maxFreeBytes = maxFreeBytes;
  }

  /** Bytes of free pages held now. */
  get freeBytes(): number {
    return this.free.length * PAGE_SIZE;
  }

  /**
   * A page whose bytes are all zero except [from, to), which the caller
   * will overwrite at once (default: the whole page, no zeroing).
   */
  alloc(from = 0, to = PAGE_SIZE): Uint8Array {
    const p = this.free.pop();
    if (p !== undefined) {
      this.stats.reused++;
      if (from > 0) p.fill(0, 0, Math.min(from, PAGE_SIZE));
      if (to < PAGE_SIZE) p.fill(0, Math.max(to, 0));
      return p;
    }
    if (this.slab === null || this.slabNext === SLAB_PAGES) {
      this.slab = new ArrayBuffer(SLAB_PAGES * PAGE_SIZE);
      this.slabNext = 0;
    }
    this.stats.fresh++;
    return new Uint8Array(this.slab, this.slabNext++ * PAGE_SIZE, PAGE_SIZE);
  }

  /** Give a page back; the caller keeps no reference to it. Pages not of PAGE_SIZE are ignored. */
  release(page: Uint8Array): void {
    if (page.byteLength !== PAGE_SIZE) return;
    if ((this.free.length + 1) * PAGE_SIZE <= this.maxFreeBytes) {
      this.free.push(page);
      this.stats.released++;
    } else this.stats.dropped++;
  }

  /** Drop free pages until at most `bytes` are held (sysctl writes, memory pressure). */
  trim(bytes: number): void {
    const keep = Math.max(0, Math.floor(bytes / PAGE_SIZE));
    if (this.free.length > keep) {
      this.stats.dropped += this.free.length - keep;
      this.free.length = keep;
    }
  }
}
