/**
 * procfs through the library syscalls on the sim host: per-process
 * directories after rfork/exit/reap, /proc/self, fd links, /proc/mounts,
 * /proc/sys reads and writes with their permission rules, snapshots.
 */
import { describe, expect, it } from 'vitest';
import { boot, type BootedKernel, type Sys } from '../frontends/library/boot.ts';
import { SimHost } from '../hyper/sim/host.ts';
import type { ProcHandle } from '../kern/lwproc.ts';
import { O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, SIG_BLOCK, SIGUSR1, SIGTERM } from '../kern/constants.ts';
import { EINVAL, err } from '../kern/errno.ts';

async function sim<T>(seed: number, fn: (k: BootedKernel, host: SimHost) => Promise<T>): Promise<T> {
  const host = new SimHost({ seed });
  const k = await boot({ host });
  try {
    return await host.run(() => fn(k, host), { limitSteps: 2_000_000 });
  } finally {
    host.dispose();
  }
}
const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));
const sysOf = (h: ProcHandle): Sys => h.sys as unknown as Sys;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function readAll(sys: Sys, path: string): Promise<string> {
  const fd = await sys.open(path, O_RDONLY);
  try {
    let out = '';
    const b = new Uint8Array(7); // small reads: the snapshot must stay consistent across them
    for (;;) {
      const n = await sys.read(fd, b);
      if (n === 0) return out;
      out += new TextDecoder().decode(b.subarray(0, n), { stream: true });
    }
  } finally {
    await sys.close(fd);
  }
}
async function ls(sys: Sys, path: string): Promise<string[]> {
  const fd = await sys.open(path, O_RDONLY | O_DIRECTORY);
  const names: string[] = [];
  for (;;) {
    const ents = (await sys.getdents64(fd, 4096)) as { name: string }[];
    if (ents.length === 0) break;
    names.push(...ents.map((e) => e.name));
  }
  await sys.close(fd);
  return names;
}
function field(status: string, name: string): string {
  const line = status.split('\n').find((l) => l.startsWith(name + ':'));
  if (line === undefined) throw new Error(`no ${name} in status`);
  return line.slice(name.length + 1).replace(/^\t/, '');
}

describe('/proc/<pid>', () => {
  it('lists every process; rfork adds a directory, exit makes it a zombie, reaping removes it', () =>
    sim(1, async (k) => {
      const before = await ls(k.sys, '/proc');
      expect(before.slice(0, 7)).toEqual(['.', '..', 'self', 'mounts', 'uptime', 'meminfo', 'sys']);
      expect(before).toContain('1');
      expect(before).not.toContain('0');
      const child = k.rfork({ comm: 'worker' });
      expect(await ls(k.sys, '/proc')).toContain(String(child.pid));
      expect(field(await readAll(k.sys, `/proc/${child.pid}/status`), 'State')).toBe('S (sleeping)');
      await k.exit(child, 3);
      const st = await readAll(k.sys, `/proc/${child.pid}/status`);
      expect(field(st, 'State')).toBe('Z (zombie)');
      expect(await readAll(k.sys, `/proc/${child.pid}/cmdline`)).toBe('');
      await k.sys.wait4(child.pid, 0);
      expect(await ls(k.sys, '/proc')).not.toContain(String(child.pid));
      expect(await code(k.sys.stat(`/proc/${child.pid}`))).toBe('ENOENT');
    }));

  it('status has Linux fields: Name, State, Pid, PPid, Uid/Gid (4 ids), Groups, FDSize, signal masks', () =>
    sim(2, async (k) => {
      const u = k.rfork({ uid: 1000, gid: 100, groups: [4, 24, 27], comm: 'a-very-long-command-name' });
      const us = sysOf(u);
      await us.sigprocmask(SIG_BLOCK, 1n << BigInt(SIGUSR1 - 1));
      const st = await readAll(us, '/proc/self/status');
      expect(field(st, 'Name')).toBe('a-very-long-com'); // 15 bytes, TASK_COMM_LEN
      expect(field(st, 'State')).toBe('R (running)'); // reading its own status
      expect(field(st, 'Pid')).toBe(String(u.pid));
      expect(field(st, 'Tgid')).toBe(String(u.pid));
      expect(field(st, 'PPid')).toBe('1');
      expect(field(st, 'Uid')).toBe('1000\t1000\t1000\t1000');
      expect(field(st, 'Gid')).toBe('100\t100\t100\t100');
      expect(field(st, 'Groups')).toBe('4 24 27');
      expect(field(st, 'FDSize')).toBe('64');
      expect(field(st, 'SigBlk')).toBe('0000000000000200');
      expect(field(st, 'Umask')).toBe('0022');
      const order = st.split('\n').filter(Boolean).map((l) => l.split(':')[0]);
      expect(order.slice(0, 12)).toEqual(['Name', 'Umask', 'State', 'Tgid', 'Ngid', 'Pid', 'PPid', 'TracerPid', 'Uid', 'Gid', 'FDSize', 'Groups']);
      const stat = (await readAll(us, `/proc/${u.pid}/stat`)).trim().split(' ');
      expect(stat.length).toBe(52);
      expect(stat.slice(0, 4)).toEqual([String(u.pid), '(a-very-long-com)', 'R', '1']);
      // The directory belongs to the process's effective ids.
      const d = await k.sys.stat(`/proc/${u.pid}`);
      expect([d.uid, d.gid, d.mode & S_IFMT, d.mode & 0o7777]).toEqual([1000, 100, S_IFDIR, 0o555]);
      await k.exit(u);
    }));

  it('cmdline is argv with each argument NUL-terminated; comm is writable by the process itself', () =>
    sim(3, async (k) => {
      const c = k.rfork({ comm: 'sh' });
      c.proc.argv = ['sh', '-c', 'echo hi'];
      expect(await readAll(k.sys, `/proc/${c.pid}/cmdline`)).toBe('sh\0-c\0echo hi\0');
      expect(await readAll(k.sys, `/proc/${c.pid}/comm`)).toBe('sh\n');
      const cs = sysOf(c);
      const fd = await cs.open('/proc/self/comm', O_WRONLY);
      await cs.write(fd, enc('renamed\n'));
      await cs.close(fd);
      expect(c.proc.comm).toBe('renamed');
      // Another process (even root) may not rename it: EINVAL from comm_write.
      const fd2 = await k.sys.open(`/proc/${c.pid}/comm`, O_WRONLY);
      expect(await code(k.sys.write(fd2, enc('x')))).toBe('EINVAL');
      await k.sys.close(fd2);
      await k.exit(c);
    }));

  it('fd/ has one link per open descriptor: paths, pipe:[ino], and the dev node of a device', () =>
    sim(4, async (k) => {
      await k.sys.mkdir('/dir', 0o755);
      await k.sys.mkdir('/dir/sub', 0o755);
      const f = await k.sys.open('/dir/sub/file', O_CREAT | O_RDWR, 0o644);
      const [r, w] = await k.sys.pipe();
      const n = await k.sys.open('/dev/null', O_WRONLY);
      const d = await k.sys.open('/dir', O_RDONLY | O_DIRECTORY);
      const names = await ls(k.sys, '/proc/self/fd');
      // The descriptor ls itself opened on the directory is listed too (as on Linux).
      expect(names.slice(0, 2)).toEqual(['.', '..']);
      expect(names.slice(2).map(Number).sort((a, b) => a - b)).toEqual([f, r, w, n, d, d + 1].sort((a, b) => a - b));
      expect(await k.sys.readlink(`/proc/self/fd/${f}`)).toBe('/dir/sub/file');
      expect(await k.sys.readlink(`/proc/self/fd/${r}`)).toMatch(/^pipe:\[\d+\]$/);
      expect(await k.sys.readlink(`/proc/self/fd/${r}`)).toBe(await k.sys.readlink(`/proc/self/fd/${w}`));
      expect(await k.sys.readlink(`/proc/self/fd/${n}`)).toBe('/dev/null');
      expect(await k.sys.readlink(`/proc/self/fd/${d}`)).toBe('/dir');
      // Link modes follow the access mode (lr-x, l-wx, lrwx).
      expect((await k.sys.lstat(`/proc/self/fd/${f}`)).mode & 0o777).toBe(0o700);
      expect((await k.sys.lstat(`/proc/self/fd/${r}`)).mode & 0o777).toBe(0o500);
      expect((await k.sys.lstat(`/proc/self/fd/${w}`)).mode & 0o777).toBe(0o300);
      // Following the link reaches the file (resolved by path).
      expect((await k.sys.stat(`/proc/self/fd/${f}`)).ino).toBe((await k.sys.stat('/dir/sub/file')).ino);
      // /dev/stdin -> /proc/self/fd/0 works once fd 0 exists.
      expect(await k.sys.readlink('/dev/fd')).toBe('/proc/self/fd');
      await k.sys.rename('/dir/sub/file', '/dir/moved');
      expect(await k.sys.readlink(`/proc/self/fd/${f}`)).toBe('/dir/moved');
      // A hard link elsewhere keeps the file reachable once the name it was found by is gone.
      await k.sys.link('/dir/moved', '/other-name');
      await k.sys.unlink('/dir/moved');
      expect(await k.sys.readlink(`/proc/self/fd/${f}`)).toBe('/other-name');
      await k.sys.unlink('/other-name');
      expect(await k.sys.readlink(`/proc/self/fd/${f}`)).toBe('(deleted)');
      await k.sys.close(f);
      expect(await code(k.sys.readlink(`/proc/self/fd/${f}`))).toBe('ENOENT');
      for (const x of [r, w, n, d]) await k.sys.close(x);
    }));

  it('cwd and root links; another user may not read them, nor list fd/', () =>
    sim(5, async (k) => {
      await k.sys.mkdir('/work', 0o777);
      const a = k.rfork({ uid: 1000, gid: 1000 });
      await sysOf(a).chdir('/work');
      expect(await k.sys.readlink(`/proc/${a.pid}/cwd`)).toBe('/work');
      expect(await k.sys.readlink(`/proc/${a.pid}/root`)).toBe('/');
      expect(await sysOf(a).readlink('/proc/self/cwd')).toBe('/work');
      const b = k.rfork({ uid: 2000, gid: 2000 });
      expect(await code(sysOf(b).readlink(`/proc/${a.pid}/cwd`))).toBe('EACCES');
      expect(await code(sysOf(b).open(`/proc/${a.pid}/fd`, O_RDONLY | O_DIRECTORY))).toBe('EACCES');
      expect(await readAll(sysOf(b), `/proc/${a.pid}/status`)).toContain('Uid:\t1000');
      await k.exit(a);
      await k.exit(b);
    }));

  it('exe: listed in every pid directory; ENOENT without an image, the path with one, inherited by fork', () =>
    sim(16, async (k) => {
      // A library process has no image, like a Linux kernel thread: the link is there, it leads nowhere.
      const a = k.rfork();
      const names = await ls(k.sys, `/proc/${a.pid}`);
      expect(names).toContain('exe');
      expect(names.slice(-3)).toEqual(['cwd', 'root', 'exe']);
      const l = await k.sys.lstat(`/proc/${a.pid}/exe`);
      expect([l.mode & S_IFMT, l.mode & 0o777]).toEqual([S_IFLNK, 0o777]);
      expect(await code(k.sys.readlink(`/proc/${a.pid}/exe`))).toBe('ENOENT');
      expect(await code(k.sys.stat(`/proc/${a.pid}/exe`))).toBe('ENOENT');
      expect(await code(k.sys.open(`/proc/${a.pid}/exe`, O_RDONLY))).toBe('ENOENT');
      expect(await code(sysOf(a).readlink('/proc/self/exe'))).toBe('ENOENT');
      expect(await ls(k.sys, '/proc/1')).toContain('exe');

      // An image path given at rfork: readlink gives it, following it reaches the file.
      await k.sys.mkdir('/bin', 0o755);
      const fd = await k.sys.open('/bin/prog', O_CREAT | O_WRONLY, 0o755);
      await k.sys.write(fd, enc('\x7fELF'));
      await k.sys.close(fd);
      const b = k.rfork({ exe: '/bin/prog', uid: 1000, gid: 1000 });
      expect(await k.sys.readlink(`/proc/${b.pid}/exe`)).toBe('/bin/prog');
      expect(await sysOf(b).readlink('/proc/self/exe')).toBe('/bin/prog');
      const target = await k.sys.stat('/bin/prog');
      const via = await k.sys.stat(`/proc/${b.pid}/exe`);
      expect([via.dev, via.ino, via.size]).toEqual([target.dev, target.ino, 4]);
      expect(await readAll(k.sys, `/proc/${b.pid}/exe`)).toBe('\x7fELF');

      // Children inherit it: rfork from it, and fork(2).
      const c = k.rfork({ parent: b.proc });
      expect(await k.sys.readlink(`/proc/${c.pid}/exe`)).toBe('/bin/prog');
      const d = k.proc(await sysOf(b).fork() as number);
      expect(await k.sys.readlink(`/proc/${d.pid}/exe`)).toBe('/bin/prog');
      // ptrace_may_access: another user may not read it (EACCES before ENOENT).
      const other = k.rfork({ uid: 2000, gid: 2000 });
      expect(await code(sysOf(other).readlink(`/proc/${b.pid}/exe`))).toBe('EACCES');
      // A zombie has no image any more.
      await k.exit(c);
      expect(await code(k.sys.readlink(`/proc/${c.pid}/exe`))).toBe('ENOENT');
      // rfork takes an absolute path only.
      expect(() => k.rfork({ exe: 'bin/prog' })).toThrow(err(EINVAL));
      for (const p of [a, b, d, other]) await k.exit(p);
    }));

  it('/proc/self is the caller: a different target per process', () =>
    sim(6, async (k) => {
      const a = k.rfork();
      expect(await k.sys.readlink('/proc/self')).toBe('1');
      expect(await sysOf(a).readlink('/proc/self')).toBe(String(a.pid));
      expect(field(await readAll(sysOf(a), '/proc/self/status'), 'Pid')).toBe(String(a.pid));
      await k.exit(a);
    }));
});

describe('/proc/mounts and /proc/uptime', () => {
  it('mounts lists each mount as "source target fstype opts 0 0", escaping spaces', () =>
    sim(7, async (k) => {
      await k.sys.mkdir('/mnt with space', 0o755);
      await k.sys.mount('scratch', '/mnt with space', 'tmpfs', 1 /* MS_RDONLY */, 'size=1m');
      const lines = (await readAll(k.sys, '/proc/mounts')).trim().split('\n');
      expect(lines).toEqual([
        'tmpfs / tmpfs rw,relatime 0 0',
        'devfs /dev devfs rw,nosuid,relatime 0 0',
        'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0',
        'scratch /mnt\\040with\\040space tmpfs ro,relatime,size=1m 0 0',
      ]);
      // A process chrooted below a mount point sees only what is under its root, relative to it.
      const c = k.rfork();
      await sysOf(c).chroot('/mnt with space');
      expect(await code(readAll(sysOf(c), '/proc/mounts'))).toBe('ENOENT'); // /proc is not under its root
      await k.exit(c);
    }));

  it('uptime follows the virtual clock', () =>
    sim(8, async (k, host) => {
      const a = Number((await readAll(k.sys, '/proc/uptime')).split(' ')[0]);
      await k.sys.nanosleep({ sec: 3, nsec: 0 });
      const text = await readAll(k.sys, '/proc/uptime');
      expect(text).toMatch(/^\d+\.\d\d 0\.00\n$/);
      expect(Number(text.split(' ')[0]) - a).toBeCloseTo(3, 1);
      void host;
    }));
});

describe('/proc/sys', () => {
  it('mirrors the sysctl tree: dots become slashes, reads give value + newline', () =>
    sim(9, async (k) => {
      expect(await ls(k.sys, '/proc/sys')).toEqual(expect.arrayContaining(['kern', 'hw']));
      expect(await ls(k.sys, '/proc/sys/kern')).toEqual(expect.arrayContaining(['hostname', 'ostype', 'pid_max']));
      expect(await readAll(k.sys, '/proc/sys/kern/ostype')).toBe(`${String(k.kernel.sysctl.read('kern.ostype'))}\n`);
      expect(await readAll(k.sys, '/proc/sys/kern/pid_max')).toBe('4194304\n');
      expect((await k.sys.stat('/proc/sys/kern/hostname')).mode & 0o7777).toBe(0o644);
      expect((await k.sys.stat('/proc/sys/kern/ostype')).mode & 0o7777).toBe(0o444);
      expect(await code(k.sys.stat('/proc/sys/kern/nope'))).toBe('ENOENT');
    }));

  it('root writes a writable node (echo > file: O_TRUNC, trailing newline)', () =>
    sim(10, async (k) => {
      const fd = await k.sys.open('/proc/sys/kern/hostname', O_WRONLY | O_CREAT | O_TRUNC, 0o644);
      expect(await k.sys.write(fd, enc('box\n'))).toBe(4);
      await k.sys.close(fd);
      expect(k.kernel.sysctl.read('kern.hostname')).toBe('box');
      expect(await readAll(k.sys, '/proc/sys/kern/hostname')).toBe('box\n');
    }));

  it('non-root: EACCES at open for writing; root: EACCES for a read-only node', () =>
    sim(11, async (k) => {
      const u = k.rfork({ uid: 1000, gid: 1000 });
      expect(await code(sysOf(u).open('/proc/sys/kern/hostname', O_WRONLY))).toBe('EACCES');
      expect(await readAll(sysOf(u), '/proc/sys/kern/hostname')).not.toBe('');
      expect(await code(k.sys.open('/proc/sys/kern/ostype', O_WRONLY))).toBe('EACCES');
      await k.exit(u);
    }));

  it('number nodes take integers; the node validation gives EINVAL; a node open to all is 0666', () =>
    sim(12, async (k) => {
      const cell = k.kernel.sysctl.variable('test.limit', 'a test knob', 5, { writable: true, validate: (v) => (v as number) >= 0 && (v as number) <= 100 });
      k.kernel.sysctl.register({ name: 'test.anyone', description: 'anyone may set', get: () => 'x', set: () => {}, rootOnly: false });
      const write = async (text: string): Promise<string> => {
        const fd = await k.sys.open('/proc/sys/test/limit', O_WRONLY);
        try {
          return await code(k.sys.write(fd, enc(text)));
        } finally {
          await k.sys.close(fd);
        }
      };
      expect(await write('42\n')).toBe('ok');
      expect(cell.value).toBe(42);
      expect(await write('abc')).toBe('EINVAL');
      expect(await write('101')).toBe('EINVAL');
      expect(await write('1.5')).toBe('EINVAL');
      expect(cell.value).toBe(42);
      expect((await k.sys.stat('/proc/sys/test/anyone')).mode & 0o777).toBe(0o666);
      const u = k.rfork({ uid: 1000, gid: 1000 });
      const fd = (await sysOf(u).open('/proc/sys/test/anyone', O_WRONLY)) as number;
      expect(await sysOf(u).write(fd, enc('y'))).toBe(1);
      await sysOf(u).close(fd);
      await k.exit(u);
      void err(EINVAL);
    }));
});

describe('procfs is read-only in its own way', () => {
  it('creating is EACCES, mkdir/unlink/rename/symlink EPERM, chmod EPERM, writing status EACCES', () =>
    sim(13, async (k) => {
      expect(await code(k.sys.open('/proc/newfile', O_CREAT | O_WRONLY, 0o644))).toBe('EACCES');
      expect(await code(k.sys.mkdir('/proc/d', 0o755))).toBe('EPERM');
      expect(await code(k.sys.unlink('/proc/uptime'))).toBe('EPERM');
      expect(await code(k.sys.rename('/proc/uptime', '/proc/x'))).toBe('EPERM');
      expect(await code(k.sys.symlink('/x', '/proc/l'))).toBe('EPERM');
      expect(await code(k.sys.chmod('/proc/uptime', 0o777))).toBe('EPERM');
      expect(await code(k.sys.open('/proc/self/status', O_WRONLY))).toBe('EACCES');
      expect((await k.sys.statfs('/proc')).type).toBe(0x9fa0);
    }));

  it('an open file keeps the snapshot it was opened with', () =>
    sim(14, async (k) => {
      const c = k.rfork({ comm: 'before' });
      const fd = await k.sys.open(`/proc/${c.pid}/status`, O_RDONLY);
      c.proc.comm = 'after';
      const b = new Uint8Array(4096);
      const n = await k.sys.read(fd, b);
      expect(new TextDecoder().decode(b.subarray(0, n))).toContain('Name:\tbefore');
      expect(await readAll(k.sys, `/proc/${c.pid}/status`)).toContain('Name:\tafter');
      await k.sys.close(fd);
      await k.exit(c);
    }));

  it('types and inode numbers are stable across lookups; getcwd works inside /proc', () =>
    sim(15, async (k) => {
      const a = await k.sys.stat('/proc/1/status');
      const b = await k.sys.stat('/proc/1/status');
      expect(a.ino).toBe(b.ino);
      expect(a.mode & S_IFMT).toBe(S_IFREG);
      expect((await k.sys.lstat('/proc/self')).mode & S_IFMT).toBe(S_IFLNK);
      await k.sys.chdir('/proc/1/fd');
      expect(await k.sys.getcwd()).toBe('/proc/1/fd');
      await k.sys.chdir('/proc/sys/kern');
      expect(await k.sys.getcwd()).toBe('/proc/sys/kern');
      await k.sys.chdir('/');
      const rep = await k.shutdown();
      expect(rep.other).toEqual([]);
      void SIGTERM;
    }));
});

describe('/proc against a model of the proc table', () => {
  it('random rfork/exit/wait sequences: /proc lists exactly the unreaped processes with the right State and PPid', async () => {
    const fc = await import('fast-check');
    type Cmd = { op: 'fork'; parent: number } | { op: 'exit'; who: number } | { op: 'wait'; who: number };
    const cmd = fc.oneof(
      fc.record({ op: fc.constant('fork' as const), parent: fc.nat(20) }),
      fc.record({ op: fc.constant('exit' as const), who: fc.nat(20) }),
      fc.record({ op: fc.constant('wait' as const), who: fc.nat(20) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { maxLength: 25 }), async (cmds: Cmd[]) => {
        await sim(100, async (k) => {
          // Model: pid → state and parent pid (orphans go to init, pid 1).
          const model = new Map<number, { state: 'alive' | 'zombie'; ppid: number }>([[1, { state: 'alive', ppid: 0 }]]);
          const handles = new Map<number, ProcHandle>();
          const pick = (i: number, f: (pid: number) => boolean): number | undefined => {
            const c = [...model.keys()].filter(f).sort((a, b) => a - b);
            return c.length === 0 ? undefined : c[i % c.length];
          };
          for (const c of cmds) {
            if (c.op === 'fork') {
              const parent = pick(c.parent, (p) => model.get(p)!.state === 'alive')!;
              const h = k.rfork({ parent: k.kernel.procs.get(parent)! });
              handles.set(h.pid, h);
              model.set(h.pid, { state: 'alive', ppid: parent });
            } else if (c.op === 'exit') {
              const who = pick(c.who, (p) => p !== 1 && model.get(p)!.state === 'alive');
              if (who === undefined) continue;
              await k.exit(handles.get(who)!);
              model.get(who)!.state = 'zombie';
              for (const m of model.values()) if (m.ppid === who) m.ppid = 1;
            } else {
              // The parent of some zombie reaps it.
              const who = pick(c.who, (p) => model.get(p)!.state === 'zombie' && model.get(model.get(p)!.ppid)?.state === 'alive');
              if (who === undefined) continue;
              const ppid = model.get(who)!.ppid;
              const psys = ppid === 1 ? k.sys : sysOf(handles.get(ppid)!);
              await psys.wait4(who, 0);
              model.delete(who);
            }
          }
          const listed = (await ls(k.sys, '/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
          expect(listed).toEqual([...model.keys()].sort((a, b) => a - b));
          for (const [pid, m] of model) {
            const st = await readAll(k.sys, `/proc/${pid}/status`);
            expect(field(st, 'State')[0], `pid ${pid}`).toBe(m.state === 'zombie' ? 'Z' : pid === 1 ? 'R' : 'S');
            expect(Number(field(st, 'PPid')), `pid ${pid}`).toBe(m.ppid);
          }
          for (const [pid, m] of model) if (m.state === 'alive' && pid !== 1) await k.exit(handles.get(pid)!);
        });
      }),
      { numRuns: 40 },
    );
  });
});
