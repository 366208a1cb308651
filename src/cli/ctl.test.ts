/**
 * `anykernel ctl` tools against an in-process server, plus the dispatcher's
 * help and error paths. The tools run through connect() exactly as from a
 * shell; their output is captured instead of printed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { serve, type SysproxyServer } from '../frontends/sysproxy/server.ts';
import { main as ctl } from './ctl.ts';

let dir: string;
let srv: SysproxyServer;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-ctl-'));
  srv = await serve({ listen: `unix:${path.join(dir, 's.sock')}` });
});

afterEach(async () => {
  await srv.close();
  if (!srv.kernel.kernel.shuttingDown) await srv.kernel.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ lines: string[]; bytes: Uint8Array }> {
  const lines: string[] = [];
  const chunks: Uint8Array[] = [];
  await ctl(['--server', srv.address, ...args], { out: (s) => lines.push(s), outBytes: (b) => chunks.push(b) });
  return { lines, bytes: Buffer.concat(chunks) };
}

describe('anykernel ctl tools', () => {
  it('mkdir -p, cp both ways, ls -l, cat, stat, rm -r', async () => {
    await run('mkdir', '-p', '-m', '750', '/srv/data/x');
    const host = path.join(dir, 'in.bin');
    const payload = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    fs.writeFileSync(host, payload, { mode: 0o640 });
    await run('cp', host, ':/srv/data');
    const ls = await run('ls', '-l', '/srv/data');
    expect(ls.lines).toHaveLength(2);
    expect(ls.lines[0]).toMatch(/^-rw-r----- +1 +0 +0 +3145745 .* in\.bin$/);
    expect(ls.lines[1]).toMatch(/^drwxr-x--- .* x$/);
    expect(Buffer.compare((await run('cat', '/srv/data/in.bin')).bytes, payload)).toBe(0);
    const back = path.join(dir, 'out.bin');
    await run('cp', ':/srv/data/in.bin', back);
    expect(Buffer.compare(fs.readFileSync(back), payload)).toBe(0);
    const st = await run('stat', '/srv/data/in.bin');
    expect(st.lines.join('\n')).toMatch(/Size: 3145745\t.*regular file/);
    expect(st.lines.join('\n')).toMatch(/Access: \(0640\/-rw-r-----\)/);
    await run('rm', '-r', '/srv');
    await expect(run('ls', '/srv')).rejects.toThrow(/cannot access '\/srv': ENOENT.*check the path/);
    await run('rm', '-f', '/srv/nothing');
  });

  it('errors name the path, the errno and what to try', async () => {
    await run('mkdir', '/root-only');
    await expect(run('--uid', '1000', '--gid', '1000', 'mkdir', '/root-only/sub')).rejects.toThrow(
      /cannot create directory '\/root-only\/sub': EACCES: Permission denied \(permission denied for this uid/,
    );
    await expect(run('rm', '/root-only')).rejects.toThrow(/EISDIR.*rm needs -r/);
    await expect(run('cp', 'a', 'b')).rejects.toThrow(/kernel path/);
    await expect(run('frobnicate')).rejects.toThrow(/unknown tool 'frobnicate'/);
    await expect(ctl(['--server', `unix:${path.join(dir, 'none.sock')}`, 'ps'])).rejects.toThrow(/is `anykernel serve` running there/);
  });

  it('ps, dmesg, sysctl read/set/list', async () => {
    const ps = await run('ps');
    expect(ps.lines[0]).toMatch(/PID +PPID +UID STATE +FDS COMMAND/);
    expect(ps.lines.some((l) => /sysproxy:ctl ps \(this ctl\)$/.test(l))).toBe(true);
    const dmesg = await run('dmesg');
    expect(dmesg.lines.join('\n')).toMatch(/sysproxy: serving on unix:/);
    expect((await run('sysctl', 'kern.ostype')).lines).toEqual(['anykernel']);
    expect((await run('sysctl', 'kern.hostname', 'ctl-test')).lines[0]).toMatch(/-> ctl-test$/);
    expect((await run('sysctl', 'kern.hostname')).lines).toEqual(['ctl-test']);
    await expect(run('--uid', '7', 'sysctl', 'kern.hostname', 'x')).rejects.toThrow(/EPERM/);
    const all = await run('sysctl', '-a');
    expect(all.lines).toContain('kern.ostype = anykernel');
  });

  it('halt needs root and stops the server with a clean leak report', async () => {
    await expect(run('--uid', '1', 'halt')).rejects.toThrow(/cannot halt.*EPERM/);
    expect((await run('halt')).lines).toEqual(['kernel halted']);
    const report = await srv.halted;
    expect(report.clean).toBe(true);
  });
});

describe('the anykernel command', () => {
  const bin = path.resolve(import.meta.dirname, '../../bin/anykernel.mjs');

  it('prints help for itself and each subcommand', () => {
    expect(execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })).toMatch(/commands:[\s\S]*serve[\s\S]*ctl/);
    expect(execFileSync(process.execPath, [bin, 'serve', '--help'], { encoding: 'utf8' })).toMatch(/--listen ADDRESS/);
    expect(execFileSync(process.execPath, [bin, 'ctl', '--help'], { encoding: 'utf8' })).toMatch(/tools:/);
  });

  it('usage errors exit 2 with a hint; unknown commands too', () => {
    const r = spawnSync(process.execPath, [bin, 'serve'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--listen ADDRESS is required[\s\S]*anykernel serve --help/);
    const u = spawnSync(process.execPath, [bin, 'bogus'], { encoding: 'utf8' });
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/unknown command 'bogus'/);
    const t = spawnSync(process.execPath, [bin, 'serve', '--listen', 'tcp:127.0.0.1:0'], { encoding: 'utf8' });
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/needs a token: pass --token-file/);
  });
});
