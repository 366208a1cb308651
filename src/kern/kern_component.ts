/**
 * The base component: sysctl nodes and the core system calls. Always present.
 */
import { EINVAL, err } from './errno.ts';
import { Phase, type Component } from './component.ts';
import type { Kernel } from './kernel.ts';
import { descripSyscalls } from './sys_descrip.ts';
import { protSyscalls } from './sys_prot.ts';
import { timeSyscalls } from './sys_time.ts';
import { miscSyscalls, OS_NAME, OS_RELEASE } from './sys_misc.ts';
import { sigSyscalls } from './sys_sig.ts';
import { nsToTimespec } from './sys_time.ts';
import { pipeSyscalls } from './sys_pipe.ts';
import { pollSyscalls } from './sys_poll.ts';
import { execSyscalls } from './exec.ts';
import { sigUpcallSyscalls } from './sig_upcall.ts';
import { sessions } from './session.ts';

export const kernSyscalls = [...descripSyscalls, ...protSyscalls, ...timeSyscalls, ...miscSyscalls, ...pipeSyscalls, ...pollSyscalls, ...sigSyscalls, ...execSyscalls, ...sigUpcallSyscalls] as const;

export const kernComponent: Component = {
  name: 'kern',
  phase: Phase.KERN,
  init(k: Kernel) {
    const hostname = k.hyper.getParam('hostname') ?? 'anykernel';
    k.sysctl.variable('kern.hostname', 'name of this host', hostname.slice(0, 64), {
      writable: true,
      validate: (v) => typeof v === 'string' && v.length <= 64,
    });
    k.sysctl.variable('kern.ostype', 'operating system name', OS_NAME);
    k.sysctl.variable('kern.osrelease', 'operating system release', OS_RELEASE);
    k.sysctl.register({ name: 'kern.boottime', description: 'wall-clock seconds at boot', get: () => nsToTimespec(k.hyper.clockRealtime() - k.uptimeNs()).sec });
    k.sysctl.register({ name: 'kern.uptime', description: 'seconds since boot', get: () => Number(k.uptimeNs() / 1_000_000n) / 1000 });
    k.sysctl.register({ name: 'kern.nprocs', description: 'processes in the proc table', get: () => k.procs.size });
    k.sysctl.variable('kern.pid_max', 'largest pid', 4_194_304);
    k.sysctl.variable('hw.ncpu', 'virtual CPUs of this kernel', 1);
    k.sysctl.variable('hw.host_ncpu', 'CPUs of the host', Number(k.hyper.getParam('ncpu') ?? '1'));
    k.sysctl.variable('hw.physmem', 'memory limit in bytes', Number(k.hyper.getParam('memlimit') ?? '0'));
    k.sysctl.register({
      name: 'vm.pagepool_max', description: 'most bytes of freed file pages kept for reuse (0: give them back at once)',
      get: () => k.pages.maxFreeBytes,
      set: (v) => {
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw err(EINVAL);
        k.pages.maxFreeBytes = v;
        k.pages.trim(v);
      },
    });
    k.sysctl.register({ name: 'vm.pagepool_free', description: 'bytes of free pages held for reuse', get: () => k.pages.freeBytes });
    for (const cat of ['total', 'shmem', 'inodes', 'pipes', 'procs', 'sockets', 'buffers'] as const) {
      k.sysctl.register({ name: `vm.mem.${cat}`, description: `bytes charged to ${cat === 'total' ? 'all subsystems' : cat} against the memory limit`, get: () => k.mem.snapshot()[cat] });
    }
    k.sysctl.register({ name: 'vm.mem.limit', description: 'the kernel memory limit in bytes (0: none)', get: () => (k.mem.limit === Infinity ? 0 : k.mem.limit) });
    k.sysctl.register({ name: 'vm.mem.failures', description: 'allocations refused at the memory limit since boot', get: () => k.mem.failures });
    sessions(k); // the session table and its exit hook (job control, orphaned groups)
    k.syscalls.register(kernSyscalls);
  },
};
