/**
 * Each architecture rule proves it catches a planted violation, and the real
 * tree passes.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkSource, checkTree, stripCode } from './check-arch.ts';

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
    expect(checkSource('src/frontends/x/a.ts', "import { v } from '../../vfs/vnode.ts';\n")).toEqual([]);
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
});
