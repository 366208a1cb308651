/**
 * The `anykernel` command: one binary, one subcommand per frontend.
 *
 *   anykernel boot   [...]            the monolithic kernel (src/cli/boot.ts)
 *   anykernel serve  --listen URL     remote system calls (src/cli/serve.ts)
 *   anykernel ctl    --server URL T   tools against a server (src/cli/ctl.ts)
 *   anykernel mount  [...] DIR        FUSE (src/frontends/fuse/cli.ts)
 *
 * Each subcommand lives in its own module, loaded only when chosen, so a
 * missing or broken frontend never stops the others. A subcommand module
 * exports `main(argv: string[]): Promise<number | void>` (boot's exports
 * `demo(argv)`); the number is the exit status.
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
import { pathToFileURL } from 'node:url';

export const USAGE = `usage: anykernel COMMAND [OPTIONS]

A pure-TypeScript anykernel: one kernel, run as a library, a server or booted.

commands:
  boot     boot the kernel to a shell on this terminal (--demo: the library-mode tour)
  serve    serve the kernel's system calls on a unix socket or TCP port
  ctl      run a tool (ls, cat, cp, mkdir, rm, stat, ps, dmesg, sysctl, halt) against a server
  mount    mount a kernel file system on the host through FUSE
  mkfs.ext2  make an ext2 image file (and fill it from a host directory), without root
  cp       copy trees between the host and an ext2 image (IMAGE:/PATH), without root

Run 'anykernel COMMAND --help' for a command's options.
`;

/** A usage error: printed with a hint to --help, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

interface Sub {
  /** Module path relative to this file, and the function it exports. */
  module: string;
  fn: string;
  missing: string;
}

const SUBCOMMANDS: Record<string, Sub> = {
  boot: { module: './boot.ts', fn: 'main', missing: 'the monolithic frontend is missing (src/cli/boot.ts)' },
  serve: { module: './serve.ts', fn: 'main', missing: 'src/cli/serve.ts is missing' },
  ctl: { module: './ctl.ts', fn: 'main', missing: 'src/cli/ctl.ts is missing' },
  mount: { module: '../frontends/fuse/cli.ts', fn: 'main', missing: 'the FUSE frontend has no command line yet (src/frontends/fuse/cli.ts is missing)' },
  'mkfs.ext2': { module: './mkfs_ext2.ts', fn: 'main', missing: 'src/cli/mkfs_ext2.ts is missing' },
  cp: { module: './cp.ts', fn: 'main', missing: 'src/cli/cp.ts is missing' },
};

function isMissingModule(e: unknown, spec: string): boolean {
  const code = (e as { code?: string }).code;
  const msg = e instanceof Error ? e.message : '';
  const base = spec.replace(/^.*\//, '');
  return (code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module/.test(msg)) && msg.includes(base);
}

/** Run the command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write('anykernel 0.1.0\n');
    return 0;
  }
  const sub = SUBCOMMANDS[cmd];
  if (sub === undefined) {
    process.stderr.write(`anykernel: unknown command '${cmd}'\n\n${USAGE}`);
    return 2;
  }
  let mod: Record<string, unknown>;
  // Compiled into dist/, this file is main.js and the modules are .js too.
  const file = import.meta.url.endsWith('.ts') ? sub.module : sub.module.replace(/\.ts$/, '.js');
  const spec = new URL(file, import.meta.url).href;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    if (isMissingModule(e, sub.module)) {
      process.stderr.write(`anykernel ${cmd}: ${sub.missing}\n`);
      return 1;
    }
    throw e;
  }
  const fn = mod[sub.fn];
  if (typeof fn !== 'function') {
    process.stderr.write(`anykernel ${cmd}: ${sub.module} does not export ${sub.fn}(argv)\n`);
    return 1;
  }
  try {
    const r = (await (fn as (a: string[]) => Promise<number | void>)(rest)) ?? 0;
    return r;
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`anykernel ${cmd}: ${(e as Error).message}\nRun 'anykernel ${cmd} --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`anykernel ${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.ANYKERNEL_DEBUG) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    return 1;
  }
}

// Run when executed directly (tsx src/cli/main.ts ...) or through bin/anykernel.mjs.
const invoked = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invoked || (globalThis as { __anykernelBin?: boolean }).__anykernelBin === true) {
  // `anykernel ctl ... | head`: a closed stdout is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  // Exit explicitly: a halted kernel's host may still hold timers or stdin.
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`anykernel: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
