/**
 * Test helper: a kernel served over FUSE by `anykernel mount` (src/frontends/fuse/cli.ts) running
 * in a child process, so the test process may touch the mount with any call, synchronous ones
 * included (the server never shares a thread with its callers).
 *
 *   const m = await startMount({ options: ['allow_other', 'default_permissions'] });
 *   ... run host programs on m.dir ...
 *   await m.stop();          // SIGTERM: the CLI unmounts, syncs, shuts the kernel down
 *
 * `fusePrerequisite()` says why FUSE tests cannot run here (not Linux, not root, no /dev/fuse);
 * tests skip with that message, except under CI=true where a missing prerequisite is a failure
 * (`requireFuse()`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess, execFile, type ExecFileOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
const cli = path.join(repoRoot, 'src/frontends/fuse/cli.ts');

/** Why FUSE tests cannot run here, or undefined when they can. */
export function fusePrerequisite(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()})`;
  try {
    fs.accessSync('/dev/fuse', fs.constants.R_OK | fs.constants.W_OK);
  } catch (e) {
    return `/dev/fuse is not usable: ${(e as Error).message}`;
  }
  return undefined;
}

/**
 * true when the FUSE tests should run; false (after a warning) when they should be skipped.
 * Under CI=true a missing prerequisite throws instead, failing the file.
 */
export function requireFuse(what: string): boolean {
  const missing = fusePrerequisite();
  if (missing === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`${what}: FUSE prerequisite missing under CI: ${missing}`);
  console.warn(`${what} skipped: ${missing} (needs root and /dev/fuse)`);
  return false;
}

/** Is a host program installed? (the CI script installs fio, git, util-linux) */
export function haveProgram(name: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

export interface Mounted {
  readonly dir: string;
  readonly child: ChildProcess;
  /** Everything the CLI printed so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. Removes the mount point directory. */
  stop(): Promise<number | null>;
  /** Resolves with the exit code when the CLI exits by itself (e.g. after a host umount). */
  readonly exited: Promise<number | null>;
}

export interface StartOptions {
  /** -o options */
  options?: string[];
  /** Extra CLI arguments (before the mount point). */
  args?: string[];
  /** Mount point (default: a fresh directory under os.tmpdir()). */
  dir?: string;
}

/** Spawn `anykernel mount` on a fresh directory and wait for its ready line. */
export async function startMount(opts: StartOptions = {}): Promise<Mounted> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'akfuse-'));
  const args = ['--import', 'tsx', cli, ...(opts.args ?? [])];
  if (opts.options?.length) args.push('-o', opts.options.join(','));
  args.push(dir);
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  // A watchdog outside this process: if the test process dies without stop()
  // (a vitest worker is killed, not exited), the server still gets SIGTERM and
  // unmounts instead of leaving an orphaned mount behind.
  if (child.pid !== undefined) {
    const dog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -TERM ${child.pid} 2>/dev/null`], {
      detached: true,
      stdio: 'ignore',
    });
    dog.unref();
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`anykernel mount did not get ready in 60 s:\n${out}`)), 60_000);
    const check = () => {
      if (out.includes('anykernel: serving')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`anykernel mount exited ${code} before it was ready:\n${out}`));
    });
  });
  let stopping: Promise<number | null> | undefined;
  return {
    dir,
    child,
    exited,
    output: () => out,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const code = await exited;
        try {
          fs.rmdirSync(dir);
        } catch {
          // still mounted (a failed unmount) or not empty: leave it for inspection
        }
        return code;
      })();
      return stopping;
    },
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a host program (never in this process), collecting its output; never rejects. */
export function run(cmd: string, args: string[], opts: ExecFileOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 << 20, encoding: 'utf8', ...opts }, (e, stdout, stderr) => {
      const code = e === null ? 0 : typeof (e as { code?: unknown }).code === 'number' ? ((e as { code: number }).code) : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Run a shell script; rejects with its output unless it exits 0. */
export async function sh(script: string, opts: ExecFileOptions = {}): Promise<string> {
  const r = await run('sh', ['-ec', script], opts);
  if (r.code !== 0) throw new Error(`sh exited ${r.code}:\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}
