/**
 * The programs of the TypeScript userland by name: what a "\x7fUSR name"
 * image in /bin runs (the frontend installs one image per entry at boot).
 */
import type { Main } from './libc.ts';
import { cat, echo, false_, true_, yes } from './bin/basic.ts';
import { init } from './bin/init.ts';
import { sh } from './sh/sh.ts';

export const programs: Record<string, Main> = {
  true: true_,
  false: false_,
  echo,
  cat,
  yes,
  init,
  sh,
};

/** Where each program is installed (default /bin). */
export const installDir: Record<string, string> = { init: '/sbin' };
