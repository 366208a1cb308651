// Test helper (worker.test.ts): a third thread that builds a SyncClient from
// a channel made in the test's thread, does a few calls and reports back.
import { register } from 'tsx/esm/api';
import { parentPort, workerData } from 'node:worker_threads';

register();
const { SyncClient } = await import('./worker.ts');
const c = new SyncClient(workerData.init, { uid: 1000, gid: 1000 });
const out = { pid: c.pid, uid: c.sys.getuid(), size: c.sys.stat('/from-main').size };
try {
  c.sys.open('/nope', 0);
} catch (e) {
  out.err = e.code;
}
c.close();
parentPort.postMessage(out);
