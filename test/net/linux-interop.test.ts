/**
 * Linux talks to the kernel over a TAP device, inside a network namespace
 * this test creates and deletes (root; traffic stays inside it):
 *   - Linux ping gets answers from the kernel's address;
 *   - Linux sends UDP to the kernel's echo port and gets its bytes back;
 *   - a tshark capture on the TAP finds no malformed frames and no bad
 *     checksums.
 * Without root, socat, tshark or ip this skips with the reason, except in
 * CI (CI=true), where a missing prerequisite fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';

const NS = `aknet${process.pid}`;
const TAP = 'ak0';
const KADDR = '10.77.0.2';
const HADDR = '10.77.0.1';

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  for (const bin of ['ip', 'socat', 'tshark', 'ping']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is not installed`;
  }
  if (spawnSync('ip', ['netns', 'add', `${NS}probe`]).status !== 0) return 'cannot create a network namespace';
  spawnSync('ip', ['netns', 'del', `${NS}probe`]);
  return null;
}

const why = missing();
if (why !== null && process.env.CI) throw new Error(`linux interop: ${why} (required in CI)`);
const suite = why === null ? describe : describe.skip;
if (why !== null) console.warn(`linux interop skipped: ${why}`);

const nsx = (...args: string[]) => spawnSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8', timeout: 30_000 });

suite('Linux interop through a TAP device in a network namespace', () => {
  let kernel: ChildProcess;
  let tshark: ChildProcess;
  let dir: string;
  let pcap: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aknet-'));
    pcap = path.join(dir, 'tap.pcap');
    expect(spawnSync('ip', ['netns', 'add', NS]).status).toBe(0);
    nsx('ip', 'link', 'set', 'lo', 'up');
    nsx('sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1');
    const fixture = path.join(import.meta.dirname, 'tap-kernel.fixture.ts');
    kernel = spawn('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', fixture, TAP, `${KADDR}/24`, `${HADDR}/24`], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    kernel.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    const deadline = Date.now() + 30_000;
    while (!out.includes('ready')) {
      if (kernel.exitCode !== null || Date.now() > deadline) throw new Error(`the kernel did not come up: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    tshark = spawn('ip', ['netns', 'exec', NS, 'tshark', '-i', TAP, '-w', pcap, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    tshark.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
    while (!err.includes('Capturing on')) {
      if (tshark.exitCode !== null || Date.now() > deadline) throw new Error(`tshark did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 60_000);

  afterAll(async () => {
    if (tshark && tshark.exitCode === null) {
      tshark.kill('SIGINT');
      await once(tshark, 'exit');
    }
    if (kernel && kernel.exitCode === null) {
      kernel.stdin!.end();
      await Promise.race([once(kernel, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
      if (kernel.exitCode === null) kernel.kill('SIGKILL');
    }
    // Anything this test started that is still in its namespace (socat, if the kernel died early).
    const pids = spawnSync('ip', ['netns', 'pids', NS], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const pid of pids) spawnSync('kill', ['-9', pid]);
    spawnSync('ip', ['netns', 'del', NS]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('Linux ping gets answers from the kernel', () => {
    const r = nsx('ping', '-c', '5', '-i', '0.2', '-W', '2', KADDR);
    expect(r.stdout).toMatch(/5 packets transmitted, 5 received, 0% packet loss/);
    const big = nsx('ping', '-c', '2', '-s', '4000', '-W', '2', KADDR); // fragmented both ways
    expect(big.stdout).toMatch(/2 packets transmitted, 2 received/);
  });

  it('Linux UDP reaches the kernel and comes back', () => {
    const r = nsx('sh', '-c', `printf 'hello kernel' | socat -T 2 - UDP4:${KADDR}:7`);
    expect(r.stdout).toBe('hello kernel');
    const closed = nsx('sh', '-c', `printf x | socat -T 1 - UDP4:${KADDR}:9 2>&1; true`);
    expect(closed.stdout).toMatch(/Connection refused/);
  });

  it('anykernel serve --net attaches a TAP; Linux pings it; ctl ifconfig and halt work from outside', async () => {
    const sock = path.join(dir, 'serve.sock');
    const bin = path.join(import.meta.dirname, '..', '..', 'bin', 'anykernel.mjs');
    const srv = spawn('ip', ['netns', 'exec', NS, process.execPath, bin, 'serve', '--listen', `unix:${sock}`, '--components', 'kern,vfs,tmpfs,procfs,net',
      '--net', 'eth0=tap:ak1,addr=10.78.0.2/24,hostaddr=10.78.0.1/24'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    srv.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
    try {
      const deadline = Date.now() + 30_000;
      while (!err.includes('serving on')) {
        if (srv.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(nsx('ping', '-c', '2', '-i', '0.2', '-W', '2', '10.78.0.2').stdout).toMatch(/2 received/);
      const ctl = (...a: string[]) => spawnSync(process.execPath, [bin, 'ctl', '--server', `unix:${sock}`, ...a], { encoding: 'utf8', timeout: 30_000 });
      expect(ctl('ifconfig', 'eth0').stdout).toMatch(/inet 10\.78\.0\.2  netmask 255\.255\.255\.0/);
      expect(ctl('ping', '-c', '1', '10.78.0.1').stdout).toMatch(/1 received/);
      ctl('halt');
      await Promise.race([once(srv, 'exit'), new Promise((r) => setTimeout(r, 10_000))]);
    } finally {
      if (srv.exitCode === null) srv.kill('SIGKILL');
    }
  });

  it('the capture on the TAP has no malformed frames or bad checksums', async () => {
    tshark.kill('SIGINT');
    await once(tshark, 'exit');
    const opts = ['-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE'];
    const bad = spawnSync('tshark', ['-r', pcap, ...opts, '-Y', '(ip || arp) && (_ws.malformed || _ws.expert.severity >= warning)'], { encoding: 'utf8' });
    expect(bad.status).toBe(0);
    expect(bad.stdout.trim()).toBe('');
    const all = spawnSync('tshark', ['-r', pcap, ...opts], { encoding: 'utf8' }).stdout;
    expect(all).toMatch(new RegExp(`${KADDR.replace(/\./g, '\\.')} → ${HADDR.replace(/\./g, '\\.')} +ICMP .*Echo \\(ping\\) reply`));
    expect(all).toMatch(/UDP/);
  });
});
