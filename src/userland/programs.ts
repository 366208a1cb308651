/**
 * The programs of the TypeScript userland by name: what a "\x7fUSR name"
 * image in /bin runs (the frontend installs one image per entry at boot).
 */
import type { Main } from './libc.ts';
import { cat, echo, false_, true_, yes } from './bin/basic.ts';
import { init } from './bin/init.ts';
import { sh } from './sh/sh.ts';
import { cut, grep, head, printf, sort, tail, tee, tr, uniq, wc } from './bin/text.ts';
import { chmod, chown, cp, find, ln, ls, mkdir, mv, rm, rmdir, stat, touch } from './bin/files.ts';
import { date, df, dmesg, du, env, halt, hostname, id, kdump, kill, ktrace, mount, ps, sleep, sync, sysbench, sysctl, test, umount, uname, xargs } from './bin/sys.ts';

export const programs: Record<string, Main> = {
  true: true_, false: false_, echo, cat, yes, init, sh,
  head, tail, wc, grep, sort, uniq, tr, cut, tee, printf,
  ls, mkdir, rmdir, rm, mv, cp, ln, touch, chmod, chown, stat, find,
  ps, kill, sleep, env, hostname, uname, id, date, dmesg, sysctl, halt, poweroff: halt, test, '[': test,
  mount, umount, df, du, sync, xargs, ktrace, kdump, sysbench,
};

/** Where each program is installed (default /bin). */
export const installDir: Record<string, string> = { init: '/sbin', halt: '/sbin', poweroff: '/sbin' };
