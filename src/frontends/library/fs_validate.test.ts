/**
 * anykernel/fs against node:fs, call by call: the same call — bad arguments,
 * missing callbacks, overloads, option objects, URL and Buffer paths — made
 * on a host temporary directory with node:fs and on the same path in a
 * worker kernel with the facade must throw the same code and message, or
 * call back with the same number and kinds of arguments, or return the same
 * kind of value. node:fs is the reference; each row is one behaviour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import realFs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFs, type FsApi } from './fs.ts';
import { startWorkerKernel, type WorkerKernel } from '../sysproxy/worker.ts';

type AnyFs = Record<string, (...a: unknown[]) => unknown>;
interface Ctx { fs: AnyFs; T: string; fd: number; wfd: number }

let T = '';
let wk: WorkerKernel;
let kfs: FsApi;
const host: Partial<Ctx> = {};
const kern: Partial<Ctx> = {};

function setup(fs: AnyFs, ctx: Partial<Ctx>): void {
  if (!(fs['existsSync'] as (p: string) => boolean)(T)) fs['mkdirSync']!(T, { recursive: true });
  fs['writeFileSync']!(`${T}/f`, 'hello world');
  fs['mkdirSync']!(`${T}/d`);
  fs['writeFileSync']!(`${T}/d/in`, '');
  Object.assign(ctx, { fs, T, fd: fs['openSync']!(`${T}/f`, 'r') as number, wfd: fs['openSync']!(`${T}/w`, 'w+') as number });
}

beforeAll(async () => {
  T = realFs.mkdtempSync(nodePath.join(os.tmpdir(), 'akfs-validate-'));
  wk = await startWorkerKernel();
  kfs = createFs(wk);
  setup(realFs as unknown as AnyFs, host);
  setup(kfs as unknown as AnyFs, kern);
}, 30_000);

afterAll(async () => {
  realFs.rmSync(T, { recursive: true, force: true });
  await wk?.halt();
});

/** A value as the comparison sees it: errors by code and message, values by kind. */
function show(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (v instanceof Error) {
    const e = v as Error & { code?: string };
    return `${e.name} ${e.code ?? ''} ${e.message.split(T).join('<T>')}`;
  }
  if (typeof v === 'string') return JSON.stringify(v.split(T).join('<T>'));
  if (typeof v === 'number' || typeof v === 'boolean') return typeof v;
  if (Buffer.isBuffer(v)) return `Buffer(${v.length})`;
  if (Array.isArray(v)) return `[${v.map(show).join(',')}]`;
  if (typeof v === 'object') {
    const name = (v as object).constructor?.name ?? 'Object';
    if (name === 'Object') return `{${Object.entries(v).map(([k, x]) => `${k}:${show(x)}`).join(',')}}`;
    return name;
  }
  return typeof v;
}

/** Run a sync call: "throws ..." or "returns ...". */
function runSync(c: Ctx, f: (c: Ctx) => unknown): string {
  try {
    return `returns ${show(f(c))}`;
  } catch (e) {
    return `throws ${show(e)}`;
  }
}

/** Run a callback call: "throws ..." at the call, or "calls back (args)". */
function runCb(c: Ctx, f: (c: Ctx, cb: (...a: unknown[]) => void) => unknown): Promise<string> {
  return new Promise((res) => {
    try {
      f(c, (...args: unknown[]) => res(`calls back (${args.map(show).join(', ')})`));
    } catch (e) {
      res(`throws ${show(e)}`);
    }
  });
}

const B = (n: number): Buffer => Buffer.alloc(n);

/** Sync rows: each is one call made on both sides. */
const SYNC: [string, (c: Ctx) => unknown][] = [
  ['readFileSync(false)', ({ fs }) => fs.readFileSync!(false)],
  ['readFileSync bad flag', ({ fs, T }) => fs.readFileSync!(`${T}/f`, { flag: 'q' })],
  ['readFileSync bad encoding', ({ fs, T }) => fs.readFileSync!(`${T}/f`, 'bogus')],
  ['readFileSync options of a wrong type', ({ fs, T }) => fs.readFileSync!(`${T}/f`, 5)],
  ['readFileSync missing', ({ fs, T }) => fs.readFileSync!(`${T}/nope`)],
  ['readFileSync directory', ({ fs, T }) => fs.readFileSync!(`${T}/d`)],
  ['readFileSync NUL', ({ fs }) => fs.readFileSync!('/a\u0000b')],
  ['readFileSync NUL in a Buffer', ({ fs }) => fs.readFileSync!(Buffer.from('/a\u0000b'))],
  ['readFileSync file: URL', ({ fs, T }) => fs.readFileSync!(pathToFileURL(`${T}/f`), 'utf8')],
  ['readFileSync http: URL', ({ fs }) => fs.readFileSync!(new URL('http://example.com/x'))],
  ['readFileSync URL with a host', ({ fs }) => fs.readFileSync!(new URL('file://example.com/x'))],
  ['readFileSync Buffer path', ({ fs, T }) => fs.readFileSync!(Buffer.from(`${T}/f`), 'utf8')],
  ['readFileSync fd', ({ fs, fd }) => fs.readFileSync!(fd, 'latin1')],
  ['statSync throwIfNoEntry false', ({ fs, T }) => fs.statSync!(`${T}/nope`, { throwIfNoEntry: false })],
  ['lstatSync throwIfNoEntry false ENOTDIR', ({ fs, T }) => fs.lstatSync!(`${T}/f/x`, { throwIfNoEntry: false })],
  ['statSync(false)', ({ fs }) => fs.statSync!(false)],
  ['statSync bigint', ({ fs, T }) => typeof (fs.statSync!(`${T}/f`, { bigint: true }) as { size: unknown }).size],
  ['fstatSync(x)', ({ fs }) => fs.fstatSync!('x')],
  ['fstatSync(-1)', ({ fs }) => fs.fstatSync!(-1)],
  ['fstatSync(1.5)', ({ fs }) => fs.fstatSync!(1.5)],
  ['fstatSync(2**31)', ({ fs }) => fs.fstatSync!(2 ** 31)],
  ['closeSync(x)', ({ fs }) => fs.closeSync!('x')],
  ['fsyncSync({})', ({ fs }) => fs.fsyncSync!({})],
  ['fdatasyncSync(null)', ({ fs }) => fs.fdatasyncSync!(null)],
  ['mkdirSync(false)', ({ fs }) => fs.mkdirSync!(false)],
  ['mkdirSync exists', ({ fs, T }) => fs.mkdirSync!(`${T}/d`)],
  ['mkdirSync recursive: 1', ({ fs, T }) => fs.mkdirSync!(`${T}/x`, { recursive: 1 })],
  ['mkdirSync mode abc', ({ fs, T }) => fs.mkdirSync!(`${T}/x`, 'abc')],
  ['mkdirSync mode -1', ({ fs, T }) => fs.mkdirSync!(`${T}/x`, { mode: -1 })],
  ['mkdirSync recursive existing', ({ fs, T }) => fs.mkdirSync!(`${T}/d`, { recursive: true })],
  ['chmodSync mode abc', ({ fs, T }) => fs.chmodSync!(`${T}/f`, 'abc')],
  ['chmodSync mode 1.5', ({ fs, T }) => fs.chmodSync!(`${T}/f`, 1.5)],
  ['chmodSync no mode', ({ fs, T }) => fs.chmodSync!(`${T}/f`)],
  ['chownSync uid -2', ({ fs, T }) => fs.chownSync!(`${T}/f`, -2, 0)],
  ['chownSync uid a', ({ fs, T }) => fs.chownSync!(`${T}/f`, 'a', 0)],
  ['readSync length past the buffer', ({ fs, fd }) => fs.readSync!(fd, B(4), 0, 8, 0)],
  ['readSync empty buffer', ({ fs, fd }) => fs.readSync!(fd, B(0), 0, 1, 0)],
  ['readSync offset past the buffer', ({ fs, fd }) => fs.readSync!(fd, B(4), 5, 1, 0)],
  ['readSync offset -1', ({ fs, fd }) => fs.readSync!(fd, B(4), -1, 1, 0)],
  ['readSync offset 1.5', ({ fs, fd }) => fs.readSync!(fd, B(4), 1.5, 1, 0)],
  ['readSync position x', ({ fs, fd }) => fs.readSync!(fd, B(4), 0, 4, 'x')],
  ['readSync position -2', ({ fs, fd }) => fs.readSync!(fd, B(4), 0, 4, -2)],
  ['readSync position bigint', ({ fs, fd }) => fs.readSync!(fd, B(4), 0, 4, 6n)],
  ['readSync options object', ({ fs, fd }) => fs.readSync!(fd, B(4), { offset: 1, length: 2, position: 0 })],
  ['readSync no options', ({ fs, fd }) => fs.readSync!(fd, B(4))],
  ['readSync length 0', ({ fs, fd }) => fs.readSync!(fd, B(4), 0, 0, 0)],
  ['readSync string buffer', ({ fs, fd }) => fs.readSync!(fd, 'str')],
  ['readSync bad fd', ({ fs }) => fs.readSync!('x', B(4))],
  ['writeSync offset past the buffer', ({ fs, wfd }) => fs.writeSync!(wfd, B(4), 5)],
  ['writeSync length past the buffer', ({ fs, wfd }) => fs.writeSync!(wfd, B(4), 1, 4)],
  ['writeSync number', ({ fs, wfd }) => fs.writeSync!(wfd, 1)],
  ['writeSync bad encoding', ({ fs, wfd }) => fs.writeSync!(wfd, 'abc', null, 'bogus')],
  ['writeSync odd hex', ({ fs, wfd }) => fs.writeSync!(wfd, 'abc', null, 'hex')],
  ['writeSync hex', ({ fs, wfd }) => fs.writeSync!(wfd, 'abcd', 0, 'hex')],
  ['writeSync options object', ({ fs, wfd }) => fs.writeSync!(wfd, Buffer.from('xyz'), { offset: 1, length: 2, position: 0 })],
  ['writeSync to a read-only fd', ({ fs, fd }) => fs.writeSync!(fd, 'abc')],
  ['truncateSync len a', ({ fs, T }) => fs.truncateSync!(`${T}/f`, 'a')],
  ['ftruncateSync len x', ({ fs, wfd }) => fs.ftruncateSync!(wfd, 'x')],
  ['symlinkSync target 1', ({ fs, T }) => fs.symlinkSync!(1, `${T}/l`)],
  ['linkSync newPath 1', ({ fs, T }) => fs.linkSync!(`${T}/f`, 1)],
  ['renameSync oldPath 1', ({ fs, T }) => fs.renameSync!(1, `${T}/x`)],
  ['unlinkSync(1)', ({ fs }) => fs.unlinkSync!(1)],
  ['rmdirSync(1)', ({ fs }) => fs.rmdirSync!(1)],
  ['readlinkSync(1)', ({ fs }) => fs.readlinkSync!(1)],
  ['readlinkSync file', ({ fs, T }) => fs.readlinkSync!(`${T}/f`)],
  ['readdirSync(1)', ({ fs }) => fs.readdirSync!(1)],
  ['readdirSync file', ({ fs, T }) => fs.readdirSync!(`${T}/f`)],
  ['readdirSync buffer encoding', ({ fs, T }) => fs.readdirSync!(`${T}/d`, 'buffer')],
  ['readdirSync withFileTypes', ({ fs, T }) => (fs.readdirSync!(`${T}/d`, { withFileTypes: true }) as { name: string }[]).map((d) => d.name)],
  ['mkdtempSync(1)', ({ fs }) => fs.mkdtempSync!(1)],
  ['accessSync mode 8', ({ fs, T }) => fs.accessSync!(`${T}/f`, 8)],
  ['accessSync mode a', ({ fs, T }) => fs.accessSync!(`${T}/f`, 'a')],
  ['accessSync missing', ({ fs, T }) => fs.accessSync!(`${T}/nope`)],
  ['copyFileSync mode 8', ({ fs, T }) => fs.copyFileSync!(`${T}/f`, `${T}/g`, 8)],
  ['copyFileSync src 1', ({ fs, T }) => fs.copyFileSync!(1, `${T}/g`)],
  ['utimesSync atime x', ({ fs, T }) => fs.utimesSync!(`${T}/f`, 'x', 1)],
  ['utimesSync atime Infinity', ({ fs, T }) => fs.utimesSync!(`${T}/f`, Infinity, 1)],
  ['futimesSync atime {}', ({ fs, wfd }) => fs.futimesSync!(wfd, {}, 1)],
  ['writeFileSync data 1', ({ fs, T }) => fs.writeFileSync!(`${T}/w2`, 1)],
  ['writeFileSync bad flag', ({ fs, T }) => fs.writeFileSync!(`${T}/w2`, 'x', { flag: 'q' })],
  ['appendFileSync data {}', ({ fs, T }) => fs.appendFileSync!(`${T}/w2`, {})],
  ['existsSync(1)', ({ fs }) => fs.existsSync!(1)],
  ['existsSync NUL', ({ fs }) => fs.existsSync!('/a\u0000b')],
  ['existsSync file', ({ fs, T }) => fs.existsSync!(`${T}/f`)],
  ['rmSync directory', ({ fs, T }) => fs.rmSync!(`${T}/d`)],
  ['rmSync missing', ({ fs, T }) => fs.rmSync!(`${T}/nope`)],
  ['rmSync missing force', ({ fs, T }) => fs.rmSync!(`${T}/nope`, { force: true })],
  ['rmSync recursive 1', ({ fs, T }) => fs.rmSync!(`${T}/nope`, { recursive: 1 })],
  ['opendirSync(1)', ({ fs }) => fs.opendirSync!(1)],
  ['opendirSync file', ({ fs, T }) => fs.opendirSync!(`${T}/f`)],
  ['opendirSync bufferSize 0', ({ fs, T }) => fs.opendirSync!(`${T}/d`, { bufferSize: 0 })],
  ['cpSync directory without recursive', ({ fs, T }) => fs.cpSync!(`${T}/d`, `${T}/d2`)],
  ['cpSync onto itself', ({ fs, T }) => fs.cpSync!(`${T}/f`, `${T}/f`)],
  ['cpSync filter not a function', ({ fs, T }) => fs.cpSync!(`${T}/f`, `${T}/g`, { filter: 1 })],
  ['readvSync buffers x', ({ fs, fd }) => fs.readvSync!(fd, 'x')],
  ['writevSync buffers [1]', ({ fs, wfd }) => fs.writevSync!(wfd, [1])],
  ['statfsSync(1)', ({ fs }) => fs.statfsSync!(1)],
  ['openSync flags {}', ({ fs, T }) => fs.openSync!(`${T}/f`, {})],
  ['openSync mode abc', ({ fs, T }) => fs.openSync!(`${T}/f`, 'r', 'abc')],
  ['openSync(false)', ({ fs }) => fs.openSync!(false)],
  ['openSync wx exists', ({ fs, T }) => fs.openSync!(`${T}/f`, 'wx')],
  ['realpathSync missing', ({ fs, T }) => fs.realpathSync!(`${T}/nope`)],
];

/** Callback rows: the callback is passed as `cb`. */
const CALLBACK: [string, (c: Ctx, cb: (...a: unknown[]) => void) => unknown][] = [
  ['mkdir(false, cb)', ({ fs }, cb) => fs.mkdir!(false, cb)],
  ['mkdir without cb', ({ fs, T }) => fs.mkdir!(`${T}/m`, 0o777)],
  ['mkdir new', ({ fs, T }, cb) => fs.mkdir!(`${T}/m1`, cb)],
  ['mkdir recursive new', ({ fs, T }, cb) => fs.mkdir!(`${T}/m2/a/b`, { recursive: true }, cb)],
  ['mkdir recursive existing', ({ fs, T }, cb) => fs.mkdir!(`${T}/d`, { recursive: true }, cb)],
  ['chmod(1, mode, cb)', ({ fs }, cb) => fs.chmod!(1, 0o644, cb)],
  ['chmod without cb', ({ fs, T }) => fs.chmod!(`${T}/f`, 0o644)],
  ['link(1, p, cb)', ({ fs, T }, cb) => fs.link!(1, `${T}/x`, cb)],
  ['readdir(false, cb)', ({ fs }, cb) => fs.readdir!(false, cb)],
  ['readdir', ({ fs, T }, cb) => fs.readdir!(`${T}/d`, cb)],
  ['rename(1, 2, cb)', ({ fs }, cb) => fs.rename!(1, 2, cb)],
  ['rmdir(1, cb)', ({ fs }, cb) => fs.rmdir!(1, cb)],
  ['unlink(1, cb)', ({ fs }, cb) => fs.unlink!(1, cb)],
  ['symlink(1, p, cb)', ({ fs, T }, cb) => fs.symlink!(1, `${T}/x`, cb)],
  ['utimes(1, 0, 0, cb)', ({ fs }, cb) => fs.utimes!(1, 0, 0, cb)],
  ['exists without cb', ({ fs, T }) => fs.exists!(`${T}/f`)],
  ['exists', ({ fs, T }, cb) => fs.exists!(`${T}/f`, cb)],
  ['exists(1, cb)', ({ fs }, cb) => fs.exists!(1, cb)],
  ['appendFile(1, x, cb)', ({ fs }, cb) => fs.appendFile!(1.5, 'x', cb)],
  ['appendFile without cb', ({ fs, T }) => fs.appendFile!(`${T}/w3`, 'x')],
  ['open(false, cb)', ({ fs }, cb) => fs.open!(false, cb)],
  ['open without cb', ({ fs, T }) => fs.open!(`${T}/f`, 'r')],
  ['mkdtemp(1, cb)', ({ fs }, cb) => fs.mkdtemp!(1, cb)],
  ['stat without cb', ({ fs, T }) => fs.stat!(`${T}/f`)],
  ['stat', ({ fs, T }, cb) => fs.stat!(`${T}/f`, cb)],
  ['stat missing', ({ fs, T }, cb) => fs.stat!(`${T}/nope`, cb)],
  ['readFile without cb', ({ fs, T }) => fs.readFile!(`${T}/f`, 'utf8')],
  ['readFile', ({ fs, T }, cb) => fs.readFile!(`${T}/f`, 'utf8', cb)],
  ['readFile aborted signal', ({ fs, T }, cb) => fs.readFile!(`${T}/f`, { signal: AbortSignal.abort() }, cb)],
  ['readFile bad signal', ({ fs, T }, cb) => fs.readFile!(`${T}/f`, { signal: 1 }, cb)],
  ['writeFile', ({ fs, T }, cb) => fs.writeFile!(`${T}/w4`, 'data', cb)],
  ['writeFile aborted signal', ({ fs, T }, cb) => fs.writeFile!(`${T}/w4`, 'data', { signal: AbortSignal.abort() }, cb)],
  ['close(x, cb)', ({ fs }, cb) => fs.close!('x', cb)],
  ['close(fd, not a function)', ({ fs, fd }) => fs.close!(fd + 1000, 'x')],
  ['fsync(x, cb)', ({ fs }, cb) => fs.fsync!('x', cb)],
  ['fstat(x, cb)', ({ fs }, cb) => fs.fstat!('x', cb)],
  ['fstat', ({ fs, fd }, cb) => fs.fstat!(fd, cb)],
  ['read length past the buffer', ({ fs, fd }, cb) => fs.read!(fd, B(4), 0, 8, 0, cb)],
  ['read', ({ fs, fd }, cb) => fs.read!(fd, B(4), 0, 4, 0, cb)],
  ['read options object', ({ fs, fd }, cb) => fs.read!(fd, { buffer: B(3), position: 0 }, cb)],
  ['read buffer + options object', ({ fs, fd }, cb) => fs.read!(fd, B(8), { length: 2, position: 1 }, cb)],
  ['read(fd, cb)', ({ fs, fd }, cb) => fs.read!(fd, cb)],
  ['read length 0', ({ fs, fd }, cb) => fs.read!(fd, B(4), 0, 0, 0, cb)],
  ['read without cb', ({ fs, fd }) => fs.read!(fd, B(4), 0, 4, 0)],
  ['write offset past the buffer', ({ fs, wfd }, cb) => fs.write!(wfd, B(4), 5, cb)],
  ['write buffer', ({ fs, wfd }, cb) => fs.write!(wfd, B(4), cb)],
  ['write string', ({ fs, wfd }, cb) => fs.write!(wfd, 'abc', cb)],
  ['write string position encoding', ({ fs, wfd }, cb) => fs.write!(wfd, '6869', 0, 'hex', cb)],
  ['write without cb', ({ fs, wfd }) => fs.write!(wfd, 'abc')],
  ['write number', ({ fs, wfd }, cb) => fs.write!(wfd, 1, cb)],
  ['readv', ({ fs, fd }, cb) => fs.readv!(fd, [B(2), B(3)], 0, cb)],
  ['writev', ({ fs, wfd }, cb) => fs.writev!(wfd, [B(2), B(3)], cb)],
  ['access', ({ fs, T }, cb) => fs.access!(`${T}/f`, cb)],
  ['access(false, cb)', ({ fs }, cb) => fs.access!(false, cb)],
  ['copyFile', ({ fs, T }, cb) => fs.copyFile!(`${T}/f`, `${T}/c1`, cb)],
  ['rm missing', ({ fs, T }, cb) => fs.rm!(`${T}/nope`, cb)],
  ['truncate', ({ fs, T }, cb) => fs.truncate!(`${T}/w4`, cb)],
  ['ftruncate(x, cb)', ({ fs }, cb) => fs.ftruncate!('x', cb)],
  ['opendir without cb', ({ fs, T }) => fs.opendir!(`${T}/d`)],
  ['cp without cb', ({ fs, T }) => fs.cp!(`${T}/d`, `${T}/d3`)],
  ['realpath', ({ fs, T }, cb) => fs.realpath!(`${T}/d/../f`, cb)],
  ['realpath.native', ({ fs, T }, cb) => (fs.realpath as unknown as { native: (...a: unknown[]) => void }).native(`${T}/d/../f`, cb)],
  ['statfs(1, cb)', ({ fs }, cb) => fs.statfs!(1, cb)],
];

describe('node:fs validation and shapes, host vs facade over a worker kernel', () => {
  it('sync calls throw the same errors and return the same kinds of values', () => {
    const diffs: string[] = [];
    for (const [name, f] of SYNC) {
      const want = runSync(host as Ctx, f);
      const got = runSync(kern as Ctx, f);
      if (want !== got) diffs.push(`${name}\n   node:fs: ${want}\n   facade:  ${got}`);
    }
    expect(diffs.join('\n')).toBe('');
  });

  it('callback calls throw at the call site or call back with the same arguments', async () => {
    const diffs: string[] = [];
    for (const [name, f] of CALLBACK) {
      const want = await runCb(host as Ctx, f);
      const got = await runCb(kern as Ctx, f);
      if (want !== got) diffs.push(`${name}\n   node:fs: ${want}\n   facade:  ${got}`);
    }
    expect(diffs.join('\n')).toBe('');
  });
});

describe('deprecation warnings', () => {
  it('fs.truncate with a descriptor warns DEP0081 once, as node:fs does', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => {
      if (w.code === 'DEP0081') warnings.push(`${w.name} ${w.code} ${w.message}`);
    };
    process.on('warning', onWarning);
    try {
      for (const c of [host as Ctx, kern as Ctx]) {
        for (let i = 0; i < 2; i++) await new Promise<void>((res, rej) => c.fs.truncate!(c.wfd, 0, (e: unknown) => (e ? rej(e) : res())));
      }
      await new Promise((res) => setImmediate(res));
    } finally {
      process.off('warning', onWarning);
    }
    // node:fs warned at most once in this process (an earlier test may have made it warn already), the facade once.
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(new Set(warnings).size).toBe(1);
    expect(warnings[0]).toBe('DeprecationWarning DEP0081 Using fs.truncate with a file descriptor is deprecated. Please use fs.ftruncate with a file descriptor instead.');
  });
});
