/**
 * Bundle code for a browser with esbuild (the copy tsx brings) and report
 * every Node builtin the bundle would need: `node:*` specifiers and bare
 * builtin names such as `fs` or `worker_threads`. Builtins are recorded and
 * left external rather than failing the build, so a test sees all of them.
 */
import { createRequire, builtinModules } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

interface EsbuildMessage { text: string; location: { file: string; line: number } | null }
interface Esbuild {
  build(opts: Record<string, unknown>): Promise<{ errors: EsbuildMessage[]; metafile: { inputs: Record<string, unknown> } }>;
}

/** esbuild as tsx resolves it (tsx depends on it; this repository does not). */
async function loadEsbuild(): Promise<Esbuild> {
  const tsxDir = path.dirname(require.resolve('tsx/package.json'));
  const main = require.resolve('esbuild', { paths: [tsxDir] });
  return (await import(pathToFileURL(main).href)) as Esbuild;
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]!]));

export interface BrowserBundle {
  /** Build errors (an unresolvable import, a syntax error), as 'file:line: text'. */
  errors: string[];
  /** Node builtins the bundle imports, as 'specifier (from file)'. */
  nodeImports: string[];
  /** Every file that went into the bundle. */
  inputs: string[];
}

/** Bundle `entry` (a file) or `contents` (module text resolved from `resolveDir`) with platform=browser. */
export async function bundleForBrowser(src: { entry: string } | { contents: string; resolveDir: string }): Promise<BrowserBundle> {
  const esbuild = await loadEsbuild();
  const nodeImports: string[] = [];
  const record = {
    name: 'record-node-builtins',
    setup(b: { onResolve(o: { filter: RegExp }, f: (a: { path: string; importer: string }) => unknown): void }): void {
      b.onResolve({ filter: /.*/ }, (a) => {
        if (a.path.startsWith('node:') || BUILTINS.has(a.path) || BUILTINS.has(a.path.split('/')[0]!)) {
          nodeImports.push(`${a.path} (from ${path.relative(process.cwd(), a.importer)})`);
          return { path: a.path, external: true };
        }
        return undefined;
      });
    },
  };
  const input = 'entry' in src ? { entryPoints: [src.entry] } : { stdin: { contents: src.contents, resolveDir: src.resolveDir, loader: 'ts' } };
  try {
    const r = await esbuild.build({
      ...input, bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent', plugins: [record],
    });
    return { errors: [], nodeImports, inputs: Object.keys(r.metafile.inputs) };
  } catch (e) {
    const errs = (e as { errors?: EsbuildMessage[] }).errors ?? [{ text: String(e), location: null }];
    return { errors: errs.map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`), nodeImports, inputs: [] };
  }
}
