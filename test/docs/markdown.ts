/**
 * The documentation of the repository as data: every markdown file that
 * documents code (README.md at the top, the READMEs under src/ and test/,
 * docs/*.md) and the fenced code blocks in it.
 *
 * Info-string convention for a block (the first word is the language):
 *   ```ts            run as a module; it must exit 0 and write nothing to stderr
 *   ```ts root       run only as root with /dev/fuse (FUSE); under CI=true a
 *                    missing prerequisite fails instead of skipping
 *   ```text output   the exact stdout of the ts block right above it
 *   ```sh, ```text, ``` (no language)   shown, not run
 * In ts blocks, imports of `anykernel` and `anykernel/*` resolve to this
 * repository's entry files, as they would in an installed package.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface CodeBlock {
  /** Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  flags: string[];
  code: string;
  /** The `text output` block that follows, if any. */
  output?: string;
}

function walk(dir: string, out: string[]): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name === 'README.md') out.push(p);
  }
}

/** Markdown files that document the code, relative to the repository root, sorted. */
export function docFiles(): string[] {
  const out: string[] = [path.join(repoRoot, 'README.md')];
  walk(path.join(repoRoot, 'src'), out);
  walk(path.join(repoRoot, 'test'), out);
  const docs = path.join(repoRoot, 'docs');
  if (fs.existsSync(docs)) for (const f of fs.readdirSync(docs)) if (f.endsWith('.md')) out.push(path.join(docs, f));
  return out.map((f) => path.relative(repoRoot, f)).sort();
}

/** The fenced code blocks of one markdown file, with `text output` blocks attached to the block before. */
export function codeBlocks(file: string, text = fs.readFileSync(path.join(repoRoot, file), 'utf8')): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(```+)(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (lines[j]!.trimStart().startsWith(fence) && lines[j]!.trim() === lines[j]!.trim().replace(/[^`]/g, '')) break;
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!);
    }
    if (j === lines.length) throw new Error(`${file}:${i + 1}: code fence never closed`);
    const [lang = '', ...flags] = info.trim().split(/\s+/).filter(Boolean);
    const block: CodeBlock = { file, line: i + 1, lang, flags, code: body.join('\n') + '\n' };
    const prev = blocks[blocks.length - 1];
    if (lang === 'text' && flags.includes('output') && prev !== undefined) prev.output = block.code;
    else blocks.push(block);
    i = j;
  }
  return blocks;
}

/** Public entries of the package and the source files they are built from. */
export const ENTRY_SOURCES: Record<string, string> = {
  anykernel: 'src/entry/index.node.ts',
  'anykernel/node': 'src/entry/node.ts',
  'anykernel/fs': 'src/entry/fs.ts',
  'anykernel/sim': 'src/entry/sim.ts',
  'anykernel/remote': 'src/entry/remote.ts',
  'anykernel/kern': 'src/entry/kern.ts',
  'anykernel/net': 'src/entry/net.ts',
};

/** A ts block as a runnable module: package imports point at this checkout's entry files. */
export function runnableModule(code: string): string {
  return code.replace(/(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(anykernel(?:\/[a-z]+)?)\2/g, (m, pre: string, q: string, spec: string) => {
    const src = ENTRY_SOURCES[spec];
    if (src === undefined) throw new Error(`example imports '${spec}', which is not a public entry (${Object.keys(ENTRY_SOURCES).join(', ')})`);
    return `${pre}${q}${path.join(repoRoot, src)}${q}`;
  });
}
