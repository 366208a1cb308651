/**
 * `anykernel mount`: boot a kernel and serve one of its file systems on a host directory through
 * FUSE (rump's p2k/rump_puffs mount helpers, LKL's lklfuse), until the host unmounts it or this
 * process gets SIGINT/SIGTERM.
 *
 *   anykernel mount [--type tmpfs | --type FS --image IMG] [-o OPT[,OPT...]] MOUNTPOINT
 *
 * Loaded lazily by src/cli/main.ts, which calls `main(argv)` with the arguments after `mount`
 * and exits with the returned status (0 ok, 1 failure, 2 usage). It also runs on its own:
 * `tsx src/frontends/fuse/cli.ts MOUNTPOINT`.
 *
 * Lifecycle: boot() → KernelFuseServer over the kernel's root → FuseSession.mount → print the
 * ready line (`anykernel: serving tmpfs at DIR (pid N)`) → wait for `session.closed` (host
 * `umount`) or a signal (then `umount -l`, and the connection is aborted if host processes keep
 * it open for more than a few seconds) → release every node and file → sync every file system
 * (a backing image is written back here) → kernel shutdown, leaks reported on stderr.
 *
 * Disk images: `--type ext2 [-o ro] IMAGE MOUNTPOINT` boots the kernel with the image as its
 * root (lklfuse's use: the image is parsed by the kernel, not the host's driver).
 * Not supported yet: other disk types; serving a subdirectory.
 */
import { memoryParams } from '../library/memory_opts.ts';
import { NodeHost } from '../../hyper/node/host.ts';
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import '../library/node_default.ts'; // boot() without a host gets a NodeHost
import { boot } from '../library/boot.ts';
import { FuseSession } from './session.ts';
import { KernelFuseServer } from './server.ts';
import { vfsOf } from '../../vfs/index.ts';

export const MOUNT_USAGE = `usage: anykernel mount [--type tmpfs | --type ext2 [--image] IMAGE] [-o OPTIONS] MOUNTPOINT

Boot a kernel and serve its file system on MOUNTPOINT through FUSE (needs root and
/dev/fuse). Runs until the host unmounts MOUNTPOINT ('umount MOUNTPOINT') or this
process gets SIGINT/SIGTERM; any backing image is synced before exit.

  -t, --type FS         file system to serve: tmpfs (default) or ext2
  --image IMG           disk image for ext2 (or give it before MOUNTPOINT)
  --memory SIZE         the kernel's memory limit, e.g. 1G (default: the host's memory)
  --tmpfs-size SIZE     size of the served tmpfs (default: half of --memory)
  --listen unix:PATH    also serve the same kernel's system calls there (socket mode
                        0600), for 'anykernel ctl' and connect() — rump_server and
                        p2k on one kernel
  -o OPTIONS            comma-separated mount options:
                          ro                   read-only (the image is opened read-only)
                          allow_other          let every host user in (default: only root)
                          default_permissions  the host checks mode bits too
                          entry_timeout=SEC    host name cache (default 1; 0 with allow_other
                                               but without default_permissions, where
                                               LOOKUP is the only search-permission check)
                          attr_timeout=SEC     host attribute cache (default 1)
                          reader=worker|async  how requests are read (default worker)
                          max_write=BYTES      largest request, 4096..1048576 (default 1048576)
                          writeback_cache      let the host buffer writes and write them back
                                               later (faster writes; off by default)
                          suid, dev            honour set-id bits / open device nodes on the
                                               host (default nosuid,nodev, as fusermount does:
                                               the kernel's files are not the host's to trust)
  -q, --quiet           print nothing but errors
  -h, --help            this text
`;

class UsageError extends Error {
  override name = 'UsageError';
}

interface MountOpts {
  allowOther: boolean;
  defaultPermissions: boolean;
  /** undefined: not given (see entryTimeoutOf). */
  entryTimeout: number | undefined;
  attrTimeout: number;
  reader: 'worker' | 'async';
  maxWrite: number;
  suid: boolean;
  dev: boolean;
  writeback: boolean;
  /** Mount the kernel's file system read-only (and the host side too). */
  ro: boolean;
}

function parseMountOptions(list: string[]): MountOpts {
  const o: MountOpts = { allowOther: false, defaultPermissions: false, entryTimeout: undefined, attrTimeout: 1, reader: 'worker', maxWrite: 1 << 20, suid: false, dev: false, writeback: false, ro: false };
  const secs = (k: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`-o ${k}: '${v ?? ''}' is not a number of seconds`);
    return n;
  };
  for (const item of list.flatMap((s) => s.split(',')).filter(Boolean)) {
    const eq = item.indexOf('=');
    const k = eq < 0 ? item : item.slice(0, eq);
    const v = eq < 0 ? undefined : item.slice(eq + 1);
    switch (k) {
      case 'allow_other': o.allowOther = true; break;
      case 'default_permissions': o.defaultPermissions = true; break;
      case 'writeback_cache': o.writeback = true; break;
      case 'suid': o.suid = true; break;
      case 'nosuid': o.suid = false; break;
      case 'dev': o.dev = true; break;
      case 'nodev': o.dev = false; break;
      case 'ro': o.ro = true; break;
      case 'rw': o.ro = false; break;
      case 'entry_timeout': o.entryTimeout = secs(k, v); break;
      case 'attr_timeout': o.attrTimeout = secs(k, v); break;
      case 'reader':
        if (v !== 'worker' && v !== 'async') throw new UsageError(`-o reader: '${v ?? ''}' is not worker or async`);
        o.reader = v;
        break;
      case 'max_write': {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 4096 || n > 1 << 20 || n % 4096 !== 0) throw new UsageError(`-o max_write: '${v ?? ''}' is not a multiple of 4096 between 4096 and 1048576`);
        o.maxWrite = n;
        break;
      }
      default:
        throw new UsageError(`unknown mount option '${k}' (known: ro, rw, allow_other, default_permissions, entry_timeout, attr_timeout, reader, max_write, writeback_cache, suid, nosuid, dev, nodev)`);
    }
  }
  return o;
}

/**
 * The name-cache timeout to hand the server. Without `default_permissions` the host checks no mode
 * bits: the server's LOOKUP (MAY_EXEC on the directory) is the only place search permission is
 * enforced, and a cached name skips it — for up to entry_timeout after *any* user's lookup, another
 * user could reach a file through a directory they may not search. So a multi-user mount
 * (`allow_other`) without `default_permissions` caches no names unless entry_timeout= says so.
 * Without allow_other only the mounting user (root, who may search anything) gets in.
 */
export function entryTimeoutOf(o: Pick<MountOpts, 'allowOther' | 'defaultPermissions' | 'entryTimeout'>): number {
  if (o.entryTimeout !== undefined) return o.entryTimeout;
  return o.allowOther && !o.defaultPermissions ? 0 : 1;
}

/** Why MOUNTPOINT cannot be used (its stat failed), and what to do. */
export function mountpointError(mountpoint: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  const why: Record<string, string> = {
    ENOENT: `it does not exist; create it first (mkdir -p ${mountpoint})`,
    ENOTDIR: 'a component of the path is not a directory',
    EACCES: 'permission denied on a directory of the path; run as root',
    ENOTCONN: `a dead FUSE mount is still there; detach it first (umount -l ${mountpoint})`,
    ELOOP: 'too many symbolic links in the path',
  };
  return `cannot mount on ${mountpoint}: ${why[code] ?? (e as Error).message} (${code})`;
}

/** A failed FuseSession.mount, said in terms of what to do. */
export function mountFailure(mountpoint: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.path === '/dev/fuse') {
    if (err.code === 'EACCES' || err.code === 'EPERM') {
      return `cannot open /dev/fuse: permission denied (${err.code}). 'anykernel mount' mounts with mount(8) itself, which needs root: run it as root (e.g. sudo anykernel mount ${mountpoint})`;
    }
    if (err.code === 'ENOENT' || err.code === 'ENXIO' || err.code === 'ENODEV') {
      return `cannot open /dev/fuse (${err.code}): the host has no FUSE device; load the module (modprobe fuse), or give a container the device (--device /dev/fuse)`;
    }
  }
  const msg = err instanceof Error ? err.message : String(e);
  if (/only root|permission denied|must be superuser|not permitted/i.test(msg)) {
    return `mounting ${mountpoint} was refused: ${msg.trim()}. FUSE mounts by 'anykernel mount' need root: run it as root`;
  }
  return `mounting ${mountpoint} failed: ${msg.trim()}`;
}

/** Run `anykernel mount`; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        type: { type: 'string', short: 't' },
        memory: { type: 'string' },
        'tmpfs-size': { type: 'string' },
        image: { type: 'string' },
        listen: { type: 'string' },
        o: { type: 'string', short: 'o', multiple: true },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    return usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(MOUNT_USAGE);
    return 0;
  }
  let mo: MountOpts;
  try {
    mo = parseMountOptions(values.o ?? []);
  } catch (e) {
    return usage((e as Error).message);
  }
  const type = values.type ?? 'tmpfs';
  // A disk file system takes its image as --image IMG or as the first of two operands (IMAGE MOUNTPOINT).
  const image = values.image ?? (type !== 'tmpfs' && positionals.length === 2 ? positionals.shift() : undefined);
  if (positionals.length !== 1) return usage(positionals.length === 0 ? 'missing MOUNTPOINT' : `one MOUNTPOINT expected, got ${positionals.length}`);
  const mountpoint = path.resolve(positionals[0]!);
  const quiet = values.quiet === true;
  const say = (s: string) => {
    if (!quiet) process.stdout.write(`anykernel: ${s}\n`);
  };

  let st: fs.Stats;
  try {
    st = fs.statSync(mountpoint);
  } catch (e) {
    process.stderr.write(`anykernel mount: ${mountpointError(mountpoint, e)}\n`);
    return 1;
  }
  if (!st.isDirectory()) {
    process.stderr.write(`anykernel mount: cannot mount on ${mountpoint}: it is not a directory; give an empty directory (mkdir ${mountpoint}.d)\n`);
    return 1;
  }

  let params: Record<string, string>;
  try {
    params = memoryParams(values.memory, values['tmpfs-size']);
  } catch (e) {
    return usage((e as Error).message);
  }
  if (type === 'ext2' && image === undefined) return usage('--type ext2 needs an image: anykernel mount --type ext2 IMAGE MOUNTPOINT');
  let bk: Awaited<ReturnType<typeof boot>>;
  try {
    // The served file system is the kernel's root: tmpfs, or the image for a disk file system
    // (then without devfs and procfs, which would make /dev and /proc in the image).
    const host = new NodeHost({ params });
    bk = await boot(type === 'ext2' ? { host, root: `ext2:${path.resolve(image!)}${mo.ro ? ':ro' : ''}`, components: ['kern', 'vfs', 'tmpfs', 'dev', 'blk', 'ext2'] } : { host });
  } catch (e) {
    process.stderr.write(`anykernel mount: ${image}: ${(e as Error).message} (see the kernel's messages above; e2fsck may help)\n`);
    return 1;
  }
  const k = bk.kernel;
  const vfs = vfsOf(k);
  const known = [...vfs.fstypes.keys()].sort();
  if (type !== 'tmpfs' && type !== 'ext2') {
    await bk.shutdown();
    const why = known.includes(type)
      ? `serving '${type}' is not supported yet`
      : `unknown file system type '${type}'`;
    process.stderr.write(`anykernel mount: ${why}; file systems this kernel has: ${known.join(', ')} (tmpfs and ext2 can be served: 'anykernel mount DIR' or 'anykernel mount --type ext2 IMAGE DIR')\n`);
    return 1;
  }
  if (type === 'tmpfs' && image !== undefined) {
    await bk.shutdown();
    return usage('--image needs a disk file system type; tmpfs lives in memory');
  }

  if (values.listen !== undefined && !values.listen.startsWith('unix:')) {
    await bk.shutdown();
    return usage(`--listen: '${values.listen}' is not unix:PATH (TCP needs a token: use 'anykernel serve')`);
  }
  let sysproxy: { address: string; close(): Promise<void> } | undefined;
  if (values.listen !== undefined) {
    try {
      const { serve } = await import('../sysproxy/server.ts');
      sysproxy = await serve({ listen: values.listen, kernel: bk });
    } catch (e) {
      await bk.shutdown();
      process.stderr.write(`anykernel mount: --listen: ${(e as Error).message}\n`);
      return 1;
    }
  }

  const server = new KernelFuseServer(k, { entryTimeout: entryTimeoutOf(mo), attrTimeout: mo.attrTimeout });
  let session: FuseSession;
  try {
    session = await FuseSession.mount(mountpoint, server, {
      allowOther: mo.allowOther,
      defaultPermissions: mo.defaultPermissions,
      reader: mo.reader,
      maxWrite: mo.maxWrite,
      writebackCache: mo.writeback,
      mountOptions: [mo.suid ? 'suid' : 'nosuid', mo.dev ? 'dev' : 'nodev', ...(mo.ro ? ['ro'] : [])],
      atomicOTrunc: true,
      handleKillpriv: true, // the kernel clears set-id bits on write/truncate/chown (perm.ts)
      onError: (e) => process.stderr.write(`anykernel mount: ${e instanceof Error ? e.message : String(e)}\n`),
    });
  } catch (e) {
    await server.close();
    await sysproxy?.close();
    await bk.shutdown();
    process.stderr.write(`anykernel mount: ${mountFailure(mountpoint, e)}\n`);
    return 1;
  }
  if (sysproxy !== undefined) say(`system calls at ${sysproxy.address}`);
  say(`serving ${type} at ${mountpoint} (pid ${process.pid}); stop with 'umount ${mountpoint}' or SIGTERM`);

  let signalled: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled !== undefined) return;
    signalled = sig;
    void (async () => {
      try {
        await Promise.race([session.unmount(), delay(5000)]);
      } catch (e) {
        process.stderr.write(`anykernel mount: ${(e as Error).message}\n`);
      }
      // Host processes still hold files open on the lazily detached mount: cut them off.
      if (!(await isSettled(session.closed))) await session.abort();
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const why = await session.closed;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  await server.close();
  await sysproxy?.close(); // its connections' processes exit
  await vfs.syncAll(null); // writes back any backing image
  const report = await bk.shutdown();
  const leaks = leakLines(report);
  for (const l of leaks) process.stderr.write(`anykernel mount: leak: ${l}\n`);
  say(`unmounted ${mountpoint} (${signalled ?? why})`);
  return leaks.length === 0 ? 0 : 1;
}

function usage(msg: string): number {
  process.stderr.write(`anykernel mount: ${msg}\nRun 'anykernel mount --help' for usage.\n`);
  return 2;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await delay(1);
  return done;
}

/** The kernel's leak report as lines (its shape belongs to kern; print whatever it lists). */
function leakLines(report: unknown): string[] {
  if (report === null || typeof report !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(report as Record<string, unknown>)) {
    if (Array.isArray(v)) for (const x of v) out.push(`${k}: ${typeof x === 'string' ? x : JSON.stringify(x)}`);
  }
  return out;
}

const invoked = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (invoked) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`anykernel mount: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
