/**
 * System utilities: ps, kill, sleep, env, hostname, uname, id, date, dmesg,
 * sysctl, halt/poweroff, test/[, mount, umount, df, du, sync, xargs,
 * ktrace/kdump, sysbench.
 */
import { type Libc, getopt, strerror } from '../libc.ts';
import { SIGTERM, SIGUSR1, SIGUSR2, WEXITSTATUS, WIFEXITED } from '../abi.ts';
import { testExpr } from '../test_expr.ts';

const SIGNAMES = ['', 'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM',
  'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS'];

interface PsRow { pid: number; ppid: number; uid: number; state: string; comm: string; pgid?: number; sid?: number; stat?: string; wchan?: string; args?: string }

/** ps [-ef]: every process with its parent, group, session, state and wait channel (from the kernel's process table). */
export function ps(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'efaxl', 'ps [-ef]');
  if (g === null) return 2;
  const rows = (u.sys.ps!() as PsRow[]).filter((r) => r.pid !== 0 && r.state !== 'reaped');
  u.out('  PID  PPID  PGID   SID STAT WCHAN      COMMAND\n');
  for (const r of rows.sort((a, b) => a.pid - b.pid)) {
    u.out(`${String(r.pid).padStart(5)} ${String(r.ppid).padStart(5)} ${String(r.pgid ?? '').padStart(5)} ${String(r.sid ?? '').padStart(5)} ${(r.stat ?? (r.state === 'zombie' ? 'Z' : 'S')).padEnd(4)} ${(r.wchan ?? '-').slice(0, 10).padEnd(10)} ${r.args || r.comm}\n`);
  }
  return 0;
}

function sigNum(s: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const n = SIGNAMES.indexOf(s.replace(/^SIG/, ''));
  return n > 0 ? n : -1;
}

export function kill(u: Libc): number {
  const a = u.argv.slice(1);
  if (a[0] === '--help' || a.length === 0) { (a.length ? u.out : u.err).call(u, 'usage: kill [-s sig | -SIG] pid ...  |  kill -l\n'); return a.length ? 0 : 2; }
  if (a[0] === '-l') { u.out(SIGNAMES.slice(1).join(' ') + '\n'); return 0; }
  let sig = SIGTERM;
  if (a[0] === '-s') { sig = sigNum(a[1] ?? ''); a.splice(0, 2); } else if (a[0]!.startsWith('-') && a[0] !== '--' && !/^-\d+$/.test(a[1] ?? 'x') || /^-[A-Z]/.test(a[0]!)) { sig = sigNum(a.shift()!.slice(1)); }
  if (a[0] === '--') a.shift();
  if (sig < 0) { u.err('kill: unknown signal\n'); return 2; }
  let st = 0;
  for (const p of a) {
    try { u.sys.kill!(Number(p), sig); } catch (e) { u.err(`kill: (${p}) - ${strerror(e)}\n`); st = 1; }
  }
  return st;
}

export function sleep(u: Libc): number {
  const s = Number(u.argv[1]);
  if (u.argv[1] === '--help') { u.out('usage: sleep seconds\n'); return 0; }
  if (!(s >= 0)) { u.err('usage: sleep seconds\n'); return 2; }
  const ns = BigInt(Math.round(s * 1e9));
  u.sys.nanosleep!({ sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) });
  return 0;
}

export function env(u: Libc): number {
  const a = u.argv.slice(1);
  if (a[0] === '--help') { u.out('usage: env [name=value ...] [command [arg ...]]\n'); return 0; }
  const e = new Map(u.env);
  while (a.length > 0 && a[0]!.includes('=')) {
    const kv = a.shift()!;
    e.set(kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1));
  }
  const envp = [...e].map(([k, v]) => `${k}=${v}`);
  if (a.length === 0) { for (const x of envp) u.out(x + '\n'); return 0; }
  const path = u.which(a[0]!);
  if (path === null) { u.err(`env: '${a[0]}': No such file or directory\n`); return 127; }
  u.stdout.flush();
  const pid = u.sys.spawn!(path, a, envp, {}) as number;
  const { status } = u.sys.wait4!(pid, 0) as { status: number };
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (status & 0x7f);
}

export function hostname(u: Libc): number {
  if (u.argv[1] === '--help') { u.out('usage: hostname [name]\n'); return 0; }
  if (u.argv[1] !== undefined) u.sys.sysctl!('kern.hostname', u.argv[1]);
  else u.out(`${u.sys.sysctl!('kern.hostname')}\n`);
  return 0;
}

export function uname(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'asnrvm', 'uname [-asnrvm]');
  if (g === null) return 2;
  const n = u.sys.uname!() as Record<string, string>;
  const keys: [string, string][] = [['s', 'sysname'], ['n', 'nodename'], ['r', 'release'], ['v', 'version'], ['m', 'machine']];
  const sel = g.opts.has('a') ? keys : keys.filter(([k]) => g.opts.has(k));
  u.out((sel.length ? sel : [keys[0]!]).map(([, f]) => n[f]).join(' ') + '\n');
  return 0;
}

export function id(u: Libc): number {
  if (u.argv[1] === '--help') { u.out('usage: id\n'); return 0; }
  const s = u.sys;
  u.out(`uid=${s.getuid!()} gid=${s.getgid!()} euid=${s.geteuid!()} egid=${s.getegid!()} groups=${(s.getgroups!() as number[]).join(',')}\n`);
  return 0;
}

export function date(u: Libc): number {
  if (u.argv[1] === '--help') { u.out('usage: date [+%s]\n'); return 0; }
  const t = u.sys.clock_gettime!(0) as { sec: number; nsec: number };
  if (u.argv[1] === '+%s') u.out(`${t.sec}\n`);
  else u.out(new Date(t.sec * 1000).toUTCString() + '\n');
  return 0;
}

export function dmesg(u: Libc): number {
  if (u.argv[1] === '--help') { u.out('usage: dmesg\n'); return 0; }
  const buf = u.sys.syslog!(3) as string | Uint8Array;
  u.out(typeof buf === 'string' ? buf : buf);
  return 0;
}

export function sysctl(u: Libc): number {
  const a = u.argv.slice(1);
  if (a[0] === '--help') { u.out('usage: sysctl [-a] [name[=value] ...]\n'); return 0; }
  if (a.length === 0 || a[0] === '-a') {
    for (const e of u.sys.sysctl_list!('') as { name: string; value: unknown }[]) u.out(`${e.name} = ${String(e.value)}\n`);
    return 0;
  }
  let st = 0;
  for (const x of a) {
    const i = x.indexOf('=');
    try {
      if (i > 0) u.sys.sysctl!(x.slice(0, i), /^\d+$/.test(x.slice(i + 1)) ? Number(x.slice(i + 1)) : x.slice(i + 1));
      const name = i > 0 ? x.slice(0, i) : x;
      u.out(`${name} = ${String(u.sys.sysctl!(name))}\n`);
    } catch (e) { u.warn(x, e); st = 1; }
  }
  return st;
}

/** halt / poweroff: ask init (SIGUSR1 halt, SIGUSR2 power off, as busybox init takes them). */
export function halt(u: Libc): number {
  if (u.argv[1] === '--help') { u.out(`usage: ${u.progname}\n`); return 0; }
  try {
    u.sys.kill!(1, u.progname === 'poweroff' ? SIGUSR2 : SIGUSR1);
  } catch (e) { u.warn('cannot signal init', e); return 1; }
  return 0;
}

export function test(u: Libc): number {
  let a = u.argv.slice(1);
  if (u.progname === '[') {
    if (a[a.length - 1] !== ']') { u.err('[: missing ]\n'); return 2; }
    a = a.slice(0, -1);
  }
  return testExpr(u.sys, a, (m) => u.err(`${u.progname}: ${m}\n`));
}

export function mount(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 't:o:r', 'mount [-t type] [-r] source target');
  if (g === null) return 2;
  if (g.rest.length === 0) { u.out(new TextDecoder().decode(u.readFile('/proc/mounts'))); return 0; }
  if (g.rest.length !== 2) { u.err('usage: mount [-t type] [-r] source target\n'); return 2; }
  try { u.sys.mount!(g.rest[0], g.rest[1], String(g.opts.get('t') ?? 'tmpfs'), g.opts.has('r') ? 1 : 0, String(g.opts.get('o') ?? '')); } catch (e) { u.warn(g.rest[1]!, e); return 1; }
  return 0;
}

export function umount(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'l', 'umount [-l] target');
  if (g === null || g.rest.length !== 1) return 2;
  try { u.sys.umount2!(g.rest[0], g.opts.has('l') ? 2 : 0); } catch (e) { u.warn(g.rest[0]!, e); return 1; }
  return 0;
}

/** xargs [command [arg...]]: run command with stdin's words appended (one invocation; -n N per N words). */
export function xargs(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 'n:', 'xargs [-n max] [command [arg ...]]');
  if (g === null) return 2;
  const cmd = g.rest.length ? g.rest : ['echo'];
  const words = new TextDecoder().decode(u.readAll(0)).split(/\s+/).filter(Boolean);
  const per = Number(g.opts.get('n') ?? (words.length || 1));
  const path = u.which(cmd[0]!);
  if (path === null) { u.err(`xargs: ${cmd[0]}: No such file or directory\n`); return 127; }
  let st = 0;
  for (let i = 0; i === 0 || i < words.length; i += per) {
    u.stdout.flush();
    const pid = u.sys.spawn!(path, [...cmd, ...words.slice(i, i + per)], u.envp(), { actions: [{ op: 'open', fd: 0, path: '/dev/null', flags: 0 }] }) as number;
    const { status } = u.sys.wait4!(pid, 0) as { status: number };
    if (!WIFEXITED(status) || WEXITSTATUS(status) !== 0) st = 123;
  }
  return st;
}

/**
 * ktrace command [arg...]: run a command with system-call tracing on and
 * print its trace (kdump) when it ends. Tracing starts right after spawn,
 * before the new image has made its first call (a worker takes longer to
 * start than this process takes to ask).
 */
export function ktrace(u: Libc): number {
  const a = u.argv.slice(1);
  if (a.length === 0 || a[0] === '--help') { (a.length ? u.out : u.err).call(u, 'usage: ktrace command [arg ...]\n'); return a.length ? 0 : 2; }
  const path = u.which(a[0]!);
  if (path === null) { u.err(`ktrace: ${a[0]}: not found\n`); return 127; }
  u.stdout.flush();
  const pid = u.sys.spawn!(path, a, u.envp(), {}) as number;
  try { u.sys.ktrace!(pid, 1); } catch { /* it ended already */ }
  // waitid with WNOWAIT: the zombie keeps its trace until we have printed it.
  const info = u.sys.waitid!(1 /* P_PID */, pid, 4 /* WEXITED */ | 0x0100_0000 /* WNOWAIT */) as { code: number; status: number };
  try { u.err(String(u.sys.ktrace_dump!(pid)) + '\n'); } catch (e) { u.warn('kdump', e); }
  u.sys.wait4!(pid, 0);
  return info.code === 1 /* CLD_EXITED */ ? info.status : 128 + info.status;
}

/** kdump pid: the system-call trace of a traced process (see ktrace). */
export function kdump(u: Libc): number {
  const pid = Number(u.argv[1]);
  if (u.argv[1] === '--help' || !Number.isInteger(pid)) { (u.argv[1] === '--help' ? u.out : u.err).call(u, 'usage: kdump pid\n'); return u.argv[1] === '--help' ? 0 : 2; }
  try { u.out(String(u.sys.ktrace_dump!(pid)) + '\n'); } catch (e) { u.warn(String(pid), e); return 1; }
  return 0;
}

/** df [path...]: file-system usage in 1K blocks, from statfs(2) of each mount in /proc/mounts. */
export function df(u: Libc): number {
  if (u.argv[1] === '--help') { u.out('usage: df [path ...]\n'); return 0; }
  const mounts = new TextDecoder().decode(u.readFile('/proc/mounts')).split('\n').filter(Boolean).map((l) => l.split(' '));
  const targets = u.argv.length > 1 ? u.argv.slice(1).map((p) => ['-', p, '-']) : mounts;
  u.out('Filesystem     1K-blocks      Used Available Use% Mounted on\n');
  let st = 0;
  for (const m of targets) {
    try {
      const f = u.sys.statfs!(m[1]) as { bsize: number; blocks: number; bfree: number; bavail: number };
      const k = (n: number) => Math.round((n * f.bsize) / 1024);
      const used = f.blocks - f.bfree;
      const pct = f.blocks === 0 ? '-' : `${Math.ceil((used * 100) / (used + f.bavail || 1))}%`;
      u.out(`${(m[0] ?? '-').padEnd(14)} ${String(k(f.blocks)).padStart(9)} ${String(k(used)).padStart(9)} ${String(k(f.bavail)).padStart(9)} ${pct.padStart(4)} ${m[1]}\n`);
    } catch (e) { u.warn(m[1]!, e); st = 1; }
  }
  return st;
}

/** du [-s] [path...]: disk usage in 1K blocks (st_blocks), per directory or summarised. */
export function du(u: Libc): number {
  const g = getopt(u, u.argv.slice(1), 's', 'du [-s] [path ...]');
  if (g === null) return 2;
  let st = 0;
  const walk = (p: string, depth: number): number => {
    let s: { mode: number; blocks: number };
    try { s = u.sys.lstat!(p) as { mode: number; blocks: number }; } catch (e) { u.warn(p, e); st = 1; return 0; }
    let total = s.blocks / 2;
    if ((s.mode & 0o170000) === 0o040000 && depth < 64) {
      let fd: number;
      try { fd = u.sys.open!(p, 0o200000) as number; } catch (e) { u.warn(p, e); st = 1; return total; }
      const names: string[] = [];
      try {
        for (;;) {
          const ents = u.sys.getdents64!(fd, 65536) as { name: string }[];
          if (ents.length === 0) break;
          for (const e of ents) if (e.name !== '.' && e.name !== '..') names.push(e.name);
        }
      } finally { u.sys.close!(fd); }
      for (const n of names.sort()) total += walk(p === '/' ? `/${n}` : `${p}/${n}`, depth + 1);
      if (!g.opts.has('s')) u.out(`${Math.ceil(total)}\t${p}\n`);
    }
    return total;
  };
  for (const p of g.rest.length ? g.rest : ['.']) {
    const t = walk(p, 0);
    if (g.opts.has('s')) u.out(`${Math.ceil(t)}\t${p}\n`);
  }
  return st;
}

/** sync: write every file system's dirty data to its disk (sync(2)). */
export function sync(u: Libc): number {
  if (u.argv[1] === '--help') { u.out('usage: sync\n'); return 0; }
  u.sys.sync!();
  return 0;
}

/**
 * sysbench [N]: a small benchmark of this kernel as a user process sees it —
 * N getpid(2) round trips (the median of batches of 100), then N/10 one-byte
 * round trips through two pipes to a child (`sysbench --echo`); prints
 * nanoseconds per operation.
 */
export function sysbench(u: Libc): number {
  const a = u.argv.slice(1);
  if (a[0] === '--help') { u.out('usage: sysbench [N]\n'); return 0; }
  const b = new Uint8Array(1);
  if (a[0] === '--echo') {
    while (u.read(0, b) === 1) u.sys.write!(1, b);
    return 0;
  }
  const n = Number(a[0] ?? 20000);
  const clock = (): bigint => {
    const t = u.sys.clock_gettime!(1) as { sec: number; nsec: number };
    return BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
  };
  // Median of batches of 100 calls: a loaded machine's descheduling shows in the mean, not the median.
  const medianBatch = (batches: number, size: number, fn: () => void): number => {
    const xs: number[] = [];
    for (let b = 0; b < batches; b++) {
      const t = clock();
      for (let i = 0; i < size; i++) fn();
      xs.push(Number(clock() - t) / size);
    }
    xs.sort((x, y) => x - y);
    return xs[xs.length >> 1]!;
  };
  for (let i = 0; i < 1000; i++) u.sys.getpid!();
  const sysNs = medianBatch(Math.max(1, Math.floor(n / 100)), 100, () => u.sys.getpid!());
  let t0: bigint;
  const [r1, w1] = u.sys.pipe2!(0o2000000) as [number, number];
  const [r2, w2] = u.sys.pipe2!(0o2000000) as [number, number];
  const self = u.which(u.argv[0]!) ?? '/bin/sysbench';
  const pid = u.sys.spawn!(self, ['sysbench', '--echo'], u.envp(), { actions: [{ op: 'dup2', fd: r1, newfd: 0 }, { op: 'dup2', fd: w2, newfd: 1 }] }) as number;
  u.sys.close!(r1);
  u.sys.close!(w2);
  const m = Math.max(1, Math.floor(n / 10));
  for (let i = 0; i < 100; i++) { u.sys.write!(w1, b); u.read(r2, b); }
  t0 = clock();
  for (let i = 0; i < m; i++) { u.sys.write!(w1, b); u.read(r2, b); }
  const pipeNs = Number(clock() - t0) / m;
  u.sys.close!(w1);
  u.sys.wait4!(pid, 0);
  u.sys.close!(r2);
  u.out(`syscall ${sysNs.toFixed(0)} ns\npipe-roundtrip ${pipeNs.toFixed(0)} ns\n`);
  return 0;
}
