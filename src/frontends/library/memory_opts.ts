/**
 * The memory options every command that boots a kernel takes: `--memory
 * SIZE` (the kernel's memory limit, the host parameter `memlimit`: tmpfs
 * pages and inodes, pipe buffers and processes are charged to it, see
 * src/kern/memacct.ts) and `--tmpfs-size SIZE` (the root tmpfs's `size=`;
 * without it, half the memory limit, as Linux's tmpfs default).
 */

/** "65536", "64K", "512M", "2G" → bytes; throws an Error naming the option. */
export function parseSize(s: string, what: string): number {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (m === null) throw new Error(`${what}: '${s}' is not a size (like 65536, 64K, 512M, 2G)`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * mult;
}

/** The smallest memory limit a kernel is booted with (its own tables need some room). */
export const MIN_MEMORY = 16 * 1024 * 1024;

/** Host parameters for --memory / --tmpfs-size (either may be absent: the host's defaults then apply). */
export function memoryParams(memory: string | undefined, tmpfsSize: string | undefined, defaultMemory?: number): Record<string, string> {
  const params: Record<string, string> = {};
  const mem = memory !== undefined ? parseSize(memory, '--memory') : defaultMemory;
  if (mem !== undefined) {
    if (mem < MIN_MEMORY) throw new Error(`--memory must be at least 16M, not ${memory}`);
    params.memlimit = String(mem);
  }
  if (tmpfsSize !== undefined) params['rootfs.options'] = `size=${parseSize(tmpfsSize, '--tmpfs-size')}`;
  return params;
}
