/**
 * Libraries written against node:fs, handed the facade: graceful-fs
 * (gracefulify patches the facade in place and extends its stream classes
 * the old way), klaw (a walk), proper-lockfile (mkdir-based locks with
 * mtime refresh), isomorphic-git (init, add, commit, log, status) and
 * archiver (a zip streamed from facade streams into a facade stream). Each
 * runs over a worker kernel; klaw and isomorphic-git also in-process. The
 * results are checked against the same code on the host where that is cheap.
 */
import { describe, expect, it } from 'vitest';
import realFs from 'node:fs';
import { createRequire } from 'node:module';
import { createFs } from './fs.ts';
import { type Fs, useKernels } from './fs_testkit.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
const require = createRequire(import.meta.url);
const kit = useKernels('akfs-libs-', async (fs, T) => {
  await fs.promises.mkdir(`${T}/tree/a/b`, { recursive: true });
  await fs.promises.writeFile(`${T}/tree/top.txt`, 'top\n');
  await fs.promises.writeFile(`${T}/tree/a/one.txt`, 'one\n');
  await fs.promises.writeFile(`${T}/tree/a/b/two.txt`, 'two\n');
  await fs.promises.symlink('a/one.txt', `${T}/tree/link`);
});

describe('graceful-fs', () => {
  it('gracefulify patches the facade in place; its legacy stream subclasses and queued callbacks work', async () => {
    const gracefulify = require('graceful-fs').gracefulify as (fs: unknown) => Fs;
    const gfs = gracefulify(createFs(kit.wk)) as Fs;
    expect(await new Promise((res, rej) => gfs.readFile(`${kit.T}/tree/top.txt`, 'utf8', (e, s) => (e ? rej(e) : res(s))))).toBe('top\n');
    const names = await new Promise<string[]>((res, rej) => gfs.readdir(`${kit.T}/tree`, (e, l) => (e ? rej(e) : res(l))));
    expect(names.sort()).toEqual(['a', 'link', 'top.txt']);
    let s = '';
    for await (const c of gfs.createReadStream(`${kit.T}/tree/a/one.txt`, { encoding: 'utf8' })) s += c as string;
    expect(s).toBe('one\n');
    const ws = gfs.createWriteStream(`${kit.T}/graceful.txt`);
    ws.end('written through graceful-fs');
    await new Promise<void>((res) => ws.on('close', () => res()));
    expect(kit.wfs.readFileSync(`${kit.T}/graceful.txt`, 'utf8')).toBe('written through graceful-fs');
    expect(realFs.existsSync(`${kit.T}/graceful.txt`)).toBe(false);
  });
});

describe('klaw', () => {
  it('walks the kernel tree as it walks the same tree on the host', async () => {
    const klaw = require('klaw') as (dir: string, o?: { fs?: unknown }) => AsyncIterable<{ path: string; stats: realFs.Stats }>;
    const walk = async (fs: Fs): Promise<string[]> => {
      const out: string[] = [];
      for await (const item of klaw(`${kit.T}/tree`, { fs })) out.push(`${item.path.slice(kit.T.length)} ${item.stats.isDirectory() ? 'd' : item.stats.isSymbolicLink() ? 'l' : 'f'}`);
      return out.sort();
    };
    const want = await walk(realFs);
    expect(want).toHaveLength(7);
    expect(await walk(kit.wfs)).toEqual(want);
    expect(await walk(kit.kfs)).toEqual(want);
  });
});

describe('proper-lockfile', () => {
  it('locks, sees the lock, refuses a second lock, unlocks (async and sync) in the kernel', async () => {
    const lockfile = require('proper-lockfile') as any;
    const file = `${kit.T}/tree/top.txt`;
    const release = await lockfile.lock(file, { fs: kit.wfs, realpath: true });
    expect(await lockfile.check(file, { fs: kit.wfs })).toBe(true);
    expect(kit.wfs.existsSync(`${file}.lock`)).toBe(true);
    expect(realFs.existsSync(`${file}.lock`)).toBe(false);
    await expect(lockfile.lock(file, { fs: kit.wfs })).rejects.toMatchObject({ code: 'ELOCKED' });
    await release();
    expect(await lockfile.check(file, { fs: kit.wfs })).toBe(false);
    const releaseSync = lockfile.lockSync(file, { fs: kit.wfs });
    expect(lockfile.checkSync(file, { fs: kit.wfs })).toBe(true);
    releaseSync();
    expect(kit.wfs.existsSync(`${file}.lock`)).toBe(false);
  });
});

describe('isomorphic-git', () => {
  for (const which of ['worker', 'in-process'] as const) {
    it(`init, add, commit, log and status in a kernel repository (${which})`, async () => {
      const git = require('isomorphic-git') as any;
      const fs = which === 'worker' ? kit.wfs : kit.kfs;
      const dir = `${kit.T}/repo-${which}`;
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
    const out = kit.wfs.createWriteStream(`${kit.T}/out.zip`);
    const zip = new ZipArchive({ zlib: { level: 1 } });
    const done = new Promise<void>((res, rej) => {
      out.on('close', () => res());
      zip.on('error', rej);
    });
    zip.pipe(out);
    for (const f of ['top.txt', 'a/one.txt', 'a/b/two.txt']) zip.append(kit.wfs.createReadStream(`${kit.T}/tree/${f}`), { name: f });
    await zip.finalize();
    await done;
    const bytes = kit.wfs.readFileSync(`${kit.T}/out.zip`);
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
    // The central directory names every entry.
    for (const f of ['top.txt', 'a/one.txt', 'a/b/two.txt']) expect(bytes.includes(Buffer.from(f))).toBe(true);
    expect(bytes.length).toBe(zip.pointer());
  });
});
