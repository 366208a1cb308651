/**
 * `anykernel boot` (what `npm start` runs). Until the monolithic frontend
 * exists, it boots a kernel in library mode, does real work through system
 * calls — files and permissions, a pipe between processes, signals and
 * wait4, procfs, sysctl, ktrace — and prints what happened, ending with the
 * kernel's leak report at halt.
 */
import { parseArgs } from 'node:util';
import '../frontends/library/node_default.ts'; // boot() without a host gets a NodeHost
import {
  boot, O_CREAT, O_WRONLY, O_RDONLY, O_DIRECTORY, SIGTERM, SIGUSR1, POLLIN, KernelError, S_ISDIR,
} from '../index.ts';

const HELP = `usage: anykernel boot [--demo] [--quiet]

Boots a kernel. The monolithic frontend (processes in workers, a tty and a
shell) is not built yet, so this boots in library mode and walks through what
the kernel can do, printing every step.

options:
  --demo     (default) run the walkthrough
  --quiet    print only the summary
  -h, --help this text
`;

const enc = new TextEncoder();
const dec = new TextDecoder();

export async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { demo: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const say = values.quiet ? (_s: string) => undefined : (s: string) => process.stdout.write(s + '\n');
  const t0 = process.hrtime.bigint();
  const k = await boot();
  const bootMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const sys = k.sys as unknown as Record<string, (...a: any[]) => Promise<any>>;
  const u = await sys.uname!();
  say(`anykernel: booted ${u.sysname} ${u.release} on the ${k.hyper.hostName} host in ${bootMs.toFixed(1)} ms`);
  say(`  components: ${[...k.kernel.components.keys()].join(', ')}; ${k.kernel.syscalls.byName.size} system calls`);

  say('\n# files: mkdir, open/write/close, stat, getdents64');
  await sys.mkdir!('/home', 0o755);
  await sys.mkdir!('/home/alice', 0o700);
  await sys.chown!('/home/alice', 1000, 1000);
  const fd = await sys.open!('/etc-motd', O_CREAT | O_WRONLY, 0o600);
  const n = await sys.write!(fd, enc.encode('Welcome to anykernel.\n'));
  await sys.close!(fd);
  const st = await sys.stat!('/etc-motd');
  say(`  wrote ${n} bytes to /etc-motd: mode ${st.mode.toString(8)}, uid ${st.uid}, size ${st.size}, ino ${st.ino}`);
  const dfd = await sys.open!('/', O_RDONLY | O_DIRECTORY);
  const ents = (await sys.getdents64!(dfd, 4096)) as { name: string; type: number }[];
  await sys.close!(dfd);
  say(`  / contains: ${ents.map((e) => e.name).join(' ')}`);

  say('\n# permissions: a uid-1000 process');
  const alice = k.rfork({ uid: 1000, gid: 1000, comm: 'alice' });
  const asys = alice.sys as unknown as Record<string, (...a: any[]) => Promise<any>>;
  await asys.open!('/etc-motd', O_RDONLY).then(
    () => say('  alice opened root-only /etc-motd (unexpected!)'),
    (e: KernelError) => say(`  alice: open("/etc-motd") -> ${e.code} (mode 0600, owner root)`),
  );
  const afd = await asys.open!('/home/alice/notes', O_CREAT | O_WRONLY, 0o644);
  await asys.close!(afd);
  const ast = await sys.stat!('/home/alice/notes');
  say(`  alice created /home/alice/notes, owned by uid ${ast.uid} gid ${ast.gid} (umask 022 -> mode ${(ast.mode & 0o777).toString(8)})`);

  say('\n# a pipe between two processes, with poll');
  const [r, w] = (await sys.pipe!()) as [number, number];
  const writer = k.rfork({ comm: 'writer' });
  const reader = k.rfork({ comm: 'reader' });
  const wsys = writer.sys as unknown as Record<string, (...a: any[]) => Promise<any>>;
  const rsys = reader.sys as unknown as Record<string, (...a: any[]) => Promise<any>>;
  await sys.close!(r);
  await sys.close!(w);
  const readDone = (async () => {
    const p = await rsys.poll!([{ fd: r, events: POLLIN }], -1);
    const buf = new Uint8Array(64);
    const got = await rsys.read!(r, buf);
    return { revents: p.fds[0].revents, text: dec.decode(buf.subarray(0, got)) };
  })();
  await wsys.write!(w, enc.encode('hello through a kernel pipe'));
  const got = await readDone;
  say(`  reader (pid ${reader.pid}) poll revents=${got.revents} read: "${got.text}"`);

  say('\n# signals and wait4');
  let caught = 0;
  await rsys.sigaction!(SIGUSR1, { handler: () => { caught++; } });
  await sys.kill!(reader.pid, SIGUSR1);
  await sys.nanosleep!({ sec: 0, nsec: 1_000_000 });
  say(`  SIGUSR1 to pid ${reader.pid}: handler ran ${caught} time(s)`);
  await sys.kill!(writer.pid, SIGTERM);
  const ws = await sys.wait4!(writer.pid, 0);
  say(`  SIGTERM to pid ${writer.pid}: wait4 -> pid ${ws.pid}, status 0x${ws.status.toString(16)} (killed by signal ${ws.status & 0x7f})`);
  await k.exit(reader, 3);
  const rs = await sys.wait4!(reader.pid, 0);
  say(`  pid ${reader.pid} exited: wait4 status 0x${rs.status.toString(16)} (exit code ${(rs.status >> 8) & 0xff})`);

  if (k.kernel.syscalls.byName.has('readlink')) {
    say('\n# procfs and sysctl');
    const readAll = async (p: string): Promise<string | null> => {
      try {
        const f = await sys.open!(p, O_RDONLY);
        const b = new Uint8Array(4096);
        const m = await sys.read!(f, b);
        await sys.close!(f);
        return dec.decode(b.subarray(0, m));
      } catch {
        return null;
      }
    };
    const status = await readAll('/proc/self/status');
    if (status !== null) say(`  /proc/self/status: ${status.split('\n').filter((l) => /^(Name|Pid|PPid|Uid):/.test(l)).join(' | ').replace(/\t/g, ' ')}`);
    const mounts = await readAll('/proc/mounts');
    if (mounts !== null) say(`  /proc/mounts:\n${mounts.trimEnd().split('\n').map((l) => '    ' + l).join('\n')}`);
  }
  say(`  sysctl kern.hostname = ${await sys.sysctl!('kern.hostname')}, kern.ostype = ${await sys.sysctl!('kern.ostype')}`);

  say('\n# ktrace of a process');
  await sys.ktrace!(alice.pid, 1);
  await asys.getuid!();
  await asys.stat!('/home/alice/notes');
  await asys.unlink!('/etc-motd').catch(() => undefined);
  const st2 = await asys.stat!('/home');
  void S_ISDIR(st2.mode);
  say((await sys.ktrace_dump!(alice.pid)).split('\n').map((l: string) => '  ' + l).join('\n'));

  await k.exit(alice, 0);
  await sys.wait4!(alice.pid, 0);
  say('\n# dmesg');
  say(k.dmesg().split('\n').slice(-4).map((l) => '  ' + l).join('\n'));
  const report = await k.shutdown();
  const leaks = [...report.openFiles, ...report.heldLocks, ...report.liveThreads, ...report.processes, ...report.other];
  process.stdout.write(`\nhalted: ${report.clean ? 'no leaked resources' : 'leaks: ' + leaks.join('; ')}\n`);
  (k.hyper as { dispose?: () => void }).dispose?.();
  return 0;
}
