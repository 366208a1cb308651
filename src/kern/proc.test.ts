/**
 * Process trees as a unit: child subreapers (Linux PR_SET_CHILD_SUBREAPER)
 * keep orphans inside a tree, teardownTree ends a tree deepest first and
 * reaps it, and CredProcs keeps one process per caller credential set.
 */
import { describe, expect, it } from 'vitest';
import { SimHost } from '../hyper/sim/index.ts';
import { boot, type BootedKernel } from '../frontends/library/boot.ts';
import { teardownTree } from './proc.ts';
import { CredProcs } from './lwproc.ts';

async function withKernel(fn: (bk: BootedKernel) => Promise<void>): Promise<void> {
  const sim = new SimHost({ seed: 1 });
  await sim.run(async () => {
    const bk = await boot({ host: sim, components: ['kern'] });
    await fn(bk);
    expect(bk.kernel.leakReport().processes).toEqual([]);
  }, { limitNs: 10_000_000_000n });
}

describe('child subreapers', () => {
  it('orphans go to the nearest living subreaper ancestor, else init', () => withKernel(async (bk) => {
    const top = bk.rfork();
    top.proc.subreaper = true;
    const mid = bk.rfork({ parent: top.proc });
    const leaf = bk.rfork({ parent: mid.proc });
    const zombie = bk.rfork({ parent: mid.proc });
    await zombie.sys.exit!(3);
    await mid.sys.exit!(0);
    expect(leaf.proc.ppid).toBe(top.pid);
    expect(zombie.proc.parent).toBe(top.proc);
    // The subreaper waits for what it adopted, zombies included.
    expect(await top.sys.wait4!(zombie.pid, 0)).toEqual({ pid: zombie.pid, status: 3 << 8 });
    expect(await top.sys.wait4!(mid.pid, 0)).toEqual({ pid: mid.pid, status: 0 });
    // A dead subreaper adopts nothing: the next orphan goes to init.
    const deep = bk.rfork({ parent: leaf.proc });
    await top.sys.exit!(0);
    expect(leaf.proc.ppid).toBe(1);
    await leaf.sys.exit!(0);
    expect(deep.proc.ppid).toBe(1);
    await teardownTree(bk.kernel, [top.proc, leaf.proc, deep.proc], 9);
  }));
});

describe('teardownTree', () => {
  it('ends a tree deepest first, zombies included, reaps all of it and leaves kept subtrees alone', () => withKernel(async (bk) => {
    const order: number[] = [];
    bk.kernel.procHooks.push({ exit: (p) => { order.push(p.pid); } });
    const root = bk.rfork();
    const a = bk.rfork({ parent: root.proc });
    const a1 = bk.rfork({ parent: a.proc });
    const z = bk.rfork({ parent: root.proc });
    await z.sys.exit!(1);
    const kept = bk.rfork({ parent: root.proc });
    const keptChild = bk.rfork({ parent: kept.proc });
    order.length = 0;
    const ended = await teardownTree(bk.kernel, [root.proc], 9 /* SIGKILL */, (p) => p === kept.proc);
    expect(new Set(ended)).toEqual(new Set([root.pid, a.pid, a1.pid, z.pid]));
    // Children exit before their parents.
    expect(order.indexOf(a1.pid)).toBeLessThan(order.indexOf(a.pid));
    expect(order.indexOf(a.pid)).toBeLessThan(order.indexOf(root.pid));
    for (const h of [root, a, a1, z]) expect(h.proc.state).toBe('reaped');
    expect(kept.proc.state).toBe('alive');
    expect(keptChild.proc.state).toBe('alive');
    expect(kept.proc.ppid).toBe(1); // orphaned by root's exit
    // Nothing to do twice; init and proc0 are never ended.
    expect(await teardownTree(bk.kernel, [root.proc], 9)).toEqual([]);
    expect(await teardownTree(bk.kernel, [bk.kernel.initproc, bk.kernel.proc0], 9)).toEqual([]);
    await teardownTree(bk.kernel, [kept.proc], 0);
    expect(keptChild.proc.state).toBe('reaped');
  }));

  it('a chain of ten thousand processes ends without deep recursion', () => withKernel(async (bk) => {
    const first = bk.rfork();
    let p = first.proc;
    for (let i = 0; i < 10_000; i++) p = bk.rfork({ parent: p }).proc;
    expect(await teardownTree(bk.kernel, [first.proc], 0)).toHaveLength(10_001);
  }));
});

describe('CredProcs', () => {
  it('one process per credential set, remade when it died, all ended by close', () => withKernel(async (bk) => {
    const cp = new CredProcs(bk.kernel, { comm: 'srv', umask: 0 });
    const p = cp.proc(1000, 100, [100, 5]);
    expect(cp.proc(1000, 100, [100, 5])).toBe(p);
    expect(cp.proc(1000, 100, [])).not.toBe(p);
    expect(cp.size).toBe(2);
    expect([p.cred.uid, p.cred.gid, p.cred.groups, p.umask, p.comm, p.fdt.count]).toEqual([1000, 100, [5, 100], 0, 'srv', 0]);
    const td = cp.thread(p, 'srv_call');
    expect([td.proc, td.name]).toEqual([p, 'srv_call']);
    await bk.kernel.exitProc(p, 0);
    const again = cp.proc(1000, 100, [100, 5]);
    expect(again).not.toBe(p);
    expect(again.state).toBe('alive');
    bk.kernel.reap(p);
    await cp.close();
    expect(cp.size).toBe(0);
    expect(again.state).toBe('reaped');
  }));
});
