/**
 * Model-based test of namespace operations (fast-check `fc.commands`):
 * mkdir, create, unlink, rmdir, rename, link and symlink on random paths
 * over a three-name alphabet, checked against a deliberately simple model —
 * a Map from absolute path to { type, inode } — that predicts each call's
 * errno from the POSIX rules (in Linux's check order) and, after every
 * command, the whole tree: names, types, inode identity and link counts.
 *
 * Symlinks all point at a missing target, so the model needs no symlink
 * resolution: a symlink in the middle of a path is simply ENOENT.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { boot } from '../frontends/library/boot.ts';
import type { BootedKernel, Sys } from './testkit.ts';
import { code } from './testkit.ts';
import { NodeHost } from '../hyper/node/host.ts';
import { O_CREAT, O_EXCL, O_RDONLY, O_WRONLY, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../kern/constants.ts';

type NodeType = 'file' | 'dir' | 'link';
interface MNode {
  type: NodeType;
  /** Model inode id (hard links share it). */
  ino: number;
}
interface Model {
  nodes: Map<string, MNode>;
  nextIno: number;
}
interface Real {
  k: BootedKernel;
  s: Sys;
  /** Model inode → kernel inode, learned as objects are created. */
  inoMap: Map<number, number>;
}

const parentOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';

/** ENOENT/ENOTDIR from walking p's parent directories, or null when they are all directories. */
function parentError(m: Model, p: string): string | null {
  const parts = p.split('/').filter(Boolean);
  let cur = '';
  for (let i = 0; i < parts.length - 1; i++) {
    cur += '/' + parts[i];
    const n = m.nodes.get(cur);
    if (n === undefined) return 'ENOENT';
    if (n.type === 'file') return 'ENOTDIR';
    if (n.type === 'link') return 'ENOENT'; // dangling
  }
  return null;
}

function children(m: Model, dir: string): string[] {
  const pre = dir === '/' ? '/' : dir + '/';
  return [...m.nodes.keys()].filter((p) => p.startsWith(pre) && !p.slice(pre.length).includes('/'));
}

function addNode(m: Model, p: string, type: NodeType): MNode {
  const n = { type, ino: m.nextIno++ };
  m.nodes.set(p, n);
  return n;
}

abstract class Cmd implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  abstract expect(m: Model): string;
  abstract call(r: Real): Promise<unknown>;
  abstract toString(): string;
  async run(m: Model, r: Real): Promise<void> {
    const want = this.expect(m);
    const got = await code(this.call(r));
    expect(got, this.toString()).toBe(want);
    await learnInodes(m, r);
    await compareTree(m, r);
  }
}

class Mkdir extends Cmd {
  constructor(readonly p: string) { super(); }
  expect(m: Model): string {
    const e = parentError(m, this.p);
    if (e) return e;
    if (m.nodes.has(this.p)) return 'EEXIST';
    addNode(m, this.p, 'dir');
    return 'ok';
  }
  call(r: Real) { return r.s.mkdir(this.p, 0o755); }
  toString() { return `mkdir(${this.p})`; }
}

class Create extends Cmd {
  constructor(readonly p: string) { super(); }
  expect(m: Model): string {
    const e = parentError(m, this.p);
    if (e) return e;
    if (m.nodes.has(this.p)) return 'EEXIST';
    addNode(m, this.p, 'file');
    return 'ok';
  }
  async call(r: Real) {
    const fd = await r.s.open(this.p, O_CREAT | O_EXCL | O_WRONLY, 0o644);
    await r.s.close(fd);
  }
  toString() { return `create(${this.p})`; }
}

class Symlink extends Cmd {
  constructor(readonly p: string) { super(); }
  expect(m: Model): string {
    const e = parentError(m, this.p);
    if (e) return e;
    if (m.nodes.has(this.p)) return 'EEXIST';
    addNode(m, this.p, 'link');
    return 'ok';
  }
  call(r: Real) { return r.s.symlink('/nowhere/at/all', this.p); }
  toString() { return `symlink(${this.p})`; }
}

class Unlink extends Cmd {
  constructor(readonly p: string) { super(); }
  expect(m: Model): string {
    const e = parentError(m, this.p);
    if (e) return e;
    const n = m.nodes.get(this.p);
    if (n === undefined) return 'ENOENT';
    if (n.type === 'dir') return 'EISDIR';
    m.nodes.delete(this.p);
    return 'ok';
  }
  call(r: Real) { return r.s.unlink(this.p); }
  toString() { return `unlink(${this.p})`; }
}

class Rmdir extends Cmd {
  constructor(readonly p: string) { super(); }
  expect(m: Model): string {
    const e = parentError(m, this.p);
    if (e) return e;
    const n = m.nodes.get(this.p);
    if (n === undefined) return 'ENOENT';
    if (n.type !== 'dir') return 'ENOTDIR';
    if (children(m, this.p).length > 0) return 'ENOTEMPTY';
    m.nodes.delete(this.p);
    return 'ok';
  }
  call(r: Real) { return r.s.rmdir(this.p); }
  toString() { return `rmdir(${this.p})`; }
}

class Link extends Cmd {
  constructor(readonly a: string, readonly b: string) { super(); }
  expect(m: Model): string {
    const e = parentError(m, this.a);
    if (e) return e;
    const n = m.nodes.get(this.a);
    if (n === undefined) return 'ENOENT';
    const e2 = parentError(m, this.b);
    if (e2) return e2;
    if (m.nodes.has(this.b)) return 'EEXIST';
    if (n.type === 'dir') return 'EPERM';
    m.nodes.set(this.b, n);
    return 'ok';
  }
  call(r: Real) { return r.s.link(this.a, this.b); }
  toString() { return `link(${this.a}, ${this.b})`; }
}

class Rename extends Cmd {
  constructor(readonly a: string, readonly b: string) { super(); }
  expect(m: Model): string {
    const e = parentError(m, this.a) ?? parentError(m, this.b);
    if (e) return e;
    const from = m.nodes.get(this.a);
    if (from === undefined) return 'ENOENT';
    const to = m.nodes.get(this.b);
    if (from.type === 'dir' && (this.b === this.a || this.b.startsWith(this.a + '/'))) return this.b === this.a ? 'ok' : 'EINVAL';
    if (to !== undefined && to.type === 'dir' && this.a.startsWith(this.b + '/')) return 'ENOTEMPTY';
    if (to === from) return 'ok'; // same inode: nothing happens
    if (to !== undefined) {
      if (from.type === 'dir' && to.type !== 'dir') return 'ENOTDIR';
      if (from.type !== 'dir' && to.type === 'dir') return 'EISDIR';
      if (to.type === 'dir' && children(m, this.b).length > 0) return 'ENOTEMPTY';
      m.nodes.delete(this.b);
    }
    // Move the entry and, for a directory, everything below it.
    const moved: [string, MNode][] = [];
    for (const [p, n] of m.nodes) if (p === this.a || p.startsWith(this.a + '/')) moved.push([p, n]);
    for (const [p] of moved) m.nodes.delete(p);
    for (const [p, n] of moved) m.nodes.set(this.b + p.slice(this.a.length), n);
    return 'ok';
  }
  call(r: Real) { return r.s.rename(this.a, this.b); }
  toString() { return `rename(${this.a}, ${this.b})`; }
}

const typeOf = (mode: number): NodeType => {
  switch (mode & S_IFMT) {
    case S_IFDIR: return 'dir';
    case S_IFREG: return 'file';
    case S_IFLNK: return 'link';
    default: throw new Error(`unexpected mode ${mode.toString(8)}`);
  }
};

/** Record the kernel inode of model nodes not yet mapped. */
async function learnInodes(m: Model, r: Real): Promise<void> {
  for (const [p, n] of m.nodes) {
    if (r.inoMap.has(n.ino)) continue;
    r.inoMap.set(n.ino, (await r.s.lstat(p)).ino);
  }
}

/** The kernel's whole tree must be the model's: names, types, inodes, link counts. */
async function compareTree(m: Model, r: Real): Promise<void> {
  const seen = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    const fd = await r.s.open(dir, O_RDONLY);
    const names: string[] = [];
    try {
      for (;;) {
        const ents = (await r.s.getdents64(fd, 8192)) as { name: string }[];
        if (ents.length === 0) break;
        for (const e of ents) if (e.name !== '.' && e.name !== '..') names.push(e.name);
      }
    } finally {
      await r.s.close(fd);
    }
    for (const name of names) {
      const p = (dir === '/' ? '' : dir) + '/' + name;
      seen.add(p);
      const n = m.nodes.get(p);
      expect(n, `kernel has ${p}, the model does not`).toBeDefined();
      const st = await r.s.lstat(p);
      expect(typeOf(st.mode), p).toBe(n!.type);
      expect(st.ino, `inode of ${p}`).toBe(r.inoMap.get(n!.ino));
      if (n!.type === 'dir') {
        expect(st.nlink, `nlink of ${p}`).toBe(2 + children(m, p).filter((c) => m.nodes.get(c)!.type === 'dir').length);
        await walk(p);
      } else {
        let links = 0;
        for (const x of m.nodes.values()) if (x === n) links++;
        expect(st.nlink, `nlink of ${p}`).toBe(links);
      }
    }
  };
  await walk('/');
  for (const p of m.nodes.keys()) expect(seen.has(p), `model has ${p}, the kernel does not`).toBe(true);
}

const name = fc.constantFrom('a', 'b', 'c');
// Short paths most of the time, so that operations often meet existing entries.
const path = fc.oneof(
  { weight: 3, arbitrary: fc.array(name, { minLength: 1, maxLength: 2 }) },
  { weight: 1, arbitrary: fc.array(name, { minLength: 3, maxLength: 3 }) },
).map((xs) => '/' + xs.join('/'));

const commands = [
  path.map((p) => new Mkdir(p)),
  path.map((p) => new Mkdir(p)),
  path.map((p) => new Create(p)),
  path.map((p) => new Create(p)),
  path.map((p) => new Symlink(p)),
  path.map((p) => new Unlink(p)),
  path.map((p) => new Rmdir(p)),
  fc.tuple(path, path).map(([a, b]) => new Link(a, b)),
  fc.tuple(path, path).map(([a, b]) => new Rename(a, b)),
  fc.tuple(path, path).map(([a, b]) => new Rename(a, b)),
];

describe('namespace model (fc.commands against a Map of paths)', () => {
  it('every namespace call agrees with the model, and so does the tree after it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'max' }), async (cmds) => {
        const k = await boot({ host: new NodeHost(), components: ['kern', 'vfs', 'tmpfs'] });
        try {
          const real: Real = { k, s: k.sys, inoMap: new Map() };
          const model: Model = { nodes: new Map(), nextIno: 1 };
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          const report = await k.shutdown();
          expect(report.other).toEqual([]);
        } finally {
          if (!k.kernel.shuttingDown) await k.shutdown();
        }
      }),
      { numRuns: Number(process.env['VFS_MODEL_RUNS'] ?? 120) },
    );
  }, 300_000);
});
