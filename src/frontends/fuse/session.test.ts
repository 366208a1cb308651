/**
 * The session layer against the real host kernel: mount a tiny handler, look at it from a child
 * process (never with synchronous calls from this process: the replies come from this thread),
 * and check that a host `umount` ends the session.
 *
 * Needs root and /dev/fuse. Without them the test is skipped, saying why — except under
 * CI=true, where a missing prerequisite is a failure.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { FuseSession, type FuseHandler } from './session.ts';
import * as P from './proto.ts';
import type { FuseAttr } from './proto.ts';

const exec = promisify(execFile);

function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()})`;
  try {
    fs.accessSync('/dev/fuse', fs.constants.R_OK | fs.constants.W_OK);
  } catch (e) {
    return `/dev/fuse is not usable: ${(e as Error).message}`;
  }
  return undefined;
}

const missing = missingPrerequisite();
if (missing && process.env.CI !== 'true') {
  console.warn(`fuse session test skipped: ${missing} (it needs root and /dev/fuse)`);
}

const HELLO = new TextEncoder().encode('hello from anykernel\n');
const now = { sec: 1_700_000_000, nsec: 5 };

function attrOf(nodeid: number): FuseAttr {
  const dir = nodeid === P.FUSE_ROOT_ID;
  return {
    ino: nodeid, size: dir ? 0 : HELLO.length, blocks: dir ? 0 : 1, atime: now, mtime: now, ctime: now,
    mode: dir ? 0o40755 : 0o100444, nlink: dir ? 2 : 1, uid: 0, gid: 0, rdev: 0, blksize: 4096,
  };
}

/** A root directory holding one read-only file, "hello" (nodeid 2). Records the ops it saw. */
function helloHandler(seen: Set<string>): FuseHandler {
  const entry = { nodeid: 2, generation: 1, entryTimeout: 0, attrTimeout: 0, attr: attrOf(2) };
  const listing = (req: { offset: number; size: number }, plus: boolean) => {
    const p = new P.DirentPacker(req.size, plus);
    const all: [P.Dirent, P.EntryOut | undefined][] = [
      [{ ino: 1, off: 1, type: 4, name: '.' }, undefined],
      [{ ino: 1, off: 2, type: 4, name: '..' }, undefined],
      [{ ino: 2, off: 3, type: 8, name: 'hello' }, entry],
    ];
    for (const [d, e] of all.slice(req.offset)) if (!p.add(d, e)) break;
    return p.finish();
  };
  return {
    lookup(req) {
      seen.add('lookup');
      return req.header.nodeid === 1 && req.name === 'hello' ? entry : -2;
    },
    getattr(req) {
      seen.add('getattr');
      return req.header.nodeid <= 2 ? { attrTimeout: 0, attr: attrOf(req.header.nodeid) } : -2;
    },
    open(req) {
      seen.add('open');
      return (req.flags & 3) === 0 ? { fh: 7, openFlags: 0 } : -13;
    },
    async read(req) {
      seen.add('read');
      expect(req.fh).toBe(7);
      return HELLO.subarray(Math.min(req.offset, HELLO.length), Math.min(req.offset + req.size, HELLO.length));
    },
    release() {
      seen.add('release');
      return 0;
    },
    opendir() {
      seen.add('opendir');
      return { fh: 9, openFlags: 0 };
    },
    readdir(req) {
      seen.add('readdir');
      return listing(req, false);
    },
    readdirplus(req) {
      seen.add('readdirplus');
      return listing(req, true);
    },
    releasedir() {
      seen.add('releasedir');
      return 0;
    },
    statfs() {
      seen.add('statfs');
      return { blocks: 100, bfree: 40, bavail: 30, files: 10, ffree: 8, bsize: 4096, namelen: 255, frsize: 4096 };
    },
  };
}

/** Runs in a separate node process: every call here goes through the host kernel to our handler. */
const CHILD = `
const fs = require('node:fs');
const dir = process.argv[1];
(async () => {
  const st = await fs.promises.stat(dir + '/hello');
  const names = await fs.promises.readdir(dir);
  const text = await fs.promises.readFile(dir + '/hello', 'utf8');
  const sfs = await fs.promises.statfs(dir);
  let missing;
  try { await fs.promises.stat(dir + '/nope'); } catch (e) { missing = e.code; }
  let writeErr;
  try { await fs.promises.open(dir + '/hello', 'r+'); } catch (e) { writeErr = e.code; }
  const t0 = process.hrtime.bigint();
  const N = 2000;
  for (let i = 0; i < N; i++) fs.statSync(dir + '/hello');
  const usPerStat = Number(process.hrtime.bigint() - t0) / N / 1000;
  console.log(JSON.stringify({ size: st.size, mode: st.mode, names, text, bsize: sfs.bsize, blocks: sfs.blocks, bavail: sfs.bavail, missing, writeErr, usPerStat }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe.skipIf(missing !== undefined && process.env.CI !== 'true')('FuseSession on the host kernel', () => {
  for (const reader of ['worker', 'port', 'async'] as const) {
    it(`serves stat, readdir, read and statfs, and sees a host umount (${reader} reader)`, async () => {
      if (missing) throw new Error(`CI=true but the FUSE prerequisites are missing: ${missing}`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-fuse-'));
      const seen = new Set<string>();
      const errors: unknown[] = [];
      const s = await FuseSession.mount(dir, helloHandler(seen), { reader, onError: (e) => errors.push(e) });
      try {
        expect(s.conn?.minor).toBe(31);
        expect(s.conn!.flags & P.FUSE_DO_READDIRPLUS).toBeTruthy();
        const { stdout } = await exec(process.execPath, ['-e', CHILD, dir], { timeout: 30_000 });
        const out = JSON.parse(stdout);
        expect(out).toMatchObject({
          size: HELLO.length, mode: 0o100444, names: ['hello'], text: new TextDecoder().decode(HELLO),
          bsize: 4096, blocks: 100, bavail: 30, missing: 'ENOENT', writeErr: 'EACCES',
        });
        console.log(`fuse ${reader} reader: ${out.usPerStat.toFixed(1)} µs per host stat() round trip`);
        const df = await exec('df', ['-PT', dir]);
        expect(df.stdout).toContain('fuse.anykernel');
        for (const op of ['lookup', 'getattr', 'opendir', 'open', 'read', 'release', 'releasedir', 'statfs']) {
          expect(seen, op).toContain(op);
        }
        expect(seen.has('readdir') || seen.has('readdirplus')).toBe(true);
      } finally {
        // The host unmounts; the session notices (ENODEV on the next read).
        await exec('umount', [dir]).catch(async (e) => {
          await s.unmount();
          throw e;
        });
        expect(await s.closed).toBe('ENODEV');
        fs.rmdirSync(dir);
      }
      expect(errors).toEqual([]);
      expect(s.stats.parseErrors).toBe(0);
    }, 60_000);
  }

  it('a signal to a waiting host process arrives as INTERRUPT and aborts the handler', async () => {
    if (missing) throw new Error(`CI=true but the FUSE prerequisites are missing: ${missing}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-fuse-'));
    let started!: () => void;
    const lookupStarted = new Promise<void>((r) => (started = r));
    let aborted!: (interrupted: boolean) => void;
    const lookupAborted = new Promise<boolean>((r) => (aborted = r));
    const base = helloHandler(new Set());
    const s = await FuseSession.mount(dir, {
      ...base,
      lookup(req, ctx) {
        if (req.name !== 'slow') return base.lookup!(req, ctx);
        started();
        return new Promise((resolve) => ctx.signal.addEventListener('abort', () => {
          aborted(ctx.interrupted);
          resolve(-4); // EINTR
        }));
      },
    });
    try {
      const child = spawn(process.execPath, ['-e', `require('node:fs').statSync(process.argv[1] + '/slow')`, dir], { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, sig) => r(sig)));
      await lookupStarted;
      child.kill('SIGTERM');
      expect(await lookupAborted).toBe(true);
      expect(await exited).toBe('SIGTERM');
      expect(s.dispatcher.inFlight).toBe(0);
    } finally {
      await s.unmount();
      fs.rmdirSync(dir);
    }
  }, 60_000);

  it('abort() cuts the connection: host calls fail ENOTCONN, closed resolves, unmount() still detaches', async () => {
    if (missing) throw new Error(`CI=true but the FUSE prerequisites are missing: ${missing}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-fuse-'));
    const s = await FuseSession.mount(dir, helloHandler(new Set()));
    try {
      expect(await s.abort()).toBe(true);
      expect(await s.closed).toBe('ENODEV');
      const r = await exec(process.execPath, ['-e', `try { require('node:fs').statSync(process.argv[1] + '/hello') } catch (e) { console.log(e.code) }`, dir]);
      expect(r.stdout.trim()).toBe('ENOTCONN');
    } finally {
      expect(await s.unmount()).toBe('ENODEV');
    }
    expect(await fs.promises.readFile('/proc/self/mounts', 'utf8')).not.toContain(dir);
    fs.rmdirSync(dir);
  }, 60_000);

  it('unmount() detaches the mount and resolves closed', async () => {
    if (missing) throw new Error(`CI=true but the FUSE prerequisites are missing: ${missing}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anykernel-fuse-'));
    const s = await FuseSession.mount(dir, helloHandler(new Set()));
    expect(await s.unmount()).toBe('ENODEV');
    const mounts = await fs.promises.readFile('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain(dir);
    fs.rmdirSync(dir);
  }, 60_000);
});
