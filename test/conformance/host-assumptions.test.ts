/**
 * The host reference is Linux as configured on this machine kind (Debian 12,
 * systemd defaults). Two settings change what a file call answers; the
 * kernel follows the values below, so a host configured otherwise would
 * make the suite and the differential test disagree for a reason unrelated
 * to the code. This test says so plainly instead (see test/README.md).
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (name: string): string | null => {
  try {
    return fs.readFileSync(`/proc/sys/fs/${name}`, 'utf8').trim();
  } catch {
    return null;
  }
};

describe('host reference assumptions', () => {
  it('fs.protected_hardlinks=1, protected_symlinks/regular/fifos=0', (ctx) => {
    const got = {
      protected_hardlinks: read('protected_hardlinks'),
      protected_symlinks: read('protected_symlinks'),
      protected_regular: read('protected_regular'),
      protected_fifos: read('protected_fifos'),
    };
    if (Object.values(got).every((v) => v === null)) ctx.skip('no /proc/sys/fs on this host');
    expect(got).toEqual({ protected_hardlinks: '1', protected_symlinks: '0', protected_regular: '0', protected_fifos: '0' });
  });

  it('the root file system mounts relatime (atime assertions assume it or strictatime)', () => {
    const mounts = fs.existsSync('/proc/mounts') ? fs.readFileSync('/proc/mounts', 'utf8') : '';
    const shm = mounts.split('\n').find((l) => l.split(' ')[1] === '/dev/shm');
    if (shm !== undefined) expect(shm).not.toMatch(/\bnoatime\b/);
  });
});
