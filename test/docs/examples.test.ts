/**
 * Documentation that runs: every ```ts block in the READMEs and docs/ (see
 * markdown.ts for the info-string convention) runs as its own module in a
 * child process with tsx, importing `anykernel*` from this checkout. It must
 * exit 0, write nothing to stderr, and print exactly its `text output`
 * block when it has one. A broken example fails `npm test`.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { codeBlocks, docFiles, repoRoot, runnableModule, type CodeBlock } from './markdown.ts';

const RUN = new Set(['ts', 'typescript']);
const SHOWN = new Set(['sh', 'text', '', 'console']);
const isRoot = process.getuid?.() === 0;
const haveFuse = fs.existsSync('/dev/fuse');

const blocks: CodeBlock[] = docFiles().flatMap((f) => codeBlocks(f));
const runnable = blocks.filter((b) => RUN.has(b.lang));

function runBlock(b: CodeBlock): { status: number | null; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-example-'));
  try {
    const file = path.join(dir, `${b.file.replace(/[^A-Za-z0-9]+/g, '_')}_${b.line}.mts`);
    fs.writeFileSync(file, runnableModule(b.code));
    const env: NodeJS.ProcessEnv = { ...process.env, EXAMPLE_TMPDIR: dir };
    delete env.NODE_OPTIONS;
    delete env.VITEST;
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr + (r.error ? String(r.error) : '') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('documentation code blocks', () => {
  it('are found (the extractor sees the READMEs and their examples)', () => {
    expect(docFiles()).toEqual(expect.arrayContaining(['README.md', 'src/hyper/README.md', 'src/kern/README.md', 'test/README.md', 'docs/ARCHITECTURE.md']));
    expect(runnable.length).toBeGreaterThanOrEqual(6);
  });

  it('have a known language, so none is silently skipped', () => {
    const unknown = blocks.filter((b) => !RUN.has(b.lang) && !SHOWN.has(b.lang)).map((b) => `${b.file}:${b.line}: \`\`\`${b.lang}`);
    expect(unknown).toEqual([]);
  });

  it('type-check under the repository\'s strict settings', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-examples-tsc-'));
    try {
      const files = runnable.map((b) => {
        const f = `${b.file.replace(/[^A-Za-z0-9]+/g, '_')}_${b.line}.mts`;
        fs.writeFileSync(path.join(dir, f), runnableModule(b.code));
        return f;
      });
      // tsconfig.json is JSON with // comments (on lines of their own).
      const text = fs.readFileSync(path.join(repoRoot, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '');
      const base = JSON.parse(text) as { compilerOptions: Record<string, unknown> };
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { ...base.compilerOptions, noEmit: true, typeRoots: [path.join(repoRoot, 'node_modules', '@types')] },
        files,
      }));
      const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      // Name the markdown file and line, not the temporary module.
      const out = r.stdout.replace(/([A-Za-z0-9_]+)_md_(\d+)\.mts\((\d+),\d+\)/g, (_m, f: string, line: string, l: string) => `${f.replace(/_/g, '/')}.md:${Number(line) + Number(l)}`);
      expect(out, 'tsc on the documentation examples').toBe('');
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const b of runnable) {
    const needsRoot = b.flags.includes('root');
    const name = `${b.file}:${b.line} runs${needsRoot ? ' (root, FUSE)' : ''}${b.output !== undefined ? ' and prints its output block' : ''}`;
    it(name, (ctx) => {
      if (needsRoot && !(isRoot && haveFuse)) {
        if (process.env.CI === 'true') throw new Error(`${b.file}:${b.line} needs root and /dev/fuse, and CI has them`);
        ctx.skip();
      }
      const r = runBlock(b);
      expect(r.stderr, `stderr of ${b.file}:${b.line}`).toBe('');
      expect(r.status, `${b.file}:${b.line} exited ${r.status}\n${r.stdout}`).toBe(0);
      if (b.output !== undefined) expect(r.stdout).toBe(b.output);
    });
  }
});
