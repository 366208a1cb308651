/**
 * Miscellaneous base system calls: uname, getrandom, sched_yield, resource
 * limits, and the kernel's own introspection calls for library callers —
 * sysctl by name, the message buffer (syslog(2)'s read-all), ktrace.
 */
import { EINVAL, EPERM, ESRCH, EFAULT, err } from './errno.ts';
import { defineSyscall } from './syscall.ts';
import { yieldCpu, type Lwp } from './sched.ts';
import { Ktrace, formatKtrace } from './ktrace.ts';
import type { Proc } from './proc.ts';
import { prlimit, type Rlimit } from './rlimit.ts';

export const OS_NAME = 'anykernel';
export const OS_RELEASE = '0.1.0';

const GRND_NONBLOCK = 1, GRND_RANDOM = 2, GRND_INSECURE = 4;
const SYSLOG_ACTION_CLOSE = 0, SYSLOG_ACTION_OPEN = 1, SYSLOG_ACTION_READ_ALL = 3, SYSLOG_ACTION_READ_CLEAR = 4;
const SYSLOG_ACTION_CLEAR = 5, SYSLOG_ACTION_SIZE_BUFFER = 10;

function procOf(td: Lwp, pid: number): Proc {
  const p = pid === 0 ? td.proc : td.k.procs.get(pid);
  if (!p || p.state !== 'alive' || p.pid === 0) throw err(ESRCH);
  if (p !== td.proc && td.proc.cred.euid !== 0 && td.proc.cred.euid !== p.cred.uid) throw err(EPERM);
  return p;
}

function zombieOf(td: Lwp, p: Proc): Proc {
  if (p !== td.proc && td.proc.cred.euid !== 0 && td.proc.cred.euid !== p.cred.uid) throw err(EPERM);
  return p;
}

export type { Rlimit };

export const miscSyscalls = [
  defineSyscall('uname', 63, [], (td) => ({
    sysname: OS_NAME,
    nodename: String(td.k.sysctl.read('kern.hostname')),
    release: OS_RELEASE,
    version: `#1 ${td.k.hyper.hostName}`,
    machine: 'wasm32',
    domainname: '(none)',
  })),
  defineSyscall('getrandom', 318, ['buf', 'int'], (td, buf: Uint8Array, flags: number) => {
    if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) !== 0) throw err(EINVAL);
    if ((flags & GRND_RANDOM) !== 0 && (flags & GRND_INSECURE) !== 0) throw err(EINVAL);
    // The hypercall fills at most 64 KiB per call (WebCrypto's limit in browsers).
    for (let o = 0; o < buf.byteLength; o += 65536) td.k.hyper.getRandom(buf.subarray(o, Math.min(o + 65536, buf.byteLength)));
    return buf.byteLength;
  }, { bufs: { 0: 'out' } }),
  defineSyscall('sched_yield', 24, [], async (td) => {
    await yieldCpu(td.k);
    return 0;
  }),
  defineSyscall('prlimit64', 302, ['int', 'int', 'obj?'], (td, pid: number, resource: number, newLimit?: Rlimit): Rlimit =>
    prlimit(td.k, td.proc, pid, resource, newLimit)),
  defineSyscall('getrlimit', 97, ['int'], (td, resource: number): Rlimit => prlimit(td.k, td.proc, 0, resource)),
  defineSyscall('setrlimit', 160, ['int', 'obj'], (td, resource: number, newLimit: Rlimit): number => {
    prlimit(td.k, td.proc, 0, resource, newLimit);
    return 0;
  }),
  defineSyscall('sysctl', -1, ['str', 'any?'], (td, name: string, newValue?: string | number) => {
    const old = td.k.sysctl.read(name);
    if (newValue !== undefined) {
      if (typeof newValue !== 'string' && typeof newValue !== 'number') throw err(EINVAL);
      td.k.sysctl.write(name, newValue, td.proc.cred);
    }
    return old;
  }),
  defineSyscall('sysctl_list', -1, ['str?'], (td, prefix?: string) => td.k.sysctl.list(prefix ?? '')),
  // syslog(2): READ_ALL and SIZE_BUFFER are open to everyone (dmesg_restrict=0);
  // the other actions need CAP_SYSLOG (euid 0 here). Not supported: the
  // destructive blocking READ (2), console levels (6-8), SIZE_UNREAD (9).
  // READ_ALL answers the dmesg-formatted text rather than filling a buffer.
  defineSyscall('syslog', 103, ['int'], (td, action: number) => {
    if (action === SYSLOG_ACTION_READ_ALL) return td.k.msgbuf.format();
    if (action === SYSLOG_ACTION_SIZE_BUFFER) return td.k.msgbuf.limit * 128;
    const priv = td.proc.cred.euid === 0;
    switch (action) {
      case SYSLOG_ACTION_CLOSE:
      case SYSLOG_ACTION_OPEN:
        if (!priv) throw err(EPERM);
        return 0;
      case SYSLOG_ACTION_READ_CLEAR: {
        if (!priv) throw err(EPERM);
        const text = td.k.msgbuf.format();
        td.k.msgbuf.clear();
        return text;
      }
      case SYSLOG_ACTION_CLEAR:
        if (!priv) throw err(EPERM);
        td.k.msgbuf.clear();
        return 0;
    }
    throw err(EINVAL);
  }),
  defineSyscall('ktrace', -1, ['int', 'int'], (td, pid: number, on: number) => {
    const p = procOf(td, pid);
    p.ktrace = on ? (p.ktrace ?? new Ktrace()) : null;
    return 0;
  }),
  defineSyscall('ktrace_dump', -1, ['int'], (td, pid: number) => {
    // A zombie's trace stays readable: how a process died is what one wants to see.
    const z = td.k.procs.get(pid);
    const p = z !== undefined && z.state === 'zombie' && pid !== 0 ? zombieOf(td, z) : procOf(td, pid);
    if (p.ktrace === null) throw err(EINVAL);
    return p.ktrace.records.map((r) => formatKtrace(r, td.k.bootNs)).join('\n');
  }),
  defineSyscall('ps', -1, [], (td) =>
    [...td.k.procs.values()].map((p) => ({
      pid: p.pid,
      ppid: p.ppid,
      uid: p.cred.uid,
      gid: p.cred.gid,
      state: p.state,
      comm: p.comm,
      pgid: p.pgid,
      sid: p.sid,
      // ps(1) STAT: R running (in a system call), S sleeping, T stopped, Z zombie.
      stat: p.state === 'zombie' ? 'Z' : p.sig.stopped ? 'T' : p.sleeping.size > 0 ? 'S' : 'R',
      wchan: [...p.sleeping].map((t) => t.sleeper?.queues[0]?.name ?? t.name)[0] ?? '-',
      args: p.argv.join(' '),
      nfds: p.state === 'alive' ? p.fdt.count : 0,
      startNs: p.startNs - td.k.bootNs,
    })),
  ),
] as const;

export { EFAULT };
