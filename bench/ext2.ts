/**
 * ext2 benchmarks (`npm run bench ext2`): on a fresh 256 MiB image made by
 * mkfs.ext2 (4 KiB blocks) for each contender and task,
 *
 *   - write a 100 MiB file in 1 MiB pieces (made durable: fsync / umount),
 *     then read it back;
 *   - copy a tree of 10k small files (100 directories × 100 files of 1 KiB)
 *     into the image;
 *
 * through the kernel as a library (host disk over the block hypercalls,
 * buffer cache, ext2), against `debugfs -w` (libext2fs in C: `write` and
 * `dump`, one process per task, a command file for the tree) and the npm
 * package `ext2fs` (libext2fs in WebAssembly, through its fs.promises API),
 * in the same run. Figures are MB/s or files/s; ratios are ours / peer.
 *
 * EXT2_BENCH_MB (default 100) and EXT2_BENCH_FILES (default 10000) scale it
 * down; EXT2_BENCH_PEERS=debugfs skips the (slow) WebAssembly peer.
 */
import * as nfs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { boot, O_CREAT, O_RDONLY, O_WRONLY } from '../src/entry/index.node.ts';

const MB = Number(process.env.EXT2_BENCH_MB ?? 100);
const FILES = Number(process.env.EXT2_BENCH_FILES ?? 10_000);
const PEERS = (process.env.EXT2_BENCH_PEERS ?? 'debugfs,ext2fs').split(',');
const PER_DIR = 100;
/** A variable, so the type checker does not look for the untyped package's declarations. */
const EXT2FS_MODULE = 'ext2fs';
const SMALL = new Uint8Array(1024).fill(0x61);

interface Result { write: number; read: number; tree: number }

function freshImage(dir: string, name: string): string {
  const img = path.join(dir, name);
  execFileSync('mkfs.ext2', ['-F', '-q', '-b', '4096', img, '256M']);
  return img;
}

function secs(t0: number): number {
  return (performance.now() - t0) / 1000;
}

async function anykernel(dir: string): Promise<Result> {
  const chunk = new Uint8Array(1 << 20).fill(7);
  const mount = async (img: string) => {
    const k = await boot({ components: ['kern', 'vfs', 'tmpfs', 'blk', 'ext2'] });
    await k.sys.mkdir('/mnt', 0o755);
    await k.sys.mount(img, '/mnt', 'ext2', 0, '');
    return k;
  };
  let img = freshImage(dir, 'ak-file');
  let k = await mount(img);
  let t0 = performance.now();
  const fd = await k.sys.open('/mnt/big', O_CREAT | O_WRONLY, 0o644);
  for (let i = 0; i < MB; i++) await k.sys.write(fd, chunk);
  await k.sys.fsync(fd);
  await k.sys.close(fd);
  const write = MB / secs(t0);
  await k.sys.umount2('/mnt', 0);
  await k.shutdown();
  k = await mount(img); // a cold cache for the read
  t0 = performance.now();
  const rd = await k.sys.open('/mnt/big', O_RDONLY);
  while ((await k.sys.read(rd, chunk)) > 0);
  await k.sys.close(rd);
  const read = MB / secs(t0);
  await k.sys.umount2('/mnt', 0);
  await k.shutdown();
  img = freshImage(dir, 'ak-tree');
  k = await mount(img);
  t0 = performance.now();
  for (let d = 0; d * PER_DIR < FILES; d++) {
    await k.sys.mkdir(`/mnt/d${d}`, 0o755);
    for (let f = 0; f < PER_DIR && d * PER_DIR + f < FILES; f++) {
      const w = await k.sys.open(`/mnt/d${d}/f${f}`, O_CREAT | O_WRONLY, 0o644);
      await k.sys.write(w, SMALL);
      await k.sys.close(w);
    }
  }
  await k.sys.umount2('/mnt', 0);
  const tree = FILES / secs(t0);
  await k.shutdown();
  return { write, read, tree };
}

function debugfs(dir: string): Result {
  const host = path.join(dir, 'host-big');
  nfs.writeFileSync(host, new Uint8Array(MB << 20).fill(7));
  let img = freshImage(dir, 'dbg-file');
  let t0 = performance.now();
  execFileSync('debugfs', ['-w', '-R', `write ${host} big`, img], { stdio: 'ignore' });
  const write = MB / secs(t0);
  const out = path.join(dir, 'dbg-out');
  t0 = performance.now();
  execFileSync('debugfs', ['-R', `dump /big ${out}`, img], { stdio: 'ignore' });
  const read = MB / secs(t0);
  nfs.rmSync(out);
  nfs.rmSync(host);
  const small = path.join(dir, 'host-small');
  nfs.writeFileSync(small, SMALL);
  const cmds: string[] = [];
  for (let d = 0; d * PER_DIR < FILES; d++) {
    // debugfs's mkdir takes its path relative to the cwd even with a leading '/': go back to the root first.
    cmds.push('cd /', `mkdir d${d}`, `cd /d${d}`);
    for (let f = 0; f < PER_DIR && d * PER_DIR + f < FILES; f++) cmds.push(`write ${small} f${f}`);
  }
  const cmdFile = path.join(dir, 'cmds');
  nfs.writeFileSync(cmdFile, cmds.join('\n') + '\n');
  img = freshImage(dir, 'dbg-tree');
  t0 = performance.now();
  execFileSync('debugfs', ['-w', '-f', cmdFile, img], { stdio: 'ignore' });
  const tree = FILES / secs(t0);
  return { write, read, tree };
}

/** The ext2fs package's disk interface over a host file. */
class HostFileDisk {
  constructor(private readonly fd: number) {}
  async read(buf: Buffer, bufOff: number, len: number, off: number) {
    const n = nfs.readSync(this.fd, buf, bufOff, len, off);
    return { bytesRead: n, buffer: buf };
  }
  async write(buf: Buffer, bufOff: number, len: number, off: number) {
    const n = nfs.writeSync(this.fd, buf, bufOff, len, off);
    return { bytesWritten: n, buffer: buf };
  }
  async flush() { nfs.fdatasyncSync(this.fd); }
  async discard() {}
}

async function ext2fsPkg(dir: string): Promise<Result> {
  const { withMountedDisk } = (await import(EXT2FS_MODULE)) as unknown as { withMountedDisk: (d: unknown, off: number, fn: (fs: { promises: typeof nfs.promises }) => Promise<void>) => Promise<void> };
  const withImage = async (img: string, fn: (fsp: typeof nfs.promises) => Promise<void>): Promise<void> => {
    const fd = nfs.openSync(img, 'r+');
    try {
      await withMountedDisk(new HostFileDisk(fd), 0, ({ promises }) => fn(promises));
    } finally {
      nfs.closeSync(fd);
    }
  };
  const chunk = Buffer.alloc(1 << 20, 7);
  let img = freshImage(dir, 'wasm-file');
  let t0 = performance.now();
  await withImage(img, async (fsp) => {
    const fh = await fsp.open('/big', 'w', 0o644);
    for (let i = 0; i < MB; i++) await fh.write(chunk, 0, chunk.byteLength, null);
    await fh.close();
  });
  const write = MB / secs(t0);
  t0 = performance.now();
  await withImage(img, async (fsp) => {
    const fh = await fsp.open('/big', 'r');
    while ((await fh.read(chunk, 0, chunk.byteLength, null)).bytesRead > 0);
    await fh.close();
  });
  const read = MB / secs(t0);
  img = freshImage(dir, 'wasm-tree');
  t0 = performance.now();
  await withImage(img, async (fsp) => {
    for (let d = 0; d * PER_DIR < FILES; d++) {
      await fsp.mkdir(`/d${d}`, 0o755);
      for (let f = 0; f < PER_DIR && d * PER_DIR + f < FILES; f++) await fsp.writeFile(`/d${d}/f${f}`, SMALL);
    }
  });
  const tree = FILES / secs(t0);
  return { write, read, tree };
}

function row(name: string, r: Result, ours?: Result): string {
  const cell = (v: number, o: number | undefined, unit: string): string => `${v.toFixed(1).padStart(9)} ${unit}${o === undefined ? '        ' : ` (${(o / v).toFixed(2)}x)`.padEnd(10)}`;
  return `${name.padEnd(22)}${cell(r.write, ours?.write, 'MB/s')}${cell(r.read, ours?.read, 'MB/s')}${cell(r.tree, ours?.tree, 'files/s')}`;
}

export async function run(): Promise<void> {
  const dir = nfs.mkdtempSync(path.join(os.tmpdir(), 'ak-bench-ext2-'));
  try {
    console.log(`\next2: ${MB} MiB file write+read, ${FILES}-file tree copy, fresh 256 MiB images (4 KiB blocks); (ours/peer) ratios`);
    console.log(`${''.padEnd(22)}${'write'.padStart(14)}${''.padEnd(10)}${'read'.padStart(9)}${''.padEnd(15)}${'tree copy'.padStart(12)}`);
    const ours = await anykernel(dir);
    console.log(row('anykernel (library)', ours));
    if (PEERS.includes('debugfs')) console.log(row('debugfs -w (C)', debugfs(dir), ours));
    if (PEERS.includes('ext2fs')) console.log(row('ext2fs npm (wasm)', await ext2fsPkg(dir), ours));
  } finally {
    nfs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
