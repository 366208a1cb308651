/**
 * Concurrent processes renaming, linking, unlinking and creating in one
 * small namespace at the same time, under seeded sim-host interleavings.
 * Each operation may fail with an errno (a race lost), but afterwards the
 * tree must be consistent — every directory's link count is 2 plus its
 * subdirectories, every file's is the number of names it has, every entry
 * can be stat'ed, rename never made a cycle — no vnode reference leaks, and
 * lockdep (strict) saw no lock-order problem. A failure prints the seed;
 * ANYKERNEL_SEED=<n> replays it.
 */
import { describe, expect, it } from 'vitest';
import { forEachSeed } from '../hyper/sim/harness.ts';
import { splitRng } from '../hyper/sim/rng.ts';
import { O_CREAT, O_RDONLY, O_WRONLY, S_IFDIR, S_IFMT } from '../kern/constants.ts';
import { vfsOf } from './vfs.ts';
import { type Sys, code, simKernel, sysOf } from './testkit.ts';

const NAMES = ['a', 'b', 'c', 'd'];
const ALLOWED = new Set(['ok', 'ENOENT', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY', 'EINVAL', 'EPERM', 'EBUSY', 'ELOOP']); // ELOOP: a symlink named x pointing at x

function randPath(r: { below(n: number): number }): string {
  const depth = 1 + r.below(3);
  let p = '';
  for (let i = 0; i < depth; i++) p += '/' + NAMES[r.below(NAMES.length)];
  return '/w' + p;
}

async function worker(s: Sys, seed: number, id: number, ops: number, codes: Map<string, number>): Promise<void> {
  const r = splitRng(seed, `worker${id}`);
  for (let i = 0; i < ops; i++) {
    const a = randPath(r);
    const b = randPath(r);
    let p: Promise<unknown>;
    switch (r.below(7)) {
      case 0: p = s.mkdir(a, 0o755); break;
      case 1: p = s.open(a, O_CREAT | O_WRONLY, 0o644).then((fd) => s.close(fd)); break;
      case 2: p = s.unlink(a); break;
      case 3: p = s.rmdir(a); break;
      case 4: p = s.rename(a, b); break;
      case 5: p = s.link(a, b); break;
      default: p = s.symlink('x', a); break;
    }
    const c = await code(p);
    codes.set(c, (codes.get(c) ?? 0) + 1);
    if (!ALLOWED.has(c)) throw new Error(`worker ${id} op ${i}: unexpected ${c}`);
  }
}

/** Walk the tree; check link counts and that no directory is reachable twice. */
async function checkTree(s: Sys): Promise<number> {
  const fileNames = new Map<number, number>();
  const fileLinks = new Map<number, number>();
  const seenDirs = new Set<number>();
  let entries = 0;
  const walk = async (dir: string): Promise<void> => {
    const st = await s.stat(dir);
    expect(seenDirs.has(st.ino), `directory ${dir} reached twice (cycle)`).toBe(false);
    seenDirs.add(st.ino);
    const fd = await s.open(dir, O_RDONLY);
    const names: string[] = [];
    for (;;) {
      const ents = (await s.getdents64(fd, 8192)) as { name: string }[];
      if (ents.length === 0) break;
      for (const e of ents) if (e.name !== '.' && e.name !== '..') names.push(e.name);
    }
    await s.close(fd);
    let subdirs = 0;
    for (const n of names) {
      entries++;
      const p = `${dir}/${n}`;
      const cst = await s.lstat(p);
      if ((cst.mode & S_IFMT) === S_IFDIR) {
        subdirs++;
        expect((await s.stat(`${p}/..`)).ino, `.. of ${p}`).toBe(st.ino);
        await walk(p);
      } else {
        fileNames.set(cst.ino, (fileNames.get(cst.ino) ?? 0) + 1);
        fileLinks.set(cst.ino, cst.nlink);
      }
    }
    expect(st.nlink, `nlink of ${dir}`).toBe(2 + subdirs);
  };
  await walk('/w');
  for (const [ino, names] of fileNames) expect(fileLinks.get(ino), `nlink of inode ${ino}`).toBe(names);
  return entries;
}

describe('concurrent namespace operations', () => {
  it('leave a consistent tree whatever the interleaving', async () => {
    await forEachSeed('vfs concurrent namespace', 12, async (seed) => {
      await simKernel(async (k) => {
        await k.sys.mkdir('/w', 0o755);
        const codes = new Map<string, number>();
        const procs = [0, 1, 2, 3].map(() => sysOf(k.rfork({})));
        await Promise.all(procs.map((s, i) => worker(s, seed, i, 150, codes)));
        await checkTree(k.sys);
        expect(codes.get('ok') ?? 0).toBeGreaterThan(20);
        expect(vfsOf(k.kernel).leaks()).toEqual([]);
      }, seed);
    });
  }, 300_000);
});
