/**
 * Each architecture rule proves it catches a planted violation, and the real
 * tree passes.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkSource, checkTree, findCycles, runtimeImports, stripCode } from './check-arch.ts';

const root = path.resolve(import.meta.dirname, '..');

describe('check-arch', () => {
  it('the project tree has no violations', () => {
    expect(checkTree(root)).toEqual([]);
  });

  it('catches a node:* import in kernel code', () => {
    const v = checkSource('src/kern/x.ts', "import * as fs from 'node:fs';\n");
    expect(v.map((x) => x.rule)).toEqual(['no-host-modules']);
    expect(checkSource('src/vfs/x.ts', "import { readFile } from 'fs';\n")[0]!.rule).toBe('no-host-modules');
    expect(checkSource('src/net/x.ts', "const m = await import('node:dgram');\n")[0]!.rule).toBe('no-host-modules');
  });

  it.each([
    ['Date.now()', 'Date'],
    ['new Date()', 'Date'],
    ['performance.now()', 'performance'],
    ['Math.random()', 'Math.random'],
    ['setTimeout(f, 1)', 'host timers'],
    ['setImmediate(f)', 'host timers'],
    ['setInterval(f, 5)', 'host timers'],
    ['queueMicrotask(f)', 'queueMicrotask'],
    ['process.exit(1)', 'process'],
    ['Buffer.from("x")', 'Buffer'],
    ['crypto.getRandomValues(b)', 'crypto'],
  ])('catches ambient %s in kernel code', (code, what) => {
    const v = checkSource('src/dev/x.ts', `export function f() { ${code}; }\n`);
    expect(v).toHaveLength(1);
    expect(v[0]!.rule).toBe('no-ambient');
    expect(v[0]!.text).toContain(what);
  });

  it('ignores the same words in comments and strings', () => {
    expect(checkSource('src/kern/x.ts', "// Date.now() is forbidden\nconst s = 'setTimeout';\n/* Buffer */\n")).toEqual([]);
    expect(stripCode("a // Date\n'Buffer'")).toBe("a \n''");
  });

  it('allows host facilities in src/hyper and frontends', () => {
    expect(checkSource('src/hyper/node/x.ts', "import * as fs from 'node:fs';\nsetTimeout(f, 1);\n")).toEqual([]);
    expect(checkSource('src/frontends/fuse/x.ts', "import * as fs from 'node:fs';\nprocess.exit(0);\n")).toEqual([]);
  });

  it('catches imports that go the wrong way', () => {
    const cases: [string, string][] = [
      ['src/kern/a.ts', '../vfs/vnode.ts'],
      ['src/vfs/a.ts', '../net/socket.ts'],
      ['src/net/a.ts', '../dev/tap.ts'],
      ['src/kern/a.ts', '../frontends/library/boot.ts'],
      ['src/hyper/a.ts', '../kern/kernel.ts'],
    ];
    for (const [file, spec] of cases) {
      const v = checkSource(file, `import type { X } from '${spec}';\n`);
      expect(v.map((x) => x.rule), `${file} -> ${spec}`).toEqual(['layering']);
    }
    expect(checkSource('src/vfs/a.ts', "import { Kernel } from '../kern/kernel.ts';\n")).toEqual([]);
    expect(checkSource('src/frontends/x/a.ts', "import { v } from '../../vfs/index.ts';\n")).toEqual([]);
  });

  it('frontends and the CLI reach kernel factions only through their index.ts', () => {
    const bad: [string, string][] = [
      ['src/frontends/fuse/a.ts', '../../vfs/vnode.ts'],
      ['src/frontends/x/a.ts', '../../kern/kernel.ts'],
      ['src/cli/a.ts', '../net/socket.ts'],
      ['src/cli/a.ts', '../dev/mem.ts'],
    ];
    for (const [file, spec] of bad) {
      for (const form of [`import { X } from '${spec}';\n`, `import type { X } from '${spec}';\n`, `export { X } from '${spec}';\n`, `const m = await import('${spec}');\n`]) {
        const v = checkSource(file, form);
        expect(v.map((x) => x.rule), `${file}: ${form}`).toEqual(['public-surface']);
        expect(v[0]!.text).toContain('index.ts');
      }
    }
    const good: [string, string][] = [
      ['src/frontends/fuse/a.ts', '../../vfs/index.ts'],
      ['src/frontends/fuse/a.ts', '../../kern/index.ts'],
      ['src/frontends/fuse/a.ts', '../../hyper/types.ts'],
      ['src/frontends/fuse/a.ts', '../library/boot.ts'],
      ['src/cli/a.ts', '../dev/index.ts'],
      ['src/cli/a.ts', '../hyper/node/host.ts'],
    ];
    for (const [file, spec] of good) expect(checkSource(file, `import { X } from '${spec}';\n`), `${file} -> ${spec}`).toEqual([]);
    // Kernel factions themselves import each other's files directly; tests beside frontends may too.
    expect(checkSource('src/vfs/a.ts', "import { Lwp } from '../kern/sched.ts';\n")).toEqual([]);
    expect(checkSource('src/frontends/fuse/a.test.ts', "import { Vnode } from '../../vfs/vnode.ts';\n")).toEqual([]);
  });

  it('tells runtime imports from erased ones', () => {
    const src = [
      "import { a } from './a.ts';",
      "import type { B } from './b.ts';",
      "import { type C } from './c.ts';",
      "export { d } from './d.ts';",
      "export type { E } from './e.ts';",
      "export * from './f.ts';",
      "import './g.ts';",
      "// import { h } from './h.ts';",
      "let p: Promise<import('./i.ts').I>;",
      "const j = await import('./j.ts');",
      "const k: typeof import('./k.ts') = null!;",
      "const s = \"from './l.ts'\";",
    ].join('\n');
    expect(runtimeImports(src).map((x) => x.spec)).toEqual(['./a.ts', './c.ts', './d.ts', './f.ts', './g.ts', './j.ts']);
  });

  it('finds runtime import cycles and allows type-only ones', () => {
    const files = (entries: Record<string, string>) => new Map(Object.entries(entries));
    const cyc = findCycles(files({
      'src/kern/a.ts': "import { b } from './b.ts';\nexport const a = 1;\n",
      'src/kern/b.ts': "import { c } from '../vfs/c.ts';\nexport const b = 1;\n",
      'src/vfs/c.ts': "export const c = 1;\nexport async function f() { return import('../kern/a.ts'); }\n",
    }));
    expect(cyc).toHaveLength(1);
    expect(cyc[0]).toMatchObject({ rule: 'import-cycle', file: 'src/kern/a.ts', line: 1 });
    expect(cyc[0]!.text).toContain('src/kern/a.ts -> src/kern/b.ts -> src/vfs/c.ts -> src/kern/a.ts');
    expect(findCycles(files({ 'src/x.ts': "import { x } from './x.ts';\nexport const x = 1;\n" }))).toHaveLength(1);
    expect(findCycles(files({
      'src/kern/a.ts': "import type { B } from './b.ts';\nexport const a = 1;\n",
      'src/kern/b.ts': "import { a } from './a.ts';\nexport type B = typeof a;\n",
    }))).toEqual([]);
  });

  it('fails a planted violation in a copy of the tree', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'arch-'));
    try {
      fs.mkdirSync(path.join(tmp, 'src/kern'), { recursive: true });
      fs.writeFileSync(path.join(tmp, 'src/kern/ok.ts'), 'export const x = 1;\n');
      expect(checkTree(tmp)).toEqual([]);
      fs.writeFileSync(path.join(tmp, 'src/kern/bad.ts'), 'export const t = Date.now();\n');
      const v = checkTree(tmp);
      expect(v).toHaveLength(1);
      expect(v[0]).toMatchObject({ file: 'src/kern/bad.ts', line: 1, rule: 'no-ambient' });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('fails a planted frontend import of a kernel-internal file and a planted runtime cycle', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'arch-'));
    const put = (rel: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), text);
    };
    try {
      put('src/vfs/vnode.ts', 'export class Vnode {}\n');
      put('src/vfs/index.ts', "export { Vnode } from './vnode.ts';\n");
      put('src/frontends/fuse/server.ts', "import { Vnode } from '../../vfs/index.ts';\nexport const v = new Vnode();\n");
      expect(checkTree(tmp)).toEqual([]);
      put('src/frontends/fuse/server.ts', "import { Vnode } from '../../vfs/vnode.ts';\nexport const v = new Vnode();\n");
      expect(checkTree(tmp)).toEqual([
        expect.objectContaining({ file: 'src/frontends/fuse/server.ts', line: 1, rule: 'public-surface' }),
      ]);
      put('src/frontends/fuse/server.ts', "import { Vnode } from '../../vfs/index.ts';\nexport const v = new Vnode();\n");
      put('src/vfs/vnode.ts', "import { helper } from './namei.ts';\nexport class Vnode {}\n");
      put('src/vfs/namei.ts', "import { Vnode } from './vnode.ts';\nexport const helper = () => new Vnode();\n");
      expect(checkTree(tmp)).toEqual([
        expect.objectContaining({ rule: 'import-cycle', text: 'runtime import cycle: src/vfs/namei.ts -> src/vfs/vnode.ts -> src/vfs/namei.ts' }),
      ]);
      put('src/vfs/namei.ts', "import type { Vnode } from './vnode.ts';\nexport const helper = (v: Vnode) => v;\n");
      expect(checkTree(tmp)).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
