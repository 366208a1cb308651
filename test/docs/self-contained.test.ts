/**
 * The repository is self-contained and speaks of its code: no file points
 * at a design document or anything else outside the repository, and no
 * README, doc or source comment speaks of issues (a reader of the code has
 * no issue tracker; say what the code does, or mark a thing planned).
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './markdown.ts';

const ROOTS = ['README.md', 'package.json', 'docs', 'src', 'test', 'bench', 'tools', 'bin', '.ci'];
const TEXT = /\.(ts|mts|mjs|js|json|md|sh)$|^run$|^README/;

function files(): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    const abs = path.join(repoRoot, rel);
    if (!fs.existsSync(abs)) return;
    if (fs.statSync(abs).isDirectory()) {
      for (const e of fs.readdirSync(abs)) if (e !== 'node_modules' && e !== 'dist') visit(path.join(rel, e));
    } else if (TEXT.test(path.basename(rel))) out.push(rel);
  };
  ROOTS.forEach(visit);
  return out;
}

/** Built from parts so that this file does not match itself. */
const OUTSIDE = new RegExp(['\\.\\./sha' + 'red\\b', '/wo' + 'rk/', '\\bDESI' + 'GN\\.md'].join('|'));
const ISSUE = new RegExp([
  '\\bissues?[ -]?#?\\d+', '\\blater iss' + 'ue', '\\bthis iss' + 'ue\\b', "\\bthe iss" + "ue's", '\\(iss' + 'ue:', '\\bcore iss' + 'ue\\b',
].join('|'), 'i');

function hits(re: RegExp): string[] {
  const out: string[] = [];
  for (const f of files()) {
    fs.readFileSync(path.join(repoRoot, f), 'utf8').split('\n').forEach((line, i) => {
      if (re.test(line)) out.push(`${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
    });
  }
  return out;
}

describe('the repository is self-contained', () => {
  it('sees the files it checks', () => {
    const f = files();
    expect(f).toEqual(expect.arrayContaining(['README.md', 'docs/ARCHITECTURE.md', 'src/index.ts', 'src/kern/README.md']));
  });

  it('no file refers to a document outside the repository', () => {
    expect(hits(OUTSIDE)).toEqual([]);
  });

  it('READMEs, docs and comments speak of the code, not of issues', () => {
    expect(hits(ISSUE)).toEqual([]);
  });

  it('the checks match what they are meant to catch', () => {
    expect(OUTSIDE.test('See `../sha' + 'red/DESI' + 'GN.md`')).toBe(true);
    expect(OUTSIDE.test('/wo' + 'rk/shared/DESI' + 'GN.md')).toBe(true);
    expect(OUTSIDE.test('struct stat without the st_ prefix (DESI' + 'GN.md)')).toBe(true);
    expect(ISSUE.test('comes in a later iss' + 'ue')).toBe(true);
    expect(ISSUE.test('every syscall of iss' + 'ue 3')).toBe(true);
    expect(ISSUE.test('Kernel core benchmarks (iss' + 'ue: kernel core)')).toBe(true);
    expect(ISSUE.test('Iss' + 'ue-4 targets')).toBe(true);
    expect(ISSUE.test('async calls as an issue entry')).toBe(false);
    expect(ISSUE.test('the buffer cache never issues two for one block')).toBe(false);
  });
});
