/**
 * `anykernel mount` as a command: usage errors, the file-system-type message, the ready line,
 * ending on a host `umount`, and ending on SIGTERM even while a host process keeps a file open on
 * the mount (the CLI detaches lazily, then aborts the connection). Each run is a child process.
 * The mounting cases need root and /dev/fuse (skipped otherwise; a failure under CI=true).
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { repoRoot, requireFuse, run, startMount } from './mount.ts';

const cli = path.join(repoRoot, 'src/frontends/fuse/cli.ts');
const mountCmd = (args: string[]) => run(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repoRoot });

describe('anykernel mount: command line', () => {
  it('--help prints usage and exits 0', async () => {
    const r = await mountCmd(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: anykernel mount/);
    expect(r.stdout).toMatch(/allow_other/);
  });

  it('usage errors exit 2 with a message', async () => {
    for (const [args, msg] of [
      [[], /missing MOUNTPOINT/],
      [['a', 'b'], /one MOUNTPOINT expected/],
      [['-o', 'bogus', '/tmp'], /unknown mount option 'bogus'/],
      [['-o', 'max_write=1000', '/tmp'], /max_write/],
      [['-o', 'attr_timeout=x', '/tmp'], /attr_timeout/],
      [['--frobnicate', '/tmp'], /frobnicate/],
    ] as [string[], RegExp][]) {
      const r = await mountCmd(args);
      expect([args, r.code]).toEqual([args, 2]);
      expect(r.stderr).toMatch(msg);
    }
  });

  it('a missing mount point is an error (exit 1)', async () => {
    const r = await mountCmd([path.join(os.tmpdir(), 'ak-no-such-dir-' + process.pid)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ENOENT/);
  });

  it('--type other than tmpfs names the file systems that exist', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'akcli-'));
    try {
      const r = await mountCmd(['--type', 'nosuchfs', '--image', '/nonexistent.img', dir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/unknown file system type 'nosuchfs'/);
      expect(r.stderr).toMatch(/tmpfs/);
      const img = await mountCmd(['--image', '/x.img', dir]);
      expect(img.code).toBe(2);
      expect(img.stderr).toMatch(/--image needs a disk file system/);
    } finally {
      fs.rmdirSync(dir);
    }
  });
});

describe.runIf(requireFuse('anykernel mount CLI tests'))('anykernel mount: lifecycle', () => {
  it('a host umount ends it cleanly (exit 0, no leaks)', async () => {
    const m = await startMount();
    expect(m.output()).toMatch(new RegExp(`serving tmpfs at ${m.dir}`));
    fs.writeFileSync(path.join(m.dir, 'f'), 'data');
    const u = await run('umount', [m.dir]);
    expect(u.code, u.stderr).toBe(0);
    expect(await m.exited).toBe(0);
    expect(m.output()).toMatch(/unmounted .* \(ENODEV\)/);
    expect(m.output()).not.toMatch(/leak/);
    fs.rmdirSync(m.dir);
  }, 90_000);

  it('SIGTERM ends it even while a host process holds a file open on the mount', async () => {
    const m = await startMount();
    fs.writeFileSync(path.join(m.dir, 'held'), 'x');
    // A host process that keeps the file open (and its cwd on the mount) until killed.
    const holder = spawn('sh', ['-c', `exec 3<${m.dir}/held; cd ${m.dir}; echo ready; exec sleep 600`], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((res) => holder.stdout!.once('data', () => res()));
    const code = await m.stop();
    holder.kill('SIGKILL');
    expect(code, m.output()).toBe(0);
    expect(m.output()).toMatch(/unmounted .*\(SIGTERM\)/);
    const mounts = fs.readFileSync('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain(` ${m.dir} `);
  }, 90_000);
});
