/**
 * fs.watch, fs.promises.watch and fs.watchFile on the kernel's inotify,
 * with node:fs's fs.watch on the host as the reference: the same operations
 * in a watched directory give the same ('rename' | 'change', filename)
 * events. Between operations each side waits for the event of a marker file
 * (an event, not a sleep), so both read the same batches. Changes made
 * through another frontend (a second sysproxy connection) are seen too.
 */
import { describe, expect, it } from 'vitest';
import realFs from 'node:fs';
import * as nodePath from 'node:path';
import { createFs } from './fs.ts';
import { type Fs, useKernels } from './fs_testkit.ts';

const kit = useKernels('akfs-watch-');

/** Run steps in a watched directory; after each, wait for a marker's event; return the other events. */
async function record(fs: Fs, dir: string, steps: ((d: string) => Promise<unknown>)[], actor: Fs = fs): Promise<string[]> {
  await fs.promises.mkdir(dir, { recursive: true });
  const events: string[] = [];
  let waitFor: { name: string; res: () => void } | null = null;
  const w = fs.watch(dir, (type, name) => {
    const n = String(name);
    if (n.startsWith('.m')) {
      if (waitFor !== null && n === waitFor.name) {
        const r = waitFor.res;
        waitFor = null;
        r();
      }
      return;
    }
    events.push(`${type} ${n}`);
  });
  // A call through the watching facade returns once its watches are in place (other frontends do not wait).
  await fs.promises.access(dir);
  try {
    for (const [i, step] of steps.entries()) {
      await step(dir);
      const name = `.m${i}`;
      const seen = new Promise<void>((res) => { waitFor = { name, res }; });
      await actor.promises.mkdir(`${dir}/${name}`);
      await seen;
      await actor.promises.rmdir(`${dir}/${name}`);
    }
    return events;
  } finally {
    w.close();
  }
}

const STEPS = (fs: Fs): ((d: string) => Promise<unknown>)[] => [
  (d) => fs.promises.writeFile(`${d}/a`, 'one'),
  (d) => fs.promises.appendFile(`${d}/a`, 'two'),
  (d) => fs.promises.chmod(`${d}/a`, 0o600),
  (d) => fs.promises.utimes(`${d}/a`, 1, 2),
  (d) => fs.promises.truncate(`${d}/a`, 1),
  (d) => fs.promises.rename(`${d}/a`, `${d}/b`),
  (d) => fs.promises.link(`${d}/b`, `${d}/c`),
  (d) => fs.promises.unlink(`${d}/b`),
  (d) => fs.promises.mkdir(`${d}/sub`),
  (d) => fs.promises.writeFile(`${d}/sub/deep`, 'x'),
  (d) => fs.promises.rm(`${d}/sub`, { recursive: true }),
  (d) => fs.promises.symlink('c', `${d}/l`),
];

describe('fs.watch on the kernel, against node:fs on the host', () => {
  it('a watched directory: the same events, in-process and over a worker kernel', async () => {
    const want = await record(realFs, `${kit.T}/host`, STEPS(realFs));
    expect(want.length).toBeGreaterThan(8);
    expect(await record(kit.kfs, `${kit.T}/host`, STEPS(kit.kfs))).toEqual(want);
    expect(await record(kit.wfs, `${kit.T}/host`, STEPS(kit.wfs))).toEqual(want);
  });

  it('changes made through another frontend (a second sysproxy connection) are seen', async () => {
    const rk = await kit.wk.connect();
    try {
      const other = createFs(rk) as unknown as Fs;
      const want = await record(realFs, `${kit.T}/remote`, STEPS(realFs));
      expect(await record(kit.wfs, `${kit.T}/remote`, STEPS(other), other)).toEqual(want);
    } finally {
      await rk.close();
    }
  });

  it('a watched file: change on write, and the events of its deletion; close ends the watcher', async () => {
    const run = async (fs: Fs): Promise<string[]> => {
      const f = `${kit.T}/file-${fs === realFs ? 'h' : fs === kit.kfs ? 'k' : 'w'}`;
      await fs.promises.writeFile(f, '');
      const events: string[] = [];
      let want = 0;
      let notify: (() => void) | null = null;
      const w = fs.watch(f, (type, name) => {
        events.push(`${type} ${String(name) === nodePath.basename(f) ? '<base>' : String(name)}`);
        if (events.length >= want && notify !== null) notify();
      });
      const until = (n: number): Promise<void> => new Promise((res) => {
        want = n;
        notify = res;
        if (events.length >= n) res();
      });
      await new Promise((res) => setImmediate(res));
      await fs.promises.appendFile(f, 'x');
      await until(1);
      await fs.promises.unlink(f);
      await until(2);
      const closed = new Promise((res) => w.on('close', res));
      w.close();
      await closed;
      return events.slice(0, 2);
    };
    const want = await run(realFs);
    expect(await run(kit.kfs)).toEqual(want);
    expect(await run(kit.wfs)).toEqual(want);
  });

  it('errors: a missing path throws ENOENT at once where the facade can tell (worker), else emits it', async () => {
    let err: NodeJS.ErrnoException | undefined;
    try {
      realFs.watch(`${kit.T}/missing`);
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    let kerr: NodeJS.ErrnoException | undefined;
    try {
      kit.wfs.watch(`${kit.T}/missing`);
    } catch (e) {
      kerr = e as NodeJS.ErrnoException;
    }
    expect([kerr?.code, kerr?.syscall, kerr?.message.split(kit.T).join('<T>')]).toEqual([err?.code, err?.syscall, err?.message.split(kit.T).join('<T>')]);
    const w = kit.kfs.watch(`${kit.T}/missing`);
    const e = await new Promise<NodeJS.ErrnoException>((res) => w.on('error', res));
    expect([e.code, e.syscall]).toEqual(['ENOENT', 'watch']);
    expect(() => kit.kfs.watch(`${kit.T}/x`, { recursive: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('fs.promises.watch and fs.watchFile on the kernel', () => {
  it('promises.watch yields { eventType, filename } and ends with AbortError on abort', async () => {
    const dir = `${kit.T}/pw`;
    await kit.kfs.promises.mkdir(dir, { recursive: true });
    const ac = new AbortController();
    const it = kit.kfs.promises.watch(dir, { signal: ac.signal })[Symbol.asyncIterator]();
    const first = it.next();
    await new Promise((res) => setImmediate(res));
    await kit.kfs.promises.writeFile(`${dir}/new`, 'x');
    expect((await first).value).toEqual({ eventType: 'rename', filename: 'new' });
    ac.abort();
    await expect(it.next()).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
  });

  it('watchFile reports (curr, prev) on a change and when the file appears, without polling', async () => {
    const f = `${kit.T}/wf`;
    const seen: [number, number][] = [];
    let next: (() => void) | null = null;
    const listener = (curr: realFs.Stats, prev: realFs.Stats): void => {
      seen.push([curr.size, prev.size]);
      next?.();
    };
    const got = (): Promise<void> => new Promise((res) => { next = res; });
    const created = got();
    kit.kfs.watchFile(f, { interval: 1 << 30 }, listener);
    await created; // the missing file is reported once, with zeroed Stats
    const appeared = got();
    await kit.kfs.promises.writeFile(f, 'abc');
    await appeared;
    const grew = got();
    await kit.kfs.promises.appendFile(f, 'defg');
    await grew;
    kit.kfs.unwatchFile(f, listener);
    expect(seen[0]).toEqual([0, 0]);
    expect(seen.at(-1)).toEqual([7, 3]);
  });
});
