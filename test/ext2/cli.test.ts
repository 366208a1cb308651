/**
 * `anykernel mkfs.ext2` and `anykernel cp` without root privileges over
 * the image: an image made and filled from a host tree passes e2fsck -fn
 * and reads back in debugfs; copying it out again gives the same tree
 * (contents, modes, times, symlinks, hard links); copying into an existing
 * image keeps it clean. Every geometry option gives an image e2fsck accepts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { main as mkfsMain } from '../../src/cli/mkfs_ext2.ts';
import { main as cpMain } from '../../src/cli/cp.ts';
import { debugfs, fsck, haveE2fsprogs, rmTree, tmpDir } from './kit.ts';

const ok = haveE2fsprogs();
const work = ok ? tmpDir('cli') : '';
afterAll(() => {
  if (work !== '') rmTree(work);
});

function tree(root: string): void {
  fs.mkdirSync(join(root, 'a/b'), { recursive: true });
  fs.writeFileSync(join(root, 'a/b/file'), 'content\n');
  fs.writeFileSync(join(root, 'big'), new Uint8Array(700_000).map((_, i) => i % 251));
  const fd = fs.openSync(join(root, 'sparse'), 'w');
  fs.writeSync(fd, new TextEncoder().encode('end'), 0, 3, 5_000_000);
  fs.closeSync(fd);
  fs.symlinkSync('a/b/file', join(root, 'link'));
  fs.linkSync(join(root, 'a/b/file'), join(root, 'hard'));
  fs.chmodSync(join(root, 'a'), 0o750);
  fs.utimesSync(join(root, 'big'), 1_000_000, 1_234_567_890.5);
}

/** [relative path, type, mode, size, mtime seconds, link target, content digest] for every entry. */
function describeTree(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of fs.readdirSync(join(root, rel)).sort()) {
    if (n === 'lost+found') continue;
    const p = join(rel, n);
    const st = fs.lstatSync(join(root, p));
    const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f';
    const extra = kind === 'l' ? fs.readlinkSync(join(root, p)) : kind === 'f' ? fs.readFileSync(join(root, p)).toString('base64').slice(0, 40) + fs.readFileSync(join(root, p)).length : '';
    out.push(`${p} ${kind} ${(st.mode & 0o7777).toString(8)} ${kind === 'd' ? '' : st.size} ${kind === 'l' ? '' : Math.floor(st.mtimeMs / 1000)} ${st.nlink > 1 && kind === 'f' ? 'linked' : ''} ${extra}`);
    if (kind === 'd') out.push(...describeTree(root, p));
  }
  return out;
}

describe.skipIf(!ok)('anykernel mkfs.ext2 and cp', () => {
  it('mkfs.ext2 -d makes an image e2fsck accepts; cp copies it back out unchanged', async () => {
    const src = join(work, 'src');
    tree(src);
    const img = join(work, 'img');
    expect(await mkfsMain([img, '32M', '-d', src, '-q'])).toBe(0);
    expect(fsck(img).status).toBe(0);
    expect(debugfs(img, 'cat /a/b/file')).toBe('content\n');
    const out = join(work, 'out');
    expect(await cpMain([`${img}:/`, out, '-q'])).toBe(0);
    expect(describeTree(out)).toEqual(describeTree(src));
    expect(fs.statSync(join(out, 'hard')).ino).toBe(fs.statSync(join(out, 'a/b/file')).ino);
    // Holes stay holes on the way out.
    expect(fs.statSync(join(out, 'sparse')).blocks * 512).toBeLessThan(100_000);
  });

  it('cp into an existing image: a directory lands under the target directory', async () => {
    const img = join(work, 'img2');
    expect(await mkfsMain([img, '8M', '-b', '4096', '-I', '128', '-q'])).toBe(0);
    const src = join(work, 'src2');
    tree(src);
    expect(await cpMain([src, join(src, 'big'), `${img}:/`, '-q'])).toBe(0);
    expect(fsck(img).status).toBe(0);
    expect(debugfs(img, 'ls -p /src2/a/b')).toMatch(/\/file\/8\//);
    expect(debugfs(img, 'ls -p /')).toMatch(/\/big\/700000\//);
  });

  it.each([['4M', []], ['9M', ['-b', '2048', '-N', '100']], ['300M', []], ['40M', ['-b', '4096', '-I', '128', '-L', 'vol']]] as [string, string[]][])(
    'mkfs.ext2 %s %j passes e2fsck -fn',
    async (size, opts) => {
      const img = join(work, `geo-${size}`);
      expect(await mkfsMain([img, size, '-q', ...opts])).toBe(0);
      expect(fsck(img)).toMatchObject({ status: 0 });
      rmTree(img);
    },
  );

  it('refuses bad options with a usage error', async () => {
    await expect(mkfsMain([join(work, 'x'), '8M', '-b', '999'])).rejects.toThrow(/block size/);
    await expect(mkfsMain([join(work, 'x'), 'lots'])).rejects.toThrow(/not a size/);
    await expect(cpMain(['a', 'b'])).rejects.toThrow(/one side must be in an image/);
  });
});
