/**
 * The worker script user processes run: the userland and its runtime
 * (uproc_entry.ts with everything it imports) bundled once into one plain
 * ES module with esbuild, so a worker starts in about 50 ms instead of the
 * 300 ms that registering tsx in every worker costs. The bundle is cached in
 * the host's temporary directory under a key made of the sources' sizes and
 * modification times, so only the first boot after a change pays for it
 * (bundles of sources older than a day are removed).
 * Without esbuild it falls back to uproc_tsx.mjs (tsx in each worker).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const srcRoot = path.resolve(here, '../..');

function sourcesKey(): string {
  const h = createHash('sha256');
  const walk = (dir: string, depth: number): void => {
    if (depth > 6) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const st = fs.statSync(p);
        h.update(`${p}:${st.size}:${st.mtimeMs}\n`);
      }
    }
  };
  walk(srcRoot, 0);
  return h.digest('hex').slice(0, 16);
}

/**
 * Bundles of older sources pile up in the temporary directory: remove those
 * not touched for a day (a kernel still running from one started its workers
 * long ago, or keeps the file it loads open).
 */
function pruneOldBundles(keep: string): void {
  const dir = path.dirname(keep);
  const day = 24 * 3600 * 1000;
  try {
    for (const name of fs.readdirSync(dir)) {
      if (!/^anykernel-uproc-[0-9a-f]{16}\.mjs$/.test(name) || path.join(dir, name) === keep) continue;
      const p = path.join(dir, name);
      if (Date.now() - fs.statSync(p).mtimeMs > day) fs.rmSync(p, { force: true });
    }
  } catch { /* best effort */ }
}

/** Path (or URL) of the script a user-process worker runs. */
export async function userEntry(): Promise<URL> {
  // Compiled into dist/ (an installed package) this file is entry.js, and
  // uproc_entry.js beside it is already plain JavaScript: no bundling, no tsx.
  if (!import.meta.url.endsWith('.ts')) return new URL('./uproc_entry.js', import.meta.url);
  const entry = path.join(here, 'uproc_entry.ts');
  try {
    const key = sourcesKey();
    const out = path.join(os.tmpdir(), `anykernel-uproc-${key}.mjs`);
    if (!fs.existsSync(out)) {
      const esbuild = await import('esbuild');
      const tmp = `${out}.${process.pid}.tmp`;
      esbuild.buildSync({
        entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: tmp, logLevel: 'silent',
        // Modules that expect CommonJS's require in an ES module bundle.
        banner: { js: "import { createRequire as __akCreateRequire } from 'node:module'; const require = __akCreateRequire(import.meta.url);" },
      });
      fs.renameSync(tmp, out);
      pruneOldBundles(out);
    }
    return new URL(`file://${out}`);
  } catch {
    return new URL('./uproc_tsx.mjs', import.meta.url);
  }
}
