/**
 * anykernel/fs never reaches the host: it has every name node:fs and
 * node:fs/promises have (so a library that looks for `readdirSync` or
 * `promises.lstat` finds the kernel's, not a fallback to the host), sync
 * calls work over a worker kernel and refuse clearly in-process, and real
 * glob libraries handed `{ fs: createFs(k) }` see only the kernel's files
 * even where the host has a directory of the same name with other files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import realFs from 'node:fs';
import realFsp from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { promisify } from 'node:util';
import fg from 'fast-glob';
import { glob, globSync } from 'glob';
import { boot, type BootedKernel } from './boot.ts';
import { createFs, type FsApi } from './fs.ts';
import { startWorkerKernel, type WorkerKernel } from '../sysproxy/worker.ts';

const KERNEL_FILES = ['a.txt', 'sub/b.txt', 'sub/deep/c.txt', 'sub/deep/d.md'];
let hostDir = '';
let wk: WorkerKernel;
let k: BootedKernel;
let wfs: FsApi;
let kfs: FsApi;

beforeAll(async () => {
  // The host has the same directory, with a file that must never show up.
  hostDir = realFs.mkdtempSync(nodePath.join(os.tmpdir(), 'akfs-contain-'));
  realFs.writeFileSync(nodePath.join(hostDir, 'host-only.txt'), 'host');
  realFs.mkdirSync(nodePath.join(hostDir, 'sub'));
  realFs.writeFileSync(nodePath.join(hostDir, 'sub', 'host-too.txt'), 'host');
  wk = await startWorkerKernel();
  wfs = createFs(wk);
  k = await boot();
  kfs = createFs(k);
  for (const f of KERNEL_FILES) {
    const p = `${hostDir}/${f}`;
    wfs.mkdirSync(nodePath.posix.dirname(p), { recursive: true });
    wfs.writeFileSync(p, f);
    await kfs.promises.mkdir(nodePath.posix.dirname(p), { recursive: true });
    await kfs.promises.writeFile(p, f);
  }
}, 30_000);

afterAll(async () => {
  realFs.rmSync(hostDir, { recursive: true, force: true });
  await wk?.halt();
  await k?.shutdown();
});

describe('every node:fs name exists on the facade', () => {
  it('node:fs: same names, same kinds (functions, classes, objects, constants)', () => {
    const missing: string[] = [];
    for (const name of Object.keys(realFs)) {
      const want = typeof (realFs as Record<string, unknown>)[name];
      const got = typeof (wfs as unknown as Record<string, unknown>)[name];
      if (!(name in wfs) || got !== want) missing.push(`${name}: ${want} vs ${got}`);
    }
    expect(missing).toEqual([]);
    expect(Object.keys(realFs).length).toBeGreaterThan(90);
  });

  it('node:fs/promises: same names, same kinds', () => {
    const missing: string[] = [];
    for (const name of Object.keys(realFsp)) {
      const want = typeof (realFsp as Record<string, unknown>)[name];
      const got = typeof (wfs.promises as unknown as Record<string, unknown>)[name];
      if (got !== want) missing.push(`${name}: ${want} vs ${got}`);
    }
    expect(missing).toEqual([]);
  });

  it('fs.constants, realpath.native and the promisify shapes match', async () => {
    expect(Object.keys(wfs.constants).sort()).toEqual(Object.keys(realFs.constants).sort());
    for (const key of Object.keys(realFs.constants)) expect(wfs.constants[key as keyof typeof realFs.constants], key).toBe(realFs.constants[key as keyof typeof realFs.constants]);
    expect(typeof wfs.realpath.native).toBe('function');
    expect(typeof wfs.realpathSync.native).toBe('function');
    expect(wfs.realpathSync.native(`${hostDir}/sub/../a.txt`)).toBe(`${hostDir}/a.txt`);
    const fd = wfs.openSync(`${hostDir}/a.txt`, 'r');
    const r = await promisify(wfs.read)(fd, Buffer.alloc(5), 0, 5, 0);
    expect([r.bytesRead, r.buffer.toString()]).toEqual([5, 'a.txt']);
    wfs.closeSync(fd);
    expect(await promisify(wfs.exists)(`${hostDir}/a.txt`)).toBe(true);
    expect(await promisify(wfs.exists)(`${hostDir}/host-only.txt`)).toBe(false);
  });
});

describe('sync calls', () => {
  it('over a worker kernel: sync and async share one process, so descriptors cross faces', async () => {
    const fd = wfs.openSync(`${hostDir}/sub/b.txt`, 'r');
    const got = await new Promise<string>((res, rej) => wfs.read(fd, Buffer.alloc(9), 0, 9, 0, (e, n, b) => (e ? rej(e) : res(b.toString('utf8', 0, n)))));
    expect(got).toBe('sub/b.txt');
    await new Promise<void>((res, rej) => wfs.close(fd, (e) => (e ? rej(e) : res())));
    expect(() => wfs.fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(wfs.existsSync(`${hostDir}/host-only.txt`)).toBe(false);
    expect(wfs.readdirSync(hostDir).sort()).toEqual(['a.txt', 'sub']);
    expect(wfs.statfsSync('/').bsize).toBeGreaterThan(0);
    const dir = wfs.opendirSync(`${hostDir}/sub`);
    const names: string[] = [];
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) names.push(d.name);
    dir.closeSync();
    expect(names.sort()).toEqual(['b.txt', 'deep']);
    wfs.cpSync(`${hostDir}/sub`, `${hostDir}/copy`, { recursive: true });
    expect(wfs.readFileSync(`${hostDir}/copy/deep/c.txt`, 'utf8')).toBe('sub/deep/c.txt');
    wfs.rmSync(`${hostDir}/copy`, { recursive: true });
    expect(realFs.existsSync(`${hostDir}/copy`)).toBe(false);
  });

  it('in-process: sync calls validate, then refuse with a message that says how to get a sync kernel', () => {
    expect(() => kfs.readFileSync(false as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    for (const call of [() => kfs.readFileSync(`${hostDir}/host-only.txt`), () => kfs.statSync('/'), () => kfs.readdirSync(hostDir),
      () => kfs.existsSync(`${hostDir}/host-only.txt`), () => kfs.opendirSync('/'), () => kfs.lstatSync(hostDir)]) {
      let err: (Error & { code?: string }) | undefined;
      try {
        call();
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.code).toBe('ERR_ANYKERNEL_NO_SYNC');
      expect(err?.message).toMatch(/startWorkerKernel\(\)/);
    }
  });
});

describe('glob libraries see only the kernel', () => {
  const want = KERNEL_FILES.filter((f) => f.endsWith('.txt')).sort();

  it('fast-glob, async and sync, over a worker kernel', async () => {
    expect((await fg('**/*.txt', { cwd: hostDir, fs: wfs as never })).sort()).toEqual(want);
    expect(fg.sync('**/*.txt', { cwd: hostDir, fs: wfs as never }).sort()).toEqual(want);
    expect(fg.sync('**', { cwd: hostDir, fs: wfs as never, onlyFiles: false, stats: true }).map((e) => e.path).sort())
      .toEqual(['a.txt', 'sub', 'sub/b.txt', 'sub/deep', 'sub/deep/c.txt', 'sub/deep/d.md']);
    // The same call on the host finds the host's files: the directories really differ.
    expect((await fg('**/*.txt', { cwd: hostDir })).sort()).toEqual(['host-only.txt', 'sub/host-too.txt']);
  });

  it('fast-glob in-process: async works, sync refuses rather than reading the host', async () => {
    expect((await fg('**/*.txt', { cwd: hostDir, fs: kfs as never })).sort()).toEqual(want);
    expect(() => fg.sync('**/*.txt', { cwd: hostDir, fs: kfs as never })).toThrow(/startWorkerKernel/);
  });

  it('glob (path-scurry), async and sync, over a worker kernel and in-process', async () => {
    expect((await glob('**/*.txt', { cwd: hostDir, fs: wfs as never, posix: true })).sort()).toEqual(want);
    expect(globSync('**/*.txt', { cwd: hostDir, fs: wfs as never, posix: true }).sort()).toEqual(want);
    expect((await glob('**/*.txt', { cwd: hostDir, fs: kfs as never, posix: true })).sort()).toEqual(want);
    // path-scurry treats a failing readdirSync as an empty directory: nothing is found, and nothing of the host.
    expect(globSync('**/*.txt', { cwd: hostDir, fs: kfs as never })).toEqual([]);
  });
});
