/**
 * The sysctl tree (SysctlTree) and its library calls (sysctl, sysctl_list),
 * plus uname's view of kern.hostname.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimHost } from '../hyper/sim/index.ts';
import { boot, type BootedKernel } from '../frontends/library/boot.ts';
import { KernelError } from './errno.ts';
import { SysctlTree } from './sysctl.ts';
import { Cred } from './proc.ts';

async function withKernel(fn: (bk: BootedKernel) => Promise<void>, params?: Record<string, string>): Promise<void> {
  const sim = new SimHost({ seed: 3, ...(params ? { params } : {}) });
  await sim.run(async () => fn(await boot({ host: sim, components: ['kern'] })), { limitNs: 10_000_000_000n });
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as KernelError).code;
  }
  return 'ok';
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof KernelError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('sysctl calls', () => {
  it('reads the base nodes', () => withKernel(async (bk) => {
    expect(await bk.sys.sysctl('kern.ostype')).toBe('anykernel');
    expect(await bk.sys.sysctl('kern.osrelease')).toMatch(/^\d+\.\d+\.\d+$/);
    expect(await bk.sys.sysctl('kern.hostname')).toBe('sim');
    expect(await bk.sys.sysctl('hw.ncpu')).toBe(1);
    expect(await bk.sys.sysctl('kern.nprocs')).toBe(2); // proc0 and init
    bk.rfork();
    expect(await bk.sys.sysctl('kern.nprocs')).toBe(3);
    expect(await bk.sys.sysctl('kern.pid_max')).toBe(4_194_304);
    const list = await bk.sys.sysctl_list();
    expect(list).toEqual([...list].sort());
    expect(list).toEqual(expect.arrayContaining(['kern.hostname', 'kern.ostype', 'hw.ncpu', 'kern.uptime']));
    expect(await bk.sys.sysctl_list('hw')).toEqual(list.filter((n) => n.startsWith('hw.')));
    expect(await bk.sys.sysctl_list('kern.hostname')).toEqual(['kern.hostname']);
    expect(await bk.sys.sysctl_list('ker')).toEqual([]); // whole components only
  }));

  it('the hostname comes from the host and is writable by root only, validated', () => withKernel(async (bk) => {
    expect(await bk.sys.sysctl('kern.hostname')).toBe('box1');
    expect(await bk.sys.sysctl('kern.hostname', 'box2')).toBe('box1'); // returns the old value
    expect(await bk.sys.sysctl('kern.hostname')).toBe('box2');
    expect((await bk.sys.uname()).nodename).toBe('box2');
    expect(await code(bk.sys.sysctl('kern.hostname', 'x'.repeat(65)))).toBe('EINVAL');
    expect(await code(bk.sys.sysctl('kern.hostname', 5))).toBe('EINVAL');
    expect(await code(bk.sys.sysctl('kern.hostname', { a: 1 } as unknown as string))).toBe('EINVAL');
    const u = bk.rfork({ uid: 1000 });
    expect(await u.sys.sysctl!('kern.hostname')).toBe('box2');
    expect(await code(u.sys.sysctl!('kern.hostname', 'mine'))).toBe('EPERM');
    expect(await bk.sys.sysctl('kern.hostname')).toBe('box2');
  }, { hostname: 'box1' }));

  it('errors: unknown ENOENT, inner node ENOTDIR, read-only EPERM, bad name types EFAULT', () => withKernel(async (bk) => {
    expect(await code(bk.sys.sysctl('kern.nosuch'))).toBe('ENOENT');
    expect(await code(bk.sys.sysctl(''))).toBe('ENOENT');
    expect(await code(bk.sys.sysctl('kern'))).toBe('ENOTDIR');
    expect(await code(bk.sys.sysctl('kern.ostype', 'linux'))).toBe('EPERM');
    expect(await bk.sys.sysctl('kern.ostype')).toBe('anykernel');
    expect(await code(bk.sys.sysctl(5 as unknown as string))).toBe('EFAULT');
    expect(await code(bk.sys.sysctl_list(5 as unknown as string))).toBe('EFAULT');
    expect(await code(bk.sys.sysctl('kern.ostype', 'x'))).toBe('EPERM');
    const e = await bk.sys.sysctl('kern.nosuch').catch((x: KernelError) => x);
    expect(e).toBeInstanceOf(KernelError);
    expect((e as KernelError).syscall).toBe('sysctl');
  }));
});

describe('SysctlTree', () => {
  const root = new Cred(0, 0), user = new Cred(1000, 1000);

  it('registers nodes with checked names once', () => {
    const t = new SysctlTree();
    t.register({ name: 'a.b', description: 'x', get: () => 1 });
    expect(() => t.register({ name: 'a.b', description: 'again', get: () => 2 })).toThrow(/twice/);
    for (const bad of ['', 'A.b', 'a..b', '.a', 'a.', 'a b', 'a/b']) expect(() => t.register({ name: bad, description: '', get: () => 0 })).toThrow(/bad sysctl name/);
    expect(t.describe('a.b')).toBe('x');
    expect(t.has('a')).toBe(false);
    expect(codeOf(() => t.read('a'))).toBe('ENOTDIR');
  });

  it('custom nodes: setters validate, rootOnly: false lets users write', () => {
    const t = new SysctlTree();
    let v = 10;
    t.register({ name: 'vm.knob', description: '', get: () => v, set: (x) => { if (typeof x !== 'number' || x < 0) throw new KernelError(22, ''); v = x; }, rootOnly: false });
    t.write('vm.knob', 3, user);
    expect(t.read('vm.knob')).toBe(3);
    expect(codeOf(() => t.write('vm.knob', -1, user))).toBe('EINVAL');
    const cell = t.variable('vm.flag', '', 0, { writable: true, validate: (x) => x === 0 || x === 1 });
    expect(codeOf(() => t.write('vm.flag', 1, user))).toBe('EPERM');
    t.write('vm.flag', 1, root);
    expect(cell.value).toBe(1);
    expect(codeOf(() => t.write('vm.flag', 2, root))).toBe('EINVAL');
    expect(codeOf(() => t.write('vm.flag', '1', root))).toBe('EINVAL');
    expect(t.list('vm')).toEqual(['vm.flag', 'vm.knob']);
  });

  it('a written variable reads back; lists stay sorted (property)', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}(\.[a-z0-9_]{1,6}){0,2}$/), { maxLength: 20 }), fc.array(fc.integer()), (names, values) => {
      const t = new SysctlTree();
      // only leaves: skip names that are a prefix component of another
      const leaves = names.filter((n) => !names.some((m) => m.startsWith(n + '.')));
      const cells = leaves.map((n) => t.variable(n, '', 0, { writable: true }));
      leaves.forEach((n, i) => {
        const v = values[i % Math.max(1, values.length)] ?? 0;
        t.write(n, v, root);
        expect(t.read(n)).toBe(v);
        expect(cells[i]!.value).toBe(v);
      });
      expect(t.list()).toEqual([...leaves].sort());
    }));
  });
});
