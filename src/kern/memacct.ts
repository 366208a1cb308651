/**
 * Kernel memory accounting: what each subsystem holds, against one limit.
 *
 * A kernel has a memory limit (the host parameter `memlimit`, bytes). Every
 * subsystem that keeps memory on behalf of users charges it here before it
 * allocates and uncharges it when it frees: tmpfs file pages and inodes
 * ('shmem', 'inodes'), pipe buffers ('pipes'), processes ('procs': the
 * fixed cost of a process — its tables and kernel-side state), later socket
 * buffers and the buffer cache. A charge that would pass the limit fails,
 * and the caller answers as Linux does when an allocation fails: ENOSPC for
 * file data, ENOMEM for fork(2), pipe(2) and friends — never by letting the
 * host process run out.
 *
 * Charges are estimates of what the JavaScript objects cost, not exact heap
 * sizes; what matters is that every unbounded growth goes through here.
 * `/proc/meminfo` and the `vm.mem.*` sysctls report the figures.
 *
 * @guardedBy the single virtual CPU.
 */
export type MemCategory = 'shmem' | 'inodes' | 'pipes' | 'procs' | 'sockets' | 'buffers';

const CATEGORIES: readonly MemCategory[] = ['shmem', 'inodes', 'pipes', 'procs', 'sockets', 'buffers'];

/** What one process costs the kernel (proc, fd table, signal state, kernel stack): Linux's task_struct + stack is ~16 KiB. */
export const PROC_COST = 16 * 1024;
/** What one in-memory inode costs (vnode, node, directory entry). */
export const INODE_COST = 1024;

export class MemAccount {
  /** Bytes the kernel may hold in all (Infinity: unlimited). */
  limit: number;
  private used = 0;
  private readonly byCat = new Map<MemCategory, number>();
  /** Charges refused since boot (each would have passed the limit). */
  failures = 0;

  constructor(limit: number) {
    this.limit = limit > 0 && Number.isFinite(limit) ? limit : Infinity;
    for (const c of CATEGORIES) this.byCat.set(c, 0);
  }

  get total(): number {
    return this.used;
  }

  get free(): number {
    return this.limit === Infinity ? Infinity : Math.max(0, this.limit - this.used);
  }

  of(cat: MemCategory): number {
    return this.byCat.get(cat)!;
  }

  /** Would `bytes` more fit? */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.limit;
  }

  /** Charge `bytes` to `cat`; false (and nothing charged) when it would pass the limit. */
  charge(cat: MemCategory, bytes: number): boolean {
    if (bytes <= 0) return true;
    if (this.used + bytes > this.limit) {
      this.failures++;
      return false;
    }
    this.used += bytes;
    this.byCat.set(cat, this.byCat.get(cat)! + bytes);
    return true;
  }

  uncharge(cat: MemCategory, bytes: number): void {
    if (bytes <= 0) return;
    const have = this.byCat.get(cat)!;
    // More returned than charged is an accounting bug; clamp so one bug does not hide the rest.
    const n = Math.min(bytes, have);
    this.byCat.set(cat, have - n);
    this.used -= n;
  }

  /** /proc/meminfo in Linux's layout (fs/proc/meminfo.c: "%-15s %8lu kB" style), the fields programs read. */
  meminfo(): string {
    const kb = (b: number): string => String(Math.floor(b / 1024)).padStart(8);
    const total = this.limit === Infinity ? this.used : this.limit;
    const free = total - this.used;
    const line = (name: string, bytes: number): string => `${`${name}:`.padEnd(15)} ${kb(bytes)} kB\n`;
    const shmem = this.of('shmem');
    return (
      line('MemTotal', total) +
      line('MemFree', free) +
      line('MemAvailable', free) +
      line('Buffers', this.of('buffers')) +
      line('Cached', shmem) +
      line('Shmem', shmem) +
      line('KernelStack', this.of('procs')) +
      line('Slab', this.of('inodes') + this.of('pipes') + this.of('sockets')) +
      line('SwapTotal', 0) +
      line('SwapFree', 0)
    );
  }

  /** Charged bytes per category, for sysctl and tests. */
  snapshot(): Record<MemCategory | 'total', number> {
    const o = { total: this.used } as Record<MemCategory | 'total', number>;
    for (const c of CATEGORIES) o[c] = this.byCat.get(c)!;
    return o;
  }
}
