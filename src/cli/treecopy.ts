/**
 * Copying trees between the host and a kernel's namespace, for
 * `anykernel mkfs.ext2 -d` and `anykernel cp` (LKL's cptofs/cpfromfs):
 * regular files, directories, symlinks, FIFOs, character and block devices
 * and sockets, with modes, owners, nanosecond times and hard links kept.
 * Directory times are set after their contents. A progress bar on stderr
 * when it is a terminal, nothing in a pipe.
 *
 * The host side uses node:fs (and mknod(1)/mkfifo(1), which node:fs lacks,
 * for special files copied out); the kernel side only system calls.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { BootedKernel } from '../frontends/library/boot.ts';
import {
  AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CREAT, O_DIRECTORY, O_RDONLY, O_TRUNC, O_WRONLY, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK,
  S_IFMT, S_IFREG, S_IFSOCK,
} from '../kern/index.ts';

const CHUNK = 1 << 20;
const PIECE = 4096;

/**
 * Hand `write` the runs of `buf[0, n)` (file offset `off`) that are not all zero, in 4 KiB
 * pieces merged when adjacent: zero pieces stay holes (the caller sets the final size).
 */
export async function writeNonZero(buf: Uint8Array, n: number, off: number, write: (piece: Uint8Array, at: number) => Promise<unknown> | unknown): Promise<void> {
  let runStart = -1;
  for (let p = 0; p <= n; p += PIECE) {
    const end = Math.min(p + PIECE, n);
    const zero = p >= n || buf.subarray(p, end).every((b) => b === 0);
    if (!zero && runStart < 0) runStart = p;
    if ((zero || end === n) && runStart >= 0) {
      const stop = zero ? p : end;
      await write(buf.subarray(runStart, stop), off + runStart);
      runStart = -1;
    }
  }
}

/** Bytes and entries done / to do, drawn as a bar when stderr is a terminal. */
export class Progress {
  private readonly tty: boolean;
  private last = 0;
  done = 0;
  constructor(readonly total: number, readonly label: string, quiet = false) {
    this.tty = !quiet && process.stderr.isTTY === true;
  }
  add(n: number): void {
    this.done += n;
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.last < 100 && this.done < this.total) return;
    this.last = now;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const w = 30;
    const bar = '#'.repeat(Math.round(frac * w)).padEnd(w, ' ');
    process.stderr.write(`\r${this.label} [${bar}] ${Math.round(frac * 100)}% ${(this.done / 1048576).toFixed(1)}/${(this.total / 1048576).toFixed(1)} MiB`);
  }
  end(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

/** Bytes of regular files (plus one per entry) under a host path, for the progress bar. */
export function hostSize(p: string): number {
  const st = fs.lstatSync(p);
  if (st.isDirectory()) return fs.readdirSync(p).reduce((a, n) => a + hostSize(path.join(p, n)), 1);
  return 1 + (st.isFile() ? st.size : 0);
}

function tsOf(ns: bigint): { sec: number; nsec: number } {
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

/** Copy host path `src` to kernel path `dst` (which must not exist; its parent must). */
export async function copyIn(k: BootedKernel, src: string, dst: string, prog: Progress, links = new Map<string, string>()): Promise<void> {
  const sys = k.sys;
  const st = fs.lstatSync(src, { bigint: true });
  const mode = Number(st.mode);
  const key = `${st.dev}:${st.ino}`;
  if (!st.isDirectory() && st.nlink > 1n) {
    const first = links.get(key);
    if (first !== undefined) {
      await sys.link(first, dst);
      prog.add(1);
      return;
    }
    links.set(key, dst);
  }
  switch (mode & S_IFMT) {
    case S_IFDIR: {
      await sys.mkdir(dst, 0o700);
      for (const name of fs.readdirSync(src)) await copyIn(k, path.join(src, name), `${dst === '/' ? '' : dst}/${name}`, prog, links);
      break;
    }
    case S_IFREG: {
      const fd = await sys.open(dst, O_CREAT | O_WRONLY | O_TRUNC, 0o600);
      const hfd = fs.openSync(src, 'r');
      try {
        const buf = new Uint8Array(CHUNK);
        for (let off = 0; ; ) {
          const n = fs.readSync(hfd, buf, 0, CHUNK, off);
          if (n === 0) break;
          // Zero pieces stay holes (the file is extended by the final size below).
          await writeNonZero(buf, n, off, (piece, at) => sys.pwrite(fd, piece, at));
          off += n;
          prog.add(n);
        }
        await sys.ftruncate(fd, Number(st.size));
      } finally {
        fs.closeSync(hfd);
        await sys.close(fd);
      }
      break;
    }
    case S_IFLNK:
      await sys.symlink(fs.readlinkSync(src), dst);
      break;
    case S_IFIFO: case S_IFCHR: case S_IFBLK: case S_IFSOCK:
      await sys.mknod(dst, (mode & S_IFMT) | 0o600, Number(st.rdev));
      break;
  }
  await sys.lchown(dst, Number(st.uid), Number(st.gid));
  if ((mode & S_IFMT) !== S_IFLNK) await sys.chmod(dst, mode & 0o7777);
  await sys.utimensat(AT_FDCWD, dst, [tsOf(st.atimeNs), tsOf(st.mtimeNs)], AT_SYMLINK_NOFOLLOW);
  prog.add(1);
}

/** Bytes under a kernel path, for the progress bar. */
export async function kernelSize(k: BootedKernel, p: string): Promise<number> {
  const st = await k.sys.lstat(p);
  if ((st.mode & S_IFMT) !== S_IFDIR) return 1 + ((st.mode & S_IFMT) === S_IFREG ? st.size : 0);
  let n = 1;
  for (const name of await kernelNames(k, p)) n += await kernelSize(k, `${p === '/' ? '' : p}/${name}`);
  return n;
}

async function kernelNames(k: BootedKernel, dir: string): Promise<string[]> {
  const fd = await k.sys.open(dir, O_RDONLY | O_DIRECTORY);
  const names: string[] = [];
  try {
    for (;;) {
      const ents = (await k.sys.getdents64(fd, 65536)) as { name: string }[];
      if (ents.length === 0) break;
      for (const e of ents) if (e.name !== '.' && e.name !== '..') names.push(e.name);
    }
  } finally {
    await k.sys.close(fd);
  }
  return names;
}

/** Copy kernel path `src` to host path `dst` (which must not exist). */
export async function copyOut(k: BootedKernel, src: string, dst: string, prog: Progress, links = new Map<string, string>()): Promise<void> {
  const sys = k.sys;
  const st = await sys.lstat(src);
  const type = st.mode & S_IFMT;
  const key = `${st.dev}:${st.ino}`;
  if (type !== S_IFDIR && st.nlink > 1) {
    const first = links.get(key);
    if (first !== undefined) {
      fs.linkSync(first, dst);
      prog.add(1);
      return;
    }
    links.set(key, dst);
  }
  switch (type) {
    case S_IFDIR:
      fs.mkdirSync(dst, { mode: 0o700 });
      for (const name of await kernelNames(k, src)) await copyOut(k, `${src === '/' ? '' : src}/${name}`, path.join(dst, name), prog, links);
      break;
    case S_IFREG: {
      const fd = await sys.open(src, O_RDONLY);
      const hfd = fs.openSync(dst, 'w', 0o600);
      try {
        const buf = new Uint8Array(CHUNK);
        for (let off = 0; off < st.size; ) {
          const n = await sys.pread(fd, buf, off);
          if (n === 0) break;
          await writeNonZero(buf, n, off, (piece, at) => fs.writeSync(hfd, piece, 0, piece.byteLength, at));
          off += n;
          prog.add(n);
        }
        fs.ftruncateSync(hfd, st.size);
      } finally {
        fs.closeSync(hfd);
        await sys.close(fd);
      }
      break;
    }
    case S_IFLNK:
      fs.symlinkSync(await sys.readlink(src), dst);
      break;
    case S_IFIFO:
      execFileSync('mkfifo', [dst]);
      break;
    case S_IFCHR: case S_IFBLK: {
      const maj = Math.floor(st.rdev / 256) & 0xfff, min = (st.rdev & 0xff) | ((st.rdev >>> 12) & 0xfff00);
      execFileSync('mknod', [dst, type === S_IFCHR ? 'c' : 'b', String(maj), String(min)]);
      break;
    }
    default:
      prog.add(1);
      return; // sockets: nothing to make on the host
  }
  if (process.getuid?.() === 0) fs.lchownSync(dst, st.uid, st.gid);
  if (type !== S_IFLNK) fs.chmodSync(dst, st.mode & 0o7777);
  const t = (x: { sec: number; nsec: number }): number => x.sec + x.nsec / 1e9;
  fs.lutimesSync(dst, t(st.atime), t(st.mtime));
  prog.add(1);
}
