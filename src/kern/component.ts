/**
 * Kernel components and boot phases (rump's RUMP_COMPONENT and rump.c's
 * ordered init). A component is one piece of the kernel — the base, a file
 * system, a driver, a protocol family — with declared dependencies. Boot runs
 * them phase by phase, dependencies first:
 *
 *   KERN     base services: sysctl nodes, clocks, the core system calls
 *   DEV      device drivers and the device switch
 *   VFS      the vnode layer, then file systems (tmpfs, devfs, procfs ...)
 *   NET      interfaces, protocols, sockets
 *   SYSCALL  late system-call registration that needs all factions present
 *   ROOT     mount the root, create /dev nodes, start init
 *
 * A kernel booted without a component loads none of its code: frontends map
 * component names to dynamic imports and only import what is asked for.
 */
import type { Kernel } from './kernel.ts';

export enum Phase {
  KERN = 0,
  DEV = 1,
  VFS = 2,
  NET = 3,
  SYSCALL = 4,
  ROOT = 5,
}

export interface Component {
  readonly name: string;
  readonly phase: Phase;
  /** Names of components that must initialise first. */
  readonly deps?: readonly string[];
  init(k: Kernel): void | Promise<void>;
  /** Called at shutdown in reverse init order. */
  shutdown?(k: Kernel): void | Promise<void>;
}

/** Order components by phase, then dependencies; reject missing deps and cycles. */
export function orderComponents(comps: readonly Component[]): Component[] {
  const byName = new Map<string, Component>();
  for (const c of comps) {
    if (byName.has(c.name)) throw new Error(`component ${c.name} given twice`);
    byName.set(c.name, c);
  }
  const out: Component[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (c: Component, path: string[]): void => {
    const s = state.get(c.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`component dependency cycle: ${[...path, c.name].join(' -> ')}`);
    state.set(c.name, 'visiting');
    for (const d of c.deps ?? []) {
      const dep = byName.get(d);
      if (dep === undefined) throw new Error(`component ${c.name} needs ${d}, which is not in this kernel`);
      if (dep.phase > c.phase) throw new Error(`component ${c.name} (phase ${Phase[c.phase]}) depends on ${d} of a later phase`);
      visit(dep, [...path, c.name]);
    }
    state.set(c.name, 'done');
    out.push(c);
  };
  const sorted = [...comps].sort((a, b) => a.phase - b.phase);
  for (const c of sorted) visit(c, []);
  return out;
}
