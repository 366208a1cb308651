/**
 * Architecture checks (Deno std's _tools/check_*.ts habit): the rules of
 * docs/ARCHITECTURE.md that make the kernel portable and replayable, enforced on every
 * `npm test`.
 *
 *  1. Kernel code (src/kern, src/vfs, src/net, src/dev) imports no `node:*`
 *     (or bare Node builtin) module and uses no ambient host facility: Date,
 *     performance, Math.random, setTimeout/setInterval/setImmediate,
 *     queueMicrotask, process, Buffer, crypto, require.
 *  2. Imports go one way: hyper ← kern ← {vfs, net, dev} ← frontends/cli;
 *     src/userland (programs run in user processes) sees only src/kern/constants.ts.
 *     Factions never import each other; kern never imports a faction; nothing
 *     below frontends imports a frontend.
 *  3. Only src/hyper touches the host from inside the kernel tree.
 *  4. Public surfaces: frontends and the CLI reach kernel code only through
 *     each faction's `index.ts` (src/kern/index.ts, src/vfs/index.ts,
 *     src/net/index.ts, src/dev/index.ts) — plus src/hyper, which is the
 *     host side. Tests beside frontend code are exempt, as for rule 2.
 *  5. No runtime import cycle in src: a cycle of modules that load each
 *     other at run time makes evaluation order (and so which binding is
 *     still undefined) depend on who is imported first. Type-only imports
 *     (`import type`, `export type`, `import('x').T` in a type position)
 *     are erased and may form cycles; a dynamic `import()` counts.
 *
 * Type-only imports (`import type`) follow the same layer rules: a layer must
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
type Layer = 'hyper' | 'kern' | 'vfs' | 'net' | 'dev' | 'frontends' | 'cli' | 'root' | 'userland' | 'other';

/** Which layers each layer may import from (besides itself). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  hyper: [],
  kern: ['hyper'],
  vfs: ['kern', 'hyper'],
  net: ['kern', 'hyper'],
  dev: ['kern', 'hyper'],
  frontends: ['hyper', 'kern', 'vfs', 'net', 'dev', 'frontends', 'root', 'userland'],
  cli: ['hyper', 'kern', 'vfs', 'net', 'dev', 'frontends', 'cli', 'root', 'userland'],
  // User programs see only the ABI: src/kern/constants.ts (checked below).
  userland: ['kern'],
  root: ['hyper', 'kern', 'vfs', 'net', 'dev', 'frontends', 'cli'],
  other: ['hyper', 'kern', 'vfs', 'net', 'dev', 'frontends', 'cli', 'root', 'userland', 'other'],
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
  if (d === 'hyper' || d === 'kern' || d === 'vfs' || d === 'net' || d === 'dev' || d === 'frontends' || d === 'cli' || d === 'userland') return d;
  return 'other';
}

/**
 * Blank out comments and, unless `keepStrings`, string/template contents, keeping line
 * structure (a blanked string keeps its quotes and its newlines).
 */
function blankComments(src: string, keepStrings: boolean): string {
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
      const start = i++;
      let lines = '';
      while (i < n && src[i] !== c) {
        if (src[i] === '\\') i++;
        else if (src[i] === '\n') lines += '\n';
        i++;
      }
      i++;
      out += keepStrings ? src.slice(start, i) : c + lines + c;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Blank out comments and string/template contents, keeping line structure. */
export function stripCode(src: string): string {
  return blankComments(src, false);
}

/** The factions whose code frontends and the CLI reach through `index.ts` only. */
const PUBLIC_SURFACE: readonly Layer[] = ['kern', 'vfs', 'net', 'dev'];

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
    if (layer === 'userland' && tl === 'kern' && target !== 'src/kern/constants.ts') {
      out.push({ file: rel, line, rule: 'layering', text: `userland may import only the ABI (src/kern/constants.ts), not '${spec}'` });
      continue;
    }
    if (!ALLOWED[layer].includes(tl)) {
      out.push({ file: rel, line, rule: 'layering', text: `${layer} must not import ${tl} ('${spec}')` });
    } else if ((layer === 'frontends' || layer === 'cli') && PUBLIC_SURFACE.includes(tl) && target !== `src/${tl}/index.ts`) {
      out.push({
        file: rel, line, rule: 'public-surface',
        text: `${layer} must reach ${tl} through src/${tl}/index.ts, not '${spec}' (export what you need there)`,
      });
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

// ---- runtime import cycles -------------------------------------------------------------

/** Blank out comments only (strings kept, so import specifiers survive), keeping line structure. */
export function stripComments(src: string): string {
  return blankComments(src, true);
}

const STATIC_RE = /(?:^|[\n;])\s*(import|export)\s+(type\s+)?([^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC_RE = /import\(\s*['"]([^'"]+)['"]\s*\)/g;

/**
 * The relative specifiers a module loads at run time. Erased: `import type`
 * and `export type` statements, and `import('x')` in a type position (after
 * `<`, `:`, `|`, `&` or `typeof`). Kept: everything else — with
 * verbatimModuleSyntax, `import { type A } from 'x'` still loads 'x'.
 */
export function runtimeImports(src: string): { spec: string; line: number }[] {
  const code = stripComments(src);
  const lineAt = (idx: number): number => code.slice(0, idx).split('\n').length;
  const out: { spec: string; line: number }[] = [];
  for (const m of code.matchAll(STATIC_RE)) {
    if (m[2] !== undefined) continue;
    // `export { a }` without `from` is not an import; `export const x = 'y'` never matches (no from/quote right after).
    if (m[1] === 'export' && m[3] === undefined) continue;
    const spec = m[4]!;
    if (spec.startsWith('.')) out.push({ spec, line: lineAt(m.index! + m[0].indexOf(spec)) });
  }
  for (const m of code.matchAll(DYNAMIC_RE)) {
    const before = code.slice(Math.max(0, m.index! - 16), m.index!);
    if (/(?:[<:|&]|\btypeof)\s*$/.test(before)) continue;
    const spec = m[1]!;
    if (spec.startsWith('.')) out.push({ spec, line: lineAt(m.index!) });
  }
  return out;
}

/**
 * Runtime import cycles among `sources` (project-relative path → text):
 * one violation per strongly connected component (Tarjan), naming one cycle
 * through it.
 */
export function findCycles(sources: ReadonlyMap<string, string>): Violation[] {
  const edges = new Map<string, { to: string; line: number }[]>();
  for (const [rel, src] of sources) {
    const es: { to: string; line: number }[] = [];
    for (const { spec, line } of runtimeImports(src)) {
      const to = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
      if (sources.has(to)) es.push({ to, line });
    }
    edges.set(rel, es);
  }
  // Tarjan's algorithm, iterative (module graphs can be deep).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const sccs: string[][] = [];
  let next = 0;
  for (const startNode of edges.keys()) {
    if (index.has(startNode)) continue;
    const work: { v: string; i: number }[] = [{ v: startNode, i: 0 }];
    index.set(startNode, next);
    low.set(startNode, next++);
    stack.push(startNode);
    onStack.add(startNode);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const es = edges.get(top.v)!;
      if (top.i < es.length) {
        const w = es[top.i++]!.to;
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) === index.get(top.v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== top.v);
        const selfLoop = comp.length === 1 && edges.get(comp[0]!)!.some((e) => e.to === comp[0]);
        if (comp.length > 1 || selfLoop) sccs.push(comp);
      }
    }
  }
  return sccs.map((comp) => {
    const inComp = new Set(comp);
    const first = [...comp].sort()[0]!;
    // One cycle: follow edges inside the component from `first` until it closes.
    const pathOf: string[] = [first];
    const seenAt = new Map<string, number>([[first, 0]]);
    let cur = first;
    let line = 0;
    for (;;) {
      const e = edges.get(cur)!.find((x) => inComp.has(x.to))!;
      if (cur === first) line = e.line;
      const at = seenAt.get(e.to);
      if (at !== undefined) {
        pathOf.push(e.to);
        pathOf.splice(0, at);
        break;
      }
      seenAt.set(e.to, pathOf.length);
      pathOf.push(e.to);
      cur = e.to;
    }
    return { file: first, line, rule: 'import-cycle', text: `runtime import cycle: ${pathOf.join(' -> ')}` };
  });
}

export function checkTree(root: string): Violation[] {
  const files = walk(path.join(root, 'src'), []);
  const out: Violation[] = [];
  const sources = new Map<string, string>();
  for (const f of files) {
    const rel = path.relative(root, f).split(path.sep).join('/');
    const src = fs.readFileSync(f, 'utf8');
    sources.set(rel, src);
    out.push(...checkSource(rel, src));
  }
  out.push(...findCycles(sources));
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
  console.log('check-arch: layering, public surfaces, kernel purity and import cycles OK');
}
