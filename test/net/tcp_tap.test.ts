/**
 * Linux interop over a TAP device, inside a network namespace this test
 * creates and deletes (traffic stays inside it): Linux `curl` downloads
 * 64 MiB from Node's http running on the kernel's TCP, and the kernel
 * fetches a file from `python3 -m http.server` on the Linux side; both by
 * sha256. tshark, capturing on the TAP, must find no malformed frames and
 * no bad IP or TCP checksums.
 *
 * Needs root, ip, socat, curl, tshark, python3. Locally it skips with a
 * message when they are missing; in CI (CI=true) that is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bodyChunk } from './tap_body.ts';

const NS = `aktcp${process.pid}`;
const SIZE = 64 << 20;
const TOOLS = ['ip', 'socat', 'curl', 'tshark', 'python3'];

function have(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const missing = [...(process.getuid?.() === 0 ? [] : ['root']), ...TOOLS.filter((t) => !have(t))];
const inCI = process.env.CI === 'true';
if (missing.length > 0 && !inCI) console.warn(`tcp_tap.test: skipped, missing ${missing.join(', ')}`);

const children: ChildProcess[] = [];
let dir = '';

function inNs(args: string[], opts: { stdin?: boolean } = {}): ChildProcess {
  const c = spawn('ip', ['netns', 'exec', NS, ...args], { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  children.push(c);
  return c;
}

/** Resolve with the first stdout/stderr line matching `re`. */
function waitFor(c: ChildProcess, re: RegExp, ms: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${what}: no ${re} within ${ms} ms; output: ${buf.slice(-2000)}`)), ms);
    const on = (d: Buffer): void => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        if (re.test(line)) {
          clearTimeout(t);
          c.stdout?.off('data', on);
          c.stderr?.off('data', on);
          resolve(line);
          return;
        }
      }
    };
    c.stdout?.on('data', on);
    c.stderr?.on('data', on);
    c.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${code}): ${buf.slice(-2000)}`));
    });
  });
}

describe.skipIf(missing.length > 0 && !inCI)('Linux interop over a TAP device in a network namespace', () => {
  beforeAll(() => {
    if (missing.length > 0) throw new Error(`CI needs ${missing.join(', ')} for the TAP interop test`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aktcp-'));
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
    // No IPv6 chatter on the TAP.
    execFileSync('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    try {
      execFileSync('ip', ['netns', 'del', NS]);
    } catch {
      // already gone
    }
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  it('curl downloads 64 MiB from the kernel, the kernel fetches from Linux, tshark sees clean frames', async () => {
    const file = randomBytes(3 << 20);
    fs.writeFileSync(path.join(dir, 'file.bin'), file);
    const pcap = path.join(dir, 'tap.pcap');
    const peer = inNs([process.execPath, '--import', 'tsx', path.join(import.meta.dirname, 'tap_peer.ts'), 'ak0', '10.77.0.2/24', '10.77.0.1/24', String(SIZE), 'http://10.77.0.1:8000/file.bin'], { stdin: true });
    await waitFor(peer, /"ready":true/, 30_000, 'kernel peer');
    const shark = inNs(['tshark', '-i', 'ak0', '-w', pcap, '-s', '128']);
    await waitFor(shark, /Capturing on/, 20_000, 'tshark');
    const web = inNs(['python3', '-u', '-m', 'http.server', '8000', '--bind', '10.77.0.1', '--directory', dir]);
    await waitFor(web, /Serving HTTP/, 20_000, 'python http.server');

    const want = createHash('sha256');
    for (let off = 0; off < SIZE; off += 1 << 20) want.update(bodyChunk(off, Math.min(1 << 20, SIZE - off)));
    const t0 = Date.now();
    const got = execFileSync('ip', ['netns', 'exec', NS, 'sh', '-c', 'curl -sS --max-time 120 http://10.77.0.2:8080/ | sha256sum'], { timeout: 150_000 }).toString();
    console.log(`curl: ${SIZE >> 20} MiB from the kernel in ${Date.now() - t0} ms (a shared machine: indicative only)`);
    expect(got.split(' ')[0]).toBe(want.digest('hex'));

    peer.stdin!.write('fetch\n');
    const line = await waitFor(peer, /"fetched"|"error"/, 60_000, 'kernel fetch');
    const r = JSON.parse(line) as { fetched?: { status: number; sha: string; n: number }; error?: string };
    expect(r.error).toBeUndefined();
    expect(r.fetched).toEqual({ status: 200, sha: createHash('sha256').update(file).digest('hex'), n: file.length });

    shark.kill('SIGINT');
    await new Promise((res) => shark.once('exit', res));
    const read = (filter: string): string[] =>
      execFileSync('tshark', ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-Y', filter], { maxBuffer: 1 << 28 })
        .toString().split('\n').filter((l) => l.trim() !== '');
    expect(read('tcp').length).toBeGreaterThan(1000);
    expect(read('_ws.malformed || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad"')).toEqual([]);
    peer.stdin!.end();
    await new Promise((res) => peer.once('exit', res));
  }, 300_000);
});
