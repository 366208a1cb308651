// The host "op runner": a small Node process that performs file system calls
// on the host, one JSON request per line on stdin, one JSON reply per line on
// stdout. It is how the host target acts as another user (it switches
// credentials with setgroups/setgid/setuid before it serves anything) and why
// every host target has its own cwd, umask and fd table, isolated from the
// test process. The FUSE target reuses it against the mount point.
//
// Plain JavaScript (not TypeScript) so it starts in ~50 ms without a loader.
//
// Calls go through node:fs. Where node:fs has no equivalent or changes the
// semantics, the call is made for real through perl's syscall() (perl-base is
// Essential in Debian), inheriting this process's credentials, cwd and umask;
// an fd argument is handed over as the helper's stdin, i.e. the same open
// file description:
//   lseek       node:fs has none (perl sysseek)
//   truncate    node opens the file O_RDWR and ftruncates (needs read perm)
//   ftruncate   node clamps a negative length to 0 (EINVAL expected)
//   fallocate   node:fs has none
//   pread/pwrite node treats offset -1 as "current position" (EINVAL expected)
//   utimensat, futimens  node has no UTIME_NOW/UTIME_OMIT, loses nanoseconds
//   mknodat, renameat2, mount, umount2   node has none
//   access with a bad mode  node range-checks it (EINVAL expected)
//   linkat, faccessat flags, flock, statx, fstatfs, sync, syncfs, pathconf   node has none
// The *at calls with a real dirfd use the path /proc/self/fd/N/<path> (see atPath).
//
// Request:  {"id":1,"op":"open","args":["a",66,420]}
// Reply:    {"id":1,"ok":3}  or  {"id":1,"err":"ENOENT"}
// Bytes travel as {"$b64":"..."}.
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as readline from 'node:readline';
import { constants as osc } from 'node:os';

const ERRNAMES = new Map(Object.entries(osc.errno).map(([k, v]) => [v, k]));
// Aliases share a number; name them as Linux's errno-base.h does first.
for (const k of ['EAGAIN', 'EDEADLK', 'EOPNOTSUPP']) ERRNAMES.set(osc.errno[k], k);

// Syscall numbers for the perl helper (x86-64 and arm64 generic ABI).
const NR = process.arch === 'arm64'
  ? { pread64: 67, pwrite64: 68, truncate: 45, ftruncate: 46, fallocate: 47, utimensat: 88, mknodat: 33, renameat2: 276, mount: 40, umount2: 39, faccessat: 48, faccessat2: 439, linkat: 37, statx: 291, fstatfs: 44, sync: 81, syncfs: 267 }
  : { pread64: 17, pwrite64: 18, truncate: 76, ftruncate: 77, fallocate: 285, utimensat: 280, mknodat: 259, renameat2: 316, mount: 165, umount2: 166, faccessat: 269, faccessat2: 439, linkat: 265, statx: 332, fstatfs: 138, sync: 162, syncfs: 306 };
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_REMOVEDIR = 0x200;
const AT_EMPTY_PATH = 0x1000;
const UTIME_NOW = (1 << 30) - 1;
const UTIME_OMIT = (1 << 30) - 2;

// Arguments: i:INT  s:STRING  h:HEXBYTES  o:OUTLEN (output buffer, first r bytes) O:OUTLEN (whole)  t:S,NS,S,NS (struct timespec[2])
const PERL = `
my @a; my $outi = -1; my $whole = 0;
for my $x (@ARGV) {
  my ($k, $v) = split(/:/, $x, 2);
  if ($k eq 'i') { push @a, int($v); }
  elsif ($k eq 's') { my $s = "" . $v; push @a, $s; }
  elsif ($k eq 'h') { my $s = pack("H*", $v); push @a, $s; }
  elsif ($k eq 'o') { my $s = "\\0" x int($v); $outi = scalar(@a); push @a, $s; }
  elsif ($k eq 'O') { my $s = "\\0" x int($v); $outi = scalar(@a); $whole = 1; push @a, $s; }
  elsif ($k eq 't') { my $s = pack("q4", map { int($_) } split(/,/, $v)); push @a, $s; }
  elsif ($k eq 'pathconf') { require POSIX; my ($n, $p) = split(/:/, $v, 2); $! = 0; my $r = POSIX::pathconf($p, int($n));
    if (defined $r) { print "R", $r; } else { print "E", ($! + 0); } exit 0; }
  elsif ($k eq 'flock') { my $r = flock(STDIN, int($v));
    if ($r) { print "R0"; } else { print "E", ($! + 0); } exit 0; }
  elsif ($k eq 'seek') { my ($o, $w) = split(/,/, $v); my $r = sysseek(STDIN, int($o), int($w));
    if (defined $r) { print "R", ($r + 0); } else { print "E", ($! + 0); } exit 0; }
}
my $nr = shift @a; if ($outi >= 0) { $outi--; }
my $r = syscall($nr, @a);
if ($r < 0) { print "E", ($! + 0); exit 0; }
print "R", $r;
if ($outi >= 0) { print "\\n", unpack("H*", $whole ? $a[$outi] : substr($a[$outi], 0, $r)); }
`;

class SysErr extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

/** Run one system call through perl; fd (if any) becomes the helper's stdin. */
function perl(args, fd, fd3) {
  const r = spawnSync('perl', ['-e', PERL, ...args], {
    stdio: [fd === undefined ? 'ignore' : fd, 'pipe', 'pipe', ...(fd3 === undefined ? [] : [fd3])],
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  const out = r.stdout;
  if (out.startsWith('E')) throw new SysErr(ERRNAMES.get(Number(out.slice(1))) ?? `E${out.slice(1)}`);
  if (!out.startsWith('R')) throw new Error(`perl helper failed: ${r.stderr || out}`);
  const nl = out.indexOf('\n');
  if (nl < 0) return { r: Number(out.slice(1)), bytes: null };
  return { r: Number(out.slice(1, nl)), bytes: Buffer.from(out.slice(nl + 1), 'hex') };
}

/** EBADF before handing an fd to a helper (spawn would fail differently). */
function checkFd(fd) {
  fs.fstatSync(fd);
}

function ts(t) {
  if (t === 'now') return [0, UTIME_NOW];
  if (t === 'omit') return [0, UTIME_OMIT];
  return [t.sec, t.nsec];
}

function timesArg(times) {
  if (times === null) return 'i:0';
  return `t:${[...ts(times[0]), ...ts(times[1])].join(',')}`;
}

function split(ns) {
  const sec = ns / 1000000000n;
  let nsec = ns % 1000000000n;
  return nsec < 0n ? { sec: Number(sec - 1n), nsec: Number(nsec + 1000000000n) } : { sec: Number(sec), nsec: Number(nsec) };
}

function statOut(s) {
  return {
    dev: Number(s.dev), ino: Number(s.ino), mode: Number(s.mode), nlink: Number(s.nlink), uid: Number(s.uid),
    gid: Number(s.gid), rdev: Number(s.rdev), size: Number(s.size), blksize: Number(s.blksize),
    blocks: Number(s.blocks), atime: split(s.atimeNs), mtime: split(s.mtimeNs), ctime: split(s.ctimeNs),
  };
}

const bytes = (d) => (typeof d === 'string' ? Buffer.from(d, 'utf8') : Buffer.from(d.$b64, 'base64'));
const b64 = (b) => ({ $b64: Buffer.from(b).toString('base64') });

/** Descriptors this runner opened and has not closed; `reset` closes them. */
const openFds = new Set();
let switched = false;

const ops = {
  /** Start (or, for a pooled runner, restart) serving a test root. */
  init(o) {
    if (o.uid !== undefined && !switched) {
      process.setgroups(o.groups ?? []);
      process.setgid(o.gid);
      process.setuid(o.uid);
      switched = true;
    }
    process.chdir(o.root);
    process.umask(o.umask ?? 0o022);
    return process.pid;
  },
  /** Back to a clean state between tests: no open files, cwd /. */
  reset() {
    for (const fd of openFds) {
      try {
        fs.closeSync(fd);
      } catch {
        // already gone
      }
    }
    openFds.clear();
    process.chdir('/');
  },
  open(p, flags, mode) {
    const fd = fs.openSync(p, flags, mode ?? 0o666);
    openFds.add(fd);
    return fd;
  },
  close(fd) {
    fs.closeSync(fd);
    openFds.delete(fd);
  },
  read(fd, n) {
    const buf = Buffer.alloc(n);
    return b64(buf.subarray(0, fs.readSync(fd, buf, 0, n, null)));
  },
  write(fd, d) {
    const buf = bytes(d);
    return fs.writeSync(fd, buf, 0, buf.length, null);
  },
  pread(fd, n, off) {
    if (off < 0) {
      checkFd(fd);
      return b64(perl([`i:${NR.pread64}`, 'i:0', `o:${n}`, `i:${n}`, `i:${off}`], fd).bytes ?? []);
    }
    const buf = Buffer.alloc(n);
    return b64(buf.subarray(0, fs.readSync(fd, buf, 0, n, off)));
  },
  pwrite(fd, d, off) {
    const buf = bytes(d);
    if (off < 0) {
      checkFd(fd);
      return perl([`i:${NR.pwrite64}`, 'i:0', `h:${buf.toString('hex')}`, `i:${buf.length}`, `i:${off}`], fd).r;
    }
    return fs.writeSync(fd, buf, 0, buf.length, off);
  },
  lseek(fd, off, whence) {
    checkFd(fd);
    return perl([`seek:${off},${whence}`], fd).r;
  },
  fsync: (fd) => fs.fsyncSync(fd),
  stat: (p) => statOut(fs.statSync(p, { bigint: true })),
  lstat: (p) => statOut(fs.lstatSync(p, { bigint: true })),
  fstat: (fd) => statOut(fs.fstatSync(fd, { bigint: true })),
  // node:fs range-checks the mode; faccessat(2) answers EINVAL itself.
  access: (p, mode) => (mode >= 0 && mode <= 7 ? fs.accessSync(p, mode) : void perl([`i:${NR.faccessat}`, `i:${AT_FDCWD}`, `s:${p}`, `i:${mode}`])),
  mkdir: (p, mode) => void fs.mkdirSync(p, { mode }),
  rmdir: (p) => fs.rmdirSync(p),
  unlink: (p) => fs.unlinkSync(p),
  rename: (a, b) => fs.renameSync(a, b),
  renameat2: (a, b, flags) => void perl([`i:${NR.renameat2}`, `i:${AT_FDCWD}`, `s:${a}`, `i:${AT_FDCWD}`, `s:${b}`, `i:${flags}`]),
  link: (a, b) => fs.linkSync(a, b),
  symlink: (target, p) => fs.symlinkSync(target, p),
  readlink: (p) => fs.readlinkSync(p, 'utf8'),
  readdir: (p) => fs.readdirSync(p).sort(),
  chmod: (p, mode) => fs.chmodSync(p, mode),
  fchmod: (fd, mode) => fs.fchmodSync(fd, mode),
  chown: (p, u, g) => fs.chownSync(p, u, g),
  lchown: (p, u, g) => fs.lchownSync(p, u, g),
  fchown: (fd, u, g) => fs.fchownSync(fd, u, g),
  truncate: (p, len) => void perl([`i:${NR.truncate}`, `s:${p}`, `i:${len}`]),
  ftruncate(fd, len) {
    if (len >= 0) return fs.ftruncateSync(fd, len);
    checkFd(fd);
    perl([`i:${NR.ftruncate}`, 'i:0', `i:${len}`], fd);
  },
  fallocate(fd, mode, off, len) {
    checkFd(fd);
    perl([`i:${NR.fallocate}`, 'i:0', `i:${mode}`, `i:${off}`, `i:${len}`], fd);
  },
  utimensat: (p, times, flags) => void perl([`i:${NR.utimensat}`, `i:${AT_FDCWD}`, `s:${p}`, timesArg(times), `i:${flags ?? 0}`]),
  futimens(fd, times) {
    checkFd(fd);
    perl([`i:${NR.utimensat}`, 'i:0', 'i:0', timesArg(times), 'i:0'], fd);
  },
  mknod: (p, mode, dev) => void perl([`i:${NR.mknodat}`, `i:${AT_FDCWD}`, `s:${p}`, `i:${mode}`, `i:${dev}`]),
  statfs(p) {
    const s = fs.statfsSync(p);
    return { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
  },
  chdir: (p) => process.chdir(p),
  getcwd: () => process.cwd(),
  umask: (m) => process.umask(m),
  mount: (source, p, fstype, flags, data) => void perl([`i:${NR.mount}`, `s:${source}`, `s:${p}`, `s:${fstype}`, `i:${flags}`, `s:${data}`]),
  umount: (p, flags) => void perl([`i:${NR.umount2}`, `s:${p}`, `i:${flags}`]),
  // ---- *at calls, fchdir, vectored I/O, flock --------------------------------
  openat(dirfd, p, flags, mode) {
    const fd = fs.openSync(atPath(dirfd, p), flags, mode ?? 0o666);
    openFds.add(fd);
    return fd;
  },
  mkdirat: (dirfd, p, mode) => void fs.mkdirSync(atPath(dirfd, p), { mode }),
  unlinkat(dirfd, p, flags) {
    if ((flags & ~AT_REMOVEDIR) !== 0) throw new SysErr('EINVAL');
    const q = atPath(dirfd, p);
    return flags & AT_REMOVEDIR ? fs.rmdirSync(q) : fs.unlinkSync(q);
  },
  renameat: (ofd, a, nfd, b) => fs.renameSync(atPath(ofd, a), atPath(nfd, b)),
  linkat(ofd, a, nfd, b, flags) {
    // The real linkat(2): olddirfd becomes the helper's fd 0, newdirfd its fd 3.
    if (a.startsWith('/')) ofd = AT_FDCWD;
    if (b.startsWith('/')) nfd = AT_FDCWD;
    perl([`i:${NR.linkat}`, `i:${dirfdArg(ofd, 0)}`, `s:${a}`, `i:${dirfdArg(nfd, 3)}`, `s:${b}`, `i:${flags}`], helperFd(ofd), helperFd(nfd));
  },
  symlinkat: (target, dirfd, p) => fs.symlinkSync(target, atPath(dirfd, p)),
  readlinkat: (dirfd, p) => fs.readlinkSync(atPath(dirfd, p), 'utf8'),
  fstatat(dirfd, p, flags) {
    if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) throw new SysErr('EINVAL');
    if (p === '' && flags & AT_EMPTY_PATH) {
      if (dirfd === AT_FDCWD) return statOut(fs.statSync('.', { bigint: true }));
      checkFd(dirfd);
      return statOut(fs.fstatSync(dirfd, { bigint: true }));
    }
    const q = atPath(dirfd, p);
    return statOut(flags & AT_SYMLINK_NOFOLLOW ? fs.lstatSync(q, { bigint: true }) : fs.statSync(q, { bigint: true }));
  },
  faccessat(dirfd, p, mode, flags) {
    if (p.startsWith('/')) dirfd = AT_FDCWD; // an absolute path never looks at dirfd
    perl([`i:${NR.faccessat2}`, `i:${dirfdArg(dirfd, 0)}`, `s:${p}`, `i:${mode}`, `i:${flags}`], helperFd(dirfd));
  },
  fchmodat: (dirfd, p, mode) => fs.chmodSync(atPath(dirfd, p), mode),
  fchownat(dirfd, p, u, g, flags) {
    if ((flags & ~AT_SYMLINK_NOFOLLOW) !== 0) throw new SysErr('EINVAL');
    const q = atPath(dirfd, p);
    return flags & AT_SYMLINK_NOFOLLOW ? fs.lchownSync(q, u, g) : fs.chownSync(q, u, g);
  },
  fchdir(fd) {
    checkFd(fd);
    if (!fs.fstatSync(fd).isDirectory()) throw new SysErr('ENOTDIR');
    process.chdir(`/proc/self/fd/${fd}`);
  },
  readv(fd, sizes) {
    const bufs = sizes.map((n) => Buffer.alloc(n));
    let left = fs.readvSync(fd, bufs);
    return bufs.map((b) => {
      const part = b.subarray(0, Math.min(left, b.length));
      left -= part.length;
      return b64(part);
    });
  },
  writev: (fd, parts) => fs.writevSync(fd, parts.map(bytes)),
  fdatasync: (fd) => fs.fdatasyncSync(fd),
  flock(fd, op) {
    checkFd(fd);
    perl([`flock:${op}`], fd);
  },
  statx(dirfd, p, flags, mask) {
    if (p.startsWith('/')) dirfd = AT_FDCWD;
    const b = perl([`i:${NR.statx}`, `i:${dirfdArg(dirfd, 0)}`, `s:${p}`, `i:${flags}`, `i:${mask}`, 'O:256'], helperFd(dirfd)).bytes;
    return statxOut(Buffer.from(b ?? []));
  },
  fstatfs(fd) {
    checkFd(fd);
    const b = Buffer.from(perl([`i:${NR.fstatfs}`, 'i:0', 'O:120'], fd).bytes ?? []);
    const q = (i) => Number(b.readBigInt64LE(i * 8));
    return { type: q(0), bsize: q(1), blocks: q(2), bfree: q(3), bavail: q(4), files: q(5), ffree: q(6) };
  },
  sync: () => void perl([`i:${NR.sync}`]),
  syncfs(fd) {
    checkFd(fd);
    perl([`i:${NR.syncfs}`, 'i:0'], fd);
  },
  pathconf: (p, name) => perl([`pathconf:${name}:${p}`]).r,
  exit: () => setImmediate(() => process.exit(0)),
};

/** struct statx (include/uapi/linux/stat.h, the same on every architecture). */
function statxOut(b) {
  const u32 = (o) => b.readUInt32LE(o);
  const u64 = (o) => Number(b.readBigUInt64LE(o));
  const ts = (o) => ({ sec: Number(b.readBigInt64LE(o)), nsec: u32(o + 8) });
  return {
    mask: u32(0), blksize: u32(4), nlink: u32(16), uid: u32(20), gid: u32(24), mode: b.readUInt16LE(28),
    ino: u64(32), size: u64(40), blocks: u64(48),
    atime: ts(64), btime: ts(80), ctime: ts(96), mtime: ts(112),
    rdev_major: u32(128), rdev_minor: u32(132), dev_major: u32(136), dev_minor: u32(140),
  };
}

/** A dirfd as the helper will see it: AT_FDCWD stays, a real fd becomes `as` (0 or 3). */
function dirfdArg(dirfd, as) {
  if (dirfd === AT_FDCWD) return AT_FDCWD;
  if (!(Number.isInteger(dirfd) && dirfd >= 0)) throw new SysErr('EBADF');
  checkFd(dirfd);
  return as;
}

/** The fd to hand the helper for a dirfd (undefined for AT_FDCWD). */
function helperFd(dirfd) {
  return dirfd === AT_FDCWD ? undefined : dirfd;
}

/**
 * A *at path as a plain path: relative paths under a dirfd go through the
 * process's /proc/self/fd/N link, so Linux's own walk decides (ENOTDIR for a
 * non-directory dirfd, ".." from the directory's real place). EBADF for a bad
 * dirfd is answered here, as Linux does before any lookup.
 */
function atPath(dirfd, p) {
  if (p === '') throw new SysErr('ENOENT');
  if (p.startsWith('/') || dirfd === AT_FDCWD) return p;
  if (!(Number.isInteger(dirfd) && dirfd >= 0)) throw new SysErr('EBADF');
  checkFd(dirfd);
  if (!fs.fstatSync(dirfd).isDirectory()) throw new SysErr('ENOTDIR');
  return `/proc/self/fd/${dirfd}/${p}`;
}

const FD_OPS = new Set(['fstatfs', 'syncfs', 'close', 'read', 'write', 'pread', 'pwrite', 'lseek', 'fsync', 'fdatasync', 'fstat', 'fchmod', 'fchown', 'ftruncate', 'futimens', 'fchdir', 'readv', 'writev', 'flock']);

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const { id, op, args } = JSON.parse(line);
  let reply;
  try {
    const f = ops[op];
    if (f === undefined) throw new SysErr('ENOSYS');
    // node:fs range-checks descriptors; Linux answers EBADF for any bad fd.
    if (FD_OPS.has(op) && !(Number.isInteger(args[0]) && args[0] >= 0 && args[0] <= 0x7fffffff)) throw new SysErr('EBADF');
    const v = f(...args);
    reply = { id, ok: v === undefined ? null : v };
  } catch (e) {
    const code = e && typeof e.code === 'string' ? e.code : 'BUG';
    reply = { id, err: code, msg: code === 'BUG' || code.startsWith('ERR_') ? String(e && e.stack) : undefined };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
});
rl.on('close', () => process.exit(0));
