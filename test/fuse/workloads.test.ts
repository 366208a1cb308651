/**
 * Acceptance workloads on a FUSE mount of the kernel's tmpfs, driven by real host programs:
 *   - Debian's fio with crc32c verification, sequential and random read/write jobs;
 *   - a tree copy, rename and delete workload checked with sha256sum;
 *   - git init, commits and git fsck;
 *   - 10 000 stat calls from 4 host processes at once;
 *   - /proc and df: procfs files (st_size 0) are opened with FOPEN_DIRECT_IO, so `cat
 *     MNT/proc/mounts` shows the mount table, and `df` shows the tmpfs root's real limits
 *     (Linux's default without size=: half the host's memory).
 * The kernel is served by `anykernel mount` in a child process (test/fuse/mount.ts).
 * Needs root and /dev/fuse (skipped otherwise; a failure under CI=true).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { haveProgram, requireFuse, run, sh, startMount, type Mounted } from './mount.ts';

const enabled = requireFuse('FUSE workload tests');

describe.runIf(enabled)('FUSE mount of the kernel tmpfs: host workloads', () => {
  let m: Mounted;
  beforeAll(async () => {
    m = await startMount({ options: ['allow_other', 'default_permissions'] });
  }, 90_000);
  afterAll(async () => {
    if (m === undefined) return;
    const code = await m.stop();
    // The CLI exits 1 when the kernel's leak report is not clean.
    expect(code, m.output()).toBe(0);
    expect(m.output()).not.toMatch(/leak:/);
  }, 60_000);

  it('the mount is the kernel (fuse.anykernel) and df works', async () => {
    const out = await sh(`df -PT ${m.dir}`);
    expect(out).toMatch(/fuse\.anykernel/);
    // The kernel's root tmpfs has its /dev (devfs) mounted inside: a different inode range.
    const r = await run('stat', ['-c', '%i %F', m.dir]);
    expect(r.stdout.trim()).toBe('1 directory');
  });

  it('cat MNT/proc/mounts shows the kernel\'s mount table though stat says size 0', async () => {
    expect(fs.statSync(`${m.dir}/proc/mounts`).size).toBe(0);
    const mounts = await sh(`cat ${m.dir}/proc/mounts`);
    const lines = mounts.trim().split('\n').map((l) => l.split(' '));
    // `source target fstype opts 0 0`: the tmpfs root, devfs and procfs at least.
    expect(lines.find((f) => f[1] === '/')?.[2]).toBe('tmpfs');
    expect(lines.find((f) => f[1] === '/proc')?.[2]).toBe('proc');
    expect(lines.every((f) => f.length === 6)).toBe(true);
    // Other pseudo-files read the same way, from any offset the host asks.
    expect(await sh(`cat ${m.dir}/proc/uptime`)).toMatch(/^\d+\.\d\d \d+\.\d\d\n$/);
    expect(await sh(`tail -c 4 ${m.dir}/proc/mounts`)).toBe(mounts.slice(-4));
  });

  it('df -P MNT shows the tmpfs root\'s real size, used and available blocks', async () => {
    const out = await sh(`df -P ${m.dir}`);
    const [size, used, avail] = out.trim().split('\n')[1]!.split(/\s+/).slice(1, 4).map(Number);
    // 1024-byte blocks: half the host's memory, as a Linux tmpfs without size= has.
    expect(size).toBe(Math.floor(os.totalmem() / 4096 / 2) * 4);
    expect(used! + avail!).toBe(size);
    const inodes = (await sh(`df -Pi ${m.dir}`)).trim().split('\n')[1]!.split(/\s+/).map(Number);
    expect(inodes[1]).toBe(Math.floor(os.totalmem() / 4096 / 2));
    expect(inodes[2]).toBeGreaterThan(0);
  });

  // Each write job writes with crc32c verify headers and reads everything back verified
  // (do_verify); each read job then replays its writer with verify_only: the reads alone,
  // checking that the data survived (sequential 128 KiB reads; random 4 KiB reads).
  const jobs: [string, string[]][] = [
    ['sequential write', ['--rw=write', '--bs=128k', '--do_verify=1']],
    ['sequential read', ['--rw=write', '--bs=128k', '--verify_only=1']],
    ['random write', ['--rw=randwrite', '--bs=4k', '--do_verify=1']],
    ['random read', ['--rw=randwrite', '--bs=4k', '--verify_only=1']],
    ['mixed random read/write', ['--rw=randrw', '--bs=4k', '--do_verify=1', '--rwmixread=50']],
  ];
  for (const [name, extra] of jobs) {
    it(`fio ${name} with crc32c verification`, async () => {
      if (!haveProgram('fio')) {
        if (process.env.CI === 'true') throw new Error('fio is not installed');
        console.warn('fio not installed: skipped');
        return;
      }
      const dir = path.join(m.dir, 'fio');
      fs.mkdirSync(dir, { recursive: true });
      const job = extra[0]!.slice(5); // the writer's name: reads replay the same job's files
      const r = await run('fio', [
        `--name=${job}`, `--directory=${dir}`, '--size=16m', '--ioengine=psync', '--verify=crc32c',
        '--verify_fatal=1', '--verify_state_save=0', '--numjobs=2', '--group_reporting', '--output-format=json', '--randrepeat=1', ...extra,
      ]);
      expect(r.code, r.stderr + r.stdout.slice(0, 4000)).toBe(0);
      const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: { error: number; read: { io_bytes: number }; write: { io_bytes: number } }[] };
      for (const x of j.jobs) expect(x.error).toBe(0);
      const read = j.jobs.reduce((s, x) => s + x.read.io_bytes, 0);
      const written = j.jobs.reduce((s, x) => s + x.write.io_bytes, 0);
      // Every job reads (verification); fio accounts a verify_only replay under its writer's
      // direction, so only the total is checked there.
      expect(read + written).toBeGreaterThanOrEqual(32 << 20);
      if (!extra.includes('--verify_only=1')) expect(read).toBeGreaterThan(0);
    }, 180_000);
  }

  it('tree copy in, checksums equal, rename, delete', async () => {
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'aktree-'));
    const rootBefore = fs.readdirSync(m.dir).sort();
    try {
      // A generated tree: nested dirs, files of varied sizes (some > 128 KiB requests), symlinks, hard links.
      let seed = 12345;
      const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let d = 0; d < 6; d++) {
        const dir = path.join(src, `d${d}`, `sub${d % 3}`);
        fs.mkdirSync(dir, { recursive: true });
        for (let f = 0; f < 25; f++) {
          const size = Math.floor(rnd() ** 3 * 400_000);
          const buf = Buffer.alloc(size);
          for (let i = 0; i + 4 <= size; i += 4096) buf.writeUInt32LE(Math.floor(rnd() * 2 ** 32), i);
          fs.writeFileSync(path.join(dir, `f${f}.bin`), buf);
        }
        fs.symlinkSync(`f0.bin`, path.join(dir, 'link'));
        fs.linkSync(path.join(dir, 'f1.bin'), path.join(dir, 'hard'));
        fs.chmodSync(path.join(dir, 'f2.bin'), 0o600);
      }
      const sums = `cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum`;
      const before = await sh(`set -- ${src}; ${sums}`);
      await sh(`cp -a ${src} ${m.dir}/tree`);
      const inFuse = await sh(`set -- ${m.dir}/tree; ${sums}`);
      expect(inFuse).toBe(before);
      // Metadata survived cp -a: modes, symlink targets, link counts.
      const meta = `cd "$1" && find . -printf '%p %M %n %l\\n' | sort`;
      expect(await sh(`set -- ${m.dir}/tree; ${meta}`)).toBe(await sh(`set -- ${src}; ${meta}`));
      await sh(`mv ${m.dir}/tree ${m.dir}/moved && mv ${m.dir}/moved/d0 ${m.dir}/moved/d5/d0again`);
      const after = await sh(`set -- ${m.dir}/moved; ${sums}`);
      expect(after.split('\n').length).toBe(before.split('\n').length);
      // Copy back out and compare again.
      await sh(`cp -a ${m.dir}/moved ${src}-back`);
      expect(await sh(`set -- ${src}-back; ${sums}`)).toBe(after);
      await sh(`rm -rf ${m.dir}/moved`);
      expect(fs.readdirSync(m.dir).sort()).toEqual(rootBefore);
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
      fs.rmSync(`${src}-back`, { recursive: true, force: true });
    }
  }, 180_000);

  it('git init, commits and git fsck', async () => {
    if (!haveProgram('git')) {
      if (process.env.CI === 'true') throw new Error('git is not installed');
      return;
    }
    const repo = path.join(m.dir, 'repo');
    const env = {
      ...process.env, GIT_AUTHOR_NAME: 'ak', GIT_AUTHOR_EMAIL: 'ak@example.org', GIT_COMMITTER_NAME: 'ak',
      GIT_COMMITTER_EMAIL: 'ak@example.org', GIT_CONFIG_NOSYSTEM: '1', HOME: os.tmpdir(),
    };
    await sh(`git init -q ${repo}`, { env });
    for (let i = 0; i < 5; i++) {
      await sh(`cd ${repo} && seq 1 ${1000 * (i + 1)} > file${i}.txt && echo change ${i} >> README && git add -A && git commit -q -m "commit ${i}"`, { env });
    }
    await sh(`cd ${repo} && git mv file0.txt renamed.txt && git rm -q file1.txt && git commit -q -m "rename and remove"`, { env });
    await sh(`cd ${repo} && git gc -q`, { env });
    const fsck = await run('git', ['-C', repo, 'fsck', '--full', '--strict'], { env });
    expect(fsck.code, fsck.stderr).toBe(0);
    const log = await sh(`git -C ${repo} log --oneline | wc -l`, { env });
    expect(log.trim()).toBe('6');
    const status = await sh(`git -C ${repo} status --porcelain`, { env });
    expect(status).toBe('');
    await sh(`rm -rf ${repo}`);
  }, 180_000);

  it('survives 10 000 stat calls from 4 host processes at once', async () => {
    const dir = path.join(m.dir, 'stats');
    fs.mkdirSync(dir);
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(dir, `f${i}`), String(i));
    // Each child stats 2500 times (lstat of 50 names in a loop), then prints how many succeeded.
    const script = `
      const fs = require('node:fs');
      let ok = 0;
      for (let i = 0; i < 2500; i++) {
        const st = fs.lstatSync(${JSON.stringify(dir)} + '/f' + (i % 50));
        if (st.size === String(i % 50).length) ok++;
      }
      console.log(ok);`;
    const results = await Promise.all([0, 1, 2, 3].map(() => run(process.execPath, ['-e', script])));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('2500');
    }
    // Still serving afterwards.
    expect(fs.readdirSync(dir).length).toBe(50);
    fs.rmSync(dir, { recursive: true });
  }, 180_000);
});
