/**
 * Every CLI error names what failed and what to do. Each message below was
 * once a bare errno (ENOENT, EACCES, "needs root" for a read-only variable);
 * these tests pin the fixed text: the command line run as a user runs it
 * (spawned through bin/anykernel.mjs), or the in-process function where a
 * spawn adds nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { serve, type SysproxyServer } from '../frontends/sysproxy/server.ts';
import { connect, ConnectError } from '../frontends/sysproxy/client.ts';
import { mountFailure } from '../frontends/fuse/cli.ts';
import { main as ctl } from './ctl.ts';
import { USAGE } from './main.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/anykernel.mjs');
const isRoot = process.getuid?.() === 0;

function cli(args: string[], opts: { uid?: number; gid?: number } = {}): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, cwd: os.tmpdir(), ...opts });
  return { status: r.status, stderr: r.stderr };
}

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-msg-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

describe('anykernel mount', () => {
  it('a missing mount point: says it does not exist and how to create it', () => {
    const mp = path.join(dir, 'missing');
    const r = cli(['mount', mp]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`anykernel mount: cannot mount on ${mp}: it does not exist; create it first (mkdir -p ${mp}) (ENOENT)\n`);
  });

  it('a non-root user: says FUSE mounting needs root, not a raw EACCES', () => {
    fs.chmodSync(dir, 0o777);
    // As root the test drops to nobody; otherwise it already is a non-root user.
    const r = cli(['mount', dir], isRoot ? { uid: 65534, gid: 65534 } : {});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^anykernel mount: .*needs? root.*run it as root/);
  });

  it('maps /dev/fuse failures to what to do', () => {
    const eacces = Object.assign(new Error("EACCES: permission denied, open '/dev/fuse'"), { code: 'EACCES', path: '/dev/fuse' });
    expect(mountFailure('/mnt/ak', eacces)).toMatch(/^cannot open \/dev\/fuse: permission denied \(EACCES\)\. .*needs root: run it as root \(e\.g\. sudo anykernel mount \/mnt\/ak\)$/);
    const enoent = Object.assign(new Error('ENOENT'), { code: 'ENOENT', path: '/dev/fuse' });
    expect(mountFailure('/mnt/ak', enoent)).toMatch(/no FUSE device; load the module \(modprobe fuse\)/);
    expect(mountFailure('/mnt/ak', new Error('fuse: mounting /mnt/ak failed (mount exited 1: mount: only root can use "--options" option)')))
      .toMatch(/^mounting \/mnt\/ak was refused: .*need root/);
  });
});

describe('anykernel serve', () => {
  it('a unix socket in a missing directory: says the directory is missing (ENOENT), not EACCES', () => {
    const r = cli(['serve', '--listen', 'unix:/missing-dir/x.sock']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('anykernel serve: cannot listen on unix:/missing-dir/x.sock: the directory /missing-dir does not exist; create it (mkdir -p /missing-dir) or choose another path (ENOENT)\n');
  });

  it('a port in use: names the port and suggests port 0', async () => {
    const a = await serve({ listen: 'tcp:127.0.0.1:0', token: 't' });
    try {
      const port = Number(a.address.split(':').pop());
      const err = (await serve({ listen: `tcp:127.0.0.1:${port}`, token: 't' }).then(() => null, (e: unknown) => e)) as Error & { code?: string };
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe('EADDRINUSE');
      expect(err.message).toBe(`cannot listen on tcp:127.0.0.1:${port}: port ${port} is in use; choose another port (tcp:127.0.0.1:0 picks a free one) (EADDRINUSE)`);
    } finally {
      await a.close();
      await a.kernel.shutdown();
    }
  });
});

describe('anykernel ctl and connect()', () => {
  let srv: SysproxyServer;
  beforeEach(async () => { srv = await serve({ listen: `unix:${path.join(dir, 's.sock')}` }); });
  afterEach(async () => {
    await srv.close();
    if (!srv.kernel.kernel.shuttingDown) await srv.kernel.shutdown();
  });

  it('setting a read-only sysctl as root says read-only, not "needs root"', async () => {
    const run = (...a: string[]) => ctl(['--server', srv.address, ...a], { out: () => {}, outBytes: () => {} });
    await expect(run('sysctl', 'kern.uptime', '5')).rejects.toThrow(/^cannot set sysctl 'kern\.uptime': it is read-only \(EPERM\)/);
  });

  it('connect() errors carry a code, the address and a hint', async () => {
    const missing = `unix:${path.join(dir, 'nothing.sock')}`;
    const e1 = (await connect(missing).then(() => null, (e: unknown) => e)) as ConnectError;
    expect(e1).toBeInstanceOf(ConnectError);
    expect(e1).toMatchObject({ code: 'ENOENT', syscall: 'connect', address: missing });
    expect(e1.message).toMatch(/is `anykernel serve` running there\?/);
    const e2 = (await connect('http://x').then(() => null, (e: unknown) => e)) as ConnectError;
    expect(e2).toMatchObject({ code: 'EINVAL', address: 'http://x' });
    const e3 = (await connect(srv.address, { tokenFile: path.join(dir, 'no-token') }).then(() => null, (e: unknown) => e)) as ConnectError;
    expect(e3).toMatchObject({ code: 'ENOENT' });
    expect(e3.message).toMatch(/cannot read the token file .*no-token: ENOENT/);
  });
});

describe('help texts', () => {
  it('promise only what exists: boot gives a shell, and its --demo is named', () => {
    expect(USAGE).toMatch(/boot +boot the kernel to a shell on this terminal \(--demo: the library-mode tour\)/);
    const r = spawnSync(process.execPath, [bin, 'boot', '-c', 'echo shell-ok'], { encoding: 'utf8', timeout: 60_000, cwd: os.tmpdir() });
    expect(r.stdout).toContain('shell-ok');
    expect(r.status).toBe(0);
  });
});
