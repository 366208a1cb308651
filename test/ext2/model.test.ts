/**
 * ext2 write side, model-based: random sequences of create, write at random
 * offsets (up to the triple-indirect range), truncate, rename, link, unlink,
 * mkdir, rmdir, symlink, chmod, chown and fsync run through the library on
 * a fresh mkfs.ext2 image and on a plain in-memory model of the tree. Every
 * call must succeed or fail exactly as the model says; afterwards the image
 * must pass `e2fsck -fn` (exit 0) and `debugfs rdump` must show the model's
 * tree, contents, symlink targets and modes.
 *
 * Runs EXT2_MODEL_RUNS sequences (default 8) of up to 40 commands.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { boot, type BootedKernel } from '../../src/frontends/library/boot.ts';
import { O_CREAT, O_EXCL, O_RDWR, O_WRONLY } from '../../src/kern/constants.ts';
import { debugfs, fsck, haveE2fsprogs, mkfs, rmTree, tmpDir } from './kit.ts';

const ok = haveE2fsprogs();
const RUNS = Number(process.env.EXT2_MODEL_RUNS ?? 8);

interface MFile { kind: 'file'; data: Uint8Array; mode: number; uid: number; gid: number }
interface MDir { kind: 'dir'; mode: number; uid: number; gid: number }
interface MLink { kind: 'symlink'; target: string }
type MNode = MFile | MDir | MLink;

class Model {
  readonly paths = new Map<string, MNode>([['', { kind: 'dir', mode: 0o755, uid: 0, gid: 0 }]]);
  dirs(): string[] { return [...this.paths].filter(([, n]) => n.kind === 'dir').map(([p]) => p).sort(); }
  files(): string[] { return [...this.paths].filter(([, n]) => n.kind === 'file').map(([p]) => p).sort(); }
  all(): string[] { return [...this.paths.keys()].filter((p) => p !== '').sort(); }
  children(dir: string): string[] { return this.all().filter((p) => parent(p) === dir); }
}

function parent(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}
const kpath = (p: string): string => (p === '' ? '/mnt' : `/mnt/${p}`);
const child = (d: string, name: string): string => (d === '' ? name : `${d}/${name}`);
const pick = <T>(xs: T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);

type Cmd = (m: Model, k: BootedKernel) => Promise<void>;
const name = fc.constantFrom('a', 'b', 'c', 'dd', 'e'.repeat(40), 'f');
const offset = fc.oneof(fc.nat({ max: 20_000 }), fc.nat({ max: 400_000 }), fc.constantFrom(12 * 1024, 268 * 1024, 70 * 1024 * 1024));

async function errno(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

const commands: fc.Arbitrary<Cmd>[] = [
  fc.record({ d: fc.nat(), n: name }).map(({ d, n }) => async (m, k) => {
    const dir = pick(m.dirs(), d)!;
    const p = child(dir, n);
    const r = await errno(k.sys.open(kpath(p), O_CREAT | O_EXCL | O_WRONLY, 0o644).then((fd) => k.sys.close(fd)));
    expect(r).toBe(m.paths.has(p) ? 'EEXIST' : 'ok');
    if (!m.paths.has(p)) m.paths.set(p, { kind: 'file', data: new Uint8Array(0), mode: 0o644, uid: 0, gid: 0 });
  }),
  fc.record({ f: fc.nat(), off: offset, len: fc.nat({ max: 5000 }), seed: fc.nat(255) }).map(({ f, off, len, seed }) => async (m, k) => {
    const p = pick(m.files(), f);
    if (p === undefined) return;
    const bytes = new Uint8Array(len).map((_, i) => (seed + i * 7) & 0xff);
    const fd = await k.sys.open(kpath(p), O_RDWR);
    expect(await k.sys.pwrite(fd, bytes, off)).toBe(len);
    await k.sys.close(fd);
    const node = m.paths.get(p) as MFile;
    if (len > 0) {
      const end = Math.max(node.data.byteLength, off + len);
      const nd = new Uint8Array(end);
      nd.set(node.data);
      nd.set(bytes, off);
      node.data = nd;
    }
  }),
  fc.record({ f: fc.nat(), size: fc.oneof(fc.nat({ max: 300_000 }), fc.constant(0)) }).map(({ f, size }) => async (m, k) => {
    const p = pick(m.files(), f);
    if (p === undefined) return;
    await k.sys.truncate(kpath(p), size);
    const node = m.paths.get(p) as MFile;
    const nd = new Uint8Array(size);
    nd.set(node.data.subarray(0, size));
    node.data = nd;
  }),
  fc.record({ d: fc.nat(), n: name }).map(({ d, n }) => async (m, k) => {
    const p = child(pick(m.dirs(), d)!, n);
    expect(await errno(k.sys.mkdir(kpath(p), 0o750))).toBe(m.paths.has(p) ? 'EEXIST' : 'ok');
    if (!m.paths.has(p)) m.paths.set(p, { kind: 'dir', mode: 0o750, uid: 0, gid: 0 });
  }),
  fc.nat().map((d) => async (m, k) => {
    const p = pick(m.dirs().filter((x) => x !== ''), d);
    if (p === undefined) return;
    const empty = m.children(p).length === 0;
    expect(await errno(k.sys.rmdir(kpath(p)))).toBe(empty ? 'ok' : 'ENOTEMPTY');
    if (empty) m.paths.delete(p);
  }),
  fc.nat().map((f) => async (m, k) => {
    const p = pick(m.all().filter((x) => m.paths.get(x)!.kind !== 'dir'), f);
    if (p === undefined) return;
    await k.sys.unlink(kpath(p));
    m.paths.delete(p);
  }),
  fc.record({ f: fc.nat(), d: fc.nat(), n: name }).map(({ f, d, n }) => async (m, k) => {
    const p = pick(m.files(), f);
    if (p === undefined) return;
    const to = child(pick(m.dirs(), d)!, n);
    expect(await errno(k.sys.link(kpath(p), kpath(to)))).toBe(m.paths.has(to) ? 'EEXIST' : 'ok');
    if (!m.paths.has(to)) m.paths.set(to, m.paths.get(p)!);
  }),
  fc.record({ d: fc.nat(), n: name, t: fc.constantFrom('x', 'a/b/c', 'y'.repeat(80)) }).map(({ d, n, t }) => async (m, k) => {
    const p = child(pick(m.dirs(), d)!, n);
    expect(await errno(k.sys.symlink(t, kpath(p)))).toBe(m.paths.has(p) ? 'EEXIST' : 'ok');
    if (!m.paths.has(p)) m.paths.set(p, { kind: 'symlink', target: t });
  }),
  fc.record({ f: fc.nat(), d: fc.nat(), n: name }).map(({ f, d, n }) => async (m, k) => {
    const from = pick(m.all(), f);
    if (from === undefined) return;
    const to = child(pick(m.dirs(), d)!, n);
    const src = m.paths.get(from)!;
    const dst = m.paths.get(to);
    let want = 'ok';
    if (src.kind === 'dir' && (to === from || to.startsWith(from + '/'))) want = to === from ? 'ok' : 'EINVAL';
    else if (dst !== undefined && src !== dst) {
      if (dst.kind === 'dir' && src.kind !== 'dir') want = 'EISDIR';
      else if (dst.kind !== 'dir' && src.kind === 'dir') want = 'ENOTDIR';
      else if (dst.kind === 'dir' && m.children(to).length > 0) want = 'ENOTEMPTY';
    }
    expect(await errno(k.sys.rename(kpath(from), kpath(to)))).toBe(want);
    if (want !== 'ok' || from === to || src === dst) return;
    // Move from and everything under it.
    const moved = [...m.paths].filter(([p]) => p === from || p.startsWith(from + '/'));
    if (dst !== undefined) m.paths.delete(to);
    for (const [p] of moved) m.paths.delete(p);
    for (const [p, node] of moved) m.paths.set(to + p.slice(from.length), node);
  }),
  fc.record({ f: fc.nat(), mode: fc.constantFrom(0o600, 0o644, 0o755, 0o4755, 0o1777) }).map(({ f, mode }) => async (m, k) => {
    const p = pick(m.all().filter((x) => m.paths.get(x)!.kind !== 'symlink'), f);
    if (p === undefined) return;
    await k.sys.chmod(kpath(p), mode);
    (m.paths.get(p) as MFile | MDir).mode = mode;
  }),
  fc.record({ f: fc.nat(), uid: fc.constantFrom(0, 1000, 70000, 4000000000), gid: fc.constantFrom(0, 100, 99999) }).map(({ f, uid, gid }) => async (m, k) => {
    const p = pick(m.all().filter((x) => m.paths.get(x)!.kind !== 'symlink'), f);
    if (p === undefined) return;
    await k.sys.chown(kpath(p), uid, gid);
    const node = m.paths.get(p) as MFile | MDir;
    node.uid = uid;
    node.gid = gid;
    // chown(2) by root clears set-user-ID on a non-directory.
    if (node.kind === 'file') node.mode &= ~0o6000;
  }),
  fc.nat().map((f) => async (m, k) => {
    const p = pick(m.files(), f);
    if (p === undefined) return;
    const fd = await k.sys.open(kpath(p), O_RDWR);
    await k.sys.fsync(fd);
    await k.sys.close(fd);
  }),
  // Unlink a file while it is open, keep using it, then close: the last close frees it.
  fc.record({ d: fc.nat(), len: fc.nat({ max: 300_000 }) }).map(({ d, len }) => async (m, k) => {
    const p = child(pick(m.dirs(), d)!, 'open-unlinked');
    if (m.paths.has(p)) return;
    const fd = await k.sys.open(kpath(p), O_CREAT | O_EXCL | O_RDWR, 0o600);
    await k.sys.unlink(kpath(p));
    const bytes = new Uint8Array(len).fill(0x5a);
    expect(await k.sys.pwrite(fd, bytes, 1000)).toBe(len);
    const back = new Uint8Array(len);
    expect(await k.sys.pread(fd, back, 1000)).toBe(len);
    expect(back).toEqual(bytes);
    expect((await k.sys.fstat(fd)).nlink).toBe(0);
    await k.sys.close(fd);
  }),
];

/** `debugfs ls -p DIR`: name → [mode, uid, gid]. */
function lsp(img: string, dir: string): Map<string, [number, number, number]> {
  const out = new Map<string, [number, number, number]>();
  for (const line of debugfs(img, `ls -p /${dir}`).split('\n')) {
    const f = line.split('/');
    if (f.length < 7 || f[5] === '.' || f[5] === '..') continue;
    out.set(f[5]!, [parseInt(f[2]!, 8), Number(f[3]) >>> 0, Number(f[4]) >>> 0]); // debugfs prints ids signed
  }
  return out;
}

/** Compare the image (debugfs ls -p for metadata, its rdump for contents) with the model. */
function compareDump(img: string, out: string, m: Model): void {
  const seen = new Set<string>();
  const walk = (rel: string): void => {
    const meta = lsp(img, rel);
    for (const n of readdirSync(join(out, rel))) {
      const p = child(rel, n);
      if (p === 'lost+found') continue;
      seen.add(p);
      const want = m.paths.get(p);
      expect({ p, present: want !== undefined }).toEqual({ p, present: true });
      const [mode, uid, gid] = meta.get(n) ?? [0, -1, -1];
      if (want!.kind === 'dir') {
        expect({ p, mode, uid, gid }).toEqual({ p, mode: 0o40000 | want!.mode, uid: want!.uid, gid: want!.gid });
        walk(p);
      } else if (want!.kind === 'symlink') {
        expect({ p, target: readlinkSync(join(out, p)), mode }).toEqual({ p, target: want!.target, mode: 0o120777 });
      } else {
        expect({ p, mode, uid, gid }).toEqual({ p, mode: 0o100000 | want!.mode, uid: want!.uid, gid: want!.gid });
        const data = readFileSync(join(out, p));
        expect({ p, size: data.byteLength }).toEqual({ p, size: want!.data.byteLength });
        expect({ p, same: Buffer.from(want!.data).equals(data) }).toEqual({ p, same: true });
      }
    }
  };
  walk('');
  expect([...seen].sort()).toEqual(m.all());
}

const work = ok ? tmpDir('model') : '';
afterAll(() => {
  if (work !== '') rmTree(work);
});

describe.skipIf(!ok)('ext2 writes against a model', () => {
  it('random workloads leave an image e2fsck accepts and debugfs reads as the model', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(...commands), { minLength: 5, maxLength: 40 }), fc.constantFrom(1024, 4096), fc.constantFrom(128, 256), async (cmds, bs, isz) => {
        const img = join(work, `img${run++}`);
        mkfs(img, '16M', { bs, isz });
        const k = await boot();
        await k.sys.mkdir('/mnt', 0o755);
        await k.sys.mount(img, '/mnt', 'ext2', 0, '');
        const m = new Model();
        try {
          for (const c of cmds) await c(m, k);
        } finally {
          await k.sys.umount2('/mnt', 0);
          await k.shutdown();
        }
        const r = fsck(img);
        expect(r.out).not.toMatch(/Fix\? no|Clear\? no|Salvage\? no/);
        expect(r.status).toBe(0);
        const out = join(work, `dump${run}`);
        execFileSync('mkdir', ['-p', out]);
        execFileSync('debugfs', ['-R', `rdump / ${out}`, img], { stdio: 'ignore' });
        compareDump(img, out, m);
        rmTree(out);
        rmTree(img);
      }),
      { numRuns: RUNS },
    );
  });
});

describe.skipIf(!ok)('a large directory (several blocks, looked up through the in-core name index)', () => {
  it('lookups, readdir and e2fsck agree after creates, unlinks, renames and links', async () => {
    const img = join(work, 'bigdir');
    mkfs(img, '8M', { bs: 1024 });
    const k = await boot();
    await k.sys.mkdir('/mnt', 0o755);
    await k.sys.mount(img, '/mnt', 'ext2', 0, '');
    await k.sys.mkdir('/mnt/big', 0o755);
    const want = new Set<string>();
    for (let i = 0; i < 600; i++) {
      await k.sys.close(await k.sys.open(`/mnt/big/file-${i}`, O_CREAT | O_WRONLY, 0o644));
      want.add(`file-${i}`);
    }
    expect((await k.sys.stat('/mnt/big/file-0')).size).toBe(0); // builds the index
    for (let i = 0; i < 600; i += 3) {
      await k.sys.unlink(`/mnt/big/file-${i}`);
      want.delete(`file-${i}`);
    }
    for (let i = 1; i < 600; i += 5) {
      if (!want.has(`file-${i}`)) continue;
      await k.sys.rename(`/mnt/big/file-${i}`, `/mnt/big/renamed-${i}`);
      want.delete(`file-${i}`);
      want.add(`renamed-${i}`);
    }
    for (let i = 2; i < 600; i += 7) {
      if (!want.has(`file-${i}`)) continue;
      await k.sys.link(`/mnt/big/file-${i}`, `/mnt/big/link-${i}`);
      want.add(`link-${i}`);
    }
    await k.sys.rename('/mnt/big/renamed-11', '/mnt/big/file-4'); // over an existing name
    want.delete('renamed-11');
    for (let i = 0; i < 600; i++) {
      for (const n of [`file-${i}`, `renamed-${i}`, `link-${i}`]) {
        expect({ n, found: await errno(k.sys.stat(`/mnt/big/${n}`)) }).toEqual({ n, found: want.has(n) ? 'ok' : 'ENOENT' });
      }
    }
    const fd = await k.sys.open('/mnt/big', 0o200000);
    const seen: string[] = [];
    for (;;) {
      const ents = (await k.sys.getdents64(fd, 65536)) as { name: string }[];
      if (ents.length === 0) break;
      for (const e of ents) if (e.name !== '.' && e.name !== '..') seen.push(e.name);
    }
    await k.sys.close(fd);
    expect(seen.sort()).toEqual([...want].sort());
    await k.sys.umount2('/mnt', 0);
    await k.shutdown();
    expect(fsck(img).status).toBe(0);
  });
});
