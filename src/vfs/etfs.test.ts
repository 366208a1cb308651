/**
 * etfs round trips: host files read and written through the kernel, on the
 * node host (a real temporary directory) and on the sim host (its in-memory
 * host tree), plus the operations the hypercalls cannot express.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { boot, type BootedKernel, type Sys } from '../frontends/library/boot.ts';
import { SimHost } from '../hyper/sim/host.ts';
import { NodeHost } from '../hyper/node/host.ts';
import {
  O_APPEND, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG,
} from '../kern/constants.ts';
import type { Etfs } from './etfs.ts';
import type { ProcHandle } from '../kern/lwproc.ts';

const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const sysOf = (h: ProcHandle): Sys => h.sys as unknown as Sys;

async function readFile(sys: Sys, p: string): Promise<string> {
  const fd = await sys.open(p, O_RDONLY);
  let out = '';
  const b = new Uint8Array(5);
  for (;;) {
    const n = await sys.read(fd, b);
    if (n === 0) break;
    out += dec(b.subarray(0, n));
  }
  await sys.close(fd);
  return out;
}
async function writeFile(sys: Sys, p: string, s: string, flags = O_CREAT | O_WRONLY | O_TRUNC): Promise<void> {
  const fd = await sys.open(p, flags, 0o644);
  await sys.write(fd, enc(s));
  await sys.close(fd);
}
async function ls(sys: Sys, p: string): Promise<string[]> {
  const fd = await sys.open(p, O_RDONLY | O_DIRECTORY);
  const out: string[] = [];
  for (;;) {
    const e = (await sys.getdents64(fd, 512)) as { name: string }[];
    if (e.length === 0) break;
    out.push(...e.map((x) => x.name));
  }
  await sys.close(fd);
  return out.filter((n) => n !== '.' && n !== '..').sort();
}

/** The same scenario against a host tree holding a/hello.txt ("hello"), a/sub/deep ("x"), a/link -> hello.txt. */
async function roundTrip(k: BootedKernel, hostRoot: string, hostBytes: (rel: string) => string | undefined): Promise<void> {
  const etfs = k.kernel.lookup<Etfs>('etfs')!;
  await etfs.register('/host/a', hostRoot);
  expect(await ls(k.sys, '/host/a')).toEqual(['hello.txt', 'link', 'sub']);
  expect(await readFile(k.sys, '/host/a/hello.txt')).toBe('hello');
  expect(await readFile(k.sys, '/host/a/link')).toBe('hello'); // the kernel follows the host symlink
  expect((await k.sys.lstat('/host/a/link')).mode & S_IFMT).toBe(S_IFLNK);
  expect(await k.sys.readlink('/host/a/link')).toBe('hello.txt');
  expect((await k.sys.stat('/host/a/sub')).mode & S_IFMT).toBe(S_IFDIR);
  expect(await readFile(k.sys, '/host/a/sub/deep')).toBe('x');
  const st = await k.sys.stat('/host/a/hello.txt');
  expect([st.mode & S_IFMT, st.size]).toEqual([S_IFREG, 5]);
  expect((await k.sys.stat('/host/a/hello.txt')).ino).toBe(st.ino);

  // Writes go through: overwrite, append, create, truncate.
  await writeFile(k.sys, '/host/a/hello.txt', 'HELLO, HOST');
  expect(hostBytes('hello.txt')).toBe('HELLO, HOST');
  await writeFile(k.sys, '/host/a/hello.txt', '!', O_WRONLY | O_APPEND);
  expect(hostBytes('hello.txt')).toBe('HELLO, HOST!');
  expect((await k.sys.stat('/host/a/hello.txt')).size).toBe(12);
  await writeFile(k.sys, '/host/a/sub/new.txt', 'made in the kernel');
  expect(hostBytes('sub/new.txt')).toBe('made in the kernel');
  expect(await ls(k.sys, '/host/a/sub')).toEqual(['deep', 'new.txt']);
  await k.sys.truncate('/host/a/sub/new.txt', 0);
  expect(hostBytes('sub/new.txt')).toBe('');
  await k.sys.truncate('/host/a/sub/new.txt', 3);
  expect(hostBytes('sub/new.txt')).toBe('\0\0\0');
  expect(await code(k.sys.truncate('/host/a/sub/new.txt', 1))).toBe('EPERM');

  // pread/pwrite at offsets.
  const fd = await k.sys.open('/host/a/hello.txt', O_RDWR);
  await k.sys.pwrite(fd, enc('j'), 1);
  const b = new Uint8Array(4);
  expect(await k.sys.pread(fd, b, 0)).toBe(4);
  expect(dec(b)).toBe('HjLL');
  await k.sys.close(fd);

  // What the hypercalls cannot do.
  expect(await code(k.sys.mkdir('/host/a/d', 0o755))).toBe('EPERM');
  expect(await code(k.sys.unlink('/host/a/hello.txt'))).toBe('EPERM');
  expect(await code(k.sys.rename('/host/a/hello.txt', '/host/a/h2'))).toBe('EPERM');
  expect(await code(k.sys.symlink('x', '/host/a/l2'))).toBe('EPERM');
  expect(await code(k.sys.chmod('/host/a/hello.txt', 0o600))).toBe('EPERM');
  expect(await code(k.sys.mkfifo('/host/a/fifo', 0o644))).toBe('EPERM');
  expect(await code(k.sys.stat('/host/a/missing'))).toBe('ENOENT');
  expect(await code(k.sys.stat('/host/a/hello.txt/x'))).toBe('ENOTDIR');

  // Read-only registration: EROFS from the VFS, reads still work.
  await etfs.register('/ro', hostRoot, { readOnly: true });
  expect(await code(k.sys.open('/ro/hello.txt', O_WRONLY))).toBe('EROFS');
  expect(await code(k.sys.open('/ro/brand-new', O_CREAT | O_WRONLY, 0o644))).toBe('EROFS');
  expect(await readFile(k.sys, '/ro/sub/deep')).toBe('x');
  expect((await k.sys.statfs('/ro')).type).toBe(0x45544653);
  expect(await readFile(k.sys, '/proc/mounts')).toContain(` /ro etfs ro,relatime 0 0`);

  // Owner option; permission checks apply with it.
  await etfs.register('/owned', hostRoot, { uid: 1000, gid: 1000 });
  expect((await k.sys.stat('/owned/hello.txt')).uid).toBe(1000);
  const other = k.rfork({ uid: 2000, gid: 2000 });
  expect(await code(sysOf(other).open('/owned/hello.txt', O_WRONLY))).toBe('EACCES');
  await k.exit(other);

  // unregister: EBUSY while a file is open, then gone.
  const held = await k.sys.open('/ro/hello.txt', O_RDONLY);
  expect(await code(etfs.unregister('/ro'))).toBe('EBUSY');
  await k.sys.close(held);
  await etfs.unregister('/ro');
  expect(await ls(k.sys, '/ro')).toEqual([]);
  await etfs.unregister('/owned');
  await etfs.unregister('/host/a');
}

describe('etfs on the sim host', () => {
  it('round trip through the in-memory host tree', async () => {
    const host = new SimHost({ seed: 7, hostFileLatencyNs: 1000 });
    host.addHostFile('/data/hello.txt', 'hello');
    host.addHostFile('/data/sub/deep', 'x');
    host.addHostSymlink('/data/link', 'hello.txt');
    const k = await boot({ host });
    try {
      await host.run(() => roundTrip(k, '/data', (rel) => {
        const b = host.hostFile(`/data/${rel}`);
        return b === undefined ? undefined : dec(b);
      }), { limitSteps: 2_000_000 });
    } finally {
      host.dispose();
    }
  });

  it('mount(2) with the etfs type; a missing or non-directory source, and bad options, fail', async () => {
    const host = new SimHost({ seed: 8 });
    host.addHostFile('/d/f', 'y');
    const k = await boot({ host });
    try {
      await host.run(async () => {
        await k.sys.mkdir('/m', 0o755);
        expect(await code(k.sys.mount('/nope', '/m', 'etfs', 0, ''))).toBe('ENOENT');
        expect(await code(k.sys.mount('/d/f', '/m', 'etfs', 0, ''))).toBe('ENOTDIR');
        expect(await code(k.sys.mount('/d', '/m', 'etfs', 0, 'uid=x'))).toBe('EINVAL');
        await k.sys.mount('/d', '/m', 'etfs', 0, 'gid=5');
        expect((await k.sys.stat('/m/f')).gid).toBe(5);
        expect(await readFile(k.sys, '/m/f')).toBe('y');
        await k.sys.umount2('/m', 0);
        const rep = await k.shutdown();
        expect(rep.other).toEqual([]);
      }, { limitSteps: 1_000_000 });
    } finally {
      host.dispose();
    }
  });
});

/** A host file registered at a kernel path: the scenario both hosts run (host file "hello" at hostFile, symlink hostLink to it). */
async function singleFile(k: BootedKernel, hostFile: string, hostLink: string, hostBytes: () => string | undefined): Promise<void> {
  const etfs = k.kernel.lookup<Etfs>('etfs')!;
  await etfs.register('/files/one', hostFile);
  // A regular file with the host's size, readable and writable through the kernel path.
  const st = await k.sys.stat('/files/one');
  expect([st.mode & S_IFMT, st.mode & 0o777, st.size]).toEqual([S_IFREG, 0o644, 5]);
  expect(await ls(k.sys, '/files')).toEqual(['one']);
  expect(await readFile(k.sys, '/files/one')).toBe('hello');
  // O_CREAT|O_TRUNC on the existing name opens the mounted file, not the placeholder under it.
  await writeFile(k.sys, '/files/one', 'HELLO, HOST');
  expect(hostBytes()).toBe('HELLO, HOST');
  await writeFile(k.sys, '/files/one', '!', O_WRONLY | O_APPEND);
  expect(hostBytes()).toBe('HELLO, HOST!');
  expect((await k.sys.stat('/files/one')).size).toBe(12);
  expect((await k.sys.statfs('/files/one')).type).toBe(0x45544653);
  expect(await code(k.sys.stat('/files/one/'))).toBe('ENOTDIR');
  expect(await code(k.sys.open('/files/one', O_RDONLY | O_DIRECTORY))).toBe('ENOTDIR');
  expect(await readFile(k.sys, '/proc/mounts')).toContain(`${hostFile} /files/one etfs rw,relatime 0 0`);

  // The mount point is busy: unlink and rename of it, umount while open.
  expect(await code(k.sys.unlink('/files/one'))).toBe('EBUSY');
  expect(await code(k.sys.rename('/files/one', '/files/two'))).toBe('EBUSY');
  const held = await k.sys.open('/files/one', O_RDONLY);
  expect(await k.sys.readlink(`/proc/self/fd/${held}`)).toBe('/files/one');
  expect(await code(etfs.unregister('/files/one'))).toBe('EBUSY');
  await k.sys.close(held);
  await etfs.unregister('/files/one');
  // The placeholder register made is gone again.
  expect(await code(k.sys.lstat('/files/one'))).toBe('ENOENT');
  expect(await ls(k.sys, '/files')).toEqual([]);

  // An existing kernel file is the mount point as it is (and stays after unregister);
  // a symlinked host source is followed on the host.
  await writeFile(k.sys, '/kfile', 'kernel bytes');
  await etfs.register('/kfile', hostLink, { readOnly: true });
  expect(await readFile(k.sys, '/kfile')).toBe('HELLO, HOST!');
  expect(await code(k.sys.open('/kfile', O_WRONLY))).toBe('EROFS');
  await etfs.unregister('/kfile');
  expect(await readFile(k.sys, '/kfile')).toBe('kernel bytes');

  // An existing directory cannot take a file: ENOTDIR, and the namespace is untouched.
  await k.sys.mkdir('/kdir', 0o755);
  expect(await code(etfs.register('/kdir', hostFile))).toBe('ENOTDIR');
  expect((await k.sys.stat('/kdir')).mode & S_IFMT).toBe(S_IFDIR);
  expect(await code(etfs.unregister('/kdir'))).toBe('EINVAL');
  await k.sys.rmdir('/kdir');
  await k.sys.unlink('/kfile');
}

describe('etfs: a single host file at a kernel path', () => {
  it('sim host: register, read, write through, busy rules, unregister restores the namespace', async () => {
    const host = new SimHost({ seed: 11, hostFileLatencyNs: 1000 });
    host.addHostFile('/h/one.txt', 'hello');
    host.addHostSymlink('/h/ln', 'one.txt');
    const k = await boot({ host });
    try {
      await host.run(async () => {
        await singleFile(k, '/h/one.txt', '/h/ln', () => {
          const b = host.hostFile('/h/one.txt');
          return b === undefined ? undefined : dec(b);
        });
        const rep = await k.shutdown();
        expect(rep.other).toEqual([]);
      }, { limitSteps: 2_000_000 });
    } finally {
      host.dispose();
    }
  });

  it('mount(2): the target and the new root must agree on being a directory (ENOTDIR both ways)', async () => {
    const host = new SimHost({ seed: 12 });
    host.addHostFile('/h/f', 'host file');
    host.addHostFile('/h/d/inner', 'x');
    const k = await boot({ host });
    try {
      await host.run(async () => {
        await k.sys.mkdir('/m', 0o755);
        await writeFile(k.sys, '/f', 'kernel file');
        const under = await k.sys.stat('/f');
        // A file on a directory, a directory on a file, a tmpfs (directory root) on a file.
        expect(await code(k.sys.mount('/h/f', '/m', 'etfs', 0, ''))).toBe('ENOTDIR');
        expect(await code(k.sys.mount('/h/d', '/f', 'etfs', 0, ''))).toBe('ENOTDIR');
        expect(await code(k.sys.mount('none', '/f', 'tmpfs', 0, ''))).toBe('ENOTDIR');
        // The file system's own answers come first (Linux checks the mount point after vfs_get_tree).
        expect(await code(k.sys.mount('none', '/f', 'nosuchfs', 0, ''))).toBe('ENODEV');
        expect(await code(k.sys.mount('/h/nope', '/f', 'etfs', 0, ''))).toBe('ENOENT');
        expect(await readFile(k.sys, '/proc/mounts')).not.toContain(' /f ');
        // A file on a file: the path now reaches the host file, with its own dev and ino.
        await k.sys.mount('/h/f', '/f', 'etfs', 0, 'uid=7');
        const st = await k.sys.stat('/f');
        expect([st.mode & S_IFMT, st.size, st.uid]).toEqual([S_IFREG, 9, 7]);
        expect(st.dev).not.toBe(under.dev);
        expect(await readFile(k.sys, '/f')).toBe('host file');
        expect(await readFile(k.sys, '/proc/mounts')).toContain('/h/f /f etfs rw,relatime,uid=7 0 0');
        // Stacking another file mount on it also works (its mount point is a file).
        await k.sys.mount('/h/d/inner', '/f', 'etfs', 0, '');
        expect(await readFile(k.sys, '/f')).toBe('x');
        await k.sys.umount2('/f', 0);
        expect(await readFile(k.sys, '/f')).toBe('host file');
        const fd = await k.sys.open('/f', O_RDONLY);
        expect(await code(k.sys.umount2('/f', 0))).toBe('EBUSY');
        await k.sys.close(fd);
        await k.sys.umount2('/f', 0);
        expect(await readFile(k.sys, '/f')).toBe('kernel file');
        expect(await code(k.sys.umount2('/f', 0))).toBe('EINVAL');
        const rep = await k.shutdown();
        expect(rep.other).toEqual([]);
      }, { limitSteps: 1_000_000 });
    } finally {
      host.dispose();
    }
  });
});

describe('etfs under concurrency (sim host with host-file latency)', () => {
  it('racing opens, reads and writes of one file leave no host handle open and lose no data', async () => {
    const host = new SimHost({ seed: 9, hostFileLatencyNs: 50_000 });
    host.addHostFile('/d/f', 'abcdefgh');
    // Count host handles by wrapping the two hypercalls on this host object.
    let live = 0;
    const open = host.hostOpen.bind(host);
    const close = host.hostClose.bind(host);
    host.hostOpen = async (...a) => {
      const r = await open(...a);
      if (r >= 0) live++;
      return r;
    };
    host.hostClose = async (h) => {
      live--;
      return close(h);
    };
    const k = await boot({ host });
    try {
      await host.run(async () => {
        await k.kernel.lookup<Etfs>('etfs')!.register('/h', '/d');
        const procs = [k.rfork(), k.rfork(), k.rfork(), k.rfork()];
        await Promise.all(procs.map(async (p, i) => {
          const sys = sysOf(p);
          const fd = await sys.open('/h/f', i % 2 === 0 ? O_RDONLY : O_RDWR);
          const b = new Uint8Array(8);
          expect(await sys.pread(fd, b, 0)).toBe(8);
          if (i % 2 === 1) await sys.pwrite(fd, enc(String(i)), 8 + i);
          await sys.close(fd);
        }));
        expect(live).toBe(0);
        expect(dec(host.hostFile('/d/f')!)).toBe('abcdefgh\0' + '1\0' + '3');
        for (const p of procs) await k.exit(p);
        await k.kernel.lookup<Etfs>('etfs')!.unregister('/h');
      }, { limitSteps: 1_000_000 });
    } finally {
      host.dispose();
    }
  });
});

describe('etfs on the node host', () => {
  let dir = '';
  afterEach(() => {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  it('round trip through a real temporary directory', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etfs-'));
    fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'deep'), 'x');
    fs.symlinkSync('hello.txt', path.join(dir, 'link'));
    const k = await boot({ host: new NodeHost() });
    await roundTrip(k, dir, (rel) => {
      try {
        return fs.readFileSync(path.join(dir, rel), 'utf8');
      } catch {
        return undefined;
      }
    });
    const rep = await k.shutdown();
    expect(rep.other).toEqual([]);
  });

  it('a single real temporary file at a kernel path', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etfs-'));
    const file = path.join(dir, 'one.txt');
    fs.writeFileSync(file, 'hello');
    fs.symlinkSync('one.txt', path.join(dir, 'ln'));
    const k = await boot({ host: new NodeHost() });
    await singleFile(k, file, path.join(dir, 'ln'), () => {
      try {
        return fs.readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
    });
    const rep = await k.shutdown();
    expect(rep.other).toEqual([]);
  });
});
