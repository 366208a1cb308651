/**
 * The kernel side of the worker transport: runs inside a worker_thread
 * (loaded by worker-main.mjs with tsx registered), boots a kernel and serves
 * it to the parent thread through the same SysproxyService the socket server
 * uses:
 *
 *   - 'connect' {port}: an async connection; every message on the port is
 *     one frame (a Uint8Array whose buffer is transferred);
 *   - 'sync' {sab, port}: a synchronous connection over a SharedArrayBuffer
 *     exchange (sab.ts), served with Atomics.waitAsync so the kernel's event
 *     loop keeps running; `port` carries 'grow' messages;
 *   - 'halt': shut the kernel down and answer 'halted' with the leak report.
 *
 * Messages to the parent: 'ready' {pid of init} after boot, 'error'
 * {message} when boot fails, 'halted' {report}.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import '../library/node_default.ts'; // boot() without a host gets a NodeHost
import { boot } from '../library/boot.ts';
import { SysproxyService, type ServerConn } from './service.ts';
import { parseFrame, postFrame, ProtocolError, type Limits } from './protocol.ts';

import { SyncPeer } from './sync_peer.ts';

export interface WorkerKernelData {
  components?: string[];
  limits?: Partial<Limits>;
  cred?: { uid: number; gid: number; groups?: number[] };
  allowSetcred?: boolean;
  /**
   * After answering a synchronous client, poll this long (µs) for its next
   * request before falling back to Atomics.waitAsync (default 50; 0 turns it
   * off). Meanwhile the kernel's other connections wait.
   */
  syncSpinUs?: number;
}

export { DEFAULT_SYNC_SPIN_US } from './sync_peer.ts';
import { DEFAULT_SYNC_SPIN_US } from './sync_peer.ts';

/** Serve one async connection over a MessagePort. */
function servePort(svc: SysproxyService, port: MessagePort): void {
  let conn: ServerConn | null = null;
  conn = svc.accept({
    send: (frames) => {
      for (const f of frames) postFrame(port, f);
    },
    send1: (f) => postFrame(port, f),
    close: () => port.close(),
  }, 'worker');
  port.on('message', (m: unknown) => {
    if (!(m instanceof Uint8Array)) return conn!.protocolError(new ProtocolError('EPROTO', 'port message is not a frame (Uint8Array)'));
    let f;
    try {
      f = parseFrame(m, svc.limits.maxFrame);
    } catch (e) {
      return conn!.protocolError(e);
    }
    conn!.receive(f);
  });
  port.on('close', () => conn!.lost('port closed'));
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('worker-host.ts must run in a worker_thread');
  const data = (workerData ?? {}) as WorkerKernelData;
  let svc: SysproxyService;
  try {
    const k = await boot(data.components !== undefined ? { components: data.components } : {});
    svc = new SysproxyService(k, {
      ...(data.limits ? { limits: data.limits } : {}),
      ...(data.cred ? { cred: data.cred } : {}),
      allowSetcred: data.allowSetcred ?? false,
    });
  } catch (e) {
    port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    return;
  }
  port.on('message', (m: { type: string; port?: MessagePort; sab?: SharedArrayBuffer }) => {
    switch (m?.type) {
      case 'connect':
        if (m.port) servePort(svc, m.port);
        return;
      case 'sync':
        if (m.port && m.sab) new SyncPeer(svc, m.sab, m.port, data.syncSpinUs ?? DEFAULT_SYNC_SPIN_US);
        return;
      case 'halt':
        void svc.halt().then((report) => {
          port.postMessage({ type: 'halted', report });
          // Sync peers may be parked in Atomics.waitAsync: end the thread outright.
          setImmediate(() => process.exit(0));
        });
        return;
    }
  });
  port.postMessage({ type: 'ready', pid: svc.kernel.kernel.initproc.pid });
}

void main();
