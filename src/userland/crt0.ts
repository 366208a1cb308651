/**
 * Program start-up and exit for the TypeScript userland (crt0): find the
 * program the image names (or run a WebAssembly image through the WASI
 * shim, wasi.ts), give it a Libc over the process's system calls, run it,
 * flush stdio and _exit with its status.
 *
 * A program returns its exit status (or calls `u.exit`). An uncaught error
 * is reported on stderr and ends the process with status 70 (EX_SOFTWARE):
 * a bug in a userland program must never take the kernel with it. Calls
 * that fail because the process is being killed (the kernel answers ESRCH
 * once it is a zombie) end quietly.
 */
import { ExitRequest, Libc, errcode, type Sys } from './libc.ts';
import { programs } from './programs.ts';
import { runWasi } from './wasi.ts';

/** `wasm`: the bytes of a WebAssembly image (then `program` only names it in messages). */
export function start(sys: Sys, program: string, argv: string[], envp: string[], sigflag: Int32Array | null, wasm: Uint8Array | null = null): void {
  const main = programs[program];
  let status = 0;
  let u: Libc | null = null;
  try {
    u = new Libc(sys, argv, envp, sigflag);
    if (wasm !== null) status = runWasi(u, wasm);
    else if (main === undefined) {
      u.err(`${program}: no such program in this userland\n`);
      status = 127;
    } else status = main(u) ?? 0;
  } catch (e) {
    if (e instanceof ExitRequest) status = e.status;
    else if (errcode(e) === 'ESRCH' || errcode(e) === 'ECONNRESET') return; // killed meanwhile
    else if (errcode(e) === 'EPIPE') status = 141; // SIGPIPE was ignored or blocked
    else {
      try {
        u?.err(`${program}: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      } catch { /* stderr is gone too */ }
      status = 70;
    }
  }
  try {
    u?.stdout.flush();
    u?.stderr.flush();
  } catch { /* a closed pipe at exit is not an error worth reporting */ }
  try {
    sys.exit!(status & 0xff);
  } catch { /* the kernel already ended us */ }
}
