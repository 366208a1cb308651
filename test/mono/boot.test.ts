/**
 * `anykernel boot` driven without a terminal: commands from stdin or -c,
 * the shell's exit status as the command's, a read-only and a read-write
 * host directory bound through etfs, an ext2 image as the root (checked
 * afterwards with e2fsprogs), and the clear usage errors.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function boot(args: string[], input?: string): { out: string; err: string; status: number | null } {
  const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'boot', ...args], { input: input ?? '', encoding: 'utf8', timeout: 120_000 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

const hasMkfs = spawnSync('mkfs.ext2', ['-V']).status === 0;

describe('anykernel boot without a terminal', () => {
  it('runs the commands on stdin and exits with the shell status; binds host directories', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-bind-'));
    try {
      fs.writeFileSync(path.join(dir, 'in.txt'), 'from the host\n');
      const script = [
        'cat /ro/in.txt',
        '(echo nope > /ro/x) 2>/dev/null || echo read-only', // stdout and stderr share the console
        'echo kernel wrote > /rw/out.txt',
        "ps | grep -c '[i]nit'",
        'exit 7',
      ].join('\n');
      const r = boot(['--bind', `${dir}:/ro`, '--bind', `${dir}:/rw:rw`], script + '\n');
      expect(r.out).toBe('from the host\nread-only\n1\n');
      expect(r.status).toBe(7);
      expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('kernel wrote\n');
      expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it.skipIf(!hasMkfs && process.env.CI !== 'true')('boots an ext2 image as the root and leaves it clean', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-root-'));
    try {
      fs.mkdirSync(path.join(dir, 'src'));
      fs.writeFileSync(path.join(dir, 'src', 'hello.txt'), 'on the image\n');
      const img = path.join(dir, 'root.img');
      expect(spawnSync('mkfs.ext2', ['-F', '-q', '-d', path.join(dir, 'src'), img, '8M']).status).toBe(0);
      const r = boot(['--root', `ext2:${img}`, '-c', 'cat /hello.txt; echo made > /new.txt; ls /bin | grep -c sh']);
      expect(r.out).toBe('on the image\n1\n');
      expect(r.status).toBe(0);
      expect(spawnSync('e2fsck', ['-fn', img]).status).toBe(0);
      expect(spawnSync('debugfs', ['-R', 'cat /new.txt', img], { encoding: 'utf8' }).stdout).toBe('made\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('says what is wrong with bad options', async () => {
    const { main, parseBind } = await import('../../src/cli/boot.ts');
    expect(() => parseBind('nocolon')).toThrow(/--bind wants HOSTDIR:PATH/);
    expect(() => parseBind('/h:rel')).toThrow(/absolute PATH/);
    expect(parseBind('/h:/k:rw')).toEqual({ host: '/h', path: '/k', rw: true });
    await expect(main(['--root', 'floppy:x'])).rejects.toThrow(/--root wants tmpfs or ext2:IMAGE/);
  });
});
