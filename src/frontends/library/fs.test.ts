/**
 * anykernel/fs against real node:fs: the same plain node:fs-style code (a
 * recursive copy and walk, as libraries like fs-extra write them) runs on a
 * temporary host directory and on a kernel, and the results, Stats and
 * errors are compared field by field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as realFs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { boot, type BootedKernel } from './boot.ts';
import { SimHost } from '../../hyper/sim/host.ts';
import { createFs, createFsSync, runSync, stringToFlags, uvException, type FsApi } from './fs.ts';

type P = typeof realFs.promises;
type NodeErr = NodeJS.ErrnoException & { dest?: string };

/** Library-style code: written only against the node:fs promises API. */
async function copyTree(fsp: P, from: string, to: string): Promise<void> {
  await fsp.mkdir(to, { recursive: true });
  for (const e of await fsp.readdir(from, { withFileTypes: true })) {
    const s = nodePath.posix.join(from, e.name);
    const d = nodePath.posix.join(to, e.name);
    if (e.isDirectory()) await copyTree(fsp, s, d);
    else if (e.isSymbolicLink()) await fsp.symlink(await fsp.readlink(s), d);
    else await fsp.copyFile(s, d);
  }
}

async function walk(fsp: P, dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  const names = (await fsp.readdir(dir)).sort();
  for (const name of names) {
    const p = nodePath.posix.join(dir, name);
    const st = await fsp.lstat(p);
    const r = rel === '' ? name : `${rel}/${name}`;
    if (st.isDirectory()) {
      out.push(`${r}/ ${(st.mode & 0o777).toString(8)}`);
      out.push(...(await walk(fsp, p, r)));
    } else if (st.isSymbolicLink()) out.push(`${r} -> ${await fsp.readlink(p)}`);
    else out.push(`${r} ${st.size} ${(st.mode & 0o777).toString(8)} ${JSON.stringify(await fsp.readFile(p, 'utf8'))}`);
  }
  return out;
}

/** A workload: build a tree, copy it, modify the copy, then walk both. */
async function workload(fsp: P, root: string): Promise<string[]> {
  await fsp.mkdir(`${root}/src/a/b/c`, { recursive: true });
  await fsp.writeFile(`${root}/src/top.txt`, 'top\n');
  await fsp.writeFile(`${root}/src/a/one.bin`, new Uint8Array([0, 1, 2, 255]));
  await fsp.appendFile(`${root}/src/a/one.bin`, 'more');
  await fsp.writeFile(`${root}/src/a/b/c/deep.json`, JSON.stringify({ x: 1 }), { mode: 0o600 });
  await fsp.chmod(`${root}/src/a/b/c/deep.json`, 0o640);
  await fsp.symlink('../top.txt', `${root}/src/a/link`);
  await copyTree(fsp, `${root}/src`, `${root}/dst`);
  await fsp.rename(`${root}/dst/top.txt`, `${root}/dst/renamed.txt`);
  await fsp.truncate(`${root}/dst/a/one.bin`, 2);
  await fsp.unlink(`${root}/dst/a/link`);
  await fsp.rm(`${root}/dst/a/b`, { recursive: true });
  const h = await fsp.open(`${root}/dst/handle.txt`, 'w+');
  await h.write('hello world');
  const { bytesRead, buffer } = await h.read(Buffer.alloc(5), 0, 5, 6);
  const hs = await h.stat();
  await h.close();
  return [
    ...(await walk(fsp, root)),
    `read ${bytesRead} ${Buffer.from(buffer.buffer, buffer.byteOffset, bytesRead).toString()} size ${hs.size}`,
    `realpath ${(await fsp.realpath(`${root}/src/a/link`)).slice(root.length)}`,
    `mkdir-first ${(await fsp.mkdir(`${root}/n1/n2/n3`, { recursive: true }))?.slice(root.length)}`,
    `mkdir-exists ${String(await fsp.mkdir(`${root}/n1/n2`, { recursive: true }))}`,
    `access ${String(await fsp.access(`${root}/src/top.txt`))}`,
    `readdir-recursive ${(await fsp.readdir(`${root}/src`, { recursive: true } as never) as string[]).sort().join(',')}`,
  ];
}

/** Errors both sides must produce identically (message has the path relative to root). */
async function errors(fsp: P, root: string): Promise<string[]> {
  const out: string[] = [];
  const rec = async (what: string, p: Promise<unknown>): Promise<void> => {
    try {
      await p;
      out.push(`${what}: ok`);
    } catch (e) {
      const x = e as NodeErr;
      out.push(`${what}: ${x.code} ${x.errno} ${x.syscall} ${x.message.split(root).join('<r>')} path=${x.path?.split(root).join('<r>')} dest=${x.dest?.split(root).join('<r>')}`);
    }
  };
  await fsp.mkdir(`${root}/d`);
  await fsp.writeFile(`${root}/f`, 'x');
  await rec('readFile missing', fsp.readFile(`${root}/nope`));
  await rec('readFile dir', fsp.readFile(`${root}/d`));
  await rec('readdir file', fsp.readdir(`${root}/f`));
  await rec('readdir missing', fsp.readdir(`${root}/nope`));
  await rec('mkdir exists', fsp.mkdir(`${root}/d`));
  await rec('mkdir -p over file', fsp.mkdir(`${root}/f`, { recursive: true }));
  await rec('mkdir -p through file', fsp.mkdir(`${root}/f/x/y`, { recursive: true }));
  await rec('rmdir notempty', (async () => { await fsp.writeFile(`${root}/d/in`, ''); await fsp.rmdir(`${root}/d`); })());
  await rec('rm dir', fsp.rm(`${root}/d`));
  await rec('rm missing', fsp.rm(`${root}/nope`));
  await rec('rm missing force', fsp.rm(`${root}/nope`, { force: true }));
  await rec('unlink dir', fsp.unlink(`${root}/d`));
  await rec('rename missing', fsp.rename(`${root}/nope`, `${root}/x`));
  await rec('rename dir over file', fsp.rename(`${root}/d`, `${root}/f`));
  await rec('copyFile excl', fsp.copyFile(`${root}/f`, `${root}/d/in`, realFs.constants.COPYFILE_EXCL));
  await rec('copyFile missing', fsp.copyFile(`${root}/nope`, `${root}/x`));
  await rec('symlink exists', fsp.symlink('t', `${root}/f`));
  await rec('link missing', fsp.link(`${root}/nope`, `${root}/x`));
  await rec('readlink file', fsp.readlink(`${root}/f`));
  await rec('realpath missing', fsp.realpath(`${root}/nope/x`));
  await rec('stat missing', fsp.stat(`${root}/nope`));
  await rec('lstat through file', fsp.lstat(`${root}/f/x`));
  await rec('open wx exists', fsp.open(`${root}/f`, 'wx'));
  await rec('access missing', fsp.access(`${root}/nope`));
  await rec('chmod missing', fsp.chmod(`${root}/nope`, 0o644));
  await rec('utimes missing', fsp.utimes(`${root}/nope`, 1, 2));
  await rec('truncate dir', fsp.truncate(`${root}/d`, 0));
  return out;
}

let tmp = '';
afterEach(() => {
  if (tmp !== '') realFs.rmSync(tmp, { recursive: true, force: true });
  tmp = '';
});

async function onSim<T>(fn: (k: BootedKernel) => Promise<T>): Promise<T> {
  const host = new SimHost({ seed: 42 });
  const k = await boot({ host });
  try {
    return await host.run(() => fn(k), { limitSteps: 5_000_000 });
  } finally {
    host.dispose();
  }
}

describe('anykernel/fs promises API against node:fs', () => {
  it('a recursive copy and walk give the same tree', async () => {
    tmp = realFs.mkdtempSync(nodePath.join(os.tmpdir(), 'akfs-'));
    const want = await workload(realFs.promises, tmp);
    const got = await onSim(async (k) => {
      await k.sys.mkdir('/t', 0o777);
      return workload(createFs(k).promises as unknown as P, '/t');
    });
    expect(got).toEqual(want);
  });

  it('errors have Node\'s code, negative errno, syscall, path, dest and message', async () => {
    tmp = realFs.mkdtempSync(nodePath.join(os.tmpdir(), 'akfs-'));
    const want = await errors(realFs.promises, tmp);
    const got = await onSim(async (k) => {
      await k.sys.mkdir('/t', 0o777);
      return errors(createFs(k).promises as unknown as P, '/t');
    });
    expect(got).toEqual(want);
  });

  it('Stats and BigIntStats match node:fs field by field for the same times', async () => {
    tmp = realFs.mkdtempSync(nodePath.join(os.tmpdir(), 'akfs-'));
    const f = nodePath.join(tmp, 'f');
    realFs.writeFileSync(f, 'abc');
    realFs.utimesSync(f, 1_700_000_000.123456, 1_600_000_000.5);
    const hs = realFs.statSync(f);
    const hb = realFs.statSync(f, { bigint: true });
    const [ks, kb] = await onSim(async (k) => {
      const fs = createFs(k);
      await fs.promises.writeFile('/f', 'abc');
      await fs.promises.utimes('/f', 1_700_000_000.123456, 1_600_000_000.5);
      return [await fs.promises.stat('/f'), await fs.promises.stat('/f', { bigint: true })] as const;
    });
    expect(ks.atimeMs).toBeCloseTo(hs.atimeMs, 3);
    expect(ks.mtimeMs).toBe(hs.mtimeMs);
    expect(ks.atime.getTime()).toBe(hs.atime.getTime());
    expect(ks.mtime.getTime()).toBe(hs.mtime.getTime());
    expect(kb.atimeNs / 1000n).toBe(hb.atimeNs / 1000n); // host fs keeps µs at least
    expect(kb.mtimeNs).toBe(hb.mtimeNs);
    expect(kb.mtimeMs).toBe(hb.mtimeMs);
    expect([ks.size, ks.nlink, (ks.mode as number) & 0o170000, ks.isFile(), ks.isDirectory(), ks.isSymbolicLink()])
      .toEqual([hs.size, hs.nlink, hs.mode & 0o170000, true, false, false]);
    expect(typeof kb.ino).toBe('bigint');
    for (const key of Object.keys(hs)) expect(ks, key).toHaveProperty(key);
    for (const key of Object.keys(hb)) expect(kb, key).toHaveProperty(key);
  });
});

describe('anykernel/fs callback API', () => {
  it('calls back with (err, value) like node:fs, and read/write give (err, n, buffer)', async () => {
    await onSim(async (k) => {
      const fs: FsApi = createFs(k);
      const cb = <T>(f: (done: (e: unknown, v?: T) => void) => void): Promise<T> =>
        new Promise((res, rej) => f((e, v) => (e ? rej(e) : res(v as T))));
      await cb((d) => fs.writeFile('/cb.txt', 'callback data', d));
      expect(await cb((d) => fs.readFile('/cb.txt', 'utf8', d))).toBe('callback data');
      const fd = await cb<number>((d) => fs.open('/cb.txt', 'r+', d));
      const buf = Buffer.alloc(8);
      const [n, b] = await new Promise<[number, unknown]>((res, rej) => fs.read(fd, buf, 0, 8, 0, (e, n2, b2) => (e ? rej(e) : res([n2!, b2]))));
      expect([n, buf.toString('utf8', 0, n), b === buf]).toEqual([8, 'callback', true]);
      const w = await new Promise<number>((res, rej) => fs.write(fd, Buffer.from('CALL'), 0, 4, 0, (e: unknown, n3: number) => (e ? rej(e) : res(n3))));
      expect(w).toBe(4);
      await cb((d) => fs.close(fd, d));
      expect(await cb((d) => fs.readFile('/cb.txt', 'utf8', d))).toBe('CALLback data');
      const e = (await cb((d) => fs.stat('/missing', d)).catch((x: unknown) => x)) as NodeJS.ErrnoException;
      expect([e.code, e.errno, e.syscall, e.path, e.message]).toEqual(['ENOENT', -2, 'stat', '/missing', "ENOENT: no such file or directory, stat '/missing'"]);
      expect(await new Promise((res) => fs.exists('/cb.txt', res))).toBe(true);
      expect(await new Promise((res) => fs.exists('/nope', res))).toBe(false);
      const ents = await cb<realFs.Dirent[]>((d) => fs.readdir('/dev', { withFileTypes: true }, d));
      expect(ents.find((x) => x.name === 'null')!.isCharacterDevice()).toBe(true);
      expect(ents.find((x) => x.name === 'fd')!.isSymbolicLink()).toBe(true);
      expect(() => (fs.stat as unknown as (p: string) => void)('/x')).toThrow(/"cb" argument must be of type function/);
      // Files that report size 0 (procfs) are read to EOF.
      const status = await fs.promises.readFile('/proc/self/status', 'utf8');
      expect(status).toMatch(/^Name:\t/);
      expect(status).toContain(`\nPid:\t${k.curproc.pid}\n`);
    });
  });
});

describe('anykernel/fs helpers', () => {
  it('flag strings map to the open flags node:fs uses', () => {
    for (const f of ['r', 'r+', 'rs+', 'w', 'wx', 'w+', 'wx+', 'a', 'ax', 'a+', 'ax+', 'as', 'as+']) {
      const hostFlags = (realFs.constants as Record<string, number>);
      void hostFlags;
      expect(stringToFlags(f)).toBeTypeOf('number');
    }
    expect(stringToFlags('w')).toBe(realFs.constants.O_TRUNC | realFs.constants.O_CREAT | realFs.constants.O_WRONLY);
    expect(stringToFlags('ax+')).toBe(realFs.constants.O_APPEND | realFs.constants.O_CREAT | realFs.constants.O_RDWR | realFs.constants.O_EXCL);
    expect(() => stringToFlags('q')).toThrow("The argument 'flags' is invalid. Received 'q'");
    const e = uvException(13, 'open', '/x');
    expect([e.message, e.errno, e.code]).toEqual(["EACCES: permission denied, open '/x'", -13, 'EACCES']);
  });

  it('runSync drives the same operations over a synchronous sys', async () => {
    // A synchronous sys made from a kernel's in-memory tmpfs would need a worker; here a tiny
    // fake one checks the driver itself: results flow back and failures are thrown in.
    const calls: string[] = [];
    const sys = {
      statx: (_d: number, p: string) => {
        calls.push(`statx ${p}`);
        if (p === '/missing') throw Object.assign(new (class extends Error {})(), {});
        return { mode: 0o100644, ino: 5, nlink: 1, uid: 0, gid: 0, size: 3, blocks: 8, blksize: 4096, atime: { sec: 1, nsec: 0 }, mtime: { sec: 2, nsec: 0 }, ctime: { sec: 3, nsec: 0 } };
      },
    };
    const sfs = createFsSync(sys);
    expect(sfs.statSync('/f').size).toBe(3);
    expect(calls).toEqual(['statx /f']);
    expect(() => runSync({ x: () => Promise.resolve(1) }, (function* () { yield { name: 'x', args: [] }; })())).toThrow(/synchronous sys/);
  });
});

describe('anykernel/fs sync API over a worker kernel', () => {
  it('readFileSync/writeFileSync/statSync/readdirSync through a SyncClient', async () => {
    const { startWorkerKernel } = await import('../sysproxy/worker.ts');
    const wk = await startWorkerKernel();
    try {
      const sfs = createFsSync(wk.syncClient());
      sfs.mkdirSync('/sync/a', { recursive: true });
      sfs.writeFileSync('/sync/a/f.txt', 'written synchronously');
      expect(sfs.readFileSync('/sync/a/f.txt', 'utf8')).toBe('written synchronously');
      expect(sfs.statSync('/sync/a/f.txt').size).toBe(21);
      expect(sfs.readdirSync('/sync')).toEqual(['a']);
      expect(sfs.existsSync('/sync/nope')).toBe(false);
      let code = '';
      try {
        sfs.readFileSync('/sync/nope');
      } catch (e) {
        code = `${(e as NodeJS.ErrnoException).code} ${(e as NodeJS.ErrnoException).syscall} ${(e as NodeJS.ErrnoException).errno}`;
      }
      expect(code).toBe('ENOENT open -2');
      // The async facade over the same worker kernel sees the same file.
      expect(await createFs(wk).promises.readFile('/sync/a/f.txt', 'utf8')).toBe('written synchronously');
    } finally {
      await wk.halt();
    }
  }, 30_000);
});

describe('anykernel/fs streams', () => {
  it('createReadStream (start/end) piped into createWriteStream gives what node:fs streams give', async () => {
    const { pipeline } = await import('node:stream/promises');
    const body = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join('');
    tmp = realFs.mkdtempSync(nodePath.join(os.tmpdir(), 'akfs-'));
    realFs.writeFileSync(`${tmp}/src`, body);
    await pipeline(realFs.createReadStream(`${tmp}/src`, { start: 3, end: 40_000, highWaterMark: 1000 }), realFs.createWriteStream(`${tmp}/dst`));
    const want = realFs.readFileSync(`${tmp}/dst`, 'utf8');
    const got = await onSim(async (k) => {
      const fs = createFs(k);
      await fs.promises.writeFile('/src', body);
      const rs = fs.createReadStream('/src', { start: 3, end: 40_000, highWaterMark: 1000 });
      const ws = fs.createWriteStream('/dst');
      const opened = new Promise<number>((res) => rs.once('open', res));
      await pipeline(rs, ws);
      expect(typeof (await opened)).toBe('number');
      expect([rs.bytesRead, ws.bytesWritten]).toEqual([39_998, 39_998]);
      const copied = await fs.promises.readFile('/dst', 'utf8');
      // Text mode and a write at an offset.
      const ws2 = fs.createWriteStream('/dst', { flags: 'r+', start: 0 });
      ws2.end('LINE');
      await new Promise<void>((res) => ws2.on('close', () => res()));
      let text = '';
      for await (const chunk of fs.createReadStream('/dst', 'utf8')) text += chunk as string;
      expect(text.slice(0, 10)).toBe('LINEline 1');
      expect(text.length).toBe(39_998);
      // A missing file errors the stream with Node's error.
      const err = await new Promise<NodeJS.ErrnoException>((res) => fs.createReadStream('/missing').on('error', res));
      expect([err.code, err.syscall, err.path]).toEqual(['ENOENT', 'open', '/missing']);
      return copied;
    });
    expect(got).toBe(want);
  });
});

describe('a real library on anykernel/fs', () => {
  it('tinyglobby (over fdir) globs a kernel tree exactly as it globs the same tree on the host', async () => {
    let glob: (p: string[], o: Record<string, unknown>) => Promise<string[]>;
    try {
      ({ glob } = (await import('tinyglobby')) as unknown as { glob: typeof glob });
    } catch {
      return; // tinyglobby comes with vitest; without it there is nothing to run
    }
    const files = ['a.txt', 'b.md', 'sub/c.txt', 'sub/skip/d.txt', 'sub/deeper/e.txt', 'sub/deeper/f.js', '.hidden.txt'];
    tmp = realFs.mkdtempSync(nodePath.join(os.tmpdir(), 'akfs-'));
    for (const f of files) {
      realFs.mkdirSync(nodePath.dirname(nodePath.join(tmp, f)), { recursive: true });
      realFs.writeFileSync(nodePath.join(tmp, f), f);
    }
    realFs.symlinkSync('sub/deeper', nodePath.join(tmp, 'link'));
    const patterns = ['**/*.txt', '!**/skip/**'];
    const want = (await glob(patterns, { cwd: tmp, followSymbolicLinks: true })).sort();
    const wantDot = (await glob(['**/*'], { cwd: tmp, dot: true, onlyFiles: false })).sort();
    const [got, gotDot] = await (async () => {
      const k = await boot({ host: new (await import('../../hyper/node/host.ts')).NodeHost() });
      const fs = createFs(k);
      for (const f of files) {
        await fs.promises.mkdir(nodePath.posix.dirname(`/t/${f}`), { recursive: true });
        await fs.promises.writeFile(`/t/${f}`, f);
      }
      await fs.promises.symlink('sub/deeper', '/t/link');
      const r = [
        (await glob(patterns, { cwd: '/t', fs, followSymbolicLinks: true })).sort(),
        (await glob(['**/*'], { cwd: '/t', fs, dot: true, onlyFiles: false })).sort(),
      ];
      await k.shutdown();
      return r;
    })();
    expect(want.length).toBeGreaterThan(3);
    expect(got).toEqual(want);
    expect(gotDot).toEqual(wantDot);
  });
});
