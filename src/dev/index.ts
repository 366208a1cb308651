/**
 * The public surface of the device faction: what frontends and the CLI may
 * use (tools/check-arch.ts enforces that they import src/dev only through
 * this file). Devices themselves are reached through kern's device switch.
 */
export { devComponent } from './dev_component.ts';
export { blkComponent } from './blk/blk_component.ts';
export { mdAttach } from './blk/md.ts';
export { hostDiskAttach, hostDiskDetach } from './blk/hostdisk.ts';
export { ConsoleDev } from './console.ts';
export { Tty } from './tty/tty.ts';
export { LineDiscipline, defaultTermios } from './tty/ldisc.ts';
