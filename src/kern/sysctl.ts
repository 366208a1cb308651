/**
 * The sysctl tree: named kernel variables ("kern.hostname", "kern.ostype",
 * "vm.overcommit"...). Subsystems register nodes with a getter and, when
 * writable, a setter that validates its input. Exposed through the `sysctl`
 * library call and mirrored by procfs under /proc/sys (dots become slashes).
 */
import { EINVAL, ENOENT, ENOTDIR, EPERM, err } from './errno.ts';
import type { Cred } from './proc.ts';

export type SysctlValue = string | number;

export interface SysctlNode {
  readonly name: string;
  readonly description: string;
  get(): SysctlValue;
  /** Absent for read-only nodes. Throws a KernelError (EINVAL) on bad input. */
  set?(v: SysctlValue): void;
  /** Writable by root only (default true). */
  readonly rootOnly?: boolean;
}

const NAME_RE = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;

export class SysctlTree {
  private readonly nodes = new Map<string, SysctlNode>();

  register(node: SysctlNode): void {
    if (!NAME_RE.test(node.name)) throw new Error(`bad sysctl name ${node.name}`);
    if (this.nodes.has(node.name)) throw new Error(`sysctl ${node.name} registered twice`);
    this.nodes.set(node.name, node);
  }

  /** A simple variable node. */
  variable(name: string, description: string, initial: SysctlValue, opts: { writable?: boolean; validate?: (v: SysctlValue) => boolean } = {}): { value: SysctlValue } {
    const cell = { value: initial };
    const node: SysctlNode = {
      name,
      description,
      get: () => cell.value,
      ...(opts.writable
        ? {
            set: (v: SysctlValue) => {
              if (typeof v !== typeof initial || (opts.validate && !opts.validate(v))) throw err(EINVAL);
              cell.value = v;
            },
          }
        : {}),
    };
    this.register(node);
    return cell;
  }

  has(name: string): boolean {
    return this.nodes.has(name);
  }

  /** The node itself (procfs reads its writability for /proc/sys modes). */
  node(name: string): SysctlNode | undefined {
    return this.nodes.get(name);
  }

  read(name: string): SysctlValue {
    const n = this.nodes.get(name);
    if (n === undefined) throw err(this.isPrefix(name) ? ENOTDIR : ENOENT);
    return n.get();
  }

  write(name: string, v: SysctlValue, cred: Cred): void {
    const n = this.nodes.get(name);
    if (n === undefined) throw err(this.isPrefix(name) ? ENOTDIR : ENOENT);
    if (n.set === undefined) throw err(EPERM);
    if ((n.rootOnly ?? true) && cred.euid !== 0) throw err(EPERM);
    n.set(v);
  }

  /** Names under a prefix ("" for all), sorted. */
  list(prefix = ''): string[] {
    const out: string[] = [];
    for (const k of this.nodes.keys()) if (prefix === '' || k === prefix || k.startsWith(prefix + '.')) out.push(k);
    return out.sort();
  }

  describe(name: string): string | undefined {
    return this.nodes.get(name)?.description;
  }

  private isPrefix(name: string): boolean {
    for (const k of this.nodes.keys()) if (k.startsWith(name + '.')) return true;
    return false;
  }
}
