/**
 * What runs inside a user process's worker_thread: wait for the runner's
 * 'run' message, connect a SyncClient to the kernel over the process's
 * SharedArrayBuffer exchange (the process already exists; the exchange
 * serves it), and start the program through the userland's crt0. When the
 * program's exit(2) has returned, the thread says 'idle' and waits for the
 * next image (runner.ts reuses it); the kernel ends it with
 * worker.terminate() for a signal, exec or halt.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import { SyncClient } from '../sysproxy/worker.ts';
import { start } from '../../userland/crt0.ts';
import type { Sys } from '../../userland/libc.ts';

export interface RunMessage {
  type: 'run';
  sab: SharedArrayBuffer;
  port: MessagePort;
  sigflag: SharedArrayBuffer;
  program: string;
  /** A WebAssembly image's bytes (kind 'wasm'); absent for userland programs. */
  wasm?: Uint8Array;
  argv: string[];
  envp: string[];
}

parentPort?.on('message', (m: RunMessage) => {
  if (m?.type !== 'run') return;
  const c = new SyncClient({ sab: m.sab, port: m.port });
  start(c.sys as unknown as Sys, m.program, m.argv, m.envp, new Int32Array(m.sigflag), m.wasm ?? null);
  c.close();
  // exit(2) returned: this thread may run another image.
  parentPort?.postMessage({ type: 'idle' });
});
