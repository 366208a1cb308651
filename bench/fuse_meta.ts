/**
 * FUSE metadata and small-file benchmark: `anykernel mount --type ext2` against fuse2fs (libfuse
 * and libext2fs, in C) on ext2 images made alike by mkfs.ext2, each with its default caching and
 * with attr_timeout=0,entry_timeout=0 (every lookup and stat a round trip), beside the host's
 * tmpfs; all in the same run, every figure with its ratio to fuse2fs and to host tmpfs. The
 * workloads run in host processes (never in the process that serves the mount):
 *   - uncached stat: lstat of 64 names in a loop, 1 and 4 processes;
 *   - lookup of missing names (lstat → ENOENT);
 *   - create+write+close of 4 KiB files (10 000 in one directory), then readdir of those 10 000
 *     entries, then unlink of all of them;
 *   - 4 KiB random reads with a cold page cache (fio randread, psync, fadvise random);
 *   - `cp -a` of a 10 000-file tree (100 directories of 100 files of 1 KiB) from host tmpfs.
 * It also prints where anykernel's time per request goes (stage timing of the uncached server:
 * read(2) → received by the kernel thread → parsed → handled → reply written).
 * Benchmarks print figures and ratios; they never assert on time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import type { Row } from './lib.ts';
import { startMount, type Mounted } from '../test/fuse/mount.ts';
import type { StageTotals } from '../src/frontends/fuse/dispatch.ts';

const FILES = 10_000;
const STATS = 4000;

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, encoding: 'utf8' }, (e, out, err) => (e ? reject(new Error(`${cmd} ${args.join(' ')}: ${err || e.message}`)) : resolve(out)));
  });
}

/** Run a node script in a host process; it prints elapsed nanoseconds. */
async function timed(script: string, ...args: string[]): Promise<number> {
  const out = await exec(process.execPath, ['-e', `const fs=require('node:fs');const a=process.argv.slice(1);${script}`, ...args]);
  return Number(out.trim().split('\n').pop()) / 1e9;
}

const T0 = 'const t=process.hrtime.bigint();';
const T1 = 'console.log(String(process.hrtime.bigint()-t));';

export interface MetaFigures {
  stat1: number; stat4: number; missing: number; create: number; readdir: number; unlink: number; rand4k: number; cpTree: number;
}

/** Every workload on `dir`, in order; `src` is the tree `cp -a` copies (on host tmpfs). */
export async function metaWorkloads(dir: string, src: string): Promise<MetaFigures> {
  const s = path.join(dir, 'stat');
  fs.mkdirSync(s, { recursive: true });
  for (let i = 0; i < 64; i++) fs.writeFileSync(path.join(s, `f${i}`), 'x');
  const statLoop = `const d=a[0],n=+a[1];for(let i=0;i<500;i++)fs.lstatSync(d+'/f'+(i%64));${T0}for(let i=0;i<n;i++)fs.lstatSync(d+'/f'+(i%64));${T1}`;
  const stat1 = STATS / (await timed(statLoop, s, String(STATS)));
  const per4 = await Promise.all([0, 1, 2, 3].map(() => timed(statLoop, s, String(STATS / 2))));
  const stat4 = per4.reduce((acc, sec) => acc + STATS / 2 / sec, 0);
  const missing = STATS / (await timed(`const d=a[0],n=+a[1];${T0}for(let i=0;i<n;i++){try{fs.lstatSync(d+'/missing'+i)}catch{}}${T1}`, s, String(STATS)));
  const c = path.join(dir, 'c');
  fs.mkdirSync(c);
  const create = FILES / (await timed(`const d=a[0],n=+a[1],b=Buffer.alloc(4096,7);${T0}for(let i=0;i<n;i++){const f=fs.openSync(d+'/f'+i,'w');fs.writeSync(f,b);fs.closeSync(f)}${T1}`, c, String(FILES)));
  const readdir = (3 * FILES) / (await timed(`const d=a[0];${T0}for(let i=0;i<3;i++)if(fs.readdirSync(d).length!==+a[1])throw new Error('short readdir');${T1}`, c, String(FILES)));
  const unlink = FILES / (await timed(`const d=a[0],n=+a[1];${T0}for(let i=0;i<n;i++)fs.unlinkSync(d+'/f'+i);${T1}`, c, String(FILES)));
  fs.rmdirSync(c);
  await exec('fio', ['--name=mk', `--directory=${dir}`, '--filename=rand', '--size=64m', '--bs=1m', '--rw=write', '--ioengine=psync', '--end_fsync=1']);
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    // not root: fio's --invalidate still drops the file's own pages
  }
  const rr = await exec('fio', ['--name=rr', `--directory=${dir}`, '--filename=rand', '--size=64m', '--bs=4k', '--rw=randread', '--io_size=8m', '--invalidate=1', '--fadvise_hint=1', '--randrepeat=1', '--ioengine=psync', '--output-format=json']);
  const rand4k = (JSON.parse(rr.slice(rr.indexOf('{'))) as { jobs: { read: { iops: number } }[] }).jobs[0]!.read.iops;
  fs.rmSync(path.join(dir, 'rand'));
  const t = process.hrtime.bigint();
  await exec('cp', ['-a', src, path.join(dir, 'copy')]);
  const cpTree = Number(process.hrtime.bigint() - t) / 1e9;
  fs.rmSync(path.join(dir, 'copy'), { recursive: true });
  fs.rmSync(s, { recursive: true });
  return { stat1, stat4, missing, create, readdir, unlink, rand4k, cpTree };
}

/** 100 directories of 100 files of 1 KiB under `root`/tree. */
export function makeTree(root: string): string {
  const src = path.join(root, 'src');
  const b = Buffer.alloc(1024, 1);
  for (let d = 0; d < 100; d++) {
    fs.mkdirSync(path.join(src, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), b);
  }
  return src;
}

/** An empty ext2 image: 4 KiB blocks, enough inodes for every workload. */
export async function makeExt2(file: string): Promise<void> {
  await exec('mkfs.ext2', ['-F', '-q', '-b', '4096', '-N', '65536', file, '512M']);
}

export interface Fuse2fs { dir: string; stop(): Promise<void> }

/** fuse2fs IMG DIR in the foreground (-f), until stop() unmounts it. */
export async function startFuse2fs(image: string, opts: string[]): Promise<Fuse2fs> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuse2fs-'));
  const child = spawn('fuse2fs', [image, dir, '-f', '-o', ['rw', ...opts].join(',')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  for (let i = 0; ; i++) {
    if ((await fs.promises.readFile('/proc/self/mountinfo', 'utf8')).includes(` ${dir} `)) break;
    if (child.exitCode !== null || i > 200) throw new Error(`fuse2fs did not mount ${image}: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dir,
    async stop() {
      await exec('umount', [dir]).catch(() => exec('umount', ['-l', dir]));
      await exited;
      fs.rmdirSync(dir);
    },
  };
}

/** Mount the image with `anykernel mount --type ext2`, optionally writing stage totals to `stagesFile` at exit. */
export async function startAnykernelExt2(image: string, opts: string[], stagesFile?: string): Promise<Mounted> {
  const before = process.env.ANYKERNEL_FUSE_STAGES;
  if (stagesFile !== undefined) process.env.ANYKERNEL_FUSE_STAGES = stagesFile;
  try {
    return await startMount({ args: ['--type', 'ext2', '--image', image], options: opts });
  } finally {
    if (before === undefined) delete process.env.ANYKERNEL_FUSE_STAGES;
    else process.env.ANYKERNEL_FUSE_STAGES = before;
  }
}

/** Rows for one workload: host tmpfs, then each FUSE side with its ratios. */
export function metaRows(
  host: MetaFigures,
  sides: { name: string; f: MetaFigures; peer?: MetaFigures }[],
): Row[] {
  const rows: Row[] = [];
  const kinds: [keyof MetaFigures, string, string][] = [
    ['stat1', 'stat, 1 process', 'stat/s'],
    ['stat4', 'stat, 4 processes', 'stat/s'],
    ['missing', 'lookup of a missing name', 'lookups/s'],
    ['create', 'create+write 4 KiB+close', 'files/s'],
    ['readdir', 'readdir of 10k entries', 'entries/s'],
    ['unlink', 'unlink', 'unlinks/s'],
    ['rand4k', '4 KiB random reads, cold cache', 'reads/s'],
    ['cpTree', 'cp -a of 10k files (lower is better)', 's'],
  ];
  for (const [k, what, unit] of kinds) {
    const lowerBetter = k === 'cpTree';
    const r = (a: number, b: number) => (lowerBetter ? b / a : a / b).toFixed(2);
    rows.push({ name: `${what}, host tmpfs`, rate: host[k], unit });
    for (const s of sides) {
      const vsPeer = s.peer ? `${r(s.f[k], s.peer[k])}x fuse2fs, ` : '';
      rows.push({ name: `${what}, ${s.name}`, rate: s.f[k], unit, note: `${vsPeer}${r(s.f[k], host[k])}x host tmpfs` });
    }
  }
  return rows;
}

/** Per-request stage costs from a stage file written at the server's exit. */
export function stageLine(file: string): string {
  let st: StageTotals;
  try {
    st = JSON.parse(fs.readFileSync(file, 'utf8')) as StageTotals;
  } catch {
    return 'stage timing: not written';
  }
  const n = Math.max(1, st.requests);
  const f = (x: number) => (x / n).toFixed(1);
  return `${st.requests} requests, µs each: read(2)→kernel thread ${f(st.readToReceived)}, parse ${f(st.receivedToParsed)}, handler ${f(st.parsedToHandled)}, reply write(2) ${f(st.handledToWritten)}`;
}
