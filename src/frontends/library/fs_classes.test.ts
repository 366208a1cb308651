/**
 * anykernel/fs's classes against node:fs's: Dir (opendir, for await,
 * readSync, closed-handle errors), ReadStream/WriteStream (callable without
 * `new`, subclassable the old way, I/O through the module object so patching
 * `fs.read` works, a file that grows), FileHandle (EventEmitter, 'close',
 * streams, readLines, read with an options object, EBADF once closed), StatFs
 * and Stats. Each scenario runs on node:fs in a host directory and on the
 * facade (in-process and over a worker kernel) and must give the same result.
 */
import { describe, expect, it } from 'vitest';
import realFs from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { type Fs, useKernels } from './fs_testkit.ts';

const kit = useKernels('akfs-classes-', async (fs, T) => {
  await fs.promises.mkdir(`${T}/d/sub`, { recursive: true });
  for (const n of ['a', 'b', 'c']) await fs.promises.writeFile(`${T}/d/${n}`, n.repeat(3));
  await fs.promises.writeFile(`${T}/lines`, 'one\ntwo\r\nthree\n\nlast');
});

/** The same scenario on node:fs, the in-process facade and the worker facade. */
async function same<R>(f: (fs: Fs) => Promise<R>): Promise<R> {
  const want = await f(realFs);
  expect(await f(kit.kfs), 'in-process').toEqual(want);
  expect(await f(kit.wfs), 'worker').toEqual(want);
  return want;
}

const errOf = async (p: Promise<unknown> | (() => unknown)): Promise<string> => {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'ok';
  } catch (e) {
    return `${(e as { code?: string }).code} ${(e as Error).message.split(kit.T).join('<T>')}`;
  }
};

describe('fs.Dir', () => {
  it('opendir: for await, read(cb), recursive, and the errors of a closed handle', async () => {
    const r = await same(async (fs) => {
      const out: string[] = [];
      for await (const d of await fs.promises.opendir(`${kit.T}/d`)) out.push(`${d.name}:${d.isDirectory()}:${d.parentPath.split(kit.T).join('<T>')}`);
      const dir = await new Promise<realFs.Dir>((res, rej) => fs.opendir(`${kit.T}/d`, { encoding: 'utf8' }, (e, d) => (e ? rej(e) : res(d))));
      const viaCb = await new Promise<string | null>((res, rej) => dir.read((e, d) => (e ? rej(e) : res(d?.name ?? null))));
      await dir.close();
      const closedRead = await errOf(() => dir.read());
      const closedClose = await errOf(() => dir.close());
      const rec: string[] = [];
      for await (const d of await fs.promises.opendir(`${kit.T}/d`, { recursive: true })) rec.push(d.name);
      return { all: out.sort(), viaCb: viaCb !== null, closedRead, closedClose, rec: rec.sort(), path: dir.path.split(kit.T).join('<T>') };
    });
    expect(r.all).toHaveLength(4);
  });

  it('opendirSync over a worker kernel reads what node:fs reads', () => {
    const names = (fs: Fs): string[] => {
      const dir = fs.opendirSync(`${kit.T}/d`);
      const out: string[] = [];
      for (let d = dir.readSync(); d !== null; d = dir.readSync()) out.push(d.name);
      dir.closeSync();
      return out.sort();
    };
    expect(names(kit.wfs)).toEqual(names(realFs));
  });
});

describe('ReadStream and WriteStream', () => {
  it('are callable without new, instanceof works, and subclasses may call them with apply', async () => {
    await same(async (fs) => {
      const RS = fs.ReadStream as unknown as (p: string, o?: object) => realFs.ReadStream;
      const rs = RS(`${kit.T}/d/a`, { encoding: 'utf8' });
      let s = '';
      for await (const c of rs) s += c as string;
      // graceful-fs's way of extending the class.
      function Legacy(this: unknown, p: string, o: object): void {
        (fs.ReadStream as unknown as { apply(t: unknown, a: unknown[]): void }).apply(this, [p, o]);
      }
      Legacy.prototype = Object.create(fs.ReadStream.prototype);
      const ls = new (Legacy as unknown as new (p: string, o: object) => realFs.ReadStream)(`${kit.T}/d/b`, { encoding: 'utf8' });
      let l = '';
      for await (const c of ls) l += c as string;
      const ws = (fs.WriteStream as unknown as (p: string) => realFs.WriteStream)(`${kit.T}/w1`);
      ws.end('written');
      await once(ws, 'close');
      return { s, l, isRs: rs instanceof fs.ReadStream, isLs: ls instanceof fs.ReadStream, w: await fs.promises.readFile(`${kit.T}/w1`, 'utf8'), bytes: ws.bytesWritten };
    });
  });

  it('do their I/O through the module object: a patched fs.read and an options.fs are used', async () => {
    await same(async (fs) => {
      const calls: string[] = [];
      const origRead = fs.read;
      (fs as { read: unknown }).read = function (...a: unknown[]) {
        calls.push('read');
        return (origRead as (...x: unknown[]) => void).apply(fs, a);
      };
      try {
        let s = '';
        for await (const c of fs.createReadStream(`${kit.T}/d/c`, { encoding: 'utf8' })) s += c as string;
        const custom = { ...fs, open: (...a: unknown[]) => { calls.push('custom-open'); return (fs.open as (...x: unknown[]) => void)(...a); } };
        let t = '';
        for await (const c of fs.createReadStream(`${kit.T}/d/a`, { encoding: 'utf8', fs: custom } as never)) t += c as string;
        return { s, t, calls: [...new Set(calls)].sort() };
      } finally {
        (fs as { read: unknown }).read = origRead;
      }
    });
  });

  it('a stream reading a file that grows ends at the end of file it meets, and copies with start/end', async () => {
    await same(async (fs) => {
      await fs.promises.writeFile(`${kit.T}/grow`, 'x'.repeat(100_000));
      const rs = fs.createReadStream(`${kit.T}/grow`, { highWaterMark: 16_384 });
      let n = 0;
      let appended = false;
      for await (const c of rs) {
        n += (c as Buffer).length;
        if (!appended) {
          appended = true;
          await fs.promises.appendFile(`${kit.T}/grow`, 'y'.repeat(50_000));
        }
      }
      await pipeline(fs.createReadStream(`${kit.T}/grow`, { start: 10, end: 99_999 }), fs.createWriteStream(`${kit.T}/grow2`));
      return { n, copied: (await fs.promises.stat(`${kit.T}/grow2`)).size };
    });
  });
});

describe('FileHandle', () => {
  it('is an EventEmitter with streams, readLines, read({ ... }), and EBADF once closed', async () => {
    await same(async (fs) => {
      const h = await fs.promises.open(`${kit.T}/lines`, 'r');
      const events: string[] = [];
      (h as unknown as NodeJS.EventEmitter).on('close', () => events.push('close'));
      const r1 = await h.read({ buffer: Buffer.alloc(3), position: 0 });
      const r2 = await h.read(Buffer.alloc(10), { offset: 2, length: 3, position: 4 } as never);
      const lines: string[] = [];
      const h2 = await fs.promises.open(`${kit.T}/lines`, 'r');
      for await (const line of h2.readLines()) lines.push(line);
      const h3 = await fs.promises.open(`${kit.T}/lines`, 'r');
      let streamed = '';
      for await (const c of h3.createReadStream({ encoding: 'utf8', start: 4 })) streamed += c as string;
      await h.close();
      const after = await errOf(h.stat());
      return {
        r1: [r1.bytesRead, r1.buffer.toString()], r2: [r2.bytesRead, r2.buffer.toString('utf8', 2, 5)], lines, streamed, events,
        fd: h.fd, after, h2fd: h2.fd, h3fd: h3.fd, emitter: typeof (h as unknown as NodeJS.EventEmitter).on,
      };
    });
  });
});

describe('statfs and Stats', () => {
  it('statfs gives the kernel\'s statfs fields, bigint on request; Stats are fs.Stats', async () => {
    const shape = async (fs: Fs): Promise<unknown> => {
      const s = await fs.promises.statfs('/');
      const b = await new Promise<realFs.BigIntStatsFs>((res, rej) => fs.statfs('/', { bigint: true }, (e, v) => (e ? rej(e) : res(v))));
      const st = fs.statSync === undefined ? null : await fs.promises.stat(`${kit.T}/d/a`);
      return { keys: Object.keys(s), kinds: Object.values(s).map((v) => typeof v), big: Object.values(b).map((v) => typeof v), stats: st instanceof fs.Stats, bs: s.bsize > 0 };
    };
    const want = await shape(realFs);
    expect(await shape(kit.kfs)).toEqual(want);
    expect(await shape(kit.wfs)).toEqual(want);
    const kst = kit.wfs.statfsSync('/');
    const raw = await kit.wk.sys.statfs('/') as { bsize: number; blocks: number; type: number };
    expect([kst.bsize, kst.blocks, kst.type]).toEqual([raw.bsize, raw.blocks, raw.type]);
  });
});

describe('stream details Node\'s own fs tests check', () => {
  it('new fs.createReadStream, inherited options, and a failing read that closes through the module object', async () => {
    await same(async (fs) => {
      const viaNew = new (fs.createReadStream as unknown as new (p: string, o: object) => realFs.ReadStream)(`${kit.T}/d/a`, { encoding: 'utf8' });
      let a = '';
      for await (const c of viaNew) a += c as string;
      // Options are read with inherited properties (copyObject), as node:fs reads them.
      const inherited = fs.createReadStream(`${kit.T}/d/b`, Object.create({ start: 1, encoding: 'utf8' }) as object);
      let b = '';
      for await (const c of inherited) b += c as string;
      // A read that fails destroys the stream; fs.close is called with the descriptor still set.
      const rs = fs.createReadStream(`${kit.T}/d/c`) as realFs.ReadStream & { fd: number | null };
      rs.resume();
      const origRead = fs.read;
      const origClose = fs.close;
      const seen: string[] = [];
      (fs as { read: unknown }).read = (...args: unknown[]) => {
        const cb = args[args.length - 1] as (e: Error) => void;
        process.nextTick(() => cb(new Error('BAM')));
      };
      (fs as { close: unknown }).close = (fd: number, cb: () => void) => {
        seen.push(`close ${fd === rs.fd}`);
        process.nextTick(cb);
      };
      try {
        const err = await new Promise<Error>((res) => rs.on('error', res));
        await new Promise((res) => process.nextTick(res));
        seen.push(`fd ${String(rs.fd)}`, err.message);
      } finally {
        (fs as { read: unknown }).read = origRead;
        (fs as { close: unknown }).close = origClose;
      }
      return { a, b, seen };
    });
  });

  it('a FileHandle write stream writes through the handle\'s own methods', async () => {
    await same(async (fs) => {
      const h = await fs.promises.open(`${kit.T}/fh-out`, 'w');
      const calls: string[] = [];
      for (const m of ['write', 'writev'] as const) {
        const orig = (h as unknown as Record<string, (...a: unknown[]) => unknown>)[m]!.bind(h);
        (h as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
          calls.push(m);
          return orig(...a);
        };
      }
      const ws = h.createWriteStream();
      ws.write('abc');
      ws.end('def');
      await new Promise<void>((res) => ws.on('close', () => res()));
      return { used: calls.length > 0, text: await fs.promises.readFile(`${kit.T}/fh-out`, 'utf8'), closedFd: h.fd };
    });
  });
});
