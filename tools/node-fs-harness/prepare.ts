/**
 * Prepare a directory of Node's fs tests for the harness (run.ts):
 *
 *     npx tsx tools/node-fs-harness/prepare.ts SRC DEST
 *
 * SRC holds test-fs-*.js files (in SRC/parallel, SRC/fs or SRC itself) and a
 * `fixtures` directory next to them or in SRC. Node's own tree (test/parallel,
 * test/fixtures) is copied as it is; copies whose tests were rewritten as ES
 * modules (`import fs from 'fs'`, as some ports of Node's suite keep them) are
 * turned back into CommonJS requires (and a port's `__filename = args[0]`
 * dropped). DEST gets `parallel/` and `fixtures/`.
 * Node's `test/common` is not used: the harness brings its own (common/).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** `import x from 'm'`, `import * as x from 'm'`, `import { a, b as c } from 'm'`, `import 'm'` → require. */
export function importsToRequires(src: string): string {
  return src
    .replace(/^[ \t]*import\s+\*\s+as\s+(\w+)\s+from\s+(['"][^'"]+['"]);?/gm, 'const $1 = require($2);')
    .replace(/^[ \t]*import\s+(\w+)\s*,\s*\{([^}]*)\}\s*from\s+(['"][^'"]+['"]);?/gm, (_m, d: string, names: string, mod: string) =>
      `const ${d} = require(${mod}); const {${names.replace(/\s+as\s+/g, ': ')}} = ${d};`)
    .replace(/^[ \t]*import\s+\{([^}]*)\}\s*from\s+(['"][^'"]+['"]);?/gm, (_m, names: string, mod: string) =>
      `const {${names.replace(/\s+as\s+/g, ': ')}} = require(${mod});`)
    .replace(/^[ \t]*import\s+(\w+)\s+from\s+(['"][^'"]+['"]);?/gm, 'const $1 = require($2);')
    .replace(/^[ \t]*import\s+(['"][^'"]+['"]);?/gm, 'require($1);')
    .replace(/^export default\s+/gm, 'module.exports = ')
    // Ports that ran the tests elsewhere passed the script's name as args[0].
    .replace(/^[ \t]*(?:let|const)\s+__filename\s*=\s*args\[0\];?[ \t]*$/gm, '');
}

function findTests(src: string): string {
  for (const d of ['parallel', 'fs', '.']) {
    const p = path.join(src, d);
    if (fs.existsSync(p) && fs.readdirSync(p).some((f) => /^test-fs-.*\.js$/.test(f))) return p;
  }
  throw new Error(`no test-fs-*.js in ${src}, ${src}/parallel or ${src}/fs`);
}

function main(): void {
  const [src, dest] = process.argv.slice(2);
  if (src === undefined || dest === undefined) {
    console.error('usage: prepare.ts SRC DEST');
    process.exit(2);
  }
  const tests = findTests(src);
  const fixtures = [path.join(src, 'fixtures'), path.join(tests, '..', 'fixtures')].find((p) => fs.existsSync(p));
  fs.mkdirSync(path.join(dest, 'parallel'), { recursive: true });
  let n = 0;
  for (const f of fs.readdirSync(tests).filter((x) => /^test-fs-.*\.js$/.test(x)).sort()) {
    const text = fs.readFileSync(path.join(tests, f), 'utf8');
    fs.writeFileSync(path.join(dest, 'parallel', f), importsToRequires(text));
    n++;
  }
  if (fixtures !== undefined) fs.cpSync(fixtures, path.join(dest, 'fixtures'), { recursive: true });
  console.log(`${n} tests into ${dest}/parallel${fixtures !== undefined ? `, fixtures from ${fixtures}` : ', no fixtures found'}`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) main();
