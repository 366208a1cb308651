/**
 * Differential property test: random sequences of file system calls over a
 * small name space run on a fresh reference target (the host, through
 * node:fs) and on a fresh target under test (the kernel, directly or through
 * a frontend), as root and as an unprivileged user. Every call must give the
 * same result or the same errno, and the trees left behind must match:
 * names, types, permission bits, owners, link counts, file sizes and
 * contents, symlink targets. (Directory sizes and inode numbers are file
 * system details and are not compared; see test/README.md.)
 *
 * A failure prints the shortest sequence fast-check finds, one call per
 * line, and the first call whose outcome differs. Replay with
 * DIFF_SEED=<seed> (and DIFF_PATH=<path> printed by fast-check).
 * Bounded: DIFF_RUNS (default 100) runs of at most 30 calls.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { C, type Target, type TargetFactory } from '../conformance/target.ts';
import { referenceTarget, selectedTargets } from '../conformance/targets/index.ts';
import { U1, U2, G1 } from '../conformance/helpers.ts';

// ---- the operations ----------------------------------------------------------

const PATHS = ['a', 'b', 'c', 'a/b', 'a/c', 'b/a', 'a/b/c', 'c/a', 'a/', 'b/', 'a/..', 'a/b/', 'l', 'a/l'];
const TARGETS = ['a', 'b', 'a/b', '../a', 'c/..', 'x', '.', 'l', 'a/b/c', 'b/', 'l/a'];
const MODES = [0o755, 0o700, 0o777, 0o644, 0o600, 0o000, 0o1777, 0o2755, 0o4755, 0o555];
const DATA = ['', 'x', 'hello', 'a longer line of text\n'];

/** root; user = uid 1001 gid 1001; peer = uid 1002 in the same group 1001. */
type Who = 'root' | 'user' | 'peer';
type Op =
  | { op: 'creat'; who: Who; path: string; mode: number; excl: boolean; data: string }
  | { op: 'pwrite'; who: Who; path: string; off: number; data: string }
  | { op: 'append'; who: Who; path: string; data: string }
  | { op: 'read'; who: Who; path: string }
  | { op: 'truncate'; who: Who; path: string; len: number }
  | { op: 'fallocate'; who: Who; path: string; mode: number; off: number; len: number }
  | { op: 'open3'; who: Who; path: string }
  | { op: 'mkdir'; who: Who; path: string; mode: number }
  | { op: 'rmdir'; who: Who; path: string }
  | { op: 'unlink'; who: Who; path: string }
  | { op: 'rename'; who: Who; from: string; to: string }
  | { op: 'link'; who: Who; from: string; to: string }
  | { op: 'symlink'; who: Who; target: string; path: string }
  | { op: 'readlink'; who: Who; path: string }
  | { op: 'chmod'; who: Who; path: string; mode: number }
  | { op: 'chown'; who: Who; path: string; owner: 'root' | 'user' }
  | { op: 'stat'; who: Who; path: string; follow: boolean }
  | { op: 'readdir'; who: Who; path: string }
  | { op: 'mkfifo'; who: Who; path: string }
  | { op: 'access'; who: Who; path: string; mode: number }
  | { op: 'rename2'; who: Who; from: string; to: string; flags: number }
  | { op: 'utimes'; who: Who; path: string; sec: number | null }
  | { op: 'umask'; who: Who; mask: number };

function show(o: Op): string {
  const { op, who, ...rest } = o;
  const args = Object.values(rest).map((v) => (typeof v === 'number' && v > 7 ? `0o${v.toString(8)}` : JSON.stringify(v)));
  return `${who === 'root' ? '' : `${who} `}${op}(${args.join(', ')})`;
}

function withShow(o: Op): Op {
  Object.defineProperty(o, fc.toStringMethod, { value: () => show(o), enumerable: false });
  return o;
}

const who = fc.constantFrom<Who>('root', 'root', 'user', 'user', 'peer');
const path = fc.constantFrom(...PATHS);
const mode = fc.constantFrom(...MODES);
const data = fc.constantFrom(...DATA);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('creat' as const), who, path, mode, excl: fc.boolean(), data }),
  fc.record({ op: fc.constant('pwrite' as const), who, path, off: fc.constantFrom(0, 3, 100), data }),
  fc.record({ op: fc.constant('append' as const), who, path, data }),
  fc.record({ op: fc.constant('read' as const), who, path }),
  fc.record({ op: fc.constant('truncate' as const), who, path, len: fc.constantFrom(0, 2, 50) }),
  // mode 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, PUNCH_HOLE alone (EOPNOTSUPP)
  fc.record({ op: fc.constant('fallocate' as const), who, path, mode: fc.constantFrom(0, 1, 3, 2), off: fc.constantFrom(0, 1, 40), len: fc.constantFrom(1, 5, 100) }),
  fc.record({ op: fc.constant('open3' as const), who, path }),
  fc.record({ op: fc.constant('mkdir' as const), who, path, mode }),
  fc.record({ op: fc.constant('rmdir' as const), who, path }),
  fc.record({ op: fc.constant('unlink' as const), who, path }),
  fc.record({ op: fc.constant('rename' as const), who, from: path, to: path }),
  fc.record({ op: fc.constant('link' as const), who, from: path, to: path }),
  fc.record({ op: fc.constant('symlink' as const), who, target: fc.constantFrom(...TARGETS), path }),
  fc.record({ op: fc.constant('readlink' as const), who, path }),
  fc.record({ op: fc.constant('chmod' as const), who, path, mode }),
  fc.record({ op: fc.constant('chown' as const), who, path, owner: fc.constantFrom<'root' | 'user'>('root', 'user') }),
  fc.record({ op: fc.constant('stat' as const), who, path, follow: fc.boolean() }),
  fc.record({ op: fc.constant('readdir' as const), who, path }),
  fc.record({ op: fc.constant('mkfifo' as const), who, path }),
  fc.record({ op: fc.constant('access' as const), who, path, mode: fc.constantFrom(0, 1, 2, 4, 6) }),
  fc.record({ op: fc.constant('rename2' as const), who, from: path, to: path, flags: fc.constantFrom(1, 2) }),
  fc.record({ op: fc.constant('utimes' as const), who, path, sec: fc.constantFrom(null, 1000, 5000) }),
  fc.record({ op: fc.constant('umask' as const), who, mask: fc.constantFrom(0, 0o022, 0o077, 0o007) }),
).map(withShow);

// ---- running them --------------------------------------------------------------

interface Run {
  root: Target;
  user: Target;
  peer: Target;
}

const NB = C.O_NONBLOCK;

/** Perform one op; the outcome is a comparable string ("OK ..." or an errno). */
async function perform(r: Run, o: Op): Promise<string> {
  const t = r[o.who];
  try {
    switch (o.op) {
      case 'creat': {
        const fd = await t.open(o.path, C.O_WRONLY | C.O_CREAT | C.O_TRUNC | NB | (o.excl ? C.O_EXCL : 0), o.mode);
        try {
          if (o.data !== '') await t.write(fd, o.data);
        } finally {
          await t.close(fd);
        }
        return 'OK';
      }
      case 'pwrite': {
        const fd = await t.open(o.path, C.O_WRONLY | NB);
        try {
          return `OK ${await t.pwrite(fd, o.data, o.off)}`;
        } finally {
          await t.close(fd);
        }
      }
      case 'append': {
        const fd = await t.open(o.path, C.O_WRONLY | C.O_APPEND | NB);
        try {
          return `OK ${await t.write(fd, o.data)}`;
        } finally {
          await t.close(fd);
        }
      }
      case 'read': {
        const fd = await t.open(o.path, C.O_RDONLY | NB);
        try {
          return `OK ${JSON.stringify(new TextDecoder().decode(await t.read(fd, 200)))}`;
        } finally {
          await t.close(fd);
        }
      }
      case 'truncate':
        await t.truncate(o.path, o.len);
        return 'OK';
      case 'fallocate': {
        const fd = await t.open(o.path, C.O_WRONLY | NB);
        try {
          await t.fallocate(fd, o.mode, o.off, o.len);
          return 'OK';
        } finally {
          await t.close(fd);
        }
      }
      case 'open3': // access mode 3: read and write permission checked, neither granted
        await t.close(await t.open(o.path, C.O_ACCMODE | NB));
        return 'OK';
      case 'mkdir':
        await t.mkdir(o.path, o.mode);
        return 'OK';
      case 'rmdir':
        await t.rmdir(o.path);
        return 'OK';
      case 'unlink':
        await t.unlink(o.path);
        return 'OK';
      case 'rename':
        await t.rename(o.from, o.to);
        return 'OK';
      case 'link':
        await t.link(o.from, o.to);
        return 'OK';
      case 'symlink':
        await t.symlink(o.target, o.path);
        return 'OK';
      case 'readlink':
        return `OK ${await t.readlink(o.path)}`;
      case 'chmod':
        await t.chmod(o.path, o.mode);
        return 'OK';
      case 'chown':
        await t.chown(o.path, o.owner === 'root' ? 0 : U1, o.owner === 'root' ? 0 : G1);
        return 'OK';
      case 'stat': {
        const s = o.follow ? await t.stat(o.path) : await t.lstat(o.path);
        const isDir = (s.mode & C.S_IFMT) === C.S_IFDIR;
        return `OK mode=${s.mode.toString(8)} nlink=${s.nlink} uid=${s.uid} gid=${s.gid}${isDir ? '' : ` size=${s.size}`}`;
      }
      case 'readdir':
        return `OK ${(await t.readdir(o.path)).join(',')}`;
      case 'mkfifo':
        await t.mkfifo(o.path, 0o644);
        return 'OK';
      case 'access':
        await t.access(o.path, o.mode);
        return 'OK';
      case 'rename2':
        await t.renameat2(o.from, o.to, o.flags);
        return 'OK';
      case 'utimes':
        await t.utimensat(o.path, o.sec === null ? null : [{ sec: o.sec, nsec: 1 }, { sec: o.sec + 1, nsec: 2 }]);
        return 'OK';
      case 'umask':
        return `OK ${(await t.umask(o.mask)).toString(8)}`;
    }
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') throw e;
    return code;
  }
}

/** The tree under the root, as root sees it: one line per entry. */
async function snapshot(t: Target): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const name of await t.readdir(dir)) {
      const p = dir === '.' ? name : `${dir}/${name}`;
      if (p === '.tick') continue;
      const s = await t.lstat(p);
      const type = s.mode & C.S_IFMT;
      // Times set explicitly by 'utimes' are small numbers and compared; others are "now" on each side.
      const mt = s.mtime.sec < 1_000_000 ? `${s.mtime.sec}.${s.mtime.nsec}` : 'now';
      const at = s.atime.sec < 1_000_000 ? `${s.atime.sec}.${s.atime.nsec}` : 'now';
      let line = `${p} mode=${s.mode.toString(8)} nlink=${s.nlink} uid=${s.uid} gid=${s.gid} mtime=${mt} atime=${at}`;
      if (type === C.S_IFREG) {
        const fd = await t.open(p, C.O_RDONLY | NB);
        const body = await t.read(fd, 100_000);
        await t.close(fd);
        line += ` size=${s.size} data=${JSON.stringify(new TextDecoder().decode(body))}`;
      } else if (type === C.S_IFLNK) line += ` size=${s.size} -> ${await t.readlink(p)}`;
      out.push(line);
      if (type === C.S_IFDIR && depth < 8) await walk(p, depth + 1);
    }
  };
  await walk('.', 0);
  return out;
}

/**
 * Work two levels below the target root (root/s/w, mode 0777), so that a
 * random relative symlink such as "../a" stays inside the test's own
 * directory instead of reaching the host's /dev/shm or the kernel's "/".
 */
async function start(f: TargetFactory): Promise<Run> {
  const root = await f.setup();
  await root.mkdir('s', 0o755);
  await root.mkdir('s/w', 0o755);
  await root.chmod('s/w', 0o777);
  const user = await root.asUser(U1, G1);
  const peer = await root.asUser(U2, G1);
  for (const t of [root, user, peer]) await t.chdir('s/w');
  return { root, user, peer };
}

/** Every sequence starts from this small tree, so most calls meet something. */
const PRELUDE: Op[] = [
  { op: 'mkdir', who: 'root', path: 'a', mode: 0o777 },
  { op: 'mkdir', who: 'user', path: 'a/b', mode: 0o755 },
  { op: 'creat', who: 'root', path: 'b', mode: 0o666, excl: true, data: 'init' },
  { op: 'symlink', who: 'root', target: 'a', path: 'l' },
].map((o) => withShow(o as Op));

/** Outcome counts over all runs (printed at the end, to see the mix is not all ENOENT). */
const outcomes = new Map<string, number>();

/**
 * The documented differences the comparison accepts (test/README.md DIFFERENCES): first
 * `caps.dotdotSearchCheck` and `caps.specialFileModeChecks` (below, each with its condition);
 * then `caps.permissionBeforeVictimType`: on a target without it (FUSE without default_permissions)
 * the host VFS grants the permission step (fuse_permission) and checks the victim's type itself
 * before the server is asked, so where the reference answers a permission error (EACCES, or the
 * sticky bit's EPERM) such a target answers the type's errno:
 *   rmdir of a non-directory ENOTDIR; unlink of a directory EISDIR;
 *   rename/renameat2 of a directory onto a non-directory ENOTDIR, of a non-directory onto a
 *   directory EISDIR (the reference's EACCES there is write permission on the moved directory
 *   or on a parent).
 * Accepted only for those ops and errno pairs, and only when the reference's lstat (as root)
 * confirms the types involved; every other mismatch still fails.
 */
async function documentedDifference(a: Run, b: Run, o: Op, ra: string, rb: string): Promise<boolean> {
  if (!b.root.caps.dotdotSearchCheck && ra === 'EACCES') {
    // `caps.dotdotSearchCheck`: the host follows "d/.." without asking the server, so search
    // permission on d is not checked. Accepted only when a path argument has a ".." component
    // whose prefix d the acting user cannot search on the reference (access(d, X_OK) EACCES).
    const o2 = o as { path?: string; from?: string; to?: string };
    for (const p of [o2.path, o2.from, o2.to]) {
      if (p === undefined) continue;
      const parts = p.split('/');
      const k = parts.indexOf('..');
      if (k <= 0) continue;
      const prefix = parts.slice(0, k).join('/');
      try {
        await a[o.who].access(prefix, C.X_OK);
      } catch (e) {
        if ((e as { code?: string }).code === 'EACCES') return true;
      }
    }
  }
  if (!b.root.caps.specialFileModeChecks && ra === 'EACCES' && ['creat', 'pwrite', 'append', 'read', 'truncate', 'fallocate', 'open3'].includes(o.op)) {
    // `caps.specialFileModeChecks` (test/README.md DIFFERENCES): the host opens a FIFO itself
    // and nobody checks its mode, so the reference's EACCES becomes whatever the open or
    // truncate of that FIFO gives (ENXIO without a reader, EINVAL for truncate, or success).
    // Accepted only when the path names an existing FIFO on the reference (stat as root).
    try {
      const st = await a.root.stat((o as { path: string }).path);
      if ((st.mode & C.S_IFMT) === C.S_IFIFO) return true;
    } catch {
      // not the documented situation
    }
    return false;
  }
  if (b.root.caps.permissionBeforeVictimType) return false;
  if (ra !== 'EACCES' && ra !== 'EPERM') return false;
  const isDir = async (path: string): Promise<boolean | null> => {
    const p = path.replace(/\/+$/, '');
    if (p === '' || p === '.' || p.endsWith('/.') || p === '..' || p.endsWith('/..')) return null;
    try {
      return ((await a.root.lstat(p)).mode & C.S_IFMT) === C.S_IFDIR;
    } catch {
      return null; // missing, or the walk failed: not the documented situation
    }
  };
  if (o.op === 'rmdir') return rb === 'ENOTDIR' && (await isDir(o.path)) === false;
  if (o.op === 'unlink') return rb === 'EISDIR' && (await isDir(o.path)) === true;
  if (o.op === 'rename' || o.op === 'rename2') {
    // Linux (6.18) asks write+search on the parents before it looks the names up; the host
    // grants that step on FUSE and answers the lookup itself (ENOENT for a missing source,
    // ENOTDIR for a parent that is a file). Accepted only when the acting user lacks write+search
    // on a parent on the reference (access(parent, W_OK|X_OK) EACCES).
    if (ra === 'EACCES' && (rb === 'ENOENT' || rb === 'ENOTDIR')) {
      for (const p of [o.from, o.to]) {
        const q = p.replace(/\/+$/, '');
        const k = q.lastIndexOf('/');
        const parent = k < 0 ? '.' : q.slice(0, k);
        try {
          await a[o.who].access(parent, C.W_OK | C.X_OK);
        } catch (e) {
          if ((e as { code?: string }).code === 'EACCES') return true;
        }
      }
    }
    const from = await isDir(o.from);
    const to = await isDir(o.to);
    if (from === null || to === null) return false;
    return (rb === 'ENOTDIR' && from && !to) || (rb === 'EISDIR' && !from && to);
  }
  return false;
}

/** The same call made by root (see compare). */
function asRoot(o: Op): Op {
  return withShow({ ...o, who: 'root' } as Op);
}

async function compare(ref: TargetFactory, sut: TargetFactory, body: Op[]): Promise<void> {
  const a = await start(ref);
  const b = await start(sut);
  // On a target whose host VFS answers permission questions itself before the
  // server is asked (FUSE without default_permissions: parent-directory
  // permission, victim type, "..", FIFO modes — test/README.md DIFFERENCES),
  // unprivileged sequences would mostly compare the host's VFS with itself in
  // a different order. There every call runs as root; unprivileged semantics
  // through FUSE are tested by test/fuse/perms.test.ts and the conformance
  // perms suite, and against Linux's errno order by the kernel target here.
  const ops = b.root.caps.permissionBeforeVictimType ? [...PRELUDE, ...body] : [...PRELUDE, ...body].map(asRoot);
  try {
    for (let i = 0; i < ops.length; i++) {
      const ra = await perform(a, ops[i]!);
      const rb = await perform(b, ops[i]!);
      const k = ra.startsWith('OK') ? 'OK' : ra;
      outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
      if (ra !== rb && !(await documentedDifference(a, b, ops[i]!, ra, rb))) {
        const prefix = ops.slice(0, i + 1).map((o, j) => `  ${j}: ${show(o)}`).join('\n');
        expect.fail(`step ${i} ${show(ops[i]!)}: ${ref.name} gave ${ra}, ${sut.name} gave ${rb}\n${prefix}`);
      }
    }
    expect(await snapshot(b.root), `trees differ after:\n${ops.map((o) => `  ${show(o)}`).join('\n')}`).toEqual(await snapshot(a.root));
  } finally {
    await a.root.teardown();
    await b.root.teardown();
  }
}

// ---- the properties ---------------------------------------------------------------

const RUNS = Number(process.env.DIFF_RUNS ?? 100);
const SEED = process.env.DIFF_SEED === undefined ? undefined : Number(process.env.DIFF_SEED);
const PATH = process.env.DIFF_PATH;
const params = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), ...(PATH === undefined ? {} : { path: PATH }) };

const refOk = await referenceTarget.available();
const canUsers = typeof process.getuid === 'function' && process.getuid() === 0;

describe('differential: random file system call sequences', () => {
  afterAll(() => {
    const mix = [...outcomes].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    if (mix !== '') console.log(`differential outcome mix: ${mix}`);
  });

  it.runIf(refOk === true && canUsers)(`${referenceTarget.name} against itself (checks the harness is deterministic)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 30, size: 'max' }), (ops) => compare(referenceTarget, referenceTarget, ops)),
      { ...params, numRuns: Math.min(RUNS, 15) },
    );
  }, 600_000);

  for (const sut of selectedTargets().filter((f) => f !== referenceTarget)) {
    it(`${sut.name} against ${referenceTarget.name}`, async (ctx) => {
      const avail = await sut.available();
      if (avail !== true) ctx.skip(`${sut.name}: ${avail}`);
      if (refOk !== true || !canUsers) ctx.skip('the host reference needs root to act as another user');
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { maxLength: 30, size: 'max' }), (ops) => compare(referenceTarget, sut, ops)),
        params,
      );
    }, 600_000);
  }
});
