/**
 * The target registry: every place the conformance suite and the
 * differential test can run. Adding a target (as the remote unix socket,
 * worker async, worker sync and FUSE mount targets were added) is one adapter
 * file plus one line here.
 *
 * CONFORMANCE_TARGETS=host,kernel (comma-separated names) restricts a run.
 */
import type { TargetFactory } from '../target.ts';
import { hostTarget } from './host.ts';
import { kernelTarget } from './kernel.ts';
import { ext2Target } from './ext2.ts';
import { fuseDpTarget, fuseExt2Target, fuseTarget } from './fuse.ts';
import { remoteUnixTarget, workerAsyncTarget, workerSyncTarget } from './sysproxy.ts';

export const allTargets: TargetFactory[] = [hostTarget, kernelTarget, ext2Target, remoteUnixTarget, workerAsyncTarget, workerSyncTarget, fuseTarget, fuseDpTarget, fuseExt2Target];

/** The reference every differential run compares against. */
export const referenceTarget: TargetFactory = hostTarget;

export function selectedTargets(): TargetFactory[] {
  const want = process.env.CONFORMANCE_TARGETS;
  if (want === undefined || want === '') return allTargets;
  const names = want.split(',').map((s) => s.trim());
  return allTargets.filter((t) => names.includes(t.name));
}

export function targetByName(name: string): TargetFactory | undefined {
  return allTargets.find((t) => t.name === name);
}
