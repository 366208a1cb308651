/**
 * Run in each test process (through preload.mjs) by the node:fs harness
 * (run.ts) for the kernel modes; AKFS_HARNESS_MODE picks what
 * `require('fs')` becomes:
 *   worker  createFs(wk) over a kernel in a worker thread (sync calls work)
 *   inproc  createFs(k) over a kernel booted in this process (no sync calls)
 * For the kernel modes the test's fixtures are copied into the kernel at the
 * same path and the temporary directory is made there, so paths in the tests
 * work unchanged; nothing the test does reaches the host's disk through fs.
 */
import { createRequire } from 'node:module';
import * as realFs from 'node:fs';
import * as nodePath from 'node:path';

const require = createRequire(import.meta.url);
const Module = require('node:module') as {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
  _resolveFilename(request: string, parent: unknown, ...rest: unknown[]): string;
};
const mode = process.env['AKFS_HARNESS_MODE'] ?? 'host';
const tmpdir = process.env['AKFS_HARNESS_TMPDIR']!;
const fixtures = process.env['AKFS_HARNESS_FIXTURES']!;

/** Copy a host directory tree into the kernel through the facade. */
async function copyIn(fsp: typeof realFs.promises, from: string): Promise<void> {
  await fsp.mkdir(from, { recursive: true });
  for (const e of realFs.readdirSync(from, { withFileTypes: true })) {
    const p = nodePath.join(from, e.name);
    if (e.isDirectory()) await copyIn(fsp, p);
    else if (e.isSymbolicLink()) await fsp.symlink(realFs.readlinkSync(p), p).catch(() => undefined);
    else if (e.isFile()) await fsp.writeFile(p, realFs.readFileSync(p), { mode: realFs.statSync(p).mode & 0o777 });
  }
}

/**
 * The worker kernel's thread and message ports keep the event loop alive
 * after the test is done; exit (running the test's exit checks) once nothing
 * but them is left.
 */
function exitWhenOnlyKernelHandlesRemain(): void {
  const count = (l: string[]): Map<string, number> => l.reduce((m, r) => m.set(r, (m.get(r) ?? 0) + 1), new Map<string, number>());
  const check = setInterval(() => {
    const now = count(process.getActiveResourcesInfo());
    for (const [r, n] of now) if (n > (base.get(r) ?? 0)) return;
    process.exit();
  }, 50);
  check.unref();
  // Taken before the test's script runs: only the kernel's handles and this interval are alive.
  const base = count(process.getActiveResourcesInfo());
}

{
  await import('../../test/setup-node-host.ts');
  const { createFs } = await import('../../src/frontends/library/fs.ts');
  let facade: ReturnType<typeof createFs>;
  if (mode === 'worker') {
    const { startWorkerKernel } = await import('../../src/frontends/sysproxy/worker.ts');
    const wk = await startWorkerKernel();
    wk.worker.unref();
    facade = createFs(wk);
  } else {
    const { boot } = await import('../../src/frontends/library/boot.ts');
    facade = createFs(await boot());
  }
  const fsp = facade.promises as unknown as typeof realFs.promises;
  if (realFs.existsSync(fixtures)) await copyIn(fsp, fixtures);
  // Tests stat and read their own file.
  const script = process.argv[1]!;
  await fsp.mkdir(nodePath.dirname(script), { recursive: true });
  await fsp.writeFile(script, realFs.readFileSync(script));
  await facade.promises.mkdir(tmpdir, { recursive: true });
  // A Node process has descriptors 0, 1 and 2 open; tests take a new descriptor for true.
  for (let i = 0; i < 3; i++) await fsp.open('/dev/null', 'r+');
  if (mode === 'worker') exitWhenOnlyKernelHandlesRemain();
  const origLoad = Module._load;
  Module._load = function (request: string, parent: unknown, isMain: boolean): unknown {
    if (request === 'fs' || request === 'node:fs') return facade;
    if (request === 'fs/promises' || request === 'node:fs/promises') return facade.promises;
    return origLoad.call(this, request, parent, isMain);
  };
}
