/**
 * `anykernel cp SRC... DEST`: copy trees between the host and an ext2
 * image without root (LKL's cptofs/cpfromfs). A path inside an image is
 * written IMAGE:/PATH; exactly one side names an image. Modes, owners,
 * nanosecond times, symlinks, hard links and special files are kept (owners
 * and devices on the host only when run as root).
 *
 *   anykernel cp -r ./site disk.img:/var/www        host → image
 *   anykernel cp disk.img:/etc/passwd ./passwd      image → host
 */
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../frontends/library/node_default.ts'; // boot() without a host gets a NodeHost
import { boot } from '../frontends/library/boot.ts';
import { UsageError } from './main.ts';
import { Progress, copyIn, copyOut, hostSize, kernelSize } from './treecopy.ts';

export const CP_USAGE = `usage: anykernel cp [OPTIONS] SRC... DEST

Copy files and trees between the host and an ext2 image, without root. Name a path
inside an image as IMAGE:/PATH; either the sources or DEST are in one image.

  anykernel cp ./tree disk.img:/srv          copy the host directory ./tree to /srv/tree
  anykernel cp disk.img:/etc ./etc-copy      copy /etc out of the image

Directories are copied recursively; modes, owners, times, symlinks and hard links are kept.

  -q, --quiet   no progress bar
  -h, --help    this text
`;

interface ImagePath { image: string; path: string }

function imagePath(s: string): ImagePath | null {
  const m = /^(.+?):(\/.*)$/.exec(s);
  if (m === null || !fs.existsSync(m[1]!) || !fs.statSync(m[1]!).isFile()) return null;
  return { image: path.resolve(m[1]!), path: path.posix.normalize(m[2]!) };
}

function basename(p: string): string {
  return p.replace(/\/+$/, '').split('/').pop() || '/';
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { r: { type: 'boolean', short: 'r' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(CP_USAGE);
    return 0;
  }
  if (positionals.length < 2) throw new UsageError('SRC and DEST expected');
  const dest = positionals[positionals.length - 1]!;
  const srcs = positionals.slice(0, -1);
  const destImg = imagePath(dest);
  const srcImgs = srcs.map(imagePath);
  const into = destImg !== null;
  if (into ? srcImgs.some((s) => s !== null) : srcImgs.some((s) => s === null)) {
    throw new UsageError('exactly one side must be in an image: SRC... IMAGE:/PATH or IMAGE:/PATH... DEST');
  }
  const image = into ? destImg.image : srcImgs[0]!.image;
  if (!into && srcImgs.some((s) => s!.image !== image)) throw new UsageError('all sources must be in the same image');
  const k = await boot({ components: ['kern', 'vfs', 'tmpfs', 'blk', 'ext2'] });
  try {
    await k.sys.mkdir('/mnt', 0o755);
    await k.sys.mount(image, '/mnt', 'ext2', into ? 0 : 1 /* MS_RDONLY */, '');
    const quiet = values.quiet === true;
    if (into) {
      const target = `/mnt${destImg.path === '/' ? '' : destImg.path}`;
      const isDir = await k.sys.stat(target).then((s) => (s.mode & 0o170000) === 0o040000, () => false);
      const prog = new Progress(srcs.reduce((a, s) => a + hostSize(s), 0), 'copying', quiet);
      const links = new Map<string, string>();
      for (const s of srcs) await copyIn(k, path.resolve(s), isDir ? `${target}/${basename(s)}` : target, prog, links);
      prog.end();
    } else {
      const isDir = fs.statSync(dest, { throwIfNoEntry: false })?.isDirectory() === true;
      let total = 0;
      for (const s of srcImgs) total += await kernelSize(k, `/mnt${s!.path === '/' ? '' : s!.path}`);
      const prog = new Progress(total, 'copying', quiet);
      const links = new Map<string, string>();
      for (const s of srcImgs) await copyOut(k, `/mnt${s!.path === '/' ? '' : s!.path}`, isDir ? path.join(dest, basename(s!.path)) : dest, prog, links);
      prog.end();
    }
    await k.sys.umount2('/mnt', 0);
  } finally {
    await k.shutdown();
  }
  return 0;
}
