/**
 * The package as a user installs it: `npm pack` (which builds dist/ through
 * `prepare`), the tarball installed into a fresh project without the network,
 * and there, with plain `node` and no tsx: import `anykernel`, boot, write and
 * read a file; every public entry loads; a worker kernel starts; the
 * `anykernel` bin answers --help, boots to a shell that runs a command, and
 * serves a kernel that `ctl ls` lists; a
 * TypeScript consumer type-checks against the shipped .d.ts. Then the root
 * entry, bundled by esbuild for a browser, reaches no Node builtin.
 *
 * zod (the only runtime dependency) is installed from this repository's
 * node_modules, so the install works offline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleForBrowser } from './bundle.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const zodDir = path.dirname(require.resolve('zod/package.json'));
const tscBin = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');

let tmp = '';
let app = '';

/** The environment of a user's shell: no loader flags or npm lifecycle state inherited from the test runner. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('npm_') || k.startsWith('VITEST') || k === 'TSX_TSCONFIG_PATH') continue;
    env[k] = v;
  }
  return env;
}

function run(cmd: string, args: string[], cwd: string, timeout = 60_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: userEnv(), timeout });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.error, `${what}: ${String(r.error)}`).toBeUndefined();
  expect(r.status, `${what} failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-pack-'));
  const packed = ok(run('npm', ['pack', '--json', '--pack-destination', tmp], repo, 120_000), 'npm pack');
  const tarball = path.join(tmp, (JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string }[])[0]!.filename);
  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  ok(run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball, zodDir], app, 120_000), 'npm install of the tarball');
}, 240_000);

afterAll(() => {
  if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the packed package, installed', () => {
  it('ships compiled JavaScript and no sources, and needs no tsx', () => {
    const pkg = path.join(app, 'node_modules', 'anykernel');
    expect(fs.existsSync(path.join(pkg, 'dist', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist', 'index.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'src'))).toBe(false);
    expect(fs.existsSync(path.join(app, 'node_modules', 'tsx'))).toBe(false);
  });

  it('boots under plain node, writes and reads a file, shuts down clean', () => {
    fs.writeFileSync(path.join(app, 'app.mjs'), `
import { boot, O_CREAT, O_WRONLY, O_RDONLY } from 'anykernel';
const k = await boot();
const fd = await k.sys.open('/hello.txt', O_CREAT | O_WRONLY, 0o644);
await k.sys.write(fd, new TextEncoder().encode('hello, kernel\\n'));
await k.sys.close(fd);
const rfd = await k.sys.open('/hello.txt', O_RDONLY);
const buf = new Uint8Array(64);
const n = await k.sys.read(rfd, buf);
await k.sys.close(rfd);
const report = await k.shutdown();
console.log(JSON.stringify({ text: new TextDecoder().decode(buf.subarray(0, n)), clean: report.clean, host: k.hyper.hostName }));
`);
    const out = ok(run(process.execPath, ['app.mjs'], app), 'node app.mjs');
    expect(JSON.parse(out)).toEqual({ text: 'hello, kernel\n', clean: true, host: 'node' });
  });

  it('every public entry loads under plain node; a worker kernel runs without tsx', () => {
    fs.writeFileSync(path.join(app, 'entries.mjs'), `
const names = {};
for (const e of ['anykernel', 'anykernel/node', 'anykernel/fs', 'anykernel/sim', 'anykernel/remote', 'anykernel/kern', 'anykernel/net']) names[e] = Object.keys(await import(e)).sort();
const { startWorkerKernel } = await import('anykernel/remote');
const wk = await startWorkerKernel();
const st = wk.syncClient().sys.stat('/');
const report = await wk.halt();
console.log(JSON.stringify({ names, dir: (st.mode & 0o170000) === 0o040000, clean: report.clean }));
`);
    const r = JSON.parse(ok(run(process.execPath, ['entries.mjs'], app), 'node entries.mjs')) as { names: Record<string, string[]>; dir: boolean; clean: boolean };
    expect(r.names['anykernel']).toEqual(expect.arrayContaining(['boot', 'KernelError', 'O_CREAT', 'setDefaultHost']));
    expect(r.names['anykernel']).not.toContain('NodeHost');
    expect(r.names['anykernel/node']).toEqual(expect.arrayContaining(['NodeHost', 'KernelFuseServer', 'FuseSession']));
    expect(r.names['anykernel/fs']).toEqual(expect.arrayContaining(['createFs', 'createFsSync']));
    expect(r.names['anykernel/sim']).toEqual(expect.arrayContaining(['SimHost', 'SimWorld']));
    expect(r.names['anykernel/remote']).toEqual(expect.arrayContaining(['connect', 'serve', 'startWorkerKernel', 'SyncClient']));
    expect(r.names['anykernel/kern']).toEqual(expect.arrayContaining(['Kernel', 'Mutex', 'Lockdep', 'WaitQueue', 'Callout', 'withTrace']));
    expect(r.names['anykernel/net']).toEqual(expect.arrayContaining(['createNet', 'EtherBus', 'capture', 'ifconfig', 'ping']));
    expect(r.dir).toBe(true);
    expect(r.clean).toBe(true);
  });

  it('the bin answers --help, serves a kernel on a unix socket, and ctl lists it', async () => {
    const bin = path.join(app, 'node_modules', '.bin', 'anykernel');
    const help = ok(run(process.execPath, [bin, '--help'], app), 'anykernel --help');
    expect(help).toMatch(/^usage: anykernel COMMAND/);
    // The monolithic kernel: user processes run in workers from the compiled userland.
    const shell = ok(run(process.execPath, [bin, 'boot', '-c', 'echo booted; cat /proc/self/status | grep -c Pid'], app), 'anykernel boot -c');
    expect(shell).toContain('booted\n');
    const sock = path.join(tmp, 'ak.sock');
    const server = spawn(process.execPath, [bin, 'serve', '--listen', `unix:${sock}`], { cwd: app, env: userEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        server.stderr.setEncoding('utf8');
        server.stderr.on('data', (s: string) => {
          stderr += s;
          if (stderr.includes('serving on')) resolve();
        });
        server.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening:\n${stderr}`)));
      });
      const mk = run(process.execPath, [bin, 'ctl', '--server', `unix:${sock}`, 'mkdir', '/from-ctl'], app);
      ok(mk, 'ctl mkdir');
      const ls = ok(run(process.execPath, [bin, 'ctl', '--server', `unix:${sock}`, 'ls', '/'], app), 'ctl ls');
      expect(ls.split('\n')).toContain('from-ctl');
      ok(run(process.execPath, [bin, 'ctl', '--server', `unix:${sock}`, 'halt'], app), 'ctl halt');
      expect(await exited).toBe(0);
      expect(stderr).toContain('nothing leaked');
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  });

  it('a TypeScript consumer type-checks against the shipped .d.ts', () => {
    fs.writeFileSync(path.join(app, 'consumer.ts'), `
import { boot, O_CREAT, O_WRONLY, KernelError, type Stat, type BootedKernel } from 'anykernel';
import { NodeHost } from 'anykernel/node';
import { SimHost } from 'anykernel/sim';
import { createFs } from 'anykernel/fs';
import { connect, type RemoteKernel } from 'anykernel/remote';
import { Kernel, Mutex, LockClass } from 'anykernel/kern';

const k: BootedKernel = await boot({ host: new NodeHost() });
const fd: number = await k.sys.open('/x', O_CREAT | O_WRONLY, 0o644);
const st: Stat = await k.sys.stat('/x');
const size: number = st.size;
const code: string = new KernelError(2, 'open').code;
const nodeFs = createFs(k);
const kk = new Kernel(new SimHost({ seed: 1 }));
const m = new Mutex(kk, new LockClass('m', 'a test lock'), 'm0');
const rk: Promise<RemoteKernel> = connect('unix:/nonexistent.sock');
void [fd, size, code, nodeFs, m, rk];
// @ts-expect-error open() takes a path, not a number: the types are real, not any
await k.sys.open(1, 0);
`);
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true,
        lib: ['es2023', 'esnext.disposable'], types: ['node'], typeRoots: [path.join(repo, 'node_modules', '@types')],
      },
      files: ['consumer.ts'],
    }));
    ok(run(process.execPath, [tscBin, '-p', '.'], app), 'tsc on the consumer');
  });

  it('a browser consumer type-checks without @types/node (the root and kern entries need no Node types)', () => {
    const web = path.join(app, 'web');
    fs.mkdirSync(web, { recursive: true });
    fs.writeFileSync(path.join(web, 'main.ts'), `
import { boot, KernelError, O_RDONLY, type Hypercalls } from 'anykernel';
import { Kernel, Mutex, LockClass } from 'anykernel/kern';

export async function start(host: Hypercalls): Promise<number> {
  const k = await boot({ host });
  const fd = await k.sys.open('/', O_RDONLY).catch((e: KernelError) => -e.errno);
  const m = new Mutex(new Kernel(host), new LockClass('web', 'a lock in a page'), 'w0');
  void m;
  return fd;
}
`);
    fs.writeFileSync(path.join(web, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'es2022', module: 'esnext', moduleResolution: 'bundler', strict: true, noEmit: true,
        lib: ['es2023', 'esnext.disposable', 'dom'], types: [], customConditions: ['browser'],
      },
      files: ['main.ts'],
    }));
    ok(run(process.execPath, [tscBin, '-p', '.'], web), 'tsc on a browser consumer');
  });

  it('the installed root entry bundles for a browser without any Node builtin', async () => {
    const r = await bundleForBrowser({ contents: "export * from 'anykernel'; export * from 'anykernel/kern';", resolveDir: app });
    expect(r.errors).toEqual([]);
    expect(r.nodeImports).toEqual([]);
    expect(r.inputs.some((f) => f.includes('dist/frontends/library/boot.js'))).toBe(true);
    expect(r.inputs.filter((f) => /hyper\/node\/|sysproxy\/|fuse\//.test(f))).toEqual([]);
  });
});
