/**
 * Architecture checks (Deno std's _tools/check_*.ts habit): the rules of
 * docs/ARCHITECTURE.md that make the kernel portable and replayable, enforced on every
 * `npm test`.
 *
 *  1. Kernel code (src/kern, src/vfs, src/net, src/dev) imports no `node:*`
 *     (or bare Node builtin) module and uses no ambient host facility: Date,
 *     performance, Math.random, setTimeout/setInterval/setImmediate,
 *     queueMicrotask, process, Buffer, crypto, require.
 *  2. Imports go one way: hyper ← kern ← {vfs, net, dev} ← frontends/cli.
 *     Factions never import each other; kern never imports a faction; nothing
 *     below frontends imports a frontend.
 *  3. Only src/hyper touches the host from inside the kernel tree.
 *
 * Type-only imports (`import type`) follow the same layer rule: a layer must
 * not even know the shape of a layer above it.
 *
 * Usage: `tsx tools/check-arch.ts [ROOT]` — exits 1 and prints every
 * violation as `file:line: rule: text`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Violation {
  file: string;
  line: number;
  rule: string;
  text: string;
}

const KERNEL_LAYERS = ['kern', 'vfs', 'net', 'dev'] as const;
type Layer = 'hyper' | 'kern' | 'vfs' | 'net' | 'dev' | 'frontends' | 'cli' | 'root' | 'other';

/** Which layers each layer may import from (besides itself). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  hyper: [],
  kern: ['hyper'],
  vfs: ['kern', 'hyper'],
  net: ['kern', 'hyper'],
  dev: ['kern', 'hyper'],
  frontends: ['hyper', 'kern', 'vfs', 'net', 'dev', 'frontends', 'root'],
  cli: ['hyper', 'kern', 'vfs', 'net', 'dev', 'frontends', 'cli', 'root'],
  root: ['hyper', 'kern', 'vfs', 'net', 'dev', 'frontends', 'cli'],
  other: ['hyper', 'kern', 'vfs', 'net', 'dev', 'frontends', 'cli', 'root', 'other'],
};

const NODE_BUILTINS = new Set([
  'assert', 'async_hooks', 'buffer', 'child_process', 'cluster', 'console', 'crypto', 'dgram', 'dns', 'events', 'fs',
  'fs/promises', 'http', 'http2', 'https', 'inspector', 'module', 'net', 'os', 'path', 'perf_hooks', 'process',
  'readline', 'stream', 'string_decoder', 'timers', 'tls', 'tty', 'url', 'util', 'v8', 'vm', 'wasi', 'worker_threads', 'zlib',
]);

/** Ambient host facilities forbidden in kernel code, as identifier patterns. */
const AMBIENT: { re: RegExp; what: string }[] = [
  { re: /\bDate\b/, what: 'Date (use the hypercall clocks)' },
  { re: /\bperformance\b/, what: 'performance (use the hypercall clocks)' },
  { re: /\bMath\.random\b/, what: 'Math.random (use the getRandom hypercall)' },
  { re: /\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b|\bclearTimeout\b|\bclearInterval\b/, what: 'host timers (use callouts)' },
  { re: /\bqueueMicrotask\b/, what: 'queueMicrotask (use the schedule hypercall)' },
  { re: /\bprocess\s*\.|\bprocess\b(?=\s*[;,)\]])/, what: 'process (host state)' },
  { re: /\bBuffer\b/, what: 'Buffer (use Uint8Array/DataView)' },
  { re: /\bcrypto\b/, what: 'crypto (use the getRandom hypercall)' },
  { re: /\brequire\s*\(/, what: 'require (ESM imports only)' },
  { re: /\bglobalThis\b/, what: 'globalThis (no ambient state)' },
];

function layerOf(rel: string): Layer {
  const parts = rel.split('/');
  if (parts[0] !== 'src') return 'other';
  if (parts.length === 2) return 'root';
  const d = parts[1]!;
  if (d === 'hyper' || d === 'kern' || d === 'vfs' || d === 'net' || d === 'dev' || d === 'frontends' || d === 'cli') return d;
  return 'other';
}

/** Blank out comments and string/template contents, keeping line structure. */
export function stripCode(src: string): string {
  let out = '';
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      while (i < n && src[i] !== '\n') i++;
    } else if (c === '/' && d === '*') {
      i += 2;
      while (i < n && !(src[i] === '*' && src[i + 1] === '/')) {
        if (src[i] === '\n') out += '\n';
        i++;
      }
      i += 2;
    } else if (c === "'" || c === '"' || c === '`') {
      out += c;
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === '\\') i++;
        else if (src[i] === '\n') out += '\n';
        i++;
      }
      out += c;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Check one file's text; rel is its path relative to the project root. */
export function checkSource(rel: string, src: string): Violation[] {
  const out: Violation[] = [];
  const layer = layerOf(rel);
  const isKernel = (KERNEL_LAYERS as readonly string[]).includes(layer);
  const isTest = rel.endsWith('.test.ts');
  const lineAt = (idx: number): number => src.slice(0, idx).split('\n').length;

  for (const m of src.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2]!;
    const idx = m.index! + m[0].indexOf(spec);
    const line = lineAt(idx);
    const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
    if (isKernel && !isTest && (spec.startsWith('node:') || NODE_BUILTINS.has(bare))) {
      out.push({ file: rel, line, rule: 'no-host-modules', text: `kernel code imports host module '${spec}'` });
      continue;
    }
    if (!spec.startsWith('.')) continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
    const tl = layerOf(target);
    if (tl === layer || isTest) continue;
    if (!ALLOWED[layer].includes(tl)) {
      out.push({ file: rel, line, rule: 'layering', text: `${layer} must not import ${tl} ('${spec}')` });
    }
  }

  if (isKernel && !isTest) {
    const code = stripCode(src).split('\n');
    code.forEach((l, i) => {
      for (const a of AMBIENT) {
        if (a.re.test(l)) out.push({ file: rel, line: i + 1, rule: 'no-ambient', text: `uses ${a.what}: ${src.split('\n')[i]!.trim()}` });
      }
    });
  }
  return out;
}

function walk(dir: string, acc: string[]): string[] {
  if (!fs.existsSync(dir)) return acc;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, acc);
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) acc.push(p);
  }
  return acc;
}

export function checkTree(root: string): Violation[] {
  const files = walk(path.join(root, 'src'), []);
  const out: Violation[] = [];
  for (const f of files) {
    const rel = path.relative(root, f).split(path.sep).join('/');
    out.push(...checkSource(rel, fs.readFileSync(f, 'utf8')));
  }
  return out;
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const root = process.argv[2] ?? process.cwd();
  const v = checkTree(root);
  for (const x of v) console.error(`${x.file}:${x.line}: ${x.rule}: ${x.text}`);
  if (v.length > 0) {
    console.error(`check-arch: ${v.length} violation(s)`);
    process.exit(1);
  }
  console.log('check-arch: layering and kernel purity OK');
}
