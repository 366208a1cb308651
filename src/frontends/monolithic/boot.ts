/**
 * Booting the kernel as a whole operating system (the monolithic frontend):
 *
 *   1. a kernel on the node host with every faction: a tmpfs root (or an
 *      ext2 image, `root: 'ext2:IMAGE'`), devfs on /dev, procfs on /proc;
 *   2. the root file system is populated: /bin and /sbin with one userland
 *      image per program ("\x7fUSR name", kern/exec.ts), /etc/rc, /tmp,
 *      /root — on a disk root, /bin, /sbin and /tmp are tmpfs mounts and an
 *      existing /etc/rc is kept; host directories given with `binds` are
 *      mounted through etfs (read-only unless asked);
 *   3. the image runner (runner.ts) is registered, so execve and spawn start
 *      programs in worker threads, and reboot(2) is added: it halts the
 *      system with the status init passes;
 *   4. the console is a terminal on the host's stdin/stdout: interactive,
 *      the host terminal goes to raw mode and the kernel's line discipline
 *      echoes and edits; from a pipe, no echo and no output mapping, and the
 *      end of the host's input is an end of file on the console;
 *   5. pid 1 executes /sbin/init, which runs /etc/rc and the console shell.
 *
 * `halted` resolves with the shell's exit status and the kernel's leak
 * report once init has called reboot(2) and the kernel has shut down.
 */
import * as fs from 'node:fs';
import { boot, type BootedKernel } from '../library/boot.ts';
import { NodeHost } from '../../hyper/node/host.ts';
import { SysproxyService } from '../sysproxy/service.ts';
import { defineSyscall, err, errno, kexecve, userlandImage, type LeakReport } from '../../kern/index.ts';
import { ECHO, ICANON, ISIG, ONLCR, O_CREAT, O_TRUNC, O_WRONLY, type Winsize } from '../../kern/index.ts';
import type { ConsoleDev } from '../../dev/index.ts';
import { programs, installDir } from '../../userland/programs.ts';
import { WorkerRunner } from './runner.ts';
import { userEntry } from './entry.ts';

/** Linux reboot(2) magic numbers and the commands halt/poweroff use. */
const LINUX_REBOOT_MAGIC1 = 0xfee1dead;
export const LINUX_REBOOT_CMD_HALT = 0xcdef0123;
export const LINUX_REBOOT_CMD_POWER_OFF = 0x4321fedc;
export const LINUX_REBOOT_CMD_RESTART = 0x01234567;

export interface Bind {
  host: string;
  path: string;
  rw: boolean;
}

export interface OsOptions {
  /** Extra host parameters, e.g. memlimit and rootfs.options from --memory / --tmpfs-size. */
  params?: Record<string, string>;
  /** The console is a terminal (echo, editing, signals) rather than a pipe. */
  interactive: boolean;
  binds?: Bind[];
  /** Console output (default: process.stdout). */
  out?: (bytes: Uint8Array) => void;
  /** Text of /etc/rc (default: a short one). */
  rc?: string;
  /** Extra arguments for init. */
  initArgs?: string[];
  /** Warm worker threads (default 2). */
  poolSize?: number;
  /** Root file system: 'tmpfs' (default) or 'ext2:IMAGE[:ro]'. */
  root?: string;
}

export interface Halted {
  status: number;
  report: LeakReport;
}

export interface OsSystem {
  bk: BootedKernel;
  runner: WorkerRunner;
  console: ConsoleDev;
  halted: Promise<Halted>;
}

/**
 * The default /etc/rc: nothing to start yet (the host name comes from the
 * host parameter, the file systems are mounted by the kernel's components),
 * so booting starts no program the prompt would wait for.
 */
export const DEFAULT_RC = `# /etc/rc: run by /bin/sh for init before the console shell starts.
# Put commands here to run at every boot (mount, sysctl, daemons with &).
`;

async function writeFile(sys: Record<string, (...a: any[]) => Promise<any>>, path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const fd = await sys.open!(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
  await sys.write!(fd, typeof data === 'string' ? new TextEncoder().encode(data) : data);
  await sys.close!(fd);
  await sys.chmod!(path, mode);
}

/** Boot to init. Resolves once pid 1 is running /sbin/init. */
export async function bootOs(opts: OsOptions): Promise<OsSystem> {
  const host = new NodeHost({
    ...(opts.out ? { consoleOut: opts.out } : {}),
    onExit: () => { /* the caller decides when the host process ends */ },
    params: { hostname: 'anykernel', ...opts.params }, // lockdep: the node host's default (off; on under ANYKERNEL_LOCKDEP, as in tests)
  });
  const diskRoot = opts.root !== undefined && opts.root !== 'tmpfs';
  const bk = await boot({ host, ...(diskRoot ? { root: opts.root } : {}) });
  const k = bk.kernel;
  const sys = bk.sys as unknown as Record<string, (...a: any[]) => Promise<any>>;
  const mkdirs = async (d: string, mode: number) => sys.mkdir!(d, mode).catch((e: { code?: string }) => { if (e.code !== 'EEXIST') throw e; });
  for (const d of ['/bin', '/sbin', '/etc', '/root', '/home', '/usr', '/mnt', '/tmp']) await mkdirs(d, 0o755);
  if (diskRoot) {
    // A disk root keeps its own files: the userland and /tmp live on tmpfs mounts over it.
    for (const d of ['/bin', '/sbin', '/tmp']) await sys.mount!('tmpfs', d, 'tmpfs', 0, '');
  }
  await sys.chmod!('/tmp', 0o1777);
  for (const name of Object.keys(programs)) {
    const dir = installDir[name] ?? '/bin';
    await writeFile(sys, `${dir}/${name}`, userlandImage(name), 0o755);
  }
  const absent = async (p: string) => sys.access!(p, 0).then(() => false, () => true);
  if (!diskRoot || opts.rc !== undefined || await absent('/etc/rc')) await writeFile(sys, '/etc/rc', opts.rc ?? DEFAULT_RC, 0o644);
  if (await absent('/etc/motd')) await writeFile(sys, '/etc/motd', 'Welcome to anykernel.\n', 0o644);
  for (const b of opts.binds ?? []) {
    if (!fs.existsSync(b.host)) throw new Error(`--bind: host path ${b.host} does not exist`);
    await sys.mkdir!(b.path, 0o755).catch((e: { code?: string }) => { if (e.code !== 'EEXIST') throw e; });
    await sys.mount!(b.host, b.path, 'etfs', b.rw ? 0 : 1 /* MS_RDONLY */, '');
  }

  let halt!: (h: Halted) => void;
  const halted = new Promise<Halted>((r) => { halt = r; });
  let halting = false;
  // Registered before the service reads the table, so user processes see it.
  k.syscalls.register([defineSyscall('reboot', 169, ['uint', 'int?'], (td, cmd: number, status?: number) => {
    if (td.proc.cred.euid !== 0) throw err(errno.EPERM);
    if (cmd === LINUX_REBOOT_MAGIC1) throw err(errno.EINVAL); // the C library passes the magic separately; here cmd comes first
    if (cmd !== LINUX_REBOOT_CMD_HALT && cmd !== LINUX_REBOOT_CMD_POWER_OFF && cmd !== LINUX_REBOOT_CMD_RESTART) throw err(errno.EINVAL);
    k.log('notice', `reboot: ${cmd === LINUX_REBOOT_CMD_RESTART ? 'restart (halting: no restart from here)' : 'halt'} by pid ${td.proc.pid}`);
    shutdown(status ?? 0);
    return 0;
  })]);
  const shutdown = (status: number): void => {
    if (halting) return;
    halting = true;
    setImmediate(() => {
      void (async () => {
        await runner.halt();
        const report = await k.shutdown();
        halt({ status: status & 0xff, report });
      })();
    });
  };
  k.rebuildSys();
  const svc = new SysproxyService(bk);
  const runner = new WorkerRunner(svc, await userEntry(), {
    ...(opts.poolSize !== undefined ? { poolSize: opts.poolSize } : {}),
    onInitDeath: () => {
      k.log('emerg', 'init died: halting');
      host.dprintf('anykernel: init died; halting\n');
      shutdown(1);
    },
  });
  k.provide('exec.runner', runner);
  // What the runner does, for sysctl(8) and people watching processes come and go.
  k.sysctl.register({ name: 'kern.uproc.running', description: 'user processes with an image running in a worker thread', get: () => runner.running.size });
  k.sysctl.register({ name: 'kern.uproc.workers_started', description: 'worker threads started since boot', get: () => runner.started });
  k.sysctl.register({ name: 'kern.uproc.workers_reused', description: 'images started in a worker reused after an exit(2)', get: () => runner.reused });
  k.sysctl.register({ name: 'kern.uproc.workers_idle', description: 'warm worker threads waiting for an image', get: () => runner.idleCount });

  const cons = k.lookup<ConsoleDev>('console');
  if (cons === undefined) throw new Error('the kernel has no console (dev component missing)');
  if (!opts.interactive) {
    // A pipe, not a terminal: no echo, no CR before NL, no signal characters.
    const t = cons.tty.ld.termios;
    cons.tty.ld.setTermios({ ...t, lflag: (t.lflag & ~(ECHO | ISIG)) | ICANON, oflag: t.oflag & ~ONLCR, cc: t.cc.slice() });
  }
  cons.pin();
  const env = [`TERM=${process.env.TERM ?? 'vt100'}`];
  await kexecve(k, null, k.initproc, '/sbin/init', ['init', ...(opts.interactive ? [] : ['-s']), ...(opts.initArgs ?? [])], env);
  return { bk, runner, console: cons, halted };
}

/** The host terminal's size as a winsize. */
export function hostWinsize(): Winsize {
  return { row: process.stdout.rows ?? 24, col: process.stdout.columns ?? 80, xpixel: 0, ypixel: 0 };
}
