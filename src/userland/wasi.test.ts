/**
 * The WASI preview1 shim's number translations, against tables written out
 * from their specifications: the $signal enum of wasi_snapshot_preview1's
 * witx (in order) and Linux's signal numbers from signal(7).
 */
import { describe, expect, it } from 'vitest';
import { wasiSignal } from './wasi.ts';

/** wasi_snapshot_preview1 $signal, in enum order (0 is "none"). */
const WASI_SIGNALS = ['NONE', 'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM',
  'TERM', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'POLL', 'PWR', 'SYS'];

/** Linux (x86, ARM and most others) signal numbers, signal(7); 0 for kill(2)'s existence check. */
const LINUX: Record<string, number> = {
  NONE: 0, HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14,
  TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27,
  WINCH: 28, POLL: 29, PWR: 30, SYS: 31,
};

describe('wasiSignal', () => {
  it('maps every WASI signal to the Linux signal of the same name', () => {
    WASI_SIGNALS.forEach((name, n) => expect([name, wasiSignal(n)]).toEqual([name, LINUX[name]]));
  });
  it('never yields SIGSTKFLT, which WASI cannot name', () => {
    for (let n = 0; n < WASI_SIGNALS.length; n++) expect(wasiSignal(n)).not.toBe(LINUX.STKFLT);
  });
  it('refuses numbers outside the enum', () => {
    for (const n of [-1, 31, 64, 1.5, Number.NaN]) expect(wasiSignal(n)).toBeNull();
  });
});
