/**
 * The `dev` component (Phase.DEV): registers the character drivers of
 * src/dev in this kernel's device switch with their Linux numbers, and
 * announces their /dev nodes for devfs (src/vfs/devfs.ts):
 *
 *   1:3 null   1:5 zero   1:7 full   1:8 random   1:9 urandom   (mem.ts)
 *   5:0 tty    5:1 console                                        (console.ts)
 *
 * The console's state is provided as `k.lookup('console')` (a ConsoleDev)
 * so a terminal layer can reach it without importing src/dev.
 */
import { Phase, type Component } from '../kern/component.ts';
import type { Kernel } from '../kern/kernel.ts';
import { devsw } from '../kern/devsw.ts';
import { MEM_MAJOR, memDriver, memNodes } from './mem.ts';
import { ConsoleDev, TTY_MAJOR, consoleDriver, consoleNodes } from './console.ts';

export const devComponent: Component = {
  name: 'dev',
  phase: Phase.DEV,
  init(k: Kernel) {
    const sw = devsw(k);
    sw.register('chr', MEM_MAJOR, memDriver(k));
    const cons = new ConsoleDev(k);
    k.provide('console', cons);
    sw.register('chr', TTY_MAJOR, consoleDriver(cons));
    for (const n of [...memNodes, ...consoleNodes]) sw.addNode(n);
  },
  shutdown(k: Kernel) {
    k.lookup<ConsoleDev>('console')?.detach();
  },
};
