/**
 * The test-process side of the host op runner (./op-runner.mjs): starts one
 * runner process (optionally switching to other credentials), sends it
 * operations and turns its replies back into values or `{code}` errors.
 *
 * Used by the host target for every call (root and asUser alike) and reused
 * by the FUSE target, which is "the host against the mount
 * point". One runner = one host process: its own cwd, umask and fd table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as readline from 'node:readline';

const RUNNER = fileURLToPath(new URL('./op-runner.mjs', import.meta.url));

export interface RunnerInit {
  /** Directory to chdir into. */
  root: string;
  umask?: number;
  /** Switch to these credentials (the runner starts as the test's user, which must be root). */
  uid?: number;
  gid?: number;
  groups?: number[];
}

/** An error as the suite compares it: just the errno name. */
export class OpError extends Error {
  readonly code: string;
  constructor(code: string, op: string, detail?: string) {
    super(`${code}: ${op}${detail ? `\n${detail}` : ''}`);
    this.code = code;
  }
}

interface Reply {
  id: number;
  ok?: unknown;
  err?: string;
  msg?: string;
}

export class OpRunner {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { op: string; resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private dead: string | null = null;

  private constructor(child: ChildProcess) {
    this.child = child;
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      const r = JSON.parse(line) as Reply;
      const p = this.pending.get(r.id);
      if (p === undefined) return;
      this.pending.delete(r.id);
      if (r.err !== undefined) p.reject(new OpError(r.err, p.op, r.msg));
      else p.resolve(decode(r.ok));
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code, sig) => {
      this.dead = `op runner exited (${code ?? sig}): ${stderr}`;
      for (const p of this.pending.values()) p.reject(new Error(this.dead));
      this.pending.clear();
    });
  }

  /**
   * A runner for these credentials serving `init.root`: an idle one from the
   * pool when there is one (node takes ~0.5 s to start here), else a new one.
   * Give it back with `release()`.
   */
  static async acquire(init: RunnerInit): Promise<OpRunner> {
    const key = credKey(init);
    const idle = pool.get(key);
    while (idle !== undefined && idle.length > 0) {
      const r = idle.pop()!;
      if (r.dead !== null) continue;
      r.setRef(true);
      await r.call('init', init);
      return r;
    }
    const r = await OpRunner.start(init);
    r.key = key;
    return r;
  }

  /** Clean up (close leftover fds, leave the test dir) and return to the pool. */
  async release(): Promise<void> {
    if (this.dead !== null) return;
    await this.call('reset');
    let idle = pool.get(this.key);
    if (idle === undefined) pool.set(this.key, (idle = []));
    idle.push(this);
    this.setRef(false);
  }

  /** Idle pooled runners must not keep the test process alive. */
  private setRef(on: boolean): void {
    const c = this.child;
    if (on) c.ref();
    else c.unref();
    for (const s of [c.stdin, c.stdout, c.stderr]) {
      const h = s as unknown as { ref?: () => void; unref?: () => void } | null;
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }

  private key = '';

  static async start(init: RunnerInit): Promise<OpRunner> {
    // Without the parent's NODE_OPTIONS: a loader (tsx) inherited from there
    // would cost the plain-JS runner most of a second per start.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [RUNNER], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const r = new OpRunner(child);
    await r.call('init', init);
    return r;
  }

  call(op: string, ...args: unknown[]): Promise<unknown> {
    if (this.dead !== null) return Promise.reject(new Error(this.dead));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op, resolve, reject });
      this.child.stdin!.write(JSON.stringify({ id, op, args: args.map(encode) }) + '\n');
    });
  }

  async stop(): Promise<void> {
    if (this.dead !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    await exited;
  }
}

const pool = new Map<string, OpRunner[]>();

function credKey(init: RunnerInit): string {
  return init.uid === undefined ? 'self' : `${init.uid}:${init.gid}:${(init.groups ?? []).join(',')}`;
}

function encode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(encode);
  if (v instanceof Uint8Array) return { $b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  return v;
}

function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v !== null && typeof v === 'object' && '$b64' in v) return new Uint8Array(Buffer.from((v as { $b64: string }).$b64, 'base64'));
  return v;
}
