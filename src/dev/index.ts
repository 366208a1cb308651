/**
 * The public surface of src/dev for frontends: the console terminal and the
 * line discipline, without importing driver files one by one.
 */
export { ConsoleDev } from './console.ts';
export { Tty } from './tty/tty.ts';
export { LineDiscipline, defaultTermios } from './tty/ldisc.ts';
