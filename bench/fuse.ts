/**
 * FUSE benchmark: the kernel's tmpfs served by `anykernel mount` against the host's own
 * tmpfs (/dev/shm), measured in the same run by the same host programs:
 *   - stat/s: lstat of 64 names in a loop in a host process, on a mount with the CLI's default
 *     caching for `-o allow_other,default_permissions` (1 s attributes/entries: most stats never
 *     reach the server; without default_permissions the CLI turns the entry cache off, since the
 *     server's LOOKUP is then the only search-permission check) and on one with
 *     attr_timeout=0,entry_timeout=0 (every stat is a LOOKUP or GETATTR round trip);
 *   - 4 KiB random reads/s: fio randread, psync, page cache dropped first and readahead off
 *     (fadvise random), so each read of a new page is a READ request;
 *   - sequential MB/s: fio with 1 MiB blocks over 256 MiB, three rounds (median): write of a
 *     new file (the kernel's tmpfs allocates its pages; from the second round on they come
 *     from its page pool), overwrite of the same file, and read back (page cache dropped
 *     first). The first round's write and read are printed on their own as cold figures.
 * Goal: FUSE sequential ≥ 500 MB/s. Needs root, /dev/fuse and fio; prints why when it cannot run.
 * Then the ext2 comparison with fuse2fs (bench/fuse_meta.ts), when fuse2fs and mkfs.ext2 are
 * installed. The machine may be shared: each comparison runs its sides back to back in one run,
 * so read the ratios rather than the absolute figures.
 * Benchmarks print figures and ratios; they never assert on time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { medianOf, printTable, type Row } from './lib.ts';
import { fusePrerequisite, haveProgram, startMount, type Mounted } from '../test/fuse/mount.ts';
import { makeExt2, makeTree, metaRows, metaWorkloads, stageLine, startAnykernelExt2, startFuse2fs } from './fuse_meta.ts';

const MiB = 1 << 20;
const SEQ_SIZE = '256m';

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * MiB, encoding: 'utf8' }, (e, out, err) => (e ? reject(new Error(`${cmd} ${args.join(' ')}: ${err || e.message}`)) : resolve(out)));
  });
}

interface FioSide { bw_bytes: number; iops: number }
async function fio(dir: string, args: string[]): Promise<{ read: FioSide; write: FioSide }> {
  const out = await exec('fio', ['--name=bench', `--directory=${dir}`, '--ioengine=psync', '--output-format=json', ...args]);
  const j = JSON.parse(out.slice(out.indexOf('{'))) as { jobs: { read: FioSide; write: FioSide }[] };
  return j.jobs[0]!;
}

function dropCaches(): void {
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    // not root: fio's --invalidate still drops the file's own pages
  }
}

/** lstat calls per second from `procs` host processes, `n` each. */
async function statRate(dir: string, procs: number, n: number): Promise<number> {
  fs.mkdirSync(path.join(dir, 'stat'), { recursive: true });
  for (let i = 0; i < 64; i++) fs.writeFileSync(path.join(dir, 'stat', `f${i}`), 'x');
  const script = `const fs=require('node:fs');const d=${JSON.stringify(path.join(dir, 'stat'))};for(let i=0;i<2000;i++)fs.lstatSync(d+'/f'+(i%64));const t=process.hrtime.bigint();for(let i=0;i<${n};i++)fs.lstatSync(d+'/f'+(i%64));console.log(Number(process.hrtime.bigint()-t));`;
  const outs = await Promise.all(Array.from({ length: procs }, () => exec(process.execPath, ['-e', script])));
  // Each process times its own loop; the rate is the sum of the per-process rates.
  return outs.reduce((s, o) => s + n / (Number(o.trim()) / 1e9), 0);
}

interface Figures {
  stat1: number;
  stat4: number;
  rand4k: number;
  seqWrite: number;
  seqOverwrite: number;
  seqRead: number;
  coldWrite: number;
  coldRead: number;
}

const SEQ_ROUNDS = 3;

async function measure(dir: string): Promise<Figures> {
  const stat1 = await statRate(dir, 1, 20_000);
  const stat4 = await statRate(dir, 4, 10_000);
  const seqFile = ['--filename=seq', `--size=${SEQ_SIZE}`, '--bs=1m'];
  // Three rounds of (write a new file, overwrite it, read it back), median of
  // each; the first round's new-file write and read are also kept on their
  // own: they run on memory the server has never touched (a page fault per
  // 4 KiB costs ~4 µs on this VM) and on code the JIT has not seen.
  const ws: number[] = [], ows: number[] = [], rs: number[] = [];
  for (let round = 0; round < SEQ_ROUNDS; round++) {
    fs.rmSync(path.join(dir, 'seq'), { force: true });
    const w = await fio(dir, [...seqFile, '--rw=write', '--fallocate=none', '--end_fsync=1']);
    const ow = await fio(dir, [...seqFile, '--rw=write', '--fallocate=none', '--end_fsync=1']);
    dropCaches();
    const r = await fio(dir, [...seqFile, '--rw=read', '--invalidate=1']);
    ws.push(w.write.bw_bytes / 1e6);
    ows.push(ow.write.bw_bytes / 1e6);
    rs.push(r.read.bw_bytes / 1e6);
  }
  dropCaches();
  const rr = await fio(dir, ['--filename=seq', `--size=${SEQ_SIZE}`, '--bs=4k', '--rw=randread', '--io_size=16m', '--invalidate=1', '--fadvise_hint=1', '--randrepeat=1']);
  fs.rmSync(path.join(dir, 'seq'), { force: true });
  fs.rmSync(path.join(dir, 'stat'), { recursive: true, force: true });
  return {
    stat1, stat4, rand4k: rr.read.iops,
    seqWrite: medianOf(ws), seqOverwrite: medianOf(ows), seqRead: medianOf(rs), coldWrite: ws[0]!, coldRead: rs[0]!,
  };
}

export async function run(): Promise<void> {
  const missing = fusePrerequisite() ?? (haveProgram('fio') ? undefined : 'fio is not installed');
  if (missing !== undefined) {
    console.log(`\n## FUSE mount vs host tmpfs\n  skipped: ${missing} (needs root, /dev/fuse and fio)`);
    return;
  }
  const shm = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'akbench-'));
  let cached: Mounted | undefined;
  let uncached: Mounted | undefined;
  try {
    cached = await startMount({ options: ['allow_other', 'default_permissions'] });
    uncached = await startMount({ options: ['allow_other', 'attr_timeout=0', 'entry_timeout=0'] });
    const host = await measure(shm);
    const fuse = await measure(cached.dir);
    const stat0 = await statRate(uncached.dir, 1, 5_000);
    const stat0x4 = await statRate(uncached.dir, 4, 2_500);
    const x = (a: number, b: number) => `${(a / b).toFixed(2)}x host tmpfs`;
    const rows: Row[] = [
      { name: 'stat/s, 1 process, host tmpfs', rate: host.stat1, unit: 'stat/s' },
      { name: 'stat/s, 1 process, FUSE (1 s attr cache)', rate: fuse.stat1, unit: 'stat/s', note: x(fuse.stat1, host.stat1) },
      { name: 'stat/s, 1 process, FUSE (no cache: round trips)', rate: stat0, unit: 'stat/s', note: x(stat0, host.stat1) },
      { name: 'stat/s, 4 processes, host tmpfs', rate: host.stat4, unit: 'stat/s' },
      { name: 'stat/s, 4 processes, FUSE (1 s attr cache)', rate: fuse.stat4, unit: 'stat/s', note: x(fuse.stat4, host.stat4) },
      { name: 'stat/s, 4 processes, FUSE (no cache: round trips)', rate: stat0x4, unit: 'stat/s', note: x(stat0x4, host.stat4) },
      { name: '4 KiB random reads/s, host tmpfs', rate: host.rand4k, unit: 'reads/s' },
      { name: '4 KiB random reads/s, FUSE (cold page cache)', rate: fuse.rand4k, unit: 'reads/s', note: x(fuse.rand4k, host.rand4k) },
      { name: 'first write of a new file, host tmpfs', rate: host.coldWrite, unit: 'MB/s' },
      { name: 'first write of a new file, FUSE (cold memory)', rate: fuse.coldWrite, unit: 'MB/s', note: x(fuse.coldWrite, host.coldWrite) },
      { name: 'first read, host tmpfs', rate: host.coldRead, unit: 'MB/s' },
      { name: 'first read, FUSE (server JIT cold)', rate: fuse.coldRead, unit: 'MB/s', note: x(fuse.coldRead, host.coldRead) },
      { name: 'sequential write of a new file, host tmpfs', rate: host.seqWrite, unit: 'MB/s' },
      { name: 'sequential write of a new file, FUSE', rate: fuse.seqWrite, unit: 'MB/s', note: `${x(fuse.seqWrite, host.seqWrite)}; goal 500 MB/s` },
      { name: 'sequential overwrite, host tmpfs', rate: host.seqOverwrite, unit: 'MB/s' },
      { name: 'sequential overwrite, FUSE', rate: fuse.seqOverwrite, unit: 'MB/s', note: `${x(fuse.seqOverwrite, host.seqOverwrite)}; goal 500 MB/s` },
      { name: 'sequential read, host tmpfs', rate: host.seqRead, unit: 'MB/s' },
      { name: 'sequential read, FUSE (page cache dropped)', rate: fuse.seqRead, unit: 'MB/s', note: `${x(fuse.seqRead, host.seqRead)}; goal 500 MB/s` },
    ];
    printTable(`FUSE mount (anykernel mount, max_write 1 MiB) vs host tmpfs, ${SEQ_SIZE} files, fio psync`, rows);
  } finally {
    await cached?.stop();
    await uncached?.stop();
    fs.rmSync(shm, { recursive: true, force: true });
  }
  await versusFuse2fs();
}

/** anykernel mount --type ext2 against fuse2fs on alike images, defaults and uncached. */
export async function versusFuse2fs(): Promise<void> {
  if (!haveProgram('fuse2fs') || !haveProgram('mkfs.ext2')) {
    console.log('\n## FUSE ext2: anykernel vs fuse2fs\n  skipped: fuse2fs or mkfs.ext2 is not installed');
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'akbench-ext2-'));
  const shm = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'akbench-'));
  const stages = path.join(work, 'stages.json');
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const src = makeTree(shm);
    const host = await metaWorkloads(shm, src);
    const UNCACHED = ['attr_timeout=0', 'entry_timeout=0'];
    const side = async (name: string, start: (img: string) => Promise<{ dir: string; stop(): Promise<unknown> }>) => {
      const img = path.join(work, `${name}.img`);
      await makeExt2(img);
      const m = await start(img);
      stops.push(() => m.stop());
      const f = await metaWorkloads(m.dir, src);
      await m.stop();
      stops.pop();
      fs.rmSync(img);
      return f;
    };
    // Sides alternate (C peer, anykernel, C peer, anykernel) so a change in load weighs on both.
    const f2Uncached = await side('f2u', (img) => startFuse2fs(img, [...UNCACHED, 'negative_timeout=0']));
    const akUncached = await side('aku', (img) => startAnykernelExt2(img, UNCACHED, stages));
    const f2Default = await side('f2d', (img) => startFuse2fs(img, []));
    const akDefault = await side('akd', (img) => startAnykernelExt2(img, []));
    printTable('FUSE ext2: anykernel mount --type ext2 vs fuse2fs (same-run ratios; a shared machine makes absolute figures noisy)', metaRows(host, [
      { name: 'fuse2fs, attr/entry_timeout=0', f: f2Uncached },
      { name: 'anykernel, attr/entry_timeout=0', f: akUncached, peer: f2Uncached },
      { name: 'fuse2fs, defaults', f: f2Default },
      { name: 'anykernel, defaults', f: akDefault, peer: f2Default },
    ]));
    console.log(`  anykernel per-request stages (uncached side): ${stageLine(stages)}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    fs.rmSync(shm, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const invoked = process.argv[1] !== undefined && import.meta.url === `file://${path.resolve(process.argv[1])}`;
if (invoked) await run();
