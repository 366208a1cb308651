/**
 * `anykernel boot` (what `npm start` runs): boot the kernel as a whole
 * operating system on this terminal — init, a shell on the console, the
 * userland in /bin — and halt with the leak report. With stdin not a
 * terminal (or with -c), the shell reads its commands from stdin (or -c)
 * without a prompt, and the exit status is the shell's.
 *
 * `--demo` runs the scripted library-mode tour instead (demo.ts).
 */
import { memoryParams } from '../frontends/library/memory_opts.ts';
import { parseArgs } from 'node:util';
import { bootOs, hostWinsize, type Bind } from '../frontends/monolithic/boot.ts';
import { UsageError } from './main.ts';

const HELP = `usage: anykernel boot [--bind HOSTDIR:PATH[:rw]]... [-c COMMANDS] [--root ext2:IMAGE[:ro]]
       anykernel boot --demo [--quiet]

Boots anykernel as an operating system in this terminal: a tmpfs root (or ext2),
devfs on /dev, procfs on /proc, init (pid 1) running /etc/rc and then a
shell on the console. 'halt' (or ^D in that shell) stops it and prints the
kernel's leak report.

options:
  --bind HOSTDIR:PATH[:rw]  show a host directory at PATH (read-only unless :rw)
  -c COMMANDS               run these shell commands instead of an interactive shell
  --root ext2:IMAGE[:ro]    an ext2 image as the root file system (default tmpfs)
  --memory SIZE             the kernel's memory limit, e.g. 1G (default: the host's memory)
  --tmpfs-size SIZE         size of the root tmpfs (default: half of --memory)
  --demo                    the scripted library-mode tour instead
  -h, --help                this text

With stdin not a terminal, the shell reads commands from it and the exit
status is the shell's.
`;

const BANNER = `anykernel — booted: tmpfs /, devfs /dev, procfs /proc; programs in /bin.
Try: ls /bin · ps · cat /proc/self/status · yes | head -c 20 · sleep 5 & jobs · ^Z then bg · halt
`;

export function parseBind(s: string): Bind {
  const parts = s.split(':');
  const rw = parts.length === 3 && parts[2] === 'rw';
  if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && !rw) || parts[0] === '' || !parts[1]!.startsWith('/')) {
    throw new UsageError(`--bind wants HOSTDIR:PATH[:rw] with an absolute PATH, not '${s}'`);
  }
  return { host: parts[0]!, path: parts[1]!, rw };
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--demo')) {
    const { demo } = await import('./demo.ts');
    return demo(argv.filter((a) => a !== '--demo'));
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      bind: { type: 'string', multiple: true },
      root: { type: 'string' },
      memory: { type: 'string' },
      'tmpfs-size': { type: 'string' },
      c: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.root !== undefined && !/^(tmpfs|ext2:.+)$/.test(values.root)) {
    throw new UsageError(`--root wants tmpfs or ext2:IMAGE[:ro], not '${values.root}'`);
  }
  const binds = (values.bind ?? []).map(parseBind);
  let params: Record<string, string>;
  try {
    params = memoryParams(values.memory, values['tmpfs-size']);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const tty = process.stdin.isTTY === true && values.c === undefined;
  const out = (b: Uint8Array): void => { process.stdout.write(b); };
  const rc = undefined;
  if (tty) process.stdout.write(BANNER);
  const os = await bootOs({ interactive: tty, binds, out, params, ...(rc ? { rc } : {}), ...(values.root !== undefined ? { root: values.root } : {}) });
  const cons = os.console;
  if (tty) {
    process.stdin.setRawMode(true);
    cons.tty.resize(hostWinsize());
    process.stdout.on('resize', () => cons.tty.resize(hostWinsize()));
  } else if (values.c !== undefined) {
    cons.input(new TextEncoder().encode(values.c + '\n'));
    cons.tty.hangup();
  } else {
    process.stdin.on('end', () => cons.tty.hangup());
  }
  const { status, report } = await os.halted;
  if (tty) process.stdin.setRawMode(false);
  process.stdin.pause();
  const lines = [...report.openFiles, ...report.heldLocks, ...report.liveThreads, ...report.processes, ...report.other];
  const say = tty ? (s: string) => process.stdout.write(s) : (s: string) => process.stderr.write(s);
  if (tty || !report.clean) say(`halted: leak report ${report.clean ? 'clean' : `— ${lines.length} item(s):\n  ${lines.join('\n  ')}`}\n`);
  return status;
}
