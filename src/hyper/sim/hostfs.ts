/**
 * The sim host's "host file system": an in-memory tree served through the
 * etfs hypercalls (hostStat, hostReaddir, hostReadlink, hostOpen, ...).
 *
 * Paths are absolute and "/"-separated; "." and ".." components are resolved
 * lexically. Symlinks are followed by open (up to 40 hops, then ELOOP), not
 * by stat (lstat semantics, as the node host does). There are no permissions,
 * no hard links and no ownership: enough to pass files into a kernel.
 */
import type { HostErrno, HostStat } from '../types.ts';

const ENOENT = -2, EBADF = -9, EEXIST = -17, ENOTDIR = -20, EISDIR = -21, EINVAL = -22, ELOOP = -40;

type Node =
  | { type: 'file'; data: Uint8Array; size: number; mode: number; mtimeNs: bigint }
  | { type: 'dir'; children: Map<string, Node>; mode: number; mtimeNs: bigint }
  | { type: 'symlink'; target: string; mode: number; mtimeNs: bigint };

interface OpenFile { node: Extract<Node, { type: 'file' }>; write: boolean }

function split(path: string): string[] | null {
  if (!path.startsWith('/')) return null;
  const out: string[] = [];
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop(); else out.push(c);
  }
  return out;
}

export class SimHostFs {
  private readonly root: Node = { type: 'dir', children: new Map(), mode: 0o40755, mtimeNs: 0n };
  private readonly open = new Map<number, OpenFile>();
  private nextHandle = 1;

  // ---- population by the test -------------------------------------------
  addDir(path: string, mtimeNs = 0n): void { this.mkdirp(this.parts(path), mtimeNs); }
  addFile(path: string, bytes: Uint8Array | string, mtimeNs = 0n, mode = 0o100644): void {
    const parts = this.parts(path);
    const name = parts.pop();
    if (name === undefined) throw new Error(`addHostFile: ${path} names the root`);
    const dir = this.mkdirp(parts, mtimeNs);
    const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes.slice();
    dir.children.set(name, { type: 'file', data, size: data.byteLength, mode, mtimeNs });
  }
  addSymlink(path: string, target: string, mtimeNs = 0n): void {
    const parts = this.parts(path);
    const name = parts.pop();
    if (name === undefined) throw new Error(`addHostSymlink: ${path} names the root`);
    this.mkdirp(parts, mtimeNs).children.set(name, { type: 'symlink', target, mode: 0o120777, mtimeNs });
  }
  /** The bytes of a file as the kernel left them, or undefined. */
  fileBytes(path: string): Uint8Array | undefined {
    const n = this.lookup(path, true);
    return typeof n === 'object' && n.type === 'file' ? n.data.slice(0, n.size) : undefined;
  }

  private parts(path: string): string[] {
    const p = split(path);
    if (!p) throw new Error(`host file paths must be absolute, got ${JSON.stringify(path)}`);
    return p;
  }
  private mkdirp(parts: string[], mtimeNs: bigint): Extract<Node, { type: 'dir' }> {
    let d = this.root as Extract<Node, { type: 'dir' }>;
    for (const c of parts) {
      let n = d.children.get(c);
      if (!n) { n = { type: 'dir', children: new Map(), mode: 0o40755, mtimeNs }; d.children.set(c, n); }
      if (n.type !== 'dir') throw new Error(`host path component ${c} is not a directory`);
      d = n;
    }
    return d;
  }

  /** Resolve a path; `follow` follows a final symlink. Intermediate symlinks are always followed. */
  private lookup(path: string, follow: boolean, hops = 0): Node | HostErrno {
    const parts = split(path);
    if (!parts) return EINVAL;
    let n: Node = this.root;
    for (let i = 0; i < parts.length; i++) {
      if (n.type !== 'dir') return ENOTDIR;
      const next = n.children.get(parts[i]!);
      if (!next) return ENOENT;
      if (next.type === 'symlink' && (follow || i < parts.length - 1)) {
        if (hops >= 40) return ELOOP;
        const base = '/' + parts.slice(0, i).join('/');
        const target = next.target.startsWith('/') ? next.target : `${base}/${next.target}`;
        return this.lookup(`${target}/${parts.slice(i + 1).join('/')}`, follow, hops + 1);
      }
      n = next;
    }
    return n;
  }

  // ---- the hypercalls (synchronous here; the host makes them events) -----
  stat(path: string): HostStat | HostErrno {
    const n = this.lookup(path, false);
    if (typeof n === 'number') return n;
    const size = n.type === 'file' ? n.size : n.type === 'symlink' ? n.target.length : 0;
    return { type: n.type, mode: n.mode, size, mtimeNs: n.mtimeNs };
  }
  readdir(path: string): string[] | HostErrno {
    const n = this.lookup(path, true);
    if (typeof n === 'number') return n;
    if (n.type !== 'dir') return ENOTDIR;
    return [...n.children.keys()].sort();
  }
  readlink(path: string): string | HostErrno {
    const n = this.lookup(path, false);
    if (typeof n === 'number') return n;
    return n.type === 'symlink' ? n.target : EINVAL;
  }
  openFile(path: string, flags: { write: boolean; create: boolean; truncate: boolean }, nowNs: bigint): number | HostErrno {
    let n = this.lookup(path, true);
    if (n === ENOENT && flags.create) {
      const parts = split(path)!;
      const name = parts.pop();
      if (name === undefined) return EISDIR;
      const dir = this.lookup('/' + parts.join('/'), true);
      if (typeof dir === 'number') return dir;
      if (dir.type !== 'dir') return ENOTDIR;
      if (dir.children.has(name)) return EEXIST; // a dangling symlink
      const f: Node = { type: 'file', data: new Uint8Array(0), size: 0, mode: 0o100644, mtimeNs: nowNs };
      dir.children.set(name, f);
      dir.mtimeNs = nowNs;
      n = f;
    }
    if (typeof n === 'number') return n;
    if (n.type === 'dir') return EISDIR;
    if (n.type !== 'file') return EINVAL;
    if (flags.truncate && flags.write) { n.size = 0; n.mtimeNs = nowNs; }
    const h = this.nextHandle++;
    this.open.set(h, { node: n, write: flags.write });
    return h;
  }
  read(handle: number, offset: number, buf: Uint8Array): number | HostErrno {
    const f = this.open.get(handle);
    if (!f) return EBADF;
    if (!Number.isSafeInteger(offset) || offset < 0) return EINVAL;
    const n = Math.max(0, Math.min(buf.byteLength, f.node.size - offset));
    buf.set(f.node.data.subarray(offset, offset + n));
    return n;
  }
  write(handle: number, offset: number, data: Uint8Array, nowNs: bigint): number | HostErrno {
    const f = this.open.get(handle);
    if (!f || !f.write) return EBADF;
    if (!Number.isSafeInteger(offset) || offset < 0) return EINVAL;
    const node = f.node;
    const end = offset + data.byteLength;
    if (end > node.data.byteLength) {
      const grown = new Uint8Array(Math.max(end, node.data.byteLength * 2));
      grown.set(node.data.subarray(0, node.size));
      node.data = grown;
    }
    if (offset > node.size) node.data.fill(0, node.size, offset);
    node.data.set(data, offset);
    node.size = Math.max(node.size, end);
    node.mtimeNs = nowNs;
    return data.byteLength;
  }
  close(handle: number): HostErrno {
    return this.open.delete(handle) ? 0 : EBADF;
  }
  /** Forget open handles (after a crash). */
  closeAll(): void { this.open.clear(); }
}
