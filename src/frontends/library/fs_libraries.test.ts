/**
 * Libraries written against node:fs, handed the facade: graceful-fs
 * (gracefulify patches the facade in place and extends its stream classes
 * the old way), klaw (a walk), proper-lockfile (mkdir-based locks with
 * mtime refresh), isomorphic-git (init, add, commit, log, status) and
 * archiver (a zip streamed from facade streams into a facade stream). Each
 * runs over a worker kernel; klaw and isomorphic-git also in-process. The
 * results are checked against the same code on the host where that is cheap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import realFs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { boot, type BootedKernel } from './boot.ts';
import { createFs } from './fs.ts';
import { startWorkerKernel, type WorkerKernel } from '../sysproxy/worker.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
const require = createRequire(import.meta.url);
type Fs = typeof realFs;
let T = '';
let k: BootedKernel;
let wk: WorkerKernel;
let kfs: Fs;
let wfs: Fs;

beforeAll(async () => {
  T = realFs.mkdtempSync(nodePath.join(os.tmpdir(), 'akfs-libs-'));
  k = await boot();
  wk = await startWorkerKernel();
  kfs = createFs(k) as unknown as Fs;
  wfs = createFs(wk) as unknown as Fs;
  for (const fs of [realFs, kfs, wfs]) {
    await fs.promises.mkdir(`${T}/tree/a/b`, { recursive: true });
    await fs.promises.writeFile(`${T}/tree/top.txt`, 'top\n');
    await fs.promises.writeFile(`${T}/tree/a/one.txt`, 'one\n');
    await fs.promises.writeFile(`${T}/tree/a/b/two.txt`, 'two\n');
    await fs.promises.symlink('a/one.txt', `${T}/tree/link`);
  }
}, 30_000);

afterAll(async () => {
  realFs.rmSync(T, { recursive: true, force: true });
  await k?.shutdown();
  await wk?.halt();
});

describe('graceful-fs', () => {
  it('gracefulify patches the facade in place; its legacy stream subclasses and queued callbacks work', async () => {
    const gracefulify = require('graceful-fs').gracefulify as (fs: unknown) => Fs;
    const gfs = gracefulify(createFs(wk)) as Fs;
    expect(await new Promise((res, rej) => gfs.readFile(`${T}/tree/top.txt`, 'utf8', (e, s) => (e ? rej(e) : res(s))))).toBe('top\n');
    const names = await new Promise<string[]>((res, rej) => gfs.readdir(`${T}/tree`, (e, l) => (e ? rej(e) : res(l))));
    expect(names.sort()).toEqual(['a', 'link', 'top.txt']);
    let s = '';
    for await (const c of gfs.createReadStream(`${T}/tree/a/one.txt`, { encoding: 'utf8' })) s += c as string;
    expect(s).toBe('one\n');
    const ws = gfs.createWriteStream(`${T}/graceful.txt`);
    ws.end('written through graceful-fs');
    await new Promise<void>((res) => ws.on('close', () => res()));
    expect(wfs.readFileSync(`${T}/graceful.txt`, 'utf8')).toBe('written through graceful-fs');
    expect(realFs.existsSync(`${T}/graceful.txt`)).toBe(false);
  });
});

describe('klaw', () => {
  it('walks the kernel tree as it walks the same tree on the host', async () => {
    const klaw = require('klaw') as (dir: string, o?: { fs?: unknown }) => AsyncIterable<{ path: string; stats: realFs.Stats }>;
    const walk = async (fs: Fs): Promise<string[]> => {
      const out: string[] = [];
      for await (const item of klaw(`${T}/tree`, { fs })) out.push(`${item.path.slice(T.length)} ${item.stats.isDirectory() ? 'd' : item.stats.isSymbolicLink() ? 'l' : 'f'}`);
      return out.sort();
    };
    const want = await walk(realFs);
    expect(want).toHaveLength(7);
    expect(await walk(wfs)).toEqual(want);
    expect(await walk(kfs)).toEqual(want);
  });
});

describe('proper-lockfile', () => {
  it('locks, sees the lock, refuses a second lock, unlocks (async and sync) in the kernel', async () => {
    const lockfile = require('proper-lockfile') as any;
    const file = `${T}/tree/top.txt`;
    const release = await lockfile.lock(file, { fs: wfs, realpath: true });
    expect(await lockfile.check(file, { fs: wfs })).toBe(true);
    expect(wfs.existsSync(`${file}.lock`)).toBe(true);
    expect(realFs.existsSync(`${file}.lock`)).toBe(false);
    await expect(lockfile.lock(file, { fs: wfs })).rejects.toMatchObject({ code: 'ELOCKED' });
    await release();
    expect(await lockfile.check(file, { fs: wfs })).toBe(false);
    const releaseSync = lockfile.lockSync(file, { fs: wfs });
    expect(lockfile.checkSync(file, { fs: wfs })).toBe(true);
    releaseSync();
    expect(wfs.existsSync(`${file}.lock`)).toBe(false);
  });
});

describe('isomorphic-git', () => {
  for (const which of ['worker', 'in-process'] as const) {
    it(`init, add, commit, log and status in a kernel repository (${which})`, async () => {
      const git = require('isomorphic-git') as any;
      const fs = which === 'worker' ? wfs : kfs;
      const dir = `${T}/repo-${which}`;
      await fs.promises.mkdir(dir, { recursive: true });
      await git.init({ fs, dir, defaultBranch: 'main' });
      await fs.promises.writeFile(`${dir}/README.md`, '# kernel repo\n');
      await fs.promises.mkdir(`${dir}/src`);
      await fs.promises.writeFile(`${dir}/src/x.txt`, 'x\n');
      await git.add({ fs, dir, filepath: '.' });
      const author = { name: 'K', email: 'k@example.org', timestamp: 1_700_000_000, timezoneOffset: 0 };
      const oid = await git.commit({ fs, dir, message: 'first', author });
      expect(oid).toMatch(/^[0-9a-f]{40}$/);
      const log = await git.log({ fs, dir });
      expect(log.map((c: any) => c.commit.message)).toEqual(['first\n']);
      await fs.promises.writeFile(`${dir}/README.md`, '# changed\n');
      expect(await git.statusMatrix({ fs, dir })).toEqual([['README.md', 1, 2, 1], ['src/x.txt', 1, 1, 1]]);
      expect(realFs.existsSync(`${dir}/.git`)).toBe(false);
    });
  }
});

describe('archiver', () => {
  it('zips facade streams into a facade stream; the archive lists every entry', async () => {
    const { ZipArchive } = require('archiver') as any;
    const out = wfs.createWriteStream(`${T}/out.zip`);
    const zip = new ZipArchive({ zlib: { level: 1 } });
    const done = new Promise<void>((res, rej) => {
      out.on('close', () => res());
      zip.on('error', rej);
    });
    zip.pipe(out);
    for (const f of ['top.txt', 'a/one.txt', 'a/b/two.txt']) zip.append(wfs.createReadStream(`${T}/tree/${f}`), { name: f });
    await zip.finalize();
    await done;
    const bytes = wfs.readFileSync(`${T}/out.zip`);
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
    // The central directory names every entry.
    for (const f of ['top.txt', 'a/one.txt', 'a/b/two.txt']) expect(bytes.includes(Buffer.from(f))).toBe(true);
    expect(bytes.length).toBe(zip.pointer());
  });
});
