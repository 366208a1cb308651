/**
 * Shell blocks in the documentation are not run (they mount, serve forever,
 * need root), but what they name must exist: every `anykernel SUBCOMMAND` is a
 * subcommand whose --help lists each --option used; every `npm run SCRIPT` /
 * `npm SCRIPT` is a script in package.json; every file or directory given to
 * `npx vitest run` or `npx tsx` exists.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { codeBlocks, docFiles, repoRoot } from './markdown.ts';

interface Cmd { where: string; words: string[] }

const SHELL = new Set(['sh', '']);

/** Commands of every shell block, one per line or per `&&` part, without comments and VAR=value prefixes. */
function shellCommands(): Cmd[] {
  const out: Cmd[] = [];
  for (const file of docFiles()) {
    for (const b of codeBlocks(file)) {
      if (!SHELL.has(b.lang)) continue;
      b.code.split('\n').forEach((line, i) => {
        for (const part of line.replace(/\s#.*$/, '').split(/&&|\|/)) {
          const words = part.trim().split(/\s+/).filter(Boolean);
          while (words.length > 0 && /^[A-Z_]+=/.test(words[0]!)) words.shift();
          if (words[0] === 'npx' && words[1] === 'anykernel') words.shift(); // the package's own bin
          if (words.length > 0) out.push({ where: `${file}:${b.line + 1 + i}`, words });
        }
      });
    }
  }
  return out;
}

const cmds = shellCommands();
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const helpCache = new Map<string, string>();
function help(sub: string): string {
  let h = helpCache.get(sub);
  if (h === undefined) {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/anykernel.mjs'), sub, '--help'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    h = r.status === 0 ? r.stdout : '';
    helpCache.set(sub, h);
  }
  return h;
}

describe('shell blocks name real things', () => {
  it('are found', () => {
    expect(cmds.filter((c) => c.words[0] === 'anykernel').length).toBeGreaterThanOrEqual(3);
  });

  it('anykernel subcommands and their --options exist', () => {
    const bad: string[] = [];
    for (const c of cmds.filter((x) => x.words[0] === 'anykernel')) {
      const sub = c.words[1]!;
      const h = help(sub);
      if (h === '') { bad.push(`${c.where}: 'anykernel ${sub} --help' fails`); continue; }
      for (const w of c.words.slice(2)) {
        const opt = /^\[?(--[a-z-]+|-[a-z])\b/.exec(w)?.[1];
        if (opt !== undefined && !new RegExp(`(^|[\\s,[])${opt}\\b`).test(h)) bad.push(`${c.where}: ${opt} is not an option of 'anykernel ${sub}'`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('npm scripts exist', () => {
    const bad = cmds
      .filter((c) => c.words[0] === 'npm' && c.words[1] !== 'ci' && c.words[1] !== 'install')
      .map((c) => ({ c, script: c.words[1] === 'run' ? c.words[2]! : c.words[1]! }))
      .filter(({ script }) => pkg.scripts[script] === undefined)
      .map(({ c, script }) => `${c.where}: no npm script '${script}'`);
    expect(bad).toEqual([]);
  });

  it('files given to npx vitest run / npx tsx exist', () => {
    const bad: string[] = [];
    for (const c of cmds.filter((x) => x.words[0] === 'npx')) {
      const args = c.words[1] === 'vitest' ? c.words.slice(3) : c.words[1] === 'tsx' ? c.words.slice(2, 3) : [];
      for (const a of args) {
        if (a.startsWith('-') || !/[/.]/.test(a) || /^[A-Z]+$/.test(a)) continue;
        if (!fs.existsSync(path.join(repoRoot, a))) bad.push(`${c.where}: ${a} does not exist`);
      }
    }
    expect(bad).toEqual([]);
  });
});
