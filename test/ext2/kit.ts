/**
 * Helpers for the ext2 suites (not a test file itself): make images with
 * e2fsprogs' mkfs.ext2, check them with e2fsck, read them with debugfs, and
 * boot a kernel that mounts one. e2fsprogs is an oracle here: without it the
 * suites skip locally and fail in CI (CI=true), where .ci/run installs it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function haveE2fsprogs(): boolean {
  const ok = spawnSync('mkfs.ext2', ['-V'], { stdio: 'ignore' }).status === 0 && spawnSync('e2fsck', ['-V'], { stdio: 'ignore' }).status === 0;
  if (!ok && process.env.CI === 'true') throw new Error('e2fsprogs (mkfs.ext2, e2fsck, debugfs) missing in CI');
  if (!ok) console.warn('ext2 suites skipped: e2fsprogs is not installed (apt-get install e2fsprogs)');
  return ok;
}

export function tmpDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `ak-ext2-${tag}-`));
}

export function rmTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** mkfs.ext2 -F -q [-b bs] [-I isz] [-N inodes] [-d src] img size (size like '8M'). */
export function mkfs(img: string, size: string, opts: { bs?: number; isz?: number; src?: string; inodes?: number; extra?: string[] } = {}): void {
  const args = ['-F', '-q', '-t', 'ext2'];
  if (opts.bs !== undefined) args.push('-b', String(opts.bs));
  if (opts.isz !== undefined) args.push('-I', String(opts.isz));
  if (opts.inodes !== undefined) args.push('-N', String(opts.inodes));
  if (opts.src !== undefined) args.push('-d', opts.src);
  args.push(...(opts.extra ?? []), img, size);
  execFileSync('mkfs.ext2', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, E2FSPROGS_FAKE_TIME: undefined } });
}

/** e2fsck -f with -n (check only) or -y (repair); returns exit status and output. */
export function fsck(img: string, mode: '-n' | '-y' = '-n'): { status: number; out: string } {
  const r = spawnSync('e2fsck', ['-f', mode, img], { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** debugfs -R CMD img (read-only); stdout. */
export function debugfs(img: string, cmd: string): string {
  const r = spawnSync('debugfs', ['-R', cmd, img], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return r.stdout;
}
