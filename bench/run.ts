/**
 * `npm run bench`: every benchmark suite, each comparing against its peers in
 * the same run and printing ratios. Select suites with arguments:
 * `npm run bench -- kern vfs`.
 */
const suites: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  kern: () => import('./kern.ts'),
  vfs: () => import('./vfs.ts'),
  sysproxy: () => import('./sysproxy.ts'),
  fuse: () => import('./fuse.ts'),
  lockdep: () => import('./lockdep.ts'),
  net: () => import('./net.ts'),
  ext2: () => import('./ext2.ts'),
  boot: () => import('./boot.ts'),
};

const wanted = process.argv.slice(2);
for (const [name, load] of Object.entries(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const mod = await load();
  await mod.run();
}
