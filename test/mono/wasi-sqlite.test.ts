/**
 * A C program of real size as a WASI process: SQLite's own shell (shell.c
 * and the sqlite3.c amalgamation, from the source tarball the npm package
 * `sqlite3` ships under deps/), compiled by Debian's clang for wasm32-wasi.
 * It runs an SQL script from stdin that creates a database in the working
 * directory (a transaction, a rollback, an index, a view, queries in five
 * output modes), once on the booted kernel and once under Node's own
 * node:wasi with a preopened host temp directory: stdout and exit status
 * must be byte-identical, the two database files too, and each side must
 * read the database the other side wrote.
 *
 * The build takes tens of seconds, so the module is cached under the OS temp
 * directory by a hash of the sources, flags and compiler.
 */
import { describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { hasClang, nodeWasi } from './wasi/reference.ts';

const run = promisify(execFile);
const here = path.dirname(new URL(import.meta.url).pathname);

/**
 * wasi-libc needs threads off and the emulated mman/getpid/clock/signal
 * libraries; sqlite3.c itself turns on its WASI port (SQLITE_WASI: no WAL,
 * no mmap, dot-file locking) when it sees __wasi__. -Os: about two thirds
 * of the CPU time of -O2 for this source, and still an optimised build.
 */
const EMULATED = ['MMAN', 'GETPID', 'PROCESS_CLOCKS', 'SIGNAL'];
const CFLAGS = ['--target=wasm32-wasi', '-Os', '-w', '-DSQLITE_THREADSAFE=0', '-DSQLITE_OMIT_LOAD_EXTENSION', ...EMULATED.map((e) => `-D_WASI_EMULATED_${e}`)];
const LIBS = EMULATED.map((e) => `-lwasi-emulated-${e.toLowerCase().replace('_', '-')}`);

/** The amalgamation tarball inside the installed `sqlite3` package. */
function sqliteTarball(): string {
  const deps = path.join(path.dirname(createRequire(import.meta.url).resolve('sqlite3/package.json')), 'deps');
  const name = fs.readdirSync(deps).find((f) => /^sqlite-autoconf-\d+\.tar\.gz$/.test(f));
  if (name === undefined) throw new Error(`no sqlite-autoconf-*.tar.gz in ${deps}`);
  return path.join(deps, name);
}

/** Build sqlite3.wasm (or take it from the cache); returns its path. */
async function buildShell(): Promise<string> {
  const tarball = sqliteTarball();
  const stubs = path.join(here, 'wasi', 'sqlite-wasi.c');
  const h = createHash('sha256');
  h.update(fs.readFileSync(tarball)).update(fs.readFileSync(stubs)).update(JSON.stringify([CFLAGS, LIBS]));
  h.update(spawnSync('clang', ['--version'], { encoding: 'utf8' }).stdout);
  const cacheDir = path.join(os.tmpdir(), 'anykernel-wasi-cache');
  const cached = path.join(cacheDir, `sqlite3-${h.digest('hex').slice(0, 16)}.wasm`);
  if (fs.existsSync(cached)) return cached;
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-sqlite-src-'));
  try {
    await run('tar', ['-xzf', tarball, '-C', src, '--strip-components=1', '--wildcards', '*/sqlite3.c', '*/shell.c', '*/sqlite3.h', '*/sqlite3ext.h']);
    // The two big units compile in parallel (CI has two cores), then link.
    const objs = ['sqlite3', 'shell'].map((u) => path.join(src, `${u}.o`));
    await Promise.all([
      run('clang', [...CFLAGS, '-c', '-o', objs[0]!, path.join(src, 'sqlite3.c')]),
      run('clang', [...CFLAGS, '-c', '-o', objs[1]!, path.join(src, 'shell.c')]),
    ]);
    const out = path.join(src, 'sqlite3.wasm');
    await run('clang', [...CFLAGS, '-o', out, ...objs, stubs, ...LIBS]);
    fs.mkdirSync(cacheDir, { recursive: true });
    // Publish atomically: a concurrent run sees either nothing or the whole module.
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.copyFileSync(out, tmp);
    fs.renameSync(tmp, cached);
    return cached;
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
}

/** A script that fails half-way (no such table). */
const BAIL = 'SELECT name FROM item WHERE id = 1;\nSELECT * FROM nosuch;\nSELECT 2;\n';

describe.skipIf(!hasClang && process.env.CI !== 'true')('SQLite shell as a WASI process', () => {
  it('prints the same on the kernel as under node:wasi, and each reads the database the other wrote', async () => {
    const wasm = await buildShell();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-sqlite-'));
    try {
      const bin = path.join(dir, 'bin'), out = path.join(dir, 'out'), ref = path.join(dir, 'ref');
      for (const d of [bin, out, ref]) fs.mkdirSync(d);
      fs.copyFileSync(wasm, path.join(bin, 'sqlite3.wasm'));
      fs.chmodSync(path.join(bin, 'sqlite3.wasm'), 0o755);
      for (const s of ['create', 'query']) fs.copyFileSync(path.join(here, 'wasi', `sqlite-${s}.sql`), path.join(bin, `${s}.sql`));

      // The reference run first, so the kernel can read the database it wrote.
      const create = nodeWasi(wasm, ref, fs.readFileSync(path.join(bin, 'create.sql'), 'utf8'), ['node.db']);
      expect(create.status).toBe(0);
      expect(create.out).toContain('│ green │');
      fs.copyFileSync(path.join(ref, 'node.db'), path.join(bin, 'node.db'));

      // The kernel works in its tmpfs /tmp: the journal and the lock directory come and go there.
      const script = [
        'cd /tmp',
        '/w/sqlite3.wasm node.db < /w/create.sql > /o/create.out; echo $? > /o/create.st',
        'cp node.db /o/kernel.db',
        'rm node.db; cp /w/node.db other.db',
        '/w/sqlite3.wasm other.db < /w/query.sql > /o/query.out; echo $? > /o/query.st',
        // An error with -bail: the statements before it print, the exit status says so. Input from a pipe.
        `printf '${BAIL.replace(/\n/g, '\\n')}' | /w/sqlite3.wasm -bail other.db > /o/bail.out; echo $? > /o/bail.st`,
        'ls > /o/ls.out',
      ].join('\n');
      const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'boot', '--bind', `${bin}:/w`, '--bind', `${out}:/o:rw`, '-c', script], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);

      expect(fs.readFileSync(path.join(out, 'create.out'), 'utf8')).toBe(create.out);
      expect(Number(fs.readFileSync(path.join(out, 'create.st'), 'utf8'))).toBe(create.status);
      // Same statements, same pages: the kernel's file is the reference's, byte for byte.
      expect(fs.readFileSync(path.join(out, 'kernel.db')).equals(fs.readFileSync(path.join(ref, 'node.db')))).toBe(true);
      // No journal or lock directory left behind on the kernel.
      expect(fs.readFileSync(path.join(out, 'ls.out'), 'utf8')).toBe('other.db\n');

      // Each side queries the database the other side wrote.
      fs.copyFileSync(path.join(out, 'kernel.db'), path.join(ref, 'other.db'));
      const query = nodeWasi(wasm, ref, fs.readFileSync(path.join(bin, 'query.sql'), 'utf8'), ['other.db']);
      expect(query.status).toBe(0);
      expect(query.out).toContain('CREATE TABLE item(');
      expect(fs.readFileSync(path.join(out, 'query.out'), 'utf8')).toBe(query.out);
      expect(Number(fs.readFileSync(path.join(out, 'query.st'), 'utf8'))).toBe(query.status);
      const bail = nodeWasi(wasm, ref, BAIL, ['-bail', 'other.db']);
      expect(bail).toEqual({ out: 'anvil\n', status: 1 });
      expect(fs.readFileSync(path.join(out, 'bail.out'), 'utf8')).toBe(bail.out);
      expect(Number(fs.readFileSync(path.join(out, 'bail.st'), 'utf8'))).toBe(bail.status);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
