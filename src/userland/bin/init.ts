/**
 * init (pid 1): the first user process. It
 *   1. opens /dev/console (O_NOCTTY: init controls no terminal) for its own
 *      messages;
 *   2. runs /etc/rc with /bin/sh and waits for it;
 *   3. starts the console shell in a new session (posix_spawn with
 *      POSIX_SPAWN_SETSID, then opening /dev/console makes the console its
 *      controlling terminal), "-sh" as a login shell when interactive, or
 *      "sh -s" reading commands from the console when given `-s`;
 *   4. reaps every orphan it inherits (wait4 in a loop);
 *   5. when the console shell ends (or halt/poweroff send SIGUSR1/SIGUSR2),
 *      halts the system with the shell's exit status: the remaining
 *      processes get SIGTERM, then SIGKILL, are reaped, init closes its
 *      descriptors, syncs the file systems and calls reboot(2).
 */
import { type Libc } from '../libc.ts';
import { O_NOCTTY, O_RDWR, SIGKILL, SIGTERM, SIGUSR1, SIGUSR2, WEXITSTATUS, WIFEXITED, WIFSIGNALED, WTERMSIG, WNOHANG } from '../abi.ts';

export const LINUX_REBOOT_CMD_HALT = 0xcdef0123;
export const LINUX_REBOOT_CMD_POWER_OFF = 0x4321fedc;

export function init(u: Libc): number {
  const sys = u.sys;
  const script = u.argv.includes('-s');
  if (u.sys.getpid!() !== 1) {
    u.err('init: must be run as pid 1 (the kernel starts it)\n');
    return 1;
  }
  const cons = sys.open!('/dev/console', O_RDWR | O_NOCTTY) as number;
  for (const fd of [0, 1, 2]) if (fd !== cons) sys.dup2!(cons, fd);
  if (cons > 2) sys.close!(cons);
  const env = ["PATH=/bin:/sbin", "HOME=/root", "TERM=" + (u.env.get("TERM") ?? "vt100")];
  try {
    sys.access!('/etc/rc', 4);
    const rc = sys.spawn!('/bin/sh', ['sh', '/etc/rc'], env, {}) as number;
    const { status } = sys.wait4!(rc, 0) as { status: number };
    if (!WIFEXITED(status) || WEXITSTATUS(status) !== 0) u.err(`init: /etc/rc failed (status ${status})\n`);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') u.warn('/etc/rc', e);
  }
  const console = [
    { op: 'close', fd: 0 }, { op: 'close', fd: 1 }, { op: 'close', fd: 2 },
    { op: 'open', fd: 0, path: '/dev/console', flags: O_RDWR },
    { op: 'dup2', fd: 0, newfd: 1 }, { op: 'dup2', fd: 0, newfd: 2 },
  ];
  // halt and poweroff signal init (busybox's convention): leave the wait loop and halt.
  let halting = false;
  u.signal(SIGUSR1, () => { halting = true; }, 0);
  u.signal(SIGUSR2, () => { halting = true; }, 0);
  const shArgv = script ? ['sh', '-s'] : ['-sh'];
  const shell = sys.spawn!('/bin/sh', shArgv, env, { setsid: true, actions: console }) as number;
  let status = 0;
  while (!halting) {
    let r: { pid: number; status: number };
    try {
      r = sys.wait4!(-1, 0) as { pid: number; status: number };
    } catch (e) {
      if ((e as { code?: string }).code === 'EINTR') continue;
      break; // ECHILD: nothing left
    }
    if (r.pid === shell) {
      status = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : WIFSIGNALED(r.status) ? 128 + WTERMSIG(r.status) : 1;
      break;
    }
  }
  halt(u);
  u.stdout.flush();
  u.stderr.flush();
  for (const fd of [0, 1, 2]) try { sys.close!(fd); } catch { /* already closed */ }
  try { sys.sync!(); } catch { /* nothing to write */ }
  sys.reboot!(LINUX_REBOOT_CMD_HALT, status);
  return status;
}

/** Stop every other process: SIGTERM, reap what ends, then SIGKILL the rest and reap them. */
function halt(u: Libc): void {
  const sys = u.sys;
  for (const sig of [SIGTERM, SIGKILL]) {
    try {
      sys.kill!(-1, sig);
    } catch { /* ESRCH: nobody left */ }
    for (let tries = 0; tries < 50; tries++) {
      let r: { pid: number };
      try {
        r = sys.wait4!(-1, sig === SIGKILL ? 0 : WNOHANG) as { pid: number };
      } catch {
        return; // ECHILD
      }
      if (r.pid === 0) sys.nanosleep!({ sec: 0, nsec: 20_000_000 });
    }
  }
}
