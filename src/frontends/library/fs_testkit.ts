/**
 * Setup shared by the anykernel/fs tests (not a test file itself): a host
 * temporary directory, an in-process kernel and a worker kernel with a
 * facade each, optionally given the same starting files on all three, and
 * their teardown.
 */
import { afterAll, beforeAll } from 'vitest';
import realFs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { boot, type BootedKernel } from './boot.ts';
import { createFs } from './fs.ts';
import { startWorkerKernel, type WorkerKernel } from '../sysproxy/worker.ts';

export type Fs = typeof realFs;

export interface FsKit {
  /** The host temporary directory; the kernels use the same path. */
  T: string;
  k: BootedKernel;
  wk: WorkerKernel;
  /** The facade over the in-process kernel. */
  kfs: Fs;
  /** The facade over the worker kernel. */
  wfs: Fs;
}

/** Register beforeAll/afterAll for a kit; `populate` runs on node:fs and both facades. */
export function useKernels(prefix: string, populate?: (fs: Fs, T: string) => Promise<void>): FsKit {
  const kit = {} as FsKit;
  beforeAll(async () => {
    kit.T = realFs.mkdtempSync(nodePath.join(os.tmpdir(), prefix));
    kit.k = await boot();
    kit.wk = await startWorkerKernel();
    kit.kfs = createFs(kit.k) as unknown as Fs;
    kit.wfs = createFs(kit.wk) as unknown as Fs;
    if (populate !== undefined) for (const fs of [realFs, kit.kfs, kit.wfs]) await populate(fs, kit.T);
  }, 30_000);
  afterAll(async () => {
    if (kit.T !== undefined) realFs.rmSync(kit.T, { recursive: true, force: true });
    await kit.k?.shutdown();
    await kit.wk?.halt();
  });
  return kit;
}
