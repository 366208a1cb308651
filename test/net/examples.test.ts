/**
 * The programs in examples/ run as a user would run them: the EtherBus one
 * anywhere; the TAP one as root inside a network namespace this test
 * creates and deletes, answering Linux's curl.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { once } from 'node:events';

const root = path.resolve(import.meta.dirname, '../..');
const example = (name: string) => path.join(root, 'examples', name);

describe('examples', () => {
  it('http-etherbus.ts: two kernels talk HTTP over an EtherBus', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', example('http-etherbus.ts')], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello 10.0.0.2 from kernel A\n');
    expect(r.status).toBe(0);
  });

  const missing = process.getuid?.() !== 0 ? 'not root'
    : ['ip', 'socat', 'curl'].find((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing && process.env.CI) throw new Error(`examples: http-tap.ts needs ${missing === 'not root' ? 'root' : missing} in CI`);

  (missing ? it.skip : it)('http-tap.ts: Linux curl reaches the kernel through a TAP', async () => {
    const ns = `akex${process.pid}`;
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    try {
      spawnSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
      const srv = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', example('http-tap.ts'), 'akx0', '10.79.0.2/24', '10.79.0.1/24'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      srv.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
      const deadline = Date.now() + 30_000;
      while (!out.includes('listening')) {
        if (srv.exitCode !== null || Date.now() > deadline) throw new Error(`http-tap.ts did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const curl = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-sS', '--max-time', '10', 'http://10.79.0.2/x'], { encoding: 'utf8' });
      expect(curl.stdout).toBe('anykernel says hello to 10.79.0.1 (request 1, GET /x)\n');
      srv.stdin!.end();
      await Promise.race([once(srv, 'exit'), new Promise((r) => setTimeout(r, 10_000))]);
      expect(srv.exitCode).toBe(0);
    } finally {
      for (const pid of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) spawnSync('kill', ['-9', pid]);
      spawnSync('ip', ['netns', 'del', ns]);
    }
  });
});
