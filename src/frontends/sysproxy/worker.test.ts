/**
 * The worker transport: a kernel in a worker_thread reached by async calls
 * over a MessagePort and by synchronous calls over a SharedArrayBuffer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { KernelError, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, S_IFDIR, S_IFMT } from '../../kern/index.ts';
import { SyncClient, startWorkerKernel, type WorkerKernel } from './worker.ts';
import { encodeValue } from './protocol.ts';

let wk: WorkerKernel;

beforeAll(async () => {
  wk = await startWorkerKernel();
});

afterAll(async () => {
  await wk?.terminate();
});

const enc = new TextEncoder();
const dec = new TextDecoder();

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('async client over a MessagePort', () => {
  it('serves system calls as the worker kernel process', async () => {
    expect(await wk.sys.getpid()).toBe(wk.pid);
    const fd = await wk.sys.open('/w-async', O_CREAT | O_RDWR, 0o644);
    expect(await wk.sys.write(fd, enc.encode('over the port'))).toBe(13);
    const b = new Uint8Array(64);
    expect(await wk.sys.pread(fd, b, 5)).toBe(8);
    expect(dec.decode(b.subarray(0, 8))).toBe('the port');
    await wk.sys.close(fd);
    const st = await wk.sys.stat('/w-async');
    expect(st.size).toBe(13);
    const e = await wk.sys.stat('/nope').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KernelError);
    expect(e).toMatchObject({ code: 'ENOENT', syscall: 'stat', path: '/nope' });
  });

  it('keeps many calls in flight and streams 8 MiB each way', async () => {
    const c = await wk.connect({ uid: 0 });
    const all = await Promise.all(Array.from({ length: 200 }, () => c.sys.getpid()));
    expect(new Set(all)).toEqual(new Set([c.pid]));
    const data = pattern(8 << 20, 7);
    const fd = await c.sys.open('/w-big', O_CREAT | O_RDWR, 0o600);
    expect(await c.sys.write(fd, data)).toBe(data.byteLength);
    const back = new Uint8Array(data.byteLength);
    expect(await c.sys.pread(fd, back, 0)).toBe(data.byteLength);
    expect(Buffer.compare(back, data)).toBe(0);
    await c.sys.close(fd);
    await c.sys.unlink('/w-big');
    await c.close();
  });
});

describe('synchronous client over SharedArrayBuffer', () => {
  it('returns results and throws KernelError without awaiting', () => {
    const s = wk.syncClient();
    expect(s.sys.getpid()).toBe(s.pid);
    expect(s.sys.mkdir('/sync-dir', 0o755)).toBe(0);
    const st = s.sys.stat('/sync-dir');
    expect(st.mode & S_IFMT).toBe(S_IFDIR);
    const fd = s.sys.open('/sync-dir/f', O_CREAT | O_WRONLY, 0o640);
    expect(s.sys.write(fd, enc.encode('sync bytes'))).toBe(10);
    s.sys.close(fd);
    const rfd = s.sys.open('/sync-dir/f', O_RDONLY);
    const b = new Uint8Array(100).fill(0xee);
    expect(s.sys.read(rfd, b)).toBe(10);
    expect(dec.decode(b.subarray(0, 10))).toBe('sync bytes');
    expect(b[10]).toBe(0xee);
    s.sys.close(rfd);
    let thrown: unknown;
    try {
      s.sys.open('/sync-dir/missing', O_RDONLY);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(KernelError);
    expect(thrown).toMatchObject({ code: 'ENOENT', syscall: 'open', path: '/sync-dir/missing' });
    s.close();
  });

  it('grows its exchange for requests and replies larger than the buffer', () => {
    const s = wk.syncClient();
    const data = pattern(3 << 20, 99); // larger than the 1 MiB exchange
    const fd = s.sys.open('/sync-big', O_CREAT | O_RDWR, 0o600);
    expect(s.sys.write(fd, data)).toBe(data.byteLength);
    const back = new Uint8Array(4 << 20);
    expect(s.sys.pread(fd, back, 0)).toBe(data.byteLength);
    expect(Buffer.compare(back.subarray(0, data.byteLength), data)).toBe(0);
    s.sys.close(fd);
    s.sys.unlink('/sync-big');
    // And back to small calls on the grown buffer.
    expect(s.sys.getpid()).toBe(s.pid);
    s.close();
  });

  it('a reply built in the exchange that outgrows it still arrives whole', async () => {
    // A 256-byte exchange grows to fit WELCOME (~6 KB); a ps listing of 60 more
    // processes is larger still, and no buffer argument sends it another way.
    const kids = [];
    for (let i = 0; i < 60; i++) kids.push(await wk.fork());
    const s = new SyncClient(wk.syncChannel(256), {});
    const list = s.sys.ps();
    expect(encodeValue(list).byteLength).toBeGreaterThan(8192);
    expect(list).toStrictEqual(await wk.sys.ps());
    expect(s.sys.getpid()).toBe(s.pid); // and small calls on the grown area
    s.close();
    for (const k of kids) await k.exit(0);
  });

  it('no wake-up is lost, whether the client sleeps at once, polls, or adapts', () => {
    // A lost notify would show as ETIMEDOUT (timeoutMs), not as a hung test.
    for (const opts of [{ spinUs: 0 }, { spinUs: 20 }, {}]) {
      const s = wk.syncClient({ ...opts, timeoutMs: 5000 });
      for (let i = 0; i < 3000; i++) expect(s.sys.getpid()).toBe(s.pid);
      expect(s.sys.stat('/').mode & S_IFMT).toBe(S_IFDIR);
      s.close();
    }
  });

  it('sees what async clients wrote (one kernel)', async () => {
    await wk.sys.mkdir('/rootdir', 0o755);
    const fd = await wk.sys.open('/rootdir/shared', O_CREAT | O_WRONLY, 0o644);
    await wk.sys.write(fd, enc.encode('from async'));
    await wk.sys.close(fd);
    const s = wk.syncClient({ uid: 1000, gid: 1000 });
    expect(s.sys.stat('/rootdir/shared').size).toBe(10);
    expect(s.sys.getuid()).toBe(1000);
    // No write permission on the root-owned 0755 directory (unlink(2) EACCES).
    expect(() => s.sys.unlink('/rootdir/shared')).toThrow(/EACCES/);
    s.close();
  });
});

describe('sync client in another thread', () => {
  it('is built from a channel made here and posted to that thread', async () => {
    const fd = await wk.sys.open('/from-main', O_CREAT | O_WRONLY, 0o644);
    await wk.sys.write(fd, enc.encode('12345'));
    await wk.sys.close(fd);
    const init = wk.syncChannel();
    const t = new Worker(new URL('./sync-thread.test-helper.mjs', import.meta.url), { workerData: { init }, transferList: [init.port] });
    const got = await new Promise((resolve, reject) => {
      t.once('message', resolve);
      t.once('error', reject);
    });
    expect(got).toMatchObject({ uid: 1000, size: 5, err: 'ENOENT' });
    await t.terminate();
  });
});

describe('halt', () => {
  it('ends the worker with a clean leak report once clients are gone', async () => {
    const w2 = await startWorkerKernel();
    const s = w2.syncClient();
    s.sys.getpid();
    const c = await w2.connect();
    const [r] = await c.sys.pipe();
    expect(r).toBeGreaterThanOrEqual(0);
    await c.close();
    s.close();
    await w2.client.close();
    const report = await w2.halt();
    expect(report).toMatchObject({ openFiles: [], processes: [] });
    expect(report.clean).toBe(true);
  });

  it('a sync client still open when the kernel halts gets ECONNRESET, not a hang', async () => {
    const w3 = await startWorkerKernel();
    const s = w3.syncClient();
    expect(s.sys.getpid()).toBe(s.pid);
    await w3.client.close();
    await w3.halt();
    expect(() => s.sys.getpid()).toThrow(/ECONNRESET/);
  });
});
