/**
 * The console terminal through system calls on the sim host: controlling
 * terminal on open by a session leader, termios ioctls, tcsetpgrp rules,
 * ^C/^Z from the keyboard to the foreground group, a background read
 * stopped by SIGTTIN, TIOCSWINSZ and SIGWINCH, TIOCNOTTY's hangup.
 */
import { describe, expect, it } from 'vitest';
import type { BootedKernel } from '../../frontends/library/boot.ts';
import { code, sim } from '../../../test/dev/kit.ts';
import {
  ECHO, ICANON, O_NOCTTY, O_RDWR, SIGINT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH, TCGETS, TCSETS, TIOCGPGRP, TIOCGWINSZ, TIOCNOTTY,
  TIOCSPGRP, TIOCSWINSZ, WUNTRACED,
} from '../../kern/constants.ts';

type S = Record<string, (...a: any[]) => Promise<any>>;

const settle = async (k: BootedKernel) => { for (let i = 0; i < 20; i++) await k.sys.sched_yield(); };

/** A session leader with the console as its controlling terminal, and a job in another group. */
async function session(k: BootedKernel) {
  const lead = k.rfork({ fd: 'clean' });
  const ls = lead.sys as S;
  await ls.setsid!();
  const fd = await ls.open!('/dev/console', O_RDWR);
  const job = k.rfork({ parent: lead.proc });
  const js = job.sys as S;
  await js.setpgid!(0, 0);
  return { lead, ls, fd, job, js };
}

describe('the console as a controlling terminal', () => {
  it('a session leader acquires it on open; O_NOCTTY and non-leaders do not', () =>
    sim(1, async (k) => {
      const other = k.rfork({ fd: 'clean' });
      const os = other.sys as S;
      await os.setsid!();
      const f0 = await os.open!('/dev/console', O_RDWR | O_NOCTTY);
      expect(await code(os.ioctl!(f0, TIOCGPGRP))).toBe('ENOTTY');
      await os.close!(f0);
      const { ls, fd, lead, js } = await session(k);
      expect(await ls.ioctl!(fd, TIOCGPGRP)).toBe(lead.pid);
      // The job's descriptor (inherited) reaches the same terminal.
      expect(await js.ioctl!(fd, TIOCGPGRP)).toBe(lead.pid);
      // A group of another session cannot be made the foreground.
      expect(await code(ls.ioctl!(fd, TIOCSPGRP, other.pid))).toBe('EPERM');
      expect(await code(ls.ioctl!(fd, TIOCSPGRP, 99999))).toBe('EPERM');
      expect(await code(ls.ioctl!(fd, 0x1234))).toBe('ENOTTY');
    }));

  it('termios round-trips and takes effect: without ICANON a byte is readable at once', () =>
    sim(2, async (k, host) => {
      const { ls, fd } = await session(k);
      const t = await ls.ioctl!(fd, TCGETS);
      expect(t.lflag & (ICANON | ECHO)).toBe(ICANON | ECHO);
      expect(await code(ls.ioctl!(fd, TCSETS, { ...t, cc: new Array(40).fill(0) }))).toBe('EINVAL');
      await ls.ioctl!(fd, TCSETS, { ...t, lflag: t.lflag & ~(ICANON | ECHO) });
      expect((await ls.ioctl!(fd, TCGETS)).lflag & ICANON).toBe(0);
      host.consoleInput('x');
      const b = new Uint8Array(8);
      expect(await ls.read!(fd, b)).toBe(1);
      expect(b[0]).toBe(0x78);
    }));

  it('^C and ^Z signal the foreground group, not the shell', () =>
    sim(3, async (k, host) => {
      const { ls, fd, job, lead } = await session(k);
      await ls.sigaction!(SIGINT, { handler: 1 });
      await ls.sigaction!(SIGTSTP, { handler: 1 });
      await ls.ioctl!(fd, TIOCSPGRP, job.pid);
      host.consoleInput('\x1a');
      await settle(k);
      expect(job.proc.sig.stopped).toBe(true);
      const st = await ls.wait4!(job.pid, WUNTRACED);
      expect(st.status & 0xff).toBe(0x7f);
      await ls.kill!(job.pid, 18); // SIGCONT
      host.consoleInput('\x03');
      await settle(k);
      expect(job.proc.state).toBe('zombie');
      expect(job.proc.exitStatus & 0x7f).toBe(SIGINT);
      expect(lead.proc.state).toBe('alive');
    }));

  it('a background read stops its group with SIGTTIN until it is brought to the foreground', () =>
    sim(4, async (k, host) => {
      const { ls, fd, job, js } = await session(k);
      const reading = js.read!(fd, new Uint8Array(16));
      await settle(k);
      expect(job.proc.sig.stopped).toBe(true);
      const st = await ls.wait4!(job.pid, WUNTRACED);
      expect((st.status >> 8) & 0xff).toBe(SIGTTIN);
      await ls.ioctl!(fd, TIOCSPGRP, job.pid);
      await ls.kill!(-job.pid, 18);
      host.consoleInput('line\n');
      expect(await reading).toBe(5);
      // Taking the terminal back from the background needs SIGTTOU ignored, as shells do
      // (the leader's group is orphaned: tcsetpgrp would answer EIO otherwise).
      expect(await code(ls.ioctl!(fd, TIOCSPGRP, (await ls.getpgid!(0)) as number))).toBe('EIO');
      await ls.sigaction!(SIGTTOU, { handler: 1 });
      await ls.ioctl!(fd, TIOCSPGRP, (await ls.getpgid!(0)) as number);
      // Ignoring SIGTTIN turns a background read into EIO.
      await js.sigaction!(SIGTTIN, { handler: 1 });
      expect(await code(js.read!(fd, new Uint8Array(4)))).toBe('EIO');
    }));

  it('TIOCSWINSZ sets the size and sends SIGWINCH to the foreground group; TIOCNOTTY hangs it up', () =>
    sim(5, async (k) => {
      const { ls, fd, job, js } = await session(k);
      await ls.ioctl!(fd, TIOCSPGRP, job.pid);
      let winch = 0;
      await js.sigaction!(SIGWINCH, { handler: () => { winch++; } });
      await ls.ioctl!(fd, TIOCSWINSZ, { row: 50, col: 132 });
      await settle(k);
      expect(await ls.ioctl!(fd, TIOCGWINSZ)).toEqual({ row: 50, col: 132, xpixel: 0, ypixel: 0 });
      expect(winch).toBe(1);
      await ls.ioctl!(fd, TIOCNOTTY);
      await settle(k);
      expect(job.proc.state).toBe('zombie'); // SIGHUP's default action
      expect(await code(ls.ioctl!(fd, TIOCGPGRP))).toBe('ENOTTY');
    }));
});
